"""The admins' appointments page (book a visit, see the coming week) and the pre-visit
panel of the hospital overview."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from reviews.models import Appointment, AuditEvent, PreVisitSummary, ScheduledTaskRun
from reviews.tests.factories import CaseFactory, DoctorFactory, HospitalFactory, PatientFactory

pytestmark = pytest.mark.django_db

URL = "/manage/appointments/"
ROW = re.compile(r'<tr data-appointment-id="(\d+)" data-summary="(\w+)">')


@pytest.fixture
def signed_in(client, hospital_admin):
    client.force_login(hospital_admin)
    return client


@pytest.fixture
def patient(hospital):
    return PatientFactory(hospital=hospital, pseudonym="P-7F3K9Q", birth_year=1991, sex="female")


def rows(response) -> dict[int, str]:
    return {int(pk): state for pk, state in ROW.findall(response.content.decode())}


def local_input(at) -> str:
    """How a browser's datetime-local field sends a time: the hospital's wall clock, no zone."""
    return timezone.localtime(at).strftime("%Y-%m-%dT%H:%M")


def booking(who, **overrides) -> dict:
    return {
        "doctor": who.pk,
        "patient": "P-7F3K9Q",
        "scheduled_at": local_input(timezone.now() + timedelta(days=3)),
        "reason": "30-week antenatal check",
    } | overrides


def book(doctor, patient, at, **summary) -> Appointment:
    appointment = Appointment.objects.create(
        hospital=doctor.hospital, doctor=doctor, patient=patient, scheduled_at=at, reason="Follow-up of headaches"
    )
    PreVisitSummary.objects.create(appointment=appointment, **summary)
    return appointment


def field_errors(response, field: str) -> list[str]:
    page = response.content.decode()
    match = re.search(rf'<label for="id_{field}">.*?</p>', page, re.S)
    return re.findall(r'<span class="field-error">([^<]+)</span>', match.group(0)) if match else []


# --- The list --------------------------------------------------------------------------------


def test_the_list_shows_the_coming_week_without_clinical_content(signed_in, doctor, patient, outside_doctor):
    now = timezone.now()
    soon = book(doctor, patient, now + timedelta(hours=2), status="ready", content={"format_version": 1})
    later = book(doctor, patient, now + timedelta(days=6, hours=23), status="pending")
    failed = book(doctor, patient, now + timedelta(days=1), status="failed")
    book(doctor, patient, now - timedelta(hours=1), status="ready")  # over
    book(doctor, patient, now + timedelta(days=8), status="pending")  # not this week
    book(outside_doctor, PatientFactory(hospital=outside_doctor.hospital), now + timedelta(hours=3))

    response = signed_in.get(URL)

    assert response.status_code == 200
    assert list(rows(response).items()) == [(soon.pk, "ready"), (failed.pk, "failed"), (later.pk, "pending")]
    page = response.content.decode()
    assert doctor.display_name in page and "P-7F3K9Q" in page
    assert timezone.localtime(soon.scheduled_at).strftime("%Y-%m-%d %H:%M") in page
    # Who and when, not why: the reason and the summary stay with the doctor.
    assert "Follow-up of headaches" not in page
    assert f'href="{URL}"' in page and ">Appointments</a>" in page  # the nav link


def test_the_list_is_paged_and_costs_a_fixed_number_of_queries(
    signed_in, hospital, doctor, patient, django_assert_max_num_queries
):
    start = timezone.now() + timedelta(hours=1)
    for n in range(60):
        book(doctor, patient, start + timedelta(minutes=30 * n), status="pending")

    with django_assert_max_num_queries(12):
        first = signed_in.get(URL)
    second = signed_in.get(URL, {"page": 2})

    assert len(rows(first)) == 50 and len(rows(second)) == 10
    assert 'href="?page=2"' in first.content.decode() and "Page 1 of 2" in first.content.decode()
    page = signed_in.get(URL, {"page": 2}, HTTP_HX_REQUEST="true").content.decode()
    assert page.lstrip().startswith('<section id="appointment-list"') and "<html" not in page


# --- Booking ---------------------------------------------------------------------------------


def test_booking_an_appointment_creates_it_with_a_pending_summary_and_audits_it(
    signed_in, hospital_admin, doctor, patient
):
    at = timezone.now().replace(second=0, microsecond=0) + timedelta(days=3)

    response = signed_in.post(URL, booking(doctor, scheduled_at=local_input(at)), follow=True)

    appointment = Appointment.objects.get()
    assert (appointment.doctor, appointment.patient, appointment.scheduled_at) == (doctor, patient, at)
    assert appointment.reason == "30-week antenatal check" and appointment.hospital == doctor.hospital
    assert appointment.summary.status == "pending"
    event = AuditEvent.objects.get(action="appointment.created")
    assert event.actor_user == hospital_admin and event.details["appointment_id"] == appointment.pk
    assert response.redirect_chain == [(URL, 302)]
    page = response.content.decode()
    assert f"Appointment booked: P-7F3K9Q with {doctor.display_name}" in page
    assert appointment.pk in rows(response)


def test_booking_with_htmx_swaps_the_form_and_refreshes_the_list(signed_in, doctor, patient):
    response = signed_in.post(URL, booking(doctor, patient="p-7f3k9q "), HTTP_HX_REQUEST="true")

    appointment = Appointment.objects.get()
    body = response.content.decode()
    assert response.status_code == 200 and "<html" not in body
    assert body.lstrip().startswith('<form id="appointment-form"')
    assert 'value="P-7F3K9Q"' not in body  # a fresh form for the next booking
    assert re.search(r'<section id="appointment-list"[^>]* hx-swap-oob="true"', body)
    assert appointment.pk in rows(response)


def test_a_visit_inside_the_lead_window_is_compiled_at_once(
    signed_in, doctor, patient, django_capture_on_commit_callbacks
):
    CaseFactory(doctor=doctor, patient=patient, question_preview="I have had a headache since Monday.")

    with django_capture_on_commit_callbacks(execute=True):
        signed_in.post(URL, booking(doctor, scheduled_at=local_input(timezone.now() + timedelta(hours=3))))

    summary = Appointment.objects.get().summary
    summary.refresh_from_db()
    assert summary.status == "ready" and summary.content["patient"]["pseudonym"] == "P-7F3K9Q"
    assert rows(signed_in.get(URL)) == {summary.appointment_id: "ready"}


def test_identifiers_in_the_reason_are_removed(signed_in, doctor, patient):
    signed_in.post(URL, booking(doctor, reason="Call her on 13812345678 before the visit"))

    assert "13812345678" not in Appointment.objects.get().reason


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"patient": "P-NOPE00"}, "patient", "No patient of this hospital has the pseudonym P-NOPE00."),
        ({"patient": ""}, "patient", "This field is required."),
        ({"doctor": ""}, "doctor", "This field is required."),
        ({"scheduled_at": "next tuesday"}, "scheduled_at", "Enter a valid date/time."),
        ({"reason": "x" * 501}, "reason", "Ensure this value has at most 500 characters (it has 501)."),
    ],
)
def test_bad_input_is_a_form_error_and_books_nothing(signed_in, doctor, patient, overrides, field, message):
    response = signed_in.post(URL, booking(doctor, **overrides))

    assert response.status_code == 400
    assert message in field_errors(response, field)
    assert not Appointment.objects.exists()


def test_a_time_in_the_past_or_years_ahead_is_refused(signed_in, doctor, patient):
    past = signed_in.post(URL, booking(doctor, scheduled_at=local_input(timezone.now() - timedelta(hours=2))))
    far = signed_in.post(URL, booking(doctor, scheduled_at=local_input(timezone.now() + timedelta(days=400))))

    assert past.status_code == far.status_code == 400
    assert "This time has passed: choose one in the future." in field_errors(past, "scheduled_at")
    assert "Choose a time within the next year." in field_errors(far, "scheduled_at")
    assert not Appointment.objects.exists()


def test_another_hospitals_patient_or_doctor_cannot_be_booked(signed_in, doctor, patient, outside_doctor):
    PatientFactory(hospital=outside_doctor.hospital, pseudonym="P-AWAY01")

    other_patient = signed_in.post(URL, booking(doctor, patient="P-AWAY01"))
    other_doctor = signed_in.post(URL, booking(outside_doctor))

    assert "No patient of this hospital has the pseudonym P-AWAY01." in field_errors(other_patient, "patient")
    assert any("Select a valid choice" in e for e in field_errors(other_doctor, "doctor"))
    assert not Appointment.objects.exists()


def test_only_active_doctors_of_the_hospital_are_offered(signed_in, hospital, doctor, patient, hospital_admin):
    gone = DoctorFactory(hospital=hospital, full_name="Retired Doctor", is_active=False)
    DoctorFactory(hospital=HospitalFactory(), full_name="Far Away")

    page = signed_in.get(URL).content.decode()
    refused = signed_in.post(URL, booking(gone))

    options = re.findall(r'<option value="(\d+)"', page)
    assert options == [str(doctor.pk)]
    assert "Retired Doctor" not in page and "Far Away" not in page and hospital_admin.full_name not in options
    assert refused.status_code == 400 and not Appointment.objects.exists()


def test_the_form_errors_swap_in_place_with_htmx(signed_in, doctor, patient):
    response = signed_in.post(URL, booking(doctor, patient="P-NOPE00"), HTTP_HX_REQUEST="true")

    body = response.content.decode()
    assert response.status_code == 400 and body.lstrip().startswith('<form id="appointment-form"')
    assert 'value="P-NOPE00"' in body  # what was typed stays for correcting
    assert "hx-swap-oob" not in body


# --- The overview's pre-visit panel ------------------------------------------------------------


def panel(response) -> dict[str, str]:
    page = response.content.decode()
    return {
        key: re.sub(r"<[^>]+>", "", value).strip()
        for key, value in re.findall(r'<dd data-count="([\w-]+)"[^>]*>(.*?)</dd>', page, re.S)
    }


def test_the_overview_counts_the_summaries_of_the_visits_in_the_window(signed_in, hospital, doctor, patient):
    now = timezone.now()
    for status, stale in (("pending", False), ("pending", False), ("ready", False), ("ready", True), ("failed", False)):
        book(doctor, patient, now + timedelta(hours=5), status=status, stale=stale)
    book(doctor, patient, now + timedelta(days=5), status="pending")  # not due yet: not counted
    other = DoctorFactory()
    book(other, PatientFactory(hospital=other.hospital), now + timedelta(hours=2), status="failed")
    ScheduledTaskRun.objects.create(name="summaries_beat", last_finished_at=now - timedelta(minutes=2))

    numbers = panel(signed_in.get("/"))

    assert (numbers["pending"], numbers["ready"], numbers["failed"], numbers["stale"]) == ("2", "2", "1", "1")
    assert numbers["oldest-pending"].startswith("waiting for")
    assert numbers["last-beat"] == "2\xa0minutes ago"


def test_the_overview_says_when_the_beat_never_ran_or_is_late(signed_in, hospital):
    never = panel(signed_in.get("/"))
    assert never["last-beat"].startswith("never")
    assert "start Celery beat and a worker" in never["last-beat"]
    assert never["oldest-pending"] == "none"

    ScheduledTaskRun.objects.create(name="summaries_beat", last_finished_at=timezone.now() - timedelta(hours=1))
    late = panel(signed_in.get("/"))
    assert late["last-beat"].startswith("1\xa0hour ago") and "late: check that Celery beat" in late["last-beat"]


def test_doctors_do_not_see_the_admin_pages(client, doctor):
    client.force_login(doctor)

    assert client.get(URL).status_code == 403
    assert client.post(URL, booking(doctor)).status_code == 403
    assert not Appointment.objects.exists()
