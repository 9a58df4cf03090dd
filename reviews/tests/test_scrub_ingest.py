"""Scrubbing at ingest (issue #6): an identifier a patient types is gone before anything is
stored, triaged or logged, also when the request is refused."""

import json
import logging

import pytest
from django.db import connection
from rest_framework.test import APIClient

from reviews.models import AuditEvent, Case, Message

IDENTIFIERS = ["13800138000", "+44 20 7946 0958", "li.wei@example.com", "11010519491231002X", "E12345678"]
QUESTION = (
    "I have crushing chest pain since an hour. Call me on 13800138000 or +44 20 7946 0958, "
    "mail li.wei@example.com, ID 11010519491231002X, passport E12345678."
)


@pytest.fixture
def api(api_token) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {api_token[1]}")
    return client


@pytest.fixture
def every_log_line(caplog):
    """Every record any logger writes, SQL statements with their parameters included."""
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="django")  # Django's own logger stops at INFO
    connection.force_debug_cursor = True
    yield caplog
    connection.force_debug_cursor = False


def payload(doctor, **overrides) -> dict:
    body = {
        "external_id": "conv-scrub-1",
        "doctor": doctor.doctor_profile.licence_number,
        "patient_ref": "platform-user-1",
        "messages": [
            {"author": "patient", "body": QUESTION, "sent_at": "2026-11-20T08:00:00Z"},
            {
                "author": "avatar",
                "body": "Please call 120 now. I will write to li.wei@example.com.",
                "sent_at": "2026-11-20T08:00:05Z",
            },
        ],
        "avatar": {"confidence": 0.9, "flags": []},
    }
    return body | overrides


def logged_text(caplog) -> str:
    return "\n".join(record.getMessage() for record in caplog.records)


def test_an_ingested_message_is_scrubbed_before_it_is_stored_triaged_or_logged(api, doctor, every_log_line):
    response = api.post("/api/v1/cases/", payload(doctor), format="json")

    assert response.status_code == 201, response.content
    case = Case.objects.get(pk=response.json()["id"])
    stored = " ".join(Message.objects.filter(case=case).values_list("body", flat=True))
    flags = json.dumps(case.flags, ensure_ascii=False)
    audit = json.dumps(list(AuditEvent.objects.filter(case=case).values_list("details", flat=True)))
    logs = logged_text(every_log_line)
    assert "INSERT" in logs  # the SQL log was on: what was written went through it
    for identifier in IDENTIFIERS:
        assert identifier not in stored
        assert identifier not in case.question_preview
        assert identifier not in flags
        assert identifier not in audit
        assert identifier not in logs
        assert identifier not in response.content.decode()
    assert "chest pain" in stored and "[phone]" in stored and "[email]" in stored and "[id-number]" in stored


def test_a_refused_ingest_logs_none_of_the_identifiers_it_carried(api, doctor, every_log_line):
    bad = payload(doctor)
    bad["messages"][0]["sent_at"] = "not a time"

    response = api.post("/api/v1/cases/", bad, format="json")

    assert response.status_code == 400
    assert not Case.objects.exists()
    logs = logged_text(every_log_line)
    assert every_log_line.records  # Django logs the bad request, by path
    for identifier in IDENTIFIERS:
        assert identifier not in logs
