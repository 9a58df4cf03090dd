"""Webhook delivery tasks: thin wrappers over `reviews.webhooks`.

Retries do not wait in the broker (long countdowns outlive Redis's visibility timeout):
a failed send records its next attempt time in the database, and `webhooks_sweep`, run
by beat every minute, enqueues whatever has come due.
"""

from celery import shared_task

from .webhooks import DELIVERY_TIMEOUT_SECONDS, IN_REQUEST_TIMEOUT_SECONDS, webhook_delivery_attempt, webhooks_sweep_run


@shared_task(bind=True, ignore_result=True)
def webhook_deliver(self, delivery_id: int) -> None:
    """Send one delivery if it is due and unclaimed; safe to run twice (late acks, the sweep)."""
    # Run in-process (no broker: the demo), the send holds up the request that made the event.
    timeout = IN_REQUEST_TIMEOUT_SECONDS if self.request.is_eager else DELIVERY_TIMEOUT_SECONDS
    webhook_delivery_attempt(delivery_id=delivery_id, timeout=timeout)


@shared_task(ignore_result=True)
def webhooks_sweep() -> None:
    """Enqueue the pending deliveries that are due (retries, lost enqueues, dead workers)."""
    webhooks_sweep_run()
