"""review_action: doctors approving and correcting cases, 10 and then 50 of them at once, each
on their own cases → decisions per second and p95 ms; baseline: pgbench running the SQL
transaction of a decision at the same concurrency.

Each load worker is one signed-in doctor posting the case page's forms (plain posts, answered
by a redirect, as without JavaScript) down a list of cases of their own queue that setup has
already claimed for them, alternating approve and correct. Lists are fresh for every run, so
no case is decided twice by design; afterwards SQL checks that none was, that every answered
post made exactly one decision, and that each decision has its audit event.

The baseline runs the statements a decision runs inside its transaction (captured from a real
approval in the driver, kept in `bench.facts`): lock the case, check the licence, read the
draft, the conditional UPDATE, the Decision INSERT, the audit chain's head lock, event INSERT
and head update, and the reads that build the webhook payload. It extends the hospital's audit
chain correctly (the event's hash computed in SQL over the same canonical JSON), so the one
head row serialises its writers exactly as it does the portal's. It works on random cases of a
range kept for it (the oldest ids, which the portal's lists never use), deciding them again and
again: what it costs is the transaction, not the state it leaves.
"""

import itertools
import math
import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode, urlsplit

from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import User
from bench.core import Bench, Measure, Request, check_statuses, load_run, median, percentile
from bench.doctor_queues import awaiting_ensure, claims_release
from bench.portal_access import bench_doctors, bench_hospital, signed_in_headers
from reviews import services
from reviews.audit import audit_chain_hash
from reviews.models import AuditEvent, Case, CaseStatus, Decision

SCENARIO = "review_action"
CONCURRENCY = (10, 50)
TARGET_RATIO = 0.3
MIN_KEPT_AT_50 = 0.8  # throughput at 50 doctors ÷ at 10
# Decisions per second no server of this size reaches: each doctor's list outlasts the window.
ACTIONS_PER_SECOND_CEILING = 600
# At most this share of the database in one run's lists: at the tiny scale the lists run short
# (and say so) rather than turn every case into one awaiting review, which would leave the
# other scenarios nothing on the next run with --reuse.
LISTS_SHARE_LIMIT = 0.05
BASELINE_CASES_SHARE = 0.1  # of the database's cases, for pgbench's random picks
BASELINE_CASES_MAX = 20_000
CORRECTED_TEXT = "Please book a visit this week so that we can examine you; until then follow the advice above."
CORRECTION_CATEGORY = Decision.Category.INCOMPLETE


# --- The baseline's transaction ---------------------------------------------------------

_HOSPITAL_COLUMNS = (
    "name, slug, sla_emergency_minutes, sla_urgent_minutes, sla_soon_minutes, sla_routine_minutes, "
    "routine_sample_rate, confidence_threshold, claim_lease_minutes, require_2fa, summary_lead_hours"
)


def _text(literal: str) -> str:
    """A SQL string literal pgbench leaves alone: it reads every ":name" in a script as a
    variable, even inside quotes (JSON's `"ip":null`, to_char's `HH24:MI`), so such a colon
    goes in as a literal of its own."""
    return "'" + re.sub(r":(?=[A-Za-z_])", ":' || '", literal) + "'"


def _canonical_json(action: str, details_sql: str) -> str:
    """reviews.audit.audit_canonical_json in SQL: sorted keys, no spaces, UTC to the microsecond."""
    at = "to_char(now() AT TIME ZONE 'UTC', " + _text('YYYY-MM-DD"T"HH24:MI:SS.US') + ")"
    return " || ".join(
        (
            _text(f'{{"action":"{action}","actor_api_client_id":null,"actor_type":"user","actor_user_id":'),
            ":reviewer_id::text",
            _text(',"at":"'),
            at,
            _text('+00:00","case_id":'),
            ":id::text",
            _text(',"details":'),
            details_sql,
            _text(',"hospital_id":'),
            ":hospital_id::text",
            _text(',"ip":null}'),
        )
    )


def _decision_script(*, action: str, status: str) -> str:
    """One pgbench transaction: the statements of reviews.services._decide, in its order."""
    correcting = action == Decision.Action.CORRECT
    final_text = ":corrected::text" if correcting else ":body::text"
    category = f"'{CORRECTION_CATEGORY}'" if correcting else "''"
    details = (
        f"""'{{"category":"{CORRECTION_CATEGORY}","decision_id":' || :decision_id::text || '}}'"""
        if correcting
        else """'{"decision_id":' || :decision_id::text || '}'"""
    )
    canonical = _canonical_json(f"case.{status}", details)
    return f"""\\set id random(:lo, :hi)
BEGIN;
SELECT c.*, {_HOSPITAL_COLUMNS} FROM reviews_case c JOIN accounts_hospital h ON c.hospital_id = h.id
    WHERE c.id = :id LIMIT 21 FOR UPDATE OF c \\gset
SELECT 1 AS a FROM accounts_doctorprofile WHERE hospital_id = :hospital_id AND user_id = :reviewer_id LIMIT 1;
SELECT id AS message_id, author, doctor_id AS message_doctor_id, body, sent_at, created_at AS message_created_at
    FROM reviews_message WHERE case_id = :id AND author = 'avatar' ORDER BY sent_at DESC, id DESC LIMIT 1 \\gset
UPDATE reviews_case SET version = version + 1, status = '{status}', hold = false, claimed_by_id = NULL,
    claim_expires_at = NULL, updated_at = now() WHERE id = :id AND version = :version;
INSERT INTO reviews_decision (case_id, doctor_id, action, original_text, final_text, correction_category, note,
    created_at) VALUES (:id, :reviewer_id, '{action}', :body, {final_text}, {category}, '', now())
    RETURNING id AS decision_id \\gset
SELECT * FROM reviews_webhookendpoint WHERE active AND hospital_id = :hospital_id;
INSERT INTO reviews_auditchainhead (hospital_id, last_event_id, last_hash) VALUES (:hospital_id, NULL, '')
    ON CONFLICT (hospital_id) DO UPDATE SET last_hash = reviews_auditchainhead.last_hash
    RETURNING last_event_id, last_hash \\gset
WITH event AS (
    INSERT INTO reviews_auditevent (hospital_id, actor_type, actor_user_id, actor_api_client_id, action, case_id, at,
        ip, details, prev_hash, hash)
    SELECT :hospital_id::bigint, 'user', :reviewer_id::bigint, NULL::bigint, 'case.{status}', :id::bigint, now(),
        NULL::inet, canonical::jsonb -> 'details',
        :last_hash::text, encode(sha256(convert_to(:last_hash::text || canonical, 'UTF8')), 'hex')
    FROM (SELECT {canonical} AS canonical) AS new
    RETURNING id, hospital_id, hash
), moved AS (
    UPDATE reviews_auditchainhead AS head SET last_event_id = event.id, last_hash = event.hash
    FROM event WHERE head.hospital_id = event.hospital_id
)
SELECT id FROM event ORDER BY id;
COMMIT;
"""


def _statement_shapes(sqls: list[str]) -> list[str]:
    """What each statement does to which table, to compare the portal's with the script's."""
    shapes = []
    for sql in sqls:
        words = sql.replace('"', "").replace(";", " ").split()
        verb = words[0].upper()
        if verb in ("SAVEPOINT", "RELEASE", "BEGIN", "COMMIT"):
            continue
        table = next(
            (words[i + 1] for i, word in enumerate(words[:-1]) if word.upper() in ("FROM", "INTO", "UPDATE")),
            "?",
        )
        shapes.append(f"{verb} {table.split('.')[0]}")
    return shapes


def _portal_statements(doctor, case: Case) -> list[str]:
    """The SQL of one real approval, run in the driver and rolled back."""
    with transaction.atomic():
        with CaptureQueriesContext(connection) as captured:
            services.case_approve(case=case, doctor=doctor, version=case.version)
        transaction.set_rollback(True)
    return [query["sql"] for query in captured.captured_queries]


def _script_statements(script: str) -> list[str]:
    statements, current = [], []
    for line in script.splitlines():
        if line.startswith("\\set"):
            continue
        current.append(line)
        if line.rstrip().endswith((";", "\\gset")):
            statements.append(" ".join(current))
            current = []
    return statements


@dataclass(frozen=True)
class PgbenchResult:
    per_second: float
    p95_ms: float
    transactions: int


def _pgbench(bench: Bench, scripts: list[Path], *, clients: int, lo: int, hi: int) -> PgbenchResult:
    parts = urlsplit(bench.database_url)
    prefix = bench.workdir / f"review_action_{os.getpid()}"
    for old in bench.workdir.glob(prefix.name + ".*"):
        old.unlink()
    args = ["pgbench", "-h", parts.hostname or "127.0.0.1", "-p", str(parts.port or 5432)]
    args += ["-U", parts.username or "postgres", "-n", "-M", "extended", "-c", str(clients), "-j", "2"]
    args += ["-T", str(max(1, round(bench.seconds))), "-D", f"lo={lo}", "-D", f"hi={hi}"]
    args += ["-D", f"corrected={CORRECTED_TEXT}", "-l", f"--log-prefix={prefix}"]
    for script in scripts:
        args += ["-f", f"{script}@1"]
    try:
        done = subprocess.run(
            [*args, parts.path.lstrip("/")], capture_output=True, text=True, check=False, cwd=bench.workdir
        )
        latencies = [
            int(line.split()[2]) / 1000  # client, transaction, latency µs, …
            for log in bench.workdir.glob(prefix.name + ".*")
            for line in log.read_text().splitlines()
        ]
    finally:
        for log in bench.workdir.glob(prefix.name + ".*"):
            log.unlink()
    if done.returncode != 0 or "number of failed transactions: 0 " not in done.stdout:
        raise RuntimeError(f"{SCENARIO}: pgbench failed:\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}")
    tps = float(re.search(r"tps = ([0-9.]+)", done.stdout).group(1))
    return PgbenchResult(tps, percentile(latencies, 0.95), len(latencies))


# --- The portal's side ---------------------------------------------------------------------


def _cases_claim(*, hospital, doctor_id: int, count: int, min_id: int) -> list[tuple[int, int]]:
    """`count` fresh cases awaiting this doctor, claimed for them for the run: [(id, version)]."""
    awaiting_ensure(hospital=hospital, reviewer_id=doctor_id, count=count, min_id=min_id)
    with connection.cursor() as cursor:
        cursor.execute(
            """
            WITH mine AS (
                SELECT id FROM reviews_case
                WHERE reviewer_id = %(doctor)s AND status = %(awaiting)s AND id >= %(min_id)s
                  AND (claimed_by_id IS NULL OR claimed_by_id = %(doctor)s)
                ORDER BY id LIMIT %(count)s
            )
            UPDATE reviews_case c SET claimed_by_id = %(doctor)s, claim_expires_at = now() + interval '1 hour'
            FROM mine WHERE c.id = mine.id
            RETURNING c.id, c.version
            """,
            {"doctor": doctor_id, "awaiting": CaseStatus.AWAITING_REVIEW, "min_id": min_id, "count": count},
        )
        return sorted(cursor.fetchall())


def _decision_posts(cases: list[tuple[int, int]], headers: dict[str, str]) -> list[Request]:
    form = {**headers, "Content-Type": "application/x-www-form-urlencoded"}
    posts = []
    for index, (case_id, version) in enumerate(cases):
        if index % 2:
            body = urlencode(
                {"version": version, "final_text": CORRECTED_TEXT, "category": CORRECTION_CATEGORY, "note": ""}
            )
            posts.append(Request("POST", f"/cases/{case_id}/correct/", body=body, headers=form))
        else:
            posts.append(Request("POST", f"/cases/{case_id}/approve/", body=f"version={version}", headers=form))
    return posts


def _audit_high_water() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT coalesce(max(id), 0) FROM reviews_auditevent")
        return cursor.fetchone()[0]


def _decisions_check(*, case_ids: list[int], answered: int, after_audit_id: int) -> dict:
    """Raise unless every answered post made exactly one decision with its audit event."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*), count(*) FILTER (WHERE n > 1) FROM "
            "(SELECT case_id, count(*) AS n FROM reviews_decision WHERE case_id = ANY(%s) GROUP BY case_id) AS d",
            [case_ids],
        )
        decided, doubled = cursor.fetchone()
        cursor.execute(
            "SELECT count(*) FROM reviews_auditevent WHERE id > %s AND case_id = ANY(%s) "
            "AND action IN ('case.approved', 'case.corrected')",
            [after_audit_id, case_ids],
        )
        audited = cursor.fetchone()[0]
        cursor.execute(
            "SELECT count(*) FROM reviews_case WHERE id = ANY(%s) AND status IN (%s, %s)",
            [case_ids, CaseStatus.APPROVED, CaseStatus.CORRECTED],
        )
        answered_cases = cursor.fetchone()[0]
    numbers = {
        "answered_posts": answered,
        "decisions": decided,
        "double_decisions": doubled,
        "audit_events": audited,
        "cases_decided": answered_cases,
    }
    if doubled or not (answered == decided == audited == answered_cases):
        raise RuntimeError(f"{SCENARIO}: decisions do not add up: {numbers}")
    return numbers


def _baseline_range() -> tuple[int, int]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT min(id), count(*) FROM reviews_case")
        first, total = cursor.fetchone()
    size = max(100, min(BASELINE_CASES_MAX, int(total * BASELINE_CASES_SHARE)))
    return first, first + size - 1


def _baseline_chain_check(*, after_id: int, sample: int = 20) -> None:
    """The baseline's audit events chain like the portal's: recompute the newest few."""
    events = list(AuditEvent.objects.filter(id__gt=after_id).order_by("-id")[: sample + 1])[::-1]
    for previous, event in itertools.pairwise(events):
        if event.prev_hash != previous.hash or event.hash != audit_chain_hash(prev_hash=previous.hash, event=event):
            raise RuntimeError(f"{SCENARIO}: the baseline's audit event {event.pk} does not chain like the portal's")


def run(bench: Bench) -> list[Measure]:
    hospital = bench_hospital()
    doctors = bench_doctors()
    lo, hi = _baseline_range()
    first_id = hi + 1  # the portal's lists never touch the baseline's range

    # The statements of a real approval, to hold the pgbench script to them.
    probe_doctor = doctors[-1]
    [(probe_id, _version)] = _cases_claim(hospital=hospital, doctor_id=probe_doctor.pk, count=1, min_id=first_id)
    probe = Case.objects.get(pk=probe_id)
    # As the request's user arrives at the service: loaded by the session, nothing joined to it.
    portal_sql = _portal_statements(User.objects.get(pk=probe_doctor.pk), probe)
    claims_release(doctor_ids=[probe_doctor.pk])
    scripts = {
        action: _decision_script(action=action, status=status)
        for action, status in ((Decision.Action.APPROVE, "approved"), (Decision.Action.CORRECT, "corrected"))
    }
    portal_shapes = _statement_shapes(portal_sql)
    script_shapes = _statement_shapes(_script_statements(scripts[Decision.Action.APPROVE]))
    if portal_shapes != script_shapes:
        raise RuntimeError(
            f"{SCENARIO}: the pgbench script no longer runs what an approval runs; update _decision_script.\n"
            f"portal: {portal_shapes}\nscript: {script_shapes}"
        )
    paths = []
    for action, script in scripts.items():
        path = bench.workdir / f"review_action_{action}.sql"
        path.write_text(script)
        paths.append(path)

    headers = {doctor.pk: signed_in_headers(doctor) for doctor in doctors}
    measures: list[Measure] = []
    facts: dict = {
        "baseline_case_range": [lo, hi],
        "portal_statements": portal_sql,
        "pgbench_script_approve": scripts[Decision.Action.APPROVE],
        "levels": {},
    }
    throughput: dict[int, float] = {}
    for clients in CONCURRENCY:
        working = doctors[:clients] if clients < len(doctors) else doctors
        if clients > len(doctors):
            raise RuntimeError(f"{SCENARIO}: {clients} doctors wanted, the bench hospital has {len(doctors)}")
        per_doctor = min(
            math.ceil(bench.seconds * ACTIONS_PER_SECOND_CEILING / clients),
            max(2, int(bench.cases * LISTS_SHARE_LIMIT / clients)),
        )
        figures, latencies, baselines, base_latencies, runs = [], [], [], [], []
        for _rep in range(bench.reps):
            audit_before = _audit_high_water()
            result = _pgbench(bench, paths, clients=clients, lo=lo, hi=hi)
            _baseline_chain_check(after_id=audit_before)
            baselines.append(result.per_second)
            base_latencies.append(result.p95_ms)

            lists = {
                doctor.pk: _cases_claim(hospital=hospital, doctor_id=doctor.pk, count=per_doctor, min_id=first_id)
                for doctor in working
            }
            case_ids = [case_id for cases in lists.values() for case_id, _version in cases]
            workers = [_decision_posts(lists[doctor.pk], headers[doctor.pk]) for doctor in working]
            audit_before = _audit_high_water()
            started = timezone.now()
            loaded = load_run(bench, workers)
            check_statuses(loaded, scenario=SCENARIO, allowed=(302,))
            numbers = _decisions_check(case_ids=case_ids, answered=loaded.ok, after_audit_id=audit_before)
            claims_release(doctor_ids=[doctor.pk for doctor in working])
            ran_out = loaded.requests >= len(case_ids) or min(len(cases) for cases in lists.values()) < per_doctor
            runs.append(
                {
                    **numbers,
                    "started": started.isoformat(),
                    "elapsed": loaded.elapsed,
                    "listed": len(case_ids),
                    "ran_out": ran_out,
                    "baseline_transactions": result.transactions,
                }
            )
            figures.append(loaded.items_per_second)
            latencies.append(loaded.p95)
        throughput[clients] = median(figures)
        ran_out = any(run["ran_out"] for run in runs)
        decided = sum(run["decisions"] for run in runs)
        note = (
            f"{clients} doctors on their own claimed cases, approve and correct alternating; {decided:,} decisions, "
            "none doubled, one audit event each"
        )
        if ran_out:
            note += "; SOME LISTS RAN OUT before the window ended (too few cases at this scale): a lower bound"
        measures.append(
            Measure(
                SCENARIO,
                f"decisions/s, {clients} doctors",
                throughput[clients],
                median(baselines),
                "decisions/s",
                True,
                target=TARGET_RATIO,
                note=note,
            )
        )
        measures.append(
            Measure(SCENARIO, f"p95, {clients} doctors", median(latencies), median(base_latencies), "ms", False)
        )
        facts["levels"][clients] = {
            "decisions_per_second": figures,
            "p95_ms": latencies,
            "pgbench_tps": baselines,
            "pgbench_p95_ms": base_latencies,
            "runs": runs,
        }
    low, high = CONCURRENCY
    measures.append(
        Measure(
            SCENARIO,
            f"decisions/s, {high} vs {low} doctors",
            throughput[high],
            throughput[low],
            "decisions/s",
            True,
            target=MIN_KEPT_AT_50,
            note=f"no collapse: throughput at {high} doctors ÷ at {low} ≥ {MIN_KEPT_AT_50}",
        )
    )
    bench.facts[SCENARIO] = facts
    return measures
