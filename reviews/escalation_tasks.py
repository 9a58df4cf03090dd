"""The SLA escalation beat (DESIGN §5): a thin wrapper over reviews.escalation."""

from celery import shared_task
from django.utils import timezone

from .escalation import cases_escalate_breached
from .models import ScheduledTaskRun

TASK_NAME = "cases_escalate"


@shared_task
def cases_escalate() -> dict:
    """Every minute (CELERY_BEAT_SCHEDULE): escalate the urgent cases whose SLA was breached.

    Idempotent: a redelivered or overlapping run finds those breaches escalated already.
    """
    started = timezone.now()
    ScheduledTaskRun.objects.update_or_create(name=TASK_NAME, defaults={"last_started_at": started})
    counts = {"escalated": cases_escalate_breached(now=started)}
    ScheduledTaskRun.objects.filter(name=TASK_NAME).update(last_finished_at=timezone.now(), details=counts)
    return counts
