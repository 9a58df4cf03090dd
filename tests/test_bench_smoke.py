"""`make bench`'s driver end to end at a tiny scale (issue #7): real PostgreSQL, gunicorn,
Celery worker and load process; every scenario must come back with a figure and a baseline.
No timing is asserted: the figures are the bench's business, not the test's."""

import json
import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

from bench.run import SCENARIOS
from tests.celery_worker import worker_unavailable_reason

ROOT = Path(__file__).resolve().parent.parent
FIELDS = {"scenario", "metric", "value", "baseline", "ratio", "unit"}


def _server_url() -> str:
    parts = urlsplit(os.environ["DATABASE_URL"])
    return urlunsplit((parts.scheme, parts.netloc, "/postgres", "", ""))


def test_the_bench_reports_every_scenario_against_its_baseline(tmp_path):
    reason = worker_unavailable_reason()
    if reason:
        if os.environ.get("CI"):
            pytest.fail(f"CI must run the bench smoke test: {reason}")
        pytest.skip(reason)
    output = tmp_path / "bench-results.json"
    env = {k: v for k, v in os.environ.items() if k not in {"DJANGO_SETTINGS_MODULE", "DATABASE_URL"}}
    env |= {
        "BENCH_DATABASE_URL": _server_url(),
        "BENCH_BROKER_URL": os.environ["CELERY_BROKER_URL"],
        "BENCH_DATABASE_NAME_SUFFIX": f"smoke{os.getpid()}",
    }

    done = subprocess.run(
        [sys.executable, "-m", "bench", "--scale", "tiny", "--reps", "1", "--drop-after", "--output", str(output)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )

    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-6000:]
    rows = json.loads(output.read_text())
    assert all(FIELDS <= set(row) for row in rows)
    measured = {row["scenario"] for row in rows if row["scenario"] != "machine"}
    assert measured == set(SCENARIOS)
    for row in rows:
        assert row["value"] > 0, row
    for row in rows:
        if row["baseline"] is None:
            continue
        assert row["baseline"] > 0, row
        expected = row["value"] / row["baseline"] if row["higher_is_better"] else row["baseline"] / row["value"]
        assert row["ratio"] == pytest.approx(expected, rel=1e-3), row
    machine = next(row for row in rows if row["scenario"] == "machine")
    assert machine["unit"] == "TPS" and machine["metric"].startswith("pgbench -S")
    # The table a person reads: one line per figure.
    table = done.stdout
    assert "scenario" in table and "baseline" in table and "ratio" in table
    for scenario in SCENARIOS:
        assert scenario in table
