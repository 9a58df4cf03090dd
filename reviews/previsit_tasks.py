"""Pre-visit summary tasks (DESIGN §7): thin wrappers over reviews.previsit.

Late acks and reject-on-worker-lost (settings) mean a task whose worker dies is handed
out again; reviews.previsit makes that harmless: a summary compiled since is left alone,
and only the compile that started last may write.
"""

import logging

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded

from .previsit import summaries_enqueue_due, summaries_release, summary_compile_run
from .previsit_batch import summaries_compile_chunk_run

logger = logging.getLogger(__name__)


@shared_task(
    autoretry_for=(Exception,),
    # 30 s, 60 s, 120 s (with jitter): all well inside the claim's lease and the broker's
    # visibility timeout, so the beat does not send the summary again meanwhile.
    retry_backoff=30,
    retry_backoff_max=300,
    retry_jitter=True,
    max_retries=3,
)
def summary_compile(summary_id: int) -> None:
    """Compile one summary: an appointment booked inside its lead window."""
    summary_compile_run(summary_id)


@shared_task
def summaries_compile_chunk(*summary_ids: int) -> None:
    """Compile the summaries of one beat chunk together, in three queries
    (reviews.previsit_batch).

    A failure is recorded on its summary (failed, attempts) and the beat tries it again
    after the claim's lease; it does not stop the rest of the chunk. Out of time, nothing
    of the chunk is written and all of it is handed back to the next beat.
    """
    try:
        summaries_compile_chunk_run(list(summary_ids))
    except SoftTimeLimitExceeded:
        summaries_release(summary_ids)
        logger.warning("Out of time compiling summaries; %d handed back to the beat", len(summary_ids))


@shared_task
def summaries_beat() -> dict:
    """Every minute (CELERY_BEAT_SCHEDULE): enqueue the summaries that are due."""
    run = summaries_enqueue_due()
    return {"missing": run.missing, "claimed": run.claimed, "messages": run.messages}
