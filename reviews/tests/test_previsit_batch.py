"""A beat chunk compiled together (reviews/previsit_batch.py): three queries for a chunk of
50 patients with ~20 cases each, the same content summary_compile_run writes, and
summary_compile_run's rules for claims, stale marks, failures and attempts."""

import itertools
from datetime import timedelta

import pytest
from celery.exceptions import SoftTimeLimitExceeded
from django.db import connection
from django.utils import timezone

from reviews import previsit_batch, previsit_tasks, webhook_tasks
from reviews.models import Appointment, Case, CaseStatus, Decision, Message, PreVisitSummary, Urgency, WebhookEvent
from reviews.previsit import (
    SUMMARY_MAX_ATTEMPTS,
    appointment_create,
    summaries_claim,
    summaries_mark_stale,
    summary_compile_run,
)
from reviews.previsit_batch import summaries_compile_chunk_run

from .factories import DoctorFactory, PatientFactory
from .test_previsit import subscribe

CHUNK = 50
CASES_PER_PATIENT = 20
_ids = itertools.count(1)

# What patients write, in both languages, with symptoms, medicines, allergies and questions.
PATIENT_TEXTS = (
    "I'm 28 weeks pregnant and have had a headache since Monday. I took two paracetamol tablets. "
    "Is it safe to take ibuprofen?",
    "I'm allergic to penicillin. My ankles are swollen and I feel dizzy. What should I do?",
    "孩子发烧两天了，38.5度，吃了布洛芬。需要去医院吗？",
    "The baby is moving less since this morning and I have a rash on my arms.",
    "我对青霉素过敏，最近一直咳嗽，晚上睡不好。",
)
STATUSES = (
    CaseStatus.AUTO_RELEASED,
    CaseStatus.APPROVED,
    CaseStatus.CORRECTED,
    CaseStatus.TAKEN_OVER,
    CaseStatus.CLOSED,
    CaseStatus.AWAITING_REVIEW,
)


def history(doctor, patient, *, cases: int, start) -> None:
    """`cases` cases of every status for `patient`, with their messages, flags and decisions,
    written in three bulk inserts."""
    rows = []
    for index in range(cases):
        status = STATUSES[index % len(STATUSES)]
        received = start + timedelta(days=index, minutes=patient.pk % 7)
        rows.append(
            Case(
                hospital=doctor.hospital,
                doctor=doctor,
                reviewer=doctor,
                patient=patient,
                external_id=f"batch-{next(_ids)}",
                status=status,
                urgency=Urgency.URGENT if index % 4 == 0 else Urgency.ROUTINE,
                hold=status == CaseStatus.AWAITING_REVIEW and index % 2 == 0,
                flags=[{"source": "triage", "code": "fever", "rule_id": "r1", "urgency": "urgent", "message_index": 0}]
                if index % 4 == 0
                else [],
                received_at=received,
                due_at=received + timedelta(hours=8),
            )
        )
    Case.objects.bulk_create(rows)
    if connection.vendor != "postgresql":  # bulk_create sets pks only where RETURNING is used
        rows = list(Case.objects.filter(patient=patient).order_by("id"))
    messages, decisions = [], []
    for index, case in enumerate(rows):
        at = case.received_at
        messages.append(Message(case=case, author="patient", body=PATIENT_TEXTS[index % 5], sent_at=at))
        messages.append(Message(case=case, author="avatar", body="Rest and drink water.", sent_at=at))  # same time
        if index % 3 == 0:
            messages.append(Message(case=case, author="patient", body="Thank you. 还要注意什么？", sent_at=at))
        if case.status == CaseStatus.TAKEN_OVER:
            messages.append(
                Message(case=case, author="doctor", doctor=doctor, body="Come in today.", sent_at=at + timedelta(1))
            )
        action = {
            CaseStatus.APPROVED: Decision.Action.APPROVE,
            CaseStatus.CORRECTED: Decision.Action.CORRECT,
            CaseStatus.TAKEN_OVER: Decision.Action.TAKE_OVER,
            CaseStatus.CLOSED: Decision.Action.CLOSE,
        }.get(case.status)
        if action:
            corrected = action == Decision.Action.CORRECT
            decisions.append(
                Decision(
                    case=case,
                    doctor=doctor,
                    action=action,
                    original_text="Rest and drink water.",
                    final_text="Please come in today for a check." if corrected else "Rest and drink water.",
                    correction_category="should_escalate" if corrected else "",
                    note="Blood pressure." if corrected else "",
                    created_at=at + timedelta(hours=1),
                )
            )
    Message.objects.bulk_create(messages)
    Decision.objects.bulk_create(decisions)


@pytest.fixture(autouse=True)
def _webhooks_stay_in_the_outbox(monkeypatch):
    monkeypatch.setattr(webhook_tasks.webhook_deliver, "delay", lambda *ids: None)


@pytest.fixture
def chunk(db) -> list[int]:
    """A beat chunk: 50 summaries, claimed, of visits by patients with 20 cases each."""
    doctor = DoctorFactory(full_name="Li Wei")
    start = timezone.now() - timedelta(days=CASES_PER_PATIENT + 1)
    ids = []
    for index in range(CHUNK):
        patient = PatientFactory(hospital=doctor.hospital, birth_year=1990, sex="female")
        history(doctor, patient, cases=CASES_PER_PATIENT - index % 3, start=start)
        appointment, _ = appointment_create(
            hospital=doctor.hospital,
            doctor=doctor,
            patient=patient,
            scheduled_at=timezone.now() + timedelta(hours=30, minutes=index),
            reason="32-week antenatal check",
            external_id=f"visit-{index}",
        )
        ids.append(appointment.summary.pk)  # pending: 30 hours ahead is outside the 24-hour window
    assert summaries_claim(ids) == sorted(ids)  # as the beat does before sending the chunk
    return ids


def stored_content() -> dict[int, tuple[str, str]]:
    """Each summary's content and source case ids as the database returns them (text)."""
    table = PreVisitSummary._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT id, CAST(content AS TEXT), CAST(source_case_ids AS TEXT) FROM {table}")
        return {pk: (content, sources) for pk, content, sources in cursor.fetchall()}


def rows(ids) -> dict[int, PreVisitSummary]:
    return PreVisitSummary.objects.in_bulk(ids)


def test_a_chunk_of_fifty_patients_with_twenty_cases_each_compiles_in_three_queries(
    chunk, django_assert_max_num_queries
):
    with django_assert_max_num_queries(3):
        run = summaries_compile_chunk_run(chunk)

    assert run.ready == sorted(chunk)
    assert (run.failed, run.overtaken, run.gave_up) == ([], [], [])
    for summary in rows(chunk).values():
        assert (summary.status, summary.stale, summary.error) == ("ready", False, "")
        assert (summary.attempts, summary.compile_started_at, summary.format_version) == (0, None, 1)
        history = list(Case.objects.filter(patient=summary.appointment.patient).order_by("received_at", "id"))
        assert summary.source_case_ids == [c.pk for c in history]
        assert summary.content["case_count"] == len(history) >= CASES_PER_PATIENT - 2
        assert summary.content["corrections"] and summary.content["red_flags"] and summary.content["symptoms"]


def test_the_chunk_writes_byte_for_byte_what_summary_compile_run_writes(chunk):
    summaries_compile_chunk_run(chunk)
    batched = stored_content()

    for summary_id in chunk:
        summary_compile_run(summary_id, force=True)
    one_by_one = stored_content()

    assert batched == one_by_one
    assert len({content for content, _ in batched.values()}) == CHUNK  # every patient's own history


def test_a_summary_claimed_again_during_the_compile_keeps_the_later_compiles_result(chunk, monkeypatch):
    taken = chunk[7]
    real = previsit_batch.previsit_summary_from_history
    later = timezone.now() + timedelta(seconds=5)

    def another_compile_starts(appointment, **history):
        # e.g. `compile_summaries --appointment`: it started after this chunk, so it writes.
        PreVisitSummary.objects.filter(pk=taken).update(compile_started_at=later)
        return real(appointment, **history)

    monkeypatch.setattr(previsit_batch, "previsit_summary_from_history", another_compile_starts)
    run = summaries_compile_chunk_run(chunk)

    assert run.overtaken == [taken]
    summary = rows([taken])[taken]
    assert (summary.status, summary.content, summary.compile_started_at) == ("pending", {}, later)
    assert all(s.status == "ready" for pk, s in rows(chunk).items() if pk != taken)


def test_a_case_arriving_during_the_compile_leaves_its_summary_stale(chunk, monkeypatch):
    marked = chunk[3]
    patient_id = rows([marked])[marked].appointment.patient_id
    real = previsit_batch.previsit_summary_from_history

    def a_case_arrives(appointment, **history):
        summaries_mark_stale(patient_ids=[patient_id])  # what case ingest does in its transaction
        return real(appointment, **history)

    monkeypatch.setattr(previsit_batch, "previsit_summary_from_history", a_case_arrives)
    summaries_compile_chunk_run(chunk)

    after = rows(chunk)
    assert (after[marked].status, after[marked].stale) == ("ready", True)  # the next beat compiles it again
    assert not any(s.stale for pk, s in after.items() if pk != marked)


def test_a_stale_mark_from_before_the_start_is_cleared_by_the_compile(chunk):
    PreVisitSummary.objects.filter(pk=chunk[0]).update(stale=True)

    summaries_compile_chunk_run(chunk)

    assert rows([chunk[0]])[chunk[0]].stale is False  # its history was read after the start


def test_a_summary_whose_compile_raises_is_failed_and_the_others_are_ready(chunk, monkeypatch, caplog):
    broken = chunk[11]
    broken_appointment = rows([broken])[broken].appointment_id
    real = previsit_batch.previsit_summary_from_history

    def breaks_on_one(appointment, **history):
        if appointment.pk == broken_appointment:
            raise ZeroDivisionError
        return real(appointment, **history)

    monkeypatch.setattr(previsit_batch, "previsit_summary_from_history", breaks_on_one)
    run = summaries_compile_chunk_run(chunk)

    assert run.failed == [broken]
    after = rows(chunk)
    failed = after[broken]
    assert (failed.status, failed.error, failed.attempts) == ("failed", "ZeroDivisionError", 1)
    assert failed.compile_started_at is not None  # held one lease, as after summary_compile_run's failure
    assert summaries_claim([broken]) == []
    assert sum(s.status == "ready" for s in after.values()) == CHUNK - 1
    assert f"Could not compile pre-visit summary {broken}" in caplog.text


def test_a_ready_summary_whose_recompile_fails_stays_ready_and_stale(chunk, monkeypatch):
    summaries_compile_chunk_run(chunk)
    first = rows([chunk[0]])[chunk[0]]
    summaries_mark_stale(patient_ids=[first.appointment.patient_id])
    assert summaries_claim([chunk[0]]) == [chunk[0]]  # the next beat's claim

    def broken(appointment, **history):
        raise ValueError

    monkeypatch.setattr(previsit_batch, "previsit_summary_from_history", broken)
    summaries_compile_chunk_run([chunk[0]])

    after = rows([chunk[0]])[chunk[0]]
    assert (after.status, after.stale, after.error) == ("ready", True, "ValueError")
    assert (after.content, after.compiled_at) == (first.content, first.compiled_at)


def test_summaries_out_of_attempts_are_given_up_and_compiled_ones_left_alone(chunk, monkeypatch):
    PreVisitSummary.objects.filter(pk=chunk[0]).update(attempts=SUMMARY_MAX_ATTEMPTS)
    summaries_compile_chunk_run(chunk[1:2])
    compiled = rows([chunk[1]])[chunk[1]]

    run = summaries_compile_chunk_run(chunk[:2])  # chunk[1] again: a redelivered message

    assert (run.gave_up, run.started) == ([chunk[0]], [])
    after = rows(chunk[:2])
    assert (after[chunk[0]].status, after[chunk[0]].error, after[chunk[0]].compile_started_at) == (
        "failed",
        "GaveUp",
        None,
    )
    assert after[chunk[1]].compiled_at == compiled.compiled_at


def test_summary_ready_events_only_where_subscribed_with_summary_compile_runs_payload(
    chunk, django_capture_on_commit_callbacks, django_assert_num_queries
):
    hospital = Appointment.objects.get(summary__pk=chunk[0]).hospital
    subscribe(hospital)

    # Three queries per event on top of the chunk's three: the endpoints, the event, its deliveries.
    with django_capture_on_commit_callbacks(execute=True), django_assert_num_queries(3 + 3 * CHUNK):
        summaries_compile_chunk_run(chunk)

    events = {e.payload["appointment"]["id"]: e for e in WebhookEvent.objects.filter(type="summary.ready")}
    assert len(events) == CHUNK
    batched = {pk: events[pk].payload for pk in events}
    last = max(e.pk for e in events.values())
    for summary_id in chunk:
        summary_compile_run(summary_id, force=True)
    one_by_one = {e.payload["appointment"]["id"]: e.payload for e in WebhookEvent.objects.filter(pk__gt=last)}
    for payloads in (batched, one_by_one):
        for payload in payloads.values():
            payload.pop("compiled_at")
    assert batched == one_by_one
    doctor = Appointment.objects.get(summary__pk=chunk[0]).doctor
    assert {p["doctor"]["licence_number"] for p in batched.values()} == {doctor.doctor_profile.licence_number}


def test_a_chunk_out_of_time_writes_nothing_and_hands_everything_back(chunk, monkeypatch):
    def out_of_time(appointment, **history):
        raise SoftTimeLimitExceeded

    monkeypatch.setattr(previsit_batch, "previsit_summary_from_history", out_of_time)
    previsit_tasks.summaries_compile_chunk(*chunk)

    after = rows(chunk)
    assert {(s.status, s.compile_started_at) for s in after.values()} == {("pending", None)}
    assert summaries_claim(chunk) == sorted(chunk)  # the next beat's again
