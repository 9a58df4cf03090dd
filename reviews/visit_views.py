"""Doctors' pre-visit pages: today's and tomorrow's visits, and each visit's summary.

A summary condenses the patient's conversations, so it is read like a case: by the
appointment's own doctor only. Hospital admins get a 403 (they do not read patient
histories), colleagues and other hospitals a 404. Opening a summary is audited.

While a summary is being compiled (or recompiled after new messages) its region polls
the same URL with htmx and is swapped in place; the poll stops once nothing is left to
wait for. Every page works without JavaScript: a reload shows the same thing.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import wraps
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET
from django_htmx.middleware import HtmxDetails

from accounts.models import User

from .audit import audit_record
from .models import Appointment, Decision, PreVisitSummary, Urgency
from .previsit import WINDOW_LOOKBACK
from .selectors import appointments_for_doctor, cases_openable, visits_for_doctor

# The ids of the regions that poll (registered in accounts.middleware.POLLING_ELEMENT_IDS,
# so that a screen left open does not keep its session alive).
VISITS_REGION = "visits"
SUMMARY_REGION = "visit-summary"

# What a row's badge says about its summary. The compile is under way (or will be at
# the next beat) for COMPILING and UPDATING, so the page keeps asking; for SCHEDULED the
# appointment is still outside the hospital's lead window and nothing will happen soon.
READY, COMPILING, UPDATING = "ready", "compiling", "updating"
FAILED, SCHEDULED, OUTDATED = "failed", "scheduled", "outdated"
POLLING_STATES = frozenset({COMPILING, UPDATING})


class HtmxHttpRequest(HttpRequest):
    htmx: HtmxDetails


def doctor_required(view: Callable) -> Callable:
    @login_required
    @wraps(view)
    def wrapper(request: HtmxHttpRequest, *args, **kwargs) -> HttpResponse:
        if not request.user.is_doctor:
            raise PermissionDenied(
                _("Pre-visit summaries are for doctors; hospital admins do not read patient histories.")
            )
        return view(request, *args, **kwargs)

    return wrapper


def _vary(response: HttpResponse) -> HttpResponse:
    patch_vary_headers(response, ("HX-Request",))
    return response


def summary_of(appointment: Appointment) -> PreVisitSummary | None:
    # The reverse one-to-one raises (an AttributeError subclass) when there is no row yet.
    return getattr(appointment, "summary", None)


def summary_state(appointment: Appointment, *, now: datetime, lead: timedelta) -> str:
    """One of READY, COMPILING, UPDATING, FAILED, SCHEDULED, OUTDATED."""
    summary = summary_of(appointment)
    # The beat compiles from `lead` before a visit until shortly after it starts.
    in_window = appointment.scheduled_at - lead <= now <= appointment.scheduled_at + WINDOW_LOOKBACK
    if summary is None or summary.status == PreVisitSummary.Status.PENDING:
        return COMPILING if in_window else SCHEDULED
    if summary.status == PreVisitSummary.Status.FAILED:
        return FAILED
    if summary.stale:
        return UPDATING if in_window else OUTDATED
    return READY


@dataclass(frozen=True)
class Visit:
    appointment: Appointment
    state: str


def _day_start(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def _lead(user: User) -> timedelta:
    return timedelta(hours=user.hospital.summary_lead_hours)


@require_GET
@doctor_required
def visits(request: HtmxHttpRequest) -> HttpResponse:
    # "Today" is the hospital's day (settings.TIME_ZONE), not UTC's.
    now = timezone.localtime()
    today, tomorrow = now.date(), now.date() + timedelta(days=1)
    boundary = _day_start(tomorrow)
    appointments = visits_for_doctor(
        doctor=request.user, start=_day_start(today), end=_day_start(tomorrow + timedelta(days=1))
    )
    lead = _lead(request.user)
    rows = [Visit(appointment=a, state=summary_state(a, now=now, lead=lead)) for a in appointments]
    context = {
        "days": [
            ("today", _("Today"), today, [v for v in rows if v.appointment.scheduled_at < boundary]),
            ("tomorrow", _("Tomorrow"), tomorrow, [v for v in rows if v.appointment.scheduled_at >= boundary]),
        ],
        "polling": any(v.state in POLLING_STATES for v in rows),
        "region": VISITS_REGION,
    }
    template = "reviews/visits.html#visits" if request.htmx else "reviews/visits.html"
    return _vary(render(request, template, context))


# --- The summary ---------------------------------------------------------------------------

_TIME_KEYS = frozenset({"at", "first_at", "last_at", "scheduled_at", "first_contact_at", "last_contact_at"})


def _with_datetimes(value: Any) -> Any:
    """The content with its ISO 8601 times as datetimes, for the date filters (which show
    them in the hospital's time zone and the reader's language). Anything unreadable
    stays as it was: a summary page never fails over one odd value."""
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if key in _TIME_KEYS and isinstance(item, str):
                try:
                    parsed = datetime.fromisoformat(item)
                except ValueError:
                    pass
                else:
                    # The format's times are UTC; one without its offset is read as such.
                    item = parsed if timezone.is_aware(parsed) else parsed.replace(tzinfo=UTC)
            out[key] = _with_datetimes(item)
        return out
    if isinstance(value, list):
        return [_with_datetimes(item) for item in value]
    return value


def _urgency_label(code: Any) -> str:
    try:
        return Urgency.from_code(code).label
    except (KeyError, AttributeError):
        return str(code or "")


TIMELINE_KINDS = {
    "symptom": gettext_lazy("Symptom"),
    "red_flag": gettext_lazy("Red flag"),
    "decision": gettext_lazy("Doctor's decision"),
    "doctor_message": gettext_lazy("Doctor's message"),
    "medication": gettext_lazy("Medication"),
    "allergy": gettext_lazy("Allergy"),
}


def _dicts(value: Any) -> list[dict]:
    """The entries of a list section; anything else (a hand-edited row, a future format) is left out."""
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def _timeline_days(items: list[dict]) -> list[tuple[date | None, list[dict]]]:
    """The timeline grouped by the hospital's calendar day, oldest first (the compile's order)."""
    days: list[tuple[date | None, list[dict]]] = []
    for item in items:
        at = item.get("at")
        day = timezone.localtime(at).date() if isinstance(at, datetime) else None
        if not days or days[-1][0] != day:
            days.append((day, []))
        days[-1][1].append(item | {"kind_label": TIMELINE_KINDS.get(item.get("kind", ""), item.get("kind", ""))})
    return days


def summary_sections(content: dict) -> dict[str, Any]:
    """The content in the shape the template reads: datetimes parsed, labels translated."""
    content = _with_datetimes(content) if isinstance(content, dict) else {}
    actions = dict(Decision.Action.choices)
    categories = dict(Decision.Category.choices)

    def decision(d: dict) -> dict:
        return d | {
            "action_label": actions.get(d.get("action"), d.get("action")),
            "category_label": categories.get(d.get("category") or "", d.get("category") or ""),
        }

    return content | {
        "timeline_days": _timeline_days(_dicts(content.get("timeline"))),
        "red_flags": [
            flag | {"urgency_label": _urgency_label(flag.get("urgency"))} for flag in _dicts(content.get("red_flags"))
        ],
        "presenting_concerns": [
            item | {"urgency_label": _urgency_label(item.get("urgency"))}
            for item in _dicts(content.get("presenting_concerns"))
        ],
        "decisions": [decision(d) for d in _dicts(content.get("decisions"))],
        "corrections": [decision(d) for d in _dicts(content.get("corrections"))],
        **{key: _dicts(content.get(key)) for key in ("symptoms", "medications", "allergies", "open_questions")},
        "last_advice": content.get("last_advice") if isinstance(content.get("last_advice"), dict) else None,
    }


def _shown_token(summary: PreVisitSummary | None) -> str:
    """Which compile a page shows, so that a poll can tell whether it reveals a new one."""
    if summary is None or summary.compiled_at is None or not summary.content:
        return ""
    return str(int(summary.compiled_at.timestamp() * 1_000_000))


def visit_summary_viewed(*, appointment: Appointment, doctor: User, ip: str | None, printed: bool = False) -> None:
    """Record that the doctor read the appointment's summary: it is patient data (ids only)."""
    summary = summary_of(appointment)
    audit_record(
        hospital=doctor.hospital,
        user=doctor,
        action="summary.viewed",
        ip=ip,
        details={
            "appointment_id": appointment.pk,
            "summary_id": summary.pk if summary else None,
            "patient_id": appointment.patient_id,
            "print": printed,
        },
    )


def _summary_context(request: HtmxHttpRequest, appointment: Appointment) -> dict[str, Any]:
    summary = summary_of(appointment)
    state = summary_state(appointment, now=timezone.now(), lead=_lead(request.user))
    has_content = bool(summary and summary.content)
    sections = summary_sections(summary.content) if has_content else {}
    source_ids = [item["case_id"] for item in _items_with_sources(sections)]
    return {
        "appointment": appointment,
        "patient": appointment.patient,
        "summary": summary,
        "state": state,
        "has_content": has_content,
        "content": sections,
        "openable": cases_openable(doctor=request.user, case_ids=sorted(set(source_ids))),
        "polling": state in POLLING_STATES,
        "shown": _shown_token(summary),
        "region": SUMMARY_REGION,
    }


def _items_with_sources(sections: dict) -> list[dict]:
    """Every item of the content that names a source case."""
    items: list[dict] = []
    for key in ("presenting_concerns", "timeline", "red_flags", "decisions", "corrections", "open_questions"):
        items.extend(sections.get(key) or [])
    for key in ("symptoms", "medications", "allergies"):
        for entry in sections.get(key) or []:
            items.extend(_dicts(entry.get("mentions")))
    if sections.get("last_advice"):
        items.append(sections["last_advice"])
    return [item for item in items if isinstance(item, dict) and isinstance(item.get("case_id"), int)]


def _own_appointment(request: HtmxHttpRequest, appointment_id: int) -> Appointment:
    return get_object_or_404(
        appointments_for_doctor(request.user).select_related("patient", "doctor", "summary"), pk=appointment_id
    )


@require_GET
@doctor_required
def visit_summary(request: HtmxHttpRequest, appointment_id: int) -> HttpResponse:
    appointment = _own_appointment(request, appointment_id)
    context = _summary_context(request, appointment)
    # A poll that brings no new compile shows nothing the doctor has not been shown (and audited) already.
    if not request.htmx or (context["shown"] and request.GET.get("shown") != context["shown"]):
        visit_summary_viewed(appointment=appointment, doctor=request.user, ip=request.META.get("REMOTE_ADDR"))
    template = "reviews/visit_summary.html#visit-summary" if request.htmx else "reviews/visit_summary.html"
    return _vary(render(request, template, context))


@require_GET
@doctor_required
def visit_summary_print(request: HtmxHttpRequest, appointment_id: int) -> HttpResponse:
    appointment = _own_appointment(request, appointment_id)
    context = _summary_context(request, appointment)
    visit_summary_viewed(appointment=appointment, doctor=request.user, ip=request.META.get("REMOTE_ADDR"), printed=True)
    return render(request, "reviews/visit_summary_print.html", context)
