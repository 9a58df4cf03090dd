"""Baselines served by the same gunicorn as the portal: what a request costs before any of
the portal's own work (middleware, sessions, sign-in checks included)."""

from functools import lru_cache

from django.http import HttpRequest, HttpResponse
from django.template import Context, Engine, Template
from django.views.decorators.csrf import csrf_exempt


@csrf_exempt
def noop(request: HttpRequest) -> HttpResponse:
    """ingest_single's baseline: the least a view can answer, 204."""
    return HttpResponse(status=204)


@lru_cache(maxsize=16)
def _fragment(size: int) -> Template:
    # Compiled once per size, as the cached template loader keeps the queue's templates.
    row = "<tr><td>case</td><td>routine</td><td>due</td></tr>\n"
    text = (row * (size // len(row) + 1))[:size]
    return Engine.get_default().from_string(text)


def static_fragment(request: HttpRequest, size: int) -> HttpResponse:
    """queue_page's baseline: a template of `size` bytes with nothing to look up."""
    return HttpResponse(_fragment(min(size, 5_000_000)).render(Context()))
