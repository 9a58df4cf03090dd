"""Races the review domain must win (DESIGN §4, §5, §10), with real threads on PostgreSQL.

Each thread has its own database connection, so each service call is its own transaction
racing the others; a Barrier makes them start together.
"""

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from accounts.models import User
from reviews.exceptions import CaseAlreadyDecided, CaseConflict, ClaimExpired
from reviews.models import AuditEvent, Case, CaseStatus, Decision
from reviews.services import CaseIngestData, IngestMessage, case_approve, case_claim_next, case_correct, case_ingest

from .factories import CaseFactory

pytestmark = [
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="row locks and SKIP LOCKED are PostgreSQL's; CI runs these on PostgreSQL",
    ),
    pytest.mark.django_db(transaction=True),
]


def run_together(*calls, timeout: float = 30) -> list:
    """Run each call in its own thread, all released at once; return each result or exception."""
    barrier = threading.Barrier(len(calls))
    results: list = [None] * len(calls)

    def worker(index: int, call) -> None:
        try:
            barrier.wait(timeout=timeout)
            results[index] = call()
        except Exception as exc:  # handed back to the test, which decides what is acceptable
            results[index] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i, call)) for i, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout)
    assert not any(thread.is_alive() for thread in threads), "a thread hung: a lock was never released"
    return results


def claimed_by(case: Case, doctor: User) -> Case:
    Case.objects.filter(pk=case.pk).update(claimed_by=doctor, claim_expires_at=timezone.now() + timedelta(minutes=10))
    return Case.objects.get(pk=case.pk)


# --- one doctor, two tabs, two decisions on one case ---------------------------------------


def test_approve_and_correct_at_once_make_exactly_one_decision(doctor):
    for _round in range(10):
        case = claimed_by(CaseFactory(doctor=doctor), doctor)

        def approve(case_id=case.pk, version=case.version):
            return case_approve(
                case=Case.objects.get(pk=case_id), doctor=User.objects.get(pk=doctor.pk), version=version
            )

        def correct(case_id=case.pk, version=case.version):
            return case_correct(
                case=Case.objects.get(pk=case_id),
                doctor=User.objects.get(pk=doctor.pk),
                version=version,
                final_text="Please see your GP today.",
                category="incomplete",
            )

        results = run_together(approve, correct)

        decisions = [r for r in results if isinstance(r, Decision)]
        refusals = [r for r in results if not isinstance(r, Decision)]
        assert len(decisions) == 1 and len(refusals) == 1, results
        [winner], [refusal] = decisions, refusals
        assert isinstance(refusal, CaseAlreadyDecided | CaseConflict), repr(refusal)
        done = {"approve": "approved", "correct": "corrected"}[winner.action]
        assert refusal.message in {
            f"Dr Li Wei {done} this case just now.",
            "This case changed while you were working on it. Reload it and decide again.",
        }
        row = Case.objects.get(pk=case.pk)
        assert row.status == done
        assert row.version == case.version + 1
        assert list(Decision.objects.filter(case=case).values_list("pk", flat=True)) == [winner.pk]
        assert AuditEvent.objects.filter(case=case, action__in=["case.approved", "case.corrected"]).count() == 1


# --- one doctor's queue, several tabs pressing "Next case" ----------------------------------


def queue_of(doctor: User, size: int) -> list[Case]:
    now = timezone.now()
    return [CaseFactory(doctor=doctor, due_at=now + timedelta(minutes=i), conversation=False) for i in range(size)]


def press_next(doctor: User):
    def call():
        return case_claim_next(doctor=User.objects.get(pk=doctor.pk))

    return call


@pytest.mark.parametrize("tabs", [2, 4])
def test_tabs_pressing_next_together_get_different_cases(doctor, tabs):
    queue = queue_of(doctor, 12)

    for _round in range(5):
        results = run_together(*[press_next(doctor) for _ in range(tabs)])

        assert all(isinstance(r, Case) for r in results), results
        assert len({r.pk for r in results}) == tabs, [r.pk for r in results]
        assert {r.pk for r in results} <= {c.pk for c in queue}


def test_forty_presses_of_next_from_four_tabs_never_hand_one_case_to_two_tabs_at_once(doctor):
    """Ten rounds of four tabs pressing together: each round hands out four different cases.

    Across rounds a case can come back: "Next case" releases the doctor's previous leased
    claim, so a case one tab held returns to the queue when a sibling tab moves on.
    """
    queue = {c.pk for c in queue_of(doctor, 60)}
    claims: list[int] = []

    for _round in range(10):
        results = run_together(*[press_next(doctor) for _ in range(4)])

        assert all(isinstance(r, Case) for r in results), results
        handed_out = [r.pk for r in results]
        assert len(set(handed_out)) == 4, handed_out
        claims += handed_out

    assert len(claims) == 40 and set(claims) <= queue
    assert AuditEvent.objects.filter(action="case.claimed", details__via="next_case").count() == 40


def test_four_tabs_draining_one_queue_decide_every_case_exactly_once(doctor):
    queue = {c.pk for c in queue_of(doctor, 40)}

    def tab():
        approved = []
        for _ in range(400):
            case = case_claim_next(doctor=User.objects.get(pk=doctor.pk))
            if case is None:
                return approved
            try:
                case_approve(case=case, doctor=User.objects.get(pk=doctor.pk), version=case.version)
            except (ClaimExpired, CaseConflict, CaseAlreadyDecided):
                continue  # a sibling tab's "Next case" released this claim first: the case stays queued
            approved.append(case.pk)
        raise AssertionError("the queue never drained")

    results = run_together(tab, tab, tab, tab, timeout=60)

    assert all(isinstance(r, list) for r in results), results
    approved = [pk for r in results for pk in r]
    assert sorted(approved) == sorted(queue)  # every case once, none twice
    assert Decision.objects.filter(case_id__in=queue).count() == 40
    assert set(Case.objects.filter(pk__in=queue).values_list("status", flat=True)) == {CaseStatus.APPROVED}


# --- the platform retrying one ingest ------------------------------------------------------


def test_twenty_concurrent_ingests_of_one_external_id_store_one_case(platform, doctor):
    sent = timezone.now()
    data = CaseIngestData(
        external_id="conv-retried",
        doctor_licence=doctor.doctor_profile.licence_number,
        patient_ref="platform-user-77",
        messages=[
            IngestMessage("patient", "I have chest pain since this morning.", sent),
            IngestMessage("avatar", "Please call 120 now.", sent),
        ],
        avatar_confidence=0.9,
    )

    results = run_together(*[lambda: case_ingest(api_client=platform, data=data) for _ in range(20)])

    assert not [r for r in results if isinstance(r, Exception)], results
    assert len({case.pk for case, _created in results}) == 1
    assert sorted(created for _case, created in results) == [False] * 19 + [True]
    [case] = Case.objects.filter(external_id="conv-retried")
    assert case.status == CaseStatus.AWAITING_REVIEW
    assert case.messages.count() == 2
    assert AuditEvent.objects.filter(action="case.ingested", case=case).count() == 1
    assert case.patient.cases.count() == 1


def test_concurrent_first_cases_of_one_new_patient_share_one_pseudonym(platform, doctor):
    sent = timezone.now()

    def ingest(i: int):
        data = CaseIngestData(
            external_id=f"conv-new-patient-{i}",
            doctor_licence=doctor.doctor_profile.licence_number,
            patient_ref="brand-new-patient",
            messages=[IngestMessage("patient", "Is spotting normal at 6 weeks?", sent)],
        )
        return case_ingest(api_client=platform, data=data)

    results = run_together(*[lambda i=i: ingest(i) for i in range(10)])

    assert not [r for r in results if isinstance(r, Exception)], results
    assert len({case.patient_id for case, _created in results}) == 1
    assert all(created for _case, created in results)
