"""Races of the pre-visit pipeline, with real threads on PostgreSQL: overlapping beats,
duplicate deliveries of a compile, and a booking sent twice at once."""

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from accounts.models import User
from reviews import previsit_tasks, webhook_tasks
from reviews.models import Appointment, AuditEvent, PreVisitSummary, WebhookEndpoint, WebhookEvent
from reviews.previsit import appointment_create, summaries_enqueue_due, summary_compile_run

from .factories import PatientFactory
from .test_concurrency import run_together

pytestmark = [
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="concurrent writers need PostgreSQL; CI runs these on PostgreSQL",
    ),
    pytest.mark.django_db(transaction=True),
]


@pytest.fixture
def sent(monkeypatch):
    """Chunk messages, recorded (from any thread) instead of sent."""
    messages: list[tuple[int, ...]] = []
    lock = threading.Lock()

    def record(*ids):
        with lock:
            messages.append(ids)

    monkeypatch.setattr(previsit_tasks.summaries_compile_chunk, "delay", record)
    monkeypatch.setattr(webhook_tasks.webhook_deliver, "delay", lambda *ids: None)
    return messages


def test_overlapping_beats_send_each_summary_once(doctor, sent):
    patients = PatientFactory.create_batch(5, hospital=doctor.hospital)
    start = timezone.now() + timedelta(hours=1)
    appointments = Appointment.objects.bulk_create(
        Appointment(hospital=doctor.hospital, doctor=doctor, patient=patients[i % 5], scheduled_at=start)
        for i in range(1_000)
    )
    PreVisitSummary.objects.bulk_create(PreVisitSummary(appointment=a) for a in appointments[:600])

    runs = run_together(summaries_enqueue_due, summaries_enqueue_due, summaries_enqueue_due)

    assert not [r for r in runs if isinstance(r, Exception)], runs
    ids = [i for chunk in sent for i in chunk]
    assert len(ids) == len(set(ids)) == 1_000  # every summary sent, none twice
    assert PreVisitSummary.objects.count() == 1_000  # the missing 400 created once
    assert sum(r.claimed for r in runs) == 1_000


def test_duplicate_deliveries_of_one_compile_write_one_summary_and_one_event(doctor, sent):
    WebhookEndpoint.objects.create(
        hospital=doctor.hospital, url="https://booking.example/hooks", events=["summary.ready"], secret="s"
    )
    for attempt in range(5):
        appointment, _ = appointment_create(
            hospital=doctor.hospital,
            doctor=doctor,
            patient=PatientFactory(hospital=doctor.hospital),
            scheduled_at=timezone.now() + timedelta(days=3),
        )
        summary_id = appointment.summary.pk

        results = run_together(*[lambda summary_id=summary_id: summary_compile_run(summary_id)] * 3)

        assert not [r for r in results if isinstance(r, Exception)], results
        summary = PreVisitSummary.objects.get(appointment=appointment)
        assert (summary.status, summary.compile_started_at, summary.attempts) == ("ready", None, 0), attempt
        assert WebhookEvent.objects.filter(payload__appointment__id=appointment.pk).count() == 1, attempt


def test_a_booking_sent_twice_at_once_is_one_appointment(doctor, platform, sent):
    def book():
        return appointment_create(
            hospital=doctor.hospital,
            doctor=User.objects.get(pk=doctor.pk),
            patient_ref="patient-77",
            external_id="bk-race",
            scheduled_at=timezone.now() + timedelta(days=2),
            api_client=platform,
        )

    for _round in range(5):
        Appointment.objects.filter(external_id="bk-race").delete()
        results = run_together(book, book, book)

        assert not [r for r in results if isinstance(r, Exception)], results
        assert len({appointment.pk for appointment, _created in results}) == 1
        assert sorted(created for _appointment, created in results) == [False, False, True]
        assert Appointment.objects.filter(external_id="bk-race").count() == 1
    assert PreVisitSummary.objects.count() == 1
    assert AuditEvent.objects.filter(action="appointment.created").count() == 5
