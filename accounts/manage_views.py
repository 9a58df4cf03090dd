"""Hospital admins' pages: staff, API clients, review policy and the audit log.

Every page is scoped to the admin's own hospital: another hospital's id is a 404. Each
change goes through one service of `accounts.services`, which writes its audit event.
Buttons that act work as htmx requests that swap the changed region and as plain forms
(with a confirmation page where the action is hard to undo) that redirect.
"""

import csv
import json
from collections.abc import Callable, Iterable, Iterator
from functools import wraps
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, QueryDict, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import add_never_cache_headers, patch_vary_headers
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_http_methods
from django_htmx.middleware import HtmxDetails

from reviews.audit import audit_chain_head, audit_chain_verify
from reviews.exceptions import ReviewError
from reviews.models import AuditEvent

from . import selectors, services
from .manage_forms import (
    ApiClientForm,
    AuditFilterForm,
    InviteForm,
    PolicyForm,
    StaffEditForm,
    StaffFilterForm,
    add_refusal,
)
from .models import ApiClient, User
from .two_factor import two_factor_enabled, two_factor_reset

STAFF_PAGE_SIZE = 50
CSV_CHUNK_SIZE = 2000


class HtmxHttpRequest(HttpRequest):
    htmx: HtmxDetails


def admin_required(view: Callable) -> Callable:
    """Signed-in admins of a hospital only: anonymous users go to sign-in, others get a 403."""

    @login_required
    @wraps(view)
    def wrapper(request: HtmxHttpRequest, *args, **kwargs) -> HttpResponse:
        if not (request.user.is_hospital_admin and request.user.hospital_id):
            raise PermissionDenied(_("These pages are for the hospital's admins."))
        return view(request, *args, **kwargs)

    return wrapper


def _posted(request: HttpRequest) -> QueryDict | None:
    # Bound on every POST, even an empty one, so that missing fields are errors.
    return request.POST if request.method == "POST" else None


def _vary(response: HttpResponse) -> HttpResponse:
    patch_vary_headers(response, ("HX-Request",))
    return response


# --- Staff ------------------------------------------------------------------------------


@require_GET
@admin_required
def staff(request: HtmxHttpRequest) -> HttpResponse:
    hospital = request.user.hospital
    form = StaffFilterForm(request.GET)
    page = Paginator(selectors.staff_list(hospital=hospital, **form.filters()), STAFF_PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    context = {"form": form, "page": page, "locked": selectors.locked_emails(emails=[m.email for m in page])}
    if request.htmx:
        return _vary(render(request, "accounts/manage/staff.html#staff-table", context))
    context["invitations"] = selectors.pending_invitations(hospital=hospital)
    return _vary(render(request, "accounts/manage/staff.html", context))


@require_http_methods(["GET", "POST"])
@admin_required
def staff_invite(request: HtmxHttpRequest) -> HttpResponse:
    hospital = request.user.hospital
    form = InviteForm(_posted(request))
    if request.method == "POST" and form.is_valid():
        try:
            invitation, _token = services.staff_invite(
                hospital=hospital,
                invited_by=request.user,
                # The invitation page (accounts.urls) takes the token as the next path segment.
                link_base=request.build_absolute_uri("/accounts/invitation/"),
                **form.cleaned_data,
            )
        except ReviewError as error:
            add_refusal(form, error)
        else:
            return redirect(f"{reverse('manage:staff_invite')}?sent={invitation.pk}")
    sent_id = request.GET.get("sent", "")
    sent = selectors.pending_invitations(hospital=hospital).filter(pk=sent_id).first() if sent_id.isdigit() else None
    status = 400 if form.errors else 200
    context = {"form": form, "sent": sent, "valid_hours": settings.INVITATION_VALID_HOURS}
    return render(request, "accounts/manage/invite.html", context, status=status)


def _member(request: HtmxHttpRequest, user_id: int) -> User:
    return get_object_or_404(selectors.staff_member(hospital=request.user.hospital, user_id=user_id))


def _status_context(member: User, **extra: Any) -> dict[str, Any]:
    return {
        "member": member,
        "locked": member.email in selectors.locked_emails(emails=[member.email]),
        "two_factor": two_factor_enabled(member),
        **extra,
    }


@require_http_methods(["GET", "POST"])
@admin_required
def staff_edit(request: HtmxHttpRequest, user_id: int) -> HttpResponse:
    member = _member(request, user_id)
    form = StaffEditForm(_posted(request), initial=StaffEditForm.initial_for(member))
    if request.method == "POST" and form.is_valid():
        try:
            updated = services.staff_update(user=member, updated_by=request.user, **form.cleaned_data)
        except ReviewError as error:
            add_refusal(form, error)
        else:
            messages.success(request, _("Changes to %(name)s saved.") % {"name": updated.full_name})
            if updated.pk == request.user.pk and not updated.is_hospital_admin:
                return redirect("reviews:queue")  # no longer an admin: these pages are closed to them now
            return redirect("manage:staff_edit", user_id=member.pk)
    context = _status_context(member, form=form)
    return _vary(render(request, "accounts/manage/staff_edit.html", context, status=400 if form.errors else 200))


def _deactivation_outcome(member: User, moved: dict[str, int]) -> str:
    parts = [_("%(name)s is deactivated and signed out everywhere.") % {"name": member.display_name}]
    if member.is_doctor or any(moved.values()):
        parts.append(
            ngettext(
                "%(count)d open case moved to colleagues of the same specialty;",
                "%(count)d open cases moved to colleagues of the same specialty;",
                moved["reassigned"],
            )
            % {"count": moved["reassigned"]}
        )
        parts.append(
            ngettext("%(count)d left unassigned;", "%(count)d left unassigned;", moved["unassigned"])
            % {"count": moved["unassigned"]}
        )
        parts.append(
            ngettext("%(count)d claim released.", "%(count)d claims released.", moved["released_claims"])
            % {"count": moved["released_claims"]}
        )
    return " ".join(parts)


def _staff_action(
    request: HtmxHttpRequest, user_id: int, act: Callable[[User], str], confirm: dict[str, str] | None = None
) -> HttpResponse:
    """Run one staff service and show what happened: in the status region for htmx, else
    as a notice on the person's page. A GET shows the confirmation page, when there is one."""
    member = _member(request, user_id)
    if request.method == "GET":
        if confirm is None:
            return redirect("manage:staff_edit", user_id=member.pk)
        cancel = reverse("manage:staff_edit", args=[member.pk])
        return render(request, "accounts/manage/confirm.html", {**confirm, "member": member, "cancel_url": cancel})
    status, outcome, error = 200, "", ""
    try:
        outcome = act(member)
    except ReviewError as refusal:
        status, error = (400 if refusal.http_status == 400 else 409), refusal.message
    if request.htmx:
        member.refresh_from_db()
        context = _status_context(member, outcome=outcome, error=error)
        return _vary(render(request, "accounts/manage/staff_edit.html#status", context, status=status))
    if error:
        messages.error(request, error)
    else:
        messages.success(request, outcome)
    return redirect("manage:staff_edit", user_id=member.pk)


@require_http_methods(["GET", "POST"])
@admin_required
def staff_deactivate(request: HtmxHttpRequest, user_id: int) -> HttpResponse:
    def act(member: User) -> str:
        moved = services.staff_deactivate(user=member, deactivated_by=request.user)
        return _deactivation_outcome(member, moved)

    confirm = {
        "heading": _("Deactivate this account?"),
        "explanation": _(
            "They are signed out everywhere at once and can no longer sign in. A doctor's open cases move "
            "to active colleagues of the same specialty; cases no colleague can take stay unassigned."
        ),
        "button": _("Deactivate"),
        "action_url": reverse("manage:staff_deactivate", args=[user_id]),
    }
    return _staff_action(request, user_id, act, confirm)


@require_http_methods(["GET", "POST"])
@admin_required
def staff_reactivate(request: HtmxHttpRequest, user_id: int) -> HttpResponse:
    def act(member: User) -> str:
        services.staff_reactivate(user=member, reactivated_by=request.user)
        return _(
            "%(name)s can sign in again. Cases moved away at deactivation stay with the colleagues who have them."
        ) % {"name": member.display_name}

    confirm = {
        "heading": _("Reactivate this account?"),
        "explanation": _("They can sign in again with their password. Cases moved to colleagues stay where they are."),
        "button": _("Reactivate"),
        "action_url": reverse("manage:staff_reactivate", args=[user_id]),
    }
    return _staff_action(request, user_id, act, confirm)


@require_http_methods(["GET", "POST"])
@admin_required
def staff_two_factor_reset(request: HtmxHttpRequest, user_id: int) -> HttpResponse:
    def act(member: User) -> str:
        two_factor_reset(user=member, reset_by=request.user)
        return _(
            "Two-factor sign-in is reset for %(name)s: their authenticator app and backup codes no longer work."
        ) % {"name": member.display_name}

    confirm = {
        "heading": _("Reset two-factor sign-in?"),
        "explanation": _(
            "For a lost phone: their authenticator app and backup codes stop working. Where the hospital "
            "requires two-factor sign-in, they set it up again at their next sign-in."
        ),
        "button": _("Reset two-factor sign-in"),
        "action_url": reverse("manage:staff_two_factor_reset", args=[user_id]),
    }
    return _staff_action(request, user_id, act, confirm)


@require_http_methods(["GET", "POST"])
@admin_required
def staff_unlock(request: HtmxHttpRequest, user_id: int) -> HttpResponse:
    def act(member: User) -> str:
        cleared = services.signin_unlock(email=member.email, unlocked_by=request.user)
        return ngettext(
            "Sign-in unlocked for %(email)s (%(count)d failed attempt cleared).",
            "Sign-in unlocked for %(email)s (%(count)d failed attempts cleared).",
            cleared,
        ) % {"email": member.email, "count": cleared}

    return _staff_action(request, user_id, act)


# --- API clients ------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@admin_required
def api_clients(request: HtmxHttpRequest) -> HttpResponse:
    hospital = request.user.hospital
    form = ApiClientForm(_posted(request))
    created, token = None, ""
    if request.method == "POST" and form.is_valid():
        try:
            created, token = services.api_client_create(hospital=hospital, created_by=request.user, **form.cleaned_data)
        except ReviewError as error:
            add_refusal(form, error)
        else:
            form = ApiClientForm()
    context = {"form": form, "clients": selectors.api_clients(hospital=hospital), "created": created, "token": token}
    response = render(request, "accounts/manage/api_clients.html", context, status=400 if form.errors else 200)
    if token:
        # The only response that ever holds the token: no cache may keep a copy.
        add_never_cache_headers(response)
    return _vary(response)


@require_http_methods(["GET", "POST"])
@admin_required
def api_client_revoke(request: HtmxHttpRequest, client_id: int) -> HttpResponse:
    client = get_object_or_404(selectors.api_clients(hospital=request.user.hospital), pk=client_id)
    if request.method == "GET":
        return render(request, "accounts/manage/confirm.html", _revoke_confirmation(client))
    services.api_client_revoke(client=client, revoked_by=request.user)  # only refuses non-admins
    outcome = _("%(name)s is revoked: its token no longer works.") % {"name": client.name}
    if request.htmx:
        context = {"clients": selectors.api_clients(hospital=request.user.hospital), "outcome": outcome}
        return _vary(render(request, "accounts/manage/api_clients.html#clients", context))
    messages.success(request, outcome)
    return redirect("manage:api_clients")


def _revoke_confirmation(client: ApiClient) -> dict[str, str]:
    return {
        "heading": _("Revoke %(name)s?") % {"name": client.name},
        "explanation": _(
            "Its token stops working on its next request, and cannot be turned back on. "
            "The system that uses it needs a new client and token."
        ),
        "button": _("Revoke"),
        "action_url": reverse("manage:api_client_revoke", args=[client.pk]),
        "cancel_url": reverse("manage:api_clients"),
    }


# --- Policy -----------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@admin_required
def policy(request: HtmxHttpRequest) -> HttpResponse:
    hospital = request.user.hospital
    form = PolicyForm(_posted(request), initial=PolicyForm.initial_for(hospital))
    if request.method == "POST" and form.is_valid():
        try:
            services.hospital_policy_update(hospital=hospital, updated_by=request.user, **form.cleaned_data)
        except ReviewError as error:
            add_refusal(form, error)
        else:
            messages.success(request, _("Policy saved."))
            return redirect("manage:policy")
    return render(request, "accounts/manage/policy.html", {"form": form}, status=400 if form.errors else 200)


# --- Audit log --------------------------------------------------------------------------


def details_text(details: dict[str, Any]) -> str:
    """`key=value` pairs on one line, by key (PostgreSQL's jsonb keeps no key order);
    nested values as compact JSON."""
    return " ".join(
        f"{key}={value if isinstance(value, str) else json.dumps(value, separators=(',', ':'), ensure_ascii=False)}"
        for key, value in sorted(details.items())
    )


def actor_name(event: AuditEvent) -> str:
    if event.actor_user is not None:
        return event.actor_user.full_name or event.actor_user.email
    if event.actor_api_client is not None:
        return event.actor_api_client.name
    return _("System")


@require_GET
@admin_required
def audit_log(request: HtmxHttpRequest) -> HttpResponse:
    hospital = request.user.hospital
    form = AuditFilterForm(request.GET, hospital=hospital)
    # The keyset: events older than this id. Set by the "Older" link; anything else starts at the newest.
    before = request.GET.get("before", "")
    before = int(before) if before.isdigit() else None
    page = selectors.audit_page(hospital=hospital, filters=form.filters(), before=before) if form.is_valid() else None
    context = {
        "form": form,
        "page": page,
        "rows": [(event, actor_name(event), details_text(event.details)) for event in page.events] if page else [],
        "before": before,
    }
    if request.htmx:
        return _vary(render(request, "accounts/manage/audit.html#audit-table", context))
    context["actions"] = selectors.audit_actions(hospital=hospital)
    # The head hash is one row; walking the whole chain grows with the log, so only on request.
    head = audit_chain_head(hospital=hospital)
    context["chain_head"] = head.last_hash if head else ""
    context["chain"] = audit_chain_verify(hospital=hospital) if request.GET.get("verify") == "1" else None
    return _vary(render(request, "accounts/manage/audit.html", context, status=200 if page else 400))


class _Echo:
    """A file-like object whose write hands the line back, for streaming csv.writer."""

    def write(self, value: str) -> str:
        return value


def _spreadsheet_safe(value: str) -> str:
    # A cell starting with = + - @ is a formula to a spreadsheet; names are typed by people.
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def _csv_lines(events: Iterable[AuditEvent]) -> Iterator[str]:
    writer = csv.writer(_Echo())
    # A byte-order mark, so that spreadsheet programs read the UTF-8 (Chinese names) right.
    # Column names are fixed identifiers, not translated: scripts read them.
    yield "\ufeff" + writer.writerow(
        ["id", "time", "actor_type", "actor_id", "actor", "action", "case_id", "ip", "details"]
    )
    for event in events:
        yield writer.writerow(
            [
                event.pk,
                timezone.localtime(event.at).isoformat(),
                event.actor_type,
                event.actor_user_id or event.actor_api_client_id or "",
                _spreadsheet_safe(actor_name(event)),
                event.action,
                event.case_id or "",
                event.ip or "",
                _spreadsheet_safe(json.dumps(event.details, ensure_ascii=False, sort_keys=True)),
            ]
        )


@require_GET
@admin_required
def audit_csv(request: HtmxHttpRequest) -> HttpResponse:
    hospital = request.user.hospital
    form = AuditFilterForm(request.GET, hospital=hospital)
    if not form.is_valid():
        return HttpResponseBadRequest(_("The filters are not valid; correct them on the audit log page."))
    # Rows go out as they are read, 2 000 at a time: memory stays flat however long the log is.
    events = selectors.audit_events(hospital=hospital, filters=form.filters()).iterator(chunk_size=CSV_CHUNK_SIZE)
    response = StreamingHttpResponse(_csv_lines(events), content_type="text/csv; charset=utf-8")
    filename = f"audit-{hospital.slug}-{timezone.localdate():%Y-%m-%d}.csv"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
