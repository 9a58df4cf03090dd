"""The ingest fast path (issue #7): it accepts only what CaseIngestSerializer accepts, returns
exactly what the serializer returns, and the single ingest takes few round trips."""

import copy

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from reviews.api_fast import batch_cases_fast, case_ingest_data_fast
from reviews.api_serializers import CaseIngestSerializer
from reviews.models import Case

from .test_api import assert_json_error, bearer, case_payload, ingest


class _Doctor:
    class doctor_profile:  # stands in for the model attribute case_payload reads
        licence_number = "LIC-1"


def _body(**overrides) -> dict:
    return case_payload(_Doctor, **overrides)


def _with(path: tuple, value) -> dict:
    """A valid body with the value at `path` replaced (or removed, for `...`)."""
    body = _body()
    *parents, last = path
    target = body
    for key in parents:
        target = target[key]
    if value is ...:
        del target[last]
    else:
        target[last] = value
    return body


ACCEPTED = {
    "plain": _body(),
    "no patient, no avatar": {k: v for k, v in _body().items() if k not in ("patient", "avatar")},
    "padded text is stripped": _with(("external_id",), "  conv-7  "),
    "patient all null": _with(("patient",), {"birth_year": None, "sex": None}),
    "empty patient": _with(("patient",), {}),
    "confidence 1 as an int": _with(("avatar", "confidence"), 1),
    "confidence null": _with(("avatar", "confidence"), None),
    "no flags": _with(("avatar", "flags"), ...),
    "flag without reason": _with(("avatar", "flags"), [{"code": "chest_pain"}]),
    "flag with blank reason": _with(("avatar", "flags"), [{"code": " chest_pain ", "reason": "  "}]),
    "sent_at in UTC": _with(("messages", 0, "sent_at"), "2025-03-01T01:00:00Z"),
    "sent_at with microseconds": _with(("messages", 0, "sent_at"), "2025-03-01T01:00:00.123456-05:00"),
    "longest external_id": _with(("external_id",), "x" * 100),
}

REFERRED = {
    "not an object": ["conv-1"],
    "null": None,
    "unknown field": _body(patinet_ref="x"),
    "missing messages": _with(("messages",), ...),
    "missing doctor": _with(("doctor",), ...),
    "number as external_id": _with(("external_id",), 1001),
    "bool as doctor": _with(("doctor",), True),
    "blank external_id": _with(("external_id",), "   "),
    "external_id too long": _with(("external_id",), "x" * 101),
    "NUL in a body": _with(("messages", 0, "body"), "a\x00b"),
    "no patient message": _with(("messages", 0, "author"), "avatar"),
    "unknown author": _with(("messages", 0, "author"), "nurse"),
    "author as a list": _with(("messages", 0, "author"), ["patient"]),
    "message field missing": _with(("messages", 0, "sent_at"), ...),
    "message extra field": _with(("messages", 0, "lang"), "en"),
    "no messages": _with(("messages",), []),
    "messages not a list": _with(("messages",), {"author": "patient"}),
    "too many messages": _with(("messages",), _body()["messages"][:1] * 201),
    "naive sent_at": _with(("messages", 0, "sent_at"), "2025-03-01T09:00:00"),
    "sent_at before 2000": _with(("messages", 0, "sent_at"), "1999-12-31T00:00:00+00:00"),
    "sent_at tomorrow": _with(("messages", 0, "sent_at"), (timezone.now() + timezone.timedelta(days=1)).isoformat()),
    "sent_at as a number": _with(("messages", 0, "sent_at"), 1740790800),
    "sent_at nonsense": _with(("messages", 0, "sent_at"), "yesterday"),
    "birth year as a string": _with(("patient", "birth_year"), "1990"),
    "birth year as bool": _with(("patient", "birth_year"), True),
    "birth year too early": _with(("patient", "birth_year"), 1899),
    "birth year in the future": _with(("patient", "birth_year"), timezone.now().year + 1),
    "unknown sex": _with(("patient", "sex"), "f"),
    "patient null": _with(("patient",), None),
    "patient extra field": _with(("patient", "name"), "Li Wei"),
    "confidence above 1": _with(("avatar", "confidence"), 1.5),
    "confidence as a string": _with(("avatar", "confidence"), "0.9"),
    "confidence as bool": _with(("avatar", "confidence"), True),
    "flags null": _with(("avatar", "flags"), None),
    "flag without code": _with(("avatar", "flags"), [{"reason": "x"}]),
    "flag code too long": _with(("avatar", "flags"), [{"code": "x" * 61}]),
    "flag reason null": _with(("avatar", "flags"), [{"code": "x", "reason": None}]),
    "avatar extra field": _with(("avatar", "model"), "v2"),
}


@pytest.mark.parametrize("body", ACCEPTED.values(), ids=ACCEPTED.keys())
def test_the_fast_path_takes_a_valid_body_and_returns_what_the_serializer_returns(body):
    fast = case_ingest_data_fast(copy.deepcopy(body))

    serializer = CaseIngestSerializer(data=body)
    assert serializer.is_valid(), serializer.errors
    assert fast is not None
    assert fast == serializer.to_ingest_data()
    assert [m.sent_at.tzinfo for m in fast.messages] == [m.sent_at.tzinfo for m in serializer.to_ingest_data().messages]


@pytest.mark.parametrize("body", REFERRED.values(), ids=REFERRED.keys())
def test_the_fast_path_refers_anything_else_to_the_serializer(body):
    assert case_ingest_data_fast(copy.deepcopy(body)) is None


@pytest.mark.parametrize(
    "envelope",
    [{}, {"cases": []}, {"cases": [{}] * 501}, {"cases": {}}, {"cases": [{}], "dry_run": True}, [{"cases": [{}]}]],
    ids=["missing", "empty", "too many", "object", "extra field", "list"],
)
def test_a_batch_envelope_the_serializer_must_judge_is_referred(envelope):
    assert batch_cases_fast(envelope) is None


def test_a_referred_body_gets_the_serializers_answer(api_token, doctor):
    api = bearer(api_token[1])
    too_long = case_payload(doctor, external_id="x" * 101)

    error = assert_json_error(ingest(api, too_long), 400)
    number = ingest(api, case_payload(doctor, external_id=1001))  # the serializer takes it as "1001"

    serializer = CaseIngestSerializer(data=too_long)
    assert not serializer.is_valid()
    assert error["errors"] == serializer.errors
    assert number.status_code == 201
    assert Case.objects.get().external_id == "1001"


def _ingest_queries(api, body) -> list[str]:
    with CaptureQueriesContext(connection) as captured:
        response = ingest(api, body)
    assert response.status_code == 201, response.content
    return [q["sql"] for q in captured.captured_queries]


def test_a_single_ingest_takes_a_fixed_few_round_trips(api_token, doctor):
    api = bearer(api_token[1])
    ingest(api, case_payload(doctor, external_id="warm-up"))  # the client's last_used_at is written once

    new_patient = _ingest_queries(api, case_payload(doctor, external_id="conv-1", patient_ref="new-patient"))
    known_patient = _ingest_queries(api, case_payload(doctor, external_id="conv-2", patient_ref="new-patient"))

    # client; doctor and patient; patient insert or stale summaries; case; messages; audit head
    # lock; audit event and head (one statement on PostgreSQL); savepoint and release in tests.
    expected = 9 if connection.vendor == "postgresql" else 10
    assert (len(new_patient), len(known_patient)) == (expected, expected), new_patient + known_patient
    assert not any("previsitsummary" in sql for sql in new_patient)  # no appointments yet
    assert any("previsitsummary" in sql for sql in known_patient)
    for queries in (new_patient, known_patient):
        first_case_statement = next(sql for sql in queries if '"reviews_case"' in sql)
        assert first_case_statement.startswith("INSERT")  # no look-up of the external_id first


def test_a_repeat_is_answered_even_after_its_doctor_left(api_token, doctor):
    api = bearer(api_token[1])
    first = ingest(api, case_payload(doctor)).json()
    doctor.is_active = False
    doctor.save(update_fields=["is_active"])

    again = ingest(api, case_payload(doctor))

    assert again.status_code == 200
    assert again.json()["id"] == first["id"]
    assert Case.objects.count() == 1
