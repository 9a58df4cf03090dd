"""/healthz and /readyz, as a load balancer and an operator read them."""

import os
from datetime import timedelta

import pytest
from django.db import OperationalError
from django.utils import timezone

from portal import health
from reviews.previsit import appointment_create, summaries_enqueue_due

from .factories import PatientFactory

SUMMARY_KEYS = {"pending", "ready", "failed", "stale", "oldest_pending_since", "last_beat_at"}


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
    assert set(data["summaries"]) == SUMMARY_KEYS
    assert response["Cache-Control"].startswith("max-age=0")


def test_a_broker_that_does_not_answer_makes_the_portal_unavailable(client, db, settings):
    settings.CELERY_BROKER_URL = "redis://:hunter2@127.0.0.1:1/0"  # nothing listens on port 1

    response = client.get("/readyz")

    assert response.status_code == 503
    data = response.json()
    assert data["status"] == "unavailable"
    assert data["checks"]["database"] == "ok"
    assert data["checks"]["broker"].startswith("unreachable")
    assert "hunter2" not in response.content.decode()
    assert data["summaries"] is not None  # the database still answers: the counts help find out why


@pytest.mark.skipif(not os.environ.get("CELERY_BROKER_URL"), reason="needs a broker (CI sets CELERY_BROKER_URL)")
def test_a_broker_that_answers_is_ok(client, db, settings):
    settings.CELERY_BROKER_URL = os.environ["CELERY_BROKER_URL"]
    response = client.get("/readyz")
    assert response.status_code == 200
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
    assert data["checks"]["database"] == "unreachable (OperationalError)"
    assert data["summaries"] is None


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


def test_readyz_is_read_only(client, db):
    assert client.post("/readyz").status_code == 405
    assert client.post("/healthz").status_code == 405
