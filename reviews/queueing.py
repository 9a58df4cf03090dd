"""Handing work to Celery once the change that calls for it is committed."""

import logging

from celery import Task
from django.db import transaction

logger = logging.getLogger(__name__)


def enqueue_on_commit(task: Task, *args: int | str) -> None:
    """Send `task` with `args` (ids only: no patient text travels in a message) after commit.

    The work row is already in the database by then, so a broker that is down loses
    nothing: the periodic sweep finds the row and sends it again. Hence the error is
    logged, not raised into a doctor's request.
    """

    def send() -> None:
        try:
            task.delay(*args)
        except Exception:
            logger.warning("Could not enqueue %s%r; the sweep will retry it", task.name, args, exc_info=True)

    transaction.on_commit(send)
