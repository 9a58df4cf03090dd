"""Outbound webhooks (DESIGN §8): the outbox side.

An event is written in the transaction of the change it reports, with one delivery row
per subscribed endpoint, so a crash after commit loses nothing: the delivery task or the
sweep sends what is pending.
"""

import uuid

from django.utils import timezone

from accounts.models import User

from .models import Case, Decision, Message, WebhookDelivery, WebhookEndpoint, WebhookEvent
from .queueing import enqueue_on_commit


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
    *, hospital_id: int, event_type: str, payload: dict, case: Case | None = None
) -> WebhookEvent | None:
    """Write one event and its deliveries into the outbox; None when nobody subscribed.

    Must run inside the transaction of the change. Delivery is enqueued after commit.
    """
    endpoints = [
        endpoint
        for endpoint in WebhookEndpoint.objects.filter(hospital_id=hospital_id, active=True)
        if event_type in endpoint.events
    ]
    if not endpoints:
        return None
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
    payload = {
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
    payload = {
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
