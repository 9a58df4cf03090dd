"""Reads shared by pages and the API, always scoped to whoever is asking."""

import base64
import binascii
from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

from django.db import connection
from django.db.models import Count, F, Q, QuerySet
from django.db.models.expressions import RawSQL
from django.db.models.fields.tuple_lookups import Tuple, TupleGreaterThan
from django.utils import timezone

from accounts.models import ApiClient, DoctorProfile, Hospital, User

from .models import Appointment, Case, CaseEscalation, CaseStatus, Decision, Message, Patient, Urgency

QUEUE_PAGE_SIZE = 50
ESCALATED_SECTION_SIZE = 50
CASE_LIST_DEFAULT_LIMIT = 50
# 500: an integrator pulling a day's cases (thousands) in a few requests (make bench's api_pull).
CASE_LIST_MAX_LIMIT = 500


def cases_for_doctor(doctor: User) -> QuerySet[Case]:
    """The cases a doctor may open, in their own hospital: those in their queue, their
    own avatar's (also after a colleague took them over), those escalated to them, and,
    to read, those of the patients they have a visit with (`Appointment.CASE_ACCESS_AFTER_VISIT`)."""
    escalated = CaseEscalation.objects.filter(doctor=doctor).values("case_id")
    visiting = Appointment.objects.filter(
        doctor=doctor, scheduled_at__gte=timezone.now() - Appointment.CASE_ACCESS_AFTER_VISIT
    ).values("patient_id")
    return Case.objects.filter(
        Q(reviewer=doctor) | Q(doctor=doctor) | Q(pk__in=escalated) | Q(patient_id__in=visiting),
        hospital_id=doctor.hospital_id,
    )


def cases_for_client(client: ApiClient) -> QuerySet[Case]:
    return Case.objects.filter(hospital_id=client.hospital_id)


@dataclass(frozen=True)
class QueueCursor:
    urgency: int
    due_at: datetime
    id: int

    def encode(self) -> str:
        raw = f"{self.urgency}|{self.due_at.isoformat()}|{self.id}".encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    @classmethod
    def decode(cls, token: str) -> "QueueCursor | None":
        """None for anything that is not a cursor we made: the queue then starts at the top."""
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
            urgency, due_at, case_id = raw.split("|")
            return cls(int(urgency), datetime.fromisoformat(due_at), int(case_id))
        except (ValueError, binascii.Error, UnicodeDecodeError):
            return None


# The fields of a user a queue row reads (for display_name), in the model's order, which is
# the order `Model.from_db` takes them in.
USER_NAME_FIELDS = tuple(
    field.attname for field in User._meta.concrete_fields if field.attname in {"id", "full_name", "email", "role"}
)


def _user_columns(relation: str) -> tuple[str, ...]:
    """USER_NAME_FIELDS of the user a case's `relation` points to, its id first."""
    return tuple(f"{relation}_id" if name == "id" else f"{relation}__{name}" for name in USER_NAME_FIELDS)


class QueueCase(NamedTuple):
    """The columns of a case a queue row reads, with the rules of `Case` it uses.

    Plain rows rather than model instances: building 100 cases, patients and users was most
    of the queries' cost on the page every doctor polls (make bench, queue_page;
    docs/performance.md). `claimed_by` and `reviewer` are users with only their names.
    """

    pk: int
    status: str
    urgency: int
    due_at: datetime
    escalated_due_at: datetime | None
    question_preview: str
    hold: bool
    claim_expires_at: datetime | None
    updated_at: datetime
    patient: "SummaryPatient"
    claimed_by_id: int | None
    claimed_by: User | None
    reviewer_id: int | None = None
    reviewer: User | None = None

    # The model's own rules, which read only the columns above.
    urgency_code = Case.urgency_code
    is_overdue = Case.is_overdue
    is_escalated = Case.is_escalated
    claim_active = Case.claim_active

    # The case's own columns, in the order of the fields above, up to the patient's.
    CASE_COLUMNS = (
        "id",
        "status",
        "urgency",
        "due_at",
        "escalated_due_at",
        "question_preview",
        "hold",
        "claim_expires_at",
        "updated_at",
        "patient__pseudonym",
    )


def _queue_cases(qs: QuerySet[Case], *, with_reviewer: bool = False) -> list[QueueCase]:
    """The cases of `qs` as queue rows, in one query whatever their number: the case's
    columns, then its claimer's names, then (`with_reviewer`) its reviewer's."""
    users: dict[int, User] = {}

    def user(columns: tuple) -> User | None:
        # As `.only("id", "full_name", "email", "role")` would load it, once per person:
        # one colleague often holds many of a page's cases.
        user_id = columns[0]
        if user_id is None:
            return None
        if user_id not in users:
            users[user_id] = User.from_db(qs.db, USER_NAME_FIELDS, columns)
        return users[user_id]

    relations = ("claimed_by", "reviewer") if with_reviewer else ("claimed_by",)
    columns = QueueCase.CASE_COLUMNS + tuple(column for relation in relations for column in _user_columns(relation))
    first, width = len(QueueCase.CASE_COLUMNS), len(USER_NAME_FIELDS)
    cases = []
    for row in qs.values_list(*columns):
        *case, pseudonym = row[:first]
        claimer = row[first : first + width]
        reviewer = row[first + width :] or (None,)
        cases.append(
            QueueCase(*case, SummaryPatient(pseudonym), claimer[0], user(claimer), reviewer[0], user(reviewer))
        )
    return cases


@dataclass(frozen=True)
class QueuePage:
    cases: list[QueueCase]
    next_cursor: str | None


def queue_page(*, doctor: User, after: QueueCursor | None = None, size: int = QUEUE_PAGE_SIZE) -> QueuePage:
    """One page of the doctor's queue in DESIGN §5 order, by keyset.

    Reads the partial index `case_queue_idx` in order and stops after `size + 1` rows:
    no OFFSET and no COUNT, so page 200 costs what page 1 costs.
    """
    qs = Case.objects.filter(
        hospital_id=doctor.hospital_id, reviewer=doctor, status=CaseStatus.AWAITING_REVIEW
    ).order_by("urgency", "due_at", "id")
    if after is not None:
        # A row comparison, (urgency, due_at, id) > (…), which PostgreSQL answers with an index range.
        qs = qs.filter(
            TupleGreaterThan(Tuple(F("urgency"), F("due_at"), F("id")), (after.urgency, after.due_at, after.id))
        )
    rows = _queue_cases(qs[: size + 1])
    next_cursor = None
    if len(rows) > size:
        rows = rows[:size]
        last = rows[-1]
        next_cursor = QueueCursor(last.urgency, last.due_at, last.pk).encode()
    return QueuePage(cases=rows, next_cursor=next_cursor)


def cases_escalated_to(*, doctor: User, size: int = ESCALATED_SECTION_SIZE) -> list[QueueCase]:
    """The "Escalated" section at the top of a doctor's queue: colleagues' cases awaiting
    review whose current SLA breach was escalated to this doctor, in queue order.

    One query of at most `size` rows, from this doctor's rows of
    `case_escalation_doctor_idx`; an earlier breach of a case since answered or given a
    new due time does not count.
    """
    return _queue_cases(
        Case.objects.filter(
            hospital_id=doctor.hospital_id,
            status=CaseStatus.AWAITING_REVIEW,
            escalations__doctor=doctor,
            escalations__breach_due_at=F("due_at"),
        ).order_by("urgency", "due_at", "id")[:size],
        with_reviewer=True,
    )


def case_escalation_for(*, case: Case, doctor: User) -> CaseEscalation | None:
    """The latest escalation of this case to this doctor, if there is one."""
    return CaseEscalation.objects.filter(case=case, doctor=doctor).order_by("-breach_due_at").first()


def conversations_taken_over(*, doctor: User) -> list[QueueCase]:
    """Cases this doctor took over and has not closed yet: they stay at hand until closed."""
    return _queue_cases(
        Case.objects.filter(hospital_id=doctor.hospital_id, status=CaseStatus.TAKEN_OVER, claimed_by=doctor).order_by(
            "urgency", "updated_at", "id"
        )[:50]
    )


@dataclass(frozen=True)
class CaseDetail:
    """A case with its conversation and decisions (model instances, or for API case lists
    the light `SummaryMessage` / `SummaryDecision` rows, which have the attributes read)."""

    case: "Case | SummaryCase"
    messages: "list[Message] | list[SummaryMessage]"
    decisions: "list[Decision] | list[SummaryDecision]"

    @property
    def draft(self) -> Message | None:
        drafts = [m for m in self.messages if m.author == Message.Author.AVATAR]
        return drafts[-1] if drafts else None

    @property
    def last_answer_decision(self) -> Decision | None:
        answers = [d for d in self.decisions if d.action != Decision.Action.CLOSE]
        return answers[-1] if answers else None


def case_detail(*, case: Case) -> CaseDetail:
    """A case with its conversation and decisions, in a fixed number of queries."""
    messages = list(case.messages.select_related("doctor").order_by("sent_at", "id"))
    decisions = list(case.decisions.select_related("doctor").order_by("created_at", "id"))
    return CaseDetail(case=case, messages=messages, decisions=decisions)


class SummaryPatient(NamedTuple):
    pseudonym: str


class SummaryCase(NamedTuple):
    """The columns of a case a case summary reads, with the attributes of `Case` it uses."""

    pk: int
    external_id: str
    status: str
    urgency: int
    hold: bool
    doctor_id: int
    patient: SummaryPatient
    review_reasons: list
    flags: list
    received_at: datetime
    due_at: datetime
    updated_at: datetime

    COLUMNS = (
        "id",
        "external_id",
        "status",
        "urgency",
        "hold",
        "doctor_id",
        "patient__pseudonym",
        "review_reasons",
        "flags",
        "received_at",
        "due_at",
        "updated_at",
    )

    # The model's own rule, as in QueueCase.
    urgency_code = Case.urgency_code

    @classmethod
    def from_row(cls, row: tuple) -> "SummaryCase":
        return cls(*row[:6], SummaryPatient(row[6]), *row[7:])


class SummaryMessage(NamedTuple):
    """The columns of a message a case summary reads (API case lists)."""

    author: str
    body: str


class SummaryDecision(NamedTuple):
    """The columns of a decision a case summary reads (API case lists)."""

    action: str
    doctor_id: int
    final_text: str
    correction_category: str
    created_at: datetime


@dataclass(frozen=True)
class CaseListFilters:
    """What an API client narrows its case list to; empty means no narrowing."""

    statuses: tuple[str, ...] = ()
    urgencies: tuple[int, ...] = ()
    doctor_id: int | None = None
    updated_since: datetime | None = None  # inclusive
    external_id: str | None = None
    patient: Patient | None = None


@dataclass(frozen=True)
class CaseListCursor:
    """Opaque to clients: the (updated_at, id) of the last case of the previous page."""

    updated_at: datetime
    id: int

    def encode(self) -> str:
        raw = f"{self.updated_at.isoformat()}|{self.id}".encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    @classmethod
    def decode(cls, token: str) -> "CaseListCursor | None":
        """None for anything that is not a cursor we made."""
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
            updated_at, case_id = raw.split("|")
            cursor = cls(datetime.fromisoformat(updated_at), int(case_id))
        except (ValueError, binascii.Error, UnicodeDecodeError):
            return None
        return cursor if timezone.is_aware(cursor.updated_at) else None


@dataclass(frozen=True)
class CaseSummaryPage:
    details: list[CaseDetail]
    next_cursor: CaseListCursor | None


def _case_in(ids: list[int]) -> Q:
    """`case_id IN ids` as one array parameter on PostgreSQL: binding 500 separate
    parameters costs the client more than the query costs the server."""
    if connection.vendor == "postgresql":
        return Q(case_id__in=RawSQL("SELECT unnest(%s::bigint[])", [ids]))
    return Q(case_id__in=ids)


def case_summaries_page(
    *,
    client: ApiClient,
    filters: CaseListFilters,
    after: CaseListCursor | None = None,
    limit: int = CASE_LIST_DEFAULT_LIMIT,
) -> CaseSummaryPage:
    """One page of the client's hospital's cases, oldest change first, as summaries.

    Order is (updated_at, id): a case that changes moves to the end, so a client polling
    with `updated_since` or following `next` sees it again. Keyset over
    `case_hospital_updated_idx`, no OFFSET and no COUNT; three queries whatever the
    page size (cases with patients, their messages, their decisions).
    """
    qs = cases_for_client(client)
    if filters.statuses:
        qs = qs.filter(status__in=filters.statuses)
    if filters.urgencies:
        qs = qs.filter(urgency__in=filters.urgencies)
    if filters.doctor_id is not None:
        qs = qs.filter(doctor_id=filters.doctor_id)
    if filters.updated_since is not None:
        qs = qs.filter(updated_at__gte=filters.updated_since)
    if filters.external_id is not None:
        qs = qs.filter(external_id=filters.external_id)
    if filters.patient is not None:
        qs = qs.filter(patient=filters.patient)
    if after is not None:
        qs = qs.filter(TupleGreaterThan(Tuple(F("updated_at"), F("id")), (after.updated_at, after.id)))
    # A summary reads a few columns: plain rows rather than model instances are most of
    # the difference on a page of 500 (make bench, api_pull; docs/performance.md).
    rows = qs.order_by("updated_at", "id").values_list(*SummaryCase.COLUMNS)[: limit + 1]
    cases = [SummaryCase.from_row(row) for row in rows]
    next_cursor = None
    if len(cases) > limit:
        cases = cases[:limit]
        next_cursor = CaseListCursor(cases[-1].updated_at, cases[-1].pk)
    ids = [case.pk for case in cases]
    messages: dict[int, list[SummaryMessage]] = {case_id: [] for case_id in ids}
    for case_id, author, body in (
        Message.objects.filter(_case_in(ids)).order_by("sent_at", "id").values_list("case_id", "author", "body")
    ):
        messages[case_id].append(SummaryMessage(author, body))
    decisions: dict[int, list[SummaryDecision]] = {case_id: [] for case_id in ids}
    for case_id, *row in (
        Decision.objects.filter(_case_in(ids))
        .order_by("created_at", "id")
        .values_list("case_id", "action", "doctor_id", "final_text", "correction_category", "created_at")
    ):
        decisions[case_id].append(SummaryDecision(*row))
    details = [CaseDetail(case=case, messages=messages[case.pk], decisions=decisions[case.pk]) for case in cases]
    return CaseSummaryPage(details=details, next_cursor=next_cursor)


def case_final_answer(detail: CaseDetail) -> str | None:
    """What the patient was finally told on a doctor's authority, if anything yet."""
    decision = detail.last_answer_decision
    if decision is None:
        return None
    if decision.action == Decision.Action.TAKE_OVER:
        replies = [m.body for m in detail.messages if m.author == Message.Author.DOCTOR]
        return replies[-1] if replies else None
    return decision.final_text


@dataclass(frozen=True)
class DoctorWorkload:
    profile: DoctorProfile | None  # None: cases no active doctor could take (unassigned)
    awaiting: int
    emergency: int
    urgent: int
    overdue: int


def hospital_overview(*, hospital: Hospital) -> list[DoctorWorkload]:
    """Each reviewer's queue in numbers, for hospital admins: counts only, no conversations.

    Counts over the partial queue index, which holds only cases awaiting review; a last
    row counts the unassigned cases, if there are any.
    """
    now = timezone.now()
    counts = {
        row["reviewer"]: row
        for row in Case.objects.filter(hospital=hospital, status=CaseStatus.AWAITING_REVIEW)
        .values("reviewer")
        .annotate(
            awaiting=Count("id"),
            emergency=Count("id", filter=Q(urgency=Urgency.EMERGENCY)),
            urgent=Count("id", filter=Q(urgency=Urgency.URGENT)),
            overdue=Count("id", filter=Q(due_at__lt=now)),
        )
    }
    profiles = DoctorProfile.objects.filter(hospital=hospital).select_related("user").order_by("user__full_name")
    empty = {"awaiting": 0, "emergency": 0, "urgent": 0, "overdue": 0}
    rows = [
        DoctorWorkload(profile=profile, **{key: counts.get(profile.user_id, empty)[key] for key in empty})
        for profile in profiles
    ]
    if None in counts:
        rows.append(DoctorWorkload(profile=None, **{key: counts[None][key] for key in empty}))
    return rows


# --- Pre-visit: appointments and their summaries ----------------------------------------


def appointments_for_doctor(doctor: User) -> QuerySet[Appointment]:
    """The appointments whose pre-visit summary a doctor may read: their own, in their hospital.

    A summary condenses the patient's conversations, so it follows the rule of the case
    pages (a doctor reads their own patients'), not the hospital at large.
    """
    return Appointment.objects.filter(hospital_id=doctor.hospital_id, doctor=doctor)


def visits_for_doctor(*, doctor: User, start: datetime, end: datetime) -> list[Appointment]:
    """The doctor's appointments in [start, end), in time order, each with its patient and
    summary: one query over appointment_doctor_at_idx, however many visits there are."""
    return list(
        appointments_for_doctor(doctor)
        .filter(scheduled_at__gte=start, scheduled_at__lt=end)
        .select_related("patient", "summary")
        .order_by("scheduled_at", "id")
    )


def appointments_upcoming(*, hospital: Hospital, start: datetime, end: datetime) -> QuerySet[Appointment]:
    """The hospital's appointments in [start, end), for its admins: who, when, and how far
    the summary is, with doctor, patient and summary joined in."""
    return (
        Appointment.objects.filter(hospital=hospital, scheduled_at__gte=start, scheduled_at__lt=end)
        .select_related("doctor", "patient", "summary")
        .order_by("scheduled_at", "id")
    )


def patient_by_pseudonym(*, hospital: Hospital, pseudonym: str) -> Patient | None:
    """The hospital's patient with this pseudonym (as printed on cases: any case, spaces
    around it ignored), or None."""
    return Patient.objects.filter(hospital=hospital, pseudonym=pseudonym.strip().upper()).first()


def cases_openable(*, doctor: User, case_ids: list[int]) -> set[int]:
    """Which of these cases the doctor may open (`cases_for_doctor`), in one query."""
    if not case_ids:
        return set()
    return set(cases_for_doctor(doctor).filter(pk__in=case_ids).values_list("pk", flat=True))
