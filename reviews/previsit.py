"""Pre-visit summaries (DESIGN §7): appointments, and keeping their summaries compiled.

A summary row is also the compile's work item. Its `compile_started_at` is a claim with a
lease (SUMMARY_CLAIM_LEASE): the beat enqueues only summaries nobody holds, so two beats,
or a beat and an appointment just booked, never send the same summary twice at once. A
compile that starts takes the claim for itself, and only the compile that started last
may write its result: a redelivered or duplicate task cannot overwrite fresher content.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import batched

from django.conf import settings
from django.db import IntegrityError, connection, models, transaction
from django.db.models import Count, DateTimeField, DurationField, ExpressionWrapper, F, Func, Min, Q, QuerySet, Value
from django.db.models.functions import Greatest
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import ApiClient, Hospital, User

from .audit import audit_record
from .exceptions import InvalidInput
from .models import Appointment, Patient, PreVisitSummary, ScheduledTaskRun
from .queueing import enqueue_on_commit
from .scrub import scrub_identifiers
from .webhooks import webhook_event_record

# Appointments further back than this keep the summary they were seen with.
_STALE_LOOKBACK = timedelta(days=1)
# The beat still compiles for a visit that began this long ago: clinics run late.
WINDOW_LOOKBACK = timedelta(hours=1)
# A claim older than this belongs to a compile that died without a word (its worker was
# killed and the message lost); longer than a task may run (CELERY_TASK_TIME_LIMIT).
SUMMARY_CLAIM_LEASE = max(timedelta(minutes=10), timedelta(seconds=settings.CELERY_TASK_TIME_LIMIT * 2))
# Compiles begun without success (failed, or killed with their worker) before the portal
# stops trying on its own: a summary that breaks the compile every time must not occupy a
# worker at every beat for ever. `compile_summaries --appointment ID` still tries.
SUMMARY_MAX_ATTEMPTS = 5
# Summary ids per message the beat sends: 10 000 appointments are 100 messages.
BEAT_CHUNK_SIZE = 100
BEAT_TASK_NAME = "summaries_beat"
MAX_REASON_LENGTH = 500


def summaries_mark_stale(*, patient_ids: Iterable[int]) -> int:
    """Mark the summaries of these patients' coming appointments out of date.

    Called in the transaction that adds a case or a patient message, so a compile that
    read the history before the change is always followed by another. One UPDATE, served
    by appointment_patient_idx; returns how many summaries it marked.
    """
    ids = set(patient_ids)
    if not ids:
        return 0
    return PreVisitSummary.objects.filter(
        appointment__patient_id__in=ids,
        appointment__scheduled_at__gte=timezone.now() - _STALE_LOOKBACK,
        stale=False,
    ).update(stale=True, updated_at=timezone.now())


# --- The lead window ----------------------------------------------------------------------


class _HoursAsDuration(Func):
    """A whole number of hours as a duration: an interval on PostgreSQL, microseconds on
    SQLite (how Django stores durations there), where integer * interval does not exist."""

    output_field = DurationField()
    template = "make_interval(hours => %(expressions)s)"

    def as_sqlite(self, compiler, connection, **extra_context):
        return super().as_sql(compiler, connection, template="(%(expressions)s * 3600000000)", **extra_context)


def in_lead_window(*, now: datetime, prefix: str = "") -> Q:
    """Appointments (or, with prefix "appointment__", their summaries) whose visit is close
    enough for a summary: from WINDOW_LOOKBACK ago to the hospital's lead time ahead.

    One condition over the join with the hospital, so the beat needs no query per hospital;
    the lower bound is served by appointment_scheduled_idx.
    """
    lead_end = ExpressionWrapper(
        Value(now, output_field=DateTimeField()) + _HoursAsDuration(F(f"{prefix}hospital__summary_lead_hours")),
        output_field=DateTimeField(),
    )
    return Q(**{f"{prefix}scheduled_at__gte": now - WINDOW_LOOKBACK, f"{prefix}scheduled_at__lte": lead_end})


def appointment_in_lead_window(appointment: Appointment, *, now: datetime) -> bool:
    lead = timedelta(hours=appointment.hospital.summary_lead_hours)
    return now - WINDOW_LOOKBACK <= appointment.scheduled_at <= now + lead


# --- Booking ------------------------------------------------------------------------------


def doctor_for_licence(*, hospital: Hospital, licence: str) -> User:
    """The hospital's active doctor with this licence number, or the API's 400 saying so."""
    from .services import unknown_doctor_error  # services imports this module

    user = (
        User.objects.filter(
            hospital=hospital,
            role=User.Role.DOCTOR,
            is_active=True,
            doctor_profile__hospital=hospital,
            doctor_profile__licence_number=licence,
        )
        .select_related("doctor_profile")
        .first()
    )
    if user is None:
        raise unknown_doctor_error(licence=licence)
    return user


def _appointment_checks(
    *,
    hospital: Hospital,
    doctor: User,
    scheduled_at: datetime,
    reason: str,
    patient: Patient | None,
    patient_ref: str | None,
    external_id: str,
) -> None:
    if not (doctor.is_active and doctor.is_doctor and doctor.hospital_id == hospital.pk):
        raise InvalidInput(_("The appointment's doctor must be an active doctor of this hospital."), field="doctor")
    if (patient is None) == (not patient_ref):
        raise InvalidInput(_("Give either the patient or the platform's patient reference."), field="patient")
    if patient is not None and patient.hospital_id != hospital.pk:
        raise InvalidInput(_("The patient must be a patient of this hospital."), field="patient")
    if timezone.is_naive(scheduled_at):
        raise InvalidInput(_("The appointment time needs a time zone."), field="scheduled_at")
    if len(reason) > MAX_REASON_LENGTH:
        raise InvalidInput(
            _("The reason may be at most %(count)d characters.") % {"count": MAX_REASON_LENGTH}, field="reason"
        )
    if len(external_id) > Appointment._meta.get_field("external_id").max_length:
        raise InvalidInput(_("The external id may be at most 100 characters."), field="external_id")


def appointment_create(
    *,
    hospital: Hospital,
    doctor: User,
    scheduled_at: datetime,
    reason: str = "",
    patient: Patient | None = None,
    patient_ref: str | None = None,
    external_id: str = "",
    api_client: ApiClient | None = None,
    user: User | None = None,
) -> tuple[Appointment, bool]:
    """Book a visit with its (pending) pre-visit summary. Returns (appointment, created).

    Idempotent on a non-blank external_id, like case ingest: a repeat returns the stored
    appointment, also when the repeats race (the unique constraint decides). A visit
    already inside the lead window is claimed and compiled as soon as this commits.
    """
    from .previsit_tasks import summary_compile  # the tasks module imports this one
    from .services import patient_for_reference  # services imports this module

    external_id = external_id.strip()
    reason = reason.strip()
    _appointment_checks(
        hospital=hospital,
        doctor=doctor,
        scheduled_at=scheduled_at,
        reason=reason,
        patient=patient,
        patient_ref=patient_ref,
        external_id=external_id,
    )
    if external_id:
        existing = Appointment.objects.filter(hospital=hospital, external_id=external_id).first()
        if existing is not None:
            return existing, False
    if patient is None:
        patient = patient_for_reference(hospital=hospital, patient_ref=patient_ref)

    now = timezone.now()
    appointment = Appointment(
        hospital=hospital,
        patient=patient,
        doctor=doctor,
        external_id=external_id,
        scheduled_at=scheduled_at,
        # Scrubbing may lengthen a short address ("a@b.cn" → "[email]"): the column's limit holds.
        reason=scrub_identifiers(reason)[:MAX_REASON_LENGTH],
        created_at=now,
    )
    compile_now = appointment_in_lead_window(appointment, now=now)
    try:
        with transaction.atomic():
            appointment.save(force_insert=True)
            summary = PreVisitSummary.objects.create(
                appointment=appointment, compile_started_at=now if compile_now else None, updated_at=now
            )
            audit_record(
                hospital=hospital,
                user=user,
                api_client=api_client,
                action="appointment.created",
                details={
                    "appointment_id": appointment.pk,
                    "external_id": external_id,
                    "doctor_id": doctor.pk,
                    "patient_id": patient.pk,
                    "scheduled_at": scheduled_at.isoformat(),
                },
            )
            if compile_now:
                # Unsent, the claim would keep the beat off this summary for a whole lease.
                enqueue_on_commit(summary_compile, summary.pk, on_not_sent=lambda: summaries_release([summary.pk]))
    except IntegrityError:
        existing = (
            Appointment.objects.filter(hospital=hospital, external_id=external_id).first() if external_id else None
        )
        if existing is None:
            raise
        return existing, False
    return appointment, True


# --- Claiming and compiling ---------------------------------------------------------------


def _claimable(now: datetime) -> Q:
    return Q(compile_started_at__isnull=True) | Q(compile_started_at__lt=now - SUMMARY_CLAIM_LEASE)


def summaries_claim(summaries: QuerySet[PreVisitSummary] | Iterable[int], *, now: datetime | None = None) -> list[int]:
    """Claim, for one compile each, those of these summaries nobody holds; return their ids.

    One conditional UPDATE … RETURNING (PostgreSQL, and SQLite since 3.35). Two claimers
    racing for a row cannot both win: PostgreSQL re-checks the condition on the row once
    the first one's update commits, and SQLite runs one writer at a time.
    """
    now = now or timezone.now()
    if isinstance(summaries, QuerySet):
        id_sql, id_params = summaries.order_by().values("pk").query.sql_with_params()
    else:
        ids = list(summaries)
        if not ids:
            return []
        id_sql, id_params = ", ".join(["%s"] * len(ids)), ids
    table = connection.ops.quote_name(PreVisitSummary._meta.db_table)
    stamp = connection.ops.adapt_datetimefield_value(now)
    expired = connection.ops.adapt_datetimefield_value(now - SUMMARY_CLAIM_LEASE)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET compile_started_at = %s, updated_at = %s "
            f"WHERE id IN ({id_sql}) AND (compile_started_at IS NULL OR compile_started_at < %s) RETURNING id",
            [stamp, stamp, *id_params, expired],
        )
        return sorted(row[0] for row in cursor.fetchall())


def summaries_release(summary_ids: Iterable[int]) -> int:
    """Give back claims that will not be worked on now (a task out of time), for the next beat."""
    return PreVisitSummary.objects.filter(pk__in=list(summary_ids)).update(compile_started_at=None)


def _summary_for_compile(summary_id: int) -> PreVisitSummary | None:
    return (
        PreVisitSummary.objects.select_related(
            "appointment__hospital", "appointment__patient", "appointment__doctor__doctor_profile"
        )
        .filter(pk=summary_id)
        .first()
    )


def _needs_compile() -> Q:
    from .previsit_compile import FORMAT_VERSION

    up_to_date = Q(
        status=PreVisitSummary.Status.READY,
        stale=False,
        compile_started_at__isnull=True,
        format_version__gte=FORMAT_VERSION,
    )
    return ~up_to_date


def _summary_ready_payload(summary: PreVisitSummary) -> dict:
    """What a summary.ready webhook says: where to fetch the summary, never its content."""
    appointment = summary.appointment
    profile = getattr(appointment.doctor, "doctor_profile", None)
    return {
        "appointment": {
            "id": appointment.pk,
            "external_id": appointment.external_id,
            "scheduled_at": appointment.scheduled_at.isoformat(),
        },
        "patient": appointment.patient.pseudonym,
        "doctor": {
            "id": appointment.doctor_id,
            "name": appointment.doctor.full_name,
            "licence_number": profile.licence_number if profile else None,
        },
        "compiled_at": summary.compiled_at.isoformat(),
        "format_version": summary.format_version,
        "summary_url": reverse("api-appointment-summary", args=[appointment.pk]),
    }


def summary_compile_run(summary_id: int, *, force: bool = False) -> PreVisitSummary | None:
    """Compile one summary if it still needs it (or whatever its state, with `force`).

    Three short steps, no transaction held across the compile itself:
    1. start: take the claim for this run, count the attempt, and clear `stale` BEFORE
       reading, so a case that arrives while the compile reads marks it stale again and
       the next beat compiles once more;
    2. compile (reviews.previsit_compile), reading the patient's cases;
    3. write content and status `ready` with the `summary.ready` webhook event, in one
       transaction, only if no compile started since this one (the claim is still ours).
    A redelivered task for a summary compiled since does nothing. On an exception the
    summary is `failed` (a ready one stays ready, and stale), the claim is kept for one
    lease so the beat leaves the task's own retries alone, and the exception propagates.
    None when the appointment is gone.
    """
    from .previsit_compile import FORMAT_VERSION, compile_previsit_summary  # imports models this module uses

    started_at = timezone.now()
    to_start = PreVisitSummary.objects.filter(pk=summary_id)
    if not force:
        to_start = to_start.filter(_needs_compile(), attempts__lt=SUMMARY_MAX_ATTEMPTS)
    started = to_start.update(
        compile_started_at=started_at, attempts=F("attempts") + 1, stale=False, updated_at=started_at
    )
    if not started and not force:
        # A summary that has used up its attempts (its compiles failed or killed their
        # worker) is failed for the operator to see, not left pending for ever.
        PreVisitSummary.objects.filter(
            pk=summary_id, status=PreVisitSummary.Status.PENDING, attempts__gte=SUMMARY_MAX_ATTEMPTS
        ).update(status=PreVisitSummary.Status.FAILED, error="GaveUp", compile_started_at=None, updated_at=started_at)
    summary = _summary_for_compile(summary_id)
    if summary is None or not started:
        return summary

    try:
        compiled = compile_previsit_summary(summary.appointment)
    except Exception as exc:
        _summary_compile_failed(summary_id, started_at=started_at, error=type(exc).__name__)
        raise

    with transaction.atomic():
        compiled_at = timezone.now()
        written = PreVisitSummary.objects.filter(pk=summary_id, compile_started_at=started_at).update(
            status=PreVisitSummary.Status.READY,
            content=compiled.content,
            source_case_ids=compiled.source_case_ids,
            format_version=FORMAT_VERSION,
            compiled_at=compiled_at,
            compile_started_at=None,
            attempts=0,
            error="",
            updated_at=compiled_at,
        )
        summary.refresh_from_db(
            fields=[
                "status",
                "stale",
                "content",
                "source_case_ids",
                "format_version",
                "compiled_at",
                "compile_started_at",
                "attempts",
                "error",
                "updated_at",
            ]
        )
        if written:
            webhook_event_record(
                hospital_id=summary.appointment.hospital_id,
                event_type="summary.ready",
                payload=_summary_ready_payload(summary),
            )
    return summary


def _summary_compile_failed(summary_id: int, *, started_at: datetime, error: str) -> None:
    now = timezone.now()
    ready = Q(status=PreVisitSummary.Status.READY)
    PreVisitSummary.objects.filter(pk=summary_id, compile_started_at=started_at).update(
        status=models.Case(models.When(ready, then=F("status")), default=Value(PreVisitSummary.Status.FAILED)),
        # Its content still predates whatever made it stale.
        stale=models.Case(models.When(ready, then=Value(True)), default=F("stale")),
        error=error[:200],
        compile_started_at=now,
        updated_at=now,
    )


# --- The beat -----------------------------------------------------------------------------


@dataclass(frozen=True)
class BeatRun:
    missing: int  # appointments in the window that had no summary row
    claimed: int
    messages: int


def summaries_due(*, now: datetime) -> QuerySet[PreVisitSummary]:
    """Summaries inside their lead window that need a compile and that nobody holds,
    soonest visit first: pending, stale, failed (while attempts remain), or of an older format."""
    from .previsit_compile import FORMAT_VERSION

    Status = PreVisitSummary.Status
    return (
        PreVisitSummary.objects.filter(in_lead_window(now=now, prefix="appointment__"))
        .filter(_claimable(now), attempts__lt=SUMMARY_MAX_ATTEMPTS)
        .filter(
            Q(status=Status.PENDING)
            | Q(status=Status.FAILED)
            | Q(status=Status.READY, stale=True)
            | Q(status=Status.READY, format_version__lt=FORMAT_VERSION)
        )
        .order_by("appointment__scheduled_at", "pk")
    )


def summaries_enqueue_due(*, chunk_size: int = BEAT_CHUNK_SIZE) -> BeatRun:
    """The beat (every minute): compile every summary that is due, one message per chunk.

    Creates the summary rows appointments lack (booked by some other way than
    appointment_create), then claims the due ones chunk by chunk and sends each chunk as
    one message. Queries: a handful, plus one per 1 000 missing rows and one per chunk —
    never one per appointment. Safe to run twice at once: claims are disjoint.
    """
    from .previsit_tasks import summaries_compile_chunk  # the tasks module imports this one

    now = timezone.now()
    ScheduledTaskRun.objects.update_or_create(name=BEAT_TASK_NAME, defaults={"last_started_at": now})
    missing = Appointment.objects.filter(in_lead_window(now=now), summary__isnull=True).values_list("pk", flat=True)
    rows = PreVisitSummary.objects.bulk_create(
        [PreVisitSummary(appointment_id=pk, updated_at=now) for pk in missing], ignore_conflicts=True, batch_size=1000
    )
    due = list(summaries_due(now=now).values_list("pk", flat=True))
    claimed = messages = 0
    for chunk in batched(due, chunk_size):
        ids = summaries_claim(chunk)
        if ids:
            enqueue_on_commit(summaries_compile_chunk, *ids, on_not_sent=lambda ids=ids: summaries_release(ids))
            claimed += len(ids)
            messages += 1
    run = BeatRun(missing=len(rows), claimed=claimed, messages=messages)
    ScheduledTaskRun.objects.filter(name=BEAT_TASK_NAME).update(
        last_finished_at=timezone.now(),
        details={"missing": run.missing, "claimed": run.claimed, "messages": run.messages},
    )
    return run


# --- Operator's view ----------------------------------------------------------------------


@dataclass(frozen=True)
class SummaryPipelineStatus:
    pending: int
    ready: int
    failed: int
    stale: int
    oldest_pending_since: datetime | None
    last_beat_at: datetime | None


def summary_pipeline_status(*, hospital: Hospital | None = None) -> SummaryPipelineStatus:
    """How the compile pipeline is keeping up, for the admin overview and /readyz.

    Counts the summaries the beat is responsible for now: those of appointments inside
    their hospital's lead window (a summary for next month is not late by being pending).
    A pending summary has been waiting since its appointment entered the window, or since
    it was booked if that was later. All hospitals when `hospital` is None. Two queries.
    """
    now = timezone.now()
    summaries = PreVisitSummary.objects.filter(in_lead_window(now=now, prefix="appointment__"))
    if hospital is not None:
        summaries = summaries.filter(appointment__hospital=hospital)
    due_since = Greatest(
        F("appointment__created_at"),
        ExpressionWrapper(
            F("appointment__scheduled_at") - _HoursAsDuration(F("appointment__hospital__summary_lead_hours")),
            output_field=DateTimeField(),
        ),
    )
    pending = Q(status=PreVisitSummary.Status.PENDING)
    counts = summaries.aggregate(
        pending=Count("pk", filter=pending),
        ready=Count("pk", filter=Q(status=PreVisitSummary.Status.READY)),
        failed=Count("pk", filter=Q(status=PreVisitSummary.Status.FAILED)),
        stale=Count("pk", filter=Q(status=PreVisitSummary.Status.READY, stale=True)),
        oldest_pending_since=Min(due_since, filter=pending),
    )
    beat = ScheduledTaskRun.objects.filter(name=BEAT_TASK_NAME).values_list("last_finished_at", flat=True).first()
    return SummaryPipelineStatus(**counts, last_beat_at=beat)
