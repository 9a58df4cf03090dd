"""Every decision is bound to a verified doctor (#8): an active user with the doctor role and a
licence (DoctorProfile) in the case's hospital.

The database refuses anything else (migration 0009's trigger, on PostgreSQL and SQLite), the
services refuse it first with a reason, and the API offers no way to decide at all.
"""

from datetime import timedelta

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import User
from reviews.exceptions import NotPermitted
from reviews.models import AuditEvent, Case, CaseStatus, Decision, WebhookEvent
from reviews.services import case_approve, case_close, case_correct, case_take_over

from .factories import CaseFactory, DoctorFactory, UserFactory

pytestmark = pytest.mark.django_db

REFUSED = "active doctor of the case's hospital"


def raw_decision(case: Case, user: User) -> Decision:
    """A decision written straight to the table, past every check of reviews.services."""
    return Decision.objects.create(case=case, doctor=user, action=Decision.Action.APPROVE, final_text="Rest.")


@pytest.fixture
def case(doctor):
    return CaseFactory(doctor=doctor)


@pytest.fixture
def inactive_doctor(hospital):
    return DoctorFactory(hospital=hospital, is_active=False)


@pytest.fixture
def unlicensed_doctor(hospital):
    """A user of the hospital with the doctor role but no DoctorProfile."""
    return UserFactory(hospital=hospital, role=User.Role.DOCTOR)


# --- The database -------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["hospital_admin", "inactive_doctor", "outside_doctor", "unlicensed_doctor"])
def test_the_database_refuses_a_decision_by_anyone_but_a_verified_doctor(request, case, who):
    user = request.getfixturevalue(who)

    with pytest.raises(IntegrityError, match=REFUSED), transaction.atomic():
        raw_decision(case, user)

    assert not Decision.objects.exists()


def test_the_database_takes_a_decision_by_a_doctor_of_the_cases_hospital(case, doctor, other_doctor):
    # A colleague of the same hospital qualifies too (escalation): the licence is the hospital's.
    raw_decision(case, doctor)
    raw_decision(case, other_doctor)

    assert list(Decision.objects.values_list("doctor_id", flat=True)) == [doctor.pk, other_doctor.pk]


def test_a_licence_in_another_hospital_does_not_count(case, hospital, outside_doctor):
    # The user moved to this hospital, but their licence is still the other one's.
    User.objects.filter(pk=outside_doctor.pk).update(hospital=hospital)

    with pytest.raises(IntegrityError, match=REFUSED), transaction.atomic():
        raw_decision(case, outside_doctor)

    assert not Decision.objects.exists()


def test_the_database_refuses_handing_a_decision_to_an_admin(case, doctor, hospital_admin):
    decision = raw_decision(case, doctor)

    with pytest.raises(IntegrityError, match=REFUSED), transaction.atomic():
        Decision.objects.filter(pk=decision.pk).update(doctor=hospital_admin)
    decision.doctor = hospital_admin
    with pytest.raises(IntegrityError, match=REFUSED), transaction.atomic():
        decision.save()

    assert Decision.objects.get(pk=decision.pk).doctor_id == doctor.pk


def test_the_database_refuses_moving_a_decision_to_another_hospitals_case(case, doctor, outside_doctor):
    decision = raw_decision(case, doctor)
    elsewhere = CaseFactory(doctor=outside_doctor)

    with pytest.raises(IntegrityError, match=REFUSED), transaction.atomic():
        Decision.objects.filter(pk=decision.pk).update(case=elsewhere)

    assert Decision.objects.get(pk=decision.pk).case_id == case.pk


def test_a_deactivated_doctors_decisions_stay_valid_history(case, doctor):
    decision = raw_decision(case, doctor)
    User.objects.filter(pk=doctor.pk).update(is_active=False)

    # Neither the doctor nor the case changes: nothing to re-judge.
    Decision.objects.filter(pk=decision.pk).update(note="Reviewed in the morning round.")

    assert Decision.objects.get(pk=decision.pk).note == "Reviewed in the morning round."


# --- The services ---------------------------------------------------------------------------


def _state(case: Case) -> dict:
    row = Case.objects.get(pk=case.pk)
    return {
        "status": row.status,
        "version": row.version,
        "hold": row.hold,
        "claimed_by": row.claimed_by_id,
        "decisions": Decision.objects.count(),
        "audit_events": AuditEvent.objects.count(),
        "webhook_events": WebhookEvent.objects.count(),
    }


def _held_case(user: User, *, status: str = CaseStatus.AWAITING_REVIEW, doctor: User) -> Case:
    """A case in the user's queue and claimed by them, so that only who they are can refuse them."""
    return CaseFactory(
        doctor=doctor,
        reviewer=user,
        status=status,
        claimed_by=user,
        claim_expires_at=timezone.now() + timedelta(minutes=10),
    )


def _approve(case: Case, user: User) -> None:
    case_approve(case=case, doctor=user, version=case.version)


def _correct(case: Case, user: User) -> None:
    case_correct(case=case, doctor=user, version=case.version, final_text="See a doctor today.", category="incomplete")


def _take_over(case: Case, user: User) -> None:
    case_take_over(case=case, doctor=user, version=case.version)


def _close(case: Case, user: User) -> None:
    case_close(case=case, doctor=user, version=case.version)


DECISIONS = [
    pytest.param(_approve, CaseStatus.AWAITING_REVIEW, id="approve"),
    pytest.param(_correct, CaseStatus.AWAITING_REVIEW, id="correct"),
    pytest.param(_take_over, CaseStatus.AWAITING_REVIEW, id="take_over"),
    pytest.param(_close, CaseStatus.TAKEN_OVER, id="close"),
]


@pytest.mark.parametrize(("decide", "status"), DECISIONS)
@pytest.mark.parametrize("who", ["hospital_admin", "inactive_doctor", "unlicensed_doctor"])
def test_the_services_refuse_a_decision_by_anyone_but_a_verified_doctor(request, doctor, decide, status, who):
    user = request.getfixturevalue(who)
    case = _held_case(user, status=status, doctor=doctor)
    before = _state(case)

    with pytest.raises(NotPermitted):
        decide(case, user)

    assert _state(case) == before


@pytest.mark.parametrize(("decide", "status"), DECISIONS)
def test_a_verified_doctor_decides_and_the_record_names_them(doctor, decide, status):
    case = _held_case(doctor, status=status, doctor=doctor)

    decide(case, doctor)

    [decision] = Decision.objects.filter(case=case)
    assert decision.doctor_id == doctor.pk
    assert AuditEvent.objects.filter(case=case, actor_user=doctor, details__decision_id=decision.pk).count() == 1


# --- The API --------------------------------------------------------------------------------


def _decision_urls(case: Case) -> list[str]:
    pages = [f"/cases/{case.pk}/{action}/" for action in ("approve", "correct", "take-over", "close")]
    # An integrator might guess at API routes shaped like the pages'.
    api = [f"/api/v1/cases/{case.pk}/{action}/" for action in ("approve", "correct", "take-over", "close", "decision")]
    return pages + api


@pytest.mark.parametrize("enforce_csrf", [True, False], ids=["csrf", "no-csrf"])
def test_an_api_client_cannot_decide_a_case(api_token, doctor, enforce_csrf):
    _, token = api_token
    case = _held_case(doctor, doctor=doctor)
    before = _state(case)
    client = APIClient(enforce_csrf_checks=enforce_csrf)
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    body = {"version": case.version, "final_text": "Take two tablets.", "category": "incomplete"}

    answers = {url: client.post(url, body) for url in _decision_urls(case)}
    answers[f"/api/v1/cases/{case.pk}/"] = client.patch(f"/api/v1/cases/{case.pk}/", {"status": "approved"})

    for url, response in answers.items():
        # A page answers a token with the sign-in page (or a CSRF refusal); the API has no such route.
        signing_in = response.status_code == 302 and response["Location"].startswith("/accounts/login/")
        assert signing_in or response.status_code in {401, 403, 404, 405}, (url, response.status_code)
    assert _state(case) == before
