"""Shaping doctors' review queues in the bench database, for the doctors' scenarios
(queue_page, next_case, review_action).

The bench data gives every doctor ~5 % of their avatar's cases to review; the scenarios need
more in some queues (page 200 of one doctor, a timed window of approvals for 50 doctors).
Cases come from the auto-released ones, which carry no decision, so turning one into a case
awaiting review leaves a consistent row: a reviewer, a fresh due time from the hospital's SLA
for its urgency, no claim, no escalation. Plain SQL in the driver's connection: this is
setup, not something the portal does.
"""

from django.db import connection

from accounts.models import Hospital
from reviews.models import CaseStatus, Urgency

# The urgency mix of converted cases, by id modulo 20: 1 emergency, 2 urgent, 5 soon, 12 routine,
# close to bench_data's REVIEWED_URGENCY_MIX, so a deep queue crosses every urgency.
_URGENCY_BY_ID = (
    f"CASE WHEN c.id %% 20 = 0 THEN {Urgency.EMERGENCY:d} WHEN c.id %% 20 <= 2 THEN {Urgency.URGENT:d} "
    f"WHEN c.id %% 20 <= 7 THEN {Urgency.SOON:d} ELSE {Urgency.ROUTINE:d} END"
)


def _convert(*, hospital: Hospital, reviewer_id: int, count: int, own_avatar: bool, min_id: int) -> int:
    """Turn up to `count` auto-released cases (newest first) into cases awaiting `reviewer_id`'s
    review; `own_avatar` takes only those their own avatar answered. Returns how many."""
    if count <= 0:
        return 0
    sla_minutes = [getattr(hospital, f"sla_{u.code}_minutes") for u in sorted(Urgency, key=int)]
    # Received up to 1.5 SLA ago, as bench_data draws its waiting cases: some are overdue.
    sla = f"make_interval(mins => (ARRAY{sla_minutes})[({_URGENCY_BY_ID}) + 1])"
    age = "(((c.id * 7919) %% 1000) / 1000.0 * 1.5)"
    own = "AND doctor_id = %(reviewer)s" if own_avatar else ""
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            WITH picked AS (
                SELECT id FROM reviews_case
                WHERE hospital_id = %(hospital)s AND status = %(auto)s AND id >= %(min_id)s {own}
                ORDER BY id DESC
                LIMIT %(count)s
            )
            UPDATE reviews_case c
            SET status = %(awaiting)s,
                reviewer_id = %(reviewer)s,
                urgency = {_URGENCY_BY_ID},
                review_reasons = '["routine_sample"]'::jsonb,
                hold = false,
                received_at = now() - {sla} * {age},
                due_at = now() - {sla} * {age} + {sla},
                updated_at = now() - {sla} * {age},
                claimed_by_id = NULL,
                claim_expires_at = NULL,
                escalated_due_at = NULL
            FROM picked
            WHERE c.id = picked.id
            """,
            {
                "hospital": hospital.pk,
                "auto": CaseStatus.AUTO_RELEASED,
                "awaiting": CaseStatus.AWAITING_REVIEW,
                "reviewer": reviewer_id,
                "count": count,
                "min_id": min_id,
            },
        )
        return cursor.rowcount


def awaiting_count(*, reviewer_id: int, min_id: int = 0) -> int:
    """Cases awaiting this reviewer (case_queue_idx)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM reviews_case WHERE reviewer_id = %s AND status = %s AND id >= %s",
            [reviewer_id, CaseStatus.AWAITING_REVIEW, min_id],
        )
        return cursor.fetchone()[0]


def awaiting_ensure(*, hospital: Hospital, reviewer_id: int, count: int, min_id: int = 0) -> int:
    """Give the reviewer at least `count` cases awaiting review (with ids ≥ `min_id`), from their
    own avatar's auto-released cases first, then from colleagues' (as if reassigned to them).
    Returns how many they have now: fewer than asked when the database has run out."""
    have = awaiting_count(reviewer_id=reviewer_id, min_id=min_id)
    if have < count:
        have += _convert(hospital=hospital, reviewer_id=reviewer_id, count=count - have, own_avatar=True, min_id=min_id)
    if have < count:
        have += _convert(
            hospital=hospital, reviewer_id=reviewer_id, count=count - have, own_avatar=False, min_id=min_id
        )
    return have


def claims_release(*, doctor_ids: list[int]) -> int:
    """Drop the leased claims these doctors hold on cases awaiting review (between runs)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE reviews_case SET claimed_by_id = NULL, claim_expires_at = NULL "
            "WHERE claimed_by_id = ANY(%s) AND status = %s AND claim_expires_at IS NOT NULL",
            [doctor_ids, CaseStatus.AWAITING_REVIEW],
        )
        return cursor.rowcount


def case_table_analyze() -> None:
    """Fresh planner statistics after reshaping queues, as autovacuum would give them later."""
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE reviews_case")
