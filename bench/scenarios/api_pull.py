"""api_pull: GET /api/v1/cases/ in keyset pages of 500 over 100 000 cases → rows/s; baseline:
raw psycopg fetching the same rows (cases with patients, messages, decisions: the portal's
three queries) and encoding them as JSON, in one process."""

import json
import time

import psycopg

from bench.core import Bench, Measure, Request, check_statuses, interleaved, load_run
from bench.portal_access import bench_hospital
from bench.scenarios._cases import api_headers
from reviews.selectors import CaseListCursor

PAGE = 500
ROWS = 100_000

CASES_SQL = """
SELECT c.id, c.external_id, c.status, c.urgency, c.hold, c.doctor_id, p.pseudonym, c.review_reasons, c.flags,
       c.received_at, c.due_at, c.updated_at
FROM reviews_case c JOIN reviews_patient p ON p.id = c.patient_id
WHERE c.hospital_id = %s AND (c.updated_at, c.id) > (%s, %s)
ORDER BY c.updated_at, c.id LIMIT %s
"""
MESSAGES_SQL = "SELECT case_id, author, body FROM reviews_message WHERE case_id = ANY(%s) ORDER BY sent_at, id"
DECISIONS_SQL = """
SELECT case_id, action, doctor_id, correction_category, created_at, final_text
FROM reviews_decision WHERE case_id = ANY(%s) ORDER BY created_at, id
"""


def _page_starts(conn, hospital_id: int, rows: int) -> list[tuple]:
    """(updated_at, id) after which each page starts: the first page's is the lowest possible."""
    found = conn.execute(
        """
        SELECT updated_at, id FROM (
            SELECT updated_at, id, row_number() OVER (ORDER BY updated_at, id) AS n
            FROM reviews_case WHERE hospital_id = %s ORDER BY updated_at, id LIMIT %s
        ) numbered WHERE n %% %s = 0
        """,
        [hospital_id, rows, PAGE],
    ).fetchall()
    return found


def _raw_page(conn, hospital_id: int, after: tuple) -> bytes:
    cases = conn.execute(CASES_SQL, [hospital_id, after[0], after[1], PAGE]).fetchall()
    ids = [row[0] for row in cases]
    messages: dict[int, list] = {}
    for case_id, author, body in conn.execute(MESSAGES_SQL, [ids]):
        messages.setdefault(case_id, []).append((author, body))
    decisions: dict[int, tuple] = {}
    for case_id, action, doctor_id, category, created_at, final_text in conn.execute(DECISIONS_SQL, [ids]):
        decisions[case_id] = (action, doctor_id, category, created_at, final_text)
    results = []
    for (
        case_id,
        external_id,
        status,
        urgency,
        hold,
        doctor_id,
        pseudonym,
        reasons,
        flags,
        received,
        due,
        updated,
    ) in cases:
        thread = messages.get(case_id, [])
        decision = decisions.get(case_id)
        results.append(
            {
                "id": case_id,
                "external_id": external_id,
                "status": status,
                "urgency": urgency,
                "release": "hold" if hold else "release",
                "doctor": doctor_id,
                "patient": pseudonym,
                "question": next((body for author, body in thread if author == "patient"), ""),
                "final_answer": decision[4] if decision else (thread[-1][1] if thread else None),
                "decision": None
                if decision is None
                else {
                    "action": decision[0],
                    "doctor": decision[1],
                    "correction_category": decision[2],
                    "decided_at": decision[3].isoformat(),
                },
                "review_reasons": reasons,
                "flags": flags,
                "received_at": received.isoformat(),
                "due_at": due.isoformat(),
                "updated_at": updated.isoformat(),
            }
        )
    return json.dumps({"results": results, "next": None}, ensure_ascii=False).encode()


def run(bench: Bench) -> list[Measure]:
    hospital_id = bench_hospital().pk
    rows = min(ROWS, bench.cases)
    with psycopg.connect(bench.database_url, autocommit=True) as conn:
        boundaries = _page_starts(conn, hospital_id, rows)
    first = (boundaries[0][0].replace(year=1970), 0) if boundaries else None
    starts = [first, *boundaries][: rows // PAGE] if first else []
    paths = [f"/api/v1/cases/?limit={PAGE}"] + [
        f"/api/v1/cases/?limit={PAGE}&cursor={CaseListCursor(at, case_id).encode()}" for at, case_id in starts[1:]
    ]
    pages = len(paths)
    headers = api_headers(bench.api_token)

    def figure() -> float:
        result = load_run(
            bench, [[Request("GET", path, items=PAGE) for path in paths]], seconds=600, base_headers=headers
        )
        check_statuses(result, scenario="api_pull", allowed=(200,))
        return result.items_per_second

    def baseline() -> float:
        with psycopg.connect(bench.database_url, autocommit=True) as conn:
            started = time.perf_counter()
            size = 0
            for after in starts:
                size += len(_raw_page(conn, hospital_id, after))
            return pages * PAGE / (time.perf_counter() - started)

    value, base = interleaved(figure, baseline, reps=bench.reps)
    return [
        Measure(
            "api_pull",
            f"rows/s, {pages} pages of {PAGE}",
            value,
            base,
            "rows/s",
            target=0.5,
        )
    ]
