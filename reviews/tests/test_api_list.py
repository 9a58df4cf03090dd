"""GET /cases/ and GET /patients/{pseudonym}/cases/: keyset pages of case summaries (DESIGN §8)."""

import base64
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.services import api_client_create
from reviews.models import Case, CaseStatus, Decision, Urgency
from reviews.services import case_approve, case_open

from .factories import CaseFactory, DoctorFactory, HospitalFactory, PatientFactory
from .test_api import CASES_URL, SUMMARY_KEYS, assert_json_error, bearer, case_url

T0 = timezone.now().replace(microsecond=0) - timedelta(days=3)


def patient_cases_url(pseudonym: str) -> str:
    return f"/api/v1/patients/{pseudonym}/cases/"


def walk(api, url: str, **params) -> list[list[dict]]:
    """Every page, following `next` as a client would."""
    pages = []
    response = api.get(url, params)
    while True:
        assert response.status_code == 200, response.content
        body = response.json()
        assert set(body) == {"results", "next"}
        pages.append(body["results"])
        if body["next"] is None:
            return pages
        assert body["next"].startswith("http://testserver/")
        response = api.get(body["next"])


def ids(pages: list[list[dict]]) -> list[int]:
    return [row["id"] for page in pages for row in page]


def in_list_order(cases) -> list[int]:
    return [c.pk for c in sorted(cases, key=lambda c: (c.updated_at, c.pk))]


@pytest.fixture
def api(api_token):
    return bearer(api_token[1])


# --- Pagination ---------------------------------------------------------------------------


def test_empty_list(api):
    assert api.get(CASES_URL).json() == {"results": [], "next": None}


def test_results_are_the_same_summaries_as_the_detail(api, doctor):
    case = CaseFactory(doctor=doctor)

    body = api.get(CASES_URL).json()

    assert body["next"] is None
    assert set(body["results"][0]) == SUMMARY_KEYS
    assert body["results"] == [api.get(case_url(case.pk)).json()]


def test_pages_walk_every_case_once_in_order_with_ties_on_updated_at(api, doctor):
    # Seven cases share one updated_at: only the id breaks the tie across page boundaries.
    cases = [
        *CaseFactory.create_batch(7, doctor=doctor, updated_at=T0),
        *[CaseFactory(doctor=doctor, updated_at=T0 + timedelta(seconds=s)) for s in (3, 1, 2)],
        *CaseFactory.create_batch(2, doctor=doctor, updated_at=T0 - timedelta(hours=1)),
    ]

    pages = walk(api, CASES_URL, limit=3)

    assert [len(page) for page in pages] == [3, 3, 3, 3]
    assert ids(pages) == in_list_order(cases)


def test_last_page_exactly_full_has_no_next(api, doctor):
    CaseFactory.create_batch(4, doctor=doctor, updated_at=T0)

    assert [len(page) for page in walk(api, CASES_URL, limit=2)] == [2, 2]


def test_default_limit_is_50_and_max_is_500(api, doctor):
    Case.objects.bulk_create(
        Case(
            hospital=doctor.hospital,
            doctor=doctor,
            reviewer=doctor,
            patient=PatientFactory(hospital=doctor.hospital),
            external_id=f"bulk-{n}",
            status=CaseStatus.AUTO_RELEASED,
            due_at=T0,
            updated_at=T0,
        )
        for n in range(501)
    )

    assert len(api.get(CASES_URL).json()["results"]) == 50
    assert len(api.get(CASES_URL, {"limit": 500}).json()["results"]) == 500
    body = assert_json_error(api.get(CASES_URL, {"limit": 501}), 400)
    assert body["code"] == "invalid" and "limit" in body["errors"]


def test_next_keeps_the_filters(api, doctor):
    held = CaseFactory.create_batch(3, doctor=doctor, urgency=Urgency.URGENT)
    CaseFactory.create_batch(3, doctor=doctor, urgency=Urgency.ROUTINE)

    first = api.get(CASES_URL, {"urgency": "urgent", "limit": 2}).json()
    query = parse_qs(urlsplit(first["next"]).query)

    assert query["urgency"] == ["urgent"] and query["limit"] == ["2"] and "cursor" in query
    assert ids(walk(api, CASES_URL, urgency="urgent", limit=2)) == in_list_order(held)


# --- Filters ------------------------------------------------------------------------------


@pytest.fixture
def mix(doctor, other_doctor) -> dict[str, Case]:
    return {
        "emergency": CaseFactory(doctor=doctor, urgency=Urgency.EMERGENCY, updated_at=T0),
        "urgent_approved": CaseFactory(
            doctor=doctor, urgency=Urgency.URGENT, status=CaseStatus.APPROVED, updated_at=T0 + timedelta(hours=1)
        ),
        "routine_released": CaseFactory(
            doctor=other_doctor,
            status=CaseStatus.AUTO_RELEASED,
            external_id="conv-77",
            updated_at=T0 + timedelta(hours=2),
        ),
        "soon_closed": CaseFactory(
            doctor=other_doctor, urgency=Urgency.SOON, status=CaseStatus.CLOSED, updated_at=T0 + timedelta(hours=3)
        ),
    }


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({}, ["emergency", "urgent_approved", "routine_released", "soon_closed"]),
        ({"status": "awaiting_review"}, ["emergency"]),
        ({"status": "approved,closed"}, ["urgent_approved", "soon_closed"]),
        ({"status": " approved , approved "}, ["urgent_approved"]),
        ({"urgency": "emergency"}, ["emergency"]),
        ({"urgency": "urgent,soon"}, ["urgent_approved", "soon_closed"]),
        ({"external_id": "conv-77"}, ["routine_released"]),
        ({"external_id": "conv-7"}, []),
        ({"updated_since": (T0 + timedelta(hours=2)).isoformat()}, ["routine_released", "soon_closed"]),
        ({"status": "approved,auto_released,closed", "urgency": "routine,soon"}, ["routine_released", "soon_closed"]),
        ({"status": "closed", "urgency": "emergency"}, []),
        ({"no_such_param": "x", "urgency": "soon"}, ["soon_closed"]),
    ],
)
def test_filters(api, mix, params, expected):
    assert ids(walk(api, CASES_URL, **params)) == [mix[name].pk for name in expected]


def test_doctor_filter_takes_the_id_from_the_doctors_list(api, mix, doctor, other_doctor):
    listed = {row["name"]: row["id"] for row in api.get("/api/v1/doctors/").json()}

    assert ids(walk(api, CASES_URL, doctor=listed[doctor.full_name])) == [
        mix["emergency"].pk,
        mix["urgent_approved"].pk,
    ]
    assert ids(walk(api, CASES_URL, doctor=other_doctor.pk, status="closed")) == [mix["soon_closed"].pk]
    since = (T0 + timedelta(hours=1)).isoformat()
    assert ids(walk(api, CASES_URL, doctor=doctor.pk, updated_since=since)) == [mix["urgent_approved"].pk]


def test_updated_since_with_an_unescaped_plus_in_the_offset(api, mix):
    # `+08:00` typed into a URL arrives as a space; still the same instant.
    stamp = timezone.localtime(T0 + timedelta(hours=2), timezone.get_fixed_timezone(8 * 60)).isoformat()
    response = api.get(f"{CASES_URL}?updated_since={stamp}")

    assert ids([response.json()["results"]]) == [mix["routine_released"].pk, mix["soon_closed"].pk]


@pytest.mark.parametrize(
    ("param", "value"),
    [
        ("status", "pending"),
        ("status", "approved,nope"),
        ("status", ","),
        ("urgency", "high"),
        ("urgency", "0"),
        ("urgency", "Emergency"),
        ("doctor", "abc"),
        ("doctor", "0"),
        ("doctor", "-3"),
        ("doctor", "999999"),
        ("doctor", "LIC000001"),
        ("updated_since", "yesterday"),
        ("updated_since", "2025-13-01T00:00:00Z"),
        ("updated_since", "0001-01-01T00:00:00+14:00"),
        ("updated_since", "9999-12-31T23:59:59-14:00"),
        ("external_id", "x" * 101),
        ("limit", "0"),
        ("limit", "501"),
        ("limit", "ten"),
    ],
)
def test_invalid_filter_is_a_400_naming_the_parameter(api, doctor, param, value):
    body = assert_json_error(api.get(CASES_URL, {param: value}), 400)

    assert body["code"] == "invalid"
    assert list(body["errors"]) == [param]
    assert param in body["message"]


def test_an_empty_parameter_is_no_filter(api, mix):
    # As in an HTML form's query string: `status=` means "any status".
    assert len(api.get(CASES_URL, {"status": "", "updated_since": "", "doctor": ""}).json()["results"]) == 4


def test_doctor_of_another_hospital_is_a_400(api, doctor):
    outsider = DoctorFactory(hospital=HospitalFactory())
    CaseFactory(doctor=outsider)

    body = assert_json_error(api.get(CASES_URL, {"doctor": outsider.pk}), 400)

    assert list(body["errors"]) == ["doctor"]


def test_several_invalid_parameters_are_all_named(api, doctor):
    body = assert_json_error(api.get(CASES_URL, {"status": "x", "urgency": "y", "limit": "0"}), 400)

    assert set(body["errors"]) == {"status", "urgency", "limit"}


def _cursor(raw: str) -> str:
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    "cursor",
    [
        "",
        "not-a-cursor",
        "%%%",
        _cursor("2025-03-01T00:00:00+00:00"),
        _cursor("2025-03-01T00:00:00+00:00|x"),
        _cursor("2025-03-01T00:00:00|5"),  # naive: not one of ours
        _cursor("yesterday|5"),
        base64.urlsafe_b64encode(b"\xff\xfe|1").decode(),
    ],
)
def test_bad_cursor_is_a_400(api, doctor, cursor):
    body = assert_json_error(api.get(CASES_URL, {"cursor": cursor}), 400)

    assert body["code"] == "invalid_cursor"
    assert body["errors"] == {"cursor": [body["message"]]}


# --- Polling ------------------------------------------------------------------------------


def test_updated_since_polling_sees_a_case_again_after_it_is_approved(api, doctor):
    held = CaseFactory(doctor=doctor, updated_at=T0)
    CaseFactory(doctor=doctor, status=CaseStatus.AUTO_RELEASED, updated_at=T0 + timedelta(minutes=1))
    first = walk(api, CASES_URL)[-1]
    since = first[-1]["updated_at"]

    # Nothing changed since: the poll returns only the last case seen (inclusive bound).
    assert [row["id"] for row in walk(api, CASES_URL, updated_since=since)[0]] == [first[-1]["id"]]

    opened = case_open(case=held, doctor=doctor)
    case_approve(case=opened, doctor=doctor, version=opened.version)
    rows = [row for page in walk(api, CASES_URL, updated_since=since) for row in page]

    assert rows[-1]["id"] == held.pk
    assert rows[-1]["status"] == "approved"
    assert rows[-1]["decision"]["action"] == "approve"
    assert rows[-1]["final_answer"]


# --- Query count --------------------------------------------------------------------------


def _make_cases(doctor, count: int) -> None:
    for case in CaseFactory.create_batch(count, doctor=doctor, status=CaseStatus.APPROVED):
        Decision.objects.create(case=case, doctor=doctor, action=Decision.Action.APPROVE, final_text="Rest.")


def _queries_for_a_page(api, limit: int) -> int:
    api.get(CASES_URL, {"limit": 1})  # the client's last_used_at is written once a minute, not per page
    with CaptureQueriesContext(connection) as queries:
        response = api.get(CASES_URL, {"limit": limit, "status": "approved"})
    assert len(response.json()["results"]) == limit
    assert all(row["decision"]["doctor"] == row["doctor"] for row in response.json()["results"])
    return len(queries)


def test_a_page_takes_the_same_queries_whatever_its_size(api, doctor):
    _make_cases(doctor, 50)
    fifty = _queries_for_a_page(api, 50)
    _make_cases(doctor, 150)
    two_hundred = _queries_for_a_page(api, 200)

    # The client's token, then cases with patients, their messages, their decisions.
    assert fifty == two_hundred == 4


def test_a_patients_page_takes_the_same_queries_whatever_its_size(api, doctor, django_assert_num_queries):
    patient = PatientFactory(hospital=doctor.hospital)
    CaseFactory.create_batch(3, doctor=doctor, patient=patient)
    api.get(CASES_URL)

    # The token, the patient, then the page's three.
    with django_assert_num_queries(5):
        assert len(api.get(patient_cases_url(patient.pseudonym)).json()["results"]) == 3


# --- Scopes and hospitals -----------------------------------------------------------------


@pytest.mark.parametrize("url", [CASES_URL, patient_cases_url("P-T00000")])
def test_write_only_client_cannot_list(hospital, doctor, url):
    _client, token = api_client_create(hospital=hospital, name="Ingest only", scopes=["cases:write"])

    body = assert_json_error(bearer(token).get(url), 403)

    assert body["code"] == "permission_denied"
    assert "cases:read" in body["message"]


def test_read_only_client_lists_but_still_cannot_ingest(hospital, doctor):
    CaseFactory(doctor=doctor)
    _client, token = api_client_create(hospital=hospital, name="Reporting", scopes=["cases:read"])
    client = bearer(token)

    assert len(client.get(CASES_URL).json()["results"]) == 1
    assert len(client.head(CASES_URL).content) == 0
    body = assert_json_error(client.post(CASES_URL, {}, format="json"), 403)
    assert "cases:write" in body["message"]


def test_write_only_client_cannot_list_by_head_either(hospital, doctor):
    _client, token = api_client_create(hospital=hospital, name="Ingest only", scopes=["cases:write"])

    assert bearer(token).head(CASES_URL).status_code == 403


def test_unsupported_method_is_still_a_405(api):
    assert_json_error(api.put(CASES_URL, {}, format="json"), 405)
    assert_json_error(api.delete(patient_cases_url("P-T00000")), 405)


def test_no_token_is_a_401(db):
    assert_json_error(bearer("nope").get(CASES_URL), 401)


def test_another_hospitals_cases_never_appear(api, doctor):
    ours = CaseFactory(doctor=doctor, updated_at=T0)
    theirs = CaseFactory(doctor=DoctorFactory(hospital=HospitalFactory()), external_id=ours.external_id)

    rows = [row for page in walk(api, CASES_URL, limit=1) for row in page]

    assert [row["id"] for row in rows] == [ours.pk]
    assert ids(walk(api, CASES_URL, external_id=ours.external_id)) == [ours.pk]
    assert theirs.patient.pseudonym not in str(rows)


# --- GET /patients/{pseudonym}/cases/ -----------------------------------------------------


def test_patient_cases_lists_only_that_patients_cases_in_order(api, doctor, other_doctor):
    patient = PatientFactory(hospital=doctor.hospital)
    theirs = [
        CaseFactory(doctor=doctor, patient=patient, updated_at=T0 + timedelta(minutes=2)),
        CaseFactory(doctor=other_doctor, patient=patient, updated_at=T0),
        CaseFactory(doctor=doctor, patient=patient, updated_at=T0, status=CaseStatus.CLOSED),
    ]
    CaseFactory.create_batch(2, doctor=doctor, updated_at=T0)

    pages = walk(api, patient_cases_url(patient.pseudonym), limit=2)

    assert ids(pages) == in_list_order(theirs)
    assert {row["patient"] for page in pages for row in page} == {patient.pseudonym}
    assert ids(walk(api, patient_cases_url(patient.pseudonym), status="closed")) == [theirs[2].pk]
    assert ids(walk(api, patient_cases_url(patient.pseudonym), doctor=other_doctor.pk)) == [theirs[1].pk]


def test_patient_without_cases_is_an_empty_list(api, hospital):
    patient = PatientFactory(hospital=hospital)

    assert api.get(patient_cases_url(patient.pseudonym)).json() == {"results": [], "next": None}


@pytest.mark.parametrize("pseudonym", ["P-NOSUCH", "p-t00000", "%20"])
def test_unknown_patient_is_a_404(api, pseudonym):
    assert assert_json_error(api.get(patient_cases_url(pseudonym)), 404)["code"] == "not_found"


def test_another_hospitals_patient_is_a_404(api, doctor):
    outsider = DoctorFactory(hospital=HospitalFactory())
    case = CaseFactory(doctor=outsider)

    body = assert_json_error(api.get(patient_cases_url(case.patient.pseudonym)), 404)

    assert body["code"] == "not_found"
    assert case.external_id not in str(body)


def test_patient_list_bad_filter_and_cursor_are_400s(api, hospital):
    url = patient_cases_url(PatientFactory(hospital=hospital).pseudonym)

    assert assert_json_error(api.get(url, {"urgency": "high"}), 400)["errors"].keys() == {"urgency"}
    assert assert_json_error(api.get(url, {"cursor": "junk"}), 400)["code"] == "invalid_cursor"


# --- Schema -------------------------------------------------------------------------------


def test_schema_documents_the_lists(db):
    schema = bearer("unused").get("/api/v1/schema/", {"format": "json"}).json()

    for path in ("/api/v1/cases/", "/api/v1/patients/{pseudonym}/cases/"):
        operation = schema["paths"][path]["get"]
        names = {p["name"] for p in operation["parameters"] if p["in"] == "query"}
        assert names == {"status", "urgency", "doctor", "updated_since", "external_id", "limit", "cursor"}
        ref = operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
        page = schema["components"]["schemas"][ref.rsplit("/", 1)[-1]]
        assert set(page["properties"]) == {"results", "next"}
    assert "post" in schema["paths"]["/api/v1/cases/"]
