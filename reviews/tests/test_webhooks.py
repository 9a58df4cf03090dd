"""Outbound webhooks (DESIGN §8), against a real HTTP receiver on 127.0.0.1.

Time is moved with time-machine instead of slept through: the receiver checks the
signature's timestamp against the same moved clock, as a real receiver would against its own.
"""

import json
import threading
import uuid
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.db import connection
from django.utils import timezone

from reviews import webhook_tasks, webhooks
from reviews.exceptions import InvalidInput, ReviewError
from reviews.models import AuditEvent, Case, Decision, ScheduledTaskRun, WebhookDelivery, WebhookEndpoint, WebhookEvent
from reviews.services import case_approve, case_claim, case_close, case_correct, case_reply, case_take_over
from reviews.webhook_endpoints import (
    webhook_delivery_redeliver,
    webhook_endpoint_create,
    webhook_endpoint_disable,
    webhook_url_check,
)
from reviews.webhook_tasks import webhook_deliver, webhooks_sweep
from reviews.webhooks import webhook_delivery_attempt, webhook_event_record

from .factories import AdminFactory, CaseFactory, DoctorFactory
from .webhook_receiver import Receiver, documented_verifier

START = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)


@pytest.fixture
def clock():
    with time_machine.travel(START, tick=False) as traveller:
        yield traveller


@pytest.fixture
def receiver():
    with Receiver() as receiver:
        yield receiver


def register(hospital, url: str, events: list[str] | None = None) -> tuple[WebhookEndpoint, str]:
    admin = AdminFactory(hospital=hospital)
    return webhook_endpoint_create(
        hospital=hospital, created_by=admin, url=url, events=events or list(WebhookEndpoint.EVENT_TYPES)
    )


def approve(doctor) -> Decision:
    case = case_claim(case=CaseFactory(doctor=doctor), doctor=doctor)
    return case_approve(case=case, doctor=doctor, version=case.version)


def sweep(capture) -> None:
    """One run of the beat's sweep, with what it enqueues run here and now (eager tasks)."""
    with capture(execute=True):
        webhooks_sweep()


# --- the outbox: written with the decision, or not at all -----------------------------------


def test_a_decision_writes_its_event_and_deliveries_in_its_own_transaction(
    doctor, hospital, django_capture_on_commit_callbacks
):
    first, _ = register(hospital, "https://platform.example/hooks")
    second, _ = register(hospital, "https://audit.example/hooks", ["case.approved"])
    case = case_claim(case=CaseFactory(doctor=doctor), doctor=doctor)

    with django_capture_on_commit_callbacks() as callbacks:
        decision = case_approve(case=case, doctor=doctor, version=case.version)

    event = WebhookEvent.objects.get()
    assert (event.type, event.hospital_id, event.case_id) == ("case.approved", hospital.pk, case.pk)
    assert event.payload["decision"]["id"] == decision.pk
    assert event.payload["decision"]["final_text"] == decision.final_text
    assert event.payload["case"]["patient"] == case.patient.pseudonym
    deliveries = WebhookDelivery.objects.filter(event=event)
    assert sorted(d.endpoint_id for d in deliveries) == sorted([first.pk, second.pk])
    assert {d.status for d in deliveries} == {WebhookDelivery.Status.PENDING}
    # Nothing is sent before the decision commits; one send per endpoint after it.
    assert len(callbacks) == 2


def test_a_decision_rolled_back_leaves_no_event(doctor, hospital, monkeypatch):
    register(hospital, "https://platform.example/hooks")
    case = case_claim(case=CaseFactory(doctor=doctor), doctor=doctor)
    record = webhooks.case_decision_event_record

    def record_then_fail(**kwargs):
        record(**kwargs)
        assert WebhookEvent.objects.count() == 1  # written, inside the decision's transaction
        raise RuntimeError("the database went away before commit")

    monkeypatch.setattr("reviews.services.case_decision_event_record", record_then_fail)

    with pytest.raises(RuntimeError):
        case_approve(case=case, doctor=doctor, version=case.version)

    assert WebhookEvent.objects.count() == 0
    assert WebhookDelivery.objects.count() == 0
    assert Decision.objects.count() == 0
    assert Case.objects.get(pk=case.pk).status == "awaiting_review"


def test_a_refused_decision_writes_no_event(doctor, hospital):
    register(hospital, "https://platform.example/hooks")
    case = case_claim(case=CaseFactory(doctor=doctor), doctor=doctor)

    with pytest.raises(ReviewError):
        case_approve(case=case, doctor=doctor, version=case.version - 1)

    assert WebhookEvent.objects.count() == 0


def test_no_event_without_an_active_subscribed_endpoint_of_the_hospital(doctor, hospital, outside_doctor):
    register(hospital, "https://summaries.example/hooks", ["summary.ready"])
    disabled, _ = register(hospital, "https://old.example/hooks", ["case.approved"])
    webhook_endpoint_disable(endpoint=disabled, disabled_by=AdminFactory(hospital=hospital))
    register(outside_doctor.hospital, "https://other-hospital.example/hooks", ["case.approved"])

    approve(doctor)

    assert WebhookEvent.objects.count() == 0


def test_every_decision_and_reply_has_its_event_type(doctor, hospital):
    register(hospital, "https://platform.example/hooks")
    approve(doctor)
    corrected = case_claim(case=CaseFactory(doctor=doctor), doctor=doctor)
    case_correct(
        case=corrected, doctor=doctor, version=corrected.version, final_text="Go to A&E now.", category="unsafe_advice"
    )
    conversation = case_claim(case=CaseFactory(doctor=doctor), doctor=doctor)
    case_take_over(case=conversation, doctor=doctor, version=conversation.version)
    case_reply(case=conversation, doctor=doctor, body="Please come in this afternoon.")
    conversation.refresh_from_db()
    case_close(case=conversation, doctor=doctor, version=conversation.version)

    events = list(WebhookEvent.objects.order_by("pk"))
    assert [e.type for e in events] == [
        "case.approved",
        "case.corrected",
        "case.taken_over",
        "case.doctor_message",
        "case.closed",
    ]
    assert events[1].payload["decision"]["final_text"] == "Go to A&E now."
    assert events[1].payload["decision"]["correction_category"] == "unsafe_advice"
    assert events[2].payload["decision"]["final_text"] is None
    assert events[3].payload["message"]["body"] == "Please come in this afternoon."


# --- delivery --------------------------------------------------------------------------------


def test_a_delivery_is_signed_and_the_documented_snippet_verifies_it(
    doctor, hospital, receiver, django_capture_on_commit_callbacks
):
    _endpoint, secret = register(hospital, receiver.url)
    verify_signature = documented_verifier()

    with django_capture_on_commit_callbacks(execute=True):
        decision = approve(doctor)

    [request] = receiver.requests
    event = WebhookEvent.objects.get()
    assert request.path == "/hooks/portal"
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["X-Portal-Event"] == "case.approved"
    assert request.headers["X-Portal-Event-Id"] == str(event.event_id)
    assert request.headers["User-Agent"].startswith("ClinicianReviewPortal-Webhooks/")
    assert verify_signature(secret, request.headers["X-Portal-Signature"], request.body)
    body = json.loads(request.body.decode("utf-8"))
    assert set(body) == {"id", "type", "created_at", "data"}
    assert body["id"] == str(event.event_id)
    assert body["type"] == "case.approved"
    assert datetime.fromisoformat(body["created_at"]) == event.created_at
    assert body["data"]["decision"]["final_text"] == decision.final_text
    assert body["data"]["case"]["external_id"] == decision.case.external_id
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.last_response_code, delivery.attempts) == ("delivered", 200, 1)
    assert delivery.delivered_at is not None and delivery.next_attempt_at is None


def test_the_documented_snippet_refuses_forgeries_and_replays(
    doctor, hospital, receiver, clock, django_capture_on_commit_callbacks
):
    _endpoint, secret = register(hospital, receiver.url)
    verify_signature = documented_verifier()
    with django_capture_on_commit_callbacks(execute=True):
        approve(doctor)
    [request] = receiver.requests
    header = request.headers["X-Portal-Signature"]

    assert verify_signature(secret, header, request.body)
    assert not verify_signature(secret, header, request.body.replace(b"approved", b"corrected"))
    assert not verify_signature("whsec_someone-else", header, request.body)
    assert not verify_signature(secret, "v1=" + "0" * 64, request.body)
    clock.shift(timedelta(minutes=6))  # the same request, replayed later
    assert not verify_signature(secret, header, request.body)


def test_a_receiver_failing_then_recovering_gets_every_event_once_after_dedupe(
    doctor, hospital, clock, monkeypatch, django_capture_on_commit_callbacks
):
    # Hang past the send timeout once: shortened here so the test does not wait 3 s.
    monkeypatch.setattr(webhook_tasks, "IN_REQUEST_TIMEOUT_SECONDS", 0.3)
    script = ["500", "close", "sleep:1", "503", "close", "500", "sleep:1", "500"]
    with Receiver(script) as receiver:
        _endpoint, secret = register(hospital, receiver.url)
        with django_capture_on_commit_callbacks(execute=True):
            decisions = [approve(doctor) for _ in range(3)]
        errors = {d.last_error for d in WebhookDelivery.objects.all()}

        for _minute in range(30):
            if not WebhookDelivery.objects.filter(status="pending").exists():
                break
            clock.shift(timedelta(minutes=1))
            sweep(django_capture_on_commit_callbacks)
            errors |= {d.last_error for d in WebhookDelivery.objects.all()}

    expected = {str(e.event_id) for e in WebhookEvent.objects.all()}
    assert len(expected) == len(decisions) == 3
    assert len(receiver.requests) > 3  # the failures were real attempts
    assert {"HTTP 500", "connection closed without a response", "timed out"} <= errors
    # Every event arrived; none was accepted twice, so dedupe by id gives exactly the set.
    assert sorted(receiver.accepted_event_ids()) == sorted(expected)
    verify_signature = documented_verifier()
    assert all(verify_signature(secret, r.headers["X-Portal-Signature"], r.body) for r in receiver.accepted())
    assert set(WebhookDelivery.objects.values_list("status", flat=True)) == {"delivered"}
    assert not any("patient text" in error for error in errors)


def test_retries_back_off_exponentially_and_give_up_after_24_hours(
    doctor, hospital, clock, django_capture_on_commit_callbacks
):
    with Receiver(["500"] * 100) as receiver:
        register(hospital, receiver.url)
        with django_capture_on_commit_callbacks(execute=True):
            approve(doctor)
        delays = []
        delivery = WebhookDelivery.objects.get()
        while delivery.status == "pending":
            delays.append(round((delivery.next_attempt_at - timezone.now()).total_seconds()))
            sweep(django_capture_on_commit_callbacks)  # not due yet: nothing is sent
            assert WebhookDelivery.objects.get().attempts == delivery.attempts
            clock.move_to(delivery.next_attempt_at)
            sweep(django_capture_on_commit_callbacks)
            delivery = WebhookDelivery.objects.get()

    assert delays[:9] == [30, 60, 120, 240, 480, 960, 1920, 3600, 3600]
    assert max(delays) == 3600
    assert sum(delays) == 24 * 3600  # the last wait ends at the 24 h mark, not after it
    assert delivery.status == "failed" and delivery.next_attempt_at is None
    assert delivery.attempts == len(receiver.requests) == len(delays) + 1
    assert delivery.last_attempt_at == delivery.event.created_at + timedelta(hours=24)
    assert (delivery.last_response_code, delivery.last_error) == (500, "HTTP 500")


def test_a_redirect_is_a_failed_attempt_not_followed(doctor, hospital, django_capture_on_commit_callbacks):
    with Receiver(["302"]) as receiver:
        register(hospital, receiver.url)
        with django_capture_on_commit_callbacks(execute=True):
            approve(doctor)

    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.last_response_code, delivery.last_error) == ("pending", 302, "HTTP 302")
    assert len(receiver.requests) == 1


def test_an_unreachable_receiver_never_fails_the_doctors_decision(doctor, hospital, django_capture_on_commit_callbacks):
    with Receiver() as receiver:
        url = receiver.url
    register(hospital, url)  # nobody listens there any more

    with django_capture_on_commit_callbacks(execute=True):
        decision = approve(doctor)

    assert Case.objects.get(pk=decision.case_id).status == "approved"
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.attempts, delivery.last_error) == ("pending", 1, "connection refused")


def test_a_delivered_delivery_is_not_sent_again(doctor, hospital, receiver, django_capture_on_commit_callbacks):
    register(hospital, receiver.url)
    with django_capture_on_commit_callbacks(execute=True):
        approve(doctor)
    delivery = WebhookDelivery.objects.get()

    # The broker hands the same message out again, and the sweep runs.
    webhook_deliver(delivery.pk)
    sweep(django_capture_on_commit_callbacks)

    assert len(receiver.requests) == 1
    assert WebhookDelivery.objects.get().attempts == 1


def test_a_sender_that_dies_mid_send_is_replaced_only_when_its_lease_ends(
    doctor, hospital, receiver, clock, monkeypatch, django_capture_on_commit_callbacks
):
    register(hospital, receiver.url)

    def die(**kwargs):
        raise SystemExit("worker killed while sending")

    monkeypatch.setattr(webhooks, "webhook_post", die)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        approve(doctor)
    with pytest.raises(SystemExit):
        callbacks[0]()
    monkeypatch.undo()
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.attempts) == ("pending", 1)

    # The broker redelivers the message at once, and the sweep runs: the claim still stands.
    webhook_deliver(delivery.pk)
    clock.shift(timedelta(minutes=5))
    sweep(django_capture_on_commit_callbacks)
    assert receiver.requests == []

    clock.shift(webhooks.SEND_LEASE)
    sweep(django_capture_on_commit_callbacks)

    assert len(receiver.requests) == 1
    assert WebhookDelivery.objects.get().status == "delivered"


def test_the_sweep_sends_deliveries_whose_enqueue_was_lost_and_records_its_run(
    doctor, hospital, receiver, clock, django_capture_on_commit_callbacks
):
    register(hospital, receiver.url)
    with django_capture_on_commit_callbacks(execute=False):  # the broker was down: nothing enqueued
        approve(doctor)
    sweep(django_capture_on_commit_callbacks)
    assert receiver.requests == []  # fresh: its own enqueue may still be on its way

    clock.shift(webhooks.SWEEP_FRESH_GRACE)
    sweep(django_capture_on_commit_callbacks)

    assert len(receiver.requests) == 1
    assert WebhookDelivery.objects.get().status == "delivered"
    run = ScheduledTaskRun.objects.get(name="webhooks_sweep")
    assert run.details["enqueued"] == 1
    assert run.last_started_at == run.last_finished_at == timezone.now()


def test_a_delivery_to_an_endpoint_disabled_since_is_not_sent(
    doctor, hospital, receiver, django_capture_on_commit_callbacks
):
    endpoint, _ = register(hospital, receiver.url)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        approve(doctor)
    # Disabled between the decision and its send (the service also fails what is pending).
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(active=False)

    callbacks[0]()

    assert receiver.requests == []
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.last_error) == ("failed", "endpoint disabled")


def test_disabling_an_endpoint_gives_up_its_pending_deliveries_and_is_audited(doctor, hospital):
    endpoint, _secret = register(hospital, "https://platform.example/hooks")
    approve(doctor)
    admin = AdminFactory(hospital=hospital)

    failed = webhook_endpoint_disable(endpoint=endpoint, disabled_by=admin)

    endpoint.refresh_from_db()
    assert failed == 1 and not endpoint.active and endpoint.disabled_at is not None
    assert WebhookDelivery.objects.get().status == "failed"
    audit = AuditEvent.objects.get(action="webhook_endpoint.disabled")
    assert audit.details == {"endpoint_id": endpoint.pk, "pending_failed": 1}
    assert audit.actor_user == admin


def test_redeliver_sends_the_same_event_again_and_is_audited(
    doctor, hospital, receiver, django_capture_on_commit_callbacks
):
    register(hospital, receiver.url)
    with django_capture_on_commit_callbacks(execute=True):
        approve(doctor)
    delivery = WebhookDelivery.objects.get()
    admin = AdminFactory(hospital=hospital)

    with django_capture_on_commit_callbacks(execute=True):
        webhook_delivery_redeliver(delivery=delivery, requested_by=admin)

    first, second = receiver.requests
    assert first.event["id"] == second.event["id"] == str(delivery.event.event_id)
    assert first.headers["X-Portal-Event-Id"] == second.headers["X-Portal-Event-Id"]
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("delivered", 2)
    audit = AuditEvent.objects.get(action="webhook_delivery.redelivered")
    assert audit.details == {
        "delivery_id": delivery.pk,
        "endpoint_id": delivery.endpoint_id,
        "event_id": str(delivery.event.event_id),
    }


def test_redeliver_after_24_hours_gets_one_more_attempt(doctor, hospital, clock, django_capture_on_commit_callbacks):
    with Receiver(["500"] * 3) as receiver:
        register(hospital, receiver.url)
        with django_capture_on_commit_callbacks(execute=True):
            approve(doctor)
        WebhookDelivery.objects.update(status="failed", next_attempt_at=None)  # gave up, a day ago
        clock.shift(timedelta(days=2))
        admin = AdminFactory(hospital=hospital)

        with django_capture_on_commit_callbacks(execute=True):
            webhook_delivery_redeliver(delivery=WebhookDelivery.objects.get(), requested_by=admin)
        assert WebhookDelivery.objects.get().status == "failed"

        with django_capture_on_commit_callbacks(execute=True):
            webhook_delivery_redeliver(delivery=WebhookDelivery.objects.get(), requested_by=admin)

    assert len(receiver.requests) == 3
    assert WebhookDelivery.objects.get().status == "failed"  # the third answer was a 500 too


def test_redeliver_is_refused_for_a_disabled_endpoint(doctor, hospital):
    endpoint, _ = register(hospital, "https://platform.example/hooks")
    approve(doctor)
    admin = AdminFactory(hospital=hospital)
    webhook_endpoint_disable(endpoint=endpoint, disabled_by=admin)

    with pytest.raises(ReviewError, match="disabled"):
        webhook_delivery_redeliver(delivery=WebhookDelivery.objects.get(), requested_by=admin)
    assert WebhookDelivery.objects.get().status == "failed"


def test_summary_ready_events_are_recorded_for_subscribers(hospital):
    endpoint, _ = register(hospital, "https://platform.example/hooks", ["summary.ready"])

    event = webhook_event_record(
        hospital_id=hospital.pk, event_type="summary.ready", payload={"appointment": {"id": 3}}
    )

    assert event.case is None
    assert list(event.deliveries.values_list("endpoint_id", flat=True)) == [endpoint.pk]


# --- registering endpoints ---------------------------------------------------------------------


def test_register_keeps_the_secret_for_signing_and_audits_without_it(hospital):
    admin = AdminFactory(hospital=hospital)

    endpoint, secret = webhook_endpoint_create(
        hospital=hospital,
        created_by=admin,
        url=" https://platform.example/hooks ",
        events=["case.closed", "case.approved", "case.closed"],
        description=" Avatar platform ",
    )

    assert secret.startswith("whsec_") and len(secret) > 40
    assert (endpoint.url, endpoint.description) == ("https://platform.example/hooks", "Avatar platform")
    assert endpoint.events == ["case.approved", "case.closed"]
    audit = AuditEvent.objects.get(action="webhook_endpoint.created")
    assert audit.details == {"endpoint_id": endpoint.pk, "events": ["case.approved", "case.closed"]}
    assert secret not in json.dumps(audit.details)
    _other, other_secret = webhook_endpoint_create(
        hospital=hospital, created_by=admin, url="https://platform.example/hooks", events=["case.approved"]
    )
    assert other_secret != secret


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://platform.example/hooks", "https://"),
        ("ftp://platform.example/hooks", "full URL"),
        ("https://user:pw@platform.example/hooks", "user name and password"),
        ("not a url", "full URL"),
        ("https://platform.example/" + "a" * 500, "under 500 characters"),
    ],
)
def test_register_refuses_urls_we_must_not_post_to(url, message):
    with pytest.raises(InvalidInput, match=message) as refusal:
        webhook_url_check(url)
    assert refusal.value.field == "url"


@pytest.mark.parametrize("url", ["http://127.0.0.1:8080/hooks", "http://localhost/hooks", "http://[::1]:9000/"])
def test_plain_http_is_accepted_to_this_machine(url):
    assert webhook_url_check(url) == url


def test_plain_http_anywhere_on_a_debug_demo(settings):
    settings.DEBUG = True
    assert webhook_url_check("http://receiver.lan/hooks") == "http://receiver.lan/hooks"


def test_register_refuses_unknown_or_no_events_and_non_admins(hospital, doctor):
    admin = AdminFactory(hospital=hospital)
    for events in ([], ["case.deleted"]):
        with pytest.raises(InvalidInput) as refusal:
            webhook_endpoint_create(hospital=hospital, created_by=admin, url="https://a.example/", events=events)
        assert refusal.value.field == "events"
    with pytest.raises(ReviewError):
        webhook_endpoint_create(hospital=hospital, created_by=doctor, url="https://a.example/", events=["case.closed"])
    outsider = AdminFactory()
    with pytest.raises(ReviewError):
        webhook_endpoint_create(
            hospital=hospital, created_by=outsider, url="https://a.example/", events=["case.closed"]
        )
    with pytest.raises(InvalidInput) as refusal:
        webhook_endpoint_create(
            hospital=hospital, created_by=admin, url="https://a.example/", events=["case.closed"], description="x" * 201
        )
    assert refusal.value.field == "description"
    assert WebhookEndpoint.objects.count() == 0


# --- two senders at once (PostgreSQL: real concurrent transactions) ----------------------------


@pytest.mark.skipif(connection.vendor != "postgresql", reason="concurrent connections; CI runs this on PostgreSQL")
@pytest.mark.django_db(transaction=True)
def test_two_senders_racing_for_one_delivery_send_it_once(monkeypatch):
    doctor = DoctorFactory()
    monkeypatch.setattr(webhooks, "enqueue_on_commit", lambda task, *ids: None)  # the racers are the threads
    with Receiver(["sleep:1"]) as receiver:
        register(doctor.hospital, receiver.url)
        event = webhook_event_record(hospital_id=doctor.hospital_id, event_type="case.closed", payload={})
        delivery = event.deliveries.get()
        barrier = threading.Barrier(2)
        results = []

        def send() -> None:
            try:
                barrier.wait(timeout=10)
                results.append(webhook_delivery_attempt(delivery_id=delivery.pk))
            finally:
                connection.close()

        threads = [threading.Thread(target=send) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)

    assert len(receiver.requests) == 1
    assert sorted(result is None for result in results) == [False, True]
    assert WebhookDelivery.objects.get().status == "delivered"


def test_event_ids_are_unique_uuids(doctor, hospital):
    register(hospital, "https://platform.example/hooks")
    for _ in range(3):
        approve(doctor)

    ids = list(WebhookEvent.objects.values_list("event_id", flat=True))
    assert len(set(ids)) == 3 and all(isinstance(i, uuid.UUID) for i in ids)
