"""next_case: claims per second with 8 doctors pressing "Next case" together (POST /next/,
the plain form post, answered by a redirect to the claimed case); baseline: 8 threads of raw
psycopg running the same claim transaction in a loop (the same candidate selection with
`FOR UPDATE SKIP LOCKED`, the conditional UPDATE, the release of the doctor's previous
claim), for the same time.

The 8 doctors compete for the same cases: 64 urgent cases of a colleague's queue, past their
due time and escalated to all 8, which "Next case" offers before a doctor's own queue. That
is what SKIP LOCKED is for; in disjoint queues nobody could ever take a case twice. Moving on
releases the previous case, so the doctors keep taking the free cases at the head of the
shared ones, which is as hot as contention gets.

"Claimed twice" means a case claimed by a second doctor while the first still held it. The
audit chain orders claims as they committed (each claim holds the chain head until commit),
so replaying the run's `case.claimed` events — each doctor holding one case, giving up the
previous one when they take the next — finds any such overlap; the doctors' claims left in
the database must be those the replay ends with, and every answered press must be one claim.
"""

import threading
import time
from datetime import UTC, datetime, timedelta

import psycopg
from django.db import connection

from bench.core import Bench, Measure, Request, check_statuses, interleaved, load_run
from bench.doctor_queues import awaiting_ensure, claims_release
from bench.portal_access import bench_doctors, bench_hospital, signed_in_headers
from reviews.models import CaseStatus, Urgency

SCENARIO = "next_case"
DOCTORS = 8
SHARED_CASES = 64
# Each doctor holds one case and each concurrent press locks one candidate: with fewer free
# shared cases than this a press could find them all taken and fall through to its own queue.
SHARED_CASES_MIN = 2 * DOCTORS + 1
TARGET_RATIO = 0.5
# Presses per doctor and second that no server of this size reaches: the lists outlast the window.
PRESSES_PER_SECOND_CEILING = 150

_CANDIDATE = """
    SELECT c.* FROM reviews_case c {join}
    WHERE (c.claimed_by_id IS NULL OR c.claim_expires_at <= %(now)s)
      AND c.hospital_id = %(hospital)s AND c.status = 'awaiting_review' AND {mine}
    ORDER BY c.urgency, c.due_at, c.id
    LIMIT 1
    FOR UPDATE OF c SKIP LOCKED
"""
# The two candidate selections of reviews.services._next_candidate: escalated to the doctor, else their own.
ESCALATED_CANDIDATE = _CANDIDATE.format(
    join="JOIN reviews_caseescalation e ON e.case_id = c.id",
    mine="e.breach_due_at = c.due_at AND e.doctor_id = %(doctor)s",
)
OWN_CANDIDATE = _CANDIDATE.format(join="", mine="c.reviewer_id = %(doctor)s")
CLAIM = """
    UPDATE reviews_case SET claimed_by_id = %(doctor)s, claim_expires_at = %(until)s,
        version = version + 1, updated_at = %(now)s
    WHERE id = %(case)s AND version = %(version)s
"""
RELEASE_PREVIOUS = """
    UPDATE reviews_case SET claimed_by_id = NULL, claim_expires_at = NULL, version = version + 1, updated_at = %(now)s
    WHERE claim_expires_at IS NOT NULL AND claimed_by_id = %(doctor)s AND status = 'awaiting_review'
      AND NOT id = %(case)s
"""


def _shared_cases_prepare(*, hospital, colleague_id: int, doctor_ids: list[int]) -> list[int]:
    """The colleague's first SHARED_CASES cases awaiting review become urgent, past due and
    escalated to every one of `doctor_ids` (the current breach: breach_due_at = due_at)."""
    have = awaiting_ensure(hospital=hospital, reviewer_id=colleague_id, count=SHARED_CASES)
    if have < SHARED_CASES_MIN:
        # A small database that earlier runs with --reuse have used up: load it again.
        raise RuntimeError(f"{SCENARIO}: only {have} cases could be put in the colleague's queue")
    with connection.cursor() as cursor:
        cursor.execute(
            """
            WITH shared AS (
                SELECT id FROM reviews_case WHERE reviewer_id = %(colleague)s AND status = %(awaiting)s
                ORDER BY id LIMIT %(count)s
            )
            UPDATE reviews_case c
            SET urgency = %(urgent)s, due_at = date_trunc('second', now()) - interval '1 hour',
                escalated_due_at = date_trunc('second', now()) - interval '1 hour',
                claimed_by_id = NULL, claim_expires_at = NULL
            FROM shared WHERE c.id = shared.id
            RETURNING c.id, c.due_at
            """,
            {
                "colleague": colleague_id,
                "awaiting": CaseStatus.AWAITING_REVIEW,
                "count": SHARED_CASES,
                "urgent": int(Urgency.URGENT),
            },
        )
        shared = cursor.fetchall()
        cursor.execute(
            """
            INSERT INTO reviews_caseescalation (case_id, doctor_id, breach_due_at, created_at)
            SELECT s.id, d.id, s.due_at, now()
            FROM unnest(%s::bigint[], %s::timestamptz[]) AS s(id, due_at), unnest(%s::bigint[]) AS d(id)
            ON CONFLICT DO NOTHING
            """,
            [[row[0] for row in shared], [row[1] for row in shared], doctor_ids],
        )
    return [row[0] for row in shared]


def _audit_high_water() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT coalesce(max(id), 0) FROM reviews_auditevent")
        return cursor.fetchone()[0]


def _claims_replay(*, after_id: int, doctor_ids: list[int]) -> tuple[int, list[str], dict[int, int]]:
    """(claims, overlaps, who holds what at the end) from the run's `case.claimed` events."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT actor_user_id, case_id FROM reviews_auditevent "
            "WHERE id > %s AND action = 'case.claimed' AND details->>'via' = 'next_case' AND actor_user_id = ANY(%s) "
            "ORDER BY id",
            [after_id, doctor_ids],
        )
        events = cursor.fetchall()
    holder: dict[int, int] = {}  # case -> doctor
    current: dict[int, int] = {}  # doctor -> case
    overlaps: list[str] = []
    for doctor_id, case_id in events:
        previous = current.get(doctor_id)
        if previous is not None and previous != case_id and holder.get(previous) == doctor_id:
            del holder[previous]  # moving on released it
        other = holder.get(case_id)
        if other is not None and other != doctor_id:
            overlaps.append(f"case {case_id}: doctor {doctor_id} claimed it while doctor {other} held it")
        holder[case_id] = doctor_id
        current[doctor_id] = case_id
    return len(events), overlaps, holder


def _claims_held(doctor_ids: list[int]) -> dict[int, int]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT id, claimed_by_id FROM reviews_case "
            "WHERE claimed_by_id = ANY(%s) AND status = %s AND claim_expires_at IS NOT NULL",
            [doctor_ids, CaseStatus.AWAITING_REVIEW],
        )
        return dict(cursor.fetchall())


def _raw_claim_loop(
    *, database_url: str, hospital_id: int, doctor_id: int, lease: timedelta, barrier, deadline_box, out
) -> None:
    """One doctor's claims, as fast as a bare psycopg connection can take them; the count to `out`."""
    claims = 0
    with psycopg.connect(database_url) as conn:
        barrier.wait()
        deadline = deadline_box[0]
        while time.perf_counter() < deadline:
            with conn.transaction(), conn.cursor() as cursor:
                now = datetime.now(UTC)
                params = {"now": now, "hospital": hospital_id, "doctor": doctor_id}
                row = cursor.execute(ESCALATED_CANDIDATE, params).fetchone()
                if row is None:
                    row = cursor.execute(OWN_CANDIDATE, params).fetchone()
                if row is None:
                    continue
                version = row[[column.name for column in cursor.description].index("version")]
                params |= {"case": row[0], "version": version, "until": now + lease}
                if cursor.execute(CLAIM, params).rowcount:
                    cursor.execute(RELEASE_PREVIOUS, params)
                    claims += 1
    out.append(claims)


def _raw_claims_per_second(bench: Bench, *, hospital_id: int, doctor_ids: list[int], lease: timedelta) -> float:
    barrier = threading.Barrier(len(doctor_ids) + 1)
    deadline_box = [0.0]
    out: list[int] = []
    threads = [
        threading.Thread(
            target=_raw_claim_loop,
            kwargs={
                "database_url": bench.database_url,
                "hospital_id": hospital_id,
                "doctor_id": doctor_id,
                "lease": lease,
                "barrier": barrier,
                "deadline_box": deadline_box,
                "out": out,
            },
        )
        for doctor_id in doctor_ids
    ]
    for thread in threads:
        thread.start()
    started = time.perf_counter()
    deadline_box[0] = started + bench.seconds
    barrier.wait()
    for thread in threads:
        thread.join()
    if len(out) != len(doctor_ids):
        raise RuntimeError(f"{SCENARIO}: a raw claim loop failed (see the traceback above)")
    return sum(out) / (time.perf_counter() - started)


def run(bench: Bench) -> list[Measure]:
    hospital = bench_hospital()
    doctors = bench_doctors()
    pressing = doctors[1 : DOCTORS + 1]  # doctor01's queue is queue_page's
    doctor_ids = [doctor.pk for doctor in pressing]
    colleague = doctors[-1]
    shared = _shared_cases_prepare(hospital=hospital, colleague_id=colleague.pk, doctor_ids=doctor_ids)
    presses = int(bench.seconds * PRESSES_PER_SECOND_CEILING)
    workers = [[Request("POST", "/next/", headers=signed_in_headers(doctor))] * presses for doctor in pressing]
    checked: list[dict] = []

    def portal() -> float:
        claims_release(doctor_ids=doctor_ids)
        after_id = _audit_high_water()
        result = load_run(bench, workers)
        check_statuses(result, scenario=SCENARIO, allowed=(302,))
        claims, overlaps, holder = _claims_replay(after_id=after_id, doctor_ids=doctor_ids)
        held = _claims_held(doctor_ids)
        checked.append({"presses": result.ok, "claims": claims, "overlaps": len(overlaps), "held_at_end": len(held)})
        if overlaps:
            raise RuntimeError(f"{SCENARIO}: cases claimed twice: {overlaps[:10]}")
        if held != holder:
            raise RuntimeError(f"{SCENARIO}: claims left {held} differ from the audit's replay {holder}")
        if claims != result.ok:
            raise RuntimeError(f"{SCENARIO}: {result.ok} presses answered but {claims} claims audited")
        if result.requests >= presses * len(workers):
            raise RuntimeError(f"{SCENARIO}: the doctors ran out of presses before the window ended")
        return claims / result.elapsed

    def raw() -> float:
        claims_release(doctor_ids=doctor_ids)
        return _raw_claims_per_second(bench, hospital_id=hospital.pk, doctor_ids=doctor_ids, lease=hospital.claim_lease)

    figure, baseline = interleaved(portal, raw, reps=bench.reps)
    claims_release(doctor_ids=doctor_ids)
    bench.facts[SCENARIO] = {
        "doctors": [doctor.email for doctor in pressing],
        "shared_cases": len(shared),
        "escalated_from": colleague.email,
        "runs": checked,
        "claims_per_second": figure,
        "raw_claims_per_second": baseline,
    }
    return [
        Measure(
            SCENARIO,
            f"claims/s, {DOCTORS} doctors",
            figure,
            baseline,
            "claims/s",
            True,
            target=TARGET_RATIO,
            note=f"{len(shared)} escalated cases shared by all {DOCTORS}; no case claimed twice in "
            f"{sum(run['claims'] for run in checked):,} claims (audit replay)",
        )
    ]
