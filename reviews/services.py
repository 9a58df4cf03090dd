"""Every change of state of a case, one function per transition (DESIGN §4–§5).

Each writing function is one transaction: lock the case row, check the rule, write the
change with its Decision and AuditEvent, or change nothing and raise a `ReviewError`
whose message says why. The conditional UPDATE on `version` repeats the check in the
database itself, so a lost update is impossible even where row locks are not
available (the SQLite demo).
"""

import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import F, Q, Subquery
from django.db.models.sql.subqueries import InsertQuery
from django.utils import timezone
from django.utils.timesince import timesince
from django.utils.translation import gettext as _

from accounts.models import ApiClient, DoctorProfile, Hospital, User

from .audit import audit_event, audit_record, audit_records_bulk
from .exceptions import CaseAlreadyDecided, CaseConflict, ClaimExpired, ClaimHeldByOther, InvalidInput, NotPermitted
from .models import Appointment, Case, CaseEscalation, CaseStatus, Decision, Message, Patient, Urgency
from .policy import HOLDING_REASONS, URGENCY_ORDER, IncomingMessage, assess_case, assess_patient_message
from .previsit import summaries_mark_stale
from .scrub import scrub_identifiers
from .webhooks import case_decision_event_record, case_doctor_message_event_record

_PSEUDONYM_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # no 0/O, 1/I: read aloud and typed by hand


@dataclass(frozen=True)
class IngestMessage:
    author: str
    body: str
    sent_at: datetime


@dataclass(frozen=True)
class CaseIngestData:
    external_id: str
    doctor_licence: str
    patient_ref: str
    messages: list[IngestMessage]
    birth_year: int | None = None
    sex: str | None = None
    avatar_confidence: float | None = None
    avatar_flags: list[dict] = field(default_factory=list)


def patient_ref_hash(*, hospital: Hospital, patient_ref: str) -> str:
    key = settings.PATIENT_REF_KEY.encode()
    return hmac.new(key, f"{hospital.pk}:{patient_ref}".encode(), hashlib.sha256).hexdigest()


def patient_for_reference(
    *, hospital: Hospital, patient_ref: str, birth_year: int | None = None, sex: str | None = None
) -> Patient:
    """The hospital's pseudonymous patient for a platform reference, created on first sight.

    Runs in its own transaction so that two cases of a new patient arriving together
    both end up with the one patient row (the unique constraint decides the race).
    """
    ref_hash = patient_ref_hash(hospital=hospital, patient_ref=patient_ref)
    for _attempt in range(8):
        patient = Patient.objects.filter(hospital=hospital, ref_hash=ref_hash).first()
        if patient is not None:
            return patient
        pseudonym = "P-" + "".join(secrets.choice(_PSEUDONYM_ALPHABET) for _ in range(6))
        try:
            with transaction.atomic():
                return Patient.objects.create(
                    hospital=hospital,
                    ref_hash=ref_hash,
                    pseudonym=pseudonym,
                    birth_year=birth_year,
                    sex=sex or Patient.Sex.UNKNOWN,
                )
        except IntegrityError:
            continue  # another ingest created this patient, or the pseudonym was taken: look again
    raise RuntimeError("Could not allocate a patient pseudonym.")


def unknown_doctor_error(*, licence: str) -> InvalidInput:
    """The refusal of a case whose doctor licence names no active doctor of the hospital."""
    return InvalidInput(
        _("No active doctor with licence number %(licence)s in this hospital; see GET /api/v1/doctors/.")
        % {"licence": licence},
        field="doctor",
    )


def _ingest_rows(
    *, hospital: Hospital, data: CaseIngestData, doctor: User, now: datetime
) -> tuple[Case, list[Message]]:
    """The unsaved Case and Messages of one ingest: scrubbed, triaged, with its SLA.

    The caller sets the patient and saves.
    """
    case, messages = _ingest_case(hospital=hospital, data=data, doctor=doctor, now=now)
    rows = [Message(case=case, author=m.author, body=m.body, sent_at=m.sent_at, created_at=now) for m in messages]
    return case, rows


def _ingest_case(
    *, hospital: Hospital, data: CaseIngestData, doctor: User, now: datetime
) -> tuple[Case, list[IngestMessage]]:
    """The unsaved Case of one ingest and its scrubbed messages.

    Pure computation shared by single and batch ingest, so both decide exactly alike.
    """
    messages = [IngestMessage(m.author, scrub_identifiers(m.body), m.sent_at) for m in data.messages]
    assessment = assess_case(
        messages=[IncomingMessage(m.author, m.body) for m in messages],
        avatar_flags=data.avatar_flags,
        avatar_confidence=data.avatar_confidence,
        confidence_threshold=hospital.confidence_threshold,
        sample_rate=hospital.routine_sample_rate,
        sample_key=f"{hospital.pk}:{data.external_id}",
    )
    question = next((m.body for m in messages if m.author == "patient"), "")
    case = Case(
        hospital=hospital,
        doctor=doctor,
        reviewer=doctor,
        external_id=data.external_id,
        status=CaseStatus.AWAITING_REVIEW if assessment.needs_review else CaseStatus.AUTO_RELEASED,
        urgency=Urgency.from_code(assessment.urgency),
        flags=assessment.flags,
        avatar_confidence=data.avatar_confidence,
        review_reasons=assessment.review_reasons,
        hold=assessment.hold,
        question_preview=question[:200],
        received_at=now,
        due_at=now + hospital.sla_for(assessment.urgency),
        updated_at=now,
    )
    return case, messages


def _ingest_audit_details(case: Case) -> dict:
    return {
        "external_id": case.external_id,
        "status": case.status,
        "urgency": case.urgency_code,
        "review_reasons": case.review_reasons,
        "flags": [f.get("rule_id") or f["code"] for f in case.flags],
    }


class _AlreadyStored(Exception):
    """The case's external_id is taken: undo the ingest's transaction and answer the stored case."""


def _insert_unless_taken(obj: Case | Patient) -> bool:
    """INSERT the unsaved row unless a unique constraint already holds one like it: True and
    its pk set, or False. One statement (ON CONFLICT DO NOTHING) instead of a look-up first
    or a savepoint around an IntegrityError; a conflicting row that is not committed yet is
    waited for, so False means a committed row is there to be read."""
    model = type(obj)
    meta = model._meta
    fields = [f for f in meta.local_concrete_fields if not f.primary_key]
    query = InsertQuery(model)
    query.insert_values(fields, [obj])
    [(sql, params)] = query.get_compiler(connection=connection).as_sql()
    with connection.cursor() as cursor:
        cursor.execute(f"{sql} ON CONFLICT DO NOTHING RETURNING {connection.ops.quote_name(meta.pk.column)}", params)
        row = cursor.fetchone()
    if row is None:
        return False
    obj.pk = row[0]
    obj._state.adding, obj._state.db = False, connection.alias
    return True


def _ingest_patient_id(*, hospital: Hospital, ref_hash: str, data: CaseIngestData) -> tuple[int, bool]:
    """(patient id, created) for a reference not found before; inside the ingest's transaction,
    so the patient row commits with its first case. A concurrent ingest of the same new
    patient waits on this row and then finds it; a taken pseudonym is drawn again."""
    for _attempt in range(8):
        patient = Patient(
            hospital=hospital,
            ref_hash=ref_hash,
            pseudonym="P-" + "".join(secrets.choice(_PSEUDONYM_ALPHABET) for _ in range(6)),
            birth_year=data.birth_year,
            sex=data.sex or Patient.Sex.UNKNOWN,
        )
        if _insert_unless_taken(patient):
            return patient.pk, True
        existing = Patient.objects.filter(hospital=hospital, ref_hash=ref_hash).values_list("pk", flat=True).first()
        if existing is not None:
            return existing, False
    raise RuntimeError("Could not allocate a patient pseudonym.")


def case_ingest(*, api_client: ApiClient, data: CaseIngestData) -> tuple[Case, bool]:
    """Store a case pushed by the avatar platform. Returns (case, created).

    Idempotent on external_id: a repeat returns the stored case, never a second one,
    also when the repeats arrive concurrently (the unique constraint decides). The hot
    path of the API (issue #7), so it counts round trips: the doctor and the patient in
    one look-up, the case inserted unless its external_id is taken (no look-up first), no
    summaries to mark stale for a patient first seen now, and the audit event, which
    holds the hospital's chain head locked until COMMIT, written last.
    """
    hospital = api_client.hospital
    ref_hash = patient_ref_hash(hospital=hospital, patient_ref=data.patient_ref)
    profile = (
        DoctorProfile.objects.select_related("user")
        .filter(
            hospital=hospital, licence_number=data.doctor_licence, user__is_active=True, user__role=User.Role.DOCTOR
        )
        # Uses the unique index on (hospital, ref_hash).
        .annotate(
            known_patient_id=Subquery(Patient.objects.filter(hospital=hospital, ref_hash=ref_hash).values("pk")[:1])
        )
        .first()
    )
    if profile is None:
        # A repeat of a stored case is answered as such even if its doctor has left since.
        existing = Case.objects.filter(hospital=hospital, external_id=data.external_id).first()
        if existing is not None:
            return existing, False
        raise unknown_doctor_error(licence=data.doctor_licence)

    now = timezone.now()
    case, messages = _ingest_rows(hospital=hospital, data=data, doctor=profile.user, now=now)
    try:
        with transaction.atomic():
            if profile.known_patient_id is not None:
                case.patient_id, new_patient = profile.known_patient_id, False
            else:
                case.patient_id, new_patient = _ingest_patient_id(hospital=hospital, ref_hash=ref_hash, data=data)
            if not _insert_unless_taken(case):
                raise _AlreadyStored  # rolls back a patient created for it: a repeat writes nothing
            Message.objects.bulk_create(messages)
            if not new_patient:  # a patient first seen now has no appointments yet
                summaries_mark_stale(patient_ids=[case.patient_id])
            audit_record(
                hospital=hospital,
                api_client=api_client,
                case=case,
                action="case.ingested",
                details=_ingest_audit_details(case),
            )
    except _AlreadyStored:
        return Case.objects.get(hospital=hospital, external_id=data.external_id), False
    return case, True


# --- Doctors working a case -------------------------------------------------------------


def _check_hospital_doctor(case: Case, doctor: User) -> None:
    if not (doctor.is_active and doctor.is_doctor and doctor.hospital_id == case.hospital_id):
        raise NotPermitted(_("Only the hospital's doctors can act on its cases."))


def _escalated_to(case: Case, doctor: User) -> bool:
    # Any breach: a colleague brought in on a case may finish what they started on it.
    return CaseEscalation.objects.filter(case=case, doctor=doctor).exists()


def _check_may_review(case: Case, doctor: User) -> None:
    """The case's reviewer may act on it, and so may a colleague it was escalated to."""
    _check_hospital_doctor(case, doctor)
    if case.reviewer_id != doctor.pk and not _escalated_to(case, doctor):
        raise NotPermitted(_("This case is in another doctor's queue."))


def _check_may_decide(case: Case, doctor: User) -> None:
    """A decision also needs a licence in the case's hospital (a DoctorProfile there).

    The database refuses such a decision too (migration 0009); checking it here first
    gives the doctor a reason instead of an error page.
    """
    _check_may_review(case, doctor)
    if not DoctorProfile.objects.filter(user_id=doctor.pk, hospital_id=case.hospital_id).exists():
        raise NotPermitted(_("Only a doctor with a licence at this hospital can decide its cases."))


def _has_visit_with_patient(case: Case, doctor: User) -> bool:
    """Whether the doctor sees the case's patient in person (and so may read their cases)."""
    return Appointment.objects.filter(
        doctor=doctor,
        patient_id=case.patient_id,
        scheduled_at__gte=timezone.now() - Appointment.CASE_ACCESS_AFTER_VISIT,
    ).exists()


def _locked(case: Case) -> Case:
    # of=("self",): lock only the case row, not its hospital's. No select_related("claimed_by"):
    # when the case changed while we waited for the lock, PostgreSQL re-reads the case row but
    # not the rows joined to it, so a case another doctor just claimed would come back with
    # claimed_by_id set and its claimer missing. Read lazily, the claimer is the current one.
    return Case.objects.select_for_update(of=("self",)).select_related("hospital").get(pk=case.pk)


def _already_decided(case: Case) -> CaseAlreadyDecided:
    last = case.decisions.select_related("doctor").order_by("-created_at", "-id").first()
    if last is None:
        return CaseAlreadyDecided(
            _("This case was released without review (%(status)s); there is nothing to decide.")
            % {"status": case.get_status_display()}
        )
    messages = {
        Decision.Action.APPROVE: _("%(doctor)s approved this case %(when)s."),
        Decision.Action.CORRECT: _("%(doctor)s corrected this case %(when)s."),
        Decision.Action.TAKE_OVER: _("%(doctor)s took over this case %(when)s."),
        Decision.Action.CLOSE: _("%(doctor)s closed this case %(when)s."),
    }
    return CaseAlreadyDecided(
        messages[last.action] % {"doctor": last.doctor.display_name, "when": _ago(last.created_at)}
    )


def _ago(moment: datetime) -> str:
    if timezone.now() - moment < timedelta(minutes=1):
        return _("just now")
    return _("%(time)s ago") % {"time": timesince(moment)}


def _check_claim(case: Case, doctor: User, now: datetime) -> None:
    if case.claimed_by_id == doctor.pk and case.claim_active(now):
        return
    if case.claimed_by_id is not None and case.claimed_by_id != doctor.pk and case.claim_active(now):
        raise ClaimHeldByOther(
            _("%(doctor)s is reviewing this case (claimed until %(until)s).")
            % {
                "doctor": case.claimed_by.display_name,
                "until": timezone.localtime(case.claim_expires_at).strftime("%H:%M"),
            }
        )
    if case.claimed_by_id == doctor.pk:
        raise ClaimExpired(
            _("Your claim on this case expired at %(at)s. Claim it again, check the case, then send your decision.")
            % {"at": timezone.localtime(case.claim_expires_at).strftime("%H:%M")}
        )
    raise ClaimExpired(_("You do not hold this case. Claim it first, then send your decision."))


def _save_transition(case: Case, expected_version: int, **changes) -> None:
    """Write `changes` only if nobody changed the case since `expected_version`."""
    now = changes.setdefault("updated_at", timezone.now())
    updated = Case.objects.filter(pk=case.pk, version=expected_version).update(version=F("version") + 1, **changes)
    if not updated:
        raise CaseConflict(_("This case changed while you were working on it. Reload it and decide again."))
    for name, value in changes.items():
        setattr(case, name, value)
    case.version = expected_version + 1
    case.updated_at = now


def case_claim(*, case: Case, doctor: User) -> Case:
    """Take the case for the hospital's lease; refused while another doctor holds it."""
    with transaction.atomic():
        case = _locked(case)
        _check_may_review(case, doctor)
        if case.status != CaseStatus.AWAITING_REVIEW:
            raise _already_decided(case)
        now = timezone.now()
        if case.claimed_by_id not in (None, doctor.pk) and case.claim_active(now):
            _check_claim(case, doctor, now)  # raises ClaimHeldByOther with who and until when
        _save_transition(
            case, case.version, claimed_by=doctor, claim_expires_at=now + case.hospital.claim_lease, updated_at=now
        )
        case.claimed_by = doctor
        audit_record(hospital=case.hospital, user=doctor, case=case, action="case.claimed")
        return case


def case_open(*, case: Case, doctor: User, ip: str | None = None) -> Case:
    """A doctor opens a case: audited, and claimed for them when it is in their queue and free."""
    with transaction.atomic():
        case = _locked(case)
        _check_hospital_doctor(case, doctor)
        may_review = case.reviewer_id == doctor.pk or _escalated_to(case, doctor)
        if not (may_review or case.doctor_id == doctor.pk or _has_visit_with_patient(case, doctor)):
            raise NotPermitted(_("This case is in another doctor's queue."))
        now = timezone.now()
        claimable = (
            may_review
            and case.status == CaseStatus.AWAITING_REVIEW
            and (case.claimed_by_id == doctor.pk or not case.claim_active(now))
        )
        if claimable:
            _save_transition(
                case, case.version, claimed_by=doctor, claim_expires_at=now + case.hospital.claim_lease, updated_at=now
            )
            case.claimed_by = doctor
        audit_record(
            hospital=case.hospital, user=doctor, case=case, action="case.opened", ip=ip, details={"claimed": claimable}
        )
        return case


def _next_candidate(*, doctor: User, now: datetime) -> Case | None:
    """The first free case for "Next case": one escalated to this doctor, else their own queue's."""
    free = Case.objects.select_for_update(skip_locked=True, of=("self",)).filter(
        Q(claimed_by__isnull=True) | Q(claim_expires_at__lte=now),
        hospital_id=doctor.hospital_id,
        status=CaseStatus.AWAITING_REVIEW,
    )
    queue_order = ("urgency", "due_at", "id")
    # case_escalation_doctor_idx; the current breach only, as in the queue's "Escalated" section.
    escalated = free.filter(escalations__doctor=doctor, escalations__breach_due_at=F("due_at"))
    return escalated.order_by(*queue_order).first() or free.filter(reviewer=doctor).order_by(*queue_order).first()


def case_claim_next(*, doctor: User) -> Case | None:
    """Claim the first unclaimed case escalated to the doctor, else of their own queue, or
    None when there is none.

    `FOR UPDATE SKIP LOCKED` lets doctors pressing "Next case" together walk past each
    other's candidates instead of queueing on one row; the conditional UPDATE keeps
    this correct where SKIP LOCKED does not exist.
    """
    if not (doctor.is_active and doctor.is_doctor):
        raise NotPermitted(_("Only doctors work the review queue."))
    for _attempt in range(10):
        with transaction.atomic():
            now = timezone.now()
            candidate = _next_candidate(doctor=doctor, now=now)
            if candidate is None:
                return None
            hospital = doctor.hospital
            expires_at = now + hospital.claim_lease
            claimed = Case.objects.filter(pk=candidate.pk, version=candidate.version).update(
                claimed_by=doctor, claim_expires_at=expires_at, version=F("version") + 1, updated_at=now
            )
            if not claimed:
                continue
            # One leased claim per doctor: moving on releases the case they were on.
            Case.objects.filter(
                claimed_by=doctor, status=CaseStatus.AWAITING_REVIEW, claim_expires_at__isnull=False
            ).exclude(pk=candidate.pk).update(
                claimed_by=None, claim_expires_at=None, version=F("version") + 1, updated_at=now
            )
            candidate.refresh_from_db()
            audit_record(
                hospital=hospital,
                user=doctor,
                case=candidate,
                action="case.claimed",
                details={"via": "next_case"},
            )
            return candidate
    return None


def _decide(
    *,
    case: Case,
    doctor: User,
    version: int,
    action: str,
    status: str,
    final_text: str = "",
    category: str = "",
    note: str = "",
) -> Decision:
    with transaction.atomic():
        case = _locked(case)
        _check_may_decide(case, doctor)
        if case.status != CaseStatus.AWAITING_REVIEW:
            raise _already_decided(case)
        now = timezone.now()
        _check_claim(case, doctor, now)
        if case.version != version:
            raise CaseConflict(
                _(
                    "This case changed since you opened it (a new message or another action). "
                    "Reload it and decide again."
                )
            )
        draft = case.messages.filter(author=Message.Author.AVATAR).order_by("-sent_at", "-id").first()
        original = draft.body if draft else ""
        taking_over = action == Decision.Action.TAKE_OVER
        _save_transition(
            case,
            version,
            status=status,
            hold=False,
            # A taken-over case stays with its doctor for the whole conversation.
            claimed_by=doctor if taking_over else None,
            claim_expires_at=None,
            updated_at=now,
        )
        decision = Decision.objects.create(
            case=case,
            doctor=doctor,
            action=action,
            original_text=original,
            final_text=original if action == Decision.Action.APPROVE else final_text,
            correction_category=category,
            note=note,
            created_at=now,
        )
        case_decision_event_record(case=case, decision=decision)
        # Last before COMMIT: the hospital's audit chain head stays locked from here to the
        # commit, and every audited action of the hospital waits for it.
        audit_record(
            hospital=case.hospital,
            user=doctor,
            case=case,
            action=f"case.{status}",
            details={"decision_id": decision.pk, "category": category} if category else {"decision_id": decision.pk},
        )
        return decision


def case_approve(*, case: Case, doctor: User, version: int) -> Decision:
    """The avatar's draft goes to the patient as it is, on this doctor's authority."""
    return _decide(
        case=case, doctor=doctor, version=version, action=Decision.Action.APPROVE, status=CaseStatus.APPROVED
    )


def case_correct(*, case: Case, doctor: User, version: int, final_text: str, category: str, note: str = "") -> Decision:
    """The doctor's edited answer replaces the draft; both are kept, with the reason."""
    final_text = final_text.strip()
    if not final_text:
        raise InvalidInput(_("Write the corrected answer before sending it."), field="final_text")
    if category not in Decision.Category.values:
        raise InvalidInput(_("Choose the reason for the correction."), field="category")
    return _decide(
        case=case,
        doctor=doctor,
        version=version,
        action=Decision.Action.CORRECT,
        status=CaseStatus.CORRECTED,
        final_text=final_text,
        category=category,
        note=note.strip(),
    )


def case_take_over(*, case: Case, doctor: User, version: int) -> Decision:
    """The avatar stops answering; the doctor continues the conversation in the portal."""
    return _decide(
        case=case, doctor=doctor, version=version, action=Decision.Action.TAKE_OVER, status=CaseStatus.TAKEN_OVER
    )


def case_reply(*, case: Case, doctor: User, body: str) -> Message:
    """A doctor's own message to the patient on a case they took over."""
    body = body.strip()
    if not body:
        raise InvalidInput(_("Write a reply before sending it."), field="body")
    with transaction.atomic():
        case = _locked(case)
        _check_may_review(case, doctor)
        if case.status != CaseStatus.TAKEN_OVER:
            raise CaseAlreadyDecided(_("You can only reply on a case you have taken over."))
        if case.claimed_by_id != doctor.pk:
            raise ClaimHeldByOther(_("Another doctor is handling this conversation."))
        now = timezone.now()
        _save_transition(case, case.version, updated_at=now)
        message = Message.objects.create(
            case=case,
            author=Message.Author.DOCTOR,
            doctor=doctor,
            body=scrub_identifiers(body),
            sent_at=now,
            created_at=now,
        )
        audit_record(
            hospital=case.hospital,
            user=doctor,
            case=case,
            action="case.doctor_message",
            details={"message_id": message.pk},
        )
        case_doctor_message_event_record(case=case, message=message)
        return message


def case_close(*, case: Case, doctor: User, version: int) -> Decision:
    """End the case: the conversation is over and nothing more goes to the patient."""
    with transaction.atomic():
        case = _locked(case)
        _check_may_decide(case, doctor)
        closable = {CaseStatus.TAKEN_OVER, CaseStatus.APPROVED, CaseStatus.CORRECTED}
        if case.status not in closable:
            if case.status == CaseStatus.AWAITING_REVIEW:
                raise CaseConflict(_("Approve, correct or take over this case before closing it."))
            raise _already_decided(case)
        if case.status == CaseStatus.TAKEN_OVER and case.claimed_by_id != doctor.pk:
            raise ClaimHeldByOther(_("Another doctor is handling this conversation."))
        if case.version != version:
            raise CaseConflict(_("This case changed since you loaded it (a new message?). Read it, then close it."))
        now = timezone.now()
        _save_transition(
            case, version, status=CaseStatus.CLOSED, claimed_by=None, claim_expires_at=None, updated_at=now
        )
        decision = Decision.objects.create(case=case, doctor=doctor, action=Decision.Action.CLOSE, created_at=now)
        audit_record(
            hospital=case.hospital, user=doctor, case=case, action="case.closed", details={"decision_id": decision.pk}
        )
        case_decision_event_record(case=case, decision=decision)
        return decision


# --- Batch ingest -----------------------------------------------------------------------

_MESSAGE_INSERT_BATCH = 2_000  # rows per INSERT: 7 columns each stays far below PostgreSQL's 65 535 parameters


def _patients_for_references(*, hospital: Hospital, items: list[CaseIngestData]) -> dict[str, Patient]:
    """`patient_for_reference` for many references at once: {ref_hash: patient}.

    A new patient takes the birth year and sex of its first item, as a run of single
    ingests would. `ignore_conflicts` lets the unique constraints decide both races: a
    concurrent ingest that created the same patient (found by the re-read) and a random
    pseudonym already taken (that patient is missing from the re-read and tries again).
    """
    wanted: dict[str, CaseIngestData] = {}
    for data in items:
        wanted.setdefault(patient_ref_hash(hospital=hospital, patient_ref=data.patient_ref), data)
    found: dict[str, Patient] = {}
    for _attempt in range(8):
        # Uses the unique index on (hospital, ref_hash).
        found |= {
            p.ref_hash: p for p in Patient.objects.filter(hospital=hospital, ref_hash__in=set(wanted) - set(found))
        }
        missing = [ref_hash for ref_hash in wanted if ref_hash not in found]
        if not missing:
            return found
        Patient.objects.bulk_create(
            [
                Patient(
                    hospital=hospital,
                    ref_hash=ref_hash,
                    pseudonym="P-" + "".join(secrets.choice(_PSEUDONYM_ALPHABET) for _ in range(6)),
                    birth_year=wanted[ref_hash].birth_year,
                    sex=wanted[ref_hash].sex or Patient.Sex.UNKNOWN,
                )
                for ref_hash in missing
            ],
            ignore_conflicts=True,
        )
    raise RuntimeError("Could not allocate patient pseudonyms.")


# Case columns in model order; JSON columns travel as JSON text, as JSONField would send them.
_CASE_COPY_FIELDS = [
    (f.column, f.attname, f.get_internal_type() == "JSONField") for f in Case._meta.local_concrete_fields
]
_MESSAGE_COPY_COLUMNS = ("case_id", "author", "body", "sent_at", "created_at")


def _cases_copy(*, planned: list[tuple[Case, list[IngestMessage], CaseIngestData]], now: datetime) -> list[Case]:
    """INSERT the planned cases and their messages with COPY (PostgreSQL), ids taken from the
    sequence first so messages can name their case. The batch's hot path (issue #7): plain
    tuples, no Message instances and no compiled INSERT with thousands of parameters.

    A case whose external_id a concurrent ingest stored meanwhile makes the COPY fail with
    IntegrityError (after waiting for that ingest to commit or roll back), like the INSERT did.
    """
    cases = [case for case, _m, _d in planned]
    case_table = connection.ops.quote_name(Case._meta.db_table)
    message_table = connection.ops.quote_name(Message._meta.db_table)
    case_columns = ", ".join(connection.ops.quote_name(column) for column, _a, _j in _CASE_COPY_FIELDS)
    message_columns = ", ".join(connection.ops.quote_name(column) for column in _MESSAGE_COPY_COLUMNS)
    # COPY runs on the driver's cursor, outside Django's error translation: wrap it so a
    # unique violation arrives as django.db.IntegrityError.
    with connection.cursor() as cursor, connection.wrap_database_errors:
        # nextval per row, not setval: concurrent ingests draw from the same sequence.
        cursor.execute(
            f"SELECT nextval(pg_get_serial_sequence('{Case._meta.db_table}', 'id')) FROM generate_series(1, %s)",
            [len(cases)],
        )
        for case, (case_id,) in zip(cases, cursor.fetchall(), strict=True):
            case.pk = case_id
            case._state.adding, case._state.db = False, connection.alias
        raw = cursor.cursor
        with raw.copy(f"COPY {case_table} ({case_columns}) FROM STDIN") as copy:
            for case in cases:
                copy.write_row(
                    [
                        json.dumps(getattr(case, attname)) if is_json else getattr(case, attname)
                        for _c, attname, is_json in _CASE_COPY_FIELDS
                    ]
                )
        with raw.copy(f"COPY {message_table} ({message_columns}) FROM STDIN") as copy:
            for case, messages, _d in planned:
                for m in messages:
                    copy.write_row((case.pk, m.author, m.body, m.sent_at, now))
    return cases


def _cases_ingest_one_by_one(*, api_client: ApiClient, items: list[CaseIngestData]) -> list[tuple[Case | None, bool]]:
    results: list[tuple[Case | None, bool]] = []
    for data in items:
        try:
            results.append(case_ingest(api_client=api_client, data=data))
        except InvalidInput:
            results.append((None, False))
    return results


def cases_ingest_batch(*, api_client: ApiClient, items: list[CaseIngestData]) -> list[tuple[Case | None, bool]]:
    """`case_ingest` for many cases at once, with a query count that does not grow with them.

    Returns (case, created) per item, in order, as single ingests in that order would:
    a known external_id (stored before, or earlier in this batch) gives the stored case
    and False; an item whose doctor licence names no active doctor gives (None, False),
    see `unknown_doctor_error`.
    """
    hospital = api_client.hospital
    external_ids = {data.external_id for data in items}
    # Uses the unique index on (hospital, external_id).
    stored = {c.external_id: c for c in Case.objects.filter(hospital=hospital, external_id__in=external_ids)}
    licences = {data.doctor_licence for data in items if data.external_id not in stored}
    doctors = {
        profile.licence_number: profile.user
        for profile in DoctorProfile.objects.select_related("user").filter(
            hospital=hospital, licence_number__in=licences, user__is_active=True, user__role=User.Role.DOCTOR
        )
    }

    now = timezone.now()
    planned: dict[str, tuple[Case, list[IngestMessage], CaseIngestData]] = {}
    creator: dict[str, int] = {}  # external_id -> index of the item that creates it
    for index, data in enumerate(items):
        if data.external_id in stored or data.external_id in planned or data.doctor_licence not in doctors:
            continue
        case, messages = _ingest_case(hospital=hospital, data=data, doctor=doctors[data.doctor_licence], now=now)
        planned[data.external_id] = (case, messages, data)
        creator[data.external_id] = index

    if planned:
        patients = _patients_for_references(hospital=hospital, items=[data for _c, _m, data in planned.values()])
        for case, _messages, data in planned.values():
            case.patient_id = patients[patient_ref_hash(hospital=hospital, patient_ref=data.patient_ref)].pk
        try:
            with transaction.atomic():
                if connection.vendor == "postgresql":
                    cases = _cases_copy(planned=list(planned.values()), now=now)
                else:
                    cases = Case.objects.bulk_create([case for case, _m, _d in planned.values()])
                    Message.objects.bulk_create(
                        [
                            Message(case=case, author=m.author, body=m.body, sent_at=m.sent_at, created_at=now)
                            for case, messages, _d in planned.values()
                            for m in messages
                        ],
                        batch_size=_MESSAGE_INSERT_BATCH,
                    )
                audit_records_bulk(
                    audit_event(
                        hospital=hospital,
                        api_client=api_client,
                        case=case,
                        action="case.ingested",
                        details=_ingest_audit_details(case),
                    )
                    for case in cases
                )
                summaries_mark_stale(patient_ids={case.patient_id for case in cases})
        except IntegrityError:
            # A concurrent ingest stored one of these external_ids after our look-up. Rare:
            # the single-case path, with its own race handling, sorts out each item.
            return _cases_ingest_one_by_one(api_client=api_client, items=items)

    results: list[tuple[Case | None, bool]] = []
    for index, data in enumerate(items):
        if data.external_id in stored:
            results.append((stored[data.external_id], False))
        elif index == creator.get(data.external_id):
            results.append((planned[data.external_id][0], True))
        elif index > creator.get(data.external_id, index):
            results.append((planned[data.external_id][0], False))  # a repeat of an earlier item
        else:
            results.append((None, False))  # unknown doctor, and nothing stored under this id before it
    return results


# --- Patient messages on an existing case -----------------------------------------------

# An answered case that hears from the patient again goes back to its doctor: the avatar's
# next answer is to a question no doctor has read.
_REOPENED_BY_FOLLOW_UP = {CaseStatus.APPROVED, CaseStatus.CORRECTED}


def case_patient_message_add(*, api_client: ApiClient, case: Case, body: str, sent_at: datetime) -> Message:
    """A new patient message on a case, pushed by the avatar platform.

    Triaged like the messages of an ingest: its red flags join the case's, a higher
    urgency raises the case's and brings its due time forward. An approved or corrected
    case goes back to the review queue, held; an auto-released one only when the message
    raises a red flag or asks for a human; a taken-over one stays with its doctor. A
    closed case takes nothing more. The version bump turns a form a doctor opened before
    the message into a conflict, so nobody approves an answer to a conversation they
    have not read to the end.
    """
    with transaction.atomic():
        case = _locked(case)
        if case.status == CaseStatus.CLOSED:
            raise CaseAlreadyDecided(_("This case is closed; start a new case for a new question."))
        now = timezone.now()
        body = scrub_identifiers(body)
        # Uses message_case_idx; the position in id order is what ingest's message_index means.
        assessment = assess_patient_message(body=body, message_index=case.messages.count())
        reopened = case.status in _REOPENED_BY_FOLLOW_UP or (
            case.status == CaseStatus.AUTO_RELEASED and assessment.hold
        )
        reasons = list(assessment.review_reasons)
        if case.status in _REOPENED_BY_FOLLOW_UP:
            reasons.append("patient_follow_up")
        added = [reason for reason in reasons if reason not in case.review_reasons]

        urgency = case.urgency_code
        due_at = case.due_at
        if URGENCY_ORDER.index(assessment.urgency) < URGENCY_ORDER.index(urgency):
            urgency = assessment.urgency
            due_at = min(due_at, now + case.hospital.sla_for(urgency))
        changes = {
            "flags": [*case.flags, *assessment.flags],
            "review_reasons": [*case.review_reasons, *added],
            "hold": case.hold or any(reason in HOLDING_REASONS for reason in added),
            "urgency": Urgency.from_code(urgency),
            "due_at": due_at,
        }
        if reopened:
            # The old due time belonged to the question already answered: the SLA of the
            # new one counts from now.
            changes |= {
                "status": CaseStatus.AWAITING_REVIEW,
                "due_at": now + case.hospital.sla_for(urgency),
                "claimed_by": None,
                "claim_expires_at": None,
            }
        _save_transition(case, case.version, updated_at=now, **changes)
        message = Message.objects.create(
            case=case, author=Message.Author.PATIENT, body=body, sent_at=sent_at, created_at=now
        )
        audit_record(
            hospital=case.hospital,
            api_client=api_client,
            case=case,
            action="case.patient_message",
            details={
                "message_id": message.pk,
                "flags": [flag["rule_id"] for flag in assessment.flags],
                "reopened": reopened,
                "urgency": case.urgency_code,
            },
        )
        summaries_mark_stale(patient_ids=[case.patient_id])
        return message
