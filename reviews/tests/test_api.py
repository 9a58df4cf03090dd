"""The integration API's contract (DESIGN §8), as the avatar platform sees it over HTTP."""

import copy
import json
import threading

import pytest
import yaml
from django.db import connection
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.services import api_client_create
from reviews.models import AuditEvent, Case, Message, Patient
from reviews.services import case_approve, case_correct, case_open

from .factories import AdminFactory, CaseFactory, DoctorFactory, DoctorProfileFactory, HospitalFactory

DOCTORS_URL = "/api/v1/doctors/"
CASES_URL = "/api/v1/cases/"
SCHEMA_URL = "/api/v1/schema/"

INGEST_RESULT_KEYS = {"id", "status", "urgency", "release", "review_reasons", "flags"}
FLAG_KEYS = {"source", "code", "urgency", "rule_id", "reason", "matched_text"}
SUMMARY_KEYS = {
    "id",
    "external_id",
    "status",
    "urgency",
    "release",
    "doctor",
    "patient",
    "question",
    "final_answer",
    "decision",
    "review_reasons",
    "flags",
    "received_at",
    "due_at",
    "updated_at",
}

ROUTINE_QUESTION = "I have had a mild headache since yesterday. What can I do at home?"
ROUTINE_DRAFT = "Rest, drink plenty of water, and see a doctor if it gets worse or you develop a fever."
EMERGENCY_QUESTION = "I have crushing chest pain and my left arm is numb"


def case_url(case_id) -> str:
    return f"{CASES_URL}{case_id}/"


def bearer(token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


def case_payload(doctor, /, **overrides) -> dict:
    """A valid ingest body for a routine question the avatar answered confidently."""
    body = {
        "external_id": "conv-1001",
        "doctor": doctor.doctor_profile.licence_number,
        "patient_ref": "platform-patient-42",
        "patient": {"birth_year": 1990, "sex": "female"},
        "messages": [
            {"author": "patient", "body": ROUTINE_QUESTION, "sent_at": "2025-03-01T09:00:00+08:00"},
            {"author": "avatar", "body": ROUTINE_DRAFT, "sent_at": "2025-03-01T09:00:05+08:00"},
        ],
        "avatar": {"confidence": 0.95, "flags": []},
    }
    body.update(overrides)
    return body


def row_counts() -> dict[str, int]:
    return {
        "cases": Case.objects.count(),
        "messages": Message.objects.count(),
        "patients": Patient.objects.count(),
        "audit_events": AuditEvent.objects.count(),
    }


def assert_json_error(response, status: int) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert isinstance(body.get("code"), str) and body["code"]
    assert isinstance(body.get("message"), str) and body["message"]
    return body


@pytest.fixture
def token(api_token) -> str:
    return api_token[1]


@pytest.fixture
def api(token) -> APIClient:
    return bearer(token)


@pytest.fixture
def other_hospital(db):
    return HospitalFactory(name="Other hospital")


@pytest.fixture
def other_api(other_hospital) -> APIClient:
    _client, other_token = api_client_create(
        hospital=other_hospital, name="Other platform", scopes=["cases:write", "cases:read"]
    )
    return bearer(other_token)


def ingest(api: APIClient, payload: dict):
    return api.post(CASES_URL, payload, format="json")


# --- GET /doctors/ ------------------------------------------------------------------------


def test_doctors_lists_only_the_clients_hospitals_active_doctors(api, hospital, doctor, other_doctor, other_hospital):
    DoctorFactory(hospital=other_hospital, full_name="Elsewhere Doctor")
    DoctorFactory(hospital=hospital, full_name="Retired Doctor", is_active=False)
    AdminFactory(hospital=hospital, full_name="Hospital Admin")

    response = api.get(DOCTORS_URL)

    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/json")
    doctors = response.json()
    assert [d["name"] for d in doctors] == ["Li Wei", "Zhang Min"]
    first = doctors[0]
    assert {"id", "name", "specialty", "licence_number"} <= set(first)
    assert first["id"] == doctor.pk
    assert first["licence_number"] == doctor.doctor_profile.licence_number
    assert first["specialty"] == doctor.doctor_profile.specialty


def test_doctors_leaves_out_an_admin_who_kept_a_doctor_profile(api, hospital, doctor):
    admin = AdminFactory(hospital=hospital, full_name="Former Doctor Now Admin")
    DoctorProfileFactory(user=admin, hospital=hospital)

    response = api.get(DOCTORS_URL)

    assert response.status_code == 200
    assert [d["id"] for d in response.json()] == [doctor.pk]


def test_doctors_licence_numbers_are_what_ingest_accepts(api, doctor):
    licence = api.get(DOCTORS_URL).json()[0]["licence_number"]

    response = ingest(api, case_payload(doctor, doctor=licence))

    assert response.status_code == 201


# --- POST /cases/ -------------------------------------------------------------------------


def test_ingest_routine_confident_case_is_auto_released(api, doctor):
    before = row_counts()

    response = ingest(api, case_payload(doctor))

    assert response.status_code == 201, response.content
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert set(body) == INGEST_RESULT_KEYS
    assert body["status"] == "auto_released"
    assert body["urgency"] == "routine"
    assert body["release"] == "release"
    assert body["review_reasons"] == []
    assert body["flags"] == []
    case = Case.objects.get(pk=body["id"])
    assert case.doctor == doctor
    assert case.external_id == "conv-1001"
    assert row_counts() == before | {
        "cases": before["cases"] + 1,
        "messages": before["messages"] + 2,
        "patients": before["patients"] + 1,
        "audit_events": before["audit_events"] + 1,
    }
    assert list(case.messages.values_list("author", "body")) == [
        ("patient", ROUTINE_QUESTION),
        ("avatar", ROUTINE_DRAFT),
    ]


def test_ingest_keeps_no_patient_reference_only_a_pseudonym(api, doctor):
    body = ingest(api, case_payload(doctor, patient_ref="wechat-openid-oXyz123")).json()

    patient = Case.objects.get(pk=body["id"]).patient
    assert patient.pseudonym.startswith("P-")
    assert "oXyz123" not in patient.ref_hash
    assert patient.birth_year == 1990
    assert patient.sex == "female"


def test_ingest_without_optional_patient_and_avatar(api, doctor):
    payload = case_payload(doctor)
    del payload["patient"], payload["avatar"]

    response = ingest(api, payload)

    assert response.status_code == 201, response.content
    assert Case.objects.get(pk=response.json()["id"]).patient.sex == "unknown"


def test_ingest_emergency_message_is_held_with_a_triage_flag(api, doctor):
    payload = case_payload(
        doctor,
        messages=[
            {"author": "patient", "body": EMERGENCY_QUESTION, "sent_at": "2025-03-01T09:00:00+08:00"},
            {"author": "avatar", "body": "Please rest for a while.", "sent_at": "2025-03-01T09:00:05+08:00"},
        ],
    )

    response = ingest(api, payload)

    assert response.status_code == 201, response.content
    body = response.json()
    assert set(body) == INGEST_RESULT_KEYS
    assert body["urgency"] == "emergency"
    assert body["release"] == "hold"
    assert body["status"] == "awaiting_review"
    assert "red_flag" in body["review_reasons"]
    triage = [f for f in body["flags"] if f["source"] == "triage"]
    assert triage, body["flags"]
    for flag in body["flags"]:
        assert set(flag) == FLAG_KEYS
    emergency = [f for f in triage if f["urgency"] == "emergency"]
    assert emergency
    assert all(f["matched_text"] and f["matched_text"] in EMERGENCY_QUESTION for f in emergency)
    assert all(f["rule_id"] for f in emergency)


def test_ingest_chinese_emergency_is_held(api, doctor):
    payload = case_payload(
        doctor,
        messages=[
            {"author": "patient", "body": "我胸口痛得厉害，左手臂发麻", "sent_at": "2025-03-01T09:00:00+08:00"},
            {"author": "avatar", "body": "请先休息一下。", "sent_at": "2025-03-01T09:00:05+08:00"},
        ],
    )

    body = ingest(api, payload).json()

    assert body["urgency"] == "emergency"
    assert body["release"] == "hold"
    assert any(f["source"] == "triage" and f["matched_text"] for f in body["flags"])


def test_ingest_low_confidence_is_held(api, doctor):
    body = ingest(api, case_payload(doctor, avatar={"confidence": 0.2, "flags": []})).json()

    assert body["status"] == "awaiting_review"
    assert body["release"] == "hold"
    assert "low_confidence" in body["review_reasons"]


def test_ingest_avatar_flag_is_held_and_reported_back(api, doctor):
    avatar = {"confidence": 0.9, "flags": [{"code": "medication_question", "reason": "asks about dosing"}]}

    body = ingest(api, case_payload(doctor, avatar=avatar)).json()

    assert body["release"] == "hold"
    assert "avatar_flag" in body["review_reasons"]
    assert [(f["source"], f["code"], f["reason"]) for f in body["flags"]] == [
        ("avatar", "medication_question", "asks about dosing")
    ]
    assert set(body["flags"][0]) == FLAG_KEYS


def test_ingest_draft_with_a_dose_is_held(api, doctor):
    payload = case_payload(doctor)
    payload["messages"][1]["body"] = "Take ibuprofen 400 mg three times a day after meals."

    body = ingest(api, payload).json()

    assert body["release"] == "hold"
    assert "draft_prescription" in body["review_reasons"]


def test_ingest_repeat_answers_200_with_the_same_case(api, doctor):
    first = ingest(api, case_payload(doctor))
    after_first = row_counts()

    again = ingest(api, case_payload(doctor))

    assert first.status_code == 201
    assert again.status_code == 200
    assert again.json() == first.json()
    assert row_counts() == after_first


def test_ingest_repeat_with_different_content_still_returns_the_first_case(api, doctor):
    first = ingest(api, case_payload(doctor)).json()
    after_first = row_counts()
    changed = case_payload(
        doctor,
        messages=[{"author": "patient", "body": EMERGENCY_QUESTION, "sent_at": "2025-03-01T10:00:00+08:00"}],
    )

    again = ingest(api, changed)

    assert again.status_code == 200
    assert again.json() == first
    assert row_counts() == after_first


def test_external_ids_are_per_hospital(api, other_api, doctor, other_hospital):
    other_doctor = DoctorFactory(hospital=other_hospital)

    mine = ingest(api, case_payload(doctor))
    theirs = ingest(other_api, case_payload(other_doctor))

    assert mine.status_code == theirs.status_code == 201
    assert mine.json()["id"] != theirs.json()["id"]


def test_ingest_scrubs_identifiers_before_storage(api, doctor):
    question = (
        "My chest feels fine but I have a rash. Call me on 138 0013 8000 or +44 20 7946 0958, "
        "mail li.wei@example.com, my ID is 110101199003074518."
    )
    payload = case_payload(doctor)
    payload["messages"][0]["body"] = question
    payload["messages"][1]["body"] = "We will reply to li.wei@example.com soon. Keep the rash clean and dry."

    body = ingest(api, payload).json()
    case_id = body["id"]

    stored = " ".join(Message.objects.filter(case_id=case_id).values_list("body", flat=True))
    case = Case.objects.get(pk=case_id)
    for raw in ("138 0013 8000", "7946 0958", "li.wei@example.com", "110101199003074518"):
        assert raw not in stored
        assert raw not in case.question_preview
        assert raw not in json.dumps(list(AuditEvent.objects.filter(case_id=case_id).values("details")))
    assert "[phone]" in stored and "[email]" in stored and "[id-number]" in stored

    summary = api.get(case_url(case_id)).json()
    assert "[phone]" in summary["question"]
    assert "[email]" in summary["question"]
    assert "[id-number]" in summary["question"]
    assert "138 0013 8000" not in summary["question"]


ODD_BODIES = [
    pytest.param("我怀孕二十周了，这两天有点头晕，需要去医院吗？", id="chinese"),
    pytest.param("Feeling a bit off today 🤒🤧 is that normal? 👩🏽‍⚕️ 🏳️‍🌈", id="emoji-zwj"),
    pytest.param("Ça fait mal quand j'appuie ici — est-ce grave ? Z̴̛a̸l̶g̵o̷", id="combining-marks"),
    pytest.param("שלום، أشعر بصداع خفيف \u200f\u202e reversed \u202c", id="rtl-and-bidi-controls"),
    pytest.param("zero\u200bwidth\ufeffand\u00a0nbsp and 𝕞𝕒𝕥𝕙 and 𠀀𪚥", id="invisibles-and-astral"),
    pytest.param("headache " * 2000, id="long-but-allowed"),
]


@pytest.mark.parametrize("question", ODD_BODIES)
def test_ingest_accepts_any_unicode_text(api, doctor, question):
    payload = case_payload(doctor)
    payload["messages"][0]["body"] = question

    response = ingest(api, payload)

    assert response.status_code == 201, response.content
    case_id = response.json()["id"]
    assert Message.objects.get(case_id=case_id, author="patient").body == question.strip()
    assert api.get(case_url(case_id)).json()["question"] == question.strip()


def test_ingest_accepts_a_body_of_exactly_the_limit(api, doctor):
    payload = case_payload(doctor)
    payload["messages"][0]["body"] = "a" * 20_000

    assert ingest(api, payload).status_code == 201


# --- Bad input: always a 4xx JSON error, never a 500, never a half-written row ----------------


def _set(path: str, value):
    """A change to the valid payload: set the value at a dotted path ("messages.0.body")."""

    def change(payload):
        *parents, last = path.split(".")
        target = payload
        for key in parents:
            target = target[int(key)] if isinstance(target, list) else target[key]
        if isinstance(target, list):
            target[int(last)] = value
        else:
            target[last] = value

    return change


def _drop(path: str):
    def change(payload):
        *parents, last = path.split(".")
        target = payload
        for key in parents:
            target = target[int(key)] if isinstance(target, list) else target[key]
        del target[int(last) if isinstance(target, list) else last]

    return change


BAD_PAYLOADS = [
    # Required fields.
    pytest.param(_drop("external_id"), "external_id", id="missing-external_id"),
    pytest.param(_drop("doctor"), "doctor", id="missing-doctor"),
    pytest.param(_drop("patient_ref"), "patient_ref", id="missing-patient_ref"),
    pytest.param(_drop("messages"), "messages", id="missing-messages"),
    pytest.param(_drop("messages.0.author"), "messages", id="missing-message-author"),
    pytest.param(_drop("messages.0.body"), "messages", id="missing-message-body"),
    pytest.param(_drop("messages.0.sent_at"), "messages", id="missing-message-sent_at"),
    # Null where a value is needed.
    pytest.param(_set("external_id", None), "external_id", id="null-external_id"),
    pytest.param(_set("doctor", None), "doctor", id="null-doctor"),
    pytest.param(_set("patient_ref", None), "patient_ref", id="null-patient_ref"),
    pytest.param(_set("messages", None), "messages", id="null-messages"),
    pytest.param(_set("messages.0", None), "messages", id="null-message"),
    pytest.param(_set("messages.0.body", None), "messages", id="null-body"),
    pytest.param(_set("messages.0.sent_at", None), "messages", id="null-sent_at"),
    pytest.param(_set("patient", None), "patient", id="null-patient"),
    pytest.param(_set("avatar", None), "avatar", id="null-avatar"),
    pytest.param(_set("avatar.flags", None), "avatar", id="null-flags"),
    # Blank and oversized strings.
    pytest.param(_set("external_id", ""), "external_id", id="empty-external_id"),
    pytest.param(_set("external_id", "   "), "external_id", id="blank-external_id"),
    pytest.param(_set("external_id", "x" * 101), "external_id", id="external_id-over-100"),
    pytest.param(_set("doctor", ""), "doctor", id="empty-doctor"),
    pytest.param(_set("patient_ref", ""), "patient_ref", id="empty-patient_ref"),
    pytest.param(_set("external_id", "conv\x00101"), "external_id", id="nul-in-external_id"),
    # Messages.
    pytest.param(_set("messages", []), "messages", id="empty-messages"),
    pytest.param(_set("messages", {}), "messages", id="messages-object"),
    pytest.param(_set("messages", "hello"), "messages", id="messages-string"),
    pytest.param(_set("messages.0", "hello"), "messages", id="message-string"),
    pytest.param(_set("messages.0.author", "avatar"), "messages", id="no-patient-message"),
    pytest.param(_set("messages.0.author", "doctor"), "messages", id="author-doctor"),
    pytest.param(_set("messages.0.author", "Patient"), "messages", id="author-wrong-case"),
    pytest.param(_set("messages.0.author", ["patient"]), "messages", id="author-list"),
    pytest.param(_set("messages.0.body", ""), "messages", id="body-empty"),
    pytest.param(_set("messages.0.body", " \n\t "), "messages", id="body-whitespace"),
    pytest.param(_set("messages.0.body", "a" * 20_001), "messages", id="body-over-20000"),
    pytest.param(_set("messages.0.body", {"text": "hi"}), "messages", id="body-object"),
    pytest.param(_set("messages.0.body", "chest\x00pain"), "messages", id="body-nul-char"),
    pytest.param(_set("messages.0.sent_at", "yesterday"), "messages", id="sent_at-not-a-date"),
    pytest.param(_set("messages.0.sent_at", "2025-02-30T09:00:00+08:00"), "messages", id="sent_at-feb-30"),
    pytest.param(_set("messages.0.sent_at", 1740790800), "messages", id="sent_at-epoch-number"),
    pytest.param(_set("messages.0.sent_at", "0001-01-01T00:00:00+08:00"), "messages", id="sent_at-year-1"),
    pytest.param(_set("messages.0.sent_at", "0001-01-01T00:00:00"), "messages", id="sent_at-year-1-naive"),
    pytest.param(_set("messages.0.sent_at", "0001-01-01T08:00:00+09:00"), "messages", id="sent_at-before-utc-year-1"),
    pytest.param(_set("messages.0.sent_at", "9999-12-31T23:59:59-12:00"), "messages", id="sent_at-year-9999"),
    pytest.param(_set("messages.0.sent_at", "1970-01-21T03:00:00Z"), "messages", id="sent_at-epoch-seconds-as-ms"),
    pytest.param(_set("messages.0.sent_at", "2999-03-01T09:00:00Z"), "messages", id="sent_at-in-the-future"),
    pytest.param(
        _set("messages", [{"author": "patient", "body": "hi", "sent_at": "2025-03-01T09:00:00Z"}] * 201),
        "messages",
        id="too-many-messages",
    ),
    # Avatar.
    pytest.param(_set("avatar.confidence", -0.1), "avatar", id="confidence-negative"),
    pytest.param(_set("avatar.confidence", 1.5), "avatar", id="confidence-over-1"),
    pytest.param(_set("avatar.confidence", "high"), "avatar", id="confidence-word"),
    pytest.param(_set("avatar.confidence", "NaN"), "avatar", id="confidence-nan-string"),
    pytest.param(_set("avatar.confidence", [0.5]), "avatar", id="confidence-list"),
    pytest.param(_set("avatar.flags", "urgent"), "avatar", id="flags-string"),
    pytest.param(_set("avatar.flags", {"code": "urgent"}), "avatar", id="flags-object"),
    pytest.param(_set("avatar.flags", [{"reason": "no code"}]), "avatar", id="flag-without-code"),
    pytest.param(_set("avatar.flags", [{"code": ""}]), "avatar", id="flag-empty-code"),
    pytest.param(_set("avatar.flags", [{"code": None}]), "avatar", id="flag-null-code"),
    pytest.param(_set("avatar.flags", ["urgent"]), "avatar", id="flag-string"),
    pytest.param(_set("avatar.flags", [{"code": "urgent", "severity": 3}]), "avatar", id="flag-unknown-field"),
    pytest.param(_set("avatar.flags", [{"code": "x" * 61}]), "avatar", id="flag-code-over-60"),
    # Patient.
    pytest.param(_set("patient.birth_year", 1800), "patient", id="birth_year-1800"),
    pytest.param(_set("patient.birth_year", 3000), "patient", id="birth_year-future"),
    pytest.param(_set("patient.birth_year", "abc"), "patient", id="birth_year-word"),
    pytest.param(_set("patient.birth_year", 1990.5), "patient", id="birth_year-fraction"),
    pytest.param(_set("patient.birth_year", 10**30), "patient", id="birth_year-huge"),
    pytest.param(_set("patient.sex", "x"), "patient", id="sex-x"),
    pytest.param(_set("patient.sex", 1), "patient", id="sex-number"),
    # Nested wrong types.
    pytest.param(_set("patient", "x"), "patient", id="patient-string"),
    pytest.param(_set("patient", []), "patient", id="patient-list"),
    pytest.param(_set("avatar", []), "avatar", id="avatar-list"),
    pytest.param(_set("avatar", 0.9), "avatar", id="avatar-number"),
    pytest.param(_set("external_id", {"id": 1}), "external_id", id="external_id-object"),
    pytest.param(_set("doctor", ["LIC1"]), "doctor", id="doctor-list"),
    # Unknown fields: a typo is an error, not silently ignored.
    pytest.param(_set("mesages", []), "mesages", id="unknown-top-level-field"),
    pytest.param(_set("patient.birthyear", 1990), "patient", id="unknown-patient-field"),
    pytest.param(_set("messages.0.text", "hi"), "messages", id="unknown-message-field"),
    pytest.param(_set("avatar.confidense", 0.5), "avatar", id="unknown-avatar-field"),
]


@pytest.mark.parametrize(("change", "field"), BAD_PAYLOADS)
def test_bad_input_is_a_400_naming_the_field_and_writes_nothing(api, doctor, change, field):
    payload = copy.deepcopy(case_payload(doctor))
    change(payload)
    before = row_counts()

    response = ingest(api, payload)

    body = assert_json_error(response, 400)
    assert isinstance(body.get("errors"), dict)
    assert field in body["errors"], body
    assert row_counts() == before


def test_validation_errors_point_at_the_nested_field(api, doctor):
    payload = case_payload(doctor)
    payload["messages"][1]["sent_at"] = "not a date"
    payload["avatar"]["confidence"] = 1.5

    body = assert_json_error(ingest(api, payload), 400)

    assert body["code"] == "invalid"
    assert "sent_at" in body["errors"]["messages"]["1"]
    assert "confidence" in body["errors"]["avatar"]


def test_unknown_field_error_names_the_typo(api, doctor):
    payload = case_payload(doctor)
    payload["mesages"] = payload.pop("messages")

    body = assert_json_error(ingest(api, payload), 400)

    assert "mesages" in body["errors"]
    assert "mesages" in body["message"]


def test_unknown_doctor_licence_is_a_400_pointing_at_the_doctors_list(api, doctor):
    before = row_counts()

    body = assert_json_error(ingest(api, case_payload(doctor, doctor="NO-SUCH-LICENCE")), 400)

    assert "GET /api/v1/doctors/" in body["message"]
    assert "doctor" in body["errors"]
    assert row_counts() == before


def test_doctor_licence_of_another_hospital_is_a_400(api, doctor, other_hospital):
    stranger = DoctorFactory(hospital=other_hospital)
    before = row_counts()

    body = assert_json_error(ingest(api, case_payload(doctor, doctor=stranger.doctor_profile.licence_number)), 400)

    assert "GET /api/v1/doctors/" in body["message"]
    assert "doctor" in body["errors"]
    assert row_counts() == before


def test_inactive_doctors_licence_is_a_400(api, doctor, hospital):
    retired = DoctorFactory(hospital=hospital, is_active=False)
    before = row_counts()

    assert_json_error(ingest(api, case_payload(doctor, doctor=retired.doctor_profile.licence_number)), 400)

    assert row_counts() == before


DEEP = 100_000

BAD_BODIES = [
    pytest.param(b'{"external_id": "conv-1", ', "application/json", 400, id="truncated-json"),
    pytest.param(b"{'external_id': 'conv-1'}", "application/json", 400, id="single-quoted-json"),
    pytest.param(b'{"external_id": "conv-1",}', "application/json", 400, id="trailing-comma"),
    pytest.param(b"", "application/json", 400, id="empty-body"),
    pytest.param(b"null", "application/json", 400, id="json-null"),
    pytest.param(b"[]", "application/json", 400, id="empty-array"),
    pytest.param(b'[{"external_id": "conv-1"}]', "application/json", 400, id="array-of-objects"),
    pytest.param(b'"a case"', "application/json", 400, id="json-string"),
    pytest.param(b"42", "application/json", 400, id="json-number"),
    pytest.param(b'{"avatar": {"confidence": NaN}}', "application/json", 400, id="nan-literal"),
    pytest.param(b'{"external_id": "\xff\xfe"}', "application/json", 400, id="invalid-utf8"),
    pytest.param(b'{"external_id": "\\ud800"}', "application/json", 400, id="lone-surrogate-value"),
    pytest.param(b'{"\\udfff": 1}', "application/json", 400, id="lone-surrogate-key"),
    pytest.param(b"[" * DEEP + b"]" * DEEP, "application/json", 400, id="deeply-nested-arrays"),
    pytest.param(b'{"a":' * DEEP + b"1" + b"}" * DEEP, "application/json", 400, id="deeply-nested-objects"),
    pytest.param(b"external_id=conv-1&doctor=LIC1", "application/x-www-form-urlencoded", 415, id="form-encoded"),
    pytest.param(b"--b\r\n\r\n--b--\r\n", "multipart/form-data; boundary=b", 415, id="multipart"),
    pytest.param(b'{"external_id": "conv-1"}', "text/plain", 415, id="text-plain"),
    pytest.param(b"<case/>", "application/xml", 415, id="xml"),
]


@pytest.mark.parametrize(("raw", "content_type", "status"), BAD_BODIES)
def test_unparseable_body_is_a_4xx_json_error_and_writes_nothing(api, doctor, raw, content_type, status):
    before = row_counts()

    response = api.generic("POST", CASES_URL, raw, content_type=content_type)

    assert_json_error(response, status)
    assert row_counts() == before


@pytest.mark.parametrize(
    ("valid", "invalid"),
    [
        pytest.param("mild headache", "mild headache \\ud83d", id="lone-surrogate-in-body"),
        pytest.param('"author": "patient"', '"author": "\\udc00"', id="lone-surrogate-in-choice"),
        pytest.param('"sex": "female"', '"sex": "\\ud800\\ud800"', id="two-high-surrogates"),
        pytest.param('"confidence": 0.95', '"confidence": 1e400', id="confidence-overflows-to-infinity"),
        pytest.param('"confidence": 0.95', '"confidence": -1e400', id="confidence-overflows-to-minus-infinity"),
        pytest.param('"birth_year": 1990', '"birth_year": 1' + "0" * 5000, id="birth_year-5000-digits"),
    ],
)
def test_bad_values_in_an_otherwise_valid_body_are_a_400(api, doctor, valid, invalid):
    raw = json.dumps(case_payload(doctor))
    assert valid in raw
    before = row_counts()

    response = api.generic("POST", CASES_URL, raw.replace(valid, invalid, 1).encode(), content_type="application/json")

    assert_json_error(response, 400)
    assert row_counts() == before


def test_paired_surrogate_escapes_are_just_emoji(api, doctor):
    raw = json.dumps(case_payload(doctor)).replace("mild headache", "mild headache \\ud83e\\udd15")

    response = api.generic("POST", CASES_URL, raw.encode(), content_type="application/json")

    assert response.status_code == 201, response.content
    assert "🤕" in Message.objects.get(case_id=response.json()["id"], author="patient").body


@pytest.mark.parametrize("zone", ["UTC", "America/Los_Angeles", "Pacific/Kiritimati"])
@pytest.mark.parametrize(
    "sent_at", ["0001-01-01T00:00:00", "0001-01-01T08:00:00+09:00", "9999-12-31T23:59:59", "9999-12-31T20:00:00-05:00"]
)
def test_sent_at_the_database_cannot_store_is_a_400_in_any_server_zone(api, doctor, settings, zone, sent_at):
    settings.TIME_ZONE = zone
    payload = case_payload(doctor)
    payload["messages"][0]["sent_at"] = sent_at
    before = row_counts()

    response = ingest(api, payload)

    assert response.status_code in (201, 400), response.content
    if response.status_code == 400:
        assert "sent_at" in response.json()["errors"]["messages"]["0"]
        assert row_counts() == before


def test_json_body_with_charset_is_accepted(api, doctor):
    raw = json.dumps(case_payload(doctor), ensure_ascii=False).encode()

    response = api.generic("POST", CASES_URL, raw, content_type="application/json; charset=utf-8")

    assert response.status_code == 201, response.content


def test_unsupported_method_is_a_json_405(api):
    assert_json_error(api.delete(DOCTORS_URL), 405)
    assert_json_error(api.put(CASES_URL, {}, format="json"), 405)


# --- GET /cases/{id}/ ---------------------------------------------------------------------


def _held_case(api, doctor, **overrides) -> Case:
    response = ingest(api, case_payload(doctor, avatar={"confidence": 0.2, "flags": []}, **overrides))
    assert response.status_code == 201, response.content
    return Case.objects.get(pk=response.json()["id"])


def test_case_summary_before_any_decision(api, doctor):
    case = _held_case(api, doctor)

    response = api.get(case_url(case.pk))

    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert set(body) == SUMMARY_KEYS
    assert body["id"] == case.pk
    assert body["external_id"] == "conv-1001"
    assert body["status"] == "awaiting_review"
    assert body["urgency"] == "routine"
    assert body["release"] == "hold"
    assert body["doctor"] == doctor.pk
    assert body["patient"] == case.patient.pseudonym
    assert body["question"] == ROUTINE_QUESTION
    assert body["final_answer"] is None
    assert body["decision"] is None
    assert body["review_reasons"] == ["low_confidence"]
    assert body["flags"] == []
    for stamp in ("received_at", "due_at", "updated_at"):
        assert timezone.datetime.fromisoformat(body[stamp])
    assert "platform-patient-42" not in response.content.decode()


def test_case_summary_after_approve_gives_the_draft_as_final_answer(api, doctor):
    case = _held_case(api, doctor)
    case = case_open(case=case, doctor=doctor)
    case_approve(case=case, doctor=doctor, version=case.version)

    body = api.get(case_url(case.pk)).json()

    assert body["status"] == "approved"
    assert body["release"] == "release"
    assert body["final_answer"] == ROUTINE_DRAFT
    assert body["decision"]["action"] == "approve"
    assert body["decision"]["doctor"] == doctor.pk
    assert body["decision"]["correction_category"] == ""
    assert timezone.datetime.fromisoformat(body["decision"]["decided_at"])


def test_case_summary_after_correct_gives_the_corrected_text(api, doctor):
    case = _held_case(api, doctor)
    case = case_open(case=case, doctor=doctor)
    corrected = "Rest and drink water. If the headache is sudden and severe, go to the emergency department now."
    case_correct(case=case, doctor=doctor, version=case.version, final_text=corrected, category="incomplete")

    body = api.get(case_url(case.pk)).json()

    assert body["status"] == "corrected"
    assert body["release"] == "release"
    assert body["final_answer"] == corrected
    assert body["decision"]["action"] == "correct"
    assert body["decision"]["correction_category"] == "incomplete"


def test_case_summary_of_an_emergency_has_its_flags(api, doctor):
    payload = case_payload(doctor)
    payload["messages"][0]["body"] = EMERGENCY_QUESTION
    case_id = ingest(api, payload).json()["id"]

    body = api.get(case_url(case_id)).json()

    assert body["urgency"] == "emergency"
    assert body["question"] == EMERGENCY_QUESTION
    assert any(f["source"] == "triage" and f["matched_text"] in EMERGENCY_QUESTION for f in body["flags"])


def test_case_of_another_hospital_is_a_404(api, other_hospital):
    theirs = CaseFactory(doctor=DoctorFactory(hospital=other_hospital))

    body = assert_json_error(api.get(case_url(theirs.pk)), 404)

    assert body["code"] == "not_found"
    assert theirs.external_id not in json.dumps(body)


@pytest.mark.parametrize("case_id", [999_999, 0, 2**62])
def test_unknown_case_is_a_404(api, case_id):
    assert assert_json_error(api.get(case_url(case_id)), 404)["code"] == "not_found"


# --- Authentication and scopes ------------------------------------------------------------

ENDPOINTS = [
    pytest.param("get", DOCTORS_URL, id="doctors"),
    pytest.param("post", CASES_URL, id="ingest"),
    pytest.param("get", case_url(1), id="case-detail"),
]


def _call(client: APIClient, method: str, url: str, payload: dict | None = None):
    if method == "post":
        return client.post(url, payload or {}, format="json")
    return client.get(url)


@pytest.mark.parametrize(("method", "url"), ENDPOINTS)
def test_no_authorization_header_is_a_401(db, method, url):
    body = assert_json_error(_call(APIClient(), method, url), 401)

    assert body["code"] == "not_authenticated"
    assert "Bearer" in body["message"]


def test_401_carries_www_authenticate(db):
    response = APIClient().get(DOCTORS_URL)

    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize(
    "header",
    [
        pytest.param("Token {token}", id="token-scheme"),
        pytest.param("Basic dXNlcjpwYXNz", id="basic-scheme"),
        pytest.param("Bearer", id="bearer-without-token"),
        pytest.param("Bearer    ", id="bearer-blank-token"),
        pytest.param("Bearer prt_not-a-real-token", id="unknown-token"),
        pytest.param("Bearer {token}x", id="token-with-extra-char"),
        pytest.param("{token}", id="token-without-scheme"),
        # A server hands the header over as latin-1, whatever bytes the client sent.
        pytest.param("Bearer ключ-🔑".encode().decode("latin-1"), id="non-ascii-token"),
    ],
)
@pytest.mark.parametrize(("method", "url"), ENDPOINTS)
def test_bad_credentials_are_a_401(token, doctor, header, method, url):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=header.format(token=token))
    before = row_counts()

    body = assert_json_error(_call(client, method, url, case_payload(doctor)), 401)

    assert body["code"] in {"authentication_failed", "not_authenticated"}
    assert row_counts() == before


def test_scheme_is_case_insensitive(token, doctor):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"bearer {token}")

    assert client.get(DOCTORS_URL).status_code == 200


@pytest.mark.parametrize(("method", "url"), ENDPOINTS)
def test_revoked_client_is_a_401(api_token, doctor, method, url):
    api_client, token = api_token
    api_client.revoked_at = timezone.now()
    api_client.save(update_fields=["revoked_at"])
    before = row_counts()

    body = assert_json_error(_call(bearer(token), method, url, case_payload(doctor)), 401)

    assert body["code"] == "authentication_failed"
    assert row_counts() == before


@pytest.mark.parametrize(("method", "url"), ENDPOINTS)
def test_logged_in_browser_session_is_not_enough(doctor, method, url):
    client = APIClient()
    client.force_login(doctor)

    assert_json_error(_call(client, method, url, case_payload(doctor)), 401)


def test_read_only_client_cannot_ingest(hospital, doctor):
    _client, token = api_client_create(hospital=hospital, name="Reporting", scopes=["cases:read"])
    before = row_counts()

    body = assert_json_error(ingest(bearer(token), case_payload(doctor)), 403)

    assert body["code"] == "permission_denied"
    assert "cases:write" in body["message"]
    assert row_counts() == before


def test_write_only_client_cannot_read_a_case(api, hospital, doctor):
    case_id = ingest(api, case_payload(doctor)).json()["id"]
    _client, token = api_client_create(hospital=hospital, name="Ingest only", scopes=["cases:write"])

    body = assert_json_error(bearer(token).get(case_url(case_id)), 403)

    assert body["code"] == "permission_denied"
    assert "cases:read" in body["message"]


def test_write_only_client_can_ingest_and_list_doctors(hospital, doctor):
    _client, token = api_client_create(hospital=hospital, name="Ingest only", scopes=["cases:write"])
    client = bearer(token)

    assert client.get(DOCTORS_URL).status_code == 200
    assert ingest(client, case_payload(doctor)).status_code == 201


def test_client_with_unrelated_scopes_gets_403(hospital, doctor):
    _client, token = api_client_create(hospital=hospital, name="Scheduler", scopes=["appointments:write"])
    client = bearer(token)

    assert_json_error(client.get(DOCTORS_URL), 403)
    assert_json_error(ingest(client, case_payload(doctor)), 403)


# --- Idempotency under concurrency (PostgreSQL) ----------------------------------------------


@pytest.mark.skipif(connection.vendor != "postgresql", reason="concurrent transactions need PostgreSQL")
@pytest.mark.django_db(transaction=True)
def test_concurrent_repeats_of_one_external_id_make_one_case(token, doctor):
    threads_count = 20
    payload = case_payload(doctor, external_id="conv-race")
    barrier = threading.Barrier(threads_count)
    results: list = [None] * threads_count

    def post(index: int) -> None:
        try:
            client = bearer(token)
            barrier.wait(timeout=30)
            response = ingest(client, payload)
            results[index] = (response.status_code, response.json())
        except Exception as error:  # reported through results, as the assertion below shows
            results[index] = ("error", repr(error))
        finally:
            connection.close()

    threads = [threading.Thread(target=post, args=(i,)) for i in range(threads_count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert all(result is not None and result[0] in (200, 201) for result in results), results
    assert [status for status, _ in results].count(201) == 1
    assert len({body["id"] for _, body in results}) == 1
    assert Case.objects.filter(external_id="conv-race").count() == 1
    case = Case.objects.get(external_id="conv-race")
    assert case.messages.count() == 2
    assert Patient.objects.count() == 1
    assert AuditEvent.objects.filter(action="case.ingested").count() == 1


# --- OpenAPI schema -----------------------------------------------------------------------

API_PATHS = {"/api/v1/doctors/", "/api/v1/cases/", "/api/v1/cases/{case_id}/"}


def test_schema_is_openapi_3_yaml_without_a_token(db):
    response = APIClient().get(SCHEMA_URL)

    assert response.status_code == 200
    assert "yaml" in response["Content-Type"] or "openapi" in response["Content-Type"]
    schema = yaml.safe_load(response.content)
    assert str(schema["openapi"]).startswith("3.")
    assert API_PATHS <= set(schema["paths"])
    assert "post" in schema["paths"]["/api/v1/cases/"]


def test_schema_as_json(db):
    response = APIClient().get(SCHEMA_URL, {"format": "json"})

    assert response.status_code == 200
    assert "json" in response["Content-Type"]
    schema = json.loads(response.content)
    assert schema["openapi"].startswith("3.")
    assert API_PATHS <= set(schema["paths"])


def test_schema_ignores_a_bad_token(db):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Bearer not-a-token")

    assert client.get(SCHEMA_URL).status_code == 200


def test_unknown_api_path_is_a_json_404(api):
    response = api.get("/api/v1/casez/")

    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_ingest_refuses_the_licence_of_an_admin_who_kept_a_doctor_profile(api, hospital, doctor):
    admin = AdminFactory(hospital=hospital)
    DoctorProfileFactory(user=admin, hospital=hospital)
    before = row_counts()

    body = assert_json_error(ingest(api, case_payload(doctor, doctor=admin.doctor_profile.licence_number)), 400)

    assert "doctor" in body["errors"]
    assert row_counts() == before
