"""Schema-driven fuzzing of the whole integration API (issue #4), in-process through WSGI.

Schemathesis reads /api/v1/schema/ from the app itself and makes one test per operation,
so every operation that appears in the schema is fuzzed, including ones added later. Each
operation gets the examples of the schema, the coverage phase's edge cases (missing and
wrongly typed fields, boundary values, unknown methods, no token) and a fixed number of
generated requests, all derived from one seed, so CI sees the same requests on every run.

The checks: no 5xx; every status code, content type, header and body as documented; input
the schema forbids is refused; no token is a 401. Schemathesis' "valid data accepted"
check is off because schema-valid input can still be refused for what a schema cannot say
(no active doctor has this licence number, a send time in the future, a cursor we never
made); instead, half of the valid examples are pointed at real rows (a seeded hospital's
cases, patients, appointments and doctors' licence numbers) and every operation must
answer some of them with a 2xx, so the fuzzing reaches the code behind the validation.
Seeded rows of another hospital must never be served.

Run with `-s` to see how many requests each operation received.
"""

import zlib
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import timedelta

import hypothesis
import pytest
import schemathesis
from django.core import signals
from django.db import close_old_connections
from django.test import Client
from django.utils import timezone

from accounts.services import api_client_create
from portal.wsgi import application
from reviews import demo_content
from reviews.models import Appointment, Case, CaseStatus
from reviews.selectors import CaseListCursor
from reviews.services import CaseIngestData, IngestMessage, case_ingest
from reviews.tests.factories import CaseFactory, DoctorFactory, HospitalFactory

MAX_EXAMPLES = 40
SEED = 20261125
ALL_SCOPES = ["cases:write", "cases:read", "appointments:write", "summaries:read"]

schema = schemathesis.openapi.from_wsgi(
    "/api/v1/schema/",
    application,
    config=schemathesis.Config.from_dict(
        {
            "seed": SEED,
            "generation": {"max-examples": MAX_EXAMPLES, "deterministic": True, "database": "none"},
            "checks": {"positive_data_acceptance": {"enabled": False}},
        }
    ),
)

# Requests per operation and status class, across the module, for the printed summary.
_TALLY: dict[str, Counter] = defaultdict(Counter)


@dataclass
class SeededRows:
    """Real values for path, query and body fields, by resource: `own` ones belong to the
    fuzzing client's hospital, `foreign` ones to another hospital."""

    own: dict[str, list] = field(default_factory=dict)
    foreign: dict[str, list] = field(default_factory=dict)
    licence_numbers: list[str] = field(default_factory=list)
    doctor_ids: list[int] = field(default_factory=list)
    cursor: str = ""


def _ingest(client, *, doctor, external_id: str, patient_ref: str, question: str, draft: str) -> Case:
    sent_at = timezone.now() - timedelta(hours=1)
    data = CaseIngestData(
        external_id=external_id,
        doctor_licence=doctor.doctor_profile.licence_number,
        patient_ref=patient_ref,
        messages=[IngestMessage("patient", question, sent_at), IngestMessage("avatar", draft, sent_at)],
    )
    return case_ingest(api_client=client, data=data)[0]


@pytest.fixture
def seeded(db) -> SeededRows:
    """A hospital with the demo doctors' licence numbers and some of their conversations, in
    both languages, one closed case, appointments; and another hospital with its own."""
    hospital = HospitalFactory(slug="fuzz-hospital")
    client, _token = api_client_create(hospital=hospital, name="Seed", scopes=ALL_SCOPES)
    doctors = [
        DoctorFactory(
            hospital=hospital,
            full_name=demo.full_name,
            profile__licence_number=demo.licence_number,
            profile__specialty=demo.specialty,
        )
        for demo in demo_content.DOCTORS
    ]
    by_specialty = {d.doctor_profile.specialty: d for d in doctors}
    cases = []
    # Every 15th story: the three specialties, in both languages.
    for index, scenario in enumerate(demo_content.SCENARIOS[::15]):
        cases.append(
            _ingest(
                client,
                doctor=by_specialty[scenario.specialty],
                external_id=f"seed-{index}",
                patient_ref=f"seed-patient-{index % 3}",
                question=scenario.patient.format(weeks=30, months=3, age=30, days=2),
                draft=scenario.draft.format(weeks=30, months=3, age=30, days=2),
            )
        )
    cases.append(CaseFactory(doctor=doctors[0], status=CaseStatus.CLOSED))
    tomorrow = timezone.now() + timedelta(days=1)
    appointments = [
        Appointment.objects.create(hospital=hospital, patient=case.patient, doctor=case.doctor, scheduled_at=tomorrow)
        for case in cases[:2]
    ]

    elsewhere = CaseFactory(doctor=DoctorFactory(hospital=HospitalFactory()))
    foreign_appointment = Appointment.objects.create(
        hospital=elsewhere.hospital, patient=elsewhere.patient, doctor=elsewhere.doctor, scheduled_at=tomorrow
    )
    first = min(cases, key=lambda c: (c.updated_at, c.pk))
    return SeededRows(
        own={
            "cases": [c.pk for c in cases],
            "patients": sorted({c.patient.pseudonym for c in cases}),
            "appointments": [a.pk for a in appointments],
        },
        foreign={
            "cases": [elsewhere.pk],
            "patients": [elsewhere.patient.pseudonym],
            "appointments": [foreign_appointment.pk],
        },
        licence_numbers=[d.doctor_profile.licence_number for d in doctors],
        doctor_ids=[d.pk for d in doctors],
        cursor=CaseListCursor(first.updated_at, first.pk).encode(),
    )


@pytest.fixture
def fuzz_token(seeded, settings) -> str:
    # Throttling has its own tests (reviews/tests/test_api_limits.py); here it would only
    # turn later examples into 429s.
    settings.API_CLIENT_RATE = "1000000/minute"
    hospital = Case.objects.get(pk=seeded.own["cases"][0]).hospital
    return api_client_create(hospital=hospital, name="Fuzzer", scopes=ALL_SCOPES)[1]


@pytest.fixture
def in_test_transaction():
    """Django closes the connection after each WSGI request; in a test that would abort the
    test's transaction. Its own test client disconnects the same handler for the same reason."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@dataclass
class OperationAnswers:
    label: str = ""
    statuses: Counter = field(default_factory=Counter)

    def record(self, case, response) -> None:
        self.label = case.operation.label
        self.statuses[f"{response.status_code // 100}xx"] += 1


@pytest.fixture
def answers():
    """Counts the answers of one operation and, at the end, requires a 2xx among them."""
    answers = OperationAnswers()
    yield answers
    _TALLY[answers.label].update(answers.statuses)
    if answers.statuses and not answers.statuses["2xx"]:
        pytest.fail(f"{answers.label}: no 2xx among {answers.statuses.total()} answers: {dict(answers.statuses)}")


@pytest.fixture(scope="module", autouse=True)
def _print_counts():
    yield
    if not _TALLY:
        return
    width = max(len(label) for label in _TALLY)
    print(f"\nAPI fuzzing: {len(_TALLY)} operations, up to {MAX_EXAMPLES} generated examples each, seed {SEED}")
    for label, tally in sorted(_TALLY.items()):
        classes = "  ".join(f"{key} {tally[key]:4d}" for key in ("2xx", "3xx", "4xx", "5xx"))
        print(f"  {label:<{width}}  {tally.total():5d} requests  {classes}")
    print(f"  {'total':<{width}}  {sum(t.total() for t in _TALLY.values()):5d} requests")


def _pick(generated, choices: list):
    """The same real value for the same generated one: the run stays reproducible."""
    return choices[zlib.crc32(repr(generated).encode()) % len(choices)]


def _resource_of(path: str, parameter: str) -> str:
    """`cases` for {case_id} in /api/v1/cases/{case_id}/messages/."""
    segments = path.strip("/").split("/")
    position = segments.index("{" + parameter + "}")
    return segments[position - 1] if position else ""


def _ground_body(value, rows: SeededRows, now):
    """Real licence numbers and send times that pass the API's own rules, recursively."""
    if isinstance(value, list):
        return [_ground_body(item, rows, now) for item in value]
    if not isinstance(value, dict):
        return value
    grounded = {key: _ground_body(item, rows, now) for key, item in value.items()}
    if isinstance(grounded.get("doctor"), str):
        grounded["doctor"] = _pick(grounded["doctor"], rows.licence_numbers)
    if isinstance(grounded.get("patient_ref"), str):
        grounded["patient_ref"] = _pick(grounded["patient_ref"], ["fuzz-patient-1", "fuzz-patient-2"])
    if isinstance(grounded.get("sent_at"), str):
        grounded["sent_at"] = (now - timedelta(minutes=5)).isoformat()
    if isinstance(grounded.get("scheduled_at"), str):
        grounded["scheduled_at"] = (now + timedelta(hours=20)).isoformat()
    if isinstance(grounded.get("birth_year"), int):
        grounded["birth_year"] = min(grounded["birth_year"], now.year)
    messages = grounded.get("messages")
    if isinstance(messages, list) and messages and all(isinstance(m, dict) and "author" in m for m in messages):
        messages[0]["author"] = "patient"
    return grounded


def _ground(case, rows: SeededRows) -> set[str]:
    """Points half of the valid examples at seeded rows. Returns the resources of another
    hospital it pointed the request at."""
    if not case.meta.generation.mode.is_positive or zlib.crc32(repr(case).encode()) % 2:
        return set()
    foreign = set()
    for name, value in (case.path_parameters or {}).items():
        resource = _resource_of(case.operation.path, name)
        if resource in rows.own and isinstance(value, type(rows.own[resource][0])):
            # One pick in eight is another hospital's row: it must not be found.
            if zlib.crc32(repr(value).encode()) % 8 == 0:
                case.path_parameters[name] = _pick(value, rows.foreign[resource])
                foreign.add(resource)
            else:
                case.path_parameters[name] = _pick(value, rows.own[resource])
    if case.query:
        if isinstance(case.query.get("doctor"), int):
            case.query["doctor"] = _pick(case.query["doctor"], rows.doctor_ids)
        if "cursor" in case.query:
            case.query["cursor"] = rows.cursor
    if case.body is not None and not isinstance(case.body, schemathesis.core.NotSet):
        case.body = _ground_body(case.body, rows, timezone.now())
    return foreign


@schema.parametrize()
# The seeded rows and the token are meant to outlive each example: requests pile up on them
# as an integrator's would.
@hypothesis.settings(suppress_health_check=[hypothesis.HealthCheck.function_scoped_fixture])
def test_every_operation_survives_fuzzing(case, seeded, fuzz_token, in_test_transaction, answers):
    foreign = _ground(case, seeded)

    response = case.call_and_validate(headers={"Authorization": f"Bearer {fuzz_token}"})

    answers.record(case, response)
    assert not (foreign and 200 <= response.status_code < 300), (
        f"{case.operation.label} served another hospital's {', '.join(sorted(foreign))}: {response.text[:300]}"
    )


# --- What the fuzzing found, pinned -----------------------------------------------------


def test_a_post_to_a_mistyped_api_path_is_a_json_404_not_a_csrf_page(db):
    # Django's test client skips CSRF checks unless asked; integrators' clients get them.
    response = Client(enforce_csrf_checks=True).post(
        "/api/v1/cases/null,null/messages/", {"body": "Hello"}, content_type="application/json"
    )

    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_a_null_case_in_a_batch_fails_alone(api_token, doctor):
    case = {
        "external_id": "batch-null-1",
        "doctor": doctor.doctor_profile.licence_number,
        "patient_ref": "p-1",
        "messages": [{"author": "patient", "body": "My baby has a rash.", "sent_at": "2026-01-01T08:00:00Z"}],
    }

    response = Client().post(
        "/api/v1/cases/batch/",
        {"cases": [None, case]},
        content_type="application/json",
        headers={"Authorization": f"Bearer {api_token[1]}"},
    )

    assert response.status_code == 200
    assert [r["status_code"] for r in response.json()["results"]] == [400, 201]
    assert Case.objects.filter(external_id="batch-null-1").exists()


def test_every_documented_error_is_the_json_error_body(db):
    document = Client().get("/api/v1/schema/", {"format": "json"}).json()
    error = {"$ref": "#/components/schemas/ApiError"}

    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            responses = operation["responses"]
            # Authentication, scopes and the rate budget guard every operation.
            assert {"401", "403", "429"} <= set(responses), (method, path)
            if "requestBody" in operation:
                assert {"400", "413", "415"} <= set(responses), (method, path)
            for code, response in responses.items():
                if code >= "400":
                    assert response["content"]["application/json"]["schema"] == error, (method, path, code)
            assert "Retry-After" in responses["429"]["headers"]
    for name, component in document["components"]["schemas"].items():
        if name.endswith("Request") and component.get("type") == "object":
            assert component["additionalProperties"] is False, name  # unknown fields are refused
