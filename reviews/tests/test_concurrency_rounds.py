"""Issue #8: 8 threads x 200 rounds of conflicting decisions on shared cases, on PostgreSQL.

Each round has its own awaiting-review case, claimed by that round's doctor. Four of the
threads are that doctor's tabs (approve, correct, take over, correct), each deciding with
the version it read; the other four are escalated colleagues trying to claim the case and
take it over, while opening an earlier round's case (so several audit events are appended to
the hospital's chain at once). All eight are released together by a Barrier. Exactly one tab may win; every
other attempt must be refused, and the record must show one decision, one audit row, and a
hash chain that still verifies.

The eight threads live across all rounds (a thread per round would spend the time on
connections), each with its own database connection, closed when it is done.
"""

import threading
import time
from collections import Counter
from dataclasses import dataclass
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from accounts.models import User
from reviews.audit import audit_chain_verify
from reviews.exceptions import CaseAlreadyDecided, CaseConflict, ClaimHeldByOther, ReviewError
from reviews.models import AuditEvent, Case, CaseEscalation, CaseStatus, Decision
from reviews.services import (
    CaseIngestData,
    IngestMessage,
    case_approve,
    case_claim,
    case_correct,
    case_open,
    case_take_over,
    cases_ingest_batch,
)

from .factories import DoctorFactory

pytestmark = [
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="row locks and concurrent transactions are PostgreSQL's; CI runs this on PostgreSQL",
    ),
    pytest.mark.django_db(transaction=True),
]

ROUNDS = 200
THREADS = 8
TABS = ("approve", "correct", "take_over", "correct")  # threads 0-3: the claiming doctor's tabs
DECISION_AUDIT_ACTIONS = ["case.approved", "case.corrected", "case.taken_over"]
STATUS_OF_ACTION = {
    Decision.Action.APPROVE: CaseStatus.APPROVED,
    Decision.Action.CORRECT: CaseStatus.CORRECTED,
    Decision.Action.TAKE_OVER: CaseStatus.TAKEN_OVER,
}


@dataclass
class Attempt:
    thread: int
    doctor_id: int
    action: str
    read_version: int
    final_text: str = ""
    outcome: object = None  # the Decision, or the exception the service raised


def _rounds_of_cases(platform, doctors: list[User]) -> list[Case]:
    """ROUNDS awaiting-review cases, ingested in one batch, each claimed by its round's doctor
    and escalated to every other doctor, so all eight may act on it."""
    sent = timezone.now()
    items = [
        CaseIngestData(
            external_id=f"round-{r}",
            doctor_licence=doctors[0].doctor_profile.licence_number,
            patient_ref=f"round-patient-{r}",
            messages=[
                IngestMessage("patient", "I have chest pain since this morning.", sent),
                IngestMessage("avatar", "Please call 120 now.", sent),
            ],
            avatar_confidence=0.9,
        )
        for r in range(ROUNDS)
    ]
    cases = [case for case, created in cases_ingest_batch(api_client=platform, items=items)]
    assert all(case.status == CaseStatus.AWAITING_REVIEW for case in cases)
    CaseEscalation.objects.bulk_create(
        CaseEscalation(case=case, doctor=doctor, breach_due_at=case.due_at) for case in cases for doctor in doctors[1:]
    )
    until = timezone.now() + timedelta(minutes=30)
    for r, case in enumerate(cases):
        case.claimed_by, case.claim_expires_at = doctors[r % THREADS], until
    # The claim is set up, not raced: written without a version bump, like a claim made long before.
    Case.objects.bulk_update(cases, ["claimed_by", "claim_expires_at"])
    return cases


def _side_offset(thread: int) -> int:
    return thread - len(TABS) + 1  # threads 4-7 look 1-4 rounds back


def _attempt(thread: int, r: int, case_id: int, doctors: list[User], side_case_ids: list[int]) -> Attempt:
    """What thread `thread` does in round `r`: read the case, then act with the version it read."""
    case = Case.objects.get(pk=case_id)
    if thread < len(TABS):
        doctor = User.objects.get(pk=doctors[r % THREADS].pk)
        attempt = Attempt(thread, doctor.pk, TABS[thread], case.version)
        try:
            if attempt.action == "approve":
                attempt.outcome = case_approve(case=case, doctor=doctor, version=case.version)
            elif attempt.action == "correct":
                attempt.final_text = f"Round {r}, tab {thread}: go to the emergency department now."
                attempt.outcome = case_correct(
                    case=case,
                    doctor=doctor,
                    version=case.version,
                    final_text=attempt.final_text,
                    category=Decision.Category.UNSAFE_ADVICE,
                )
            else:
                attempt.outcome = case_take_over(case=case, doctor=doctor, version=case.version)
        except ReviewError as exc:
            attempt.outcome = exc
        return attempt
    # A colleague the case was escalated to, looking at an earlier round's case (a different row,
    # so only the audit chain's head is shared with the deciding tab), tries to claim this one
    # and take it over.
    doctor = User.objects.get(pk=doctors[(r + thread) % THREADS].pk)
    if r >= _side_offset(thread):
        case_open(case=Case.objects.get(pk=side_case_ids[r - _side_offset(thread)]), doctor=doctor)
    attempt = Attempt(thread, doctor.pk, "claim_and_take_over", case.version)
    try:
        claimed = case_claim(case=case, doctor=doctor)
        attempt.outcome = case_take_over(case=claimed, doctor=doctor, version=claimed.version)
    except ReviewError as exc:
        attempt.outcome = exc
    return attempt


def _run_rounds(cases: list[Case], doctors: list[User]) -> list[list[Attempt]]:
    barrier = threading.Barrier(THREADS)
    attempts: list[list[Attempt | None]] = [[None] * THREADS for _ in range(ROUNDS)]
    crashes: list[BaseException] = []
    case_ids = [case.pk for case in cases]

    def worker(thread: int) -> None:
        try:
            for r, case in enumerate(cases):
                barrier.wait(timeout=30)
                attempts[r][thread] = _attempt(thread, r, case.pk, doctors, case_ids)
        except BaseException as exc:  # anything but a refusal is a failure; break the barrier for the others
            crashes.append(exc)
            barrier.abort()
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert not any(thread.is_alive() for thread in threads), "a thread hung: a lock was never released"
    assert not crashes, crashes
    return attempts


def test_eight_threads_two_hundred_rounds_one_winner_each_and_the_chain_verifies(platform, hospital):
    doctors = [DoctorFactory(hospital=hospital, full_name=f"Doctor {i}") for i in range(THREADS)]
    cases = _rounds_of_cases(platform, doctors)
    versions = {case.pk: case.version for case in cases}
    audit_rows_before = AuditEvent.objects.filter(hospital=hospital).count()

    started = time.monotonic()
    attempts = _run_rounds(cases, doctors)
    elapsed = time.monotonic() - started
    print(f"\n{ROUNDS} rounds x {THREADS} threads = {ROUNDS * THREADS} attempts in {elapsed:.1f}s")

    decided = {d.case_id: d for d in Decision.objects.filter(case__in=cases)}
    rows = Case.objects.in_bulk([case.pk for case in cases])
    for r, case in enumerate(cases):
        tried = attempts[r]
        winners = [a for a in tried if isinstance(a.outcome, Decision)]
        assert len(winners) == 1, (r, [(a.action, a.outcome) for a in tried])
        [winner] = winners
        holder = doctors[r % THREADS].pk
        assert winner.thread < len(TABS) and winner.doctor_id == holder, (r, winner)
        for loser in tried:
            if loser is winner:
                continue
            if loser.thread < len(TABS):
                # A tab that queued on the lock finds the case decided (or, had it read late, changed).
                assert isinstance(loser.outcome, CaseAlreadyDecided | CaseConflict), (r, loser)
            else:
                # A colleague cannot claim a case its doctor holds, nor one already decided.
                assert isinstance(loser.outcome, ClaimHeldByOther | CaseAlreadyDecided), (r, loser)

        # No lost update: the stored case and decision are the winner's, written exactly once.
        decision = decided[case.pk]
        assert decision.pk == winner.outcome.pk and decision.doctor_id == holder
        assert decision.action == winner.outcome.action
        if decision.action == Decision.Action.CORRECT:
            assert decision.final_text == winner.final_text
        row = rows[case.pk]
        assert row.status == STATUS_OF_ACTION[decision.action], (r, row.status, decision.action)
        assert row.version == versions[case.pk] + 1 == winner.read_version + 1, (r, row.version)
        assert row.claimed_by_id == (holder if decision.action == Decision.Action.TAKE_OVER else None)

    outcomes = Counter(type(a.outcome).__name__ for tried in attempts for a in tried)
    print(f"outcomes: {dict(outcomes)}; winning actions: {dict(Counter(d.action for d in decided.values()))}")

    decision_ids = list(Decision.objects.filter(case__in=cases).values_list("pk", flat=True))
    assert len(decision_ids) == ROUNDS
    audited = list(
        AuditEvent.objects.filter(hospital=hospital, action__in=DECISION_AUDIT_ACTIONS).values_list(
            "details__decision_id", flat=True
        )
    )
    assert sorted(audited) == sorted(decision_ids)  # one audit row per decision, none for a refusal
    assert not AuditEvent.objects.filter(hospital=hospital, action="case.claimed").exists()
    opened = sum(ROUNDS - _side_offset(thread) for thread in range(len(TABS), THREADS))
    assert AuditEvent.objects.filter(hospital=hospital, action="case.opened", details__claimed=False).count() == opened
    chain = audit_chain_verify(hospital=hospital)
    assert chain.ok, chain
    # The rounds added exactly their decisions and views to the record, and every row of it is in the chain.
    assert chain.count == AuditEvent.objects.filter(hospital=hospital).count() == audit_rows_before + ROUNDS + opened
