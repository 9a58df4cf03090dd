"""`make bench` (`python -m bench`): load a bench database, start a real gunicorn, run every
scenario next to its baseline, print one table and write bench-results.json.

    BENCH_SCALE=small make bench        # 50 000 cases, about three minutes
    make bench                          # 1 000 000 cases (default)
    BENCH_SCALE=large make bench        # 10 000 000 cases
    python -m bench --scale tiny --only triage,ingest_single   # one piece, for development

PostgreSQL comes from BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/postgres:
the bench creates and drops its own databases beside it), Redis from BENCH_BROKER_URL
(default redis://127.0.0.1:6379/0, on a queue of the bench's own).
"""

import argparse
import importlib
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import time
import traceback
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from bench.core import SCALES, Bench, Measure
from bench.server import ROOT, Gunicorn, server_env

SCENARIOS = (
    "triage",
    "ingest_single",
    "ingest_batch",
    "api_pull",
    "queue_page",
    "next_case",
    "review_action",
    "previsit_compile",
)
SECONDS = {"tiny": 1.5, "small": 2.5, "default": 8.0, "large": 8.0}


def log(line: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S', time.gmtime())}] {line}", file=sys.stderr, flush=True)


def database_url(base: str, name: str) -> str:
    parts = urlsplit(base)
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, ""))


def psql_args(url: str) -> list[str]:
    parts = urlsplit(url)
    return ["-h", parts.hostname or "127.0.0.1", "-p", str(parts.port or 5432), "-U", parts.username or "postgres"]


def manage(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}")
    return done.stdout


def fresh_database(base_url: str, name: str, *, cases: int, broker_url: str, queue: str) -> float:
    """Drop, create, migrate and load `name` with `cases` bench cases; seconds the load took."""
    args = psql_args(base_url)
    subprocess.run(["dropdb", *args, "--if-exists", "--force", name], check=True)
    subprocess.run(["createdb", *args, name], check=True)
    env = server_env(database_url(base_url, name), broker_url=broker_url, queue=queue)
    manage(env, "migrate", "--no-input", "-v", "0")
    started = time.perf_counter()
    manage(env, "bench_data", "--cases", str(cases))
    return time.perf_counter() - started


def pgbench_select_tps(base_url: str, seconds: int) -> float:
    """The machine's own figure for context: pgbench's built-in read-only script."""
    args = psql_args(base_url)
    name = "portal_bench_pgbench_" + str(os.getpid())
    subprocess.run(["dropdb", *args, "--if-exists", "--force", name], check=True)
    subprocess.run(["createdb", *args, name], check=True)
    subprocess.run(["pgbench", *args, "-i", "-q", "-s", "10", name], check=True, capture_output=True)
    done = subprocess.run(
        ["pgbench", *args, "-S", "-c", "8", "-j", "2", "-T", str(seconds), name],
        check=True,
        capture_output=True,
        text=True,
    )
    subprocess.run(["dropdb", *args, "--if-exists", "--force", name], check=True)
    match = re.search(r"tps = ([0-9.]+)", done.stdout)
    return float(match.group(1)) if match else 0.0


def small_queue_p95(reps: int, *, reuse: bool) -> dict:
    """queue_page's p95s on a fresh small-scale database, from a run of this driver."""
    workdir = ROOT / "bench" / ".work"
    workdir.mkdir(exist_ok=True)
    output = workdir / "small-queue.json"
    command = [sys.executable, "-m", "bench", "--scale", "small", "--only", "queue_page", "--no-growth"]
    command += ["--reps", str(reps), "--output", str(output)] + (["--reuse"] if reuse else [])
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"the small-scale queue run failed:\n{done.stderr[-3000:]}")
    details = json.loads(output.with_name(output.stem + "-details.json").read_text())
    return details["queue_page"]["p95_ms"]


def print_table(measures: list[Measure], out=sys.stdout) -> None:
    header = ("scenario", "metric", "figure", "baseline", "ratio", "target", "")
    rows = [header]
    for m in measures:
        rows.append(
            (
                m.scenario,
                m.metric,
                f"{m.value:,.2f} {m.unit}",
                "" if m.baseline is None else f"{m.baseline:,.2f} {m.unit}",
                "" if m.ratio is None else f"{m.ratio:.3f}",
                "" if m.target is None else f"≥ {m.target:g}",
                {True: "met", False: "MISSED", None: ""}[m.met],
            )
        )
    widths = [max(len(str(row[i])) for row in rows) for i in range(len(header))]
    for index, row in enumerate(rows):
        print("  ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip(), file=out)
        if index == 0:
            print("  ".join("-" * width for width in widths), file=out)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", default=os.environ.get("BENCH_SCALE", "default"), choices=sorted(SCALES))
    parser.add_argument("--only", default="", help="Comma-separated scenarios (default: all).")
    parser.add_argument("--reps", type=int, default=3, help="Alternating runs of figure and baseline (median).")
    parser.add_argument("--output", default="bench-results.json", help="Where to write the results.")
    parser.add_argument("--reuse", action="store_true", help="Keep an already loaded database of this scale.")
    parser.add_argument("--no-growth", action="store_true", help="Skip the small-scale queue run (growth).")
    parser.add_argument("--drop-after", action="store_true", help="Drop the bench database at the end.")
    options = parser.parse_args(argv)

    only = [name for name in options.only.split(",") if name] or list(SCENARIOS)
    unknown = sorted(set(only) - set(SCENARIOS))
    if unknown:
        parser.error(f"unknown scenario(s) {', '.join(unknown)}; choose from {', '.join(SCENARIOS)}")
    for tool in ("pgbench", "createdb", "dropdb", "psql"):
        if shutil.which(tool) is None:
            sys.exit(f"bench needs {tool} (Debian: postgresql-client / postgresql-contrib).")

    base_url = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres")
    broker_url = os.environ.get("BENCH_BROKER_URL", "redis://127.0.0.1:6379/0")
    queue = f"bench-{os.getpid()}"
    cases = SCALES[options.scale]
    # A suffix keeps concurrent benches (several developers on one server) apart.
    suffix = os.environ.get("BENCH_DATABASE_NAME_SUFFIX", "")
    name = f"portal_bench_{options.scale}" + (f"_{suffix}" if suffix else "")
    url = database_url(base_url, name)
    started = time.perf_counter()
    facts: dict = {
        "scale": options.scale,
        "cases": cases,
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
            "memory_gb": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
        },
    }

    if "queue_page" in only and options.scale not in ("tiny", "small") and not options.no_growth:
        # Growth with scale: the same queue pages on a small database, in this run.
        log("queue_page at the small scale first, for growth with scale …")
        facts["small_queue_p95_ms"] = small_queue_p95(options.reps, reuse=options.reuse)
    loaded = False
    if options.reuse:
        check = subprocess.run(
            ["psql", *psql_args(base_url), "-d", name, "-tAc", "SELECT count(*) FROM reviews_case"],
            capture_output=True,
            text=True,
            check=False,
        )
        loaded = check.returncode == 0 and check.stdout.strip().isdigit() and int(check.stdout) >= cases
    if loaded:
        # A database loaded by an older checkout gets this one's migrations (indexes, triggers).
        manage(server_env(url, broker_url=broker_url, queue=queue), "migrate", "--no-input", "-v", "0")
    else:
        log(f"loading {cases:,} cases into {name} …")
        facts["load_seconds"] = round(
            fresh_database(base_url, name, cases=cases, broker_url=broker_url, queue=queue), 1
        )
        log(f"loaded in {facts['load_seconds']} s")

    env = server_env(url, broker_url=broker_url, queue=queue)
    os.environ.update(env)
    manage(env, "collectstatic", "--no-input", "-v", "0")
    log("pgbench -S for context …")
    facts["pgbench_select_tps"] = pgbench_select_tps(base_url, seconds=5 if options.scale in ("tiny", "small") else 10)

    import django

    django.setup()
    from bench.portal_access import bench_api_token

    workdir = ROOT / "bench" / ".work"
    workdir.mkdir(exist_ok=True)
    server = Gunicorn(env, workdir / "gunicorn.log")
    server.start()
    bench = Bench(
        scale=options.scale,
        cases=cases,
        database_url=url,
        server=server.url,
        api_token=bench_api_token(),
        workdir=workdir,
        reps=options.reps,
        seconds=SECONDS[options.scale],
        facts=facts,
    )
    bench.facts["broker_url"] = broker_url
    bench.facts["queue"] = queue
    bench.facts["no_growth"] = options.no_growth
    bench.facts["base_database_url"] = base_url
    measures: list[Measure] = []
    failures: list[str] = []
    try:
        for scenario in only:
            log(f"{scenario} …")
            scenario_started = time.perf_counter()
            try:
                module = importlib.import_module(f"bench.scenarios.{scenario}")
                measures.extend(module.run(bench))
            except Exception:
                failures.append(scenario)
                log(f"{scenario} FAILED:\n{traceback.format_exc()}")
            log(f"{scenario} took {time.perf_counter() - scenario_started:.1f} s")
    finally:
        server.stop()
        if options.drop_after:
            from django.db import connections

            connections.close_all()
            subprocess.run(["dropdb", *psql_args(base_url), "--if-exists", "--force", name], check=False)

    facts["total_seconds"] = round(time.perf_counter() - started, 1)
    rows = [m.as_json() for m in measures]
    rows.append(
        {
            "scenario": "machine",
            "metric": "pgbench -S (8 clients)",
            "value": facts["pgbench_select_tps"],
            "baseline": None,
            "ratio": None,
            "unit": "TPS",
        }
    )
    Path(options.output).write_text(json.dumps(rows, indent=2, ensure_ascii=False) + "\n")
    details = Path(options.output).with_name(Path(options.output).stem + "-details.json")
    details.write_text(json.dumps(facts, indent=2, ensure_ascii=False, default=str) + "\n")
    print()
    print(
        f"Scale {options.scale}: {cases:,} cases · {facts['machine']['cpus']} CPUs · "
        f"pgbench -S {facts['pgbench_select_tps']:,.0f} TPS · {facts['total_seconds']:.0f} s in all"
    )
    print_table(measures)
    print(f"\nWrote {options.output} and {details.name}.")
    if failures:
        print(f"Scenarios that failed: {', '.join(failures)}", file=sys.stderr)
        sys.exit(1)
