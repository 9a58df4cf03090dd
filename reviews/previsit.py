"""Pre-visit summaries (DESIGN §7): keeping them in step with the patient's cases."""

from collections.abc import Iterable
from datetime import timedelta

from django.utils import timezone

from .models import PreVisitSummary

# Appointments further back than this keep the summary they were seen with.
_STALE_LOOKBACK = timedelta(days=1)


def summaries_mark_stale(*, patient_ids: Iterable[int]) -> int:
    """Mark the summaries of these patients' coming appointments out of date.

    Called in the transaction that adds a case or a patient message, so a compile that
    read the history before the change is always followed by another. One UPDATE, served
    by appointment_patient_idx; returns how many summaries it marked.
    """
    ids = set(patient_ids)
    if not ids:
        return 0
    return PreVisitSummary.objects.filter(
        appointment__patient_id__in=ids,
        appointment__scheduled_at__gte=timezone.now() - _STALE_LOOKBACK,
        stale=False,
    ).update(stale=True, updated_at=timezone.now())
