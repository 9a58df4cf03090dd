"""Request parsing for the API: every unreadable body is a 400, never a 500."""

import codecs
import io
import re

from django.conf import settings
from rest_framework import parsers, status
from rest_framework.exceptions import APIException, ParseError

# A surrogate code point left in a decoded str is an unpaired "\\ud83d" escape: not text.
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")
# ...and in a UTF-8 body it can only come from such an escape (raw surrogates are not valid
# UTF-8): a body without one needs no walk through every string (issue #7: 500-case batches).
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")


def _has_lone_surrogate(data) -> bool:
    pending = [data]  # a loop, not recursion: the document may be nested as deep as the parser allowed
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            if _LONE_SURROGATE.search(item):
                return True
        elif isinstance(item, dict):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
    return False


class RequestTooLarge(APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "request_too_large"

    def __init__(self):
        super().__init__(
            f"The request body is larger than {settings.API_MAX_BODY_BYTES} bytes. "
            "Send fewer cases per batch (at most 500) or split the request."
        )


class JSONParser(parsers.JSONParser):
    """DRF's parser, plus two inputs it lets through as a 500 instead of a 400: nesting
    deeper than Python's recursion limit, and unpaired surrogates, which are valid JSON
    escapes but not Unicode, so they fail later when echoed in an error or stored."""

    def parse(self, stream, media_type=None, parser_context=None):
        # Read at most one byte past the limit, whatever Content-Length claims (or omits).
        limit = settings.API_MAX_BODY_BYTES
        body = stream.read(limit + 1) if stream is not None else b""
        if len(body) > limit:
            raise RequestTooLarge()
        try:
            data = super().parse(io.BytesIO(body), media_type, parser_context)
        except RecursionError:
            raise ParseError("JSON parse error - the document is nested too deeply.") from None
        encoding = (parser_context or {}).get("encoding") or settings.DEFAULT_CHARSET
        may_hold_one = codecs.lookup(encoding).name != "utf-8" or _SURROGATE_ESCAPE.search(body)
        if may_hold_one and _has_lone_surrogate(data):
            raise ParseError("JSON parse error - a string holds an unpaired surrogate escape (\\ud800-\\udfff).")
        return data
