"""previsit_compile: pre-visit summaries for up to 10 000 visits compiled by the real worker
(2 processes) from the real beat's chunks, against one process compiling the same visits in
batches with no Celery.

Setup, in the bench database: the patients whose case count is nearest 20 (up to 10 000;
at tiny scale, every patient with a case; 1 000 at small scale), one visit each two to twenty hours
ahead (inside the bench hospital's lead window) with a pending summary, inserted by
INSERT … SELECT. Summaries already due from the loaded data (or made stale by earlier
scenarios' ingest) are compiled first, so that the beat sends the bench's visits only.

Figure: `summaries_enqueue_due()` in the driver (the beat: claims and one message per 100)
to the last summary written by the worker (its compiled_at), seconds. Baseline: the same
summaries reset to pending and compiled in the driver, 100 at a time: four batched reads
(appointments, cases, messages, decisions), the same compile, one bulk write per batch.
Also measured: the queries of one chunk, in the driver (target ≤ 3).
"""

import os
import signal
import subprocess
import sys
import time
from itertools import batched
from pathlib import Path

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from bench.core import Bench, Measure, interleaved
from bench.portal_access import bench_hospital
from bench.server import ROOT, server_env
from reviews.models import Appointment, Case, Decision, Message, PreVisitSummary
from reviews.previsit import BEAT_CHUNK_SIZE, summaries_claim, summaries_due, summaries_enqueue_due
from reviews.previsit_batch import summaries_compile_chunk_run
from reviews.previsit_compile import FORMAT_VERSION, previsit_summary_from_history

SCENARIO = "previsit_compile"
VISITS = 10_000
# BENCH_SCALE=small is the two-minute check: a tenth of the visits.
VISITS_AT = {"small": 1_000}
CASES_WANTED = 20
VISIT_PREFIX = "bench-previsit-"
CONCURRENCY = 2
WORKER_START_S = 60
POLL_S = 0.2


def run(bench: Bench) -> list[Measure]:
    hospital = bench_hospital()
    setup_started = time.perf_counter()
    _settle_due()
    visits, cases = _book_visits(hospital.pk, VISITS_AT.get(bench.scale, VISITS))
    bench.facts[SCENARIO] = {
        "visits": visits,
        "cases_of_their_patients": cases,
        "cases_per_patient": round(cases / visits, 1) if visits else 0,
        "setup_seconds": round(time.perf_counter() - setup_started, 1),
    }
    if not visits:
        raise RuntimeError(f"{SCENARIO}: the bench hospital has no patient with a case")

    worker = _Worker(bench)
    worker.start()
    digests: dict[str, set[str]] = {"figure": set(), "baseline": set()}
    try:

        def figure() -> float:
            _reset()
            started = timezone.now()
            summaries_enqueue_due()
            deadline = time.monotonic() + max(120, visits / 10)
            while _not_ready() and time.monotonic() < deadline:
                worker.check()
                time.sleep(POLL_S)
            if _not_ready():
                raise RuntimeError(f"{SCENARIO}: the worker did not compile every summary; see {worker.log_path}")
            digests["figure"].add(_check_compiled_once(visits))
            return (_last_compiled_at() - started).total_seconds()

        def baseline() -> float:
            _reset()
            started = time.perf_counter()
            _compile_in_one_loop()
            elapsed = time.perf_counter() - started
            digests["baseline"].add(_check_compiled_once(visits))
            return elapsed

        makespan, loop = interleaved(figure, baseline, reps=bench.reps)
    finally:
        worker.stop()
    # Deterministic compile: the worker wrote exactly what the loop wrote, in every run.
    if len(digests["figure"] | digests["baseline"]) != 1:
        raise RuntimeError(f"{SCENARIO}: the worker's summaries differ from the loop's: {digests}")

    queries = _queries_per_chunk()
    bench.facts[SCENARIO] |= {"queries_per_chunk": queries, "content_digest": digests["figure"].pop()}
    note = f"{visits:,} visits, {cases / visits:.1f} cases per patient, chunks of {BEAT_CHUNK_SIZE}"
    return [
        Measure(SCENARIO, "makespan", makespan, loop, "s", higher_is_better=False, target=1.0, note=note),
        Measure(SCENARIO, "queries per chunk", queries, None, "queries", higher_is_better=False, note="target ≤ 3"),
    ]


# --- Setup --------------------------------------------------------------------------------


def _settle_due() -> None:
    """Compile what is due before the bench's visits exist: the loaded data's visits of
    today and tomorrow, and summaries marked stale by earlier scenarios' cases."""
    while due := summaries_claim(list(summaries_due(now=timezone.now()).values_list("pk", flat=True)[:1000])):
        for chunk in batched(due, BEAT_CHUNK_SIZE):
            summaries_compile_chunk_run(list(chunk))


def _book_visits(hospital_id: int, wanted_visits: int) -> tuple[int, int]:
    """(visits, cases of their patients). Replaces the visits of an earlier run."""
    now = timezone.now()
    with connection.cursor() as cursor:
        cursor.execute(
            "DELETE FROM reviews_previsitsummary WHERE appointment_id IN "
            "(SELECT id FROM reviews_appointment WHERE external_id LIKE %s)",
            [VISIT_PREFIX + "%"],
        )
        cursor.execute("DELETE FROM reviews_appointment WHERE external_id LIKE %s", [VISIT_PREFIX + "%"])
        # Nearest 20 cases first; the busiest patients' hundreds would make one chunk the run.
        cursor.execute(
            """
            WITH chosen AS (
                SELECT patient_id, min(doctor_id) AS doctor_id, count(*) AS cases
                FROM reviews_case WHERE hospital_id = %(hospital)s
                GROUP BY patient_id ORDER BY abs(count(*) - %(wanted)s), patient_id LIMIT %(visits)s
            ), numbered AS (
                SELECT *, row_number() OVER (ORDER BY patient_id) AS n FROM chosen
            ), booked AS (
                INSERT INTO reviews_appointment
                    (hospital_id, patient_id, doctor_id, external_id, scheduled_at, reason, created_at)
                SELECT %(hospital)s, patient_id, doctor_id, %(prefix)s || patient_id,
                       %(now)s + interval '2 hours' + n * interval '6 seconds', 'Antenatal check', %(now)s
                FROM numbered
                RETURNING id
            ), summaries AS (
                INSERT INTO reviews_previsitsummary
                    (appointment_id, status, stale, format_version, content, source_case_ids, attempts, error,
                     updated_at)
                SELECT id, 'pending', false, 0, '{}', '[]', 0, '', %(now)s FROM booked
            )
            SELECT count(*), coalesce(sum(cases), 0) FROM chosen
            """,
            {
                "hospital": hospital_id,
                "wanted": CASES_WANTED,
                "visits": wanted_visits,
                "prefix": VISIT_PREFIX,
                "now": now,
            },
        )
        visits, cases = cursor.fetchone()
    return visits, int(cases)


_OURS = "appointment_id IN (SELECT id FROM reviews_appointment WHERE external_id LIKE %s)"


def _reset() -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE reviews_previsitsummary SET status = 'pending', stale = false, format_version = 0, "
            "content = '{}', source_case_ids = '[]', compiled_at = NULL, compile_started_at = NULL, "
            f"attempts = 0, error = '', updated_at = now() WHERE {_OURS}",
            [VISIT_PREFIX + "%"],
        )


def _not_ready() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT count(*) FROM reviews_previsitsummary WHERE {_OURS} AND status <> 'ready'", [VISIT_PREFIX + "%"]
        )
        return cursor.fetchone()[0]


def _last_compiled_at():
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT max(compiled_at) FROM reviews_previsitsummary WHERE {_OURS}", [VISIT_PREFIX + "%"])
        return cursor.fetchone()[0]


def _check_compiled_once(visits: int) -> str:
    """Every visit has one summary, ready, claim released, no error; a digest of them all."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*), count(DISTINCT s.appointment_id), "
            "count(*) FILTER (WHERE s.status = 'ready' AND s.compile_started_at IS NULL AND s.error = '' "
            "AND s.format_version = %s), md5(string_agg(s.content::text, '|' ORDER BY s.id)) "
            "FROM reviews_previsitsummary s JOIN reviews_appointment a ON a.id = s.appointment_id "
            "WHERE a.external_id LIKE %s",
            [FORMAT_VERSION, VISIT_PREFIX + "%"],
        )
        rows, appointments, ready, digest = cursor.fetchone()
    if not rows == appointments == ready == visits:
        raise RuntimeError(
            f"{SCENARIO}: {visits} visits but {rows} summaries of {appointments} visits, {ready} compiled cleanly"
        )
    return digest


# --- The baseline: one process, batched reads, no Celery --------------------------------------


def _compile_in_one_loop() -> None:
    ids = list(
        PreVisitSummary.objects.filter(appointment__external_id__startswith=VISIT_PREFIX)
        .order_by("appointment__scheduled_at", "pk")
        .values_list("pk", flat=True)
    )
    for chunk in batched(ids, BEAT_CHUNK_SIZE):
        summaries = list(
            PreVisitSummary.objects.filter(pk__in=chunk).select_related("appointment__patient", "appointment__doctor")
        )
        patients = {s.appointment.patient_id for s in summaries}
        cases: dict[tuple[int, int], list[Case]] = {}
        for case in Case.objects.filter(patient_id__in=patients).order_by("received_at", "id"):
            cases.setdefault((case.hospital_id, case.patient_id), []).append(case)
        messages: dict[int, list[Message]] = {}
        for message in (
            Message.objects.filter(case__patient_id__in=patients)
            .only("id", "case_id", "author", "body", "sent_at")
            .order_by("case_id", "sent_at", "id")
        ):
            messages.setdefault(message.case_id, []).append(message)
        decisions: dict[int, list[Decision]] = {}
        for decision in (
            Decision.objects.filter(case__patient_id__in=patients)
            .select_related("doctor")
            .order_by("case_id", "created_at", "id")
        ):
            decisions.setdefault(decision.case_id, []).append(decision)
        now = timezone.now()
        for summary in summaries:
            appointment: Appointment = summary.appointment
            own = cases.get((appointment.hospital_id, appointment.patient_id), [])
            compiled = previsit_summary_from_history(
                appointment,
                cases=own,
                messages={c.pk: messages.get(c.pk, []) for c in own},
                decisions={c.pk: decisions.get(c.pk, []) for c in own},
            )
            summary.content = compiled.content
            summary.source_case_ids = compiled.source_case_ids
            summary.status = PreVisitSummary.Status.READY
            summary.format_version = FORMAT_VERSION
            summary.compiled_at = summary.updated_at = now
        PreVisitSummary.objects.bulk_update(
            summaries, ["content", "source_case_ids", "status", "format_version", "compiled_at", "updated_at"]
        )


def _queries_per_chunk() -> int:
    """The statements one beat chunk costs the worker, counted in the driver."""
    ids = list(
        PreVisitSummary.objects.filter(appointment__external_id__startswith=VISIT_PREFIX)
        .order_by("pk")
        .values_list("pk", flat=True)[:BEAT_CHUNK_SIZE]
    )
    PreVisitSummary.objects.filter(pk__in=ids).update(stale=True)  # due again, as after a new case
    claimed = summaries_claim(ids)
    with CaptureQueriesContext(connection) as queries:
        run = summaries_compile_chunk_run(claimed)
    if len(run.ready) != len(ids):
        raise RuntimeError(f"{SCENARIO}: the measured chunk compiled {len(run.ready)} of {len(ids)}")
    return len(queries.captured_queries)


# --- The worker ---------------------------------------------------------------------------


class _Worker:
    """`celery -A portal worker --concurrency 2` on the bench's queue, in its own process group."""

    def __init__(self, bench: Bench):
        self.queue = bench.facts["queue"]
        self.env = server_env(bench.database_url, broker_url=bench.facts["broker_url"], queue=self.queue)
        self.log_path: Path = bench.workdir / "previsit-worker.log"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        self.log_path.write_text("")
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "celery",
                    "-A",
                    "portal",
                    "worker",
                    "--pool=prefork",
                    f"--concurrency={CONCURRENCY}",
                    f"--queues={self.queue}",
                    f"--hostname={self.queue}-previsit@localhost",
                    "--without-gossip",
                    "--without-mingle",
                    "--without-heartbeat",
                    "--loglevel=INFO",
                ],
                cwd=ROOT,
                env={**self.env, "PYTHONPATH": str(ROOT)},
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + WORKER_START_S
        while " ready." not in self.log_path.read_text(errors="replace"):
            self.check()
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"{SCENARIO}: the worker was not ready in {WORKER_START_S} s; see {self.log_path}")
            time.sleep(0.1)

    def check(self) -> None:
        if self.process is None or self.process.poll() is not None:
            raise RuntimeError(f"{SCENARIO}: the worker exited; see {self.log_path}")

    def stop(self) -> None:
        """Warm shutdown of the whole process group; killed if it takes longer than 20 s."""
        if self.process is None or self.process.poll() is not None:
            return
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
        except ProcessLookupError:
            pass
