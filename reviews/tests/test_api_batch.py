"""POST /api/v1/cases/batch/ (issue #4): each case stored or refused on its own, as single ingest would."""

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.services import api_client_create
from reviews import services
from reviews.models import AuditEvent, Case, Message, Patient
from reviews.services import CaseIngestData, IngestMessage, case_ingest

from .factories import DoctorFactory, HospitalFactory
from .test_api import (
    EMERGENCY_QUESTION,
    INGEST_RESULT_KEYS,
    assert_json_error,
    bearer,
    case_payload,
    ingest,
    row_counts,
)

BATCH_URL = "/api/v1/cases/batch/"


@pytest.fixture
def api(api_token) -> APIClient:
    return bearer(api_token[1])


@pytest.fixture
def other_hospital(db):
    return HospitalFactory(name="Other hospital")


@pytest.fixture
def other_api(other_hospital) -> APIClient:
    _client, token = api_client_create(hospital=other_hospital, name="Other platform", scopes=["cases:write"])
    return bearer(token)


def ingest_batch(api: APIClient, cases) -> object:
    return api.post(BATCH_URL, {"cases": cases}, format="json")


def payloads(doctor, count: int, prefix: str = "conv") -> list[dict]:
    return [case_payload(doctor, external_id=f"{prefix}-{i}", patient_ref=f"patient-{i}") for i in range(count)]


def emergency_payload(doctor, external_id: str) -> dict:
    payload = case_payload(doctor, external_id=external_id)
    payload["messages"][0]["body"] = f"{EMERGENCY_QUESTION}. Call me on 138 0013 8000 or mail li.wei@example.com."
    return payload


def test_batch_stores_valid_cases_and_reports_each_invalid_one(api, doctor):
    no_messages = case_payload(doctor, external_id="no-messages")
    del no_messages["messages"]
    bad_author = case_payload(doctor, external_id="bad-author")
    bad_author["messages"][0]["author"] = "nurse"
    typo = case_payload(doctor, external_id="typo", patinet_ref="x")
    cases = [
        case_payload(doctor, external_id="good-1"),
        no_messages,
        bad_author,
        "not a case",
        typo,
        emergency_payload(doctor, "good-2"),
        case_payload(doctor, external_id=""),
    ]
    before = row_counts()

    response = ingest_batch(api, cases)

    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["created"], body["existing"], body["failed"]) == (2, 0, 5)
    results = body["results"]
    assert [r["index"] for r in results] == list(range(7))
    assert [r["status_code"] for r in results] == [201, 400, 400, 400, 400, 201, 400]
    assert set(results[0]) == INGEST_RESULT_KEYS | {"index", "external_id", "status_code"}
    assert results[0]["external_id"] == "good-1"
    assert results[5]["urgency"] == "emergency" and results[5]["release"] == "hold"
    for failed in (results[1], results[2], results[4], results[6]):
        assert failed["code"] == "invalid" and failed["message"]
    assert set(results[1]["errors"]) == {"messages"}
    assert set(results[2]["errors"]) == {"messages"}
    assert set(results[4]["errors"]) == {"patinet_ref"}
    assert set(results[6]["errors"]) == {"external_id"}
    assert results[3]["errors"] == {"non_field_errors": [results[3]["message"]]}
    assert "external_id" not in results[3]
    assert results[1]["external_id"] == "no-messages"

    stored = Case.objects.filter(pk__in=[results[0]["id"], results[5]["id"]])
    assert sorted(stored.values_list("external_id", flat=True)) == ["good-1", "good-2"]
    assert row_counts() == before | {
        "cases": before["cases"] + 2,
        "messages": before["messages"] + 4,
        "patients": before["patients"] + 1,  # both valid cases are platform-patient-42
        "audit_events": before["audit_events"] + 2,
    }
    event = AuditEvent.objects.get(case_id=results[0]["id"])
    assert (event.action, event.actor_type) == ("case.ingested", "api_client")


def test_repeating_the_whole_batch_creates_nothing_new(api, doctor):
    cases = payloads(doctor, 5)
    first = ingest_batch(api, cases).json()
    after_first = row_counts()

    again = ingest_batch(api, cases).json()

    assert (again["created"], again["existing"], again["failed"]) == (0, 5, 0)
    assert [r["status_code"] for r in again["results"]] == [200] * 5
    assert [r["id"] for r in again["results"]] == [r["id"] for r in first["results"]]
    assert row_counts() == after_first


def test_batch_answers_200_for_a_case_ingested_singly_before(api, doctor):
    single = ingest(api, case_payload(doctor, external_id="conv-1")).json()

    body = ingest_batch(api, payloads(doctor, 3)).json()

    assert [r["status_code"] for r in body["results"]] == [201, 200, 201]
    assert body["results"][1]["id"] == single["id"]


def test_duplicate_external_id_in_one_batch_is_created_once(api, doctor):
    cases = [
        case_payload(doctor, external_id="dup", patient_ref="first"),
        case_payload(doctor, external_id="other"),
        case_payload(doctor, external_id="dup", patient_ref="second"),
    ]

    body = ingest_batch(api, cases).json()

    assert [r["status_code"] for r in body["results"]] == [201, 201, 200]
    assert body["results"][2]["id"] == body["results"][0]["id"]
    assert (body["created"], body["existing"]) == (2, 1)
    assert Case.objects.filter(external_id="dup").count() == 1
    assert AuditEvent.objects.filter(case__external_id="dup").count() == 1


def test_unknown_doctor_fails_only_its_own_case_with_the_single_ingest_message(api, doctor):
    before = row_counts()
    single = assert_json_error(ingest(api, case_payload(doctor, external_id="single", doctor="NO-SUCH")), 400)
    cases = [
        case_payload(doctor, external_id="a", doctor="NO-SUCH"),
        case_payload(doctor, external_id="b"),
        # After a refused item, a valid one with its external_id is stored, as a retry would be.
        case_payload(doctor, external_id="a"),
    ]

    body = ingest_batch(api, cases).json()

    refused, stored, retried = body["results"]
    assert refused["status_code"] == 400
    assert {k: refused[k] for k in ("code", "message", "errors")} == single
    assert "GET /api/v1/doctors/" in refused["message"]
    assert (stored["status_code"], retried["status_code"]) == (201, 201)
    assert row_counts()["cases"] == before["cases"] + 2


def test_another_hospitals_doctor_licence_is_refused(api, doctor, other_hospital):
    stranger = DoctorFactory(hospital=other_hospital)

    body = ingest_batch(api, [case_payload(doctor, doctor=stranger.doctor_profile.licence_number)]).json()

    assert body["results"][0]["status_code"] == 400
    assert not Case.objects.exists()


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"cases": []},
        {"cases": "conv-1"},
        {"cases": {"external_id": "conv-1"}},
        {"cases": None},
        [{"external_id": "conv-1"}],
        "cases",
    ],
    ids=["missing", "empty", "string", "object", "null", "top-level-list", "top-level-string"],
)
def test_batch_of_the_wrong_shape_is_a_400(api, doctor, data):
    before = row_counts()

    body = assert_json_error(api.post(BATCH_URL, data, format="json"), 400)

    assert body["code"] == "invalid"
    assert row_counts() == before


def test_batch_with_an_unknown_top_level_field_is_a_400(api, doctor):
    response = api.post(BATCH_URL, {"cases": payloads(doctor, 1), "dry_run": True}, format="json")

    assert "dry_run" in assert_json_error(response, 400)["errors"]
    assert not Case.objects.exists()


def test_more_than_500_cases_is_a_400_and_stores_nothing(api, doctor):
    before = row_counts()

    body = assert_json_error(ingest_batch(api, payloads(doctor, 501)), 400)

    assert "500" in body["message"]
    assert row_counts() == before


def test_batch_needs_the_cases_write_scope(hospital, doctor):
    _client, token = api_client_create(hospital=hospital, name="Reporting", scopes=["cases:read"])
    before = row_counts()

    body = assert_json_error(ingest_batch(bearer(token), payloads(doctor, 2)), 403)

    assert "cases:write" in body["message"]
    assert row_counts() == before


def test_batch_without_a_token_is_a_401(doctor):
    assert_json_error(ingest_batch(APIClient(), payloads(doctor, 1)), 401)
    assert not Case.objects.exists()


def test_same_external_id_in_two_hospitals_is_two_cases(api, other_api, doctor, other_hospital):
    other_doctor = DoctorFactory(hospital=other_hospital)
    mine = ingest_batch(api, [case_payload(doctor, external_id="shared")]).json()["results"][0]

    # Our doctor's licence means nothing to the other hospital's client...
    refused = ingest_batch(other_api, [case_payload(doctor, external_id="shared")]).json()["results"][0]
    theirs = ingest_batch(other_api, [case_payload(other_doctor, external_id="shared")]).json()["results"][0]

    assert refused["status_code"] == 400
    # ...and its "shared" is a case of its own, not an answer with ours.
    assert (mine["status_code"], theirs["status_code"]) == (201, 201)
    assert mine["id"] != theirs["id"]
    assert Case.objects.get(pk=mine["id"]).hospital == doctor.hospital
    assert Case.objects.get(pk=theirs["id"]).hospital == other_hospital
    mine_patient = Case.objects.get(pk=mine["id"]).patient
    assert Case.objects.get(pk=theirs["id"]).patient != mine_patient


def test_batch_scrubs_and_triages_exactly_as_single_ingest(api, doctor):
    single = ingest(api, emergency_payload(doctor, "single")).json()

    batched = ingest_batch(api, [emergency_payload(doctor, "batched")]).json()["results"][0]

    assert batched["status_code"] == 201
    assert {k: batched[k] for k in INGEST_RESULT_KEYS - {"id"}} == {k: single[k] for k in INGEST_RESULT_KEYS - {"id"}}
    one, many = Case.objects.get(pk=single["id"]), Case.objects.get(pk=batched["id"])
    assert one.patient == many.patient
    for name in ("status", "urgency", "flags", "review_reasons", "hold", "question_preview", "doctor", "reviewer"):
        assert getattr(many, name) == getattr(one, name), name
    assert many.due_at - many.received_at == one.due_at - one.received_at

    def bodies(case):
        return list(Message.objects.filter(case=case).values_list("author", "body", "sent_at"))

    assert bodies(many) == bodies(one)
    assert "[phone]" in many.question_preview and "138 0013 8000" not in many.question_preview
    details = {case: AuditEvent.objects.get(case=case, action="case.ingested").details for case in (one, many)}
    assert details[many] | {"external_id": "single"} == details[one]


def test_new_patients_are_created_once_and_known_ones_reused(api, doctor):
    ingest(api, case_payload(doctor, external_id="earlier", patient_ref="known"))
    known = Patient.objects.get()
    cases = [
        case_payload(doctor, external_id="1", patient_ref="known"),
        case_payload(doctor, external_id="2", patient_ref="new", patient={"birth_year": 1980, "sex": "male"}),
        case_payload(doctor, external_id="3", patient_ref="new", patient={"birth_year": 1999}),
    ]

    body = ingest_batch(api, cases).json()

    patients = [Case.objects.get(pk=r["id"]).patient for r in body["results"]]
    assert patients[0] == known
    assert patients[1] == patients[2] != known
    assert (patients[1].birth_year, patients[1].sex) == (1980, "male")  # the first sight, as single ingest
    assert Patient.objects.count() == 2
    assert len({p.pseudonym for p in Patient.objects.all()}) == 2


def test_500_cases_take_a_fixed_number_of_queries(api, doctor, other_doctor, django_assert_max_num_queries):
    cases = payloads(doctor, 250, "a") + payloads(other_doctor, 250, "b")
    cases[10] = case_payload(doctor, external_id="a-10", doctor="NO-SUCH")
    cases[20]["messages"][0]["author"] = "nurse"

    with django_assert_max_num_queries(20) as captured:
        body = ingest_batch(api, cases).json()

    assert (body["created"], body["existing"], body["failed"]) == (498, 0, 2)
    assert Case.objects.count() == 498
    assert Message.objects.count() == 996
    assert AuditEvent.objects.filter(action="case.ingested").count() == 498
    print(f"500-case batch: {len(captured)} queries")


def test_a_case_stored_concurrently_during_the_batch_is_answered_not_duplicated(platform, doctor, monkeypatch):
    items = [
        CaseIngestData(
            external_id=f"conv-{i}",
            doctor_licence=doctor.doctor_profile.licence_number,
            patient_ref=f"patient-{i}",
            messages=[IngestMessage("patient", "I have a mild headache.", timezone.now())],
        )
        for i in range(3)
    ]
    resolve_patients = services._patients_for_references

    def another_request_stores_one_first(**kwargs):
        # Between the batch's look-up of known external_ids and its insert.
        case_ingest(api_client=platform, data=items[1])
        return resolve_patients(**kwargs)

    monkeypatch.setattr(services, "_patients_for_references", another_request_stores_one_first)

    results = services.cases_ingest_batch(api_client=platform, items=items)

    assert [created for _case, created in results] == [True, False, True]
    assert Case.objects.count() == 3
    assert results[1][0] == Case.objects.get(external_id="conv-1")
