"""Webhook delivery tasks (to be written)."""

from celery import shared_task


@shared_task
def webhook_deliver(delivery_id: int) -> None:
    pass


@shared_task
def webhooks_sweep() -> None:
    pass
