"""ingest_single: POST /api/v1/cases/ at concurrency 8 → cases/s; baseline: the same requests
to a minimal view of the same server answering 204."""

from bench.core import Bench, Measure, Request, check_statuses, interleaved, load_run
from bench.scenarios._cases import api_headers, case_bodies, case_writer, dumps

CONCURRENCY = 8
# Enough bodies that no worker runs out within the window at a few thousand requests/s.
PER_WORKER = {"tiny": 300, "small": 1500, "default": 3000, "large": 3000}


def run(bench: Bench) -> list[Measure]:
    writer = case_writer()
    headers = api_headers(bench.api_token)
    per_worker = PER_WORKER[bench.scale]
    noop_body = dumps(case_bodies(writer, 1)[0])
    p95s: dict[str, list[float]] = {"figure": [], "baseline": []}

    def figure() -> float:
        workers = [
            [Request("POST", "/api/v1/cases/", dumps(body)) for body in case_bodies(writer, per_worker)]
            for _ in range(CONCURRENCY)
        ]
        result = load_run(bench, workers, base_headers=headers)
        check_statuses(result, scenario="ingest_single", allowed=(201,))
        p95s["figure"].append(result.p95)
        return result.items_per_second

    def baseline() -> float:
        workers = [[Request("POST", "/bench/noop/", noop_body)] * (per_worker * 4) for _ in range(CONCURRENCY)]
        result = load_run(bench, workers, base_headers=headers)
        check_statuses(result, scenario="ingest_single baseline", allowed=(204,))
        p95s["baseline"].append(result.p95)
        return result.items_per_second

    # One short untimed round so both paths have warm workers, imports and connections.
    load_run(bench, [[Request("POST", "/bench/noop/", noop_body)] * 20] * CONCURRENCY, seconds=2, base_headers=headers)
    value, base = interleaved(figure, baseline, reps=bench.reps)
    bench.facts["ingest_single"] = {"p95_ms": p95s["figure"], "baseline_p95_ms": p95s["baseline"]}
    return [
        Measure(
            "ingest_single",
            "cases/s at concurrency 8",
            value,
            base,
            "/s",
            target=0.3,
            note=f"p95 {sorted(p95s['figure'])[len(p95s['figure']) // 2]:.0f} ms",
        )
    ]
