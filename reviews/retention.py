"""Retention (issue #8): purge what the hospital no longer may or must keep, never anything younger.

Three classes of data, each with an age in days from settings that is both the default and the
minimum a purge may be asked for; the settings themselves may not go below the legal floors.

- **records** (`RETENTION_RECORDS_DAYS`, floor 15 years): whole cases whose last activity
  (`Case.updated_at`) is older than the age, with their messages, decisions, escalations and
  webhook events; appointments scheduled before the cutoff, with their pre-visit summary; then
  the patients left with no case and no appointment. A remaining summary compiled from a
  purged case is reset to pending (content erased) so the next compile rebuilds it without it.
- **conversations** (`RETENTION_CONVERSATIONS_DAYS`, floor 3 years): the words of the patient
  and the avatar in decided cases older than the age: patient and avatar message bodies become
  `REMOVED_MARKER`, the queue's question preview is emptied, and flags lose the matched text.
  The case, the doctor's own messages and the decisions (draft and final answer as the doctor
  decided them) stay: they are the medical record of what the doctor was responsible for.
  Summaries compiled from those cases are reset as above.
- **logs** (`RETENTION_LOGS_DAYS`, floor 6 months): finished webhook deliveries, webhook events
  left without a pending delivery (their payload carries answers), Idempotency-Key answers,
  and `ScheduledTaskRun` rows of tasks that have not run since (those rows are not a hospital's;
  any hospital's run purges them).

Only decided cases (`FINAL_STATUSES`) that nobody holds a claim on are touched, however old: a
case awaiting review or a conversation a doctor took over stays until it is decided or closed.

Each batch is one transaction: it locks its rows with `SELECT … FOR UPDATE SKIP LOCKED` (a row a
doctor's action holds is left for the next run), purges them and appends one `retention.purged`
audit event (counts, first and last id, the age and cutoff used; actor: system) to the
hospital's chain. So a million-row purge never holds one long transaction, an interrupted run
keeps what it committed, and a second run finds nothing left to do. Audit events are never
deleted or changed (the PostgreSQL trigger refuses it and the hash chain would break): they hold
ids only, and keep the ids of purged cases.
"""

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from accounts.models import Hospital

from .audit import audit_record
from .models import (
    Appointment,
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
    WebhookEvent,
)

# Legal floors, in days: 15 years and 3 years with their leap days, and six months.
RECORDS_FLOOR_DAYS = 5479
CONVERSATIONS_FLOOR_DAYS = 1096
LOGS_FLOOR_DAYS = 183

DEFAULT_BATCH_SIZE = 1000
# Stored in place of erased text, untranslated like the scrubber's `[phone]`: pages show it as is.
REMOVED_MARKER = "[removed after retention period]"
# Decided cases: nothing a doctor still has to do. Taken-over cases are open conversations.
FINAL_STATUSES = (CaseStatus.AUTO_RELEASED, CaseStatus.APPROVED, CaseStatus.CORRECTED, CaseStatus.CLOSED)
# Flag keys that quote or point into the patient's words.
FLAG_TEXT_KEYS = ("matched_text", "start", "end")
ERASED_AUTHORS = (Message.Author.PATIENT, Message.Author.AVATAR)

RECORDS = "records"
CONVERSATIONS = "conversations"
LOGS = "logs"
CLASSES = (RECORDS, CONVERSATIONS, LOGS)

AUDIT_ACTION = "retention.purged"


class RetentionRefused(Exception):
    """A purge asked for an age below its minimum, or settings below a legal floor."""


@dataclass(frozen=True)
class RetentionAges:
    records_days: int
    conversations_days: int
    logs_days: int

    def days(self, retention_class: str) -> int:
        return getattr(self, f"{retention_class}_days")


@dataclass
class RetentionResult:
    """Rows purged (or, on a dry run, that would be) per class and table, and batches committed."""

    counts: dict[str, Counter] = field(default_factory=lambda: {name: Counter() for name in CLASSES})
    batches: int = 0


def retention_minimums() -> RetentionAges:
    """The configured ages; refused if any is below its legal floor (a mistyped environment variable)."""
    configured = RetentionAges(
        records_days=settings.RETENTION_RECORDS_DAYS,
        conversations_days=settings.RETENTION_CONVERSATIONS_DAYS,
        logs_days=settings.RETENTION_LOGS_DAYS,
    )
    floors = RetentionAges(RECORDS_FLOOR_DAYS, CONVERSATIONS_FLOOR_DAYS, LOGS_FLOOR_DAYS)
    for name in CLASSES:
        if configured.days(name) < floors.days(name):
            raise RetentionRefused(
                f"RETENTION_{name.upper()}_DAYS is {configured.days(name)}, below the legal floor of "
                f"{floors.days(name)} days; correct the setting. Nothing was purged."
            )
    return configured


def retention_ages(
    *, records_days: int | None = None, conversations_days: int | None = None, logs_days: int | None = None
) -> RetentionAges:
    """The ages a purge uses: the configured ones, or older ones asked for; never younger."""
    minimums = retention_minimums()
    requested = {RECORDS: records_days, CONVERSATIONS: conversations_days, LOGS: logs_days}
    for name, days in requested.items():
        if days is not None and days < minimums.days(name):
            raise RetentionRefused(
                f"{days} days is below the minimum retention of {name}: {minimums.days(name)} days. Nothing was purged."
            )
    return RetentionAges(*(minimums.days(name) if requested[name] is None else requested[name] for name in CLASSES))


def retention_purge(
    *,
    hospital: Hospital,
    ages: RetentionAges,
    dry_run: bool = False,
    batch_size: int = DEFAULT_BATCH_SIZE,
    now: datetime | None = None,
) -> RetentionResult:
    """Purge the hospital's rows older than `ages` (see the module docstring); count only when `dry_run`."""
    now = now or timezone.now()
    cutoffs = {name: now - timedelta(days=ages.days(name)) for name in CLASSES}
    result = RetentionResult()
    if dry_run:
        result.counts[RECORDS].update(_records_count(hospital, cutoffs[RECORDS]))
        result.counts[CONVERSATIONS].update(
            _conversations_count(hospital, cutoffs[CONVERSATIONS], records_cutoff=cutoffs[RECORDS])
        )
        result.counts[LOGS].update(_logs_count(hospital, cutoffs[LOGS]))
        return result

    def run(retention_class: str, table: str, select: Callable[[int], list], purge: Callable[[list], Counter]) -> None:
        after = 0
        while True:
            # One transaction per batch: the locks, the purge and its audit event commit together.
            with transaction.atomic():
                rows = select(after)[:batch_size]
                if not rows:
                    return
                ids = [_row_id(row) for row in rows]
                counts = purge(rows)
                audit_record(
                    hospital=hospital,
                    action=AUDIT_ACTION,
                    details={
                        "retention_class": retention_class,
                        "table": table,
                        "first_id": ids[0],
                        "last_id": ids[-1],
                        "older_than_days": ages.days(retention_class),
                        "cutoff": cutoffs[retention_class].isoformat(),
                        "counts": dict(sorted(counts.items())),
                    },
                )
            result.counts[retention_class].update(counts)
            result.batches += 1
            after = ids[-1]

    cases = _decided_cases(hospital, cutoffs[RECORDS]).values_list("pk", "patient_id")
    run(RECORDS, "case", partial(_locked, cases), _records_cases_purge)
    visits = Appointment.objects.filter(hospital=hospital, scheduled_at__lt=cutoffs[RECORDS]).values_list(
        "pk", "patient_id"
    )
    run(RECORDS, "appointment", partial(_locked, visits), _records_appointments_purge)
    conversations = _conversations(hospital, cutoffs[CONVERSATIONS])
    run(CONVERSATIONS, "case", partial(_locked, conversations), _conversations_erase)
    for table, logs in _logs(hospital, cutoffs[LOGS]).items():
        run(LOGS, table, partial(_locked, logs.values_list("pk", flat=True)), _logs_delete(table))
    return result


def _row_id(row: Case | tuple | int) -> int:
    """A batch's rows are cases, (id, patient id) pairs or plain ids."""
    if isinstance(row, Case):
        return row.pk
    return row[0] if isinstance(row, tuple) else row


def _locked(queryset: QuerySet, after: int) -> QuerySet:
    # Keyset by id: each batch starts after the last, so rows skipped as locked are left for the
    # next run instead of being asked for again and again.
    return queryset.filter(pk__gt=after).order_by("pk").select_for_update(skip_locked=True)


def _decided_cases(hospital: Hospital, cutoff: datetime) -> QuerySet:
    return Case.objects.filter(
        hospital=hospital, status__in=FINAL_STATUSES, claimed_by__isnull=True, updated_at__lt=cutoff
    )


# Records ---------------------------------------------------------------------------------


def _records_cases_purge(rows: list[tuple[int, int]]) -> Counter:
    case_ids = [case_id for case_id, _ in rows]
    patient_ids = {patient_id for _, patient_id in rows}
    counts = Counter()
    counts["summaries_reset"] = _summaries_reset(case_ids, patient_ids)
    # Children first: decisions, escalations and webhook events protect their case.
    counts["escalations"], _ = CaseEscalation.objects.filter(case_id__in=case_ids).delete()
    counts["webhook_deliveries"], _ = WebhookDelivery.objects.filter(event__case_id__in=case_ids).delete()
    counts["webhook_events"], _ = WebhookEvent.objects.filter(case_id__in=case_ids).delete()
    counts["decisions"], _ = Decision.objects.filter(case_id__in=case_ids).delete()
    counts["messages"], _ = Message.objects.filter(case_id__in=case_ids).delete()
    counts["cases"], _ = Case.objects.filter(pk__in=case_ids).delete()
    counts["patients"] = _patients_delete(patient_ids)
    return counts


def _records_appointments_purge(rows: list[tuple[int, int]]) -> Counter:
    counts = Counter()
    counts["summaries"], _ = PreVisitSummary.objects.filter(appointment_id__in=[pk for pk, _ in rows]).delete()
    counts["appointments"], _ = Appointment.objects.filter(pk__in=[pk for pk, _ in rows]).delete()
    counts["patients"] = _patients_delete({patient_id for _, patient_id in rows})
    return counts


def _patients_delete(patient_ids: set[int]) -> int:
    """Patients of the batch left with no case and no appointment: nothing refers to them any more."""
    deleted, _ = (
        Patient.objects.filter(pk__in=patient_ids)
        .exclude(Exists(Case.objects.filter(patient=OuterRef("pk"))))
        .exclude(Exists(Appointment.objects.filter(patient=OuterRef("pk"))))
        .delete()
    )
    return deleted


def _summaries_reset(case_ids: list[int], patient_ids: set[int]) -> int:
    """Erase summaries compiled from these cases; the next compile rebuilds them without their text.

    Looked up by the cases' patients (a summary only ever draws on its patient's cases) and
    matched in Python: a JSON list lookup is not portable to SQLite. A reset summary no longer
    names the cases, so a re-run does not reset it again."""
    purged = set(case_ids)
    summaries = [
        summary
        for summary in PreVisitSummary.objects.filter(appointment__patient_id__in=patient_ids).only(
            "pk", "source_case_ids"
        )
        if purged.intersection(summary.source_case_ids or ())
    ]
    for summary in summaries:
        summary.status = PreVisitSummary.Status.PENDING
        summary.content = {}
        summary.source_case_ids = []
        summary.compiled_at = None
        summary.stale = True
        summary.updated_at = timezone.now()
    PreVisitSummary.objects.bulk_update(
        summaries, ["status", "content", "source_case_ids", "compiled_at", "stale", "updated_at"]
    )
    return len(summaries)


def _records_count(hospital: Hospital, cutoff: datetime) -> Counter:
    cases = _decided_cases(hospital, cutoff)
    appointments = Appointment.objects.filter(hospital=hospital, scheduled_at__lt=cutoff)
    kept_cases = Case.objects.filter(patient=OuterRef("pk")).exclude(pk__in=cases.values("pk"))
    kept_appointments = Appointment.objects.filter(patient=OuterRef("pk")).exclude(pk__in=appointments.values("pk"))
    patients = (
        Patient.objects.filter(hospital=hospital)
        .filter(Q(pk__in=cases.values("patient_id")) | Q(pk__in=appointments.values("patient_id")))
        .exclude(Exists(kept_cases))
        .exclude(Exists(kept_appointments))
    )
    return Counter(
        {
            "cases": cases.count(),
            "messages": Message.objects.filter(case__in=cases).count(),
            "decisions": Decision.objects.filter(case__in=cases).count(),
            "escalations": CaseEscalation.objects.filter(case__in=cases).count(),
            "webhook_events": WebhookEvent.objects.filter(case__in=cases).count(),
            "appointments": appointments.count(),
            "patients": patients.count(),
        }
    )


# Conversations ---------------------------------------------------------------------------


def _conversations(hospital: Hospital, cutoff: datetime) -> QuerySet:
    """Decided cases old enough that still hold the patient's or the avatar's words."""
    unerased = Message.objects.filter(case=OuterRef("pk"), author__in=ERASED_AUTHORS).exclude(body=REMOVED_MARKER)
    return _decided_cases(hospital, cutoff).filter(Q(Exists(unerased)) | ~Q(question_preview="")).only("pk", "flags")


def _conversations_erase(cases: list[Case]) -> Counter:
    case_ids = [case.pk for case in cases]
    messages = Message.objects.filter(case_id__in=case_ids, author__in=ERASED_AUTHORS).exclude(body=REMOVED_MARKER)
    counts = Counter({"messages_erased": messages.update(body=REMOVED_MARKER), "cases": len(cases)})
    for case in cases:
        case.question_preview = ""
        case.flags = [{k: v for k, v in flag.items() if k not in FLAG_TEXT_KEYS} for flag in case.flags]
    # updated_at stays: it is the case's last activity, which the records age counts from.
    Case.objects.bulk_update(cases, ["question_preview", "flags"])
    patient_ids = set(Case.objects.filter(pk__in=case_ids).values_list("patient_id", flat=True))
    counts["summaries_reset"] = _summaries_reset(case_ids, patient_ids)
    return counts


def _conversations_count(hospital: Hospital, cutoff: datetime, *, records_cutoff: datetime) -> Counter:
    # A real run purges records first: cases old enough for that are not erased, they are deleted.
    cases = _conversations(hospital, cutoff).exclude(updated_at__lt=records_cutoff)
    messages = Message.objects.filter(case__in=cases.values("pk"), author__in=ERASED_AUTHORS).exclude(
        body=REMOVED_MARKER
    )
    return Counter({"cases": cases.count(), "messages_erased": messages.count()})


# Logs ------------------------------------------------------------------------------------


def _logs(hospital: Hospital, cutoff: datetime) -> dict[str, QuerySet]:
    """The log tables in the order they are purged: deliveries before the events they belong to."""
    finished = (WebhookDelivery.Status.DELIVERED, WebhookDelivery.Status.FAILED)
    pending = WebhookDelivery.objects.filter(event=OuterRef("pk"), status=WebhookDelivery.Status.PENDING)
    return {
        "webhook_deliveries": WebhookDelivery.objects.filter(
            event__hospital=hospital, status__in=finished, created_at__lt=cutoff
        ),
        "webhook_events": WebhookEvent.objects.filter(hospital=hospital, created_at__lt=cutoff).exclude(
            Exists(pending)
        ),
        "idempotency_records": IdempotencyRecord.objects.filter(api_client__hospital=hospital, created_at__lt=cutoff),
        # Not a hospital's rows: one per periodic task, so only tasks that no longer run get this old.
        "scheduled_task_runs": ScheduledTaskRun.objects.filter(last_started_at__lt=cutoff).exclude(
            last_finished_at__gte=cutoff
        ),
    }


def _logs_delete(table: str) -> Callable[[list[int]], Counter]:
    model = {
        "webhook_deliveries": WebhookDelivery,
        "webhook_events": WebhookEvent,
        "idempotency_records": IdempotencyRecord,
        "scheduled_task_runs": ScheduledTaskRun,
    }[table]

    def delete(ids: list[int]) -> Counter:
        counts = Counter()
        if model is WebhookEvent:
            # A finished delivery younger than the cutoff still belongs to the event: it goes with it.
            counts["webhook_deliveries"], _ = WebhookDelivery.objects.filter(event_id__in=ids).delete()
        counts[table], _ = model.objects.filter(pk__in=ids).delete()
        return counts

    return delete


def _logs_count(hospital: Hospital, cutoff: datetime) -> Counter:
    return Counter({table: logs.count() for table, logs in _logs(hospital, cutoff).items()})
