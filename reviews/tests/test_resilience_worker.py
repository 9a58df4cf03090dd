"""Nothing lost when the broker or the workers fail (issue #8), with real Celery workers on
Redis and PostgreSQL (skipped without them, required in CI):

- Redis stopped in the middle of the day: doctors' pages and the API's ingest answer as
  usual, /readyz says what is degraded, the work waits in the database; Redis back, the
  sweeps send it and a worker does it all, each webhook event arriving once by its id.
- Chaos: pool processes SIGKILLed again and again, and once the whole worker, while it
  compiles summaries and delivers webhooks; afterwards every summary is ready exactly
  once and every event delivered, none lost. Run with `-s` to see the figures.

The Redis stopped here is a redis-server of this test's own, on a free port: the shared
one other test runs use is never touched. Leases (a killed send's, a killed compile's)
last minutes by design; where a test would wait one out, it moves the rows' clocks back
instead, as the tests of the single kills do (test_webhooks_worker.py).
"""

import os
import random
import shutil
import signal
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from django.db.models import F
from django.utils import timezone

from accounts.models import Hospital
from accounts.services import api_client_create
from portal.celery import app
from reviews.escalation_tasks import cases_escalate
from reviews.models import (
    Appointment,
    Case,
    CaseEscalation,
    PreVisitSummary,
    Urgency,
    WebhookDelivery,
    WebhookEvent,
)
from reviews.previsit import SUMMARY_CLAIM_LEASE, appointment_create, summaries_enqueue_due
from reviews.previsit_tasks import summaries_beat
from reviews.queueing import broker_circuit
from reviews.services import case_approve, case_claim
from reviews.webhook_tasks import webhooks_sweep
from reviews.webhooks import SEND_LEASE, SWEEP_FRESH_GRACE
from tests.celery_worker import CeleryWorker, _database_url, wait_until, worker_unavailable_reason

from .factories import CaseFactory, DoctorFactory, PatientFactory
from .test_api import bearer, case_payload
from .test_previsit_worker import compile_waiting_on_the_lock, messages_locked
from .test_webhooks_worker import register
from .webhook_receiver import Receiver

# --- A Redis of our own --------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class PrivateRedis:
    """A redis-server on a free port, without persistence: stopped, it loses its messages,
    as a Redis that crashed or was replaced would."""

    def __init__(self, log_path: Path):
        self.port = _free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.log_path = log_path
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        with self.log_path.open("a") as log:
            self.process = subprocess.Popen(
                ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        wait_until(self._answers, timeout=10, interval=0.05, message=f"redis-server on port {self.port}")

    def _answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as conn:
                conn.sendall(b"PING\r\n")
                return conn.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def stop(self) -> None:
        """SIGKILL, as a crash: no goodbye to the clients holding connections."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)


def _drop_pooled_connections() -> None:
    """Make this process's next send open a connection to the broker configured now.

    Celery keeps a connection pool and a producer pool per app, built on first use for
    the URL of that moment; no public call drops both (app.close() also unregisters the
    app), so the two attributes its own after-fork handler clears are cleared here.
    """
    app._pool = None
    app.amqp._producer_pool = None


@pytest.fixture
def private_broker(transactional_db, tmp_path, settings, monkeypatch) -> Iterator[tuple[PrivateRedis, CeleryWorker]]:
    """(our redis-server, a worker on it, not yet started); this process sends there too."""
    reason = worker_unavailable_reason() or (None if shutil.which("redis-server") else "needs redis-server")
    if reason:
        if os.environ.get("CI"):
            pytest.fail(f"CI must run the real-worker tests: {reason}")
        pytest.skip(reason)
    redis = PrivateRedis(tmp_path / "redis.log")
    redis.start()
    worker = CeleryWorker(
        queue=f"portal-test-{uuid.uuid4().hex[:12]}",
        database_url=_database_url(),
        concurrency=2,
        log_path=tmp_path / "celery-worker.log",
        env={"CELERY_BROKER_URL": redis.url},
    )
    saved = {key: app.conf[key] for key in ("task_always_eager", "task_default_queue")}
    app.conf.task_always_eager = False
    app.conf.task_default_queue = worker.queue
    # Celery reads the broker's URL from the environment before its own settings.
    monkeypatch.setenv("CELERY_BROKER_URL", redis.url)
    _drop_pooled_connections()
    settings.CELERY_BROKER_URL = redis.url  # what /readyz checks
    broker_circuit.reset()
    try:
        yield redis, worker
    finally:
        worker.stop(kill=True)
        redis.stop()
        app.conf.update(saved)
        monkeypatch.undo()
        _drop_pooled_connections()
        broker_circuit.reset()
        print(f"--- Celery worker log (tail) ---\n{worker.log()[-5000:]}")


# --- Redis stopped mid-test ----------------------------------------------------------------

HANG_GUARD_S = 10  # not a performance bound: only so a hang fails instead of blocking the run


def timed(call):
    started = time.monotonic()
    response = call()
    elapsed = time.monotonic() - started
    assert elapsed < HANG_GUARD_S, f"a request waited {elapsed:.1f} s for the broker"
    return response


def test_with_redis_down_pages_and_ingest_work_and_the_backlog_drains_after(private_broker, client):
    redis, worker = private_broker
    doctor = DoctorFactory()
    hospital = doctor.hospital
    _client, token = api_client_create(
        hospital=hospital, name="Avatar platform", scopes=["cases:write", "cases:read", "appointments:write"]
    )
    api = bearer(token)
    to_approve, to_correct = CaseFactory(doctor=doctor), CaseFactory(doctor=doctor)
    breached = CaseFactory(doctor=doctor, urgency=Urgency.URGENT, due_at=timezone.now() - timedelta(minutes=5))
    colleague = DoctorFactory(hospital=hospital)
    colleague.doctor_profile.specialty = doctor.doctor_profile.specialty
    colleague.doctor_profile.save()

    with Receiver() as receiver:
        register(hospital, receiver.url)
        client.force_login(doctor)

        redis.stop()

        # The doctor's pages, and the decisions that each record a webhook event.
        assert timed(lambda: client.get("/")).status_code == 200
        assert timed(lambda: client.get(f"/cases/{to_approve.pk}/")).status_code == 200
        version = Case.objects.get(pk=to_approve.pk).version
        response = timed(lambda: client.post(f"/cases/{to_approve.pk}/approve/", {"version": version}))
        assert response.status_code == 302
        assert broker_circuit.failed == 1 and broker_circuit.down_since is not None

        timed(lambda: client.get(f"/cases/{to_correct.pk}/"))
        version = Case.objects.get(pk=to_correct.pk).version
        response = timed(
            lambda: client.post(
                f"/cases/{to_correct.pk}/correct/",
                {"version": version, "final_text": "Rest and drink water; see a doctor today.", "category": "tone"},
            )
        )
        assert response.status_code == 302
        # The second decision did not wait for the dead broker: it did not even try.
        assert broker_circuit.failed == 1 and broker_circuit.skipped >= 1

        # The API's ingest, one case and a batch, and a visit booked inside the lead window.
        response = timed(lambda: api.post("/api/v1/cases/", case_payload(doctor, external_id="down-1"), format="json"))
        assert response.status_code == 201, response.content
        batch = [case_payload(doctor, external_id=f"down-batch-{i}", patient_ref=f"p-{i}") for i in range(3)]
        response = timed(lambda: api.post("/api/v1/cases/batch/", {"cases": batch}, format="json"))
        assert response.status_code == 200, response.content
        booking = {
            "external_id": "visit-down-1",
            "doctor": doctor.doctor_profile.licence_number,
            "patient_ref": "platform-patient-42",
            "scheduled_at": (timezone.now() + timedelta(hours=2)).isoformat(),
            "reason": "Follow-up",
        }
        response = timed(lambda: api.post("/api/v1/appointments/", booking, format="json"))
        assert response.status_code == 201, response.content
        assert broker_circuit.failed == 1

        response = timed(lambda: client.get("/readyz"))
        assert response.status_code == 200
        ready = response.json()
        assert ready["status"] == "degraded"
        assert ready["checks"]["broker"].startswith("unreachable (")
        assert ready["degraded"] and "broker returns" in ready["degraded"][0]
        assert ready["backlog"] == {
            "webhook_deliveries_pending": 2,
            "webhook_deliveries_due": 2,
            "summaries_due": 1,
            "escalations_due": 1,
        }
        # The work is in the database, untouched.
        assert set(WebhookDelivery.objects.values_list("status", "attempts")) == {("pending", 0)}
        assert PreVisitSummary.objects.get().status == "pending"

        # Redis is back (empty: what was never sent cannot be in it), and a worker with it.
        redis.start()
        worker.start()
        assert client.get("/readyz").json()["status"] == "ready"

        # What the beat sends: its sweeps find the work. The webhook sweep leaves a delivery
        # younger than a minute to its own enqueue; a minute passes here.
        WebhookDelivery.objects.update(created_at=F("created_at") - SWEEP_FRESH_GRACE)
        summaries_beat.delay()
        webhooks_sweep.delay()
        cases_escalate.delay()

        wait_until(
            lambda: (
                PreVisitSummary.objects.filter(status="ready").exists()
                and WebhookEvent.objects.filter(type="summary.ready").exists()
            ),
            message="the visit's summary compiled (its summary.ready event is sent on commit)",
        )
        wait_until(
            lambda: WebhookDelivery.objects.exclude(status="delivered").count() == 0,
            message="every webhook delivery sent",
        )
        wait_until(lambda: Case.objects.get(pk=breached.pk).escalated_due_at is not None, message="the escalation")

    events = sorted(str(e) for e in WebhookEvent.objects.values_list("event_id", flat=True))
    assert sorted(WebhookEvent.objects.values_list("type", flat=True)) == [
        "case.approved",
        "case.corrected",
        "summary.ready",
    ]
    assert sorted(set(receiver.accepted_event_ids())) == events
    assert CaseEscalation.objects.filter(case=breached, doctor=colleague).count() == 1
    backlog = client.get("/readyz").json()["backlog"]
    assert backlog == {
        "webhook_deliveries_pending": 0,
        "webhook_deliveries_due": 0,
        "summaries_due": 0,
        "escalations_due": 0,
    }
    assert Case.objects.filter(external_id__startswith="down-").count() == 4


# --- Chaos ---------------------------------------------------------------------------------

VISITS = 30
DECISIONS = 30
COMPILE_KILL_ROUNDS = 3
SEND_KILLS = 6
KILL_EVERY_S = 0.7
SWEEP_EVERY_S = 2.0


def book_visits(doctor) -> list[Appointment]:
    """Visits in 30 hours for patients with a history, outside the 24-hour window until the
    hospital's lead time is widened: nothing compiles before the chaos begins."""
    appointments = []
    for index in range(VISITS):
        patient = PatientFactory(hospital=doctor.hospital)
        CaseFactory(doctor=doctor, patient=patient)
        appointment, _ = appointment_create(
            hospital=doctor.hospital,
            doctor=doctor,
            patient=patient,
            scheduled_at=timezone.now() + timedelta(hours=30, minutes=index),
        )
        appointments.append(appointment)
    return appointments


def progress() -> tuple[int, int]:
    return (
        PreVisitSummary.objects.filter(status="ready", compile_started_at__isnull=True).count(),
        WebhookDelivery.objects.filter(status="delivered").count(),
    )


def done() -> bool:
    ready, delivered = progress()
    return ready == VISITS and delivered == DECISIONS + VISITS == WebhookDelivery.objects.count()


def quiet_for(seconds: float, timeout: float = 60) -> None:
    """Wait until nothing has moved for `seconds`: what is left is held by dead workers' leases."""
    deadline = time.monotonic() + timeout
    last, since = progress(), time.monotonic()
    while time.monotonic() < deadline and not done():
        time.sleep(0.25)
        now = progress()
        if now != last:
            last, since = now, time.monotonic()
        elif time.monotonic() - since >= seconds:
            return


def leases_ended() -> None:
    """What the clock does to dead workers' claims: a killed send's lease (6 minutes) and a
    killed compile's claim (10 minutes) end, and the sweeps may take the work again."""
    WebhookDelivery.objects.filter(status="pending").update(
        next_attempt_at=timezone.now() - timedelta(seconds=1), created_at=F("created_at") - SEND_LEASE
    )
    PreVisitSummary.objects.filter(compile_started_at__isnull=False).update(
        compile_started_at=F("compile_started_at") - SUMMARY_CLAIM_LEASE
    )


def kill_compiles_midway(worker: CeleryWorker, *, rounds: int) -> int:
    """SIGKILL the pool processes while a compile is under way, `rounds` times; returns how
    many processes were killed.

    To catch compiles in their middle, not between them, the message table is locked: a
    compile has begun (its attempt counted, its claim taken) and waits on the lock when it
    reads the patients' histories. Both pool processes are killed, the compiling one and
    the other (compiling too, or sending a webhook). Fewer rounds than a summary's attempts
    (SUMMARY_MAX_ATTEMPTS), so even a chunk killed every time is compiled in the end.
    """
    killed = 0
    for round in range(rounds):
        with messages_locked() as locker:
            if round == 0:
                summaries_enqueue_due(chunk_size=2)  # 15 messages, compiled while the sends go on

            def compile_waiting() -> str | None:
                if compile_waiting_on_the_lock(locker):
                    return "waiting"
                return None if pending_compiles() else "all compiled"

            if wait_until(compile_waiting, timeout=60, message="a compile under way") == "all compiled":
                return killed
            for pid in worker.pool_children():
                worker.kill_pool_child(pid)
                killed += 1
        time.sleep(0.1)  # a few compiles finish before the next lock
    return killed


def pending_compiles() -> int:
    return PreVisitSummary.objects.exclude(status="ready", compile_started_at__isnull=True).count()


@pytest.mark.celery_worker_env(CONCURRENCY=2, CELERY_VISIBILITY_TIMEOUT=5)
def test_chaos_workers_killed_again_and_again_lose_no_summary_and_no_webhook(celery_worker):
    rng = random.Random(8)
    doctor = DoctorFactory()
    appointments = book_visits(doctor)
    Hospital.objects.filter(pk=doctor.hospital_id).update(summary_lead_hours=48)
    cases = [case_claim(case=CaseFactory(doctor=doctor), doctor=doctor) for _ in range(DECISIONS)]

    # Every send is slow, so that kills land in the middle of sends.
    with Receiver(["sleep:0.3"] * (2 * (DECISIONS + VISITS))) as receiver:
        register(doctor.hospital, receiver.url)
        for case in cases:
            case_approve(case=case, doctor=doctor, version=case.version)  # each send enqueued on commit

        compile_kills = kill_compiles_midway(celery_worker, rounds=COMPILE_KILL_ROUNDS)

        celery_worker.stop(kill=True)  # the whole worker, as a lost machine
        worker_kills = 1
        celery_worker.start()

        send_kills = 0
        last_sweep = time.monotonic()
        while send_kills < SEND_KILLS:
            time.sleep(KILL_EVERY_S)
            celery_worker.kill_pool_child(rng.choice(celery_worker.pool_children()))
            send_kills += 1
            if time.monotonic() - last_sweep >= SWEEP_EVERY_S:
                summaries_beat.delay()
                webhooks_sweep.delay()
                last_sweep = time.monotonic()
        progress_at_last_kill = progress()

        quiet_for(3)
        leases_ended()
        summaries_beat.delay()
        webhooks_sweep.delay()
        wait_until(done, timeout=120, message="every summary compiled and every event delivered after the kills")

    summaries = list(PreVisitSummary.objects.order_by("appointment__scheduled_at"))
    assert [s.appointment_id for s in summaries] == [a.pk for a in appointments]  # one row each
    assert {(s.status, s.stale, s.error, s.compile_started_at) for s in summaries} == {("ready", False, "", None)}
    # Exactly once: one summary.ready event per visit, whatever was compiled twice.
    ready_events = WebhookEvent.objects.filter(type="summary.ready")
    assert sorted(e.payload["appointment"]["id"] for e in ready_events) == [a.pk for a in appointments]

    events = sorted(str(e) for e in WebhookEvent.objects.values_list("event_id", flat=True))
    assert len(events) == DECISIONS + VISITS
    received = receiver.accepted_event_ids()
    assert sorted(set(received)) == events  # every event arrived; none lost
    assert set(WebhookDelivery.objects.values_list("status", flat=True)) == {"delivered"}

    print(
        f"\nchaos: {compile_kills + send_kills} pool processes ({compile_kills} with a compile under way, "
        f"{send_kills} while sending) and {worker_kills} whole worker SIGKILLed; "
        f"progress at the last kill {progress_at_last_kill[0]}/{VISITS} summaries, "
        f"{progress_at_last_kill[1]}/{DECISIONS + VISITS} deliveries; "
        f"{VISITS} summaries ready (one each), {len(events)} webhook events delivered, "
        f"{len(received) - len(set(received))} duplicate receipts deduped by id; lost: 0"
    )
