"""Webhooks with a real Celery worker (PostgreSQL + Redis; skipped without them, required
in CI): decisions reach a real receiver, and a worker killed in the middle of a send
loses no event.

The worker is a separate process (tests/celery_worker.py); the receiver listens in this
one. A killed send's lease (6 minutes) is moved forward in the database rather than
waited out, as the beat's sweep would find it once the lease ends.
"""

from datetime import timedelta

import pytest
from django.db.models import F
from django.utils import timezone

from reviews.models import WebhookDelivery, WebhookEndpoint, WebhookEvent
from reviews.services import case_approve, case_claim
from reviews.webhook_endpoints import webhook_endpoint_create
from reviews.webhook_tasks import webhooks_sweep
from reviews.webhooks import SEND_LEASE
from tests.celery_worker import wait_until

from .factories import AdminFactory, CaseFactory, DoctorFactory
from .webhook_receiver import Receiver, documented_verifier

DECISIONS = 4


def register(hospital, url: str) -> str:
    _endpoint, secret = webhook_endpoint_create(
        hospital=hospital,
        created_by=AdminFactory(hospital=hospital),
        url=url,
        events=list(WebhookEndpoint.EVENT_TYPES),
    )
    return secret


def approve_cases(doctor, count: int) -> None:
    for _ in range(count):
        case = case_claim(case=CaseFactory(doctor=doctor), doctor=doctor)
        case_approve(case=case, doctor=doctor, version=case.version)  # commits: the send is enqueued


def delivered() -> int:
    return WebhookDelivery.objects.filter(status=WebhookDelivery.Status.DELIVERED).count()


def expected_event_ids() -> list[str]:
    return sorted(str(event_id) for event_id in WebhookEvent.objects.values_list("event_id", flat=True))


def assert_every_event_arrived(receiver: Receiver, secret: str) -> None:
    accepted = receiver.accepted()
    assert sorted({r.event["id"] for r in accepted}) == expected_event_ids()
    assert len(expected_event_ids()) == DECISIONS
    verify_signature = documented_verifier()
    assert all(verify_signature(secret, r.headers["X-Portal-Signature"], r.body) for r in accepted)
    assert delivered() == DECISIONS


def lease_ended_and_sweep_ran() -> None:
    """What the beat's sweep does once a dead sender's lease is over: here the clock of the
    pending deliveries is moved back by a lease instead of waiting one out. That also ages
    deliveries never tried, whose messages the dead worker had taken (the sweep leaves fresh
    ones to their own enqueue for a minute)."""
    WebhookDelivery.objects.filter(status=WebhookDelivery.Status.PENDING).update(
        next_attempt_at=timezone.now() - timedelta(seconds=1), created_at=F("created_at") - SEND_LEASE
    )
    webhooks_sweep.delay()


def test_the_worker_delivers_every_decision(celery_worker):
    doctor = DoctorFactory()
    with Receiver() as receiver:
        secret = register(doctor.hospital, receiver.url)

        approve_cases(doctor, DECISIONS)

        wait_until(lambda: delivered() == DECISIONS, message=f"{DECISIONS} deliveries by the worker")
    assert_every_event_arrived(receiver, secret)
    assert len(receiver.requests) == DECISIONS  # nothing sent twice
    assert {d.attempts for d in WebhookDelivery.objects.all()} == {1}


@pytest.mark.celery_worker_env(CONCURRENCY=1)
def test_a_pool_process_killed_mid_send_loses_no_event(celery_worker):
    doctor = DoctorFactory()
    # The first send hangs at the receiver long enough to kill its sender mid-request.
    with Receiver(["sleep:10"]) as receiver:
        secret = register(doctor.hospital, receiver.url)
        approve_cases(doctor, DECISIONS)
        wait_until(lambda: receiver.requests, message="the first send to reach the receiver")

        celery_worker.kill_pool_child()

        # The other sends go on in a fresh pool process; the killed one's message is handed
        # out again (late ack) and finds its delivery still claimed: it does not send twice.
        wait_until(lambda: delivered() == DECISIONS - 1, message="the sends behind the killed one")
        hung = WebhookDelivery.objects.get(status=WebhookDelivery.Status.PENDING)
        assert hung.attempts == 1 and hung.next_attempt_at > timezone.now()

        lease_ended_and_sweep_ran()

        wait_until(lambda: delivered() == DECISIONS, message="the killed send, sent again after the sweep")
    assert_every_event_arrived(receiver, secret)
    assert WebhookDelivery.objects.get(pk=hung.pk).attempts == 2


def test_a_worker_killed_outright_mid_send_loses_no_event(celery_worker):
    doctor = DoctorFactory()
    with Receiver(["sleep:10"]) as receiver:
        secret = register(doctor.hospital, receiver.url)
        approve_cases(doctor, DECISIONS)
        wait_until(lambda: receiver.requests, message="the first send to reach the receiver")

        celery_worker.stop(kill=True)  # the whole worker, as a lost machine
        celery_worker.start()
        lease_ended_and_sweep_ran()

        wait_until(lambda: delivered() == DECISIONS, message="every delivery after the restart and the sweep")
    assert_every_event_arrived(receiver, secret)
