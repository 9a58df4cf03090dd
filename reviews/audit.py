"""Writing and verifying audit events. Writers are called inside the transaction of the change they record.

Each hospital's events form a hash chain: an event's `hash` is SHA-256 over the previous
event's hash followed by the event's canonical JSON (`audit_canonical_json`), and its
`prev_hash` repeats the previous hash. Changing a row breaks its own hash; deleting or
reordering rows breaks the `prev_hash` link of the row after; deleting the newest rows no
longer reaches the hash on the hospital's `AuditChainHead`. Every writer goes through
`audit_records_bulk`, which locks the head so that two transactions cannot both extend the
same event.
"""

import hashlib
import ipaddress
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC
from typing import Any

from django.db import connection, transaction
from django.db.models.sql.subqueries import InsertQuery

from accounts.models import ApiClient, Hospital, User

from .models import AuditChainHead, AuditEvent, Case

# Rows read per round trip while verifying: a long chain is walked without loading it whole.
VERIFY_CHUNK_SIZE = 2000


def audit_event(
    *,
    hospital: Hospital,
    action: str,
    user: User | None = None,
    api_client: ApiClient | None = None,
    case: Case | None = None,
    ip: str | None = None,
    details: dict[str, Any] | None = None,
) -> AuditEvent:
    """An unsaved audit event, for writers that append many at once with `audit_records_bulk`."""
    if user is not None:
        actor_type = AuditEvent.ActorType.USER
    elif api_client is not None:
        actor_type = AuditEvent.ActorType.API_CLIENT
    else:
        actor_type = AuditEvent.ActorType.SYSTEM
    return AuditEvent(
        hospital=hospital,
        actor_type=actor_type,
        actor_user=user,
        actor_api_client=api_client,
        action=action,
        case=case,
        ip=ip,
        details=details or {},
    )


def audit_record(
    *,
    hospital: Hospital,
    action: str,
    user: User | None = None,
    api_client: ApiClient | None = None,
    case: Case | None = None,
    ip: str | None = None,
    details: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append one audit event. `details` holds ids, codes and reasons, never patient text."""
    event = audit_event(
        hospital=hospital, action=action, user=user, api_client=api_client, case=case, ip=ip, details=details
    )
    [event] = audit_records_bulk([event])
    return event


def audit_canonical_json(event: AuditEvent) -> str:
    """The event as the chain hashes it: a fixed set of fields, sorted keys, no spaces, UTC time
    to the microsecond. It leaves out the id (assigned by the INSERT, after hashing); the order
    of rows is held by `prev_hash` instead."""
    return json.dumps(
        {
            "hospital_id": event.hospital_id,
            "actor_type": str(event.actor_type),
            "actor_user_id": event.actor_user_id,
            "actor_api_client_id": event.actor_api_client_id,
            "action": event.action,
            "case_id": event.case_id,
            "at": event.at.astimezone(UTC).isoformat(timespec="microseconds"),
            # PostgreSQL's inet type hands addresses back in its own spelling; hash one spelling.
            "ip": str(ipaddress.ip_address(event.ip)) if event.ip else None,
            "details": event.details,
        },
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )


def audit_chain_hash(*, prev_hash: str, event: AuditEvent) -> str:
    return hashlib.sha256((prev_hash + audit_canonical_json(event)).encode()).hexdigest()


def _locked_heads(hospital_ids: Sequence[int]) -> dict[int, AuditChainHead]:
    """Lock the hospitals' chain heads, creating missing ones, and read them: one statement.

    An upsert rather than get_or_create plus SELECT FOR UPDATE: a no-op ON CONFLICT update
    row-locks an existing head (waiting for a concurrent appender, then reading what it
    committed), and two transactions creating the same head cannot both succeed. Rows in id
    order, so two writers touching the same hospitals cannot deadlock each other.
    """
    table = connection.ops.quote_name(AuditChainHead._meta.db_table)
    values = ", ".join(["(%s, NULL, '')"] * len(hospital_ids))
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (hospital_id, last_event_id, last_hash) VALUES {values} "
            f"ON CONFLICT (hospital_id) DO UPDATE SET last_hash = {table}.last_hash "
            "RETURNING hospital_id, last_event_id, last_hash",
            list(hospital_ids),
        )
        rows = cursor.fetchall()
    return {
        pk: AuditChainHead(hospital_id=pk, last_event_id=last_id, last_hash=last_hash)
        for pk, last_id, last_hash in rows
    }


def audit_records_bulk(events: Iterable[AuditEvent]) -> list[AuditEvent]:
    """Append unsaved events (from `audit_event`) to their hospitals' chains, in the given order.
    Costs a constant number of queries however many events: lock heads, then insert and move
    the heads (one statement on PostgreSQL, two elsewhere)."""
    events = list(events)
    if not events:
        return events
    # savepoint=False: inside a service's transaction this adds no query; outside one it opens
    # a transaction, which the head lock needs.
    with transaction.atomic(savepoint=False):
        heads = _locked_heads(sorted({event.hospital_id for event in events}))
        for event in events:
            head = heads[event.hospital_id]
            event.prev_hash = head.last_hash
            event.hash = head.last_hash = audit_chain_hash(prev_hash=event.prev_hash, event=event)
        if connection.vendor == "postgresql":
            _insert_moving_heads(events, heads)
        else:
            # One INSERT numbers the rows in list order, so id order is chain order.
            AuditEvent.objects.bulk_create(events)
            for event in events:
                heads[event.hospital_id].last_event_id = event.pk
            AuditChainHead.objects.bulk_update(list(heads.values()), ["last_event_id", "last_hash"])
    return events


def _insert_moving_heads(events: list[AuditEvent], heads: dict[int, AuditChainHead]) -> None:
    """INSERT the events and UPDATE their heads in one statement: a round trip less while the
    heads are locked, which every writer of the hospital waits for (issue #7). The INSERT
    numbers the rows in list order, so id order is chain order and each head moves to the
    highest id of its hospital."""
    fields = [f for f in AuditEvent._meta.local_concrete_fields if not f.primary_key]
    query = InsertQuery(AuditEvent)
    query.insert_values(fields, events)
    [(insert_sql, insert_params)] = query.get_compiler(connection=connection).as_sql()
    head_table = connection.ops.quote_name(AuditChainHead._meta.db_table)
    new_heads = ", ".join(["(%s, %s)"] * len(heads))
    with connection.cursor() as cursor:
        cursor.execute(
            f"WITH event AS ({insert_sql} RETURNING id, hospital_id), "
            f"last_event AS (SELECT hospital_id, max(id) AS id FROM event GROUP BY hospital_id), "
            f"moved AS (UPDATE {head_table} AS head SET last_event_id = last_event.id, last_hash = new.last_hash "
            f"FROM last_event JOIN (VALUES {new_heads}) AS new (hospital_id, last_hash) "
            "ON new.hospital_id = last_event.hospital_id WHERE head.hospital_id = last_event.hospital_id) "
            "SELECT id FROM event ORDER BY id",
            [*insert_params, *(value for head in heads.values() for value in (head.hospital_id, head.last_hash))],
        )
        ids = [row[0] for row in cursor.fetchall()]
    for event, pk in zip(events, ids, strict=True):
        event.pk = pk
        event._state.adding, event._state.db = False, connection.alias
        heads[event.hospital_id].last_event_id = pk


@dataclass(frozen=True)
class AuditChainState:
    ok: bool
    count: int  # events read before the first break (all of them when ok)
    head_hash: str  # the head's hash as stored: the value the hospital keeps outside the portal
    first_broken_id: int | None = None
    reason: str = ""


def audit_chain_head(*, hospital: Hospital) -> AuditChainHead | None:
    return AuditChainHead.objects.filter(pk=hospital.pk).first()


def audit_chain_verify(*, hospital: Hospital) -> AuditChainState:
    """Walk the hospital's events in id order, recomputing every hash; name the first broken event."""
    head = audit_chain_head(hospital=hospital)
    head_hash = head.last_hash if head else ""
    prev_hash, prev_id, count = "", None, 0
    events = AuditEvent.objects.filter(hospital=hospital).order_by("id").iterator(chunk_size=VERIFY_CHUNK_SIZE)
    for event in events:
        if event.prev_hash != prev_hash:
            # A row removed before this one, rows reordered, or a row inserted by hand.
            after = f"event {prev_id}" if prev_id is not None else "the start of the chain"
            return AuditChainState(False, count, head_hash, event.pk, f"prev_hash does not follow {after}")
        if event.hash != audit_chain_hash(prev_hash=prev_hash, event=event):
            return AuditChainState(False, count, head_hash, event.pk, "hash mismatch")
        prev_hash, prev_id, count = event.hash, event.pk, count + 1
    if head_hash != prev_hash:
        # Every row links up but the chain stops short of the head: its newest rows are gone.
        missing = head.last_event_id if head else prev_id
        return AuditChainState(False, count, head_hash, missing, "head mismatch (last rows deleted)")
    return AuditChainState(True, count, head_hash)
