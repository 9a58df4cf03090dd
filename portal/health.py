"""Probes for load balancers and operators: /healthz (the process answers) and /readyz
(it can do its work: the database answers, and the broker, or what waits for it). No
sign-in; counts only, never patient data, and never a connection string or a password in
an error."""

from dataclasses import asdict

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from portal.celery import app
from reviews.backlog import outbox_backlog
from reviews.previsit import summary_pipeline_status

BROKER_TIMEOUT_S = 2


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


def _database() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:
        return f"unreachable ({type(exc).__name__})"
    return "ok"


def _broker() -> str:
    url = settings.CELERY_BROKER_URL
    if not url:
        return "not configured (tasks run in-process)"
    try:
        with app.connection_for_write(url=url, connect_timeout=BROKER_TIMEOUT_S) as conn:
            conn.ensure_connection(max_retries=1, interval_start=0, interval_step=0, timeout=BROKER_TIMEOUT_S)
    except Exception as exc:
        return f"unreachable ({type(exc).__name__})"
    return "ok"


def _iso(moment) -> str | None:
    return moment.isoformat() if moment else None


def _degraded(checks: dict[str, str]) -> list[str]:
    """What works less well than it should, in words an operator acts on; empty when all is well."""
    if not checks["broker"].startswith("unreachable"):
        return []
    return [
        _(
            "background work (pre-visit summaries, webhook deliveries, SLA escalations) is kept in the "
            "database and done when the broker returns; pages and ingest work as usual"
        )
    ]


@never_cache
@require_GET
def readyz(request: HttpRequest) -> JsonResponse:
    """200 "ready" when the database and the broker answer (or no broker is configured: the
    demo runs tasks in-process); 200 "degraded" when only the broker is down, since pages
    and ingest still work and the work waits in the database (the backlog counts say how
    much); 503 "unavailable" when the database is down. With the pre-visit pipeline's counts
    and its last beat, so a stalled beat or worker shows before a doctor notices.
    A fixed number of queries (six), whatever the size of the backlog."""
    checks = {"database": _database(), "broker": _broker()}
    degraded = _degraded(checks)
    if checks["database"] != "ok":
        status = "unavailable"
    else:
        status = "degraded" if degraded else "ready"
    body: dict = {"status": status, "checks": checks, "degraded": degraded, "summaries": None, "backlog": None}
    if checks["database"] == "ok":
        pipeline = summary_pipeline_status()
        body["summaries"] = {
            "pending": pipeline.pending,
            "ready": pipeline.ready,
            "failed": pipeline.failed,
            "stale": pipeline.stale,
            "oldest_pending_since": _iso(pipeline.oldest_pending_since),
            "last_beat_at": _iso(pipeline.last_beat_at),
        }
        body["backlog"] = asdict(outbox_backlog())
    return JsonResponse(body, status=503 if status == "unavailable" else 200)
