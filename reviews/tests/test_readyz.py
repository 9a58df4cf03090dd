"""/healthz and /readyz, as a load balancer and an operator read them."""

import os
from datetime import timedelta

import pytest
from django.db import OperationalError
from django.utils import timezone

from portal import health
from reviews import webhook_tasks
from reviews.models import Urgency, WebhookDelivery, WebhookEndpoint
from reviews.previsit import appointment_create, summaries_enqueue_due
from reviews.services import case_approve, case_claim

from .factories import CaseFactory, PatientFactory

SUMMARY_KEYS = {"pending", "ready", "failed", "stale", "oldest_pending_since", "last_beat_at"}
BACKLOG_KEYS = {"webhook_deliveries_pending", "webhook_deliveries_due", "summaries_due", "escalations_due"}


def test_healthz_answers_without_asking_anything(client, db, django_assert_max_num_queries):
    with django_assert_max_num_queries(0):
        response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_without_a_broker_the_portal_is_ready_and_runs_tasks_in_process(client, db, settings):
    settings.CELERY_BROKER_URL = ""

    response = client.get("/readyz")

    assert response.status_code == 200
    data = response.json()
    assert data["status"] == "ready"
    assert data["checks"]["database"] == "ok"
    assert data["checks"]["broker"].startswith("not configured")
    assert data["degraded"] == []
    assert set(data["summaries"]) == SUMMARY_KEYS
    assert set(data["backlog"]) == BACKLOG_KEYS
    assert response["Cache-Control"].startswith("max-age=0")


def test_a_broker_that_does_not_answer_leaves_the_portal_ready_but_degraded(client, db, settings):
    settings.CELERY_BROKER_URL = "redis://:hunter2@127.0.0.1:1/0"  # nothing listens on port 1

    response = client.get("/readyz")

    # Pages and ingest still work: a load balancer must keep sending doctors here.
    assert response.status_code == 200
    data = response.json()
    assert data["status"] == "degraded"
    assert data["checks"]["database"] == "ok"
    assert data["checks"]["broker"].startswith("unreachable (")
    assert len(data["degraded"]) == 1
    assert data["degraded"][0].startswith("background work (pre-visit summaries, webhook deliveries, SLA escalations)")
    assert "hunter2" not in response.content.decode()
    assert set(data["backlog"]) == BACKLOG_KEYS
    assert data["summaries"] is not None  # the database still answers: the counts help find out why


def test_the_backlog_counts_the_work_waiting_for_a_worker(client, doctor, settings, monkeypatch):
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"
    monkeypatch.setattr(webhook_tasks.webhook_deliver, "delay", lambda *ids: None)  # the broker is down
    hospital = doctor.hospital
    WebhookEndpoint.objects.create(hospital=hospital, url="http://127.0.0.1:9/hooks", events=["case.approved"])
    for _ in range(2):
        case = case_claim(case=CaseFactory(doctor=doctor), doctor=doctor)
        case_approve(case=case, doctor=doctor, version=case.version)
    later = WebhookDelivery.objects.first()
    WebhookDelivery.objects.filter(pk=later.pk).update(next_attempt_at=timezone.now() + timedelta(minutes=5))
    # Booked outside the lead window, then the window moves over it: due, and held by nobody.
    appointment_create(
        hospital=hospital,
        doctor=doctor,
        patient=PatientFactory(hospital=hospital),
        scheduled_at=timezone.now() + timedelta(hours=30),
    )
    hospital.summary_lead_hours = 48
    hospital.save(update_fields=["summary_lead_hours"])
    CaseFactory(doctor=doctor, urgency=Urgency.URGENT, due_at=timezone.now() - timedelta(minutes=1))

    data = client.get("/readyz").json()

    assert data["backlog"] == {
        "webhook_deliveries_pending": 2,
        "webhook_deliveries_due": 1,
        "summaries_due": 1,
        "escalations_due": 1,
    }


@pytest.mark.skipif(not os.environ.get("CELERY_BROKER_URL"), reason="needs a broker (CI sets CELERY_BROKER_URL)")
def test_a_broker_that_answers_is_ok(client, db, settings):
    settings.CELERY_BROKER_URL = os.environ["CELERY_BROKER_URL"]
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json()["status"] == "ready"
    assert response.json()["checks"]["broker"] == "ok"


def test_a_database_that_does_not_answer_makes_the_portal_unavailable(client, db, settings, monkeypatch):
    settings.CELERY_BROKER_URL = ""

    class DownConnection:
        def cursor(self):
            raise OperationalError("connection refused")

    monkeypatch.setattr(health, "connection", DownConnection())

    response = client.get("/readyz")

    assert response.status_code == 503
    data = response.json()
    assert data["status"] == "unavailable"
    assert data["checks"]["database"] == "unreachable (OperationalError)"
    assert data["summaries"] is None and data["backlog"] is None


def test_readyz_reports_the_summary_pipeline_and_its_last_beat(client, doctor, settings, monkeypatch):
    settings.CELERY_BROKER_URL = ""
    appointment, _ = appointment_create(
        hospital=doctor.hospital,
        doctor=doctor,
        patient=PatientFactory(hospital=doctor.hospital),
        scheduled_at=timezone.now() + timedelta(hours=3),
    )
    before = client.get("/readyz").json()["summaries"]
    summaries_enqueue_due()

    after = client.get("/readyz").json()["summaries"]

    assert before["pending"] == 1
    assert before["oldest_pending_since"] == appointment.created_at.isoformat()
    assert before["last_beat_at"] is None
    assert after["last_beat_at"] is not None


def test_readyz_costs_the_same_queries_whatever_the_backlog(client, doctor, settings, django_assert_num_queries):
    settings.CELERY_BROKER_URL = ""
    WebhookEndpoint.objects.create(hospital=doctor.hospital, url="http://127.0.0.1:9/hooks", events=["case.approved"])

    def backlog_of(count: int) -> None:
        for _ in range(count):
            CaseFactory(doctor=doctor, urgency=Urgency.URGENT, due_at=timezone.now() - timedelta(minutes=1))
            appointment_create(
                hospital=doctor.hospital,
                doctor=doctor,
                patient=PatientFactory(hospital=doctor.hospital),
                scheduled_at=timezone.now() + timedelta(days=3),
            )

    backlog_of(1)
    # SELECT 1, the pipeline's two, the backlog's three.
    with django_assert_num_queries(6):
        client.get("/readyz")
    backlog_of(5)
    with django_assert_num_queries(6):
        assert client.get("/readyz").json()["backlog"]["escalations_due"] == 6


def test_readyz_is_read_only(client, db):
    assert client.post("/readyz").status_code == 405
    assert client.post("/healthz").status_code == 405
