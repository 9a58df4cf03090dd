"""Pre-visit compile tasks (to be written)."""

from celery import shared_task


@shared_task
def summary_compile(summary_id: int) -> None:
    pass


@shared_task
def summaries_beat() -> None:
    pass
