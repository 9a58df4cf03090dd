"""Probes for load balancers and operators: /healthz (the process answers) and /readyz
(it can do its work: the database and the broker answer). No sign-in; counts only, never
patient data, and never a connection string or a password in an error."""

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from portal.celery import app
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


@never_cache
@require_GET
def readyz(request: HttpRequest) -> JsonResponse:
    """200 when the database and the broker answer (or no broker is configured: the demo
    runs tasks in-process), else 503 naming what is down; with the pre-visit pipeline's
    counts and its last beat, so a stalled beat or worker shows before a doctor notices."""
    checks = {"database": _database(), "broker": _broker()}
    ready = checks["database"] == "ok" and not checks["broker"].startswith("unreachable")
    body: dict = {"status": "ready" if ready else "unavailable", "checks": checks, "summaries": None}
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
    return JsonResponse(body, status=200 if ready else 503)
