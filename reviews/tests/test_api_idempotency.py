"""`Idempotency-Key` on the API's POSTs (issue #8): a retry replays the first answer, as the platform sees it."""

import json
import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.services import api_client_create
from reviews import services
from reviews.models import Appointment, CaseStatus, IdempotencyRecord, Message

from .factories import CaseFactory
from .test_api import CASES_URL, assert_json_error, bearer, case_payload, row_counts

BATCH_URL = "/api/v1/cases/batch/"
APPOINTMENTS_URL = "/api/v1/appointments/"
KEY = "3f2b8c1e-7a4d-4b6e-9c0a-1d2e3f4a5b6c"


def post(api: APIClient, url: str, body, key: str | None = KEY):
    headers = {} if key is None else {"Idempotency-Key": key}
    return api.post(url, body, format="json", headers=headers)


def messages_url(case_id: int) -> str:
    return f"/api/v1/cases/{case_id}/messages/"


@pytest.fixture
def api(api_token) -> APIClient:
    return bearer(api_token[1])


@pytest.fixture
def second_platform(hospital) -> APIClient:
    """Another API client of the same hospital."""
    _client, token = api_client_create(hospital=hospital, name="Second platform", scopes=["cases:write"])
    return bearer(token)


# --- Replay -----------------------------------------------------------------------------


def test_a_retry_with_the_same_key_and_body_replays_the_first_answer_and_stores_nothing(
    api, doctor, django_assert_max_num_queries
):
    first = post(api, CASES_URL, case_payload(doctor))
    counts = row_counts()

    with django_assert_max_num_queries(3):  # the client, its key's record; no case is read
        retry = post(api, CASES_URL, case_payload(doctor))

    assert first.status_code == retry.status_code == 201  # without the key a repeat would say 200
    assert retry.json() == first.json()
    assert retry["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first
    assert row_counts() == counts


def test_without_the_header_nothing_changes(api, doctor):
    assert post(api, CASES_URL, case_payload(doctor), key=None).status_code == 201
    repeat = post(api, CASES_URL, case_payload(doctor), key=None)

    assert repeat.status_code == 200
    assert "Idempotent-Replayed" not in repeat
    assert not IdempotencyRecord.objects.exists()


def test_the_same_key_with_a_different_body_is_a_422_and_writes_nothing(api, doctor):
    first = post(api, CASES_URL, case_payload(doctor))
    counts = row_counts()

    reused = post(api, CASES_URL, case_payload(doctor, external_id="conv-2002"))

    body = assert_json_error(reused, 422)
    assert body["code"] == "idempotency_key_reused"
    assert "different request" in body["message"]
    assert row_counts() == counts
    # The first answer is still the one a true retry gets.
    assert post(api, CASES_URL, case_payload(doctor)).json() == first.json()


def test_the_same_key_on_another_operation_is_a_422(api, doctor):
    post(api, CASES_URL, case_payload(doctor))

    reused = post(api, BATCH_URL, {"cases": [case_payload(doctor, external_id="conv-2002")]})

    assert assert_json_error(reused, 422)["code"] == "idempotency_key_reused"
    assert row_counts()["cases"] == 1


def test_keys_are_per_api_client(api, second_platform, doctor):
    mine = post(api, CASES_URL, case_payload(doctor))
    # The same key from another client is another request: neither a replay nor a 422.
    theirs = post(second_platform, CASES_URL, case_payload(doctor, external_id="conv-2002"))

    assert mine.status_code == theirs.status_code == 201
    assert "Idempotent-Replayed" not in theirs
    assert mine.json()["id"] != theirs.json()["id"]
    assert IdempotencyRecord.objects.filter(key=KEY).count() == 2


@pytest.mark.parametrize("key", ["", " ", "has space", "a" * 201, "clé", "tab\there"])
def test_a_malformed_key_is_a_400_and_writes_nothing(api, doctor, key):
    counts = row_counts()

    response = post(api, CASES_URL, case_payload(doctor), key=key)

    body = assert_json_error(response, 400)
    assert body["code"] == "invalid_idempotency_key"
    assert body["errors"] == {"Idempotency-Key": [body["message"]]}
    assert row_counts() == counts


def test_a_key_of_200_visible_characters_is_taken(api, doctor):
    assert post(api, CASES_URL, case_payload(doctor), key="~" * 200).status_code == 201


def test_a_batch_retry_replays_every_item_and_creates_nothing(api, doctor):
    cases = [case_payload(doctor, external_id=f"conv-{i}", patient_ref=f"p-{i}") for i in range(3)]
    cases.append({"external_id": "broken"})  # refused on its own inside the 200
    first = post(api, BATCH_URL, {"cases": cases})
    counts = row_counts()

    retry = post(api, BATCH_URL, {"cases": cases})

    assert first.status_code == retry.status_code == 200
    assert retry.json() == first.json()
    assert retry.json()["created"] == 3  # the first answer, though all three exist now
    assert retry["Idempotent-Replayed"] == "true"
    assert row_counts() == counts


def test_a_message_retry_adds_the_message_once(api, doctor):
    # Messages are not idempotent on their own: without the key, a retry is a second message.
    case = CaseFactory(doctor=doctor, review_reasons=["routine_sample"])
    body = {"body": "The headache is a little better today.", "sent_at": "2025-03-01T10:00:00+08:00"}

    first = post(api, messages_url(case.pk), body)
    retry = post(api, messages_url(case.pk), body)

    assert first.status_code == retry.status_code == 201
    assert retry.json() == first.json()
    assert Message.objects.filter(case=case, body=body["body"]).count() == 1


def test_an_appointment_retry_replays_the_first_answer(hospital, doctor):
    _client, token = api_client_create(hospital=hospital, name="Booking", scopes=["appointments:write"])
    booking = bearer(token)
    body = {
        "external_id": "booking-1",
        "doctor": doctor.doctor_profile.licence_number,
        "patient_ref": "platform-patient-42",
        "scheduled_at": (timezone.now() + timedelta(days=3)).isoformat(),
    }

    first = post(booking, APPOINTMENTS_URL, body)
    retry = post(booking, APPOINTMENTS_URL, body)

    assert first.status_code == retry.status_code == 201
    assert retry.json() == first.json()
    assert retry["Idempotent-Replayed"] == "true"
    assert Appointment.objects.count() == 1


# --- What is stored, and for how long ------------------------------------------------------


def test_an_invalid_body_is_answered_the_same_on_retry(api, doctor):
    invalid = case_payload(doctor, messages=[])

    first = post(api, CASES_URL, invalid)
    retry = post(api, CASES_URL, invalid)

    assert assert_json_error(first, 400)["code"] == "invalid"
    assert retry.status_code == 400
    assert retry.json() == first.json()
    assert retry["Idempotent-Replayed"] == "true"


def test_a_refusal_that_may_change_is_not_stored(api, doctor):
    closed = CaseFactory(doctor=doctor, status=CaseStatus.CLOSED)
    open_case = CaseFactory(doctor=doctor, review_reasons=["routine_sample"])
    body = {"body": "Hello again", "sent_at": "2025-03-01T10:00:00+08:00"}

    assert_json_error(post(api, messages_url(closed.pk), body), 409)
    # The key is free again: the client may use it for the request it sends next.
    assert post(api, messages_url(open_case.pk), body).status_code == 201


def test_a_server_error_is_not_stored_and_the_retry_does_the_work(api, doctor, monkeypatch):
    real_ingest = services.case_ingest

    def failing(**kwargs):
        real_ingest(**kwargs)  # writes, then fails: the write must not survive
        raise RuntimeError("database went away")

    monkeypatch.setattr("reviews.api.case_ingest", failing)
    with pytest.raises(RuntimeError):
        post(api, CASES_URL, case_payload(doctor))
    assert row_counts()["cases"] == 0
    assert not IdempotencyRecord.objects.exists()

    monkeypatch.setattr("reviews.api.case_ingest", real_ingest)
    retry = post(api, CASES_URL, case_payload(doctor))

    assert retry.status_code == 201
    assert "Idempotent-Replayed" not in retry


def test_a_key_older_than_24_hours_may_be_used_anew(api, doctor):
    post(api, CASES_URL, case_payload(doctor))
    IdempotencyRecord.objects.update(created_at=timezone.now() - timedelta(hours=24, minutes=1))

    fresh = post(api, CASES_URL, case_payload(doctor, external_id="conv-2002"))

    assert fresh.status_code == 201
    assert "Idempotent-Replayed" not in fresh
    assert IdempotencyRecord.objects.get().request_hash  # one record per key: the old one replaced


# --- Schema -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path", ["/api/v1/cases/", "/api/v1/cases/batch/", "/api/v1/cases/{case_id}/messages/", "/api/v1/appointments/"]
)
def test_the_header_and_the_422_are_documented(db, path):
    document = APIClient().get("/api/v1/schema/", {"format": "json"}).json()
    operation = document["paths"][path]["post"]

    header = next(p for p in operation["parameters"] if p["name"] == "Idempotency-Key")
    assert header["in"] == "header" and not header.get("required", False)
    assert header["schema"]["maxLength"] == 200
    assert "422" in operation["responses"]


# --- Concurrency (PostgreSQL) -------------------------------------------------------------


def send_together(token: str, url: str, body: dict, count: int = 10) -> list:
    """POST the same body with the same key from `count` threads at once; (status, body, replayed) each."""
    barrier = threading.Barrier(count)
    results: list = [None] * count

    def send(index: int) -> None:
        try:
            client = bearer(token)
            barrier.wait(timeout=30)
            response = post(client, url, body)
            results[index] = (response.status_code, response.json(), response.get("Idempotent-Replayed"))
        except Exception as error:  # reported through results, as the assertions show
            results[index] = ("error", repr(error), None)
        finally:
            connection.close()

    threads = [threading.Thread(target=send, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads), "a request hung on the key's lock"
    return results


postgresql_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="concurrent transactions need PostgreSQL"
)


@postgresql_only
@pytest.mark.django_db(transaction=True)
def test_concurrent_retries_of_an_ingest_make_one_case_and_get_one_answer(api_token, doctor):
    results = send_together(api_token[1], CASES_URL, case_payload(doctor, external_id="conv-race"))

    # Without the key the losers would answer 200 (already ingested); with it, all replay the 201.
    assert all(result is not None and result[0] == 201 for result in results), results
    assert len({json.dumps(body, sort_keys=True) for _, body, _ in results}) == 1
    assert [replayed for _, _, replayed in results].count(None) == 1  # one did the work, nine replayed it
    assert row_counts()["cases"] == 1
    assert IdempotencyRecord.objects.count() == 1


@postgresql_only
@pytest.mark.django_db(transaction=True)
def test_concurrent_retries_of_a_message_add_it_once(api_token, doctor):
    case = CaseFactory(doctor=doctor, review_reasons=["routine_sample"])
    body = {"body": "The headache is a little better today.", "sent_at": "2025-03-01T10:00:00+08:00"}

    results = send_together(api_token[1], messages_url(case.pk), body)

    assert all(result is not None and result[0] == 201 for result in results), results
    assert len({json.dumps(body, sort_keys=True) for _, body, _ in results}) == 1
    assert Message.objects.filter(case=case, body=body["body"]).count() == 1


def test_the_hourly_purge_drops_expired_keys_only(api, doctor):
    assert post(api, CASES_URL, case_payload(doctor, external_id="kept"), key="fresh-key").status_code == 201
    assert post(api, CASES_URL, case_payload(doctor, external_id="old"), key="old-key").status_code == 201
    IdempotencyRecord.objects.filter(key="old-key").update(created_at=timezone.now() - timedelta(hours=25))

    from reviews.housekeeping_tasks import idempotency_keys_purge

    assert idempotency_keys_purge.delay().get() == {"deleted": 1}
    assert list(IdempotencyRecord.objects.values_list("key", flat=True)) == ["fresh-key"]
