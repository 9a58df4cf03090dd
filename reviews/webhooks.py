"""Outbound webhooks (DESIGN §8): the outbox and its delivery.

An event is written in the transaction of the change it reports, with one delivery row
per subscribed endpoint, so a crash after commit loses nothing: the delivery task or the
sweep sends what is pending. A delivery is sent by whoever claims it (a conditional
UPDATE that pushes `next_attempt_at` a lease ahead), so two workers never send the same
row at once; a worker that dies mid-send leaves the row to come due again when the lease
ends. Receivers may still see an event twice (a send whose answer was lost), so every
body carries the event's id to dedupe by. Endpoints, as admins manage them, are in
`reviews.webhook_endpoints`.
"""

import hashlib
import hmac
import http.client
import json
import socket
import ssl
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db.models import F, Q
from django.utils import timezone

from accounts.models import User

from .models import Case, Decision, Message, ScheduledTaskRun, WebhookDelivery, WebhookEndpoint, WebhookEvent
from .queueing import enqueue_on_commit

EVENT_TYPES = WebhookEndpoint.EVENT_TYPES
DELIVERY_TIMEOUT_SECONDS = 10
# A send run in-process (the demo without a broker) holds up the doctor's request.
IN_REQUEST_TIMEOUT_SECONDS = 3
FIRST_RETRY_DELAY = timedelta(seconds=30)
LONGEST_RETRY_DELAY = timedelta(hours=1)
RETRY_WINDOW = timedelta(hours=24)
# Longer than a task may live (Celery's hard time limit kills it first), so a lease never
# ends while its sender is still at work: nobody else can start the same send meanwhile.
SEND_LEASE = timedelta(seconds=settings.CELERY_TASK_TIME_LIMIT + 60)
# Fresh deliveries are enqueued by their own commit; the sweep leaves them that long.
SWEEP_FRESH_GRACE = timedelta(seconds=60)
SWEEP_BATCH = 1000
SIGNATURE_HEADER = "X-Portal-Signature"
USER_AGENT = "ClinicianReviewPortal-Webhooks/1.0"
ENDPOINT_DISABLED = "endpoint disabled"


# --- The outbox -------------------------------------------------------------------------


def _doctor_payload(doctor: User) -> dict:
    profile = getattr(doctor, "doctor_profile", None)
    return {
        "id": doctor.pk,
        "name": doctor.full_name,
        "licence_number": profile.licence_number if profile else None,
    }


def _case_payload(case: Case) -> dict:
    return {
        "id": case.pk,
        "external_id": case.external_id,
        "status": case.status,
        "urgency": case.urgency_code,
        "patient": case.patient.pseudonym,
        "doctor": _doctor_payload(case.doctor),
    }


def webhook_event_record(
    *, hospital_id: int, event_type: str, payload: dict | Callable[[], dict], case: Case | None = None
) -> WebhookEvent | None:
    """Write one event and its deliveries into the outbox; None when nobody subscribed.

    Must run inside the transaction of the change. Delivery is enqueued after commit.
    `payload` may be a function: building it reads rows (patient, doctors) that a hospital
    without subscribers need not pay for on every decision.
    """
    endpoints = [
        endpoint
        for endpoint in WebhookEndpoint.objects.filter(hospital_id=hospital_id, active=True)
        if event_type in endpoint.events
    ]
    if not endpoints:
        return None
    if callable(payload):
        payload = payload()
    now = timezone.now()
    event = WebhookEvent.objects.create(
        event_id=uuid.uuid4(), hospital_id=hospital_id, type=event_type, case=case, payload=payload, created_at=now
    )
    deliveries = WebhookDelivery.objects.bulk_create(
        WebhookDelivery(event=event, endpoint=endpoint, next_attempt_at=now, created_at=now) for endpoint in endpoints
    )
    from .webhook_tasks import webhook_deliver  # imports this module

    for delivery in deliveries:
        enqueue_on_commit(webhook_deliver, delivery.pk)
    return event


def case_decision_event_record(*, case: Case, decision: Decision) -> WebhookEvent | None:
    """`case.approved`, `case.corrected`, `case.taken_over` or `case.closed`."""
    event_type = {
        Decision.Action.APPROVE: "case.approved",
        Decision.Action.CORRECT: "case.corrected",
        Decision.Action.TAKE_OVER: "case.taken_over",
        Decision.Action.CLOSE: "case.closed",
    }[decision.action]

    def payload() -> dict:
        return {
            "case": _case_payload(case),
            "decision": {
                "id": decision.pk,
                "action": decision.action,
                # What the patient is to receive: the platform sends it on this doctor's authority.
                "final_text": decision.final_text if decision.action in ("approve", "correct") else None,
                "correction_category": decision.correction_category or None,
                "doctor": _doctor_payload(decision.doctor),
                "created_at": decision.created_at.isoformat(),
            },
        }

    return webhook_event_record(hospital_id=case.hospital_id, event_type=event_type, payload=payload, case=case)


def case_doctor_message_event_record(*, case: Case, message: Message) -> WebhookEvent | None:
    """`case.doctor_message`: a doctor's own reply on a case they took over."""

    def payload() -> dict:
        return {
            "case": _case_payload(case),
            "message": {
                "id": message.pk,
                "body": message.body,
                "sent_at": message.sent_at.isoformat(),
                "doctor": _doctor_payload(message.doctor),
            },
        }

    return webhook_event_record(
        hospital_id=case.hospital_id, event_type="case.doctor_message", payload=payload, case=case
    )


# --- What goes over the wire --------------------------------------------------------------


def webhook_body(event: WebhookEvent) -> bytes:
    """The JSON document a receiver gets: compact UTF-8, keys sorted, so the bytes signed are
    the bytes sent whatever order the database keeps the payload's keys in."""
    document = {
        "id": str(event.event_id),
        "type": event.type,
        "created_at": event.created_at.astimezone(UTC).isoformat(),
        "data": event.payload,
    }
    return json.dumps(document, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode()


def webhook_signature(*, secret: str, timestamp: int, body: bytes) -> str:
    """`t=<unix>,v1=<hex HMAC-SHA256 of "t.body">`: the timestamp is signed too, so a
    captured request cannot be replayed later with a fresh one."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def webhook_retry_delay(attempts: int) -> timedelta:
    """The wait after the n-th failed attempt: 30 s, 1 min, 2 min, … doubling, at most 1 h."""
    return min(FIRST_RETRY_DELAY * 2 ** min(max(attempts - 1, 0), 16), LONGEST_RETRY_DELAY)


@dataclass(frozen=True)
class SendOutcome:
    delivered: bool
    response_code: int | None = None
    # Short and ours: what went wrong, never the receiver's answer (it may echo the payload).
    error: str = ""


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs) -> None:
        # A 3xx is the receiver's answer, not a delivery: the signed body is not re-sent elsewhere.
        return None


_opener = urllib.request.build_opener(_NoRedirects)


def _failure_reason(error: BaseException) -> str:
    if isinstance(error, urllib.error.URLError) and isinstance(error.reason, BaseException):
        error = error.reason
    if isinstance(error, TimeoutError):
        return "timed out"
    if isinstance(error, http.client.RemoteDisconnected):
        return "connection closed without a response"
    if isinstance(error, ConnectionRefusedError):
        return "connection refused"
    if isinstance(error, socket.gaierror):
        return "host name not found"
    if isinstance(error, ssl.SSLError):
        return f"TLS error: {error.reason or error}"[:300]
    if isinstance(error, ConnectionResetError):
        return "connection reset"
    return f"{type(error).__name__}: {error}"[:300]


def webhook_post(*, url: str, body: bytes, headers: dict[str, str], timeout: float) -> SendOutcome:
    """POST once; any 2xx is delivered. Network failures are outcomes, not exceptions."""
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with _opener.open(request, timeout=timeout) as response:
            return SendOutcome(delivered=True, response_code=response.status)
    except urllib.error.HTTPError as error:
        error.close()
        return SendOutcome(delivered=False, response_code=error.code, error=f"HTTP {error.code}")
    except (urllib.error.URLError, http.client.HTTPException, OSError, ValueError) as error:
        return SendOutcome(delivered=False, error=_failure_reason(error))


def webhook_delivery_attempt(*, delivery_id: int, timeout: float = DELIVERY_TIMEOUT_SECONDS) -> WebhookDelivery | None:
    """Send one pending delivery if it is due and nobody else holds it; record the outcome.

    Claim, commit, send, record: the claim is one conditional UPDATE in its own statement, so
    no transaction stays open across the HTTP call. A delivered or failed delivery, or one
    being sent elsewhere, is left alone: running this twice sends at most once. Returns the
    delivery as recorded, or None when there was nothing to send.
    """
    delivery = WebhookDelivery.objects.select_related("event", "endpoint").filter(pk=delivery_id).first()
    if delivery is None or delivery.status != WebhookDelivery.Status.PENDING:
        return None
    now = timezone.now()
    pending_due = WebhookDelivery.objects.filter(
        pk=delivery.pk, status=WebhookDelivery.Status.PENDING, next_attempt_at__lte=now
    )
    if not delivery.endpoint.active:
        pending_due.update(status=WebhookDelivery.Status.FAILED, next_attempt_at=None, last_error=ENDPOINT_DISABLED)
        return None
    lease_until = now + SEND_LEASE
    if not pending_due.update(next_attempt_at=lease_until, attempts=F("attempts") + 1, last_attempt_at=now):
        return None

    body = webhook_body(delivery.event)
    timestamp = int(time.time())
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        SIGNATURE_HEADER: webhook_signature(secret=delivery.endpoint.secret, timestamp=timestamp, body=body),
        "X-Portal-Event": delivery.event.type,
        "X-Portal-Event-Id": str(delivery.event.event_id),
        "X-Portal-Delivery": str(delivery.pk),
    }
    outcome = webhook_post(url=delivery.endpoint.url, body=body, headers=headers, timeout=timeout)
    _outcome_record(delivery=delivery, outcome=outcome, lease_until=lease_until)
    return WebhookDelivery.objects.select_related("event", "endpoint").get(pk=delivery.pk)


def _outcome_record(*, delivery: WebhookDelivery, outcome: SendOutcome, lease_until: datetime) -> None:
    now = timezone.now()
    row = WebhookDelivery.objects.filter(pk=delivery.pk)
    if outcome.delivered:
        row.update(
            status=WebhookDelivery.Status.DELIVERED,
            delivered_at=now,
            next_attempt_at=None,
            last_response_code=outcome.response_code,
            last_error="",
        )
        return
    deadline = delivery.event.created_at + RETRY_WINDOW
    gave_up = now >= deadline
    # Only while our lease stands: an admin's "Redeliver" meanwhile keeps its "due now".
    row.filter(status=WebhookDelivery.Status.PENDING, next_attempt_at=lease_until).update(
        status=WebhookDelivery.Status.FAILED if gave_up else WebhookDelivery.Status.PENDING,
        next_attempt_at=None if gave_up else min(now + webhook_retry_delay(delivery.attempts + 1), deadline),
        last_response_code=outcome.response_code,
        last_error=outcome.error[:300],
    )


def webhooks_sweep_run() -> dict[str, int]:
    """Enqueue every pending delivery that is due: retries whose wait is over, sends whose
    worker died (their lease ended), and fresh ones whose enqueue after commit was lost."""
    started = timezone.now()
    # webhook_delivery_due_idx: pending rows by next_attempt_at.
    due = list(
        WebhookDelivery.objects.filter(status=WebhookDelivery.Status.PENDING, next_attempt_at__lte=started)
        .filter(Q(attempts__gt=0) | Q(created_at__lte=started - SWEEP_FRESH_GRACE))
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:SWEEP_BATCH]
    )
    from .webhook_tasks import webhook_deliver  # imports this module

    for delivery_id in due:
        enqueue_on_commit(webhook_deliver, delivery_id)
    counts = {"enqueued": len(due), "batch_full": int(len(due) == SWEEP_BATCH)}
    ScheduledTaskRun.objects.update_or_create(
        name="webhooks_sweep",
        defaults={"last_started_at": started, "last_finished_at": timezone.now(), "details": counts},
    )
    return counts
