"""`manage.py seed_demo`: what someone starting the demo signs in to and finds in the queues,
and that the demo texts are decided by the portal's own rules the way they are labelled."""

import re
from datetime import timedelta
from io import StringIO

import pytest
from django.contrib.auth import authenticate
from django.core.management import CommandError, call_command
from django.utils import timezone

from accounts.models import ApiClient, DoctorProfile, Hospital, User
from reviews.demo_content import PATIENTS, SCENARIOS, DemoPatient, Scenario
from reviews.models import (
    Appointment,
    AuditEvent,
    Case,
    CaseStatus,
    Decision,
    Message,
    Patient,
    PreVisitSummary,
    Urgency,
)
from reviews.policy import IncomingMessage, assess_case
from reviews.scrub import scrub_identifiers

from .factories import HospitalFactory

LOGINS = ["doctor1@demo.example", "doctor2@demo.example", "doctor3@demo.example", "admin@demo.example"]
CJK = re.compile(r"[\u4e00-\u9fff]")
# Phone numbers as patients type them: Chinese mobiles, landlines with an area code, +country numbers.
RAW_PHONE = re.compile(
    r"(?<!\d)(?:1[3-9]\d[\s-]?\d{4}[\s-]?\d{4}|0\d{2,3}[\s-]?\d{3,4}[\s-]?\d{4}|\+\d{1,3}[\s-]?\d{2,4}[\s-]?\d{3,4})"
)


@pytest.fixture(autouse=True)
def fast_password_hasher(settings):
    # Each seed hashes four passwords; with the production hasher that is seconds per test.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def no_demo_password(monkeypatch):
    # A DEMO_PASSWORD in the developer's shell must not change what these tests see.
    monkeypatch.delenv("DEMO_PASSWORD", raising=False)


def seed(*args: str) -> str:
    out = StringIO()
    call_command("seed_demo", *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def seeded(db) -> str:
    """The command's output after seeding the default demo hospital."""
    return seed()


def test_demo_logins_sign_in_with_the_demo_password(seeded):
    hospital = Hospital.objects.get(slug="demo")
    assert hospital.name == "Demo Hospital"
    for email in LOGINS:
        user = authenticate(username=email, password="demo-password")
        assert user is not None, email
        assert user.hospital == hospital
        assert email in seeded
    assert User.objects.get(email="admin@demo.example").role == User.Role.ADMIN
    profiles = DoctorProfile.objects.filter(hospital=hospital).select_related("user")
    assert {p.user.email for p in profiles} == set(LOGINS[:3])
    assert all(p.user.role == User.Role.DOCTOR and p.licence_number and p.avatar_name for p in profiles)
    specialties = [p.specialty for p in profiles]
    assert len(set(specialties)) == 3
    assert profiles.get(user__email="doctor1@demo.example").specialty == DoctorProfile.Specialty.OBSTETRICS
    assert 'Demo hospital "Demo Hospital" (slug demo): 3 doctors, 40 patients, 300 cases.' in seeded
    assert "http://127.0.0.1:8000/accounts/login/ with password demo-password" in seeded
    assert "Dr Chen Jing (Obstetrics)" in seeded
    # Seeding runs without the routine sample, then leaves the model's policy in place.
    assert hospital.routine_sample_rate == Hospital._meta.get_field("routine_sample_rate").default


def test_queues_hold_every_state_urgency_and_language(seeded):
    cases = Case.objects.filter(hospital__slug="demo")
    assert 280 <= cases.count() <= 320
    assert 35 <= Patient.objects.filter(hospital__slug="demo").count() <= 45
    assert set(cases.values_list("status", flat=True)) == set(CaseStatus.values)
    assert set(cases.values_list("urgency", flat=True)) == set(Urgency.values)

    questions = list(cases.values_list("question_preview", flat=True))
    chinese = sum(bool(CJK.search(q)) for q in questions)
    assert 0.4 <= chinese / len(questions) <= 0.6

    for doctor in User.objects.filter(hospital__slug="demo", role=User.Role.DOCTOR):
        waiting = cases.filter(doctor=doctor, status=CaseStatus.AWAITING_REVIEW)
        assert 40 <= waiting.count() <= 60, doctor.email
        assert set(waiting.values_list("urgency", flat=True)) == set(Urgency.values), doctor.email


def test_cases_read_like_real_reviewed_conversations(seeded):
    cases = Case.objects.filter(hospital__slug="demo").prefetch_related("messages", "decisions")
    now = timezone.now()
    for case in cases:
        authors = [m.author for m in case.messages.all()]
        assert authors[:2] == [Message.Author.PATIENT, Message.Author.AVATAR], case.external_id
        assert all(now - timedelta(days=15) < m.sent_at <= now for m in case.messages.all())
        decisions = {d.action: d for d in case.decisions.all()}
        assert all(d.doctor_id == case.doctor_id for d in decisions.values())
        if case.status == CaseStatus.APPROVED:
            assert decisions[Decision.Action.APPROVE].final_text == decisions[Decision.Action.APPROVE].original_text
        elif case.status == CaseStatus.CORRECTED:
            correction = decisions[Decision.Action.CORRECT]
            assert correction.correction_category in Decision.Category.values
            assert correction.final_text and correction.final_text != correction.original_text
        elif case.status == CaseStatus.TAKEN_OVER:
            assert Decision.Action.TAKE_OVER in decisions
            assert Message.Author.DOCTOR in authors
        elif case.status == CaseStatus.CLOSED:
            assert Decision.Action.CLOSE in decisions and len(decisions) == 2
        elif case.status in (CaseStatus.AUTO_RELEASED, CaseStatus.AWAITING_REVIEW):
            assert not decisions
        if case.urgency in (Urgency.EMERGENCY, Urgency.URGENT):
            assert case.flags, case.external_id

    waiting = [c for c in cases if c.status == CaseStatus.AWAITING_REVIEW]
    assert any("draft_prescription" in c.review_reasons for c in waiting)  # dosing drafts are held
    assert any(len([m for m in c.messages.all() if m.author == Message.Author.PATIENT]) > 1 for c in cases)
    matched = [f["matched_text"].lower() for c in cases for f in c.flags if f["source"] == "triage"]
    for red_flag in ("chest", "胎动减少", "呼吸困难", "seizure", "bleeding"):
        assert any(red_flag in m for m in matched), red_flag

    bodies = list(Message.objects.filter(case__hospital__slug="demo").values_list("body", flat=True))
    assert not [b for b in bodies if RAW_PHONE.search(b)]
    assert any("[phone]" in b for b in bodies)  # the patients who gave a number had it scrubbed


def test_each_doctor_sees_patients_today_and_tomorrow_with_their_summaries_ready(seeded):
    today = timezone.localdate()
    for doctor in User.objects.filter(hospital__slug="demo", role=User.Role.DOCTOR):
        visits = Appointment.objects.filter(doctor=doctor).select_related("summary", "patient")
        days = sorted(timezone.localdate(v.scheduled_at) - today for v in visits)
        assert days == [timedelta(0)] * 3 + [timedelta(1)] * 2, doctor.email
        assert len({v.patient_id for v in visits}) == 5
        for visit in visits:
            history = Case.objects.filter(doctor=doctor, patient=visit.patient)
            assert history.count() >= 2, visit.external_id
            assert visit.reason
            summary = visit.summary
            assert (summary.status, summary.stale) == ("ready", False), visit.external_id
            assert sorted(summary.source_case_ids) == sorted(history.values_list("pk", flat=True))
            assert summary.content["case_count"] == history.count()
    assert "15 appointments, 15 with their pre-visit summary ready." in seeded
    assert AuditEvent.objects.filter(action="appointment.created").count() == 15


def test_second_run_adds_nothing_and_keeps_changed_passwords(seeded):
    def counts() -> dict[str, int]:
        return {
            model.__name__: model.objects.count()
            for model in (
                Hospital,
                User,
                DoctorProfile,
                ApiClient,
                Patient,
                Case,
                Message,
                Decision,
                Appointment,
                PreVisitSummary,
                AuditEvent,
            )
        }

    before = counts()
    doctor = User.objects.get(email="doctor1@demo.example")
    doctor.set_password("my-own-password")
    doctor.save(update_fields=["password"])

    out = seed()

    assert counts() == before
    assert "Already seeded" in out
    assert authenticate(username="doctor1@demo.example", password="my-own-password") is not None
    assert authenticate(username="doctor1@demo.example", password="demo-password") is None


def test_another_slug_makes_a_separate_hospital_with_the_password_from_the_environment(db, monkeypatch):
    seed()
    monkeypatch.setenv("DEMO_PASSWORD", "plum-orchard-42")

    out = seed("--hospital", "north")

    north = Hospital.objects.get(slug="north")
    assert north.name == "North Hospital"
    doctor = authenticate(username="doctor1@north.example", password="plum-orchard-42")
    assert doctor is not None and doctor.hospital == north
    assert authenticate(username="doctor1@north.example", password="demo-password") is None
    assert authenticate(username="doctor1@demo.example", password="demo-password") is not None
    assert "doctor1@north.example" in out and "DEMO_PASSWORD" in out
    assert "plum-orchard-42" not in out  # it may be a real secret: never echoed
    assert Case.objects.filter(hospital=north).count() == Case.objects.filter(hospital__slug="demo").count()
    assert not Case.objects.filter(hospital=north).exclude(doctor__hospital=north).exists()
    assert not Case.objects.filter(hospital=north).exclude(patient__hospital=north).exists()


def test_unusable_slug_is_refused(db):
    with pytest.raises(CommandError, match="slug"):
        seed("--hospital", "North Wing")
    assert not Hospital.objects.exists()


def test_a_hospital_it_did_not_make_is_left_alone(db):
    hospital = HospitalFactory(slug="north", name="North District Hospital")

    with pytest.raises(CommandError, match="not made by seed_demo"):
        seed("--hospital", "north")

    assert not Case.objects.filter(hospital=hospital).exists()
    assert not User.objects.filter(hospital=hospital).exists()


# --- The texts themselves, against the live rules (no database) ---------------------------


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: f"{s.specialty}-{s.language}-{s.patient[:24]}")
def test_demo_text_is_triaged_as_labelled(scenario: Scenario):
    patients = [p for p in PATIENTS if scenario.fits(p)]
    assert patients, "no demo patient fits this story"
    for patient in patients:
        for days in (2, 5):

            def render(text: str, patient: DemoPatient = patient, days: int = days) -> str:
                return text.format(weeks=patient.weeks, months=patient.months, age=patient.age, days=days)

            turns = [("patient", scenario.patient), ("avatar", scenario.draft)]
            if scenario.follow_up:
                turns += [("patient", scenario.follow_up[0]), ("avatar", scenario.follow_up[1])]
            flags = (
                [{"code": scenario.avatar_flag[0], "reason": scenario.avatar_flag[1]}] if scenario.avatar_flag else []
            )
            assessment = assess_case(
                messages=[IncomingMessage(author, scrub_identifiers(render(text))) for author, text in turns],
                avatar_flags=flags,
                avatar_confidence=0.95,
                confidence_threshold=0.7,
                sample_rate=0.0,
                sample_key="",
            )
            assert assessment.urgency == scenario.urgency, patient.ref
            triage = [f for f in assessment.flags if f["source"] == "triage"]
            if scenario.urgency in ("soon", "routine"):
                assert not triage, [f["matched_text"] for f in triage]
            # What the avatar and the doctor write is stored as written: nothing in it looks like an identifier.
            for text in (scenario.draft, *(scenario.follow_up or ()), scenario.reply):
                assert scrub_identifiers(render(text)) == render(text)
