"""Reads for the hospital admins' pages, always scoped to the admin's own hospital."""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.conf import settings
from django.db.models import BooleanField, Count, ExpressionWrapper, Q, QuerySet
from django.utils import timezone

from reviews.models import AuditEvent

from .models import ApiClient, Hospital, Invitation, SignInFailure, User

AUDIT_PAGE_SIZE = 100
# The action filter's suggestions come from this many of the newest events: a DISTINCT
# over the whole log would read every row the hospital ever wrote.
AUDIT_ACTION_SAMPLE = 5000


# --- Staff ------------------------------------------------------------------------------


def staff_list(
    *,
    hospital: Hospital,
    q: str = "",
    role: str = "",
    specialty: str = "",
    active: bool | None = None,
) -> QuerySet[User]:
    """The hospital's staff, by name; `q` matches name or e-mail, the rest narrow exactly."""
    users = User.objects.filter(hospital=hospital).select_related("doctor_profile")
    q = q.strip()
    if q:
        users = users.filter(Q(full_name__icontains=q) | Q(email__icontains=q))
    if role:
        users = users.filter(role=role)
    if specialty:
        users = users.filter(doctor_profile__specialty=specialty)
    if active is not None:
        users = users.filter(is_active=active)
    return users.order_by("full_name", "email", "pk")


def staff_member(*, hospital: Hospital, user_id: int) -> QuerySet[User]:
    """The one member of staff with this id, if they belong to the hospital (else empty)."""
    return User.objects.filter(hospital=hospital, pk=user_id).select_related("doctor_profile", "hospital")


def locked_emails(*, emails: list[str] | set[str]) -> set[str]:
    """Which of these accounts the sign-in throttle currently refuses, in one query.

    Mirrors the throttle's rule: enough failures for the (lower-cased) address inside the
    window. Uses the index on (email, at).
    """
    wanted = {email.strip().lower() for email in emails if email}
    if not wanted:
        return set()
    since = timezone.now() - timedelta(minutes=settings.SIGNIN_FAILURE_WINDOW_MINUTES)
    return set(
        SignInFailure.objects.filter(email__in=wanted, at__gt=since)
        .values("email")
        .annotate(failures=Count("id"))
        .filter(failures__gte=settings.SIGNIN_MAX_FAILURES_PER_ACCOUNT)
        .values_list("email", flat=True)
    )


def pending_invitations(*, hospital: Hospital) -> QuerySet[Invitation]:
    """Invitations whose link still works: not accepted, not revoked, not expired."""
    return (
        Invitation.objects.filter(
            hospital=hospital, accepted_at__isnull=True, revoked_at__isnull=True, expires_at__gt=timezone.now()
        )
        .select_related("invited_by")
        .order_by("expires_at", "pk")
    )


# --- API clients ------------------------------------------------------------------------


def api_clients(*, hospital: Hospital) -> QuerySet[ApiClient]:
    """Working clients first, newest first within each group."""
    revoked = ExpressionWrapper(Q(revoked_at__isnull=False), output_field=BooleanField())
    return ApiClient.objects.filter(hospital=hospital).order_by(revoked, "-created_at", "-pk")


# --- Audit log --------------------------------------------------------------------------


@dataclass(frozen=True)
class AuditFilters:
    """What the admin narrowed the log to. `actor` is "user:<id>", "api_client",
    "api_client:<id>", "system" or empty; `action` matches exactly or as a dotted prefix
    ("staff" finds "staff.invited")."""

    actor: str = ""
    action: str = ""
    case_id: int | None = None
    date_from: date | None = None
    date_to: date | None = None


def _day_start(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def audit_events(*, hospital: Hospital, filters: AuditFilters = AuditFilters()) -> QuerySet[AuditEvent]:
    """The hospital's audit events matching the filters, newest first, with their actors."""
    events = AuditEvent.objects.filter(hospital=hospital).select_related("actor_user", "actor_api_client")
    kind, _sep, actor_id = filters.actor.partition(":")
    if kind == AuditEvent.ActorType.USER:
        events = events.filter(actor_type=kind, actor_user_id=int(actor_id) if actor_id.isdigit() else 0)
    elif kind == AuditEvent.ActorType.API_CLIENT:
        events = events.filter(actor_type=kind)
        if actor_id:
            events = events.filter(actor_api_client_id=int(actor_id) if actor_id.isdigit() else 0)
    elif kind == AuditEvent.ActorType.SYSTEM:
        events = events.filter(actor_type=kind)
    action = filters.action.strip()
    if action:
        events = events.filter(Q(action=action) | Q(action__startswith=action.rstrip(".") + "."))
    if filters.case_id is not None:
        events = events.filter(case_id=filters.case_id)
    if filters.date_from is not None:
        events = events.filter(at__gte=_day_start(filters.date_from))
    if filters.date_to is not None:
        # The whole of the last day, in the portal's time zone.
        events = events.filter(at__lt=_day_start(filters.date_to + timedelta(days=1)))
    return events.order_by("-id")


@dataclass(frozen=True)
class AuditPage:
    events: list[AuditEvent]
    # The id to pass as `before` for the next (older) page; None on the last page.
    older_than: int | None


def audit_page(
    *,
    hospital: Hospital,
    filters: AuditFilters = AuditFilters(),
    before: int | None = None,
    size: int = AUDIT_PAGE_SIZE,
) -> AuditPage:
    """One page of the log by keyset on id: reads `size + 1` rows and never counts, so an
    old page costs what the newest one costs however long the log grows."""
    events = audit_events(hospital=hospital, filters=filters)
    if before is not None:
        events = events.filter(pk__lt=before)
    rows = list(events[: size + 1])
    more = len(rows) > size
    rows = rows[:size]
    return AuditPage(events=rows, older_than=rows[-1].pk if more else None)


def audit_actions(*, hospital: Hospital) -> list[str]:
    """Actions seen among the newest events, for the action filter's suggestions."""
    recent = AuditEvent.objects.filter(hospital=hospital).order_by("-id").values("pk")[:AUDIT_ACTION_SAMPLE]
    return list(AuditEvent.objects.filter(pk__in=recent).order_by("action").values_list("action", flat=True).distinct())


def audit_actor_choices(*, hospital: Hospital) -> tuple[list[User], list[ApiClient]]:
    """Everyone who can appear as an actor in this hospital's log."""
    users = list(User.objects.filter(hospital=hospital).order_by("full_name", "email", "pk"))
    clients = list(ApiClient.objects.filter(hospital=hospital).order_by("name", "pk"))
    return users, clients
