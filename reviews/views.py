"""Doctors' pages: the queue and the case page. Every action works as an htmx request
that swaps the changed region, and as a plain form post that redirects."""

from collections.abc import Callable
from datetime import timedelta
from functools import wraps

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import HttpResponseClientRedirect
from django_htmx.middleware import HtmxDetails

from . import services
from .exceptions import InvalidInput, ReviewError
from .models import Case, CaseStatus, Decision, Urgency
from .previsit import summary_pipeline_status
from .queue_rows import escalated_rows, queue_rows, taken_over_rows
from .rendering import highlight, text_diff
from .selectors import (
    QueueCursor,
    case_detail,
    case_escalation_for,
    cases_escalated_to,
    cases_for_doctor,
    conversations_taken_over,
    hospital_overview,
    queue_page,
)

# The admin overview warns when the pre-visit beat (every minute) has missed three runs.
BEAT_LATE_AFTER = timedelta(seconds=3 * settings.CELERY_BEAT_SCHEDULE["previsit-summaries"]["schedule"])


class HtmxHttpRequest(HttpRequest):
    htmx: HtmxDetails


def doctor_required(view: Callable) -> Callable:
    """Signed-in doctors only. Admins manage the hospital but do not read conversations."""

    @login_required
    @wraps(view)
    def wrapper(request: HtmxHttpRequest, *args, **kwargs) -> HttpResponse:
        if not request.user.is_doctor:
            raise PermissionDenied(_("Case pages are for doctors; hospital admins do not read patient conversations."))
        return view(request, *args, **kwargs)

    return wrapper


def _vary(response: HttpResponse) -> HttpResponse:
    patch_vary_headers(response, ("HX-Request",))
    return response


@require_GET
@login_required
def queue(request: HtmxHttpRequest) -> HttpResponse:
    if not request.user.is_doctor:
        hospital = request.user.hospital
        context = {
            "overview": hospital_overview(hospital=hospital),
            # hospital=None would count every hospital's summaries: never for a page.
            "pipeline": summary_pipeline_status(hospital=hospital) if hospital else None,
            "beat_late_since": timezone.now() - BEAT_LATE_AFTER,
        }
        return render(request, "reviews/overview.html", context)
    token = request.GET.get("after", "")
    after = QueueCursor.decode(token) if token else None
    doctor = request.user
    page = queue_page(doctor=doctor, after=after)
    context = {
        "page": page,
        "rows": queue_rows(page.cases, doctor=doctor),
        "after": token if after else "",
        # The escalated and taken-over sections head the first page only.
        "escalated": escalated_rows(cases_escalated_to(doctor=doctor), doctor=doctor) if after is None else [],
        "taken_over": taken_over_rows(conversations_taken_over(doctor=doctor), doctor=doctor) if after is None else [],
    }
    template = "reviews/queue.html#queue" if request.htmx else "reviews/queue.html"
    return _vary(render(request, template, context))


@require_POST
@doctor_required
def next_case(request: HtmxHttpRequest) -> HttpResponse:
    case = services.case_claim_next(doctor=request.user)
    if case is None:
        messages.info(request, _("No unclaimed case is waiting in your queue."))
        target = redirect("reviews:queue")
    else:
        target = redirect("reviews:case", case_id=case.pk)
    return HttpResponseClientRedirect(target.url) if request.htmx else target


def _case_context(case: Case, *, doctor, correcting: bool = False, error: str = "", form: dict | None = None) -> dict:
    detail = case_detail(case=case)
    spans: dict[int, list[tuple[int, int, str]]] = {}
    for flag in case.flags:
        if flag.get("message_index") is not None and flag.get("end"):
            spans.setdefault(flag["message_index"], []).append((flag["start"], flag["end"], flag.get("rule_id", "")))
    # Flags point at messages by their position in the ingest payload, which is id order.
    position = {m.pk: i for i, m in enumerate(sorted(detail.messages, key=lambda m: m.pk))}
    conversation = [(m, highlight(m.body, spans.get(position[m.pk], []))) for m in detail.messages]
    decision = detail.last_answer_decision
    escalation = case_escalation_for(case=case, doctor=doctor) if case.reviewer_id != doctor.pk else None
    return {
        "case": case,
        "escalation": escalation,
        "detail": detail,
        "conversation": conversation,
        "flags": [flag | {"urgency_label": Urgency.from_code(flag["urgency"]).label} for flag in case.flags],
        "decision": decision,
        "diff": text_diff(decision.original_text, decision.final_text)
        if decision and decision.action == Decision.Action.CORRECT
        else None,
        "holds_claim": case.claimed_by_id == doctor.pk and case.claim_active(),
        "in_my_queue": case.reviewer_id == doctor.pk or escalation is not None,
        "correcting": correcting and case.status == CaseStatus.AWAITING_REVIEW,
        "categories": Decision.Category.choices,
        "error": error,
        "form": form or {},
    }


def _render_case(request: HtmxHttpRequest, case: Case, *, status: int = 200, **kwargs) -> HttpResponse:
    context = _case_context(case, doctor=request.user, **kwargs)
    template = "reviews/case.html#case-body" if request.htmx else "reviews/case.html"
    if request.htmx and request.GET.get("part") == "conversation":
        template = "reviews/case.html#conversation"
    return _vary(render(request, template, context, status=status))


def _doctor_case(request: HtmxHttpRequest, case_id: int) -> Case:
    return get_object_or_404(
        cases_for_doctor(request.user).select_related("patient", "claimed_by", "reviewer"), pk=case_id
    )


@require_GET
@doctor_required
def case_page(request: HtmxHttpRequest, case_id: int) -> HttpResponse:
    case = _doctor_case(request, case_id)
    if not request.htmx:
        # Opening the page is what claims the case and what the audit log records.
        case = services.case_open(case=case, doctor=request.user, ip=request.META.get("REMOTE_ADDR"))
    return _render_case(request, case, correcting=request.GET.get("correct") == "1")


def _act(request: HtmxHttpRequest, case_id: int, action: Callable[[Case], object], *, correcting: bool = False):
    """Run one service on the case; show the case again, with the refusal if there was one."""
    case = _doctor_case(request, case_id)
    try:
        action(case)
    except ReviewError as error:
        case.refresh_from_db()
        status = 400 if isinstance(error, InvalidInput) else error.http_status
        return _render_case(
            request, case, status=status, error=error.message, correcting=correcting, form=request.POST.dict()
        )
    if request.htmx:
        case.refresh_from_db()
        return _render_case(request, case)
    return redirect("reviews:case", case_id=case.pk)


def _version(request: HttpRequest) -> int:
    try:
        return int(request.POST.get("version", ""))
    except ValueError:
        return -1  # refused by the version check with a clear message


@require_POST
@doctor_required
def case_claim_view(request: HtmxHttpRequest, case_id: int) -> HttpResponse:
    return _act(request, case_id, lambda case: services.case_claim(case=case, doctor=request.user))


@require_POST
@doctor_required
def case_approve_view(request: HtmxHttpRequest, case_id: int) -> HttpResponse:
    return _act(
        request, case_id, lambda case: services.case_approve(case=case, doctor=request.user, version=_version(request))
    )


@require_POST
@doctor_required
def case_correct_view(request: HtmxHttpRequest, case_id: int) -> HttpResponse:
    return _act(
        request,
        case_id,
        lambda case: services.case_correct(
            case=case,
            doctor=request.user,
            version=_version(request),
            final_text=request.POST.get("final_text", ""),
            category=request.POST.get("category", ""),
            note=request.POST.get("note", ""),
        ),
        correcting=True,
    )


@require_POST
@doctor_required
def case_take_over_view(request: HtmxHttpRequest, case_id: int) -> HttpResponse:
    return _act(
        request,
        case_id,
        lambda case: services.case_take_over(case=case, doctor=request.user, version=_version(request)),
    )


@require_POST
@doctor_required
def case_reply_view(request: HtmxHttpRequest, case_id: int) -> HttpResponse:
    return _act(
        request,
        case_id,
        lambda case: services.case_reply(case=case, doctor=request.user, body=request.POST.get("body", "")),
    )


@require_POST
@doctor_required
def case_close_view(request: HtmxHttpRequest, case_id: int) -> HttpResponse:
    return _act(
        request, case_id, lambda case: services.case_close(case=case, doctor=request.user, version=_version(request))
    )
