"""Every API error is JSON: {"code", "message", and "errors" per field where there are some}."""

from django.http import Http404, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler

from .exceptions import InvalidInput, ReviewError


def _first_message(detail) -> str:
    if isinstance(detail, dict):
        for field, value in detail.items():
            inner = _first_message(value)
            return inner if field == "non_field_errors" else f"{field}: {inner}"
    if isinstance(detail, list) and detail:
        return _first_message(detail[0])
    return str(detail)


def review_error_body(exc: ReviewError) -> dict:
    body = {"code": exc.code, "message": exc.message}
    if isinstance(exc, InvalidInput) and exc.field:
        body["errors"] = {exc.field: [exc.message]}
    return body


def validation_error_body(detail) -> dict:
    """The JSON of a serializer's errors: also what one failed item of a batch reports."""
    return {
        "code": "invalid",
        "message": _first_message(detail),
        "errors": detail if isinstance(detail, dict) else {"non_field_errors": detail},
    }


def json_exception_handler(exc, context):
    if isinstance(exc, ReviewError):
        return Response(review_error_body(exc), status=exc.http_status)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound("No such object for this API client.")
    response = exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        response.data = validation_error_body(exc.detail)
    else:
        detail = getattr(exc, "detail", str(exc))
        code = getattr(detail, "code", None) or getattr(exc, "default_code", "error")
        response.data = {"code": code, "message": str(detail)}
    return response


# An API client has no CSRF cookie: without the exemption a POST to a mistyped path is
# Django's HTML 403 page instead of this JSON 404.
@csrf_exempt
def api_not_found(request, exception=None):
    return JsonResponse({"code": "not_found", "message": "No such API endpoint."}, status=status.HTTP_404_NOT_FOUND)
