"""Pre-visit summaries with a real Celery worker (PostgreSQL + Redis; skipped without
them, required in CI): the beat's work reaches the worker and comes back compiled, and a
worker process killed in the middle of a compile loses no summary.

To kill a compile in its middle, not before or after it, the test holds a lock on the
message table: the worker's compile has begun (its attempt is counted) and waits on the
lock when it reads the patient's messages. Nothing in the production code knows.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import psycopg
import pytest
from django.db import connection
from django.utils import timezone

from accounts.models import Hospital
from reviews.models import Appointment, Case, Message, PreVisitSummary, WebhookEndpoint, WebhookEvent
from reviews.previsit import appointment_create
from reviews.previsit_tasks import summaries_beat, summaries_compile_chunk
from tests.celery_worker import wait_until

from .factories import CaseFactory, DoctorFactory, PatientFactory

VISITS = 3


def book_visits(doctor, count: int = VISITS) -> list[Appointment]:
    """Visits in 30 hours for patients with a history: outside the default 24-hour window,
    so nothing compiles until the test widens the window and runs the beat."""
    appointments = []
    for index in range(count):
        patient = PatientFactory(hospital=doctor.hospital)
        CaseFactory(doctor=doctor, patient=patient)
        CaseFactory(doctor=doctor, patient=patient)
        appointment, _ = appointment_create(
            hospital=doctor.hospital,
            doctor=doctor,
            patient=patient,
            scheduled_at=timezone.now() + timedelta(hours=30, minutes=index),
        )
        appointments.append(appointment)
    Hospital.objects.filter(pk=doctor.hospital_id).update(summary_lead_hours=48)
    return appointments


def summaries() -> list[PreVisitSummary]:
    return list(PreVisitSummary.objects.order_by("appointment__scheduled_at"))


def all_ready() -> bool:
    rows = summaries()
    return len(rows) == VISITS and all(s.status == "ready" for s in rows)


def assert_compiled_once_each(appointments: list[Appointment]) -> None:
    rows = summaries()
    assert [s.appointment_id for s in rows] == [a.pk for a in appointments]  # exactly one each
    for summary in rows:
        history = sorted(Case.objects.filter(patient_id=summary.appointment.patient_id).values_list("pk", flat=True))
        assert (summary.status, summary.stale, summary.error) == ("ready", False, "")
        assert (summary.attempts, summary.compile_started_at) == (0, None)
        assert sorted(summary.source_case_ids) == history
        assert summary.content["case_count"] == 2


@contextmanager
def messages_locked() -> Iterator[psycopg.Connection]:
    """Hold an exclusive lock on the message table from a connection of our own."""
    db = connection.settings_dict
    locker = psycopg.connect(
        host=db["HOST"] or "127.0.0.1",
        port=db["PORT"] or 5432,
        user=db["USER"],
        password=db["PASSWORD"] or None,
        dbname=db["NAME"],
    )
    try:
        locker.execute(f"LOCK TABLE {Message._meta.db_table} IN ACCESS EXCLUSIVE MODE")
        yield locker
    finally:
        locker.rollback()
        locker.close()


def compile_waiting_on_the_lock(locker: psycopg.Connection) -> bool:
    row = locker.execute(
        "SELECT count(*) FROM pg_locks WHERE NOT granted AND relation = %s::regclass", [Message._meta.db_table]
    ).fetchone()
    return row[0] > 0


def first_attempts() -> int:
    return summaries()[0].attempts


def test_the_beat_has_the_worker_compile_every_due_summary(celery_worker):
    doctor = DoctorFactory()
    appointments = book_visits(doctor)
    assert {s.status for s in summaries()} == {"pending"}

    summaries_beat.delay()

    wait_until(all_ready, message="every summary compiled by the worker")
    assert_compiled_once_each(appointments)


@pytest.mark.celery_worker_env(CONCURRENCY=1)
def test_a_compile_killed_with_its_worker_process_is_redelivered_and_finishes(celery_worker):
    doctor = DoctorFactory()
    appointments = book_visits(doctor)

    with messages_locked() as locker:
        summaries_beat.delay()  # the beat and then the chunk's compiles run in the one pool process
        wait_until(lambda: first_attempts() == 1 and compile_waiting_on_the_lock(locker), message="a compile begun")
        killed_at = timezone.now()

        celery_worker.kill_pool_child()

        # Late ack: the message comes back to a fresh pool process, whose compile begins again.
        wait_until(
            lambda: first_attempts() == 2 and compile_waiting_on_the_lock(locker),
            message="the killed compile redelivered",
        )
        assert summaries()[0].status == "pending"

    wait_until(all_ready, message="every summary compiled after the redelivery")
    assert_compiled_once_each(appointments)
    assert all(s.compiled_at > killed_at for s in summaries())


def settled() -> bool:
    """Every summary written by the compile that started last, and none begun since."""
    rows = summaries()
    return len(rows) == VISITS and all((s.status, s.attempts, s.compile_started_at) == ("ready", 0, None) for s in rows)


def test_overlapping_beats_and_duplicate_messages_compile_each_summary_once(celery_worker):
    doctor = DoctorFactory()
    WebhookEndpoint.objects.create(
        hospital=doctor.hospital, url="http://127.0.0.1:9/hooks", events=["summary.ready"], secret="s"
    )
    appointments = book_visits(doctor)
    ids = [s.pk for s in summaries()]

    # Three beats at once, and the same chunk delivered twice more, as a broker may.
    for _ in range(3):
        summaries_beat.delay()
    summaries_compile_chunk.delay(*ids)
    summaries_compile_chunk.delay(*ids)

    wait_until(settled, message="every summary compiled and no compile under way")
    assert_compiled_once_each(appointments)
    # One summary.ready per summary: a compile overtaken by a later one writes nothing.
    events = WebhookEvent.objects.filter(type="summary.ready")
    assert sorted(e.payload["appointment"]["id"] for e in events) == [a.pk for a in appointments]
