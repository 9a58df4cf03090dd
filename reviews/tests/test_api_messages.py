"""POST /api/v1/cases/{id}/messages/ (issue #4): a new patient message on an existing case."""

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.services import api_client_create
from reviews.exceptions import CaseConflict
from reviews.models import AuditEvent, Case, CaseStatus, Message, Urgency
from reviews.services import case_approve, case_claim, case_correct, case_take_over

from .factories import CaseFactory
from .test_api import INGEST_RESULT_KEYS, assert_json_error, bearer

ROUTINE_FOLLOW_UP = "Thank you. The headache is a little better today."
EMERGENCY_FOLLOW_UP = "I now have crushing chest pain"
HUMAN_FOLLOW_UP = "Can I speak to a real doctor please?"
SENT_AT = "2025-03-01T10:00:00+08:00"


def messages_url(case_id: int) -> str:
    return f"/api/v1/cases/{case_id}/messages/"


def post_message(api, case: Case, body: str = ROUTINE_FOLLOW_UP, **extra):
    return api.post(messages_url(case.pk), {"body": body, "sent_at": SENT_AT} | extra, format="json")


def stored_state(case: Case) -> tuple:
    case = Case.objects.get(pk=case.pk)
    return (
        case.status,
        case.version,
        case.urgency,
        case.hold,
        case.review_reasons,
        case.flags,
        Message.objects.filter(case=case).count(),
        AuditEvent.objects.filter(case=case).count(),
    )


@pytest.fixture
def api(api_token):
    return bearer(api_token[1])


@pytest.fixture
def awaiting(doctor) -> Case:
    return CaseFactory(doctor=doctor, review_reasons=["routine_sample"])


@pytest.fixture
def auto_released(doctor) -> Case:
    return CaseFactory(doctor=doctor, status=CaseStatus.AUTO_RELEASED, review_reasons=[])


def answered(doctor, *, corrected: bool = False) -> Case:
    case = case_claim(case=CaseFactory(doctor=doctor, review_reasons=["routine_sample"]), doctor=doctor)
    if corrected:
        case_correct(
            case=case, doctor=doctor, version=case.version, final_text="Rest and drink water.", category="tone"
        )
    else:
        case_approve(case=case, doctor=doctor, version=case.version)
    return Case.objects.get(pk=case.pk)


# --- Status rules --------------------------------------------------------------------------


def test_message_on_a_case_awaiting_review_is_stored_and_reported(api, awaiting):
    version = awaiting.version

    response = post_message(api, awaiting)

    assert response.status_code == 201, response.content
    body = response.json()
    assert set(body) == INGEST_RESULT_KEYS | {"message_id"}
    message = Message.objects.get(pk=body["message_id"])
    assert (message.case_id, message.author, message.body) == (awaiting.pk, "patient", ROUTINE_FOLLOW_UP)
    assert message.sent_at.isoformat() == "2025-03-01T02:00:00+00:00"
    assert body | {"message_id": None} == {
        "id": awaiting.pk,
        "status": "awaiting_review",
        "urgency": "routine",
        "release": "release",
        "review_reasons": ["routine_sample"],
        "flags": [],
        "message_id": None,
    }
    awaiting.refresh_from_db()
    assert awaiting.version == version + 1


@pytest.mark.parametrize("corrected", [False, True], ids=["approved", "corrected"])
def test_message_on_an_answered_case_reopens_it_for_the_same_reviewer(api, doctor, corrected):
    case = answered(doctor, corrected=corrected)
    assert case.status == (CaseStatus.CORRECTED if corrected else CaseStatus.APPROVED)

    response = post_message(api, case)

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["status"] == "awaiting_review"
    assert body["release"] == "hold"
    assert body["review_reasons"] == ["routine_sample", "patient_follow_up"]
    case.refresh_from_db()
    assert (case.status, case.hold, case.reviewer_id, case.claimed_by_id) == (
        CaseStatus.AWAITING_REVIEW,
        True,
        doctor.pk,
        None,
    )
    assert case.due_at > timezone.now()
    assert "Patient follow-up after the answer" in case.review_reason_labels


def test_message_on_a_taken_over_case_keeps_it_with_its_doctor(api, doctor, awaiting):
    case = case_claim(case=awaiting, doctor=doctor)
    case_take_over(case=case, doctor=doctor, version=case.version)

    response = post_message(api, case)

    assert response.status_code == 201, response.content
    assert response.json()["status"] == "taken_over"
    case.refresh_from_db()
    assert (case.status, case.claimed_by_id, case.claim_expires_at) == (CaseStatus.TAKEN_OVER, doctor.pk, None)
    assert case.messages.filter(author="patient", body=ROUTINE_FOLLOW_UP).exists()


def test_message_on_a_closed_case_is_refused_and_nothing_stored(api, doctor):
    case = CaseFactory(doctor=doctor, status=CaseStatus.CLOSED)
    before = stored_state(case)

    response = post_message(api, case)

    body = assert_json_error(response, 409)
    assert body["code"] == "case_already_decided"
    assert body["message"] == "This case is closed; start a new case for a new question."
    assert stored_state(case) == before


def test_routine_message_on_an_auto_released_case_leaves_it_released(api, auto_released):
    response = post_message(api, auto_released)

    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["status"], body["release"], body["review_reasons"]) == ("auto_released", "release", [])
    assert auto_released.messages.filter(body=ROUTINE_FOLLOW_UP).exists()


@pytest.mark.parametrize(
    ("text", "reasons"),
    [(EMERGENCY_FOLLOW_UP, ["red_flag"]), (HUMAN_FOLLOW_UP, ["patient_requested_human"])],
    ids=["red_flag", "asks_for_human"],
)
def test_red_flag_or_human_request_sends_an_auto_released_case_to_review(api, auto_released, text, reasons):
    response = post_message(api, auto_released, text)

    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["status"], body["release"], body["review_reasons"]) == ("awaiting_review", "hold", reasons)
    auto_released.refresh_from_db()
    assert (auto_released.status, auto_released.hold) == (CaseStatus.AWAITING_REVIEW, True)


# --- Triage --------------------------------------------------------------------------------


def test_emergency_message_escalates_a_routine_case_and_brings_its_due_time_forward(api, hospital, awaiting):
    due_before = awaiting.due_at
    assert awaiting.urgency == Urgency.ROUTINE

    response = post_message(api, awaiting, EMERGENCY_FOLLOW_UP)

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["urgency"] == "emergency"
    assert body["release"] == "hold"
    assert body["review_reasons"] == ["routine_sample", "red_flag"]
    assert [(f["source"], f["rule_id"], f["urgency"]) for f in body["flags"]] == [("triage", "chest_pain", "emergency")]
    awaiting.refresh_from_db()
    assert awaiting.urgency == Urgency.EMERGENCY
    assert awaiting.hold is True
    assert awaiting.due_at < due_before
    assert awaiting.due_at <= timezone.now() + hospital.sla_for("emergency")
    # Two messages before it (question and draft): the third, index 2.
    assert awaiting.flags[0]["message_index"] == 2
    assert awaiting.flags[0]["matched_text"] == "chest pain"


def test_escalation_keeps_a_due_time_that_is_already_earlier(api, awaiting):
    soon = timezone.now() + timedelta(minutes=1)
    Case.objects.filter(pk=awaiting.pk).update(due_at=soon)

    post_message(api, awaiting, EMERGENCY_FOLLOW_UP)

    awaiting.refresh_from_db()
    assert awaiting.due_at == soon


def test_negated_symptom_does_not_escalate(api, awaiting):
    response = post_message(api, awaiting, "I have no chest pain, just the headache.")

    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["urgency"], body["flags"], body["release"]) == ("routine", [], "release")
    assert body["review_reasons"] == ["routine_sample"]


def test_phone_numbers_are_scrubbed_before_storage(api, awaiting):
    response = post_message(api, awaiting, "Please call me on 138 0013 8000 tonight.")

    message = Message.objects.get(pk=response.json()["message_id"])
    assert "138" not in message.body
    assert "[phone]" in message.body


# --- Concurrency, audit, access ------------------------------------------------------------


def test_new_message_makes_a_doctors_pending_approval_a_conflict(api, doctor, awaiting):
    case = case_claim(case=awaiting, doctor=doctor)
    loaded_version = case.version

    assert post_message(api, case).status_code == 201

    with pytest.raises(CaseConflict):
        case_approve(case=case, doctor=doctor, version=loaded_version)
    assert Case.objects.get(pk=case.pk).status == CaseStatus.AWAITING_REVIEW


def test_message_is_audited_without_patient_text(api, platform, doctor):
    case = answered(doctor)

    message_id = post_message(api, case, EMERGENCY_FOLLOW_UP).json()["message_id"]

    event = AuditEvent.objects.filter(case=case, action="case.patient_message").get()
    assert event.actor_api_client_id == platform.pk
    assert event.details == {
        "message_id": message_id,
        "flags": ["chest_pain"],
        "reopened": True,
        "urgency": "emergency",
    }


def test_read_only_client_is_refused(hospital, awaiting):
    _client, token = api_client_create(hospital=hospital, name="Reader", scopes=["cases:read"])
    before = stored_state(awaiting)

    response = post_message(bearer(token), awaiting)

    assert_json_error(response, 403)
    assert stored_state(awaiting) == before


def test_another_hospitals_case_is_not_found(api, outside_doctor):
    case = CaseFactory(doctor=outside_doctor)
    before = stored_state(case)

    response = post_message(api, case)

    assert_json_error(response, 404)
    assert stored_state(case) == before


def test_unknown_case_is_not_found(api):
    assert_json_error(api.post(messages_url(999_999), {"body": "Hi", "sent_at": SENT_AT}, format="json"), 404)


@pytest.mark.parametrize(
    "payload",
    [
        {},
        {"sent_at": SENT_AT},
        {"body": "", "sent_at": SENT_AT},
        {"body": "   ", "sent_at": SENT_AT},
        {"body": "x" * 20_001, "sent_at": SENT_AT},
        {"body": "Hello"},
        {"body": "Hello", "sent_at": "yesterday"},
        {"body": "Hello", "sent_at": "1970-01-01T00:00:00Z"},
        {"body": "Hello", "sent_at": (timezone.now() + timedelta(days=1)).isoformat()},
        {"body": "Hello", "sent_at": SENT_AT, "author": "patient"},
        {"body": "Hello", "sent_at": SENT_AT, "extra": 1},
        {"body": ["Hello"], "sent_at": SENT_AT},
        ["Hello"],
    ],
)
def test_bad_bodies_are_refused_and_nothing_stored(api, awaiting, payload):
    before = stored_state(awaiting)

    response = api.post(messages_url(awaiting.pk), payload, format="json")

    body = assert_json_error(response, 400)
    assert body["code"] == "invalid"
    assert stored_state(awaiting) == before


def test_doctor_sees_the_new_message_on_the_case_page(api, client, doctor, awaiting):
    post_message(api, awaiting, "The pain moved to the back of my head.")
    client.force_login(doctor)

    response = client.get(f"/cases/{awaiting.pk}/")

    assert response.status_code == 200
    assert "The pain moved to the back of my head." in response.content.decode()
