"""The tamper-evident audit record (issue #8): a hash chain per hospital, append-only on PostgreSQL."""

import threading
from datetime import timedelta

import psycopg
import pytest
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from accounts.services import staff_deactivate
from reviews.audit import audit_chain_verify, audit_record
from reviews.escalation import cases_escalate_breached
from reviews.models import AuditChainHead, AuditEvent, Case, Urgency
from reviews.services import case_approve, case_claim, case_ingest, cases_ingest_batch

from .factories import AdminFactory, CaseFactory, DoctorFactory
from .test_concurrency import run_together
from .test_services import ingest_data

on_postgresql = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the append-only trigger and roles are PostgreSQL's; CI runs these"
)


def chain_of(hospital) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(hospital=hospital).order_by("id"))


def verify(hospital) -> str:
    """What `manage.py verify_audit` tells an operator: its output line, or its error and status."""
    try:
        call_command("verify_audit", hospital=hospital.slug, stdout=(out := _Out()))
    except CommandError as error:
        return f"exit {error.returncode}: {error}"
    return out.text.strip()


class _Out:
    def __init__(self) -> None:
        self.text = ""

    def write(self, text: str) -> None:
        self.text += text

    def flush(self) -> None:
        pass


def tamper(sql: str, params: list) -> None:
    """Run SQL on the audit table as a superuser would, with the append-only trigger switched off."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # The test's inserts leave deferred foreign-key checks queued, which ALTER TABLE refuses.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute("ALTER TABLE reviews_auditevent DISABLE TRIGGER USER")
        cursor.execute(sql, params)
        if connection.vendor == "postgresql":
            cursor.execute("ALTER TABLE reviews_auditevent ENABLE TRIGGER USER")


@pytest.fixture
def history(platform, doctor, other_doctor, hospital, hospital_admin):
    """A hospital whose record was written by every kind of writer: ingest, claim and decision,
    batch ingest, escalation of a breach, and a doctor's deactivation (the last three bulk)."""
    case, _created = case_ingest(api_client=platform, data=ingest_data(doctor, confidence=0.1))
    case = case_claim(case=case, doctor=doctor)
    case_approve(case=case, doctor=doctor, version=case.version)
    cases_ingest_batch(api_client=platform, items=[ingest_data(doctor) for _ in range(5)])
    colleague = DoctorFactory(hospital=hospital)
    CaseFactory(doctor=doctor, urgency=Urgency.URGENT, due_at=timezone.now() - timedelta(minutes=5))
    assert cases_escalate_breached() == 1
    staff_deactivate(user=doctor, deactivated_by=hospital_admin)
    assert colleague  # the breach and the deactivated doctor's cases went to someone
    return hospital


def test_every_writer_extends_one_chain_that_verifies(history):
    events = chain_of(history)
    actions = {event.action for event in events}
    assert {"case.ingested", "case.claimed", "case.approved", "case.escalated", "case.reassigned"} <= actions

    assert [e.prev_hash for e in events] == [""] + [e.hash for e in events[:-1]]
    assert all(len(e.hash) == 64 for e in events)
    head = AuditChainHead.objects.get(hospital=history)
    assert (head.last_event_id, head.last_hash) == (events[-1].pk, events[-1].hash)
    state = audit_chain_verify(hospital=history)
    assert (state.ok, state.count, state.head_hash) == (True, len(events), events[-1].hash)
    assert verify(history) == f"OK: {len(events)} events, head {events[-1].hash}"


def test_each_hospital_has_its_own_chain(platform, doctor, hospital, outside_doctor):
    elsewhere = outside_doctor.hospital
    for _ in range(3):
        audit_record(hospital=hospital, user=doctor, action="user.signed_in")
        audit_record(hospital=elsewhere, user=outside_doctor, action="user.signed_in", ip="::ffff:10.0.0.1")

    ours, theirs = chain_of(hospital), chain_of(elsewhere)
    assert ours[0].prev_hash == theirs[0].prev_hash == ""
    assert ours[1].prev_hash == ours[0].hash and theirs[1].prev_hash == theirs[0].hash

    tamper("UPDATE reviews_auditevent SET action = %s WHERE id = %s", ["user.signed_out", ours[1].pk])

    assert verify(hospital) == f"exit 1: BROKEN at event id {ours[1].pk}: hash mismatch"
    assert verify(elsewhere) == f"OK: 3 events, head {theirs[-1].hash}"


def test_an_unknown_hospital_is_a_clear_error(db):
    with pytest.raises(CommandError, match="No hospital with slug 'nowhere'"):
        call_command("verify_audit", hospital="nowhere")


def test_an_empty_chain_verifies(hospital):
    assert verify(hospital) == "OK: 0 events, head (empty chain)"


# --- tampering: each change is named at the exact row -------------------------------------


@pytest.fixture
def ten_events(hospital, doctor) -> list[AuditEvent]:
    for i in range(10):
        audit_record(hospital=hospital, user=doctor, action="case.opened", details={"n": i}, ip="10.0.0.1")
    return chain_of(hospital)


def test_a_changed_row_is_reported_at_that_row(hospital, ten_events):
    tamper("UPDATE reviews_auditevent SET details = %s WHERE id = %s", ['{"n": 99}', ten_events[4].pk])

    assert verify(hospital) == f"exit 1: BROKEN at event id {ten_events[4].pk}: hash mismatch"


def test_a_link_that_does_not_follow_is_reported_at_that_row(hospital, ten_events):
    tamper("UPDATE reviews_auditevent SET prev_hash = %s WHERE id = %s", ["1" * 64, ten_events[5].pk])

    assert verify(hospital) == (
        f"exit 1: BROKEN at event id {ten_events[5].pk}: prev_hash does not follow event {ten_events[4].pk}"
    )


def test_a_deleted_middle_row_is_reported_at_the_next_row(hospital, ten_events):
    tamper("DELETE FROM reviews_auditevent WHERE id = %s", [ten_events[4].pk])

    assert verify(hospital) == (
        f"exit 1: BROKEN at event id {ten_events[5].pk}: prev_hash does not follow event {ten_events[3].pk}"
    )


def test_reordered_rows_are_reported_at_the_first_moved_row(hospital, ten_events):
    # Swap every column but the id between events 3 and 6: the same rows, in another order.
    columns = ["actor_type", "actor_user_id", "action", "at", "ip", "details", "prev_hash", "hash"]
    first, second = ten_events[3], ten_events[6]
    swap = ", ".join(f"{c} = other.{c}" for c in columns)
    tamper(
        f"UPDATE reviews_auditevent SET {swap} FROM reviews_auditevent AS other "
        "WHERE (reviews_auditevent.id, other.id) IN ((%s, %s), (%s, %s))",
        [first.pk, second.pk, second.pk, first.pk],
    )
    assert chain_of(hospital)[3].details == {"n": 6}

    assert verify(hospital) == (
        f"exit 1: BROKEN at event id {first.pk}: prev_hash does not follow event {ten_events[2].pk}"
    )


def test_deleted_last_rows_are_a_head_mismatch(hospital, ten_events):
    tamper("DELETE FROM reviews_auditevent WHERE id >= %s", [ten_events[8].pk])

    assert verify(hospital) == f"exit 1: BROKEN at event id {ten_events[9].pk}: head mismatch (last rows deleted)"


def test_a_row_written_around_the_chain_is_reported(hospital, ten_events):
    stray = AuditEvent.objects.create(hospital=hospital, actor_type="system", action="case.opened")

    assert verify(hospital) == (
        f"exit 1: BROKEN at event id {stray.pk}: prev_hash does not follow event {ten_events[-1].pk}"
    )


# --- PostgreSQL: the database itself refuses changes --------------------------------------


@on_postgresql
@pytest.mark.parametrize("change", ["update", "delete"])
def test_the_database_refuses_to_change_or_delete_an_audit_event(hospital, doctor, change):
    event = audit_record(hospital=hospital, user=doctor, action="user.signed_in")
    rows = AuditEvent.objects.filter(pk=event.pk)

    with pytest.raises(DatabaseError, match="audit events are append-only"), transaction.atomic():
        rows.update(action="user.signed_out") if change == "update" else rows.delete()

    assert AuditEvent.objects.get(pk=event.pk).action == "user.signed_in"
    assert verify(hospital) == f"OK: 1 events, head {event.hash}"


APP_ROLE = "portal_app_test_audit"


@pytest.fixture
def app_role(transactional_db):
    """The application's role as README sets it up, in the test database; dropped afterwards."""
    settings = connection.settings_dict
    params = {"host": settings["HOST"], "port": settings["PORT"] or 5432, "dbname": settings["NAME"]}
    with psycopg.connect(user=settings["USER"], autocommit=True, **params) as admin:
        admin.execute(f"DROP ROLE IF EXISTS {APP_ROLE}")
        admin.execute(f"CREATE ROLE {APP_ROLE} LOGIN")
        admin.execute(f"GRANT USAGE ON SCHEMA public TO {APP_ROLE}")
        admin.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {APP_ROLE}")
        admin.execute(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {APP_ROLE}")
        admin.execute(f"REVOKE UPDATE, DELETE, TRUNCATE ON reviews_auditevent FROM {APP_ROLE}")
        try:
            with psycopg.connect(user=APP_ROLE, autocommit=True, **params) as app:
                yield app
        finally:
            admin.execute(f"DROP OWNED BY {APP_ROLE}")
            admin.execute(f"DROP ROLE {APP_ROLE}")


@on_postgresql
def test_the_application_role_can_only_insert_and_read_audit_events(hospital, doctor, app_role):
    event = audit_record(hospital=hospital, user=doctor, action="user.signed_in")

    assert app_role.execute("SELECT action FROM reviews_auditevent WHERE id = %s", [event.pk]).fetchone() == (
        "user.signed_in",
    )
    app_role.execute(
        "INSERT INTO reviews_auditevent (hospital_id, actor_type, action, at, details, prev_hash, hash) "
        "VALUES (%s, 'system', 'test.inserted', now(), '{}', '', '')",
        [hospital.pk],
    )
    for refused in (
        "UPDATE reviews_auditevent SET action = 'x'",
        "DELETE FROM reviews_auditevent",
        "TRUNCATE reviews_auditevent CASCADE",
    ):
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            app_role.execute(refused)
    # Everything else stays writable for the application: the chain's head moves on every event.
    app_role.execute("UPDATE reviews_auditchainhead SET last_hash = last_hash WHERE hospital_id = %s", [hospital.pk])
    assert AuditEvent.objects.filter(hospital=hospital).count() == 2


@on_postgresql
@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_never_fork_the_chain(hospital):
    # No head yet: the writers also race to create it.
    doctors = [DoctorFactory(hospital=hospital) for _ in range(6)]
    AdminFactory(hospital=hospital)
    rounds = 15
    lock = threading.Lock()
    written: list[int] = []

    def writer(user):
        def call():
            for i in range(rounds):
                event = audit_record(hospital=hospital, user=user, action="case.opened", details={"round": i})
                with lock:
                    written.append(event.pk)

        return call

    results = run_together(*[writer(user) for user in doctors])

    assert results == [None] * len(doctors)
    events = chain_of(hospital)
    assert len(events) == len(written) == len(doctors) * rounds
    assert len({e.prev_hash for e in events}) == len(events)  # no event extended twice
    assert verify(hospital) == f"OK: {len(events)} events, head {events[-1].hash}"


@on_postgresql
@pytest.mark.django_db(transaction=True)
def test_concurrent_decisions_and_batch_ingest_keep_one_chain(platform, doctor):
    cases = [case_claim(case=CaseFactory(doctor=doctor), doctor=doctor) for _ in range(4)]

    def approve(case):
        return lambda: case_approve(case=Case.objects.get(pk=case.pk), doctor=doctor, version=case.version)

    def batch():
        return cases_ingest_batch(api_client=platform, items=[ingest_data(doctor) for _ in range(20)])

    results = run_together(*[approve(case) for case in cases], batch, batch)

    assert not [r for r in results if isinstance(r, Exception)], results
    events = chain_of(doctor.hospital)
    assert [e.action for e in events].count("case.ingested") == 40
    assert verify(doctor.hospital) == f"OK: {len(events)} events, head {events[-1].hash}"


# --- the admin audit page ------------------------------------------------------------------


def audit_page(client, admin, **params) -> str:
    client.force_login(admin)
    response = client.get("/manage/audit/", params)
    assert response.status_code == 200
    return response.content.decode()


def test_the_audit_page_shows_the_head_hash_and_verifies_on_request(client, hospital_admin, ten_events):
    page = audit_page(client, hospital_admin)
    assert f'<code id="audit-head-hash">{ten_events[-1].hash}</code>' in page
    assert "Keep a copy of this value outside the portal" in page
    assert 'name="verify" value="1"' in page and "audit-chain-state" not in page

    verified = audit_page(client, hospital_admin, verify="1")
    assert '<p class="ok" role="status" id="audit-chain-state">Verified: 10 events, unbroken.</p>' in verified


def test_the_audit_page_names_the_first_broken_event(client, hospital, hospital_admin, ten_events):
    tamper("UPDATE reviews_auditevent SET details = %s WHERE id = %s", ['{"n": 99}', ten_events[2].pk])

    page = audit_page(client, hospital_admin, verify="1")

    assert f"Broken at event #{ten_events[2].pk}: hash mismatch." in page
