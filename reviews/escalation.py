"""SLA escalation (DESIGN §5): an urgent or emergency case still awaiting review after its
due time goes to the hospital's other doctors of the same specialty as well.

Run by the beat every minute (`reviews.escalation_tasks.cases_escalate`). Each breach is
escalated once: the case remembers which due time it escalated (`escalated_due_at`), and
the unique constraint on (case, doctor, breach_due_at) holds even if two beats overlap.
A due time that moves (a new urgent message, a reopened case) makes a new breach.
"""

from collections import defaultdict
from datetime import datetime

from django.db import transaction
from django.db.models import F, QuerySet
from django.utils import timezone

from accounts.models import DoctorProfile, User

from .audit import audit_event, audit_records_bulk
from .models import ESCALATION_PENDING, Case, CaseEscalation, CaseStatus, Urgency

ESCALATION_CHUNK = 200  # cases per transaction: locks held briefly, one INSERT of escalations each


def cases_breached(*, now: datetime) -> QuerySet[Case]:
    """Urgent and emergency cases awaiting review past their due time, breach not yet escalated.

    Exactly the condition of the partial index `case_escalation_due_idx`, so the beat reads
    that small index however many cases the hospital has decided.
    """
    return Case.objects.filter(
        ESCALATION_PENDING, status=CaseStatus.AWAITING_REVIEW, urgency__lte=Urgency.URGENT, due_at__lt=now
    )


def _colleagues(cases: list[Case]) -> dict[int, list[int]]:
    """{case id: ids of the active doctors of its hospital and its doctor's specialty, but for
    the case's own doctor and reviewer}, in two queries for the whole chunk."""
    specialty = dict(
        DoctorProfile.objects.filter(user_id__in={case.doctor_id for case in cases}).values_list("user_id", "specialty")
    )
    teams: dict[tuple[int, str], list[int]] = defaultdict(list)
    for user_id, hospital_id, user_specialty in (
        User.objects.filter(
            hospital_id__in={case.hospital_id for case in cases},
            role=User.Role.DOCTOR,
            is_active=True,
            doctor_profile__specialty__in=set(specialty.values()),
        )
        .order_by("pk")
        .values_list("pk", "hospital_id", "doctor_profile__specialty")
    ):
        teams[(hospital_id, user_specialty)].append(user_id)
    return {
        case.pk: [
            user_id
            for user_id in teams.get((case.hospital_id, specialty.get(case.doctor_id, "")), [])
            if user_id not in (case.doctor_id, case.reviewer_id)
        ]
        for case in cases
    }


def _escalate_chunk(*, now: datetime) -> int:
    """Escalate up to ESCALATION_CHUNK breaches in one transaction; returns how many."""
    with transaction.atomic():
        # SKIP LOCKED: a case a doctor is deciding right now is left to the next beat, which
        # finds it escalated no more if the decision went through.
        cases = list(
            cases_breached(now=now)
            .select_for_update(skip_locked=True, of=("self",))
            .select_related("hospital")
            .order_by("due_at", "id")[:ESCALATION_CHUNK]
        )
        if not cases:
            return 0
        colleagues = _colleagues(cases)
        CaseEscalation.objects.bulk_create(
            [
                CaseEscalation(case=case, doctor_id=doctor_id, breach_due_at=case.due_at, created_at=now)
                for case in cases
                for doctor_id in colleagues[case.pk]
            ],
            ignore_conflicts=True,
        )
        audit_records_bulk(
            audit_event(
                hospital=case.hospital,
                case=case,
                action="case.escalated",
                # With no colleague of the specialty, the record shows the breach went to nobody.
                details={
                    "breach_due_at": case.due_at.isoformat(),
                    "urgency": case.urgency_code,
                    "reviewer": case.reviewer_id,
                    "to": colleagues[case.pk],
                },
            )
            for case in cases
        )
        # Neither version nor updated_at: escalation changes who may answer, not the case, and
        # a doctor's open form must not turn into a conflict because colleagues were alerted.
        Case.objects.filter(pk__in=[case.pk for case in cases]).update(escalated_due_at=F("due_at"))
        return len(cases)


def cases_escalate_breached(*, now: datetime | None = None) -> int:
    """Escalate every SLA breach not escalated yet; returns how many cases were escalated.

    Safe to run twice, and twice at once: an escalated breach leaves `cases_breached`, and
    two beats lock disjoint cases.
    """
    now = now or timezone.now()
    escalated = 0
    while True:
        count = _escalate_chunk(now=now)
        escalated += count
        if count < ESCALATION_CHUNK:
            return escalated
