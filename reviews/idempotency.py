"""`Idempotency-Key` on the API's POSTs (issue #8): a retry replays the first answer.

An API client that sends `Idempotency-Key: <key>` with a POST gets, for any later request
with the same key, the first answer again (same status, same body, and the header
`Idempotent-Replayed: true`) without the work being done twice. The same key with another
request (method, path or body bytes differ) is refused with 422. Without the header nothing
changes. Keys are per API client and kept for 24 hours; after that a key may be used anew.

Concurrent requests with one key: the first inserts the key's row and does the work in the
same transaction; the others wait on that insert (the unique constraint) and, once it
commits, replay its answer. Nobody gets a "still in progress" error, and if the first fails
(its transaction rolls back) the next one does the work.

Stored: 2xx answers and 400s (invalid input stays invalid). Not stored: 404, 409 and other
refusals that may change with time, 5xx; 401, 403, 413, 415 and 429 are answered before
the key is looked at.
"""

import functools
import hashlib
import json
import re
from collections.abc import Callable
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter
from rest_framework import status
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import ApiClient

from .api_schema import error_response
from .exceptions import InvalidInput, ReviewError
from .models import IdempotencyRecord

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
MAX_KEY_LENGTH = 200
KEY_LIFETIME = timedelta(hours=24)
# Visible ASCII only: a space at either end would not survive every proxy, and a UUID fits.
_KEY_PATTERN = r"^[!-~]{1,200}$"
_KEY = re.compile(_KEY_PATTERN)

IDEMPOTENCY_KEY_PARAMETER = OpenApiParameter(
    HEADER,
    {"type": "string", "minLength": 1, "maxLength": MAX_KEY_LENGTH, "pattern": _KEY_PATTERN},
    location=OpenApiParameter.HEADER,
    required=False,
    description="Optional; 1 to 200 visible ASCII characters, e.g. a UUID, new for each request. A retry with the "
    "same key and the same body gets the first answer again (with `Idempotent-Replayed: true`) and does "
    "nothing twice; the same key with another request is a 422. Keys are per API client and kept for 24 hours.",
)
REPLAYED_PARAMETER = OpenApiParameter(
    REPLAYED_HEADER,
    OpenApiTypes.STR,
    location=OpenApiParameter.HEADER,
    response=[200, 201],
    required=False,
    description="`true` when this is the stored answer to an earlier request with the same Idempotency-Key.",
)
IDEMPOTENCY_PARAMETERS = [IDEMPOTENCY_KEY_PARAMETER, REPLAYED_PARAMETER]
KEY_REUSED_RESPONSE = error_response(
    "The Idempotency-Key was already used for a different request (`idempotency_key_reused`): use a new key."
)


class InvalidIdempotencyKey(InvalidInput):
    code = "invalid_idempotency_key"


class IdempotencyKeyReused(ReviewError):
    code = "idempotency_key_reused"
    http_status = status.HTTP_422_UNPROCESSABLE_ENTITY


def _is_stored(status_code: int) -> bool:
    return 200 <= status_code < 300 or status_code == status.HTTP_400_BAD_REQUEST


def idempotency_key(request: Request) -> str | None:
    """The request's key, None without the header; InvalidIdempotencyKey for a malformed one."""
    key = request.headers.get(HEADER)
    if key is None:
        return None
    if not _KEY.match(key):
        raise InvalidIdempotencyKey(
            f"{HEADER} must be 1 to {MAX_KEY_LENGTH} visible ASCII characters (no spaces), e.g. a UUID.", field=HEADER
        )
    return key


def request_fingerprint(request: Request) -> str:
    """SHA-256 of method, path and the raw body bytes (the bytes DRF's JSON parser reads too)."""
    digest = hashlib.sha256()
    for part in (request.method.encode(), request.path.encode(), request.body):
        digest.update(len(part).to_bytes(8, "big"))  # lengths keep ("a", "bc") apart from ("ab", "c")
        digest.update(part)
    return digest.hexdigest()


def idempotency_record_find(*, api_client: ApiClient, key: str) -> IdempotencyRecord | None:
    """The key's live record; an expired one counts as none."""
    return IdempotencyRecord.objects.filter(
        api_client=api_client, key=key, created_at__gte=timezone.now() - KEY_LIFETIME
    ).first()


def idempotency_record_replay(*, record: IdempotencyRecord, request_hash: str) -> Response:
    if record.request_hash != request_hash:
        raise IdempotencyKeyReused(
            f"This {HEADER} was already used for a different request (method, path or body); "
            "send a new key for a new request."
        )
    return Response(record.response_body, status=record.status_code, headers={REPLAYED_HEADER: "true"})


def idempotency_records_purge() -> int:
    """Delete expired records; returns how many. Expired keys are also replaced when reused."""
    deleted, _ = IdempotencyRecord.objects.filter(created_at__lt=timezone.now() - KEY_LIFETIME).delete()
    return deleted


def _answer(view: APIView, handler: Callable[[], Response]) -> Response:
    # Refusals become their JSON answer here, inside the transaction, so a 400 can be stored.
    try:
        return handler()
    except Exception as exc:
        return view.handle_exception(exc)  # re-raises what is not an API refusal: a 500, stored nowhere


def _json(data) -> object:
    # What the client received (PostgreSQL's jsonb keeps the values, not the order of keys).
    return json.loads(JSONRenderer().render(data)) if data is not None else None


def _respond_once(view: APIView, request: Request, handler: Callable[[], Response]) -> Response:
    key = idempotency_key(request)
    if key is None:
        return handler()
    request_hash = request_fingerprint(request)
    client = request.auth
    record = idempotency_record_find(api_client=client, key=key)
    if record is not None:
        return idempotency_record_replay(record=record, request_hash=request_hash)

    with transaction.atomic():
        IdempotencyRecord.objects.filter(
            api_client=client, key=key, created_at__lt=timezone.now() - KEY_LIFETIME
        ).delete()
        try:
            with transaction.atomic():
                # Waits here while a concurrent request with this key is still working.
                record = IdempotencyRecord.objects.create(
                    api_client=client, key=key, request_hash=request_hash, status_code=0
                )
        except IntegrityError:
            record = IdempotencyRecord.objects.get(api_client=client, key=key)
            return idempotency_record_replay(record=record, request_hash=request_hash)
        response = _answer(view, handler)
        if _is_stored(response.status_code):
            record.status_code = response.status_code
            record.response_body = _json(response.data)
            record.save(update_fields=["status_code", "response_body"])
        else:
            record.delete()
    return response


def idempotent(method: Callable[..., Response]) -> Callable[..., Response]:
    """For an APIView's POST: honours `Idempotency-Key` (see the module's docstring)."""

    @functools.wraps(method)
    def wrapper(view: APIView, request: Request, *args, **kwargs) -> Response:
        return _respond_once(view, request, lambda: method(view, request, *args, **kwargs))

    return wrapper
