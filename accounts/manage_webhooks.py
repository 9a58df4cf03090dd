"""Hospital admins' webhook pages: register and disable endpoints, read the delivery log,
redeliver. Scoped to the admin's hospital (another hospital's ids are 404s); each change
is one audited service of `reviews.webhook_endpoints`. Forms post as htmx requests that
swap the changed region, and as plain forms without JavaScript."""

from django import forms
from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.cache import add_never_cache_headers
from django.utils.text import format_lazy
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.models import Hospital
from reviews.exceptions import ReviewError
from reviews.models import WebhookDelivery, WebhookEndpoint
from reviews.webhook_endpoints import (
    webhook_deliveries_page,
    webhook_delivery_for,
    webhook_delivery_redeliver,
    webhook_endpoint_create,
    webhook_endpoint_disable,
    webhook_endpoints,
)

from .manage_forms import add_refusal
from .manage_views import HtmxHttpRequest, _posted, _vary, admin_required

EVENT_DESCRIPTIONS = {
    "case.approved": gettext_lazy("a doctor approved the avatar's draft as it is"),
    "case.corrected": gettext_lazy("a doctor corrected the draft: the corrected answer goes to the patient"),
    "case.taken_over": gettext_lazy("a doctor took the conversation over from the avatar"),
    "case.doctor_message": gettext_lazy("a doctor wrote to the patient on a case they took over"),
    "case.closed": gettext_lazy("a doctor closed the case"),
    "summary.ready": gettext_lazy("a pre-visit summary is compiled"),
}


class WebhookEndpointForm(forms.Form):
    url = forms.URLField(
        label=gettext_lazy("URL"),
        max_length=500,
        assume_scheme="https",
        # A text box, not type=url: the browser's own check would pre-empt our clearer messages.
        widget=forms.TextInput(attrs={"inputmode": "url", "spellcheck": "false", "autocomplete": "off"}),
        help_text=gettext_lazy("Where we POST the events: https://, or http:// to this machine for a test receiver."),
    )
    events = forms.MultipleChoiceField(
        label=gettext_lazy("Events"),
        choices=[(code, format_lazy("{} — {}", code, text)) for code, text in EVENT_DESCRIPTIONS.items()],
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": gettext_lazy("Choose at least one event.")},
    )
    description = forms.CharField(
        label=gettext_lazy("Description"),
        max_length=200,
        required=False,
        help_text=gettext_lazy("Which system receives them, e.g. “Avatar platform (production)”."),
    )


class DeliveryFilterForm(forms.Form):
    endpoint = forms.TypedChoiceField(label=gettext_lazy("Endpoint"), required=False, coerce=int, empty_value=None)
    status = forms.ChoiceField(
        label=gettext_lazy("Status"),
        required=False,
        choices=[("", gettext_lazy("Any status")), *WebhookDelivery.Status.choices],
    )

    def __init__(self, *args, hospital: Hospital, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["endpoint"].choices = [("", _("Any endpoint"))] + [
            (endpoint.pk, endpoint.description or endpoint.url) for endpoint in webhook_endpoints(hospital=hospital)
        ]


def _page(request: HtmxHttpRequest, context: dict, region: str = "webhooks-body", status: int = 200) -> HttpResponse:
    context.setdefault("endpoints", webhook_endpoints(hospital=request.user.hospital))
    template = f"accounts/manage/webhooks.html#{region}" if request.htmx else "accounts/manage/webhooks.html"
    return _vary(render(request, template, context, status=status))


@require_http_methods(["GET", "POST"])
@admin_required
def webhooks(request: HtmxHttpRequest) -> HttpResponse:
    form = WebhookEndpointForm(_posted(request))
    created, secret = None, ""
    if request.method == "POST" and form.is_valid():
        try:
            created, secret = webhook_endpoint_create(
                hospital=request.user.hospital, created_by=request.user, **form.cleaned_data
            )
        except ReviewError as error:
            add_refusal(form, error)
        else:
            form = WebhookEndpointForm()
    response = _page(request, {"form": form, "created": created, "secret": secret}, status=400 if form.errors else 200)
    if secret:
        # The only response that ever holds the secret: no cache may keep a copy.
        add_never_cache_headers(response)
    return response


@require_http_methods(["GET", "POST"])
@admin_required
def webhook_disable(request: HtmxHttpRequest, endpoint_id: int) -> HttpResponse:
    endpoint = get_object_or_404(webhook_endpoints(hospital=request.user.hospital), pk=endpoint_id)
    if request.method == "GET":
        return render(request, "accounts/manage/confirm.html", _disable_confirmation(endpoint))
    failed = webhook_endpoint_disable(endpoint=endpoint, disabled_by=request.user)
    outcome = ngettext(
        "%(url)s is disabled: nothing more is sent to it (%(count)d pending delivery given up).",
        "%(url)s is disabled: nothing more is sent to it (%(count)d pending deliveries given up).",
        failed,
    ) % {"url": endpoint.url, "count": failed}
    if request.htmx:
        return _page(request, {"outcome": outcome}, region="endpoints")
    messages.success(request, outcome)
    return redirect("manage:webhooks")


def _disable_confirmation(endpoint: WebhookEndpoint) -> dict[str, str]:
    return {
        "heading": _("Disable the endpoint %(url)s?") % {"url": endpoint.url},
        "explanation": _(
            "Nothing more is sent to it, and its pending deliveries are given up. It cannot be turned back "
            "on: register the URL again, with a new secret, to receive events again."
        ),
        "button": _("Disable"),
        "action_url": reverse("manage:webhook_disable", args=[endpoint.pk]),
        "cancel_url": reverse("manage:webhooks"),
    }


@require_GET
@admin_required
def webhook_deliveries(request: HtmxHttpRequest) -> HttpResponse:
    hospital = request.user.hospital
    form = DeliveryFilterForm(request.GET, hospital=hospital)
    # The keyset: deliveries older than this id, set by the "Older" link.
    before = request.GET.get("before", "")
    before = int(before) if before.isdigit() else None
    page = None
    if form.is_valid():
        filters = form.cleaned_data
        page = webhook_deliveries_page(
            hospital=hospital, endpoint_id=filters["endpoint"], status=filters["status"], before=before
        )
    context = {"form": form, "page": page, "before": before}
    template = "accounts/manage/webhook_deliveries.html"
    if request.htmx:
        template += "#deliveries-table"
    return _vary(render(request, template, context, status=200 if page else 400))


@require_POST
@admin_required
def webhook_redeliver(request: HtmxHttpRequest, delivery_id: int) -> HttpResponse:
    delivery = get_object_or_404(webhook_delivery_for(hospital=request.user.hospital, delivery_id=delivery_id))
    error = ""
    try:
        webhook_delivery_redeliver(delivery=delivery, requested_by=request.user)
    except ReviewError as refusal:
        error = refusal.message
    if request.htmx:
        # Re-read: where tasks run in-process the send has already happened.
        context = {"delivery": webhook_delivery_for(hospital=request.user.hospital, delivery_id=delivery_id).get()}
        context["error"] = error
        template = "accounts/manage/webhook_deliveries.html#delivery-row"
        return _vary(render(request, template, context, status=409 if error else 200))
    if error:
        messages.error(request, error)
    else:
        messages.success(request, _("Delivery %(id)s is queued to be sent again.") % {"id": delivery.pk})
    return redirect(_deliveries_return_url(request))


def _deliveries_return_url(request: HtmxHttpRequest) -> str:
    """Back to the log with the filters the admin had; only ever a page of the log itself."""
    base = reverse("manage:webhook_deliveries")
    back = request.POST.get("next", "")
    return back if back.startswith(base + "?") and "//" not in back else base
