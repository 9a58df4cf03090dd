"""`purge_retention` (reviews/retention.py): what goes at which age, what never goes, and its audit trail."""

import uuid
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from reviews.audit import audit_chain_verify, audit_record
from reviews.models import (
    Appointment,
    AuditEvent,
    Case,
    CaseEscalation,
    CaseStatus,
    Decision,
    IdempotencyRecord,
    Message,
    Patient,
    PreVisitSummary,
    ScheduledTaskRun,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEvent,
)
from reviews.retention import REMOVED_MARKER, RetentionAges, retention_purge
from reviews.tests.factories import ApiClientFactory, CaseFactory, DoctorFactory, HospitalFactory, PatientFactory

YEAR = timedelta(days=366)
NOW = timezone.now()
TRIAGE_FLAG = {
    "source": "triage",
    "code": "chest_pain",
    "rule_id": "chest-pain",
    "urgency": "emergency",
    "reason": "Chest pain",
    "matched_text": "crushing chest pain",
    "message_index": 0,
    "start": 4,
    "end": 23,
}


def decided_case(*, doctor, age: timedelta, status=CaseStatus.CLOSED, patient=None, **fields) -> Case:
    """A case decided and last touched `age` ago, with its decision and audit rows as the services leave them."""
    at = NOW - age
    extra = {"patient": patient} if patient else {}
    case = CaseFactory(
        doctor=doctor, status=status, received_at=at, updated_at=at, flags=[TRIAGE_FLAG], **extra, **fields
    )
    Message.objects.filter(case=case).update(created_at=at, sent_at=at)
    Message.objects.create(case=case, author="doctor", doctor=doctor, body="Please come in today.", sent_at=at)
    Decision.objects.create(case=case, doctor=doctor, action="approve", original_text="Rest.", final_text="Rest.")
    audit_record(hospital=case.hospital, case=case, action="case.ingested")
    audit_record(hospital=case.hospital, user=doctor, case=case, action="case.approved")
    return case


def run(hospital, *args: str) -> str:
    from io import StringIO

    out = StringIO()
    call_command("purge_retention", "--hospital", hospital.slug, *args, stdout=out)
    return out.getvalue()


def purge_audits(hospital) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(hospital=hospital, action="retention.purged").order_by("id"))


@pytest.fixture
def other_hospital_doctor(db):
    return DoctorFactory(hospital=HospitalFactory())


# Records ---------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_records_purge_deletes_old_decided_cases_and_keeps_young_active_and_other_hospitals(
    hospital, doctor, other_hospital_doctor
):
    # Committed batches on PostgreSQL: foreign keys and the audit trigger are checked for real.
    old = decided_case(doctor=doctor, age=16 * YEAR)
    CaseEscalation.objects.create(case=old, doctor=doctor, breach_due_at=NOW - 16 * YEAR)
    event = WebhookEvent.objects.create(event_id=uuid.uuid4(), hospital=hospital, type="case.closed", case=old)
    endpoint = WebhookEndpoint.objects.create(hospital=hospital, url="https://his.example/hook", secret="s")
    WebhookDelivery.objects.create(event=event, endpoint=endpoint, status="delivered")
    shared_patient = PatientFactory(hospital=hospital)
    old_of_shared = decided_case(doctor=doctor, age=16 * YEAR, status=CaseStatus.APPROVED, patient=shared_patient)
    young = decided_case(doctor=doctor, age=14 * YEAR, patient=shared_patient)
    waiting = CaseFactory(doctor=doctor, received_at=NOW - 16 * YEAR, updated_at=NOW - 16 * YEAR)
    taken_over = decided_case(doctor=doctor, age=16 * YEAR, status=CaseStatus.TAKEN_OVER, claimed_by=doctor)
    elsewhere = decided_case(doctor=other_hospital_doctor, age=16 * YEAR)
    old_visit = Appointment.objects.create(
        hospital=hospital, patient=shared_patient, doctor=doctor, scheduled_at=NOW - 16 * YEAR
    )
    PreVisitSummary.objects.create(appointment=old_visit, status="ready", content={"concerns": ["headache"]})
    visit = Appointment.objects.create(hospital=hospital, patient=shared_patient, doctor=doctor, scheduled_at=NOW)
    summary = PreVisitSummary.objects.create(
        appointment=visit, status="ready", content={"concerns": ["headache"]}, source_case_ids=[old_of_shared.pk]
    )
    old_patient_id = old.patient_id

    output = run(hospital)

    kept = set(Case.objects.values_list("pk", flat=True))
    assert kept == {young.pk, waiting.pk, taken_over.pk, elsewhere.pk}
    assert not Message.objects.filter(case_id__in=[old.pk, old_of_shared.pk]).exists()
    assert not Decision.objects.filter(case_id__in=[old.pk, old_of_shared.pk]).exists()
    assert not CaseEscalation.objects.exists()
    assert not WebhookEvent.objects.exists() and not WebhookDelivery.objects.exists()
    assert not Patient.objects.filter(pk=old_patient_id).exists()
    assert Patient.objects.filter(pk=shared_patient.pk).exists()  # still has a young case
    assert list(Appointment.objects.values_list("pk", flat=True)) == [visit.pk]
    summary.refresh_from_db()
    assert (summary.status, summary.content, summary.source_case_ids) == ("pending", {}, [])
    # The audit rows of the purged cases stay, with their ids, and the chain still verifies.
    assert AuditEvent.objects.filter(case_id=old.pk, action="case.approved").exists()
    [cases_batch, appointments_batch] = [e for e in purge_audits(hospital) if e.details["retention_class"] == "records"]
    assert cases_batch.actor_type == "system"
    assert cases_batch.details["table"] == "case"
    assert (cases_batch.details["first_id"], cases_batch.details["last_id"]) == (old.pk, old_of_shared.pk)
    assert cases_batch.details["older_than_days"] == 5479
    assert cases_batch.details["counts"]["cases"] == 2
    assert cases_batch.details["counts"]["messages"] == 6
    assert cases_batch.details["counts"]["patients"] == 1
    assert appointments_batch.details["counts"] == {"appointments": 1, "patients": 0, "summaries": 1}
    assert audit_chain_verify(hospital=hospital).ok
    assert audit_chain_verify(hospital=other_hospital_doctor.hospital).ok
    assert not purge_audits(other_hospital_doctor.hospital)
    assert "records" in output and "cases" in output

    # A second run finds nothing: no deletion, no audit event.
    audits = AuditEvent.objects.count()
    run(hospital)
    assert AuditEvent.objects.count() == audits
    assert Case.objects.count() == 4


def test_records_purge_queries_per_batch_do_not_grow_with_rows(hospital, doctor, django_assert_max_num_queries):
    ages = RetentionAges(records_days=5479, conversations_days=1096, logs_days=183)
    decided_case(doctor=doctor, age=16 * YEAR)
    with CaptureQueriesContext(connection) as one_case:
        result = retention_purge(hospital=hospital, ages=ages, batch_size=100)
    assert result.counts["records"]["cases"] == 1
    for _ in range(12):
        decided_case(doctor=doctor, age=16 * YEAR)
    with django_assert_max_num_queries(len(one_case)):
        result = retention_purge(hospital=hospital, ages=ages, batch_size=100)
    assert (result.counts["records"]["cases"], result.batches) == (12, 1)


# Conversations ---------------------------------------------------------------------------


def test_conversations_erase_patient_and_avatar_text_of_old_decided_cases_only(hospital, doctor, other_hospital_doctor):
    old = decided_case(doctor=doctor, age=4 * YEAR, status=CaseStatus.CORRECTED)
    young = decided_case(doctor=doctor, age=2 * YEAR)
    waiting = CaseFactory(doctor=doctor, received_at=NOW - 4 * YEAR, updated_at=NOW - 4 * YEAR)
    elsewhere = decided_case(doctor=other_hospital_doctor, age=4 * YEAR)
    visit = Appointment.objects.create(hospital=hospital, patient=old.patient, doctor=doctor, scheduled_at=NOW)
    summary = PreVisitSummary.objects.create(
        appointment=visit, status="ready", content={"concerns": ["headache"]}, source_case_ids=[old.pk]
    )

    run(hospital)

    old.refresh_from_db()
    bodies = dict(old.messages.values_list("author", "body"))
    assert bodies == {"patient": REMOVED_MARKER, "avatar": REMOVED_MARKER, "doctor": "Please come in today."}
    assert old.question_preview == ""
    assert old.flags == [{k: v for k, v in TRIAGE_FLAG.items() if k not in ("matched_text", "start", "end")}]
    assert old.status == CaseStatus.CORRECTED and old.updated_at == NOW - 4 * YEAR
    assert old.decisions.get().final_text == "Rest."  # the decision is the medical record
    summary.refresh_from_db()
    assert (summary.status, summary.content) == ("pending", {})
    for untouched in (young, waiting, elsewhere):
        assert REMOVED_MARKER not in untouched.messages.values_list("body", flat=True)
        untouched.refresh_from_db()
        assert untouched.question_preview
    [audit] = [e for e in purge_audits(hospital) if e.details["retention_class"] == "conversations"]
    assert audit.case_id is None and audit.actor_type == "system"
    assert audit.details["counts"] == {"cases": 1, "messages_erased": 2, "summaries_reset": 1}
    assert (audit.details["first_id"], audit.details["last_id"]) == (old.pk, old.pk)
    assert audit.details["older_than_days"] == 1096
    assert audit_chain_verify(hospital=hospital).ok

    audits = AuditEvent.objects.count()
    run(hospital)
    assert AuditEvent.objects.count() == audits  # nothing left to erase: no batch, no audit


def test_conversation_batches_cost_the_same_queries_however_many_cases(hospital, doctor, django_assert_max_num_queries):
    ages = RetentionAges(records_days=5479, conversations_days=1096, logs_days=183)
    decided_case(doctor=doctor, age=4 * YEAR)
    with CaptureQueriesContext(connection) as one_case:
        result = retention_purge(hospital=hospital, ages=ages, batch_size=50)
    assert result.counts["conversations"]["cases"] == 1
    for _ in range(10):
        decided_case(doctor=doctor, age=4 * YEAR)
    with django_assert_max_num_queries(len(one_case)):
        result = retention_purge(hospital=hospital, ages=ages, batch_size=50)
    assert (result.counts["conversations"]["cases"], result.batches) == (10, 1)


def test_batches_split_the_work_and_each_is_audited(hospital, doctor):
    cases = [decided_case(doctor=doctor, age=4 * YEAR) for _ in range(5)]
    run(hospital, "--batch-size", "2")
    audits = purge_audits(hospital)
    assert [(a.details["first_id"], a.details["last_id"]) for a in audits] == [
        (cases[0].pk, cases[1].pk),
        (cases[2].pk, cases[3].pk),
        (cases[4].pk, cases[4].pk),
    ]
    assert sum(a.details["counts"]["cases"] for a in audits) == 5
    assert not Message.objects.filter(author="patient").exclude(body=REMOVED_MARKER).exists()


# Logs ------------------------------------------------------------------------------------


def test_logs_purge_finished_operational_rows_older_than_the_log_age(hospital, doctor, other_hospital_doctor):
    endpoint = WebhookEndpoint.objects.create(hospital=hospital, url="https://his.example/hook", secret="s")
    case = CaseFactory(doctor=doctor, status=CaseStatus.APPROVED)

    def delivery(*, age: timedelta, status: str, on=hospital, to=endpoint) -> WebhookDelivery:
        event = WebhookEvent.objects.create(
            event_id=uuid.uuid4(), hospital=on, type="case.approved", case=case, created_at=NOW - age
        )
        return WebhookDelivery.objects.create(event=event, endpoint=to, status=status, created_at=NOW - age)

    delivered_old = delivery(age=200 * timedelta(days=1), status="delivered")
    failed_old = delivery(age=200 * timedelta(days=1), status="failed")
    pending_old = delivery(age=200 * timedelta(days=1), status="pending")
    delivered_young = delivery(age=timedelta(days=100), status="delivered")
    other = other_hospital_doctor.hospital
    other_endpoint = WebhookEndpoint.objects.create(hospital=other, url="https://other.example/hook", secret="s")
    elsewhere = delivery(age=200 * timedelta(days=1), status="delivered", on=other, to=other_endpoint)
    client = ApiClientFactory(hospital=hospital)
    for age_days, key in ((200, "old"), (10, "young")):
        IdempotencyRecord.objects.create(
            api_client=client, key=key, request_hash="h", status_code=201, created_at=NOW - timedelta(days=age_days)
        )
    ScheduledTaskRun.objects.create(name="retired_task", last_started_at=NOW - timedelta(days=400))
    ScheduledTaskRun.objects.create(name="cases_escalate", last_started_at=NOW - timedelta(minutes=1))

    output = run(hospital)

    assert set(WebhookDelivery.objects.values_list("pk", flat=True)) == {
        pending_old.pk,
        delivered_young.pk,
        elsewhere.pk,
    }
    assert set(WebhookEvent.objects.values_list("pk", flat=True)) == {
        pending_old.event_id,
        delivered_young.event_id,
        elsewhere.event_id,
    }
    assert not WebhookEvent.objects.filter(pk__in=[delivered_old.event_id, failed_old.event_id]).exists()
    assert list(IdempotencyRecord.objects.values_list("key", flat=True)) == ["young"]
    assert list(ScheduledTaskRun.objects.values_list("name", flat=True)) == ["cases_escalate"]
    logs = {a.details["table"]: a.details for a in purge_audits(hospital) if a.details["retention_class"] == "logs"}
    assert logs["webhook_deliveries"]["counts"] == {"webhook_deliveries": 2}
    assert logs["webhook_events"]["counts"] == {"webhook_deliveries": 0, "webhook_events": 2}
    assert logs["idempotency_records"]["counts"] == {"idempotency_records": 1}
    assert logs["webhook_events"]["older_than_days"] == 183
    assert audit_chain_verify(hospital=hospital).ok
    assert "webhook_deliveries" in output and "idempotency_records" in output


# Refusals and dry run --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("option", "minimum"),
    [("--records-older-than-days", 5479), ("--conversations-older-than-days", 1096), ("--logs-older-than-days", 183)],
)
def test_an_age_below_the_minimum_is_refused_and_nothing_is_purged(hospital, doctor, option, minimum):
    old = decided_case(doctor=doctor, age=16 * YEAR)
    with pytest.raises(CommandError, match=f"below the minimum retention .*{minimum} days"):
        run(hospital, option, str(minimum - 1))
    assert Message.objects.filter(case=old).exclude(body=REMOVED_MARKER).count() == 3
    assert not purge_audits(hospital)


def test_an_older_age_than_the_minimum_is_accepted(hospital, doctor):
    four_years = decided_case(doctor=doctor, age=4 * YEAR)
    run(hospital, "--conversations-older-than-days", str(5 * 366))
    assert REMOVED_MARKER not in four_years.messages.values_list("body", flat=True)


def test_settings_below_the_legal_floor_are_refused(hospital, doctor, settings):
    settings.RETENTION_LOGS_DAYS = 30  # e.g. a mistyped environment variable
    old = decided_case(doctor=doctor, age=4 * YEAR)
    with pytest.raises(CommandError, match="RETENTION_LOGS_DAYS is 30, below the legal floor of 183 days"):
        run(hospital)
    assert REMOVED_MARKER not in old.messages.values_list("body", flat=True)


def test_a_raised_setting_is_the_new_minimum(hospital, doctor, settings):
    settings.RETENTION_CONVERSATIONS_DAYS = 5 * 366
    with pytest.raises(CommandError, match="minimum retention of conversations: 1830 days"):
        run(hospital, "--conversations-older-than-days", "1096")


def test_dry_run_counts_and_changes_nothing(hospital, doctor):
    decided_case(doctor=doctor, age=16 * YEAR)
    conversation = decided_case(doctor=doctor, age=4 * YEAR)
    IdempotencyRecord.objects.create(
        api_client=ApiClientFactory(hospital=hospital),
        key="k",
        request_hash="h",
        status_code=201,
        created_at=NOW - timedelta(days=200),
    )
    audits = AuditEvent.objects.count()

    output = run(hospital, "--dry-run")

    assert output.startswith(f"Would purge in hospital {hospital.slug}:")
    lines = [line.split() for line in output.splitlines()]
    assert ["records", "5479", "days", "cases", "1"] in lines
    assert ["records", "5479", "days", "patients", "1"] in lines
    assert ["conversations", "1096", "days", "cases", "1"] in lines
    assert ["logs", "183", "days", "idempotency_records", "1"] in lines
    assert Case.objects.count() == 2
    assert REMOVED_MARKER not in conversation.messages.values_list("body", flat=True)
    assert IdempotencyRecord.objects.count() == 1
    assert AuditEvent.objects.count() == audits


def test_unknown_hospital_is_refused(db):
    with pytest.raises(CommandError, match="No hospital with slug 'nowhere'"):
        call_command("purge_retention", "--hospital", "nowhere")
