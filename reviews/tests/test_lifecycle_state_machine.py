"""The case lifecycle as a hypothesis state machine (issue #8): random sequences of ingest,
patient messages, claims, decisions, replies, closes and escalations against the real
services, checked after every step against a model of what each case's state must be.

Each example gets a hospital of its own (the database is not rolled back between examples),
and every query is scoped to it.
"""

import itertools
from dataclasses import dataclass, field
from datetime import timedelta

from django.utils import timezone
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

from accounts.services import api_client_create
from reviews.audit import audit_chain_verify
from reviews.escalation import cases_escalate_breached
from reviews.exceptions import ReviewError
from reviews.models import AuditEvent, Case, CaseEscalation, CaseStatus, Decision, Urgency
from reviews.selectors import case_detail, case_final_answer
from reviews.services import (
    CaseIngestData,
    IngestMessage,
    case_approve,
    case_claim,
    case_close,
    case_correct,
    case_ingest,
    case_open,
    case_patient_message_add,
    case_reply,
    case_take_over,
)

from .factories import DoctorFactory, HospitalFactory

DOCTORS = 3
DRAFT = "Rest, drink water and see a doctor if it gets worse or you develop a fever."
# (question, status on ingest); the hospital samples no routine cases, so a harmless question is released.
QUESTIONS = {
    "routine": ("I have had a mild headache since yesterday, what should I do?", CaseStatus.AUTO_RELEASED),
    "emergency": ("Crushing chest pain right now.", CaseStatus.AWAITING_REVIEW),
}
FOLLOW_UPS = {"routine": "Thank you, that helps.", "red_flag": "Now I have crushing chest pain."}
# Mostly the doctors who can act, so that sequences get past the claim to decisions, replies and closes.
ACTOR = st.sampled_from(["reviewer", "holder", *range(DOCTORS)])
DECIDED = {CaseStatus.APPROVED, CaseStatus.CORRECTED}
DECISION_AUDIT = {
    Decision.Action.APPROVE: "case.approved",
    Decision.Action.CORRECT: "case.corrected",
    Decision.Action.TAKE_OVER: "case.taken_over",
    Decision.Action.CLOSE: "case.closed",
}


@dataclass
class ExpectedCase:
    status: str
    reviewer: int  # index into the machine's doctors
    claimed_by: int | None = None
    escalated_to: set[int] = field(default_factory=set)
    decisions: list[str] = field(default_factory=list)


class CaseLifecycle(RuleBasedStateMachine):
    cases = Bundle("cases")

    def __init__(self):
        super().__init__()
        self.hospital = HospitalFactory(routine_sample_rate=0.0)
        self.doctors = [DoctorFactory(hospital=self.hospital) for _ in range(DOCTORS)]
        self.platform, _token = api_client_create(
            hospital=self.hospital, name="Avatar platform", scopes=["cases:write"]
        )
        self.expected: dict[int, ExpectedCase] = {}
        self.external_ids = itertools.count()

    # --- helpers --------------------------------------------------------------------------

    def _doctor(self, pk: int, actor) -> int:
        expected = self.expected[pk]
        if actor == "reviewer":
            return expected.reviewer
        if actor == "holder":
            return expected.reviewer if expected.claimed_by is None else expected.claimed_by
        return actor

    def _may_review(self, pk: int, who: int) -> bool:
        expected = self.expected[pk]
        return who == expected.reviewer or who in expected.escalated_to

    def _snapshot(self, pk: int) -> tuple:
        case = Case.objects.get(pk=pk)
        return (
            case.version,
            case.status,
            case.claimed_by_id,
            case.decisions.count(),
            case.messages.count(),
            AuditEvent.objects.filter(hospital=self.hospital).count(),
        )

    def _attempt(self, pk: int, allowed: bool, action) -> None:
        """Run `action`; it must succeed exactly when the model allows it, and a refusal changes nothing."""
        before = self._snapshot(pk)
        try:
            action(Case.objects.get(pk=pk))
        except ReviewError as refusal:
            assert not allowed, f"refused although the model allows it: {refusal.message}"
            assert self._snapshot(pk) == before
            return
        assert allowed, "the service accepted an action the model refuses"

    # --- rules ----------------------------------------------------------------------------

    @rule(target=cases, kind=st.sampled_from(["emergency", "emergency", "routine"]), who=st.integers(0, DOCTORS - 1))
    def ingest(self, kind, who):
        question, status = QUESTIONS[kind]
        sent = timezone.now() - timedelta(minutes=2)
        data = CaseIngestData(
            external_id=f"conv-{next(self.external_ids)}",
            doctor_licence=self.doctors[who].doctor_profile.licence_number,
            patient_ref=f"patient-{who}",
            messages=[IngestMessage("patient", question, sent), IngestMessage("avatar", DRAFT, sent)],
        )
        case, created = case_ingest(api_client=self.platform, data=data)
        assert created
        self.expected[case.pk] = ExpectedCase(status=status, reviewer=who)
        return case.pk

    @rule(pk=cases)
    def ingest_again(self, pk):
        case = Case.objects.get(pk=pk)
        before = self._snapshot(pk)
        sent = timezone.now()
        data = CaseIngestData(
            external_id=case.external_id,
            doctor_licence=self.doctors[0].doctor_profile.licence_number,
            patient_ref="someone-else",
            messages=[IngestMessage("patient", QUESTIONS["emergency"][0], sent)],
        )
        again, created = case_ingest(api_client=self.platform, data=data)
        assert (again.pk, created) == (pk, False)
        assert self._snapshot(pk) == before

    @rule(pk=cases, kind=st.sampled_from(sorted(FOLLOW_UPS)))
    def patient_message(self, pk, kind):
        expected = self.expected[pk]
        allowed = expected.status != CaseStatus.CLOSED
        self._attempt(
            pk,
            allowed,
            lambda case: case_patient_message_add(
                api_client=self.platform, case=case, body=FOLLOW_UPS[kind], sent_at=timezone.now()
            ),
        )
        if allowed and (
            expected.status in DECIDED or (expected.status == CaseStatus.AUTO_RELEASED and kind == "red_flag")
        ):
            expected.status, expected.claimed_by = CaseStatus.AWAITING_REVIEW, None

    def _claimable_by(self, pk: int, who: int) -> bool:
        expected = self.expected[pk]
        return (
            self._may_review(pk, who)
            and expected.status == CaseStatus.AWAITING_REVIEW
            and expected.claimed_by in (None, who)  # leases outlast a run: a claim never lapses here
        )

    @rule(pk=cases, actor=ACTOR)
    def claim(self, pk, actor):
        who = self._doctor(pk, actor)
        allowed = self._claimable_by(pk, who)
        self._attempt(pk, allowed, lambda case: case_claim(case=case, doctor=self.doctors[who]))
        if allowed:
            self.expected[pk].claimed_by = who

    @rule(pk=cases, actor=ACTOR)
    def open(self, pk, actor):
        who = self._doctor(pk, actor)
        claims = self._claimable_by(pk, who)
        self._attempt(pk, self._may_review(pk, who), lambda case: case_open(case=case, doctor=self.doctors[who]))
        if claims:
            self.expected[pk].claimed_by = who

    @rule(
        pk=cases,
        actor=ACTOR,
        action=st.sampled_from([Decision.Action.APPROVE, Decision.Action.CORRECT, Decision.Action.TAKE_OVER]),
        stale=st.sampled_from([False, False, False, True]),
        opens_first=st.booleans(),
    )
    def decide(self, pk, actor, action, stale, opens_first):
        who = self._doctor(pk, actor)
        if opens_first:
            self.open(pk, who)  # as in the portal: the case page claims the case, then the doctor decides
        expected = self.expected[pk]
        allowed = (
            self._may_review(pk, who)
            and expected.status == CaseStatus.AWAITING_REVIEW
            and expected.claimed_by == who
            and not stale
        )
        doctor = self.doctors[who]

        def send(case):
            version = case.version - 1 if stale else case.version
            if action == Decision.Action.APPROVE:
                return case_approve(case=case, doctor=doctor, version=version)
            if action == Decision.Action.CORRECT:
                return case_correct(
                    case=case,
                    doctor=doctor,
                    version=version,
                    final_text="Please go to the emergency department now.",
                    category=Decision.Category.UNSAFE_ADVICE,
                )
            return case_take_over(case=case, doctor=doctor, version=version)

        self._attempt(pk, allowed, send)
        if allowed:
            expected.decisions.append(action)
            expected.status = {
                Decision.Action.APPROVE: CaseStatus.APPROVED,
                Decision.Action.CORRECT: CaseStatus.CORRECTED,
                Decision.Action.TAKE_OVER: CaseStatus.TAKEN_OVER,
            }[action]
            expected.claimed_by = who if action == Decision.Action.TAKE_OVER else None

    @rule(pk=cases, actor=ACTOR)
    def reply(self, pk, actor):
        who = self._doctor(pk, actor)
        expected = self.expected[pk]
        allowed = self._may_review(pk, who) and expected.status == CaseStatus.TAKEN_OVER and expected.claimed_by == who
        self._attempt(
            pk, allowed, lambda case: case_reply(case=case, doctor=self.doctors[who], body="Come in this afternoon.")
        )

    @rule(pk=cases, actor=ACTOR)
    def close(self, pk, actor):
        who = self._doctor(pk, actor)
        expected = self.expected[pk]
        allowed = (
            self._may_review(pk, who)
            and expected.status in {*DECIDED, CaseStatus.TAKEN_OVER}
            and (expected.status != CaseStatus.TAKEN_OVER or expected.claimed_by == who)
        )
        self._attempt(pk, allowed, lambda case: case_close(case=case, doctor=self.doctors[who], version=case.version))
        if allowed:
            expected.decisions.append(Decision.Action.CLOSE)
            expected.status, expected.claimed_by = CaseStatus.CLOSED, None

    @rule(pk=cases)
    def sla_breached_and_escalated(self, pk):
        # The case's due time passes; the beat then escalates every breach of the hospital.
        now = timezone.now()
        Case.objects.filter(pk=pk).update(due_at=now - timedelta(minutes=1))
        breaches = [
            case.pk
            for case in Case.objects.filter(hospital=self.hospital, status=CaseStatus.AWAITING_REVIEW)
            if case.urgency <= Urgency.URGENT and case.due_at < now and case.escalated_due_at != case.due_at
        ]
        cases_escalate_breached(now=now)
        for breached in breaches:
            expected = self.expected[breached]
            assert expected.status == CaseStatus.AWAITING_REVIEW
            expected.escalated_to |= set(range(DOCTORS)) - {expected.reviewer}

    # --- invariants -----------------------------------------------------------------------

    @invariant()
    def every_case_is_in_the_state_its_history_says(self):
        cases = {case.pk: case for case in Case.objects.filter(hospital=self.hospital)}
        assert set(cases) == set(self.expected)
        for pk, expected in self.expected.items():
            case = cases[pk]
            assert case.status in CaseStatus.values
            assert case.status == expected.status, (pk, case.status, expected)
            holder = None if expected.claimed_by is None else self.doctors[expected.claimed_by].pk
            assert case.claimed_by_id == holder, (pk, case.claimed_by_id, expected)
            if case.status == CaseStatus.TAKEN_OVER:
                assert case.claimed_by_id is not None and case.claim_active()
            escalated = set(CaseEscalation.objects.filter(case=case).values_list("doctor_id", flat=True))
            assert escalated == {self.doctors[i].pk for i in expected.escalated_to}

    @invariant()
    def every_decision_has_a_doctor_of_the_hospital_and_one_audit_row(self):
        doctors = {doctor.pk for doctor in self.doctors}
        audits: dict[int, list[AuditEvent]] = {}
        for event in AuditEvent.objects.filter(hospital=self.hospital, action__in=DECISION_AUDIT.values()):
            audits.setdefault(event.details.get("decision_id"), []).append(event)
        for pk, expected in self.expected.items():
            decisions = list(Decision.objects.filter(case_id=pk).order_by("created_at", "id"))
            assert [d.action for d in decisions] == expected.decisions
            for decision in decisions:
                assert decision.doctor_id in doctors
                events = audits.get(decision.pk, [])
                assert len(events) == 1, f"decision {decision.pk} ({decision.action}) has {len(events)} audit rows"
                [event] = events
                assert (event.actor_user_id, event.case_id, event.action) == (
                    decision.doctor_id,
                    pk,
                    DECISION_AUDIT[decision.action],
                )
            if expected.status in DECIDED:
                assert decisions[-1].action in {Decision.Action.APPROVE, Decision.Action.CORRECT}
                detail = case_detail(case=Case.objects.get(pk=pk))
                assert case_final_answer(detail) == decisions[-1].final_text != ""
                assert detail.last_answer_decision.doctor_id in doctors

    @invariant()
    def the_audit_chain_verifies(self):
        state = audit_chain_verify(hospital=self.hospital)
        assert state.ok, state


def test_the_case_lifecycle_keeps_its_record_straight_whatever_the_order_of_actions(db):
    run_state_machine_as_test(
        CaseLifecycle,
        settings=settings(
            max_examples=30,
            stateful_step_count=40,
            derandomize=True,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        ),
    )
