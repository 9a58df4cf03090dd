"""queue_page: a doctor's review queue, the whole page and its htmx fragment (the 20-second
poll), on page 1 and on page 200 of a 10 000-case queue (keyset), p50/p95 ms; baseline: the
bench's static fragment view answering the same number of bytes in the same server.

One client, so a latency is the request's own cost rather than time spent queueing behind
others (50 doctors polling every 20 s make 2.5 requests a second). Each rep is one timed
window in which the client sends the eight kinds of request round-robin, each portal request
right after its baseline, so any noise falls on both alike; the figures are the medians over
the reps of each window's percentiles. Beside the table: the query count of each request,
EXPLAIN (ANALYZE, BUFFERS) of the queue's queries (no sequential scan of the case table
allowed), page 200 against page 1 and, when the driver ran the small scale first, this
scale against that one.
"""

import math
import urllib.request
from dataclasses import dataclass

from django.conf import settings
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from bench.core import Bench, Measure, Request, check_statuses, load_run, median, percentile
from bench.doctor_queues import awaiting_ensure, case_table_analyze
from bench.portal_access import bench_doctors, bench_hospital, signed_in_headers
from reviews.models import CaseStatus
from reviews.selectors import QUEUE_PAGE_SIZE, QueueCursor

SCENARIO = "queue_page"
DEEP_PAGE = 200
# Page 200 full, with a "Next page" link after it, as any page in the middle of a long queue.
QUEUE_DEPTH = DEEP_PAGE * QUEUE_PAGE_SIZE + 1
# At most this share of the database in one queue: the tiny scale's 2 000 cases must leave the
# other doctors' scenarios their cases.
QUEUE_SHARE_LIMIT = 0.25
TARGET_RATIO = 0.33
MAX_DEEP_GROWTH = 1.2  # p95 of page 200 ÷ page 1
MAX_SCALE_GROWTH = 1.3  # p95 at this scale ÷ at the small scale
# A sequential scan of a table this big has no place on a page that answers in milliseconds;
# below it (the tiny scale's 200 patients) the planner is right to read the table whole.
SEQ_SCAN_ROWS_LIMIT = 10_000
# Enough requests that the list outlasts the window however fast the server answers.
REQUESTS_PER_SECOND_CEILING = 500
# The queue region polls itself (templates/reviews/queue.html): htmx names it in HX-Trigger.
FRAGMENT_HEADERS = {"HX-Request": "true", "HX-Trigger": "queue"}


@dataclass(frozen=True)
class Kind:
    """One of the requests measured: the page or its fragment, at one page of the queue."""

    view: str  # "page" or "fragment"
    page: int
    path: str
    headers: dict[str, str]

    @property
    def key(self) -> str:
        return f"{self.view} {self.page}"


def _page_cursor(doctor_id: int, page: int) -> str:
    """The `after` token of `page` (1-based): the last case of the page before it. OFFSET is
    fine here, once, in setup; walking 199 pages would measure nothing useful."""
    if page <= 1:
        return ""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT urgency, due_at, id FROM reviews_case WHERE reviewer_id = %s AND status = %s "
            "ORDER BY urgency, due_at, id OFFSET %s LIMIT 1",
            [doctor_id, CaseStatus.AWAITING_REVIEW, (page - 1) * QUEUE_PAGE_SIZE - 1],
        )
        urgency, due_at, case_id = cursor.fetchone()
    return QueueCursor(urgency, due_at, case_id).encode()


def _body_size(bench: Bench, kind: Kind, cookie_headers: dict[str, str]) -> int:
    request = urllib.request.Request(bench.server + kind.path, headers={**cookie_headers, **kind.headers})
    with urllib.request.urlopen(request, timeout=30) as answer:
        if answer.status != 200:
            raise RuntimeError(f"{SCENARIO}: {kind.path} answered {answer.status}")
        return len(answer.read())


def _queries_and_plans(doctor, kinds: list[Kind]) -> dict:
    """Query count of each request, run once in the driver, and the plans of its case queries."""
    client = Client()
    client.force_login(doctor)
    host = settings.ALLOWED_HOSTS[0]
    counts: dict[str, int] = {}
    plans: dict[str, list[dict]] = {}
    for kind in kinds:
        extra = {f"HTTP_{name.upper().replace('-', '_')}": value for name, value in kind.headers.items()}
        with CaptureQueriesContext(connection) as captured:
            answer = client.get(kind.path, HTTP_HOST=host, **extra)
        if answer.status_code != 200:
            raise RuntimeError(f"{SCENARIO}: {kind.path} answered {answer.status_code} in the driver")
        counts[kind.key] = len(captured.captured_queries)
        plans[kind.key] = [
            {"sql": query["sql"], "plan": _explain(query["sql"])}
            for query in captured.captured_queries
            if query["sql"].startswith("SELECT") and '"reviews_case"' in query["sql"]
        ]
    big_tables = _big_tables()
    for key, explained in plans.items():
        for entry in explained:
            for table in big_tables:
                if f"Seq Scan on {table} " in entry["plan"]:
                    raise RuntimeError(f"{SCENARIO}: sequential scan of {table} on {key}:\n{entry['plan']}")
        queue_query = [entry for entry in explained if "ORDER BY" in entry["sql"] and "reviewer_id" in entry["sql"]]
        if not queue_query or "case_queue_idx" not in queue_query[0]["plan"]:
            raise RuntimeError(f"{SCENARIO}: the queue query of {key} does not read case_queue_idx: {queue_query}")
    return {"queries": counts, "plans": plans}


def _big_tables() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT relname FROM pg_class WHERE relkind = 'r' AND relname LIKE 'reviews\\_%%' AND reltuples >= %s",
            [SEQ_SCAN_ROWS_LIMIT],
        )
        return [row[0] for row in cursor.fetchall()]


def _explain(sql: str) -> str:
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {sql}")
        return "\n".join(row[0] for row in cursor.fetchall())


def run(bench: Bench) -> list[Measure]:
    hospital = bench_hospital()
    doctor = bench_doctors()[0]
    wanted = min(QUEUE_DEPTH, int(bench.cases * QUEUE_SHARE_LIMIT))
    depth = awaiting_ensure(hospital=hospital, reviewer_id=doctor.pk, count=wanted)
    case_table_analyze()
    deep = min(DEEP_PAGE, math.ceil(depth / QUEUE_PAGE_SIZE))
    deep_after = _page_cursor(doctor.pk, deep)
    deep_path = f"/?after={deep_after}" if deep_after else "/"
    kinds = [
        Kind("page", 1, "/", {}),
        Kind("fragment", 1, "/", FRAGMENT_HEADERS),
        Kind("page", deep, deep_path, {}),
        Kind("fragment", deep, deep_path, FRAGMENT_HEADERS),
    ]
    cookie_headers = signed_in_headers(doctor)
    sizes = {kind.key: _body_size(bench, kind, cookie_headers) for kind in kinds}
    checks = _queries_and_plans(doctor, kinds)

    # Round-robin: each kind's baseline (a static fragment of its size, same cookies), then it.
    round_ = []
    for kind in kinds:
        round_.append(Request("GET", f"/bench/fragment/{sizes[kind.key]}/", headers={**cookie_headers, **kind.headers}))
        round_.append(Request("GET", kind.path, headers={**cookie_headers, **kind.headers}))
    rounds = math.ceil(bench.seconds * REQUESTS_PER_SECOND_CEILING / len(round_)) + 1
    samples: dict[str, dict[str, list[float]]] = {
        side: {kind.key: [] for kind in kinds} for side in ("p50", "p95", "base_p50", "base_p95")
    }
    requests_per_rep = []
    for _rep in range(bench.reps):
        # One client: its latencies come back in the order sent, so position tells the kind.
        result = load_run(bench, [round_ * rounds], warmup=len(round_))
        check_statuses(result, scenario=SCENARIO, allowed=(200,))
        requests_per_rep.append(result.requests)
        for index, kind in enumerate(kinds):
            baseline = result.latencies_ms[2 * index :: len(round_)]
            figure = result.latencies_ms[2 * index + 1 :: len(round_)]
            samples["p50"][kind.key].append(percentile(figure, 0.50))
            samples["p95"][kind.key].append(percentile(figure, 0.95))
            samples["base_p50"][kind.key].append(percentile(baseline, 0.50))
            samples["base_p95"][kind.key].append(percentile(baseline, 0.95))
    stats = {side: {key: median(values) for key, values in by_kind.items()} for side, by_kind in samples.items()}

    deep_note = (
        f"page {deep} of {depth:,} cases awaiting {doctor.email}"
        if deep == DEEP_PAGE
        else f"page {deep} is the deepest at this scale ({depth:,} cases awaiting {doctor.email}), not page 200"
    )
    measures: list[Measure] = []
    for kind in kinds:
        where = "page 1" if kind.page == 1 else deep_note
        common = f"{kind.view}, {sizes[kind.key]:,} B, {checks['queries'][kind.key]} queries; {where}"
        measures.append(
            Measure(SCENARIO, f"{kind.key} p50", stats["p50"][kind.key], stats["base_p50"][kind.key], "ms", False)
        )
        measures.append(
            Measure(
                SCENARIO,
                f"{kind.key} p95",
                stats["p95"][kind.key],
                stats["base_p95"][kind.key],
                "ms",
                False,
                target=TARGET_RATIO,
                note=f"baseline: static fragment of the same size; {common}",
            )
        )
    for view in ("page", "fragment"):
        first, deepest = f"{view} 1", f"{view} {deep}"
        measures.append(
            Measure(
                SCENARIO,
                f"{view} p95, page {deep} vs page 1",
                stats["p95"][deepest],
                stats["p95"][first],
                "ms",
                False,
                target=round(1 / MAX_DEEP_GROWTH, 3),
                note=f"ratio = page-1 p95 ÷ page-{deep} p95; ≥ {1 / MAX_DEEP_GROWTH:.3f} means page {deep} "
                f"÷ page 1 ≤ {MAX_DEEP_GROWTH}; {deep_note}",
            )
        )

    growth: dict[str, float] | str = "n/a at this scale"
    small = bench.facts.get("small_queue_p95_ms")
    if small:
        growth = {}
        for kind in kinds:
            if small.get(kind.key):
                growth[kind.key] = stats["p95"][kind.key] / small[kind.key]
                measures.append(
                    Measure(
                        SCENARIO,
                        f"{kind.key} p95, {bench.scale} vs small scale",
                        stats["p95"][kind.key],
                        small[kind.key],
                        "ms",
                        False,
                        target=round(1 / MAX_SCALE_GROWTH, 3),
                        note=f"ratio = small-scale p95 ÷ this scale's; ≥ {1 / MAX_SCALE_GROWTH:.3f} means growth "
                        f"≤ {MAX_SCALE_GROWTH}",
                    )
                )

    bench.facts[SCENARIO] = {
        "doctor": doctor.email,
        "awaiting": depth,
        "deep_page": deep,
        "bytes": sizes,
        "p50_ms": stats["p50"],
        "p95_ms": stats["p95"],
        "baseline_p50_ms": stats["base_p50"],
        "baseline_p95_ms": stats["base_p95"],
        "p95_deep_over_page_1": {
            view: stats["p95"][f"{view} {deep}"] / stats["p95"][f"{view} 1"] for view in ("page", "fragment")
        },
        "p95_growth_over_small_scale": growth,
        "requests_per_rep": requests_per_rep,
        **checks,
    }
    return measures
