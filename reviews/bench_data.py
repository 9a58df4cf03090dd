"""Bench data: a hospital with millions of cases, loaded with PostgreSQL `COPY` (issue #7).

The one place that writes domain rows without the services (STYLE rule 1): going through
`case_ingest` a case at a time would take hours for a million cases, and what the bench
measures is the portal on realistic data, not the loading. What the services would decide
is still asked of them once per text: each demo conversation (reviews/demo_content.py) is
assessed by the live review policy, and its flags, reasons and urgency are what its cases
carry. No audit rows are written: the audit chain is the services' to extend.

Rows go in through psycopg 3's `cursor.copy()` with every index in place, so the load
time includes real index maintenance. Case, patient and appointment ids are taken from
their sequences up front (messages refer to cases before they exist); messages, decisions
and summaries take theirs from the column default.
"""

import json
import random
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.contrib.auth.hashers import make_password
from django.db import connection, transaction
from django.db.models import Model
from django.utils import timezone

from accounts.models import DoctorProfile, Hospital, User
from reviews.demo_content import SCENARIOS, VISIT_REASONS, Scenario
from reviews.models import Appointment, Case, CaseStatus, Decision, Message, Patient, PreVisitSummary, Urgency
from reviews.policy import HOLDING_REASONS, IncomingMessage, assess_case
from reviews.services import _PSEUDONYM_ALPHABET, patient_ref_hash

BENCH_SLUG = "bench"
DOCTOR_COUNT = 50
CHUNK_SIZE = 50_000
DEFAULT_SEED = 7
DEFAULT_PASSWORD = "bench-password"

# The specialties the demo texts are written for: every bench doctor needs conversations.
SPECIALTIES = (
    DoctorProfile.Specialty.OBSTETRICS,
    DoctorProfile.Specialty.PAEDIATRICS,
    DoctorProfile.Specialty.GENERAL_PRACTICE,
)
LANGUAGES = ("en", "zh-hans")

# Final states of a hospital's traffic, in per cent: most answers go out unreviewed.
STATUS_MIX = (
    (CaseStatus.AUTO_RELEASED, 55),
    (CaseStatus.APPROVED, 20),
    (CaseStatus.CORRECTED, 8),
    (CaseStatus.TAKEN_OVER, 4),
    (CaseStatus.CLOSED, 8),
    (CaseStatus.AWAITING_REVIEW, 5),
)
# Urgency of the cases a doctor reviews (auto-released ones are all routine).
REVIEWED_URGENCY_MIX = (("routine", 60), ("soon", 25), ("urgent", 10), ("emergency", 5))
HISTORY_DAYS = 182

_SURNAMES = ("Chen", "Wang", "Li", "Zhang", "Liu", "Yang", "Huang", "Zhao", "Wu", "Zhou")
_GIVEN_NAMES = ("Jing", "Lei", "Yang", "Min", "Wei", "Fang", "Hui", "Tao", "Xin", "Yan")

# For conversations whose story has no correction or takeover reply of its own.
_GENERIC_CORRECTION = {
    "en": "Please book a visit so that we can examine you. Until then follow the advice above, "
    "and come to the emergency department at once if anything gets worse.",
    "zh-hans": "请预约门诊，以便我们当面为您检查。在此之前请按上面的建议处理，如有加重请立即到急诊就诊。",
}
_GENERIC_REPLY = {
    "en": "This is your doctor. I have read your messages and would like to see you this week; "
    "the clinic will call you with a time.",
    "zh-hans": "我是您的医生。我已经看过您的留言，希望本周能当面看看您，门诊会打电话和您约时间。",
}


class BenchDataRefused(Exception):
    """Why the bench data cannot be loaded here; the message says what to do instead."""


@dataclass(frozen=True)
class Conversation:
    """One demo story, rendered and assessed once; every case drawn from it shares these."""

    language: str
    urgency: str
    turns: tuple[tuple[str, str], ...]  # (author, body), patient first
    flags_json: str
    review_reasons: tuple[str, ...]
    correction: tuple[str, str]  # (category, final text)
    reply: str


@dataclass
class BenchResult:
    counts: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def rows(self) -> int:
        return sum(self.counts.values())


def bench_data_load(
    *,
    cases: int,
    seed: int = DEFAULT_SEED,
    password: str = DEFAULT_PASSWORD,
    chunk_size: int = CHUNK_SIZE,
    progress: Callable[[str], None] = lambda line: None,
) -> BenchResult:
    """Create hospital `bench` with its staff, ~cases/10 patients, `cases` cases with their
    messages and decisions, and ~cases/1000 appointments with pending summaries.

    One transaction: a failed load leaves nothing behind. The same seed gives the same
    patients, texts, states and doctors; times are relative to now.
    """
    if connection.vendor != "postgresql":
        raise BenchDataRefused(
            "bench_data needs PostgreSQL (it loads with COPY): set DATABASE_URL to a fresh PostgreSQL database."
        )
    if cases < 1:
        raise BenchDataRefused("--cases must be at least 1.")
    if (
        Hospital.objects.filter(slug=BENCH_SLUG).exists()
        or User.objects.filter(email__endswith="@bench.example").exists()
    ):
        raise BenchDataRefused(
            f"This database already holds bench data (hospital {BENCH_SLUG!r}). "
            "Load it into a fresh database: createdb, migrate, then bench_data."
        )
    started = time.perf_counter()
    rng = random.Random(seed)
    now = timezone.now()
    result = BenchResult()
    with transaction.atomic():
        hospital = Hospital.objects.create(slug=BENCH_SLUG, name="Bench Hospital")
        doctors = _staff_create(hospital=hospital, password=password)
        result.counts["users"] = len(doctors) + 1
        with connection.cursor() as wrapper:
            cursor = wrapper.cursor  # psycopg's own cursor, for COPY
            patients = _patients_load(cursor, hospital=hospital, count=max(1, cases // 10), rng=rng, now=now)
            result.counts["patients"] = len(patients)
            conversations = _conversations()
            first_case_id = _ids_allocate(cursor, Case, cases)
            for start in range(0, cases, chunk_size):
                stop = min(cases, start + chunk_size)
                chunk = _cases_plan(
                    range(start, stop),
                    first_case_id=first_case_id,
                    total=cases,
                    hospital=hospital,
                    doctors=doctors,
                    patients=patients,
                    conversations=conversations,
                    rng=rng,
                    now=now,
                )
                for model, rows in chunk.items():
                    _copy(cursor, model, rows)
                    name = f"{model._meta.model_name}s"
                    result.counts[name] = result.counts.get(name, 0) + len(rows)
                elapsed = time.perf_counter() - started
                progress(f"{stop:,}/{cases:,} cases, {result.rows:,} rows, {elapsed:.1f}s")
            visits = _appointments_load(
                cursor,
                hospital=hospital,
                doctors=doctors,
                patients=patients,
                count=max(1, cases // 1000),
                rng=rng,
                now=now,
            )
            result.counts["appointments"] = result.counts["pre-visit summaries"] = visits
            for model in (Patient, Case, Message, Decision, Appointment, PreVisitSummary):
                cursor.execute(f"ANALYZE {model._meta.db_table}")
    result.seconds = time.perf_counter() - started
    return result


# --- Staff (few rows: the ORM) --------------------------------------------------------------


def _staff_create(*, hospital: Hospital, password: str) -> list[tuple[User, str]]:
    """50 doctors with profiles, and one admin: [(doctor, specialty)]."""
    # One hash for everyone: hashing 51 passwords one by one would outlast the whole load.
    hashed = make_password(password)
    admin = User(
        email="admin@bench.example", full_name="Bench Admin", hospital=hospital, role=User.Role.ADMIN, password=hashed
    )
    users = [
        User(
            email=f"doctor{n:02d}@bench.example",
            full_name=f"{_SURNAMES[n % 10]} {_GIVEN_NAMES[(n // 10 + n) % 10]}",
            hospital=hospital,
            role=User.Role.DOCTOR,
            language=LANGUAGES[n % 2],
            password=hashed,
        )
        for n in range(1, DOCTOR_COUNT + 1)
    ]
    User.objects.bulk_create([admin, *users])
    specialties = [SPECIALTIES[n % len(SPECIALTIES)] for n in range(DOCTOR_COUNT)]
    DoctorProfile.objects.bulk_create(
        DoctorProfile(
            user=user,
            hospital=hospital,
            specialty=specialty,
            licence_number=f"1104402{n:08d}",
            avatar_name=f"Dr {user.full_name}'s AI avatar",
        )
        for n, (user, specialty) in enumerate(zip(users, specialties, strict=True), start=1)
    )
    return list(zip(users, specialties, strict=True))


# --- COPY plumbing -------------------------------------------------------------------------


def _columns(model: type[Model], names: Iterable[str]) -> list[str]:
    return [model._meta.get_field(name).column for name in names]


def _copy(cursor: Any, model: type[Model], rows: list[tuple]) -> None:
    if not rows:
        return
    names = _COPY_FIELDS[model]
    statement = f"COPY {model._meta.db_table} ({', '.join(_columns(model, names))}) FROM STDIN"
    with cursor.copy(statement) as copy:
        for row in rows:
            copy.write_row(row)


def _ids_allocate(cursor: Any, model: type[Model], count: int) -> int:
    """The first of `count` consecutive ids taken from the table's sequence, which then
    continues after them, so later inserts (an API ingest) never collide."""
    table = model._meta.db_table
    cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", [table])
    sequence = cursor.fetchone()[0]
    cursor.execute("SELECT setval(%s, nextval(%s) + %s - 1)", [sequence, sequence, count])
    return cursor.fetchone()[0] - count + 1


_COPY_FIELDS: dict[type[Model], tuple[str, ...]] = {
    Patient: ("id", "hospital", "pseudonym", "ref_hash", "birth_year", "sex", "created_at"),
    Case: (
        "id",
        "hospital",
        "doctor",
        "reviewer",
        "patient",
        "external_id",
        "status",
        "urgency",
        "flags",
        "avatar_confidence",
        "review_reasons",
        "hold",
        "question_preview",
        "received_at",
        "due_at",
        "claimed_by",
        "claim_expires_at",
        "version",
        "updated_at",
        "escalated_due_at",
    ),
    Message: ("case", "author", "doctor", "body", "sent_at", "created_at"),
    Decision: (
        "case",
        "doctor",
        "action",
        "original_text",
        "final_text",
        "correction_category",
        "note",
        "created_at",
    ),
    Appointment: ("id", "hospital", "patient", "doctor", "external_id", "scheduled_at", "reason", "created_at"),
    PreVisitSummary: (
        "appointment",
        "status",
        "stale",
        "format_version",
        "content",
        "source_case_ids",
        "compiled_at",
        "compile_started_at",
        "attempts",
        "error",
        "updated_at",
    ),
}


# --- Patients ------------------------------------------------------------------------------


def _pseudonym(index: int) -> str:
    # An odd multiplier permutes 0..32**6-1, so distinct indexes give distinct pseudonyms
    # that do not read as a counter.
    value = (index * 0x2F6B3D9 + 0x1A2B3C) % (32**6)
    digits = []
    for _ in range(6):
        value, digit = divmod(value, 32)
        digits.append(_PSEUDONYM_ALPHABET[digit])
    return "P-" + "".join(digits)


def _patients_load(cursor: Any, *, hospital: Hospital, count: int, rng: random.Random, now: datetime) -> list[tuple]:
    """Patient n writes to doctor n % 50's avatar, in one language: [(id, doctor index, language)]."""
    first_id = _ids_allocate(cursor, Patient, count)
    year = now.year
    rows, patients = [], []
    for n in range(count):
        doctor_index = n % DOCTOR_COUNT
        specialty = SPECIALTIES[doctor_index % len(SPECIALTIES)]
        if specialty == DoctorProfile.Specialty.OBSTETRICS:
            sex, birth_year = Patient.Sex.FEMALE, year - rng.randint(20, 42)
        elif specialty == DoctorProfile.Specialty.PAEDIATRICS:
            sex, birth_year = rng.choice((Patient.Sex.FEMALE, Patient.Sex.MALE)), year - rng.randint(0, 12)
        else:
            sex, birth_year = rng.choice((Patient.Sex.FEMALE, Patient.Sex.MALE)), year - rng.randint(18, 85)
        ref_hash = patient_ref_hash(hospital=hospital, patient_ref=f"bench-patient-{n}")
        created_at = now - timedelta(days=HISTORY_DAYS + rng.randint(0, 365))
        rows.append((first_id + n, hospital.pk, _pseudonym(n), ref_hash, birth_year, sex, created_at))
        patients.append((first_id + n, doctor_index, LANGUAGES[rng.randrange(2)]))
    _copy(cursor, Patient, rows)
    return patients


# --- Conversations -------------------------------------------------------------------------


def _render(text: str, scenario: Scenario) -> str:
    weeks = sum(scenario.weeks) // 2 if scenario.weeks else 20
    months = sum(scenario.months) // 2 if scenario.months else 6
    return text.format(weeks=weeks, months=months, age=34, days=3)


def _conversations() -> dict[tuple[str, str, str], list[Conversation]]:
    """Demo stories by (specialty, language, urgency), each assessed by the live policy."""
    pools: dict[tuple[str, str, str], list[Conversation]] = {}
    for scenario in SCENARIOS:
        turns = [("patient", scenario.patient), ("avatar", scenario.draft)]
        if scenario.follow_up:
            turns += [("patient", scenario.follow_up[0]), ("avatar", scenario.follow_up[1])]
        turns = [(author, _render(body, scenario)) for author, body in turns]
        avatar_flags = (
            [{"code": scenario.avatar_flag[0], "reason": scenario.avatar_flag[1]}] if scenario.avatar_flag else []
        )
        assessment = assess_case(
            messages=[IncomingMessage(author, body) for author, body in turns],
            avatar_flags=avatar_flags,
            avatar_confidence=None,
            confidence_threshold=0.0,
            sample_rate=0.0,
            sample_key="",
        )
        category, text = scenario.correction or (
            Decision.Category.INCOMPLETE,
            f"{turns[1][1]} {_GENERIC_CORRECTION[scenario.language]}",
        )
        conversation = Conversation(
            language=scenario.language,
            urgency=assessment.urgency,
            turns=tuple(turns),
            flags_json=json.dumps(assessment.flags, ensure_ascii=False),
            review_reasons=tuple(assessment.review_reasons),
            correction=(category, _render(text, scenario)),
            reply=_render(scenario.reply, scenario) if scenario.reply else _GENERIC_REPLY[scenario.language],
        )
        pools.setdefault((scenario.specialty, scenario.language, assessment.urgency), []).append(conversation)
    return pools


# --- Cases, messages, decisions ------------------------------------------------------------


def _cumulative(mix: tuple[tuple[str, int], ...]) -> tuple[list[str], list[float]]:
    total = sum(weight for _, weight in mix)
    bounds, running = [], 0
    for _, weight in mix:
        running += weight
        bounds.append(running / total)
    return [value for value, _ in mix], bounds


_STATUSES, _STATUS_BOUNDS = _cumulative(STATUS_MIX)
_URGENCIES, _URGENCY_BOUNDS = _cumulative(REVIEWED_URGENCY_MIX)


def _pick(values: list[str], bounds: list[float], draw: float) -> str:
    for value, bound in zip(values, bounds, strict=True):
        if draw < bound:
            return value
    return values[-1]


def _cases_plan(
    indexes: range,
    *,
    first_case_id: int,
    total: int,
    hospital: Hospital,
    doctors: list[tuple[User, str]],
    patients: list[tuple],
    conversations: dict[tuple[str, str, str], list[Conversation]],
    rng: random.Random,
    now: datetime,
) -> dict[type[Model], list[tuple]]:
    """The rows of one chunk of cases, with their messages and decisions."""
    sla = {u.code: hospital.sla_for(u.code) for u in Urgency}
    threshold = hospital.confidence_threshold
    span = timedelta(days=HISTORY_DAYS)
    case_rows: list[tuple] = []
    message_rows: list[tuple] = []
    decision_rows: list[tuple] = []
    random_ = rng.random
    for index in indexes:
        case_id = first_case_id + index
        # Squared draw: some patients write often (the pre-visit compile has history to read).
        patient_id, doctor_index, language = patients[int(len(patients) * random_() ** 2)]
        doctor, specialty = doctors[doctor_index]
        status = _pick(_STATUSES, _STATUS_BOUNDS, random_())
        reviewed = status != CaseStatus.AUTO_RELEASED
        urgency = _pick(_URGENCIES, _URGENCY_BOUNDS, random_()) if reviewed else "routine"
        pool = conversations[(specialty, language, urgency)]
        if not reviewed:
            pool = [c for c in pool if not c.review_reasons] or pool
        conversation = pool[int(len(pool) * random_())]
        reasons = list(conversation.review_reasons)
        if reviewed and not reasons:
            # Nothing in the text holds it: the avatar's doubt or the routine sample brings it.
            reasons = ["low_confidence"] if random_() < 0.6 else ["routine_sample"]
        confidence = round(
            0.4 + 0.29 * random_() if "low_confidence" in reasons else threshold + (0.98 - threshold) * random_(), 2
        )
        # Ids follow time, as live ingest makes them; cases still waiting are recent.
        if status == CaseStatus.AWAITING_REVIEW:
            received_at = now - sla[urgency] * 1.5 * random_()
        elif status == CaseStatus.TAKEN_OVER:
            received_at = now - timedelta(hours=1 + 47 * random_())
        else:
            received_at = now - span * (1 - index / total) - timedelta(minutes=30 * random_())
        due_at = received_at + sla[urgency]
        decided_at = min(received_at + sla[urgency] * (0.05 + 0.9 * random_()), now)
        sent_at = received_at
        for author, body in conversation.turns:
            message_rows.append((case_id, author, None, body, sent_at, received_at))
            sent_at += (
                timedelta(seconds=6 + 40 * random_()) if author == "patient" else timedelta(minutes=2 + 48 * random_())
            )
        draft = conversation.turns[-1][1]
        path = status
        if status == CaseStatus.CLOSED:
            path = (
                CaseStatus.APPROVED
                if random_() < 0.6
                else CaseStatus.CORRECTED
                if random_() < 0.6
                else CaseStatus.TAKEN_OVER
            )
        if reviewed and status != CaseStatus.AWAITING_REVIEW:
            if path == CaseStatus.APPROVED:
                decision_rows.append((case_id, doctor.pk, Decision.Action.APPROVE, draft, draft, "", "", decided_at))
            elif path == CaseStatus.CORRECTED:
                category, final = conversation.correction
                decision_rows.append(
                    (case_id, doctor.pk, Decision.Action.CORRECT, draft, final, category, "", decided_at)
                )
            else:
                decision_rows.append((case_id, doctor.pk, Decision.Action.TAKE_OVER, draft, "", "", "", decided_at))
                reply_at = decided_at + timedelta(seconds=30 + 300 * random_())
                message_rows.append((case_id, "doctor", doctor.pk, conversation.reply, reply_at, reply_at))
            if status == CaseStatus.CLOSED:
                closed_at = min(decided_at + timedelta(hours=1 + 24 * random_()), now)
                decision_rows.append((case_id, doctor.pk, Decision.Action.CLOSE, "", "", "", "", closed_at))
                decided_at = closed_at
        waiting = status == CaseStatus.AWAITING_REVIEW
        updated_at = received_at if not reviewed or waiting else decided_at
        taken_over = status == CaseStatus.TAKEN_OVER
        case_rows.append(
            (
                case_id,
                hospital.pk,
                doctor.pk,
                doctor.pk,
                patient_id,
                f"bench-{index + 1:08d}",
                status,
                int(Urgency.from_code(urgency)),
                conversation.flags_json,
                confidence,
                json.dumps(reasons),
                waiting and any(reason in HOLDING_REASONS for reason in reasons),
                conversation.turns[0][1][:200],
                received_at,
                due_at,
                doctor.pk if taken_over else None,
                None,
                1 if not reviewed or waiting else 3 + (status == CaseStatus.CLOSED),
                updated_at,
                None,
            )
        )
    return {Case: case_rows, Message: message_rows, Decision: decision_rows}


# --- Appointments --------------------------------------------------------------------------


def _appointments_load(
    cursor: Any,
    *,
    hospital: Hospital,
    doctors: list[tuple[User, str]],
    patients: list[tuple],
    count: int,
    rng: random.Random,
    now: datetime,
) -> int:
    """Visits over two months around today, a third of them today or tomorrow, each with a
    pending pre-visit summary (what the summaries beat picks up)."""
    first_id = _ids_allocate(cursor, Appointment, count)
    today = timezone.localtime(now).replace(hour=0, minute=0, second=0, microsecond=0)
    rows, summaries = [], []
    for n in range(count):
        # The patients who write most (the squared draw above) are the ones who visit.
        patient_id, doctor_index, _language = patients[int(len(patients) * rng.random() ** 2)]
        doctor, specialty = doctors[doctor_index]
        day = rng.randint(0, 1) if rng.random() < 1 / 3 else rng.randint(-30, 30)
        scheduled_at = today + timedelta(days=day, hours=8 + rng.randint(0, 8), minutes=rng.choice((0, 15, 30, 45)))
        reason = rng.choice(VISIT_REASONS[specialty])
        rows.append(
            (first_id + n, hospital.pk, patient_id, doctor.pk, f"bench-visit-{n + 1:07d}", scheduled_at, reason, now)
        )
        summaries.append((first_id + n, PreVisitSummary.Status.PENDING, False, 0, "{}", "[]", None, None, 0, "", now))
    _copy(cursor, Appointment, rows)
    _copy(cursor, PreVisitSummary, summaries)
    return count
