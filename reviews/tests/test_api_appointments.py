"""Appointments and pre-visit summaries over the API (DESIGN §8, issue #4), as a booking
system and a clinic's day-list system see them."""

import json
from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.services import api_client_create
from reviews import webhook_tasks
from reviews.models import Appointment, AuditEvent, Patient, PreVisitSummary
from reviews.previsit import summary_compile_run
from reviews.services import CaseIngestData, IngestMessage, case_ingest

from .factories import DoctorFactory, HospitalFactory

APPOINTMENTS_URL = "/api/v1/appointments/"
APPOINTMENT_KEYS = {"id", "external_id", "patient", "doctor", "scheduled_at", "reason", "summary_status"}
STATE_KEYS = {"status", "stale", "compiled_at", "format_version", "appointment"}
CONTENT_KEYS = {
    "patient",
    "case_count",
    "first_contact_at",
    "last_contact_at",
    "presenting_concerns",
    "timeline",
    "symptoms",
    "medications",
    "allergies",
    "red_flags",
    "decisions",
    "corrections",
    "open_questions",
    "last_advice",
}


def bearer(hospital, *scopes: str) -> APIClient:
    _client, token = api_client_create(hospital=hospital, name=f"Client {'+'.join(scopes)}", scopes=list(scopes))
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


@pytest.fixture
def booking(hospital):
    """The booking system's client: it creates appointments."""
    return bearer(hospital, "appointments:write")


@pytest.fixture
def day_list(hospital):
    """A clinic system that reads summaries only."""
    return bearer(hospital, "summaries:read")


@pytest.fixture(autouse=True)
def _webhooks_stay_in_the_outbox(monkeypatch):
    monkeypatch.setattr(webhook_tasks.webhook_deliver, "delay", lambda *ids: None)


def body(doctor, /, **overrides) -> dict:
    payload = {
        "external_id": "booking-1",
        "doctor": doctor.doctor_profile.licence_number,
        "patient_ref": "platform-patient-42",
        "scheduled_at": (timezone.now() + timedelta(days=3)).isoformat(),
        "reason": "Follow-up: headaches",
    }
    payload.update(overrides)
    return payload


def summary_url(appointment_id: int) -> str:
    return f"{APPOINTMENTS_URL}{appointment_id}/summary/"


def rows() -> tuple[int, int, int, int]:
    return (
        Appointment.objects.count(),
        PreVisitSummary.objects.count(),
        Patient.objects.count(),
        AuditEvent.objects.count(),
    )


# --- POST /appointments/ -----------------------------------------------------------------


def test_booking_answers_201_with_the_patients_pseudonym_and_a_pending_summary(booking, doctor):
    response = booking.post(APPOINTMENTS_URL, body(doctor, reason="Call me on 13800138000"), format="json")

    assert response.status_code == 201, response.json()
    data = response.json()
    assert set(data) == APPOINTMENT_KEYS
    appointment = Appointment.objects.get()
    assert data["id"] == appointment.pk
    assert data["patient"] == appointment.patient.pseudonym
    assert data["patient"].startswith("P-")
    assert data["doctor"] == doctor.doctor_profile.licence_number
    assert data["summary_status"] == "pending"
    assert data["reason"] == "Call me on [phone]"
    assert AuditEvent.objects.get(action="appointment.created").actor_api_client.name.startswith("Client")


def test_a_repeated_booking_answers_200_with_the_same_appointment(booking, doctor):
    first = booking.post(APPOINTMENTS_URL, body(doctor), format="json")
    again = booking.post(APPOINTMENTS_URL, body(doctor, reason="changed"), format="json")

    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == first.json()
    assert rows()[:2] == (1, 1)


def test_a_patient_with_cases_and_a_visit_today_gets_the_summary_compiled(
    booking, day_list, doctor, platform, django_capture_on_commit_callbacks
):
    case, _created = case_ingest(
        api_client=platform,
        data=CaseIngestData(
            external_id="conv-1",
            doctor_licence=doctor.doctor_profile.licence_number,
            patient_ref="platform-patient-42",
            messages=[IngestMessage("patient", "My headaches are worse in the mornings.", timezone.now())],
        ),
    )
    with django_capture_on_commit_callbacks(execute=True):
        response = booking.post(
            APPOINTMENTS_URL,
            body(doctor, scheduled_at=(timezone.now() + timedelta(hours=2)).isoformat()),
            format="json",
        )
    appointment_id = response.json()["id"]

    summary = day_list.get(summary_url(appointment_id))

    assert summary.status_code == 200
    data = summary.json()
    assert set(data) == STATE_KEYS | CONTENT_KEYS
    assert (data["status"], data["stale"], data["format_version"]) == ("ready", False, 1)
    assert data["appointment"]["id"] == appointment_id
    assert data["patient"]["pseudonym"] == response.json()["patient"] == case.patient.pseudonym
    assert data["presenting_concerns"][0]["case_id"] == case.pk
    detail = day_list.get(f"{APPOINTMENTS_URL}{appointment_id}/")
    assert detail.json()["summary_status"] == "ready"


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"colour": "blue"}, "colour"),
        ({"scheduled_at": "2026-11-26T09:30:00"}, "scheduled_at"),  # no time zone
        ({"scheduled_at": "26/11/2026 09:30"}, "scheduled_at"),
        ({"scheduled_at": "0001-01-01T00:00:00+08:00"}, "scheduled_at"),
        ({"scheduled_at": "2226-01-01T00:00:00Z"}, "scheduled_at"),
        ({"scheduled_at": 1764149400}, "scheduled_at"),
        ({"reason": "x" * 501}, "reason"),
        ({"external_id": ""}, "external_id"),
        ({"external_id": "e" * 101}, "external_id"),
        ({"patient_ref": None}, "patient_ref"),
        ({"doctor": "NO-SUCH-LICENCE"}, "doctor"),
    ],
)
def test_bad_input_is_a_400_naming_the_field_and_writes_nothing(booking, doctor, overrides, field):
    before = rows()

    response = booking.post(APPOINTMENTS_URL, body(doctor, **overrides), format="json")

    assert response.status_code == 400
    data = response.json()
    assert data["code"] == "invalid"
    assert field in data["errors"], data
    assert data["message"]
    assert rows() == before


@pytest.mark.parametrize("missing", ["external_id", "doctor", "patient_ref", "scheduled_at"])
def test_a_missing_field_is_a_400(booking, doctor, missing):
    payload = body(doctor)
    del payload[missing]
    response = booking.post(APPOINTMENTS_URL, payload, format="json")
    assert response.status_code == 400
    assert missing in response.json()["errors"]


def test_a_doctor_of_another_hospital_is_unknown_here(booking, outside_doctor):
    response = booking.post(APPOINTMENTS_URL, body(outside_doctor), format="json")
    assert response.status_code == 400
    assert "doctor" in response.json()["errors"]
    assert rows()[0] == 0


def test_a_body_that_is_not_an_object_is_a_400(booking):
    response = booking.post(APPOINTMENTS_URL, json.dumps([1, 2]), content_type="application/json")
    assert response.status_code == 400
    assert response.json()["code"] == "invalid"


# --- Scopes and hospitals ----------------------------------------------------------------


@pytest.fixture
def appointment(booking, doctor) -> Appointment:
    return Appointment.objects.get(pk=booking.post(APPOINTMENTS_URL, body(doctor), format="json").json()["id"])


@pytest.mark.parametrize(
    ("scopes", "create", "read", "summary"),
    [
        (("appointments:write",), 200, 200, 403),
        (("summaries:read",), 403, 200, 200),
        (("cases:read", "cases:write"), 403, 403, 403),
    ],
)
def test_each_operation_needs_its_scope(hospital, doctor, appointment, scopes, create, read, summary):
    client = bearer(hospital, *scopes)

    assert client.post(APPOINTMENTS_URL, body(doctor), format="json").status_code == create
    assert client.get(f"{APPOINTMENTS_URL}{appointment.pk}/").status_code == read
    response = client.get(summary_url(appointment.pk))
    assert response.status_code == summary
    if summary == 403:
        assert "summaries:read" in response.json()["message"]


def test_without_a_token_every_operation_is_a_401(appointment):
    anonymous = APIClient()
    assert anonymous.post(APPOINTMENTS_URL, {}, format="json").status_code == 401
    assert anonymous.get(f"{APPOINTMENTS_URL}{appointment.pk}/").status_code == 401
    assert anonymous.get(summary_url(appointment.pk)).status_code == 401


def test_another_hospitals_appointment_is_a_json_404(appointment):
    elsewhere = HospitalFactory()
    DoctorFactory(hospital=elsewhere)
    client = bearer(elsewhere, "appointments:write", "summaries:read")

    for path in (f"{APPOINTMENTS_URL}{appointment.pk}/", summary_url(appointment.pk)):
        response = client.get(path)
        assert response.status_code == 404
        assert response.json()["code"] == "not_found"
        assert appointment.patient.pseudonym not in response.content.decode()


def test_reading_an_appointment_shows_the_same_shape_as_booking(day_list, appointment, doctor):
    response = day_list.get(f"{APPOINTMENTS_URL}{appointment.pk}/")
    assert response.status_code == 200
    assert set(response.json()) == APPOINTMENT_KEYS
    assert response.json()["doctor"] == doctor.doctor_profile.licence_number


# --- GET /appointments/{id}/summary/ -----------------------------------------------------


def test_a_pending_summary_is_a_200_with_its_status_and_no_content(day_list, appointment):
    response = day_list.get(summary_url(appointment.pk))

    assert response.status_code == 200
    data = response.json()
    assert set(data) == STATE_KEYS
    assert (data["status"], data["stale"], data["compiled_at"], data["format_version"]) == ("pending", False, None, 0)
    assert data["appointment"]["id"] == appointment.pk
    assert data["appointment"]["reason"] == "Follow-up: headaches"


def test_a_failed_summary_says_so(day_list, appointment):
    PreVisitSummary.objects.filter(appointment=appointment).update(status="failed", error="ZeroDivisionError")

    data = day_list.get(summary_url(appointment.pk)).json()

    assert data["status"] == "failed"
    assert set(data) == STATE_KEYS
    assert "ZeroDivisionError" not in json.dumps(data)


def test_a_stale_summary_is_served_with_its_content_and_marked_stale(day_list, appointment):
    summary_compile_run(appointment.summary.pk)
    PreVisitSummary.objects.filter(appointment=appointment).update(stale=True)

    data = day_list.get(summary_url(appointment.pk)).json()

    assert (data["status"], data["stale"]) == ("ready", True)
    assert CONTENT_KEYS <= set(data)


def test_an_appointment_without_a_summary_row_reads_as_pending(day_list, appointment):
    PreVisitSummary.objects.filter(appointment=appointment).delete()
    assert day_list.get(summary_url(appointment.pk)).json()["status"] == "pending"
    assert day_list.get(f"{APPOINTMENTS_URL}{appointment.pk}/").json()["summary_status"] == "pending"


def test_the_schema_documents_the_appointment_operations(db):
    schema = json.loads(APIClient().get("/api/v1/schema/", {"format": "json"}).content)
    paths = schema["paths"]

    create = paths["/api/v1/appointments/"]["post"]
    assert {"201", "200", "400", "401", "403"} <= set(create["responses"])
    request = create["requestBody"]["content"]["application/json"]
    assert "examples" in request
    summary = paths["/api/v1/appointments/{appointment_id}/summary/"]["get"]
    assert {"200", "404"} <= set(summary["responses"])
    assert set(summary["responses"]["200"]["content"]["application/json"]["examples"]) >= {"StillCompiling", "Ready"}
    assert "get" in paths["/api/v1/appointments/{appointment_id}/"]


def test_a_method_an_operation_lacks_is_a_405_whatever_the_scopes(hospital, appointment):
    client = bearer(hospital, "cases:read")
    assert client.post(f"{APPOINTMENTS_URL}{appointment.pk}/", {}, format="json").status_code == 405
    assert client.get(APPOINTMENTS_URL).status_code == 405
