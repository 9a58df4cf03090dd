"""Appointments and the pre-visit summary pipeline (DESIGN §7): booking, claiming,
compiling, the beat and the operator's counts. The compile is the real one
(reviews.previsit_compile) unless a test needs it to fail or to be overtaken."""

from datetime import timedelta

import pytest
from celery.exceptions import SoftTimeLimitExceeded
from django.utils import timezone

from reviews import previsit, previsit_batch, previsit_compile, previsit_tasks, webhook_tasks
from reviews.exceptions import InvalidInput
from reviews.models import Appointment, AuditEvent, PreVisitSummary, ScheduledTaskRun, WebhookEndpoint, WebhookEvent
from reviews.previsit import (
    SUMMARY_CLAIM_LEASE,
    SUMMARY_MAX_ATTEMPTS,
    appointment_create,
    summaries_claim,
    summaries_enqueue_due,
    summary_compile_run,
    summary_pipeline_status,
)
from reviews.services import CaseIngestData, IngestMessage, case_ingest

from .factories import AdminFactory, CaseFactory, DoctorFactory, HospitalFactory, PatientFactory


def book(doctor, *, hours: float, patient=None, **kwargs) -> Appointment:
    """An appointment `hours` from now with `doctor`, through the service."""
    if patient is None and "patient_ref" not in kwargs:
        patient = PatientFactory(hospital=doctor.hospital)
    appointment, _created = appointment_create(
        hospital=doctor.hospital,
        doctor=doctor,
        patient=patient,
        scheduled_at=timezone.now() + timedelta(hours=hours),
        **kwargs,
    )
    return appointment


def summary_of(appointment: Appointment) -> PreVisitSummary:
    return PreVisitSummary.objects.get(appointment=appointment)


def subscribe(hospital) -> WebhookEndpoint:
    return WebhookEndpoint.objects.create(
        hospital=hospital, url="https://booking.example/hooks", events=["summary.ready"], secret="s3cret"
    )


@pytest.fixture(autouse=True)
def _webhooks_stay_in_the_outbox(monkeypatch):
    # The events are what these tests check; sending them is reviews.webhooks' business.
    monkeypatch.setattr(webhook_tasks.webhook_deliver, "delay", lambda *ids: None)


@pytest.fixture
def sent(monkeypatch):
    """The beat's chunk messages, recorded instead of sent: one list of ids per message."""
    messages: list[tuple[int, ...]] = []
    monkeypatch.setattr(previsit_tasks.summaries_compile_chunk, "delay", lambda *ids: messages.append(ids))
    return messages


@pytest.fixture
def beat(django_capture_on_commit_callbacks):
    """Run the beat as Celery would: its messages go out as each claim commits."""

    def run() -> previsit.BeatRun:
        with django_capture_on_commit_callbacks(execute=True):
            return summaries_enqueue_due()

    return run


# --- Booking -----------------------------------------------------------------------------


def test_booking_outside_the_lead_window_stores_a_pending_summary_and_an_audit_event(
    doctor, hospital_admin, django_capture_on_commit_callbacks
):
    patient = PatientFactory(hospital=doctor.hospital)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        appointment, created = appointment_create(
            hospital=doctor.hospital,
            doctor=doctor,
            patient=patient,
            scheduled_at=timezone.now() + timedelta(days=3),
            reason="Follow-up, call me on 138 0013 8000",
            user=hospital_admin,
        )

    assert created
    assert callbacks == []  # nothing to compile yet: the beat does it when the visit is near
    assert appointment.reason == "Follow-up, call me on [phone]"
    summary = summary_of(appointment)
    assert (summary.status, summary.compile_started_at, summary.attempts) == ("pending", None, 0)
    event = AuditEvent.objects.get(action="appointment.created")
    assert event.actor_user == hospital_admin
    assert event.details["appointment_id"] == appointment.pk
    assert event.details["patient_id"] == patient.pk
    assert "138" not in str(event.details)


def test_booking_inside_the_lead_window_compiles_once_committed(doctor, django_capture_on_commit_callbacks):
    patient = PatientFactory(hospital=doctor.hospital)
    case = CaseFactory(doctor=doctor, patient=patient)
    subscribe(doctor.hospital)

    with django_capture_on_commit_callbacks(execute=True):
        appointment = book(doctor, hours=3, patient=patient, external_id="bk-1")

    summary = summary_of(appointment)
    assert summary.status == "ready"
    assert (summary.stale, summary.compile_started_at, summary.attempts, summary.error) == (False, None, 0, "")
    assert summary.format_version == previsit_compile.FORMAT_VERSION
    assert summary.source_case_ids == [case.pk]
    assert summary.content["patient"]["pseudonym"] == patient.pseudonym
    assert summary.content["presenting_concerns"][0]["case_id"] == case.pk
    event = WebhookEvent.objects.get(type="summary.ready")
    assert event.payload["appointment"] == {
        "id": appointment.pk,
        "external_id": "bk-1",
        "scheduled_at": appointment.scheduled_at.isoformat(),
    }
    assert event.payload["patient"] == patient.pseudonym
    assert event.payload["summary_url"] == f"/api/v1/appointments/{appointment.pk}/summary/"
    assert event.payload["format_version"] == previsit_compile.FORMAT_VERSION
    # Where to fetch it, never what it says.
    assert case.question_preview[:30] not in str(event.payload)


def test_booking_is_idempotent_on_external_id(doctor, platform):
    first, created = appointment_create(
        hospital=doctor.hospital,
        doctor=doctor,
        patient_ref="patient-9",
        external_id="bk-7",
        scheduled_at=timezone.now() + timedelta(days=2),
        api_client=platform,
    )
    again, created_again = appointment_create(
        hospital=doctor.hospital,
        doctor=doctor,
        patient_ref="patient-9",
        external_id="bk-7",
        scheduled_at=timezone.now() + timedelta(days=5),
        api_client=platform,
    )

    assert (created, created_again) == (True, False)
    assert again.pk == first.pk
    assert again.scheduled_at == first.scheduled_at
    assert Appointment.objects.count() == PreVisitSummary.objects.count() == 1
    assert AuditEvent.objects.filter(action="appointment.created").count() == 1
    assert AuditEvent.objects.get(action="appointment.created").actor_api_client == platform


def test_the_same_patient_reference_is_the_same_patient(doctor):
    one = book(doctor, hours=50, patient_ref="patient-9")
    two = book(doctor, hours=70, patient_ref="patient-9")
    assert one.patient_id == two.patient_id


@pytest.mark.parametrize(
    ("who", "field"),
    [("outside_doctor", "doctor"), ("inactive_doctor", "doctor"), ("admin", "doctor"), ("foreign_patient", "patient")],
)
def test_booking_refuses_what_is_not_of_this_hospital_and_writes_nothing(hospital, doctor, outside_doctor, who, field):
    inactive = DoctorFactory(hospital=hospital, is_active=False)
    with_doctor = {
        "outside_doctor": outside_doctor,
        "inactive_doctor": inactive,
        "admin": AdminFactory(hospital=hospital),
    }
    patient = PatientFactory(hospital=outside_doctor.hospital if who == "foreign_patient" else hospital)

    with pytest.raises(InvalidInput) as refused:
        appointment_create(
            hospital=hospital,
            doctor=with_doctor.get(who, doctor),
            patient=patient,
            scheduled_at=timezone.now() + timedelta(hours=2),
        )

    assert refused.value.field == field
    assert Appointment.objects.count() == PreVisitSummary.objects.count() == AuditEvent.objects.count() == 0


def test_booking_needs_a_time_zone_and_a_patient(doctor):
    patient = PatientFactory(hospital=doctor.hospital)
    with pytest.raises(InvalidInput) as naive:
        appointment_create(
            hospital=doctor.hospital, doctor=doctor, patient=patient, scheduled_at=timezone.now().replace(tzinfo=None)
        )
    with pytest.raises(InvalidInput) as nobody:
        appointment_create(hospital=doctor.hospital, doctor=doctor, scheduled_at=timezone.now())
    assert (naive.value.field, nobody.value.field) == ("scheduled_at", "patient")
    assert Appointment.objects.count() == 0


# --- Compiling ---------------------------------------------------------------------------


def test_a_redelivered_compile_of_a_summary_compiled_since_does_nothing(doctor, django_capture_on_commit_callbacks):
    subscribe(doctor.hospital)
    appointment = book(doctor, hours=3)
    summary = summary_of(appointment)

    with django_capture_on_commit_callbacks(execute=True):
        first = summary_compile_run(summary.pk)
        again = summary_compile_run(summary.pk)

    assert first.status == again.status == "ready"
    assert again.compiled_at == first.compiled_at
    assert again.attempts == 0
    assert WebhookEvent.objects.filter(type="summary.ready").count() == 1


def test_a_case_arriving_during_the_compile_leaves_the_summary_stale_for_the_next_beat(doctor, platform, monkeypatch):
    patient = PatientFactory(hospital=doctor.hospital, ref_hash=previsit_ref_hash(doctor.hospital, "patient-5"))
    first_case = CaseFactory(doctor=doctor, patient=patient)
    appointment = book(doctor, hours=30, patient=patient)
    real_compile = previsit_compile.compile_previsit_summary
    late = {}

    def compile_then_a_case_arrives(appointment):
        compiled = real_compile(appointment)  # read the history
        late["case"], _ = case_ingest(api_client=platform, data=ingest_data(doctor, "patient-5", "late-1"))
        return compiled

    monkeypatch.setattr(previsit_compile, "compile_previsit_summary", compile_then_a_case_arrives)
    summary = summary_compile_run(summary_of(appointment).pk)

    assert (summary.status, summary.stale) == ("ready", True)
    assert summary.source_case_ids == [first_case.pk]
    monkeypatch.setattr(previsit_compile, "compile_previsit_summary", real_compile)
    doctor.hospital.summary_lead_hours = 48
    doctor.hospital.save()
    assert summaries_claim(previsit.summaries_due(now=timezone.now())) == [summary.pk]
    recompiled = summary_compile_run(summary.pk)
    assert (recompiled.status, recompiled.stale) == ("ready", False)
    assert recompiled.source_case_ids == [first_case.pk, late["case"].pk]


def previsit_ref_hash(hospital, ref: str) -> str:
    from reviews.services import patient_ref_hash

    return patient_ref_hash(hospital=hospital, patient_ref=ref)


def ingest_data(doctor, patient_ref: str, external_id: str) -> CaseIngestData:
    return CaseIngestData(
        external_id=external_id,
        doctor_licence=doctor.doctor_profile.licence_number,
        patient_ref=patient_ref,
        messages=[IngestMessage("patient", "My headache is back since this morning.", timezone.now())],
    )


def test_a_failed_compile_is_recorded_and_the_claim_held_for_the_retry(doctor, monkeypatch):
    appointment = book(doctor, hours=3)
    monkeypatch.setattr(previsit_compile, "compile_previsit_summary", broken_compile)

    with pytest.raises(ZeroDivisionError):
        summary_compile_run(summary_of(appointment).pk)

    summary = summary_of(appointment)
    assert (summary.status, summary.error, summary.attempts) == ("failed", "ZeroDivisionError", 1)
    # Held for one lease: the task's own retries run alone meanwhile, the beat keeps off.
    assert summary.compile_started_at is not None
    assert summaries_claim([summary.pk]) == []


def broken_compile(appointment):
    raise ZeroDivisionError


def test_a_ready_summary_whose_recompile_fails_stays_ready_and_stale(doctor, monkeypatch):
    appointment = book(doctor, hours=3)
    summary = summary_compile_run(summary_of(appointment).pk)
    PreVisitSummary.objects.filter(pk=summary.pk).update(stale=True)
    monkeypatch.setattr(previsit_compile, "compile_previsit_summary", broken_compile)

    with pytest.raises(ZeroDivisionError):
        summary_compile_run(summary.pk)

    after = summary_of(appointment)
    assert (after.status, after.stale, after.error) == ("ready", True, "ZeroDivisionError")
    assert after.content == summary.content
    assert after.compiled_at == summary.compiled_at


def test_only_the_compile_that_started_last_writes(doctor, monkeypatch, django_capture_on_commit_callbacks):
    """A compile overtaken by a later one (a redelivery, a compile by hand) drops its result."""
    subscribe(doctor.hospital)
    appointment = book(doctor, hours=3)
    summary_id = summary_of(appointment).pk
    real_compile = previsit_compile.compile_previsit_summary
    later = {}

    def overtaken(appointment):
        compiled = real_compile(appointment)
        monkeypatch.setattr(previsit_compile, "compile_previsit_summary", real_compile)
        later["summary"] = summary_compile_run(summary_id, force=True)
        return compiled

    monkeypatch.setattr(previsit_compile, "compile_previsit_summary", overtaken)
    with django_capture_on_commit_callbacks(execute=True):
        first = summary_compile_run(summary_id)

    assert first.compiled_at == later["summary"].compiled_at  # the later compile's write stands
    assert (first.status, first.compile_started_at, first.attempts) == ("ready", None, 0)
    assert WebhookEvent.objects.filter(type="summary.ready").count() == 1


def test_a_summary_out_of_attempts_is_failed_not_compiled(doctor, monkeypatch):
    appointment = book(doctor, hours=3)
    PreVisitSummary.objects.filter(appointment=appointment).update(attempts=SUMMARY_MAX_ATTEMPTS)
    monkeypatch.setattr(previsit_compile, "compile_previsit_summary", broken_compile)

    summary = summary_compile_run(summary_of(appointment).pk)  # the broken compile is not run

    assert (summary.status, summary.error, summary.attempts) == ("failed", "GaveUp", SUMMARY_MAX_ATTEMPTS)
    assert list(previsit.summaries_due(now=timezone.now())) == []


def test_a_chunk_goes_on_past_a_failure_and_hands_back_what_it_had_no_time_for(doctor, monkeypatch):
    ids = [summary_of(book(doctor, hours=3 + i)).pk for i in range(4)]  # claimed as they were booked
    broken_appointment = PreVisitSummary.objects.get(pk=ids[0]).appointment_id
    real_compile = previsit_batch.previsit_summary_from_history

    def compile_(appointment, **history):
        if appointment.pk == broken_appointment:
            raise ZeroDivisionError
        return real_compile(appointment, **history)

    monkeypatch.setattr(previsit_batch, "previsit_summary_from_history", compile_)
    previsit_tasks.summaries_compile_chunk(*ids[:2])

    rows = {s.pk: s for s in PreVisitSummary.objects.all()}
    assert rows[ids[0]].compile_started_at is not None  # still claimed: the beat retries it after the lease
    assert (rows[ids[1]].status, rows[ids[1]].compile_started_at) == ("ready", None)

    def out_of_time(appointment, **history):
        raise SoftTimeLimitExceeded

    monkeypatch.setattr(previsit_batch, "previsit_summary_from_history", out_of_time)
    previsit_tasks.summaries_compile_chunk(*ids[2:])

    rows = {s.pk: s for s in PreVisitSummary.objects.all()}
    # A chunk out of time writes nothing and is the next beat's again.
    assert rows[ids[2]].compile_started_at is None
    assert rows[ids[3]].compile_started_at is None


# --- The beat ----------------------------------------------------------------------------


def test_the_beat_enqueues_what_is_due_in_each_hospitals_lead_window(doctor, sent, beat):
    near = HospitalFactory(summary_lead_hours=24)
    far = HospitalFactory(summary_lead_hours=48)
    near_doctor, far_doctor = DoctorFactory(hospital=near), DoctorFactory(hospital=far)
    due = [book(near_doctor, hours=20), book(far_doctor, hours=30), book(near_doctor, hours=-0.5)]
    not_due = [book(near_doctor, hours=30), book(far_doctor, hours=50), book(near_doctor, hours=-2)]
    PreVisitSummary.objects.update(compile_started_at=None)  # as if booked before the window opened
    # An appointment stored without its summary row (another way in than appointment_create).
    bare = Appointment.objects.create(
        hospital=near, doctor=near_doctor, patient=PatientFactory(hospital=near), scheduled_at=timezone.now()
    )

    run = beat()

    assert (run.missing, run.claimed, run.messages) == (1, 4, 1)
    expected = sorted(summary_of(a).pk for a in [*due, bare])
    assert sorted(sent[0]) == expected
    assert all(summary_of(a).compile_started_at is None for a in not_due)
    beat = ScheduledTaskRun.objects.get(name="summaries_beat")
    assert beat.last_finished_at >= beat.last_started_at
    assert beat.details == {"missing": 1, "claimed": 4, "messages": 1}


def test_the_beat_selects_pending_stale_failed_and_old_format_but_not_fresh_or_claimed(doctor, sent, beat):
    rows = {
        name: summary_of(book(doctor, hours=2 + i))
        for i, name in enumerate(
            ["pending", "stale", "failed", "old_format", "fresh", "claimed", "lease_expired", "out_of_attempts"]
        )
    }
    now = timezone.now()
    version = previsit_compile.FORMAT_VERSION
    PreVisitSummary.objects.update(compile_started_at=None)
    updates = {
        "stale": {"status": "ready", "stale": True, "format_version": version},
        "failed": {"status": "failed", "attempts": 2},
        "old_format": {"status": "ready", "format_version": version - 1},
        "fresh": {"status": "ready", "format_version": version},
        "claimed": {"compile_started_at": now - timedelta(minutes=1)},
        "lease_expired": {"compile_started_at": now - SUMMARY_CLAIM_LEASE - timedelta(minutes=1)},
        "out_of_attempts": {"status": "failed", "attempts": SUMMARY_MAX_ATTEMPTS},
    }
    for name, fields in updates.items():
        PreVisitSummary.objects.filter(pk=rows[name].pk).update(**fields)

    beat()

    due = {"pending", "stale", "failed", "old_format", "lease_expired"}
    assert sorted(sent[0]) == sorted(rows[name].pk for name in due)


def test_a_second_beat_sends_nothing_the_first_sent(doctor, sent, beat):
    for hours in (2, 3, 4):
        book(doctor, hours=hours)
    PreVisitSummary.objects.update(compile_started_at=None)

    first, second = beat(), beat()

    assert (first.claimed, second.claimed) == (3, 0)
    assert len(sent) == 1


def test_the_beat_in_process_compiles_every_due_summary(doctor, django_capture_on_commit_callbacks):
    """With no broker (the demo), the chunk task runs as it is sent."""
    appointments = [book(doctor, hours=hours) for hours in (2, 3)]
    PreVisitSummary.objects.update(compile_started_at=None)
    with django_capture_on_commit_callbacks(execute=True):
        previsit_tasks.summaries_beat.delay()
    assert [summary_of(a).status for a in appointments] == ["ready", "ready"]


def test_ten_thousand_appointments_take_a_hundred_messages_and_a_bounded_number_of_queries(
    doctor, sent, beat, django_assert_max_num_queries
):
    patients = PatientFactory.create_batch(20, hospital=doctor.hospital)
    start = timezone.now() + timedelta(hours=1)
    Appointment.objects.bulk_create(
        Appointment(
            hospital=doctor.hospital,
            doctor=doctor,
            patient=patients[i % 20],
            scheduled_at=start + timedelta(seconds=i),
        )
        for i in range(10_000)
    )

    # 10 inserts of 1 000 missing rows and 100 claims, plus a handful.
    with django_assert_max_num_queries(10 + 100 + 10):
        run = beat()

    assert (run.missing, run.claimed, run.messages) == (10_000, 10_000, 100)
    assert len(sent) == 100
    assert all(len(ids) <= 100 for ids in sent)
    ids = [i for chunk in sent for i in chunk]
    assert len(ids) == len(set(ids)) == PreVisitSummary.objects.count() == 10_000


# --- The operator's view -----------------------------------------------------------------


def test_the_pipeline_status_counts_what_the_beat_is_responsible_for(doctor, outside_doctor):
    pending = book(doctor, hours=2)
    ready = book(doctor, hours=3)
    summary_compile_run(summary_of(ready).pk)
    failed = book(doctor, hours=4)
    PreVisitSummary.objects.filter(appointment=failed).update(status="failed")
    stale = book(doctor, hours=5)
    summary_compile_run(summary_of(stale).pk)
    PreVisitSummary.objects.filter(appointment=stale).update(stale=True)
    book(doctor, hours=24 * 7)  # pending, but not due for days: not counted
    book(outside_doctor, hours=2)  # another hospital's

    status = summary_pipeline_status(hospital=doctor.hospital)

    assert (status.pending, status.ready, status.failed, status.stale) == (1, 2, 1, 1)
    # Booked inside the window: pending since it was booked.
    assert status.oldest_pending_since == pending.created_at
    assert status.last_beat_at is None
    everywhere = summary_pipeline_status()
    assert everywhere.pending == 2


def test_a_pending_summary_is_waiting_since_its_visit_entered_the_window(doctor):
    appointment = book(doctor, hours=10)
    Appointment.objects.filter(pk=appointment.pk).update(created_at=timezone.now() - timedelta(days=30))

    status = summary_pipeline_status(hospital=doctor.hospital)

    lead = timedelta(hours=doctor.hospital.summary_lead_hours)
    assert status.oldest_pending_since == appointment.scheduled_at - lead


def test_the_pipeline_status_shows_the_last_beat(doctor, sent, beat, django_assert_max_num_queries):
    run_at = timezone.now()
    beat()
    with django_assert_max_num_queries(2):
        status = summary_pipeline_status()
    assert status.last_beat_at >= run_at


def test_a_booking_whose_compile_fails_is_still_booked_and_the_beat_retries_after_the_lease(
    doctor, monkeypatch, django_capture_on_commit_callbacks
):
    monkeypatch.setattr(previsit_compile, "compile_previsit_summary", broken_compile)

    with django_capture_on_commit_callbacks(execute=True):
        appointment = book(doctor, hours=3)

    summary = summary_of(appointment)
    assert (summary.status, summary.attempts, summary.error) == ("failed", 1, "ZeroDivisionError")
    assert list(previsit.summaries_due(now=timezone.now())) == []  # the task's own retries come first
    later = timezone.now() + SUMMARY_CLAIM_LEASE + timedelta(seconds=1)
    assert list(previsit.summaries_due(now=later)) == [summary]
