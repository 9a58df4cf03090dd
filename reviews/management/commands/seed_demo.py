"""`manage.py seed_demo [--hospital SLUG]`: a demo hospital whose review queues are worth working in.

Cases arrive through `case_ingest` as the avatar platform would send them, and reach their
final states through the services a doctor's clicks call (`case_open`, `case_approve`, …),
so the portal's own rules decide status and urgency and every change has its audit trail.

The same every time: a fixed seed picks texts, patients and times, and the external ids
(`demo-0001`, …) let a second run find what the first made and add only what is missing.
"""

import functools
import os
import random
import re
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from accounts.models import ApiClient, DoctorProfile, Hospital, User
from accounts.services import api_client_create
from reviews.audit import audit_record
from reviews.demo_content import (
    DOCTORS,
    HOSPITAL_ADMIN_NAME,
    PATIENTS,
    SCENARIOS,
    VISIT_REASONS,
    VISITS,
    DemoDoctor,
    DemoPatient,
    Scenario,
)
from reviews.models import Appointment, Case, CaseStatus, Message, Patient, PreVisitSummary, Urgency
from reviews.policy import IncomingMessage, assess_case
from reviews.previsit import appointment_create, summary_compile_run
from reviews.services import (
    CaseIngestData,
    IngestMessage,
    case_approve,
    case_close,
    case_correct,
    case_ingest,
    case_open,
    case_reply,
    case_take_over,
)

SEED = 20260601
DEFAULT_PASSWORD = "demo-password"
API_CLIENT_NAME = "Demo avatar platform"
SITE_URL = "http://127.0.0.1:8000"  # where `make run` serves the demo
LANGUAGES = ("en", "zh-hans")
_SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")  # also the e-mail domain: no underscores

# Cases per doctor by the state they end in and their urgency: 100 each. Far more of them
# need review than in a real hospital's traffic, so that each queue is worth working in.
CASE_MIX: dict[tuple[str, str], int] = {
    (CaseStatus.AUTO_RELEASED, "routine"): 30,
    (CaseStatus.AWAITING_REVIEW, "emergency"): 5,
    (CaseStatus.AWAITING_REVIEW, "urgent"): 10,
    (CaseStatus.AWAITING_REVIEW, "soon"): 13,
    (CaseStatus.AWAITING_REVIEW, "routine"): 20,
    (CaseStatus.APPROVED, "emergency"): 1,
    (CaseStatus.APPROVED, "urgent"): 2,
    (CaseStatus.APPROVED, "soon"): 3,
    (CaseStatus.APPROVED, "routine"): 3,
    (CaseStatus.CORRECTED, "emergency"): 1,
    (CaseStatus.CORRECTED, "urgent"): 1,
    (CaseStatus.CORRECTED, "soon"): 2,
    (CaseStatus.CORRECTED, "routine"): 2,
    (CaseStatus.TAKEN_OVER, "emergency"): 1,
    (CaseStatus.TAKEN_OVER, "urgent"): 1,
    (CaseStatus.TAKEN_OVER, "soon"): 1,
    (CaseStatus.CLOSED, "emergency"): 1,
    (CaseStatus.CLOSED, "urgent"): 1,
    (CaseStatus.CLOSED, "soon"): 1,
    (CaseStatus.CLOSED, "routine"): 1,
}

# How long ago the patient wrote, in hours, by final state and urgency. Cases still waiting
# are recent (an emergency does not sit unreviewed for a week); decided ones span two weeks.
_AWAITING_AGE_HOURS = {"emergency": (0.1, 2.0), "urgent": (0.2, 6.0), "soon": (0.5, 20.0), "routine": (1.0, 40.0)}
_TAKEN_OVER_AGE_HOURS = (1.0, 30.0)
_DECIDED_AGE_HOURS = (2.0, 14 * 24.0)


@dataclass(frozen=True)
class PlannedCase:
    external_id: str
    doctor: DemoDoctor
    status: str  # the state the case should end in
    scenario: Scenario
    patient: DemoPatient
    days: int  # fills `{days}` in the texts
    confidence: float
    started_ago: timedelta
    answer_delay: timedelta  # how long the avatar took to answer
    follow_up_gap: timedelta  # from the avatar's answer to the patient's next message


class Command(BaseCommand):
    help = "Create (or top up) a demo hospital with doctors, patients and ~300 reviewed and waiting cases."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--hospital", default="demo", help="The demo hospital's slug (default: demo).")

    def handle(self, *args: Any, hospital: str, **options: Any) -> None:
        slug = hospital.strip().lower()
        if not _SLUG.match(slug) or len(slug) > 50:
            raise CommandError(f"{hospital!r} is not a usable slug: lower-case letters, digits and hyphens only.")
        password = os.environ.get("DEMO_PASSWORD") or DEFAULT_PASSWORD
        now = timezone.now()

        # One transaction: a failed run leaves nothing half-made, and SQLite commits once
        # rather than after each of the ~1 000 service calls.
        with transaction.atomic():
            demo_hospital, hospital_created = Hospital.objects.get_or_create(
                slug=slug,
                # No routine sample while seeding, so that which case is reviewed depends only
                # on its content (the sample is drawn from the hospital's id); restored below.
                defaults={"name": _hospital_name(slug), "routine_sample_rate": 0.0},
            )
            if (
                not hospital_created
                and not ApiClient.objects.filter(hospital=demo_hospital, name=API_CLIENT_NAME).exists()
            ):
                # Made by someone else, perhaps a real hospital: fake patients have no place in it.
                raise CommandError(f"Hospital {slug!r} exists and was not made by seed_demo; choose another slug.")
            doctors, accounts_added = _ensure_staff(hospital=demo_hospital, password=password)
            client = _ensure_api_client(hospital=demo_hospital)
            plan = demo_plan()
            existing = set(
                Case.objects.filter(hospital=demo_hospital, external_id__in=[p.external_id for p in plan]).values_list(
                    "external_id", flat=True
                )
            )
            missing = [p for p in plan if p.external_id not in existing]
            today = timezone.localdate(now)
            off_plan = 0
            for planned in missing:
                as_planned = _seed_case(
                    planned, client=client, doctor=doctors[planned.doctor.key], now=now, today=today
                )
                off_plan += not as_planned
            visits, visits_added = _seed_visits(hospital=demo_hospital, doctors=doctors, plan=plan, today=today)
            if hospital_created:
                Hospital.objects.filter(pk=demo_hospital.pk).update(
                    routine_sample_rate=Hospital._meta.get_field("routine_sample_rate").default
                )
            if missing or accounts_added or visits_added:
                audit_record(
                    hospital=demo_hospital,
                    action="demo.seeded",
                    details={
                        "cases_added": len(missing),
                        "appointments_added": visits_added,
                        "accounts_added": accounts_added,
                    },
                )
        # After commit, as a worker would: each compile reads the cases seeded above. The
        # visits already inside the lead window were compiled as they committed (in-process
        # tasks); this does the rest, which the demo has no beat to do later.
        for summary_id in PreVisitSummary.objects.filter(appointment__in=visits).values_list("pk", flat=True):
            summary_compile_run(summary_id)

        if missing or accounts_added or visits_added:
            self.stdout.write(f"Added {len(missing)} cases, {visits_added} appointments and {accounts_added} accounts.")
        else:
            self.stdout.write("Already seeded: nothing to add.")
        if off_plan:
            self.stdout.write(
                f"{off_plan} new cases were decided differently on ingest than planned "
                "(the hospital's review policy has changed?) and were left as ingested."
            )
        self._write_summary(demo_hospital, password=password, accounts_kept=accounts_added < len(DOCTORS) + 1)

    def _write_summary(self, hospital: Hospital, *, password: str, accounts_kept: bool) -> None:
        cases = Case.objects.filter(hospital=hospital)
        statuses = Counter(cases.values_list("status", flat=True))
        waiting = Counter(cases.filter(status=CaseStatus.AWAITING_REVIEW).values_list("urgency", flat=True))
        profiles = list(
            DoctorProfile.objects.filter(
                hospital=hospital, user__email__in=[_email(d.key, hospital.slug) for d in DOCTORS]
            )
            .select_related("user")
            .order_by("user__email")
        )
        self.stdout.write(
            f'Demo hospital "{hospital.name}" (slug {hospital.slug}): {len(profiles)} doctors, '
            f"{Patient.objects.filter(hospital=hospital).count()} patients, {sum(statuses.values())} cases."
        )
        visits = PreVisitSummary.objects.filter(
            appointment__hospital=hospital, appointment__external_id__startswith="demo-visit-"
        )
        self.stdout.write(
            f"{visits.count()} appointments, {visits.filter(status=PreVisitSummary.Status.READY).count()} "
            "with their pre-visit summary ready."
        )
        self.stdout.write(
            f"{statuses[CaseStatus.AWAITING_REVIEW]} awaiting review ("
            + ", ".join(f"{waiting[u]} {u.label.lower()}" for u in Urgency)
            + "), "
            + ", ".join(f"{statuses[s]} {s.label.lower()}" for s in CaseStatus if s != CaseStatus.AWAITING_REVIEW)
            + "."
        )
        # A DEMO_PASSWORD may be a real secret: say where it is, never echo it.
        shown = "the password in DEMO_PASSWORD" if password != DEFAULT_PASSWORD else f"password {password}"
        kept = " (accounts that already existed keep their own password)" if accounts_kept else ""
        self.stdout.write(f"Sign in at {SITE_URL}{reverse('login')} with {shown}{kept}:")
        admin_email = _email("admin", hospital.slug)
        width = max(len(admin_email), *(len(p.user.email) for p in profiles))
        for profile in profiles:
            self.stdout.write(
                f"  {profile.user.email:<{width}}  {profile.user.display_name} ({profile.get_specialty_display()})"
            )
        self.stdout.write(f"  {admin_email:<{width}}  hospital admin")


def _hospital_name(slug: str) -> str:
    return " ".join(part.capitalize() for part in slug.split("-")) + " Hospital"


def _email(key: str, slug: str) -> str:
    return f"{key}@{slug}.example"


def _ensure_staff(*, hospital: Hospital, password: str) -> tuple[dict[str, User], int]:
    """The admin and the doctors with their profiles, created when missing: (doctors by key, accounts added).

    Existing accounts are left as they are, password included: someone may be signed in
    with one, or have changed it on purpose.
    """
    added = 0
    _, created = _ensure_user(
        hospital=hospital,
        email=_email("admin", hospital.slug),
        full_name=HOSPITAL_ADMIN_NAME,
        role=User.Role.ADMIN,
        password=password,
    )
    added += created
    doctors = {}
    for doctor in DOCTORS:
        user, created = _ensure_user(
            hospital=hospital,
            email=_email(doctor.key, hospital.slug),
            full_name=doctor.full_name,
            role=User.Role.DOCTOR,
            password=password,
        )
        added += created
        DoctorProfile.objects.get_or_create(
            user=user,
            defaults={
                "hospital": hospital,
                "specialty": doctor.specialty,
                "licence_number": doctor.licence_number,
                "avatar_name": doctor.avatar_name,
            },
        )
        doctors[doctor.key] = user
    return doctors, added


def _ensure_user(*, hospital: Hospital, email: str, full_name: str, role: str, password: str) -> tuple[User, bool]:
    user = User.objects.filter(email=email).first()
    if user is not None:
        if user.hospital_id != hospital.pk:
            raise CommandError(f"{email} already exists outside hospital {hospital.slug!r}; choose another slug.")
        return user, False
    return User.objects.create_user(email, password, full_name=full_name, hospital=hospital, role=role), True


def _ensure_api_client(*, hospital: Hospital) -> ApiClient:
    client = ApiClient.objects.filter(hospital=hospital, name=API_CLIENT_NAME, revoked_at__isnull=True).first()
    if client is None:
        # The token is not needed: the seed calls the services directly, not the API. An
        # admin who wants to try the API makes a client with `create_api_client`.
        client, _token = api_client_create(
            hospital=hospital,
            name=API_CLIENT_NAME,
            scopes=[ApiClient.Scope.CASES_WRITE, ApiClient.Scope.CASES_READ],
        )
    return client


def _seed_visits(
    *, hospital: Hospital, doctors: dict[str, User], plan: list[PlannedCase], today: date
) -> tuple[list[Appointment], int]:
    """Each doctor's visits today and tomorrow (VISITS) with the patients who wrote to
    their avatar most: (the visits, how many were added).

    External ids name the day and the slot, so a run on another day adds that day's
    visits and a second run on the same day adds none.
    """
    zone = timezone.get_default_timezone()
    visits, added = [], 0
    for demo_doctor in DOCTORS:
        cases_by_patient = Counter(p.patient.ref for p in plan if p.doctor == demo_doctor)
        regulars = sorted(cases_by_patient, key=lambda ref: (-cases_by_patient[ref], ref))
        for slot, (visit, patient_ref) in enumerate(zip(VISITS, regulars, strict=False), start=1):
            day = today + timedelta(days=visit.day)
            appointment, created = appointment_create(
                hospital=hospital,
                doctor=doctors[demo_doctor.key],
                patient_ref=patient_ref,
                scheduled_at=datetime.combine(day, time(visit.hour, visit.minute), tzinfo=zone),
                reason=VISIT_REASONS[demo_doctor.specialty][visit.reason],
                external_id=f"demo-visit-{day:%Y%m%d}-{demo_doctor.key}-{slot}",
            )
            visits.append(appointment)
            added += created
    return visits, added


# --- The plan: which case gets which text, patient and time -----------------------------


def demo_plan() -> list[PlannedCase]:
    """Every demo case, oldest first, numbered `demo-0001`…: the same list on every run."""
    rng = random.Random(SEED)
    scenario_uses: Counter[Scenario] = Counter()
    patient_uses: Counter[str] = Counter()
    drafts: list[dict[str, Any]] = []
    for doctor in DOCTORS:
        for (status, urgency), count in CASE_MIX.items():
            first_language = rng.randrange(2)  # alternate languages within each group: about half each
            for index in range(count):
                language = LANGUAGES[(first_language + index) % 2]
                scenario = _pick_scenario(rng, doctor.specialty, urgency, language, status, scenario_uses)
                patient = _pick_patient(rng, scenario, patient_uses)
                drafts.append(
                    {
                        "doctor": doctor,
                        "status": status,
                        "scenario": scenario,
                        "patient": patient,
                        "days": rng.randint(2, 5),
                        "confidence": _confidence(rng, scenario, patient, status),
                        "started_ago": _started_ago(rng, status, urgency),
                        "answer_delay": timedelta(seconds=rng.randint(6, 45)),
                        "follow_up_gap": timedelta(minutes=rng.randint(2, 50)),
                    }
                )
    drafts.sort(key=lambda d: d["started_ago"], reverse=True)
    return [PlannedCase(external_id=f"demo-{n:04d}", **d) for n, d in enumerate(drafts, start=1)]


def _pick_scenario(
    rng: random.Random, specialty: str, urgency: str, language: str, status: str, uses: Counter[Scenario]
) -> Scenario:
    # The other language when this one has no text fitting the state (say, no routine
    # text with a takeover reply): the mix of states matters more than an even split.
    for lang in (language, *(other for other in LANGUAGES if other != language)):
        candidates = [
            s
            for s in SCENARIOS
            if s.specialty == specialty and s.urgency == urgency and s.language == lang and _fits_state(s, status)
        ]
        if candidates:
            # Least used first, so texts repeat as little as possible.
            chosen = min(candidates, key=lambda s: (uses[s], rng.random()))
            uses[chosen] += 1
            return chosen
    raise CommandError(f"No demo text for a {urgency} {specialty} case ending {status}.")


def _fits_state(scenario: Scenario, status: str) -> bool:
    """Whether the story can end in `status`: flawed drafts are corrected, never approved."""
    match status:
        case CaseStatus.AUTO_RELEASED:
            return scenario.correction is None and not _needs_review_when_confident(scenario)
        case CaseStatus.APPROVED:
            return scenario.correction is None
        case CaseStatus.CORRECTED:
            return scenario.correction is not None
        case CaseStatus.TAKEN_OVER:
            return bool(scenario.reply)
    return True  # awaiting review, or closed after whichever decision the story allows


@functools.cache
def _needs_review_when_confident(scenario: Scenario) -> bool:
    """What ingest would decide for a confident avatar: asked of the policy itself, not guessed."""
    patient = next(p for p in PATIENTS if scenario.fits(p))
    return assess_case(
        messages=[IncomingMessage(author, body) for author, body in _conversation(scenario, patient, days=3)],
        avatar_flags=_avatar_flags(scenario),
        avatar_confidence=1.0,
        confidence_threshold=Hospital._meta.get_field("confidence_threshold").default,
        sample_rate=0.0,
        sample_key="",
    ).needs_review


def _pick_patient(rng: random.Random, scenario: Scenario, uses: Counter[str]) -> DemoPatient:
    candidates = [p for p in PATIENTS if scenario.fits(p)]
    if not candidates:
        raise CommandError(f"No demo patient fits the story {scenario.patient[:40]!r}.")
    chosen = min(candidates, key=lambda p: (uses[p.ref], rng.random()))
    uses[chosen.ref] += 1
    return chosen


def _confidence(rng: random.Random, scenario: Scenario, patient: DemoPatient, status: str) -> float:
    if status == CaseStatus.AUTO_RELEASED:
        return round(rng.uniform(0.82, 0.97), 2)
    if not _needs_review_when_confident(scenario):
        # Nothing in the text holds it, so the avatar's doubt is what brings it to a doctor.
        return round(rng.uniform(0.41, 0.66), 2)
    return round(rng.uniform(0.6, 0.95), 2)


def _started_ago(rng: random.Random, status: str, urgency: str) -> timedelta:
    if status == CaseStatus.AWAITING_REVIEW:
        low, high = _AWAITING_AGE_HOURS[urgency]
    elif status == CaseStatus.TAKEN_OVER:
        low, high = _TAKEN_OVER_AGE_HOURS
    else:
        low, high = _DECIDED_AGE_HOURS
    return timedelta(hours=rng.uniform(low, high))


# --- Seeding one case through the services -----------------------------------------------


def _seed_case(planned: PlannedCase, *, client: ApiClient, doctor: User, now: datetime, today: date) -> bool:
    """Ingest the case and, if it is to end decided, act on it as its doctor would.

    Returns False when ingest did not decide as planned (the hospital's policy changed
    since the texts were written); such a case is left as ingested.
    """
    scenario, patient = planned.scenario, planned.patient
    case, _created = case_ingest(
        api_client=client,
        data=CaseIngestData(
            external_id=planned.external_id,
            doctor_licence=doctor.doctor_profile.licence_number,
            patient_ref=patient.ref,
            messages=_ingest_messages(planned, now),
            birth_year=_birth_year(patient, today),
            sex=patient.sex,
            avatar_confidence=planned.confidence,
            avatar_flags=_avatar_flags(scenario),
        ),
    )
    expected = CaseStatus.AUTO_RELEASED if planned.status == CaseStatus.AUTO_RELEASED else CaseStatus.AWAITING_REVIEW
    if case.status != expected:
        return False
    if planned.status in (CaseStatus.AUTO_RELEASED, CaseStatus.AWAITING_REVIEW):
        return True

    case = case_open(case=case, doctor=doctor)  # claims it, as opening it in the portal does
    path = planned.status if planned.status != CaseStatus.CLOSED else _closing_path(scenario)
    if path == CaseStatus.APPROVED:
        case_approve(case=case, doctor=doctor, version=case.version)
    elif path == CaseStatus.CORRECTED:
        assert scenario.correction is not None  # _fits_state chose a story with a correction
        category, text = scenario.correction
        case_correct(
            case=case,
            doctor=doctor,
            version=case.version,
            final_text=_render(text, patient, planned.days),
            category=category,
        )
    else:
        case_take_over(case=case, doctor=doctor, version=case.version)
        case_reply(case=case, doctor=doctor, body=_render(scenario.reply, patient, planned.days))
    if planned.status == CaseStatus.CLOSED:
        # The services above work on their own locked copy: read the version they left.
        version = Case.objects.values_list("version", flat=True).get(pk=case.pk)
        case_close(case=case, doctor=doctor, version=version)
    return True


def _closing_path(scenario: Scenario) -> str:
    if scenario.reply:
        return CaseStatus.TAKEN_OVER
    if scenario.correction is not None:
        return CaseStatus.CORRECTED
    return CaseStatus.APPROVED


def _conversation(scenario: Scenario, patient: DemoPatient, days: int) -> list[tuple[str, str]]:
    turns = [(Message.Author.PATIENT, scenario.patient), (Message.Author.AVATAR, scenario.draft)]
    if scenario.follow_up is not None:
        turns += [(Message.Author.PATIENT, scenario.follow_up[0]), (Message.Author.AVATAR, scenario.follow_up[1])]
    return [(author, _render(text, patient, days)) for author, text in turns]


def _ingest_messages(planned: PlannedCase, now: datetime) -> list[IngestMessage]:
    sent_at = now - planned.started_ago
    # A follow-up never lands in the future, however recent the case.
    follow_up_gap = min(planned.follow_up_gap, planned.started_ago / 3)
    messages = []
    for index, (author, body) in enumerate(_conversation(planned.scenario, planned.patient, planned.days)):
        if index:
            sent_at += planned.answer_delay if author == Message.Author.AVATAR else follow_up_gap
        messages.append(IngestMessage(author=author, body=body, sent_at=sent_at))
    return messages


def _avatar_flags(scenario: Scenario) -> list[dict[str, str]]:
    if scenario.avatar_flag is None:
        return []
    code, reason = scenario.avatar_flag
    return [{"code": code, "reason": reason}]


def _render(text: str, patient: DemoPatient, days: int) -> str:
    return text.format(weeks=patient.weeks, months=patient.months, age=patient.age, days=days)


def _birth_year(patient: DemoPatient, today: date) -> int:
    if patient.months is not None:
        return (today - timedelta(days=round(patient.months * 30.4))).year
    return today.year - patient.age
