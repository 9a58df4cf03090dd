"""Webhook endpoints and deliveries as the hospital's admins manage them (DESIGN §8).

Registering, disabling and redelivering are services (one transaction each, audited with
ids only, never the secret); the reads the admin pages show are selectors, always scoped
to the admin's hospital. Sending lives in `reviews.webhooks`.
"""

import secrets
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Hospital, User
from accounts.services import require_hospital_admin

from .audit import audit_record
from .exceptions import InvalidInput, ReviewError
from .models import WebhookDelivery, WebhookEndpoint
from .queueing import enqueue_on_commit
from .webhook_tasks import webhook_deliver
from .webhooks import ENDPOINT_DISABLED, EVENT_TYPES

LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})
DELIVERY_PAGE_SIZE = 50


def webhook_url_check(url: str) -> str:
    """The URL deliveries go to: https, or plain http to this machine (a local receiver) or
    on a DEBUG demo. No credentials in it: the signature is how receivers know it is us."""
    url = url.strip()
    longest = WebhookEndpoint._meta.get_field("url").max_length
    if len(url) > longest:
        raise InvalidInput(_("Keep the URL under %(count)d characters.") % {"count": longest}, field="url")
    try:
        URLValidator(schemes=["http", "https"])(url)
    except ValidationError:
        raise InvalidInput(_("Enter a full URL starting with https://."), field="url") from None
    parts = urlsplit(url)
    if parts.username or parts.password:
        raise InvalidInput(
            _("Leave the user name and password out of the URL: receivers check our signature instead."), field="url"
        )
    if parts.scheme != "https" and not (settings.DEBUG or parts.hostname in LOOPBACK_HOSTS):
        raise InvalidInput(
            _("Use an https:// URL: deliveries carry patient answers and must be encrypted in transit."), field="url"
        )
    return url


def webhook_endpoint_create(
    *, hospital: Hospital, created_by: User, url: str, events: list[str], description: str = ""
) -> tuple[WebhookEndpoint, str]:
    """Register an endpoint; returns it with its signing secret, which the admin sees once."""
    require_hospital_admin(created_by, hospital)
    url = webhook_url_check(url)
    unknown = sorted(set(events) - set(EVENT_TYPES))
    if unknown or not events:
        raise InvalidInput(
            _("Choose events from: %(known)s.") % {"known": ", ".join(EVENT_TYPES)},
            field="events",
        )
    description = description.strip()
    if len(description) > WebhookEndpoint._meta.get_field("description").max_length:
        raise InvalidInput(_("Shorten the description to 200 characters."), field="description")
    secret = "whsec_" + secrets.token_urlsafe(32)
    with transaction.atomic():
        endpoint = WebhookEndpoint.objects.create(
            hospital=hospital,
            url=url,
            description=description,
            events=[event for event in EVENT_TYPES if event in events],
            secret=secret,
            created_by=created_by,
        )
        audit_record(
            hospital=hospital,
            user=created_by,
            action="webhook_endpoint.created",
            details={"endpoint_id": endpoint.pk, "events": endpoint.events},
        )
    return endpoint, secret


def webhook_endpoint_disable(*, endpoint: WebhookEndpoint, disabled_by: User) -> int:
    """Stop sending to an endpoint; its pending deliveries fail now. Returns how many did."""
    require_hospital_admin(disabled_by, endpoint.hospital)
    with transaction.atomic():
        endpoint = WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)
        if not endpoint.active:
            return 0
        endpoint.active = False
        endpoint.disabled_at = timezone.now()
        endpoint.save(update_fields=["active", "disabled_at"])
        # A send already under way finishes; nothing new starts (webhook_delivery_attempt checks).
        failed = WebhookDelivery.objects.filter(endpoint=endpoint, status=WebhookDelivery.Status.PENDING).update(
            status=WebhookDelivery.Status.FAILED, next_attempt_at=None, last_error=ENDPOINT_DISABLED
        )
        audit_record(
            hospital=endpoint.hospital,
            user=disabled_by,
            action="webhook_endpoint.disabled",
            details={"endpoint_id": endpoint.pk, "pending_failed": failed},
        )
    return failed


def webhook_delivery_redeliver(*, delivery: WebhookDelivery, requested_by: User) -> WebhookDelivery:
    """Send a delivery again now, whatever its status. Past the 24 h retry window it gets
    this one attempt; within it, the usual retries follow a failure. Pressed while a send
    is under way, it may send the event twice: receivers dedupe by the event's id."""
    require_hospital_admin(requested_by, delivery.endpoint.hospital)
    with transaction.atomic():
        delivery = WebhookDelivery.objects.select_for_update().select_related("endpoint", "event").get(pk=delivery.pk)
        if not delivery.endpoint.active:
            raise ReviewError(_("This endpoint is disabled: register it again to receive events."))
        delivery.status = WebhookDelivery.Status.PENDING
        delivery.next_attempt_at = timezone.now()
        delivery.save(update_fields=["status", "next_attempt_at"])
        audit_record(
            hospital=delivery.endpoint.hospital,
            user=requested_by,
            action="webhook_delivery.redelivered",
            details={
                "delivery_id": delivery.pk,
                "endpoint_id": delivery.endpoint_id,
                "event_id": str(delivery.event.event_id),
            },
        )
        enqueue_on_commit(webhook_deliver, delivery.pk)
    return delivery


def webhook_endpoints(*, hospital: Hospital) -> QuerySet[WebhookEndpoint]:
    """Active endpoints first, newest first within each group."""
    return WebhookEndpoint.objects.filter(hospital=hospital).order_by("-active", "-created_at", "-pk")


@dataclass(frozen=True)
class DeliveryPage:
    deliveries: list[WebhookDelivery]
    # The id to pass as `before` for the next (older) page; None on the last page.
    older_than: int | None


def webhook_deliveries_page(
    *,
    hospital: Hospital,
    endpoint_id: int | None = None,
    status: str = "",
    before: int | None = None,
    size: int = DELIVERY_PAGE_SIZE,
) -> DeliveryPage:
    """Newest first, by keyset on id: reads `size + 1` rows and never counts."""
    deliveries = WebhookDelivery.objects.filter(endpoint__hospital=hospital).select_related("event", "endpoint")
    if endpoint_id is not None:
        deliveries = deliveries.filter(endpoint_id=endpoint_id)  # webhook_delivery_endpoint_idx
    if status:
        deliveries = deliveries.filter(status=status)
    if before is not None:
        deliveries = deliveries.filter(pk__lt=before)
    rows = list(deliveries.order_by("-pk")[: size + 1])
    more = len(rows) > size
    rows = rows[:size]
    return DeliveryPage(deliveries=rows, older_than=rows[-1].pk if more else None)


def webhook_delivery_for(*, hospital: Hospital, delivery_id: int) -> QuerySet[WebhookDelivery]:
    """One delivery of this hospital (empty for another hospital's)."""
    return WebhookDelivery.objects.filter(pk=delivery_id, endpoint__hospital=hospital).select_related(
        "event", "endpoint"
    )
