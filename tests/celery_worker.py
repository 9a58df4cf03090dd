"""A real Celery worker for the tests that need one (loaded by the root conftest).

`celery_worker` starts `celery -A portal worker` as a separate process on the test's
own PostgreSQL database and the machine's Redis, with a queue of its own so that other
test runs sharing the Redis cannot take its messages. The test process sends to that
queue for the duration of the test. The test must commit what the worker is to see:
the fixture brings `transactional_db` with it.

Settings overridden inside the test (`settings` fixture) do not reach the worker: it
reads the environment only, like a deployed one.
"""

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from django.db import connection

from portal.celery import app

REPO = Path(__file__).resolve().parent.parent
START_TIMEOUT_S = 30


def worker_unavailable_reason() -> str | None:
    """Why a real worker cannot run here, or None. CI sets both variables."""
    if not os.environ.get("CELERY_BROKER_URL"):
        return "needs a broker: set CELERY_BROKER_URL (CI runs these on Redis)"
    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        return "needs PostgreSQL: a worker process cannot see the test's SQLite database"
    return None


def _database_url() -> str:
    """The URL of the database this test runs on (pytest-django's test_… database)."""
    db = connection.settings_dict
    auth = quote(db["USER"] or "")
    if db.get("PASSWORD"):
        auth += ":" + quote(db["PASSWORD"])
    host = db.get("HOST") or "127.0.0.1"
    port = db.get("PORT") or "5432"
    return f"postgres://{auth}@{host}:{port}/{db['NAME']}"


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # The command name in parentheses may hold spaces; the parent pid follows the last ")".
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            found.append(int(entry.name))
    return sorted(found)


class CeleryWorker:
    def __init__(self, *, queue: str, database_url: str, concurrency: int, log_path: Path, env: dict[str, str]):
        self.queue = queue
        self.database_url = database_url
        self.concurrency = concurrency
        self.log_path = log_path
        self.extra_env = env
        self.process: subprocess.Popen | None = None
        self.starts = 0

    @property
    def hostname(self) -> str:
        return f"{self.queue}@localhost"

    def start(self) -> None:
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "portal.settings",
            "DEBUG": "1",
            "DATABASE_URL": self.database_url,
            "CELERY_TASK_DEFAULT_QUEUE": self.queue,
            "CELERY_TASK_ALWAYS_EAGER": "0",
            "PYTHONPATH": str(REPO),
            **self.extra_env,
        }
        log = self.log_path.open("a")
        offset = self.log_path.stat().st_size
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "portal",
                "worker",
                "--pool=prefork",
                f"--concurrency={self.concurrency}",
                f"--queues={self.queue}",
                f"--hostname={self.hostname}",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
                "--loglevel=INFO",
            ],
            cwd=REPO,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        self.starts += 1
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the Celery worker exited at start:\n{self.log()}")
            with self.log_path.open() as f:
                f.seek(offset)
                if " ready." in f.read():
                    return
            time.sleep(0.1)
        raise RuntimeError(f"the Celery worker was not ready within {START_TIMEOUT_S} s:\n{self.log()}")

    def pool_children(self) -> list[int]:
        """The pids of the prefork pool's processes, which run the tasks."""
        assert self.process is not None
        return _children(self.process.pid)

    def kill_pool_child(self, pid: int | None = None) -> int:
        """SIGKILL one pool process, as the OOM killer would; the worker itself lives on."""
        pid = pid or self.pool_children()[0]
        os.kill(pid, signal.SIGKILL)
        return pid

    def stop(self, *, kill: bool = False, timeout: float = 20) -> None:
        """Warm shutdown (SIGTERM: finish running tasks), or SIGKILL the whole worker."""
        if self.process is None or self.process.poll() is not None:
            return
        try:
            os.killpg(self.process.pid, signal.SIGKILL if kill else signal.SIGTERM)
        except ProcessLookupError:
            return
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout)

    def log(self) -> str:
        return self.log_path.read_text() if self.log_path.exists() else ""


def wait_until(condition: Callable[[], object], *, timeout: float = 30, interval: float = 0.2, message: str = ""):
    """Poll `condition` until it returns something truthy; fail with `message` after `timeout` s."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout} s waiting: {message}")
        time.sleep(interval)


@pytest.fixture
def celery_worker(transactional_db, tmp_path, request) -> Iterator[CeleryWorker]:
    """A started worker; mark a test `@pytest.mark.celery_worker_env(NAME="value")` to add
    environment variables (e.g. a short CELERY_VISIBILITY_TIMEOUT for a test that kills it)."""
    reason = worker_unavailable_reason()
    if reason:
        if os.environ.get("CI"):
            pytest.fail(f"CI must run the real-worker tests: {reason}")
        pytest.skip(reason)
    marker = request.node.get_closest_marker("celery_worker_env")
    worker = CeleryWorker(
        queue=f"portal-test-{uuid.uuid4().hex[:12]}",
        database_url=_database_url(),
        concurrency=int((marker.kwargs.get("CONCURRENCY") if marker else None) or 2),
        log_path=tmp_path / "celery-worker.log",
        env={k: str(v) for k, v in (marker.kwargs.items() if marker else []) if k != "CONCURRENCY"},
    )
    saved = {key: app.conf[key] for key in ("task_always_eager", "task_default_queue")}
    app.conf.task_always_eager = False
    app.conf.task_default_queue = worker.queue
    worker.start()
    try:
        yield worker
    finally:
        worker.stop(kill=True)
        app.conf.update(saved)
        # Nothing of this test may be left for another run's worker.
        with app.connection_for_write() as conn:
            conn.default_channel.queue_purge(worker.queue)
        # Shown by pytest only when the test fails.
        print(f"--- Celery worker log (tail) ---\n{worker.log()[-5000:]}")
