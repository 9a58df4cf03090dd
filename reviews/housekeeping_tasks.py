"""Periodic clean-up that no request should wait for."""

from celery import shared_task
from django.utils import timezone

from .idempotency import idempotency_records_purge
from .models import ScheduledTaskRun

TASK_NAME = "idempotency_records_purge"


@shared_task
def idempotency_keys_purge() -> dict:
    """Hourly (CELERY_BEAT_SCHEDULE): drop Idempotency-Key answers past their 24 h lifetime."""
    started = timezone.now()
    ScheduledTaskRun.objects.update_or_create(name=TASK_NAME, defaults={"last_started_at": started})
    counts = {"deleted": idempotency_records_purge()}
    ScheduledTaskRun.objects.filter(name=TASK_NAME).update(last_finished_at=timezone.now(), details=counts)
    return counts
