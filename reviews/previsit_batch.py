"""The beat's chunk of pre-visit summaries compiled together, in three queries (issue #7).

`summary_compile_run` (reviews.previsit) compiles one summary in about eight queries; a
chunk of 100 that way is hundreds of round trips. Here the whole chunk takes three
statements, whatever its size and however long the patients' histories:

1. start: one UPDATE … RETURNING takes the compile for this run (summary_compile_run's
   rules: only summaries that need it and have attempts left; the attempt counted;
   `stale` cleared BEFORE the history is read) and marks as failed ("GaveUp") the pending
   ones out of attempts. It commits on its own, like summary_compile_run's start: a case
   that arrives after it marks the summary stale again, and the read below sees every case
   whose stale mark it cleared (that case's transaction committed before it could).
2. read: one SELECT … UNION ALL returns the appointments (patient, doctor, licence), every
   case, message and decision of their patients, and their hospitals' webhook endpoints,
   each row one JSON object (json_build_object on PostgreSQL, json_object on SQLite).
3. write: one UPDATE … FROM (VALUES …) writes every result, ready or failed, only where
   the compile is still ours (compile_started_at is this run's stamp): a compile started
   since wins, as in summary_compile_run.

The content comes from `previsit_summary_from_history`, the compile summary_compile_run
uses, so both write the same JSON for the same history. `summary.ready` events are
recorded in the write's transaction only for hospitals with an endpoint subscribed to
them: three more queries per written summary then (reviews.webhooks), none otherwise.
"""

import json
import logging
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from celery.exceptions import SoftTimeLimitExceeded
from django.db import connection, transaction
from django.db.models import Model
from django.db.models.base import ModelState
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from accounts.models import DoctorProfile, User

from .models import Appointment, Case, Decision, Message, Patient, PreVisitSummary, WebhookEndpoint
from .previsit import SUMMARY_MAX_ATTEMPTS, _summary_ready_payload
from .previsit_compile import FORMAT_VERSION, CompiledSummary, previsit_summary_from_history
from .webhooks import webhook_event_record

logger = logging.getLogger(__name__)

# Row kinds of the read (query 2).
_APPOINTMENT, _CASE, _MESSAGE, _DECISION, _ENDPOINT = range(5)


@dataclass
class ChunkCompileRun:
    """What one chunk's compile did, by summary id."""

    started: list[int] = field(default_factory=list)
    ready: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)
    gave_up: list[int] = field(default_factory=list)
    # Started here but a compile started since holds them: its result stands, not ours.
    overtaken: list[int] = field(default_factory=list)


def summaries_compile_chunk_run(summary_ids: list[int]) -> ChunkCompileRun:
    """Compile these summaries (a beat chunk) in three queries; see the module docstring.

    A compile that raises marks its summary failed (a ready one stays ready, and stale)
    and keeps the claim for one lease, as summary_compile_run does; the others are
    written all the same. SoftTimeLimitExceeded is not a compile's failure: it propagates,
    nothing is written, and the caller hands the chunk back to the beat.
    """
    run = ChunkCompileRun()
    ids = sorted(set(summary_ids))
    if not ids:
        return run
    started_at = timezone.now()
    started = _start(ids, started_at=started_at, run=run)  # summary id → appointment id
    if not started:
        return run
    appointments, history, endpoints = _read(sorted(set(started.values())))

    results: dict[int, CompiledSummary | str] = {}
    for summary_id, appointment_id in sorted(started.items()):
        appointment = appointments.get(appointment_id)
        try:
            if appointment is None:  # deleted between the start and the read: nothing to compile
                raise Appointment.DoesNotExist
            cases, messages, decisions = history.history_of(appointment)
            results[summary_id] = previsit_summary_from_history(
                appointment, cases=cases, messages=messages, decisions=decisions
            )
        except SoftTimeLimitExceeded:
            raise
        except Exception as exc:
            logger.exception("Could not compile pre-visit summary %s; the beat will try again", summary_id)
            results[summary_id] = type(exc).__name__

    subscribed = {e.hospital_id for e in endpoints if e.active and "summary.ready" in e.events}
    events_due = any(a.hospital_id in subscribed for a in appointments.values())
    # The write and its events commit together. Without events the write is one statement,
    # atomic by itself: no BEGIN and COMMIT round trips. No savepoint: inside a caller's
    # transaction an error here fails that transaction anyway.
    with transaction.atomic(savepoint=False) if events_due else nullcontext():
        compiled_at = timezone.now()
        written = _write(results, started_at=started_at, compiled_at=compiled_at)
        for summary_id, result in results.items():
            if summary_id not in written:
                run.overtaken.append(summary_id)
            elif isinstance(result, CompiledSummary):
                run.ready.append(summary_id)
            else:
                run.failed.append(summary_id)
        for summary_id in run.ready:
            appointment = appointments[started[summary_id]]
            if appointment.hospital_id in subscribed:
                summary = PreVisitSummary(
                    pk=summary_id,
                    appointment=appointment,
                    status=PreVisitSummary.Status.READY,
                    format_version=FORMAT_VERSION,
                    compiled_at=compiled_at,
                )
                webhook_event_record(
                    hospital_id=appointment.hospital_id,
                    event_type="summary.ready",
                    payload=_summary_ready_payload(summary),
                )
    return run


# --- Query 1: the start ---------------------------------------------------------------------


def _start(ids: list[int], *, started_at: datetime, run: ChunkCompileRun) -> dict[int, int]:
    """Start the compile of those of `ids` that need one; give up on the pending ones out
    of attempts. Returns {summary id: appointment id} of the started ones."""
    table = connection.ops.quote_name(PreVisitSummary._meta.db_table)
    stamp = connection.ops.adapt_datetimefield_value(started_at)
    # summary_compile_run's `_needs_compile() & attempts < max`, read on the row as it was.
    startable = (
        "(attempts < %s AND NOT (status = %s AND stale = %s AND compile_started_at IS NULL AND format_version >= %s))"
    )
    startable_params = [SUMMARY_MAX_ATTEMPTS, PreVisitSummary.Status.READY, False, FORMAT_VERSION]
    placeholders = ", ".join(["%s"] * len(ids))
    sql = (
        f"UPDATE {table} SET "
        f"compile_started_at = CASE WHEN {startable} THEN %s ELSE NULL END, "
        f"attempts = CASE WHEN {startable} THEN attempts + 1 ELSE attempts END, "
        f"stale = CASE WHEN {startable} THEN %s ELSE stale END, "
        f"status = CASE WHEN {startable} THEN status ELSE %s END, "
        f"error = CASE WHEN {startable} THEN error ELSE %s END, "
        "updated_at = %s "
        f"WHERE id IN ({placeholders}) AND ({startable} OR (status = %s AND attempts >= %s)) "
        "RETURNING id, appointment_id, compile_started_at"
    )
    params = [
        *startable_params,
        stamp,
        *startable_params,
        *startable_params,
        False,
        *startable_params,
        PreVisitSummary.Status.FAILED,
        *startable_params,
        "GaveUp",
        stamp,
        *ids,
        *startable_params,
        PreVisitSummary.Status.PENDING,
        SUMMARY_MAX_ATTEMPTS,
    ]
    started: dict[int, int] = {}
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        for summary_id, appointment_id, claim in cursor.fetchall():
            if claim is None:
                run.gave_up.append(summary_id)
            else:
                started[summary_id] = appointment_id
    run.started = sorted(started)
    run.gave_up.sort()
    return started


# --- Query 2: the read ----------------------------------------------------------------------


@dataclass
class _History:
    """Every case, message and decision of the chunk's patients."""

    cases: dict[tuple[int, int], list[Case]] = field(default_factory=dict)  # (hospital, patient) → cases
    messages: dict[int, list[Message]] = field(default_factory=dict)
    decisions: dict[int, list[Decision]] = field(default_factory=dict)

    def history_of(
        self, appointment: Appointment
    ) -> tuple[list[Case], dict[int, list[Message]], dict[int, list[Decision]]]:
        """The appointment's history in compile_previsit_summary's order: cases by
        (received_at, id), messages by (sent_at, id), decisions by (created_at, id)."""
        cases = sorted(
            self.cases.get((appointment.hospital_id, appointment.patient_id), []), key=lambda c: (c.received_at, c.pk)
        )
        messages = {c.pk: sorted(self.messages.get(c.pk, []), key=lambda m: (m.sent_at, m.pk)) for c in cases}
        decisions = {c.pk: sorted(self.decisions.get(c.pk, []), key=lambda d: (d.created_at, d.pk)) for c in cases}
        return cases, messages, decisions


def _read(appointment_ids: list[int]) -> tuple[dict[int, Appointment], _History, list[WebhookEndpoint]]:
    """Query 2: the appointments, their patients' histories and their hospitals' endpoints."""
    postgres = connection.vendor == "postgresql"
    obj = "json_build_object" if postgres else "json_object"

    def as_json(column: str) -> str:
        # A JSON column inside the row's object: jsonb is JSON already; SQLite keeps text.
        return column if postgres else f"json({column})"

    q = connection.ops.quote_name
    appointment, patient, user = (q(m._meta.db_table) for m in (Appointment, Patient, User))
    profile, case, message = (q(m._meta.db_table) for m in (DoctorProfile, Case, Message))
    decision, endpoint = (q(m._meta.db_table) for m in (Decision, WebhookEndpoint))
    ids = ", ".join(["%s"] * len(appointment_ids))
    # Served by case_patient_received_idx, message_case_idx and decision_case_idx.
    patients = f"SELECT a.patient_id FROM {appointment} a WHERE a.id IN ({ids})"
    hospitals = f"SELECT a.hospital_id FROM {appointment} a WHERE a.id IN ({ids})"
    sql = f"""
        SELECT {_APPOINTMENT}, a.id, {obj}(
            'hospital_id', a.hospital_id, 'patient_id', a.patient_id, 'doctor_id', a.doctor_id,
            'external_id', a.external_id, 'scheduled_at', a.scheduled_at, 'reason', a.reason,
            'created_at', a.created_at, 'pseudonym', p.pseudonym, 'birth_year', p.birth_year,
            'sex', p.sex, 'doctor_name', u.full_name, 'licence_number', dp.licence_number)
        FROM {appointment} a
        JOIN {patient} p ON p.id = a.patient_id
        JOIN {user} u ON u.id = a.doctor_id
        LEFT JOIN {profile} dp ON dp.user_id = u.id
        WHERE a.id IN ({ids})
        UNION ALL
        SELECT {_CASE}, c.id, {obj}(
            'hospital_id', c.hospital_id, 'patient_id', c.patient_id, 'status', c.status,
            'urgency', c.urgency, 'hold', c.hold, 'flags', {as_json("c.flags")}, 'received_at', c.received_at)
        FROM {case} c WHERE c.patient_id IN ({patients})
        UNION ALL
        SELECT {_MESSAGE}, m.id, {obj}('case_id', m.case_id, 'author', m.author, 'body', m.body, 'sent_at', m.sent_at)
        FROM {message} m JOIN {case} c ON c.id = m.case_id WHERE c.patient_id IN ({patients})
        UNION ALL
        SELECT {_DECISION}, d.id, {obj}(
            'case_id', d.case_id, 'doctor_id', d.doctor_id, 'doctor_name', u.full_name, 'action', d.action,
            'original_text', d.original_text, 'final_text', d.final_text,
            'correction_category', d.correction_category, 'note', d.note, 'created_at', d.created_at)
        FROM {decision} d JOIN {case} c ON c.id = d.case_id JOIN {user} u ON u.id = d.doctor_id
        WHERE c.patient_id IN ({patients})
        UNION ALL
        SELECT {_ENDPOINT}, e.id, {obj}(
            'hospital_id', e.hospital_id, 'active', e.active, 'events', {as_json("e.events")})
        FROM {endpoint} e WHERE e.hospital_id IN ({hospitals})
    """
    appointments: dict[int, Appointment] = {}
    history = _History()
    endpoints: list[WebhookEndpoint] = []
    doctors: dict[int, User] = {}
    with connection.cursor() as cursor:
        cursor.execute(sql, appointment_ids * 5)
        rows = cursor.fetchall()
    for kind, pk, data in rows:
        row = data if isinstance(data, dict) else json.loads(data)
        if kind == _APPOINTMENT:
            appointments[pk] = _appointment(pk, row)
        elif kind == _CASE:
            history.cases.setdefault((row["hospital_id"], row["patient_id"]), []).append(
                _loaded(
                    Case,
                    id=pk,
                    hospital_id=row["hospital_id"],
                    patient_id=row["patient_id"],
                    status=row["status"],
                    urgency=row["urgency"],
                    hold=bool(row["hold"]),
                    flags=_json(row["flags"]),
                    received_at=_moment(row["received_at"]),
                )
            )
        elif kind == _MESSAGE:
            history.messages.setdefault(row["case_id"], []).append(
                _loaded(
                    Message,
                    id=pk,
                    case_id=row["case_id"],
                    author=row["author"],
                    body=row["body"],
                    sent_at=_moment(row["sent_at"]),
                )
            )
        elif kind == _DECISION:
            history.decisions.setdefault(row["case_id"], []).append(
                _loaded(
                    Decision,
                    id=pk,
                    case_id=row["case_id"],
                    doctor_id=row["doctor_id"],
                    action=row["action"],
                    original_text=row["original_text"],
                    final_text=row["final_text"],
                    correction_category=row["correction_category"],
                    note=row["note"],
                    created_at=_moment(row["created_at"]),
                )
            )
            if row["doctor_id"] not in doctors:
                doctors[row["doctor_id"]] = _doctor(row)
            Decision.doctor.field.set_cached_value(history.decisions[row["case_id"]][-1], doctors[row["doctor_id"]])
        else:
            endpoints.append(
                WebhookEndpoint(pk=pk, hospital_id=row["hospital_id"], active=bool(row["active"]), events=row["events"])
            )
    return appointments, history, endpoints


def _loaded[M: Model](model: type[M], **values: Any) -> M:
    """An instance of `model` with these field values, as if read by the ORM, without
    Model.__init__: a chunk holds tens of thousands of messages, and __init__ (signals,
    defaults for every field) cost more than their compile. Only what the compile reads
    is set; the query-count tests would see a lazy load of anything else."""
    instance = model.__new__(model)
    instance.__dict__.update(values)
    instance._state = ModelState()
    instance._state.adding = False
    instance._state.db = connection.alias
    return instance


def _doctor(row: dict[str, Any]) -> User:
    return User(pk=row["doctor_id"], full_name=row["doctor_name"])


def _appointment(pk: int, row: dict[str, Any]) -> Appointment:
    doctor = _doctor(row)
    profile = None
    if row["licence_number"] is not None:
        profile = DoctorProfile(user=doctor, licence_number=row["licence_number"])
    # Cached, also when absent, so the webhook payload's profile lookup is no query.
    User.doctor_profile.related.set_cached_value(doctor, profile)
    return Appointment(
        pk=pk,
        hospital_id=row["hospital_id"],
        patient=Patient(pk=row["patient_id"], pseudonym=row["pseudonym"], birth_year=row["birth_year"], sex=row["sex"]),
        doctor=doctor,
        external_id=row["external_id"],
        scheduled_at=_moment(row["scheduled_at"]),
        reason=row["reason"],
        created_at=_moment(row["created_at"]),
    )


def _moment(value: str) -> datetime:
    """A timestamp as the row's JSON carries it: ISO 8601 with an offset (PostgreSQL) or
    Django's naive UTC text (SQLite)."""
    moment = parse_datetime(value)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


# --- Query 3: the write ---------------------------------------------------------------------


def _write(results: dict[int, CompiledSummary | str], *, started_at: datetime, compiled_at: datetime) -> set[int]:
    """Write every result where the compile is still ours; the ids written.

    Ready: content and status, claim released, attempts back to 0 (`stale` untouched: set
    since the start, it stays). Failed (the error's name): summary_compile_run's rule, a
    ready summary stays ready and turns stale, and the claim is held one more lease.
    """
    postgres = connection.vendor == "postgresql"
    as_jsonb = "CAST({} AS jsonb)" if postgres else "{}"
    table = connection.ops.quote_name(PreVisitSummary._meta.db_table)
    now = connection.ops.adapt_datetimefield_value(compiled_at)
    rows: list[Any] = []
    for summary_id, result in results.items():
        if isinstance(result, CompiledSummary):
            # json.dumps as JSONField would: SQLite stores the text as it is given.
            rows += [summary_id, json.dumps(result.content), json.dumps(result.source_case_ids), None]
        else:
            rows += [summary_id, None, None, result[:200]]
    values = ", ".join(["(%s, %s, %s, %s)"] * len(results))
    ok = "v.column4 IS NULL"
    ready = PreVisitSummary.Status.READY
    sql = (
        f"UPDATE {table} AS s SET "
        f"status = CASE WHEN {ok} THEN %s WHEN s.status = %s THEN s.status ELSE %s END, "
        f"stale = CASE WHEN {ok} THEN s.stale WHEN s.status = %s THEN %s ELSE s.stale END, "
        f"content = CASE WHEN {ok} THEN {as_jsonb.format('v.column2')} ELSE s.content END, "
        f"source_case_ids = CASE WHEN {ok} THEN {as_jsonb.format('v.column3')} ELSE s.source_case_ids END, "
        f"format_version = CASE WHEN {ok} THEN %s ELSE s.format_version END, "
        f"compiled_at = CASE WHEN {ok} THEN %s ELSE s.compiled_at END, "
        f"compile_started_at = CASE WHEN {ok} THEN NULL ELSE %s END, "
        f"attempts = CASE WHEN {ok} THEN 0 ELSE s.attempts END, "
        f"error = CASE WHEN {ok} THEN '' ELSE v.column4 END, "
        "updated_at = %s "
        f"FROM (VALUES {values}) AS v "
        "WHERE s.id = v.column1 AND s.compile_started_at = %s "
        "RETURNING id"
    )
    params = [
        ready,
        ready,
        PreVisitSummary.Status.FAILED,
        ready,
        True,
        FORMAT_VERSION,
        now,
        now,
        now,
        *rows,
        connection.ops.adapt_datetimefield_value(started_at),
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return {row[0] for row in cursor.fetchall()}
