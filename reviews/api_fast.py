"""The ingest API's fast path (issue #7): plain checks of a well-formed case body.

DRF's `CaseIngestSerializer` costs about a millisecond per case (it deep-copies its fields
for every instance), which was most of a batch's time. The checks here accept only bodies
the serializer would accept too, and return exactly what it would return; anything else
(an error, or an input the serializer coerces, such as a number given as a string) gives
None, and the caller asks the serializer, so every error body stays as it was.
`reviews/tests/test_api_fast.py` holds the two to the same answers.
"""

from datetime import datetime
from math import isfinite

from django.utils import timezone
from rest_framework.exceptions import ValidationError

from .api_serializers import MAX_BATCH_CASES, MAX_BODY, MAX_MESSAGES, IngestDateTimeField
from .models import Patient
from .services import CaseIngestData, IngestMessage

_CASE_FIELDS = frozenset({"external_id", "doctor", "patient_ref", "patient", "messages", "avatar"})
_REQUIRED_CASE_FIELDS = frozenset({"external_id", "doctor", "patient_ref", "messages"})
_MESSAGE_FIELDS = frozenset({"author", "body", "sent_at"})
_PATIENT_FIELDS = frozenset({"birth_year", "sex"})
_AVATAR_FIELDS = frozenset({"confidence", "flags"})
_FLAG_FIELDS = frozenset({"code", "reason"})
_AUTHORS = frozenset({"patient", "avatar"})
_SEXES = frozenset(Patient.Sex.values)
# One unbound field, used only for its time zone and sent_at rules: the serializer's own code.
_SENT_AT = IngestDateTimeField()


class _Refer(Exception):
    """Not for the fast path: the serializer decides (and words the error)."""


def _text(value: object, max_length: int, *, allow_blank: bool = False) -> str:
    # DRF's CharField: stripped, no NUL, length counted after stripping. Numbers it would
    # turn into strings are referred, as is every refusal.
    if type(value) is not str or "\x00" in value:
        raise _Refer
    value = value.strip()
    if len(value) > max_length or (not value and not allow_blank):
        raise _Refer
    return value


def _sent_at(value: object) -> datetime:
    if type(value) is not str:
        raise _Refer
    try:
        parsed = datetime.fromisoformat(value)  # what django.utils.dateparse tries first
    except ValueError:
        raise _Refer from None
    if parsed.tzinfo is None:
        raise _Refer  # naive: made aware in the server's zone, with its own failure cases
    try:
        return _SENT_AT.enforce_timezone(parsed)
    except ValidationError:
        raise _Refer from None


def _messages(value: object) -> list[IngestMessage]:
    if type(value) is not list or not 1 <= len(value) <= MAX_MESSAGES:
        raise _Refer
    messages = []
    for item in value:
        if type(item) is not dict or item.keys() != _MESSAGE_FIELDS:
            raise _Refer
        if type(item["author"]) is not str or item["author"] not in _AUTHORS:
            raise _Refer
        messages.append(IngestMessage(item["author"], _text(item["body"], MAX_BODY), _sent_at(item["sent_at"])))
    if not any(m.author == "patient" for m in messages):
        raise _Refer
    return messages


def _patient(value: object) -> tuple[int | None, str | None]:
    if type(value) is not dict or not value.keys() <= _PATIENT_FIELDS:
        raise _Refer
    birth_year, sex = value.get("birth_year"), value.get("sex")
    if birth_year is not None and (type(birth_year) is not int or not 1900 <= birth_year <= timezone.now().year):
        raise _Refer
    if sex is not None and (type(sex) is not str or sex not in _SEXES):
        raise _Refer
    return birth_year, sex


def _avatar(value: object) -> tuple[float | None, list[dict]]:
    if type(value) is not dict or not value.keys() <= _AVATAR_FIELDS:
        raise _Refer
    confidence = value.get("confidence")
    if confidence is not None:
        if type(confidence) not in (int, float) or not isfinite(confidence) or not 0 <= confidence <= 1:
            raise _Refer
        confidence = float(confidence)
    flags = value.get("flags", [])
    if type(flags) is not list:
        raise _Refer
    checked = []
    for flag in flags:
        if type(flag) is not dict or "code" not in flag or not flag.keys() <= _FLAG_FIELDS:
            raise _Refer
        reason = _text(flag.get("reason", ""), 500, allow_blank=True)
        checked.append({"code": _text(flag["code"], 60), "reason": reason})
    return confidence, checked


def case_ingest_data_fast(body: object) -> CaseIngestData | None:
    """The body of POST /api/v1/cases/ as `CaseIngestSerializer.to_ingest_data()` would give
    it, or None: then the serializer must decide."""
    if type(body) is not dict or not _REQUIRED_CASE_FIELDS <= body.keys() or not body.keys() <= _CASE_FIELDS:
        return None
    try:
        birth_year, sex = _patient(body["patient"]) if "patient" in body else (None, None)
        confidence, flags = _avatar(body["avatar"]) if "avatar" in body else (None, [])
        return CaseIngestData(
            external_id=_text(body["external_id"], 100),
            doctor_licence=_text(body["doctor"], 40),
            patient_ref=_text(body["patient_ref"], 200),
            messages=_messages(body["messages"]),
            birth_year=birth_year,
            sex=sex,
            avatar_confidence=confidence,
            avatar_flags=flags,
        )
    except _Refer:
        return None


def batch_cases_fast(body: object) -> list | None:
    """The `cases` of a well-formed batch envelope, or None: then `CaseBatchRequestSerializer`
    decides. (Its items are any JSON, which a parsed body always is.)"""
    if type(body) is not dict or body.keys() != {"cases"}:
        return None
    cases = body["cases"]
    if type(cases) is not list or not 1 <= len(cases) <= MAX_BATCH_CASES:
        return None
    return cases
