"""ingest_batch: POST /api/v1/cases/batch/ with 500 cases per request → cases/s; baseline: raw
psycopg `COPY` of the same cases, pre-parsed into rows (no validation, screening or audit)."""

import json
import threading
import time
from datetime import datetime

import psycopg
from django.utils import timezone

from bench.core import Bench, Measure, Request, check_statuses, interleaved, load_run
from bench.portal_access import bench_doctors, bench_hospital
from bench.scenarios._cases import api_headers, case_bodies, case_writer, dumps
from reviews.bench_data import _copy
from reviews.models import Case, Message, Patient

BATCH = 500
CONCURRENCY = 2
BATCHES_PER_WORKER = {"tiny": 2, "small": 6, "default": 12, "large": 12}


def _case_rows(bodies: list[dict], *, first_id: int, hospital_id: int, doctors: dict, patient_ids: list[int]):
    """The rows the portal would store for `bodies`, parsed before the clock starts."""
    now = timezone.now()
    cases, messages = [], []
    for offset, body in enumerate(bodies):
        case_id = first_id + offset
        doctor_id = doctors[body["doctor"]]
        first = body["messages"][0]
        cases.append(
            (
                case_id,
                hospital_id,
                doctor_id,
                doctor_id,
                patient_ids[offset % len(patient_ids)],
                body["external_id"],
                "auto_released",
                1,
                json.dumps(body["avatar"]["flags"]),
                body["avatar"]["confidence"],
                "[]",
                False,
                first["body"][:200],
                now,
                now,
                None,
                None,
                1,
                now,
                None,
            )
        )
        for message in body["messages"]:
            sent_at = datetime.fromisoformat(message["sent_at"])
            messages.append((case_id, message["author"], None, message["body"], sent_at, now))
    return cases, messages


def run(bench: Bench) -> list[Measure]:
    writer = case_writer(seed=11)
    headers = api_headers(bench.api_token)
    batches = BATCHES_PER_WORKER[bench.scale]
    hospital = bench_hospital()
    doctors = {d.doctor_profile.licence_number: d.pk for d in bench_doctors()}
    patient_ids = list(Patient.objects.filter(hospital=hospital).values_list("pk", flat=True)[:5000])

    def figure() -> float:
        workers = [
            [
                Request("POST", "/api/v1/cases/batch/", dumps({"cases": case_bodies(writer, BATCH)}), items=BATCH)
                for _ in range(batches)
            ]
            for _ in range(CONCURRENCY)
        ]
        result = load_run(bench, workers, seconds=bench.seconds * 2, base_headers=headers)
        check_statuses(result, scenario="ingest_batch", allowed=(200, 201, 207))
        return result.items_per_second

    def baseline() -> float:
        per_worker = []
        with psycopg.connect(bench.database_url, autocommit=True) as conn:
            sequence = conn.execute("SELECT pg_get_serial_sequence(%s, 'id')", [Case._meta.db_table]).fetchone()[0]
            total = CONCURRENCY * batches * BATCH
            last = conn.execute("SELECT setval(%s, nextval(%s) + %s - 1)", [sequence, sequence, total]).fetchone()[0]
        first_id = last - total + 1
        for worker in range(CONCURRENCY):
            rounds = []
            for number in range(batches):
                start = first_id + (worker * batches + number) * BATCH
                rounds.append(
                    _case_rows(
                        case_bodies(writer, BATCH),
                        first_id=start,
                        hospital_id=hospital.pk,
                        doctors=doctors,
                        patient_ids=patient_ids,
                    )
                )
            per_worker.append(rounds)
        connections = [psycopg.connect(bench.database_url, autocommit=True) for _ in range(CONCURRENCY)]
        barrier = threading.Barrier(CONCURRENCY + 1)
        finished: list[float] = []

        def copy_all(conn, rounds) -> None:
            barrier.wait()
            for cases, messages in rounds:
                with conn.transaction(), conn.cursor() as cursor:
                    _copy(cursor, Case, cases)
                    _copy(cursor, Message, messages)
            finished.append(time.perf_counter())

        threads = [
            threading.Thread(target=copy_all, args=(conn, rounds))
            for conn, rounds in zip(connections, per_worker, strict=True)
        ]
        for thread in threads:
            thread.start()
        started = time.perf_counter()
        barrier.wait()
        for thread in threads:
            thread.join()
        for conn in connections:
            conn.close()
        return CONCURRENCY * batches * BATCH / (max(finished) - started)

    value, base = interleaved(figure, baseline, reps=bench.reps)
    return [
        Measure(
            "ingest_batch",
            "cases/s, 500 per request, 2 in flight",
            value,
            base,
            "cases/s",
            target=0.2,
        )
    ]
