"""`manage.py bench_data`: the bench hospital is loaded fast and reads like real traffic (issue #7)."""

import io
import random
import re
from collections import Counter
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.db.models import Count, F, Max, Q
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import DoctorProfile, Hospital, User
from accounts.services import api_client_create
from reviews import webhook_tasks
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

on_postgresql = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="bench_data loads with PostgreSQL's COPY; CI runs it on PostgreSQL"
)

CASES = 2000
CJK = re.compile(r"[\u4e00-\u9fff]")
DECIDED = {
    CaseStatus.APPROVED: [Decision.Action.APPROVE],
    CaseStatus.CORRECTED: [Decision.Action.CORRECT],
    CaseStatus.TAKEN_OVER: [Decision.Action.TAKE_OVER],
}


@pytest.fixture
def loaded(db) -> str:
    out = io.StringIO()
    call_command("bench_data", "--cases", str(CASES), "--chunk-size", "700", stdout=out)
    return out.getvalue()


@on_postgresql
def test_loads_exactly_the_cases_asked_for_with_staff_patients_and_progress(loaded):
    hospital = Hospital.objects.get(slug="bench")
    assert Case.objects.filter(hospital=hospital).count() == CASES
    assert Patient.objects.filter(hospital=hospital).count() == CASES // 10
    assert User.objects.filter(hospital=hospital, role=User.Role.DOCTOR).count() == 50
    assert DoctorProfile.objects.filter(hospital=hospital).count() == 50
    assert User.objects.filter(hospital=hospital, role=User.Role.ADMIN).count() == 1
    assert len(set(DoctorProfile.objects.values_list("specialty", flat=True))) >= 3
    # Chunks of 700: three progress lines, then the totals and the timing.
    assert "700/2,000 cases" in loaded and "2,000/2,000 cases" in loaded
    assert re.search(r"rows in [\d.]+s \([\d,]+ rows/s\)", loaded)
    # The audit chain is the services' to write.
    assert not AuditEvent.objects.filter(hospital=hospital).exists()


@on_postgresql
def test_states_and_urgencies_follow_a_hospitals_traffic(loaded):
    statuses = Counter(Case.objects.values_list("status", flat=True))
    expected = {
        CaseStatus.AUTO_RELEASED: 0.55,
        CaseStatus.APPROVED: 0.20,
        CaseStatus.CORRECTED: 0.08,
        CaseStatus.TAKEN_OVER: 0.04,
        CaseStatus.CLOSED: 0.08,
        CaseStatus.AWAITING_REVIEW: 0.05,
    }
    for status, share in expected.items():
        assert abs(statuses[status] / CASES - share) < 0.035, (status, statuses)
    reviewed = Case.objects.exclude(status=CaseStatus.AUTO_RELEASED)
    urgencies = Counter(reviewed.values_list("urgency", flat=True))
    assert set(urgencies) == set(Urgency.values)
    assert urgencies[Urgency.ROUTINE] > urgencies[Urgency.SOON] > urgencies[Urgency.URGENT]
    assert not Case.objects.filter(status=CaseStatus.AUTO_RELEASED).exclude(urgency=Urgency.ROUTINE).exists()
    assert not Case.objects.filter(status=CaseStatus.AUTO_RELEASED).exclude(review_reasons=[]).exists()
    assert not reviewed.filter(review_reasons=[]).exists()
    # Flagged cases carry their flags; the urgent ones were raised by a flag.
    assert not reviewed.filter(urgency__lte=Urgency.URGENT, flags=[]).exists()
    # Every case is in its doctor's queue, as ingest puts it.
    assert not Case.objects.exclude(reviewer=F("doctor")).exists()
    waiting = Case.objects.filter(status=CaseStatus.AWAITING_REVIEW)
    assert waiting.filter(hold=True).exists()
    assert not Case.objects.exclude(status=CaseStatus.AWAITING_REVIEW).filter(hold=True).exists()
    now = timezone.now()
    assert not waiting.filter(received_at__lt=now - timedelta(days=3)).exists()
    oldest = Case.objects.order_by("received_at").first().received_at
    assert oldest < now - timedelta(days=150)


@on_postgresql
def test_every_case_has_its_conversation_in_both_languages(loaded):
    per_case = Case.objects.annotate(
        patient_messages=Count("messages", filter=Q(messages__author=Message.Author.PATIENT)),
        avatar_messages=Count("messages", filter=Q(messages__author=Message.Author.AVATAR)),
    )
    assert not per_case.filter(Q(patient_messages=0) | Q(avatar_messages=0)).exists()
    assert per_case.filter(patient_messages__gte=2).exists()  # some follow-ups
    previews = list(Case.objects.values_list("question_preview", flat=True))
    assert all(previews)
    chinese = sum(bool(CJK.search(p)) for p in previews)
    assert 0.3 < chinese / CASES < 0.7
    # The preview is the first patient message, as ingest makes it.
    case = Case.objects.order_by("?").first()
    first = case.messages.filter(author=Message.Author.PATIENT).order_by("sent_at", "id").first()
    assert case.question_preview == first.body[:200]
    # Patients write to one doctor's avatar, and some of them often.
    assert Case.objects.values("patient").annotate(n=Count("id")).filter(n__gte=20).exists()


@on_postgresql
def test_decided_cases_have_their_decisions_and_waiting_ones_none(loaded):
    by_case: dict[int, list[str]] = {}
    for case_id, action in Decision.objects.order_by("case_id", "created_at", "id").values_list("case_id", "action"):
        by_case.setdefault(case_id, []).append(action)
    for status, actions in DECIDED.items():
        cases = Case.objects.filter(status=status).values_list("pk", flat=True)
        assert cases
        assert all(by_case.get(pk) == actions for pk in cases), status
    closed = Case.objects.filter(status=CaseStatus.CLOSED).values_list("pk", flat=True)
    assert closed
    for pk in closed:
        decision, close = by_case[pk]
        assert decision in {Decision.Action.APPROVE, Decision.Action.CORRECT, Decision.Action.TAKE_OVER}
        assert close == Decision.Action.CLOSE
    undecided = Case.objects.filter(status__in=[CaseStatus.AUTO_RELEASED, CaseStatus.AWAITING_REVIEW])
    assert not Decision.objects.filter(case__in=undecided).exists()
    assert not Decision.objects.filter(action=Decision.Action.CORRECT, correction_category="").exists()
    assert not Decision.objects.exclude(doctor=F("case__doctor")).exists()
    # A taken-over conversation goes on with the doctor's own message, held by the doctor.
    taken_over = Case.objects.filter(status=CaseStatus.TAKEN_OVER)
    assert not taken_over.exclude(messages__author=Message.Author.DOCTOR).exists()
    assert not taken_over.exclude(claimed_by=F("doctor")).exists()


@on_postgresql
def test_appointments_come_with_pending_summaries_some_today_or_tomorrow(db):
    call_command("bench_data", "--cases", "20000", stdout=io.StringIO())
    appointments = Appointment.objects.filter(hospital__slug="bench").select_related("patient")
    assert appointments.count() == 20
    assert PreVisitSummary.objects.filter(appointment__in=appointments, status="pending").count() == 20
    today = timezone.localdate()
    days = {timezone.localdate(a.scheduled_at) for a in appointments}
    assert days & {today, today + timedelta(days=1)}
    for appointment in appointments:
        assert appointment.reason
        # The patient's visit is with the doctor whose avatar they write to.
        assert set(appointment.patient.cases.values_list("doctor", flat=True)) <= {appointment.doctor_id}
    assert sum(a.patient.cases.count() for a in appointments) > 20


@on_postgresql
def test_a_sample_of_every_kind_of_row_passes_the_models_validation(loaded):
    rng = random.Random(1)
    for model in (Case, Message, Decision, Patient, Appointment, PreVisitSummary, User, DoctorProfile):
        ids = list(model.objects.values_list("pk", flat=True))
        assert ids, model
        for row in model.objects.filter(pk__in=rng.sample(ids, min(40, len(ids)))):
            row.full_clean()


@on_postgresql
def test_a_bench_doctors_queue_page_renders(loaded, client):
    case = Case.objects.filter(status=CaseStatus.AWAITING_REVIEW).select_related("doctor", "patient").first()
    client.force_login(case.doctor)

    response = client.get(reverse("reviews:queue"))

    assert response.status_code == 200
    assert reverse("reviews:case", args=[case.pk]) in response.content.decode()
    assert case.patient.pseudonym in response.content.decode()


@on_postgresql
def test_ids_continue_after_the_load_so_the_api_can_add_cases_and_visits(loaded, monkeypatch):
    monkeypatch.setattr(webhook_tasks.webhook_deliver, "delay", lambda *ids: None)
    hospital = Hospital.objects.get(slug="bench")
    doctor = User.objects.get(email="doctor01@bench.example")
    _client, token = api_client_create(
        hospital=hospital, name="Bench platform", scopes=["cases:write", "cases:read", "appointments:write"]
    )
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    last_case = Case.objects.aggregate(m=Max("pk"))["m"]
    last_appointment = Appointment.objects.aggregate(m=Max("pk"))["m"]

    created = api.post(
        "/api/v1/cases/",
        {
            "external_id": "after-bench-1",
            "doctor": doctor.doctor_profile.licence_number,
            "patient_ref": "a-new-patient",
            "messages": [
                {
                    "author": "patient",
                    "body": "Is it fine to swim in the third trimester?",
                    "sent_at": "2026-01-01T09:00:00Z",
                },
                {"author": "avatar", "body": "Yes, gentle swimming is fine.", "sent_at": "2026-01-01T09:00:05Z"},
            ],
        },
        format="json",
    )
    booked = api.post(
        "/api/v1/appointments/",
        {
            "external_id": "after-bench-visit",
            "doctor": doctor.doctor_profile.licence_number,
            "patient_ref": "a-new-patient",
            "scheduled_at": (timezone.now() + timedelta(days=2)).isoformat(),
            "reason": "Antenatal check",
        },
        format="json",
    )

    assert created.status_code == 201, created.content
    assert created.json()["id"] > last_case
    assert booked.status_code == 201, booked.content
    assert booked.json()["id"] > last_appointment
    assert Case.objects.count() == CASES + 1


@on_postgresql
def test_a_second_run_is_refused_and_changes_nothing(loaded):
    before = (Case.objects.count(), Patient.objects.count(), User.objects.count())

    with pytest.raises(CommandError, match="already holds bench data"):
        call_command("bench_data", "--cases", "10", stdout=io.StringIO())

    assert (Case.objects.count(), Patient.objects.count(), User.objects.count()) == before


@pytest.mark.skipif(connection.vendor == "postgresql", reason="the refusal is SQLite's")
def test_sqlite_is_refused_with_a_clear_message(db):
    with pytest.raises(CommandError, match="needs PostgreSQL"):
        call_command("bench_data", "--cases", "10", stdout=io.StringIO())

    assert not Hospital.objects.filter(slug="bench").exists()
