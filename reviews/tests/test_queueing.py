"""Publishing with the broker down (reviews.queueing): a doctor's request does not wait for
it, the work stays in the database, and the sweeps send it once the broker is back."""

from datetime import timedelta

import pytest
from django.utils import timezone
from kombu.exceptions import OperationalError

from portal.celery import app
from reviews import queueing
from reviews.models import PreVisitSummary
from reviews.previsit import appointment_create, summaries_enqueue_due
from reviews.previsit_tasks import summaries_compile_chunk, summary_compile
from reviews.queueing import broker_circuit, enqueue_on_commit, publish_now
from reviews.webhook_tasks import webhook_deliver

from .factories import PatientFactory


class Broker:
    """Stands in for `task.delay`: down (raises as kombu does) or up (keeps the messages)."""

    def __init__(self):
        self.up = False
        self.attempts = 0
        self.sent: list[tuple[str, tuple]] = []

    def delay_for(self, task):
        def delay(*args):
            self.attempts += 1
            if not self.up:
                raise OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")
            self.sent.append((task.name, args))

        return delay


@pytest.fixture
def broker(monkeypatch) -> Broker:
    broker = Broker()
    for task in (webhook_deliver, summary_compile, summaries_compile_chunk):
        monkeypatch.setattr(task, "delay", broker.delay_for(task))
    monkeypatch.setitem(app.conf, "task_always_eager", False)  # a broker, not tasks run in-process
    broker_circuit.reset()
    yield broker
    broker_circuit.reset()


class Clock:
    def __init__(self, monkeypatch):
        self.now = 1000.0
        monkeypatch.setattr(queueing.time, "monotonic", lambda: self.now)


def test_after_one_failed_publish_the_next_ones_are_skipped_for_a_while(broker, monkeypatch):
    clock = Clock(monkeypatch)
    not_sent = []

    assert publish_now(webhook_deliver, 1, on_not_sent=lambda: not_sent.append(1)) is False
    assert publish_now(webhook_deliver, 2, on_not_sent=lambda: not_sent.append(2)) is False
    assert publish_now(webhook_deliver, 3) is False

    # One wait for the dead broker, not three.
    assert broker.attempts == 1
    assert (broker_circuit.failed, broker_circuit.skipped) == (1, 2)
    assert broker_circuit.down_since is not None
    assert not_sent == [1, 2]  # told either way: the message did not go

    clock.now += queueing.BROKER_PAUSE
    broker.up = True
    assert publish_now(webhook_deliver, 4) is True
    assert publish_now(webhook_deliver, 5) is True

    assert broker.sent == [(webhook_deliver.name, (4,)), (webhook_deliver.name, (5,))]
    assert broker_circuit.down_since is None


def test_after_the_pause_a_broker_still_down_opens_the_circuit_again(broker, monkeypatch):
    clock = Clock(monkeypatch)
    publish_now(webhook_deliver, 1)
    clock.now += queueing.BROKER_PAUSE

    publish_now(webhook_deliver, 2)
    publish_now(webhook_deliver, 3)

    assert (broker.attempts, broker_circuit.failed, broker_circuit.skipped) == (2, 2, 1)


def test_without_a_broker_tasks_run_in_process_whatever_the_circuit_says(monkeypatch):
    broker_circuit.reset()
    broker_circuit.record_failure()
    ran = []
    monkeypatch.setattr(webhook_deliver, "delay", lambda *args: ran.append(args))

    assert publish_now(webhook_deliver, 1) is True
    assert ran == [(1,)]
    broker_circuit.reset()


def test_a_failing_task_run_in_process_does_not_open_the_circuit(monkeypatch):
    broker_circuit.reset()

    def fail(*args):
        raise ValueError("the task itself failed")

    monkeypatch.setattr(webhook_deliver, "delay", fail)

    assert publish_now(webhook_deliver, 1) is False
    assert broker_circuit.down_since is None and broker_circuit.failed == 0


def test_enqueue_on_commit_publishes_only_after_commit(broker, django_capture_on_commit_callbacks, db):
    broker.up = True
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        enqueue_on_commit(webhook_deliver, 7)
        assert broker.sent == []

    assert len(callbacks) == 1
    assert broker.sent == [(webhook_deliver.name, (7,))]


def test_a_visit_booked_while_the_broker_is_down_is_compiled_by_the_next_beat(
    broker, doctor, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        appointment, _ = appointment_create(
            hospital=doctor.hospital,
            doctor=doctor,
            patient=PatientFactory(hospital=doctor.hospital),
            scheduled_at=timezone.now() + timedelta(hours=2),
        )

    # The compile's message did not go: the claim taken for it is given back at once, not
    # held for a lease the lost message would never end.
    summary = PreVisitSummary.objects.get(appointment=appointment)
    assert (summary.status, summary.compile_started_at) == ("pending", None)

    broker_circuit.reset()
    broker.up = True
    with django_capture_on_commit_callbacks(execute=True):
        run = summaries_enqueue_due()

    assert run.claimed == 1
    assert broker.sent == [(summaries_compile_chunk.name, (summary.pk,))]


def test_a_beat_whose_chunks_cannot_be_sent_leaves_them_for_the_next_beat(
    broker, doctor, django_capture_on_commit_callbacks
):
    broker.up = True
    for hours in (30, 31, 32):  # outside the lead window: nothing compiles on booking
        appointment_create(
            hospital=doctor.hospital,
            doctor=doctor,
            patient=PatientFactory(hospital=doctor.hospital),
            scheduled_at=timezone.now() + timedelta(hours=hours),
        )
    doctor.hospital.summary_lead_hours = 48
    doctor.hospital.save(update_fields=["summary_lead_hours"])
    broker.up = False

    with django_capture_on_commit_callbacks(execute=True):
        summaries_enqueue_due(chunk_size=2)

    assert broker.attempts == 1  # the second chunk is not even tried
    assert PreVisitSummary.objects.filter(compile_started_at__isnull=False).count() == 0

    broker_circuit.reset()
    broker.up = True
    with django_capture_on_commit_callbacks(execute=True):
        run = summaries_enqueue_due(chunk_size=2)

    assert (run.claimed, run.messages) == (3, 2)
