"""The reviews app's Celery tasks, found by `app.autodiscover_tasks()`.

Tasks take ids only, never patient text, and are idempotent: a redelivered message
(late acks, a killed worker) does its work at most once more, harmlessly.
"""

from .escalation_tasks import cases_escalate
from .housekeeping_tasks import idempotency_keys_purge
from .previsit_tasks import summaries_beat, summary_compile
from .webhook_tasks import webhook_deliver, webhooks_sweep

__all__ = [
    "cases_escalate",
    "idempotency_keys_purge",
    "summaries_beat",
    "summary_compile",
    "webhook_deliver",
    "webhooks_sweep",
]
