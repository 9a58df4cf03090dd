"""Reads shared by pages and the API: scoping, queue order, keyset pages, query counts."""

import base64
import random
from datetime import timedelta

import pytest
from django.db.models import F
from django.utils import timezone

from reviews.models import Case, CaseStatus, Message, Urgency
from reviews.selectors import (
    QueueCursor,
    case_detail,
    case_final_answer,
    conversations_taken_over,
    hospital_overview,
    queue_page,
)
from reviews.services import case_approve, case_claim, case_close, case_correct, case_reply, case_take_over

from .factories import CaseFactory, DoctorFactory, PatientFactory

pytestmark = pytest.mark.django_db

DRAFT = "Rest, drink water and see a doctor if it gets worse or you develop a fever."  # CaseFactory's draft


def bulk_cases(doctor, count: int, *, status=CaseStatus.AWAITING_REVIEW, seed: int = 7) -> list[Case]:
    """`count` cases across all urgencies with many exact due_at ties, so that id has to break them."""
    rng = random.Random(seed)
    patient = PatientFactory(hospital=doctor.hospital)
    base = timezone.now().replace(microsecond=123456)
    prefix = f"bulk-{doctor.pk}-{status}-{seed}"
    rows = [
        Case(
            hospital=doctor.hospital,
            doctor=doctor,
            reviewer=doctor,
            patient=patient,
            external_id=f"{prefix}-{i}",
            status=status,
            urgency=rng.choice(list(Urgency)),
            due_at=base + timedelta(minutes=rng.randrange(6)),
            question_preview=f"question {i}",
        )
        for i in range(count)
    ]
    Case.objects.bulk_create(rows)
    return list(Case.objects.filter(external_id__startswith=prefix))


def walk_queue(doctor, *, size: int) -> list[list[int]]:
    pages = []
    after = None
    while True:
        page = queue_page(doctor=doctor, after=after, size=size)
        pages.append([case.pk for case in page.cases])
        if page.next_cursor is None:
            return pages
        after = QueueCursor.decode(page.next_cursor)
        assert after is not None


def queue_order(cases: list[Case]) -> list[int]:
    return [c.pk for c in sorted(cases, key=lambda c: (c.urgency, c.due_at, c.pk))]


@pytest.fixture
def crowded_queue(doctor, other_doctor, outside_doctor):
    """120 cases awaiting `doctor`, and around them cases that must never show in their queue."""
    mine = bulk_cases(doctor, 120)
    bulk_cases(doctor, 15, status=CaseStatus.APPROVED, seed=8)
    bulk_cases(doctor, 15, status=CaseStatus.AUTO_RELEASED, seed=9)
    bulk_cases(other_doctor, 30, seed=10)
    bulk_cases(outside_doctor, 30, seed=11)
    return mine


@pytest.mark.parametrize("size", [50, 7, 120, 200])
def test_walking_the_queue_shows_each_awaiting_case_once_in_queue_order(doctor, crowded_queue, size):
    pages = walk_queue(doctor, size=size)

    walked = [pk for page in pages for pk in page]
    assert walked == queue_order(crowded_queue)
    assert all(len(page) == size for page in pages[:-1])
    assert len(pages) == -(-120 // size)  # no empty page at the end


def test_the_queue_has_ties_that_the_id_breaks(crowded_queue):
    keys = [(c.urgency, c.due_at) for c in crowded_queue]
    assert len(set(keys)) < len(keys)  # the test above would prove little without ties


def test_a_case_decided_between_pages_drops_out_without_shifting_the_rest(doctor, crowded_queue):
    first = queue_page(doctor=doctor, size=10)
    order = queue_order(crowded_queue)
    decided = Case.objects.get(pk=order[12])
    decided = case_claim(case=decided, doctor=doctor)
    case_approve(case=decided, doctor=doctor, version=decided.version)

    second = queue_page(doctor=doctor, after=QueueCursor.decode(first.next_cursor), size=10)

    assert [c.pk for c in second.cases] == order[10:12] + order[13:21]


def test_the_queue_scopes_to_the_doctor(doctor, other_doctor, outside_doctor):
    CaseFactory(doctor=other_doctor, urgency=Urgency.EMERGENCY)
    CaseFactory(doctor=outside_doctor, urgency=Urgency.EMERGENCY)

    page = queue_page(doctor=doctor)

    assert (page.cases, page.next_cursor) == ([], None)


def test_a_cursor_round_trips():
    cursor = QueueCursor(2, timezone.now().replace(microsecond=654321), 98765)

    assert QueueCursor.decode(cursor.encode()) == cursor


@pytest.mark.parametrize(
    "token",
    [
        "",
        "garbage",
        "!!!not-base64!!!",
        base64.urlsafe_b64encode(b"1|2024-01-01T00:00:00+00:00").decode(),
        base64.urlsafe_b64encode(b"x|2024-01-01T00:00:00+00:00|5").decode(),
        base64.urlsafe_b64encode(b"1|yesterday|5").decode(),
        base64.urlsafe_b64encode(b"\xff\xfe\xfd").decode(),
    ],
)
def test_a_garbage_cursor_decodes_to_none(token):
    assert QueueCursor.decode(token) is None


def test_the_queue_page_costs_one_query_however_many_rows(doctor, other_doctor, django_assert_max_num_queries):
    order = queue_order(bulk_cases(doctor, 60))
    # Claims on both pages read below, so that showing who holds a case is part of the count.
    Case.objects.filter(pk__in=order[:2] + order[50:52]).update(
        claimed_by=other_doctor, claim_expires_at=timezone.now() + timedelta(minutes=5)
    )

    for size in (5, 50):
        with django_assert_max_num_queries(1):
            page = queue_page(doctor=doctor, size=size)
            shown = [(c.patient.pseudonym, c.claimed_by and c.claimed_by.display_name) for c in page.cases]
        with django_assert_max_num_queries(1):
            later = queue_page(doctor=doctor, after=QueueCursor.decode(page.next_cursor), size=size)
            shown += [(c.patient.pseudonym, c.claimed_by and c.claimed_by.display_name) for c in later.cases]
        assert len(shown) == min(2 * size, 60)
        assert [name for _, name in shown].count("Dr Zhang Min") == (2 if size == 5 else 4)


# --- case_detail and case_final_answer -----------------------------------------------------


def claimed_case(doctor, **fields) -> Case:
    case = CaseFactory(doctor=doctor, **fields)
    # CaseFactory dates the draft 5 s ahead; a conversation from before the doctor replies.
    Message.objects.filter(case=case).update(sent_at=F("sent_at") - timedelta(minutes=10))
    return case_claim(case=case, doctor=doctor)


def test_case_detail_lists_the_conversation_and_decisions_in_order(doctor):
    case = claimed_case(doctor)
    case_take_over(case=case, doctor=doctor, version=case.version)
    case_reply(case=case, doctor=doctor, body="Please come in this afternoon.")

    detail = case_detail(case=Case.objects.get(pk=case.pk))

    assert [(m.author, m.body) for m in detail.messages] == [
        ("patient", "I have had a mild headache since yesterday, what should I do?"),
        ("avatar", DRAFT),
        ("doctor", "Please come in this afternoon."),
    ]
    assert detail.draft.body == DRAFT
    assert [d.action for d in detail.decisions] == ["take_over"]


def test_the_final_answer_of_an_approved_case_is_the_draft(doctor):
    case = claimed_case(doctor)
    case_approve(case=case, doctor=doctor, version=case.version)

    assert case_final_answer(case_detail(case=case)) == DRAFT


def test_the_final_answer_of_a_corrected_case_is_the_doctors_text_also_after_closing(doctor):
    case = claimed_case(doctor)
    case_correct(
        case=case, doctor=doctor, version=case.version, final_text="Go to A&E now.", category="should_escalate"
    )
    assert case_final_answer(case_detail(case=case)) == "Go to A&E now."

    case_close(case=case, doctor=doctor, version=Case.objects.get(pk=case.pk).version)

    assert case_final_answer(case_detail(case=case)) == "Go to A&E now."


def test_the_final_answer_of_a_taken_over_case_is_the_doctors_last_reply(doctor):
    case = claimed_case(doctor)
    case_take_over(case=case, doctor=doctor, version=case.version)
    assert case_final_answer(case_detail(case=case)) is None  # nothing sent by the doctor yet

    case_reply(case=case, doctor=doctor, body="How is the headache now?")
    case_reply(case=case, doctor=doctor, body="Then please come in today.")

    assert case_final_answer(case_detail(case=case)) == "Then please come in today."


def test_no_final_answer_while_awaiting_review(doctor):
    case = claimed_case(doctor)

    assert case_final_answer(case_detail(case=case)) is None


def test_case_detail_costs_two_queries_however_long_the_conversation(doctor, django_assert_max_num_queries):
    short = claimed_case(doctor)
    case_take_over(case=short, doctor=doctor, version=short.version)
    long = claimed_case(doctor)
    case_take_over(case=long, doctor=doctor, version=long.version)
    for i in range(30):
        case_reply(case=long, doctor=doctor, body=f"Reply {i}")
        Message.objects.create(case=long, author="patient", body=f"Answer {i}", sent_at=timezone.now())

    for case in (short, long):
        case = Case.objects.get(pk=case.pk)
        with django_assert_max_num_queries(2):
            detail = case_detail(case=case)
            [m.doctor and m.doctor.display_name for m in detail.messages]
            [d.doctor.display_name for d in detail.decisions]
            case_final_answer(detail)
    assert len(detail.messages) == 62


# --- conversations_taken_over --------------------------------------------------------------


def test_conversations_taken_over_are_the_doctors_open_ones(doctor, other_doctor, django_assert_max_num_queries):
    open_emergency = claimed_case(doctor, urgency=Urgency.EMERGENCY)
    open_routine = claimed_case(doctor, urgency=Urgency.ROUTINE)
    closed = claimed_case(doctor)
    for case in (open_routine, open_emergency, closed):
        case_take_over(case=case, doctor=doctor, version=case.version)
    case_close(case=closed, doctor=doctor, version=Case.objects.get(pk=closed.pk).version)
    claimed_case(doctor)  # claimed but not taken over
    colleague = claimed_case(other_doctor)
    case_take_over(case=colleague, doctor=other_doctor, version=colleague.version)

    with django_assert_max_num_queries(1):
        conversations = conversations_taken_over(doctor=doctor)
        [c.patient.pseudonym for c in conversations]

    assert [c.pk for c in conversations] == [open_emergency.pk, open_routine.pk]


def test_conversations_taken_over_cost_one_query_however_many(doctor, django_assert_max_num_queries):
    other = DoctorFactory(hospital=doctor.hospital)
    for _ in range(12):
        case = claimed_case(doctor)
        case_take_over(case=case, doctor=doctor, version=case.version)

    with django_assert_max_num_queries(1):
        shown = [c.patient.pseudonym for c in conversations_taken_over(doctor=doctor)]

    assert len(shown) == 12
    assert conversations_taken_over(doctor=other) == []


# --- hospital_overview -----------------------------------------------------------------------


def test_hospital_overview_counts_each_doctors_queue(
    doctor, other_doctor, outside_doctor, hospital, django_assert_max_num_queries
):
    CaseFactory(doctor=doctor, urgency=Urgency.EMERGENCY)
    CaseFactory(doctor=doctor, urgency=Urgency.URGENT, due_at=timezone.now() - timedelta(minutes=1))
    CaseFactory(doctor=doctor, urgency=Urgency.ROUTINE, due_at=timezone.now() - timedelta(hours=1))
    CaseFactory(doctor=doctor, status=CaseStatus.APPROVED, due_at=timezone.now() - timedelta(hours=1))
    CaseFactory(doctor=doctor, status=CaseStatus.AUTO_RELEASED)
    CaseFactory(doctor=outside_doctor, urgency=Urgency.EMERGENCY)

    with django_assert_max_num_queries(2):
        overview = hospital_overview(hospital=hospital)
        rows = [(w.profile.user.display_name, w.awaiting, w.emergency, w.urgent, w.overdue) for w in overview]

    assert rows == [("Dr Li Wei", 3, 1, 1, 2), ("Dr Zhang Min", 0, 0, 0, 0)]


def test_hospital_overview_costs_the_same_queries_for_more_doctors(hospital, django_assert_max_num_queries):
    for _ in range(15):
        CaseFactory(doctor=DoctorFactory(hospital=hospital))

    with django_assert_max_num_queries(2):
        overview = hospital_overview(hospital=hospital)
        [w.profile.user.full_name for w in overview]

    assert [w.awaiting for w in overview] == [1] * 15
