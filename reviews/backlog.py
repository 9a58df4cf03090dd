"""The work the database holds for the workers, counted for /readyz.

The rows are the outbox (reviews.queueing): while the broker is down they wait here, and
these counts say how much the sweeps have to catch up once it returns. Three queries,
each served by a partial index (webhook_delivery_due_idx, case_escalation_due_idx) or by
the lead-window condition the summaries' beat itself uses.
"""

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count, Q
from django.utils import timezone

from .escalation import cases_breached
from .models import WebhookDelivery
from .previsit import summaries_due


@dataclass(frozen=True)
class Backlog:
    webhook_deliveries_pending: int  # not delivered yet: due now, or waiting for a retry
    webhook_deliveries_due: int  # due now: the next sweep sends them
    summaries_due: int  # inside their lead window, needing a compile, held by no compile
    escalations_due: int  # SLA breaches the escalation beat has not handled yet


def outbox_backlog(*, now: datetime | None = None) -> Backlog:
    """How much work waits in the database for a worker, all hospitals together."""
    now = now or timezone.now()
    deliveries = WebhookDelivery.objects.filter(status=WebhookDelivery.Status.PENDING).aggregate(
        pending=Count("pk"), due=Count("pk", filter=Q(next_attempt_at__lte=now))
    )
    return Backlog(
        webhook_deliveries_pending=deliveries["pending"],
        webhook_deliveries_due=deliveries["due"],
        summaries_due=summaries_due(now=now).order_by().count(),
        escalations_due=cases_breached(now=now).count(),
    )
