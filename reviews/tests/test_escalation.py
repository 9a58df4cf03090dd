"""SLA escalation (issue #6, DESIGN §5): breached urgent and emergency cases go to the
other doctors of the same specialty, at the top of their queues, once per breach."""

import re
from datetime import timedelta

import pytest
from django.conf import settings
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from portal.celery import app
from reviews.escalation import cases_breached, cases_escalate_breached
from reviews.escalation_tasks import cases_escalate
from reviews.exceptions import CaseAlreadyDecided, ClaimHeldByOther, NotPermitted
from reviews.models import AuditEvent, Case, CaseEscalation, CaseStatus, Decision, ScheduledTaskRun, Urgency
from reviews.services import (
    case_approve,
    case_claim,
    case_claim_next,
    case_open,
    case_patient_message_add,
)
from tests.celery_worker import wait_until

from .factories import AdminFactory, CaseFactory, DoctorFactory, HospitalFactory
from .test_concurrency import run_together

OBSTETRICS, PAEDIATRICS = "obstetrics", "paediatrics"
ROW = re.compile(r'<tr data-case-id="(\d+)"')


def breached(doctor, *, urgency=Urgency.URGENT, minutes_late: int = 5, **fields) -> Case:
    return CaseFactory(
        doctor=doctor, urgency=urgency, due_at=timezone.now() - timedelta(minutes=minutes_late), **fields
    )


def escalated_to(case: Case) -> set[int]:
    return set(CaseEscalation.objects.filter(case=case).values_list("doctor_id", flat=True))


def escalation_audits(case: Case) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(case=case, action="case.escalated"))


@pytest.fixture
def team(hospital, doctor):
    """The doctor (obstetrics) and the people around them in the hospital and outside it."""
    return {
        "colleague": DoctorFactory(hospital=hospital, full_name="Zhou Lan"),
        "second_colleague": DoctorFactory(hospital=hospital, full_name="Wu Hua"),
        "paediatrician": DoctorFactory(hospital=hospital, profile__specialty=PAEDIATRICS),
        "inactive": DoctorFactory(hospital=hospital, is_active=False),
        "admin": AdminFactory(hospital=hospital),
        "elsewhere": DoctorFactory(),  # an obstetrician of another hospital
    }


# --- The beat's domain function -----------------------------------------------------------


def test_a_breach_goes_to_the_active_colleagues_of_the_same_specialty_only(doctor, team):
    case = breached(doctor)

    assert cases_escalate_breached() == 1

    assert escalated_to(case) == {team["colleague"].pk, team["second_colleague"].pk}
    case.refresh_from_db()
    assert case.escalated_due_at == case.due_at and case.is_escalated
    assert CaseEscalation.objects.get(case=case, doctor=team["colleague"]).breach_due_at == case.due_at


def test_each_escalation_is_audited_once_with_ids_only(doctor, team):
    case = breached(doctor)

    cases_escalate_breached()

    [event] = escalation_audits(case)
    assert event.actor_type == AuditEvent.ActorType.SYSTEM and event.hospital_id == case.hospital_id
    assert event.details == {
        "breach_due_at": case.due_at.isoformat(),
        "urgency": "urgent",
        "reviewer": doctor.pk,
        "to": sorted([team["colleague"].pk, team["second_colleague"].pk]),
    }


def test_the_case_is_not_escalated_to_its_own_reviewer(hospital, doctor, team):
    # The avatar's doctor left; their case went to a colleague's queue, and breached there.
    case = breached(doctor, reviewer=team["colleague"])

    cases_escalate_breached()

    assert escalated_to(case) == {team["second_colleague"].pk}


def test_a_second_run_escalates_nothing_new(doctor, team):
    case = breached(doctor)
    cases_escalate_breached()

    assert cases_escalate_breached() == 0

    assert CaseEscalation.objects.filter(case=case).count() == 2
    assert len(escalation_audits(case)) == 1


def test_a_new_breach_after_the_due_time_moved_is_escalated_again(platform, doctor, team):
    case = breached(doctor)
    cases_escalate_breached()
    first_breach = Case.objects.get(pk=case.pk).due_at
    # Answered; then the patient writes again: the case reopens with a new due time.
    case = case_claim(case=case, doctor=doctor)
    case_approve(case=case, doctor=doctor, version=case.version)
    case_patient_message_add(
        api_client=platform, case=case, body="Thank you. One more question about it.", sent_at=timezone.now()
    )
    case.refresh_from_db()
    assert case.status == CaseStatus.AWAITING_REVIEW and case.due_at > first_breach

    assert cases_escalate_breached() == 0  # the new due time has not passed yet
    assert cases_escalate_breached(now=case.due_at + timedelta(minutes=1)) == 1

    breaches = set(CaseEscalation.objects.filter(case=case).values_list("breach_due_at", flat=True))
    assert breaches == {first_breach, case.due_at}
    assert len(escalation_audits(case)) == 2


@pytest.mark.parametrize("urgency", [Urgency.SOON, Urgency.ROUTINE])
def test_soon_and_routine_cases_are_never_escalated(doctor, team, urgency):
    case = breached(doctor, urgency=urgency, minutes_late=24 * 60)

    assert cases_escalate_breached() == 0
    assert not escalated_to(case) and not escalation_audits(case)


def test_emergencies_are_escalated_and_cases_not_yet_due_or_decided_are_not(doctor, team):
    emergency = breached(doctor, urgency=Urgency.EMERGENCY, minutes_late=1)
    not_due = CaseFactory(doctor=doctor, urgency=Urgency.URGENT, due_at=timezone.now() + timedelta(minutes=1))
    decided = breached(doctor, status=CaseStatus.APPROVED)

    assert cases_escalate_breached() == 1

    assert escalated_to(emergency) and not escalated_to(not_due) and not escalated_to(decided)


def test_a_doctor_with_no_colleague_of_the_specialty_escalates_to_nobody_and_it_is_recorded(hospital):
    lone = DoctorFactory(hospital=hospital, profile__specialty=PAEDIATRICS)
    case = breached(lone)

    assert cases_escalate_breached() == 1

    assert not escalated_to(case)
    assert escalation_audits(case)[0].details["to"] == []
    assert cases_escalate_breached() == 0  # not tried again every minute


def test_the_beat_reads_the_partial_escalation_index(doctor, team):
    breached(doctor)
    CaseFactory(doctor=doctor, status=CaseStatus.APPROVED)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            # A handful of rows: without this the planner reads the table, as it should.
            cursor.execute("SET LOCAL enable_seqscan = off")

    plan = cases_breached(now=timezone.now()).order_by("due_at", "id").explain()

    assert "case_escalation_due_idx" in plan, plan


def test_many_breaches_are_escalated_in_chunks_with_a_fixed_number_of_queries_each(
    doctor, team, django_assert_max_num_queries, monkeypatch
):
    monkeypatch.setattr("reviews.escalation.ESCALATION_CHUNK", 10)
    cases = [breached(doctor, minutes_late=i + 1) for i in range(25)]

    # Per chunk: lock, specialties, colleagues, escalations, audit events, the mark; plus
    # savepoint/transaction statements, and the audit chain's head locked and moved on.
    # Three chunks (10, 10, 5), whatever the team's size.
    with django_assert_max_num_queries(3 * (8 + 2)):
        assert cases_escalate_breached() == 25

    assert CaseEscalation.objects.count() == 25 * 2
    assert AuditEvent.objects.filter(action="case.escalated").count() == 25
    assert all(c.is_escalated for c in Case.objects.filter(pk__in=[c.pk for c in cases]))


# --- The Celery beat task ------------------------------------------------------------------


def test_the_beat_task_is_scheduled_every_minute_and_records_its_runs(doctor, team):
    schedule = {entry["task"]: entry["schedule"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert schedule["reviews.escalation_tasks.cases_escalate"] == 60
    assert "reviews.escalation_tasks.cases_escalate" in app.tasks
    breached(doctor)

    assert cases_escalate.delay().get() == {"escalated": 1}
    assert cases_escalate.delay().get() == {"escalated": 0}

    run = ScheduledTaskRun.objects.get(name="cases_escalate")
    assert run.details == {"escalated": 0}
    assert run.last_started_at <= run.last_finished_at


# --- The escalated doctor may act -----------------------------------------------------------


def test_the_escalated_colleague_opens_claims_and_approves_and_nobody_decides_twice(doctor, team):
    case = breached(doctor)
    cases_escalate_breached()
    colleague = team["colleague"]

    case = case_open(case=case, doctor=colleague)
    assert case.claimed_by == colleague
    decision = case_approve(case=case, doctor=colleague, version=case.version)

    assert decision.doctor == colleague
    assert Case.objects.get(pk=case.pk).status == CaseStatus.APPROVED
    with pytest.raises(CaseAlreadyDecided):
        case_claim(case=case, doctor=doctor)
    assert Decision.objects.filter(case=case).count() == 1


def test_the_original_reviewer_can_still_decide_an_escalated_case(doctor, team):
    case = breached(doctor)
    cases_escalate_breached()

    case = case_claim(case=case, doctor=doctor)
    case_approve(case=case, doctor=doctor, version=case.version)

    assert Decision.objects.get(case=case).doctor == doctor


def test_a_claim_by_either_doctor_holds_off_the_other(doctor, team):
    case = breached(doctor)
    cases_escalate_breached()

    case_claim(case=case, doctor=team["colleague"])

    with pytest.raises(ClaimHeldByOther):
        case_claim(case=case, doctor=doctor)


def test_doctors_it_was_not_escalated_to_still_may_not_act(doctor, team):
    case = breached(doctor)
    cases_escalate_breached()

    for outsider in (team["paediatrician"], team["elsewhere"]):
        with pytest.raises(NotPermitted):
            case_claim(case=case, doctor=outsider)
        with pytest.raises(NotPermitted):
            case_open(case=case, doctor=outsider)


def test_next_case_serves_cases_escalated_to_me_first(doctor, team):
    colleague = team["colleague"]
    own_emergency = CaseFactory(doctor=colleague, urgency=Urgency.EMERGENCY)
    escalated = breached(doctor)
    cases_escalate_breached()

    assert case_claim_next(doctor=colleague) == escalated
    assert case_claim_next(doctor=colleague) == own_emergency  # and moving on releases the first
    assert Case.objects.get(pk=escalated.pk).claimed_by is None


# --- The queue and the case page ---------------------------------------------------------------


def test_the_queue_shows_escalated_cases_at_the_top_marked_escalated(client, doctor, team):
    colleague = team["colleague"]
    own = [CaseFactory(doctor=colleague, urgency=Urgency.EMERGENCY) for _ in range(2)]
    escalated = breached(doctor)
    cases_escalate_breached()
    client.force_login(colleague)

    content = client.get("/").content.decode()

    assert [int(i) for i in ROW.findall(content)] == [escalated.pk, *(c.pk for c in own)]
    section = content[content.index('id="escalated"') : content.index("</section>", content.index('id="escalated"'))]
    assert f'data-case-id="{escalated.pk}"' in section and "Escalated" in section
    assert "Dr Li Wei" in section  # whose queue it is in


def test_the_reviewer_sees_their_breached_cases_marked_escalated_or_overdue(client, doctor, team):
    escalated = breached(doctor)
    cases_escalate_breached()
    overdue = breached(doctor, urgency=Urgency.SOON)  # late, but soon cases are not escalated
    client.force_login(doctor)

    content = client.get("/").content.decode()

    row = {case_id: html for case_id, html in re.findall(r'<tr data-case-id="(\d+)"(.*?)</tr>', content, re.S)}
    assert "Escalated" in row[str(escalated.pk)] and "Overdue" not in row[str(escalated.pk)]
    assert "Overdue" in row[str(overdue.pk)] and "Escalated" not in row[str(overdue.pk)]
    assert 'id="escalated"' not in content  # nothing is escalated to them


def test_the_escalated_section_costs_one_query_whatever_its_size(client, doctor, team, django_assert_max_num_queries):
    colleague = team["colleague"]
    CaseFactory(doctor=colleague)
    client.force_login(colleague)
    client.get("/")  # the first page of a session also moves its expiry on: not counted
    with django_assert_max_num_queries(20) as without:
        client.get("/")
    for _ in range(30):
        breached(doctor)
    cases_escalate_breached()

    with django_assert_max_num_queries(len(without.captured_queries)) as with_section:
        content = client.get("/").content.decode()

    assert content.count('data-escalated="1"') == 30
    # The same count: the section's query runs whether or not it finds anything.
    assert len(with_section.captured_queries) == len(without.captured_queries)


def test_a_case_escalated_before_and_answered_since_leaves_the_section(client, doctor, team):
    case = breached(doctor)
    cases_escalate_breached()
    case = case_claim(case=case, doctor=doctor)
    case_approve(case=case, doctor=doctor, version=case.version)
    client.force_login(team["colleague"])

    assert 'id="escalated"' not in client.get("/").content.decode()


def test_the_case_page_tells_the_colleague_why_the_case_is_theirs(client, doctor, team):
    case = breached(doctor)
    cases_escalate_breached()
    client.force_login(team["colleague"])

    content = client.get(f"/cases/{case.pk}/").content.decode()

    when = timezone.localtime(case.due_at).strftime("%Y-%m-%d %H:%M")
    assert f"Escalated to you because the SLA was breached at {when}." in content
    assert "It is in the queue of Dr Li Wei." in content
    assert "You hold this case" in content  # opening it claimed it, as in their own queue
    assert f'action="{reverse("reviews:approve", args=[case.pk])}"' in content


def test_the_case_page_is_still_closed_to_doctors_it_was_not_escalated_to(client, doctor, team):
    case = breached(doctor)
    cases_escalate_breached()
    client.force_login(team["paediatrician"])

    assert client.get(f"/cases/{case.pk}/").status_code == 404


# --- Races on PostgreSQL -----------------------------------------------------------------------

on_postgresql = [
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="row locks and SKIP LOCKED are PostgreSQL's; CI runs these"
    ),
    pytest.mark.django_db(transaction=True),
]


def fresh(user: User) -> User:
    return User.objects.get(pk=user.pk)


def _race_cases(doctor, count: int) -> list[Case]:
    cases = [breached(doctor, minutes_late=i + 1) for i in range(count)]
    cases_escalate_breached()
    return cases


@on_postgresql[0]
@on_postgresql[1]
def test_the_reviewer_and_the_escalated_colleague_deciding_at_once_make_one_decision(doctor, team):
    colleague = team["colleague"]
    for case in _race_cases(doctor, 5):

        def claim_and_approve(user, case_id=case.pk):
            claimed = case_claim(case=Case.objects.get(pk=case_id), doctor=fresh(user))
            return case_approve(case=claimed, doctor=fresh(user), version=claimed.version)

        results = run_together(lambda: claim_and_approve(doctor), lambda: claim_and_approve(colleague))

        decisions = [r for r in results if isinstance(r, Decision)]
        assert len(decisions) == 1, results
        assert all(isinstance(r, ClaimHeldByOther | CaseAlreadyDecided) for r in results if r not in decisions), results
        assert Decision.objects.filter(case_id=case.pk).count() == 1


@on_postgresql[0]
@on_postgresql[1]
def test_the_reviewer_and_the_colleague_pressing_next_together_get_different_cases(doctor, team):
    colleague = team["colleague"]
    cases = _race_cases(doctor, 2)

    results = run_together(
        lambda: case_claim_next(doctor=fresh(doctor)), lambda: case_claim_next(doctor=fresh(colleague))
    )

    assert all(isinstance(r, Case) for r in results), results
    assert {r.pk for r in results} == {c.pk for c in cases}


@on_postgresql[0]
@on_postgresql[1]
def test_two_beats_at_once_escalate_each_breach_once(doctor, team):
    cases = [breached(doctor, minutes_late=i + 1) for i in range(60)]

    results = run_together(cases_escalate_breached, cases_escalate_breached, cases_escalate_breached)

    assert sum(results) == 60, results
    assert CaseEscalation.objects.count() == 60 * 2
    assert AuditEvent.objects.filter(action="case.escalated").count() == 60
    assert all(Case.objects.get(pk=c.pk).is_escalated for c in cases)


# --- A real worker (PostgreSQL + Redis; CI runs it) ----------------------------------------------


def test_a_real_worker_runs_the_beat_task_and_escalates(celery_worker):
    hospital = HospitalFactory()
    doctor, colleague = DoctorFactory(hospital=hospital), DoctorFactory(hospital=hospital)
    case = breached(doctor)

    cases_escalate.delay()

    wait_until(
        lambda: ScheduledTaskRun.objects.filter(name="cases_escalate", last_finished_at__isnull=False).exists(),
        message="the worker ran cases_escalate",
    )
    assert escalated_to(case) == {colleague.pk}
    assert ScheduledTaskRun.objects.get(name="cases_escalate").details == {"escalated": 1}
