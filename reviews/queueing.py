"""Handing work to Celery once the change that calls for it is committed.

The rows are the outbox: a webhook delivery, a pre-visit summary, a breached case are in
the database before any message is sent, and the beat's sweeps find again whatever a
message did not carry. So a broker that is down must cost a doctor's request nothing:
publishing fails fast (settings: connect and socket timeouts, one publish retry), and
after a failure this process stops trying for BROKER_PAUSE seconds, so a burst of
requests does not each wait for the same dead broker. The first send after the pause
tries again, and a success closes the circuit.
"""

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from celery import Task
from django.db import transaction
from kombu.exceptions import OperationalError

logger = logging.getLogger(__name__)

# Long enough that a burst of requests meets one failed publish, not one each; short enough
# that work flows again within seconds of the broker's return (the sweeps catch up the rest).
BROKER_PAUSE = 10.0


@dataclass
class BrokerCircuit:
    """This process's note of the broker: down since when, and what it did about it.

    Process-local on purpose: each web and worker process finds out for itself, and
    nothing shared (the broker, least of all) is needed to know that the broker is down.
    """

    down_since: float | None = None  # time.time() of the first failed publish
    retry_at: float = 0.0  # time.monotonic() before which publishing is skipped
    failed: int = 0  # publishes that failed (each waited for the broker's timeouts)
    skipped: int = 0  # publishes not tried because the circuit was open

    def __post_init__(self) -> None:
        self._lock = threading.Lock()

    def allows(self) -> bool:
        with self._lock:
            if self.down_since is None or time.monotonic() >= self.retry_at:
                return True
            self.skipped += 1
            return False

    def record_failure(self) -> None:
        with self._lock:
            self.failed += 1
            self.down_since = self.down_since or time.time()
            self.retry_at = time.monotonic() + BROKER_PAUSE

    def record_success(self) -> None:
        with self._lock:
            if self.down_since is not None:
                logger.info("The broker answers again; publishing resumed")
            self.down_since = None
            self.retry_at = 0.0

    def reset(self) -> None:
        """Forget everything (tests)."""
        with self._lock:
            self.down_since, self.retry_at, self.failed, self.skipped = None, 0.0, 0, 0


broker_circuit = BrokerCircuit()


def publish_now(task: Task, *args: int | str, on_not_sent: Callable[[], object] | None = None) -> bool:
    """Send `task` with `args` now unless the broker is known to be down; True when sent.

    Never raises for a broker that is down: the work's row stays in the database and the
    sweep sends it. `on_not_sent` runs when the message did not go (e.g. to give back a
    claim that only the lost message would have released).
    """
    # Run in-process (no broker: the demo, most tests), there is no broker to be down.
    if not task.app.conf.task_always_eager and not broker_circuit.allows():
        logger.debug("Broker down; %s%r left for the sweep", task.name, args)
    else:
        try:
            task.delay(*args)
        except OperationalError:
            broker_circuit.record_failure()
            logger.warning(
                "Could not reach the broker for %s%r; the sweep will send it. Not publishing for %.0f s",
                task.name,
                args,
                BROKER_PAUSE,
                exc_info=True,
            )
        except Exception:
            # Run in-process (no broker: the demo), the task itself failed; its row says so.
            logger.warning("Could not run %s%r; the sweep will retry it", task.name, args, exc_info=True)
            return False
        else:
            broker_circuit.record_success()
            return True
    if on_not_sent is not None:
        on_not_sent()
    return False


def enqueue_on_commit(task: Task, *args: int | str, on_not_sent: Callable[[], object] | None = None) -> None:
    """Send `task` with `args` (ids only: no patient text travels in a message) after commit.

    The work row is already in the database by then, so a broker that is down loses
    nothing: the periodic sweep finds the row and sends it again. Hence the error is
    logged, not raised into a doctor's request.
    """
    transaction.on_commit(lambda: publish_now(task, *args, on_not_sent=on_not_sent))
