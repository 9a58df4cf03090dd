"""What every scenario shares: the run's context, one measured figure, and interleaving.

A figure is only meaningful next to a baseline measured on the same machine in the same
run, alternating with it (baseline, figure, baseline, figure, ...) so that a neighbour's
noise or a warming cache falls on both; each side reports the median of its samples.
"""

import json
import os
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path

SCALES = {"tiny": 2_000, "small": 50_000, "default": 1_000_000, "large": 10_000_000}


@dataclass
class Measure:
    """One row of the table: a figure of ours and its baseline.

    `ratio` is "higher is better" whatever the unit: figure ÷ baseline for throughput,
    baseline ÷ figure for latency and time.
    """

    scenario: str
    metric: str
    value: float
    baseline: float | None
    unit: str
    higher_is_better: bool = True
    target: float | None = None  # the ratio the issue asks for, when it asks for one
    note: str = ""

    @property
    def ratio(self) -> float | None:
        if self.baseline is None or not self.value or not self.baseline:
            return None
        return self.value / self.baseline if self.higher_is_better else self.baseline / self.value

    @property
    def met(self) -> bool | None:
        if self.target is None or self.ratio is None:
            return None
        return self.ratio >= self.target

    def as_json(self) -> dict:
        row = asdict(self)
        row["ratio"] = self.ratio
        row["met"] = self.met
        return row


@dataclass
class Bench:
    """The run's context, handed to every scenario."""

    scale: str
    cases: int
    database_url: str  # postgres://… of the loaded bench database
    server: str  # base URL of the real gunicorn, e.g. http://127.0.0.1:8765
    api_token: str  # a bench API client's token with cases:write and cases:read
    workdir: Path  # scratch files (request lists, pgbench scripts)
    reps: int = 3
    seconds: float = 8.0  # length of one timed window of an HTTP load
    facts: dict = field(default_factory=dict)  # things worth recording beside the table (EXPLAIN, counts)
    small_database_url: str | None = None  # the small-scale database, for growth with scale

    @property
    def conninfo(self) -> str:
        return self.database_url


def median(values: Iterable[float]) -> float:
    return statistics.median(list(values))


def interleaved(figure: Callable[[], float], baseline: Callable[[], float], *, reps: int) -> tuple[float, float]:
    """(median figure, median baseline) over `reps` alternating runs of each, baseline first."""
    figures: list[float] = []
    baselines: list[float] = []
    for _ in range(reps):
        baselines.append(baseline())
        figures.append(figure())
    return median(figures), median(baselines)


def percentile(values: list[float], share: float) -> float:
    """Nearest-rank percentile of `values` (share 0.95 for p95); 0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(share * len(ordered) + 0.5) - 1))
    return ordered[rank]


# --- Load from a second process ------------------------------------------------------------


@dataclass
class Request:
    """One HTTP request the load process sends; `items` is what it counts for (500 for a batch)."""

    method: str
    path: str
    body: bytes | str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    items: int = 1


@dataclass
class LoadResult:
    requests: int
    ok: int
    items: int
    elapsed: float
    latencies_ms: list[float]
    statuses: dict[str, int]

    @property
    def items_per_second(self) -> float:
        return self.items / self.elapsed if self.elapsed else 0.0

    @property
    def p50(self) -> float:
        return percentile(self.latencies_ms, 0.50)

    @property
    def p95(self) -> float:
        return percentile(self.latencies_ms, 0.95)


def load_run(
    bench: Bench,
    workers: list[list[Request]],
    *,
    seconds: float | None = None,
    warmup: int = 0,
    base_headers: dict[str, str] | None = None,
) -> LoadResult:
    """Send each worker's requests in order on its own keep-alive connection, all workers at
    once, from a separate process (bench/load.py), until every list is done or `seconds`
    have passed. Only 2xx/3xx answers count as items; every status is reported.
    """
    spec = {
        "base": bench.server,
        "seconds": seconds if seconds is not None else bench.seconds,
        "warmup": warmup,
        "headers": base_headers or {},
        "workers": [
            [
                {
                    "method": r.method,
                    "path": r.path,
                    "body": r.body.decode() if isinstance(r.body, bytes) else r.body,
                    "headers": r.headers,
                    "items": r.items,
                }
                for r in requests
            ]
            for requests in workers
        ],
    }
    with tempfile.NamedTemporaryFile("w", suffix=".json", dir=bench.workdir, delete=False) as handle:
        json.dump(spec, handle)
        spec_path = handle.name
    try:
        done = subprocess.run(
            [sys.executable, "-m", "bench.load", spec_path],
            capture_output=True,
            text=True,
            check=False,
            cwd=Path(__file__).resolve().parent.parent,
            env={**os.environ, "PYTHONHASHSEED": "0"},
        )
    finally:
        os.unlink(spec_path)
    if done.returncode != 0:
        raise RuntimeError(f"the load process failed: {done.stderr.strip()[-2000:]}")
    data = json.loads(done.stdout)
    return LoadResult(**data)


def check_statuses(result: LoadResult, *, scenario: str, allowed: Iterable[int] = (200, 201, 204, 302)) -> None:
    """A bench of failing requests measures nothing: stop and say what the server answered."""
    allowed_codes = {str(code) for code in allowed}
    bad = {status: count for status, count in result.statuses.items() if status not in allowed_codes}
    if bad:
        raise RuntimeError(f"{scenario}: unexpected answers {bad} (of {result.requests} requests)")
