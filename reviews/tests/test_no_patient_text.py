"""No patient text and no identifier leaves the clinical tables (#8): audit rows, log records
and Celery messages carry actions, ids, pseudonyms and reasons only.

One realistic day of a patient who writes their name, phone, e-mail, resident ID and symptoms
into every field they can reach: ingest (single and batch), a follow-up message, doctors who
open, correct, approve, take over, reply and close, an escalation, a booking with its
pre-visit summary, and webhook deliveries. Everything is captured along the way and searched.
"""

import json
import logging
import re
from datetime import timedelta

import pytest
from celery.app.task import Task
from celery.signals import before_task_publish
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.services import api_client_create
from reviews.escalation_tasks import cases_escalate
from reviews.models import AuditEvent, Case, CaseEscalation, CaseStatus, Decision, PreVisitSummary, WebhookDelivery
from reviews.previsit_tasks import summaries_beat
from reviews.webhook_endpoints import webhook_endpoint_create
from reviews.webhook_tasks import webhooks_sweep

from .factories import AdminFactory
from .webhook_receiver import Receiver

pytestmark = pytest.mark.django_db

NAME = "Chen Xiaoming"
PHONE = "13812345678"
EMAIL = "chen.xiaoming@example.com"
RESIDENT_ID = "11010519491231002X"
PLATFORM_REF = "wechat-chenxiaoming-8841"
SYMPTOM = "a stabbing pain behind my left knee since the hike on Tuesday"
SYMPTOM_ZH = "我的膝盖后面刺痛"
# Anything here found outside the clinical tables is a leak. Pseudonyms, ids, rule ids and
# reason codes are allowed, so ordinary clinical words such as "chest pain" are not listed.
PATIENT_WORDS = [NAME, "Xiaoming", PHONE, EMAIL, RESIDENT_ID, PLATFORM_REF, SYMPTOM, "stabbing", "left knee", "膝盖"]

INTRODUCTION = f"I am {NAME}, call me on {PHONE} or write to {EMAIL}, ID {RESIDENT_ID}. I have {SYMPTOM}."
# An id travels as an int, or as a short token of letters, digits and dashes.
ID_STRING = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")


@pytest.fixture
def logs(caplog):
    """Every record at DEBUG, from every logger, including those with a level of their own."""
    caplog.set_level(logging.DEBUG)
    for name, candidate in list(logging.root.manager.loggerDict.items()):
        if isinstance(candidate, logging.Logger) and candidate.level not in (logging.NOTSET, logging.DEBUG):
            caplog.set_level(logging.DEBUG, logger=name)
    quiet = [
        logger
        for logger in logging.root.manager.loggerDict.values()
        if isinstance(logger, logging.Logger) and not logger.propagate
    ]
    for logger in quiet:
        logger.addHandler(caplog.handler)
    yield caplog
    for logger in quiet:
        logger.removeHandler(caplog.handler)


@pytest.fixture
def celery_messages(monkeypatch):
    """(task name, args, kwargs) of every task sent: eager sends never reach the broker, so
    `apply_async` is recorded as well as what is actually published."""
    sent: list[tuple[str, tuple, dict]] = []
    send = Task.apply_async

    def recording(self, args=None, kwargs=None, *rest, **options):
        sent.append((self.name, tuple(args or ()), dict(kwargs or {})))
        return send(self, args, kwargs, *rest, **options)

    def published(sender=None, body=None, **_kwargs):
        args, kwargs, _embed = body
        sent.append((f"published:{sender}", tuple(args), dict(kwargs)))

    monkeypatch.setattr(Task, "apply_async", recording)
    before_task_publish.connect(published, weak=False)
    yield sent
    before_task_publish.disconnect(published)


@pytest.fixture
def receiver():
    with Receiver() as receiver:
        yield receiver


def _api(hospital) -> APIClient:
    _client, token = api_client_create(
        hospital=hospital,
        name="Avatar platform",
        scopes=["cases:write", "cases:read", "appointments:write", "summaries:read"],
    )
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


def _case_body(doctor, external_id: str, question: str, *, confidence: float = 0.3) -> dict:
    sent = timezone.now() - timedelta(minutes=5)
    return {
        "external_id": external_id,
        "doctor": doctor.doctor_profile.licence_number,
        "patient_ref": PLATFORM_REF,
        "patient": {"birth_year": 1949, "sex": "male"},
        "messages": [
            {"author": "patient", "body": question, "sent_at": sent.isoformat()},
            {
                "author": "avatar",
                "body": f"{NAME.split()[1]}, rest the leg and see a doctor if it swells.",
                "sent_at": (sent + timedelta(seconds=5)).isoformat(),
            },
        ],
        "avatar": {"confidence": confidence, "flags": []},
    }


def _version(case_id: int) -> int:
    return Case.objects.values_list("version", flat=True).get(pk=case_id)


def test_a_patients_words_stay_in_the_clinical_tables(
    client, doctor, other_doctor, hospital, logs, celery_messages, receiver, django_capture_on_commit_callbacks
):
    committed = lambda: django_capture_on_commit_callbacks(execute=True)  # noqa: E731 - on_commit work runs here
    admin = AdminFactory(hospital=hospital)
    webhook_endpoint_create(
        hospital=hospital, created_by=admin, url=receiver.url, events=["case.approved", "case.corrected", "case.closed"]
    )
    api = _api(hospital)

    # Ingest: one case alone, two in a batch (one of them an emergency in Chinese).
    with committed():
        single = api.post("/api/v1/cases/", _case_body(doctor, "conv-7001", INTRODUCTION), format="json")
        batch = api.post(
            "/api/v1/cases/batch/",
            {
                "cases": [
                    _case_body(doctor, "conv-7002", f"{INTRODUCTION} 我胸口剧痛，喘不上气。{SYMPTOM_ZH}"),
                    _case_body(doctor, "conv-7003", f"{NAME} again, {PHONE}: is ibuprofen fine for {SYMPTOM}?"),
                ]
            },
            format="json",
        )
    assert single.status_code == 201, single.content
    assert batch.status_code == 200, batch.content
    first = single.json()["id"]
    emergency, third = (row["id"] for row in batch.json()["results"])
    assert Case.objects.get(pk=emergency).status == CaseStatus.AWAITING_REVIEW

    # The patient writes again before a doctor has looked.
    with committed():
        follow_up = api.post(
            f"/api/v1/cases/{first}/messages/",
            {"body": f"Also: {EMAIL}, {RESIDENT_ID}. {SYMPTOM_ZH}", "sent_at": timezone.now().isoformat()},
            format="json",
        )
    assert follow_up.status_code == 201, follow_up.content

    # The doctor opens and corrects the first case, and approves the third.
    client.force_login(doctor)
    with committed():
        assert client.get(f"/cases/{first}/").status_code == 200
        correction = {
            "version": _version(first),
            "final_text": f"{NAME}, please have {SYMPTOM} examined today; call {PHONE} if it swells.",
            "category": "incomplete",
            "note": f"Patient {NAME} mentions {SYMPTOM}.",
        }
        assert client.post(f"/cases/{first}/correct/", correction).status_code == 302
        assert client.get(f"/cases/{third}/").status_code == 200
        assert client.post(f"/cases/{third}/approve/", {"version": _version(third)}).status_code == 302

    # The emergency breaches its SLA: the beat escalates it to the colleague, who takes it
    # over, replies and closes it.
    Case.objects.filter(pk=emergency).update(due_at=timezone.now() - timedelta(minutes=5))
    with committed():
        cases_escalate.delay()
    assert CaseEscalation.objects.filter(case_id=emergency, doctor=other_doctor).exists()
    client.force_login(other_doctor)
    with committed():
        assert client.get(f"/cases/{emergency}/").status_code == 200
        assert client.post(f"/cases/{emergency}/take-over/", {"version": _version(emergency)}).status_code == 302
        reply = {"body": f"{NAME}, call an ambulance now; we have {PHONE} and {EMAIL} on file."}
        assert client.post(f"/cases/{emergency}/reply/", reply).status_code == 302
        assert client.post(f"/cases/{emergency}/close/", {"version": _version(emergency)}).status_code == 302

    # A visit booked for this afternoon: its summary is compiled at once.
    with committed():
        booked = api.post(
            "/api/v1/appointments/",
            {
                "external_id": "booking-7001",
                "doctor": doctor.doctor_profile.licence_number,
                "patient_ref": PLATFORM_REF,
                "scheduled_at": (timezone.now() + timedelta(hours=3)).isoformat(),
                "reason": f"{NAME} ({PHONE}): {SYMPTOM}",
            },
            format="json",
        )
    assert booked.status_code == 201, booked.content
    summary = PreVisitSummary.objects.get(appointment_id=booked.json()["id"])
    assert summary.status == PreVisitSummary.Status.READY
    assert api.get(f"/api/v1/appointments/{booked.json()['id']}/summary/").status_code == 200

    # The beats run once more, with nothing left to do but to look.
    with committed():
        summaries_beat.delay()
        webhooks_sweep.delay()

    # The flow did what it says, so the searches below searched something.
    assert list(Decision.objects.order_by("id").values_list("case_id", "action")) == [
        (first, "correct"),
        (third, "approve"),
        (emergency, "take_over"),
        (emergency, "close"),
    ]
    assert WebhookDelivery.objects.filter(status=WebhookDelivery.Status.DELIVERED).count() == 3
    assert len(receiver.accepted()) == 3
    sent_tasks = {name for name, _args, _kwargs in celery_messages}
    assert {"reviews.webhook_tasks.webhook_deliver", "reviews.previsit_tasks.summary_compile"} <= sent_tasks

    # Celery messages: ids only.
    for name, args, kwargs in celery_messages:
        for value in [*args, *kwargs.values()]:
            assert isinstance(value, int) or (isinstance(value, str) and ID_STRING.match(value)), (name, value)

    # Nothing the patient wrote, anywhere outside the clinical tables.
    audit = [
        json.dumps(row, default=str, ensure_ascii=False)
        for row in AuditEvent.objects.order_by("id").values("action", "details", "ip")
    ]
    assert len(audit) >= 10
    log_lines = [record.getMessage() + (logs.text if record.exc_info else "") for record in logs.records]
    messages = [
        json.dumps([name, args, kwargs], default=str, ensure_ascii=False) for name, args, kwargs in celery_messages
    ]
    for where, lines in (("audit", audit), ("logs", log_lines), ("celery", messages)):
        for line in lines:
            leaked = [word for word in PATIENT_WORDS if word.lower() in line.lower()]
            assert not leaked, f"{where}: {leaked} in {line!r}"
