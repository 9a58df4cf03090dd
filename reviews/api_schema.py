"""The OpenAPI schema of the integration API: the errors every operation can answer with.

Authentication, scopes, the rate budget, the body parser and the URL patterns apply to
every view, so the errors they produce are documented here once, for every operation,
instead of in each view's `extend_schema` (where a new view would forget them). Views
still declare their own errors (a 404 or 409 with what it means there) and win.
"""

from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.plumbing import force_instance
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse
from rest_framework import serializers

from accounts.api_auth import HasApiClientScopes

from .api_serializers import CaseIngestSerializer, StrictSerializer

_BODY_METHODS = ("POST", "PUT", "PATCH")

# drf-spectacular passes only `x-` extensions through; this one becomes `allowEmptyValue`.
_EMPTY_IS_ABSENT = "x-empty-is-absent"
# For a query parameter read by a serializer, as DRF reads a form: `?status=` is no filter.
EMPTY_IS_ABSENT = {_EMPTY_IS_ABSENT: True}


class ApiErrorSerializer(serializers.Serializer):
    """Every error of the API: `code` for programs, `message` for people, `errors` per field."""

    code = serializers.CharField(
        help_text="Stable and machine-readable, e.g. invalid, not_authenticated, authentication_failed, "
        "permission_denied, not_found, throttled, request_too_large, unsupported_media_type, case_already_decided."
    )
    message = serializers.CharField(help_text="What is wrong, in a sentence a developer can act on.")
    errors = serializers.DictField(
        required=False,
        help_text="For invalid input: per field (nested like the request), the list of what is wrong with it.",
    )


def error_response(description: str) -> OpenApiResponse:
    return OpenApiResponse(ApiErrorSerializer, description=description)


_ERRORS = {
    "400": "Invalid input: `message` says what to change and `errors` names the fields.",
    "401": "No `Authorization: Bearer <token>` header, or an unknown or revoked token.",
    "403": "The API client lacks the scope this operation needs.",
    "404": "No such object for this API client.",
    "413": "The request body is larger than this server takes (10 MiB by default): send fewer cases at once.",
    "415": "The request body is not `application/json`.",
    "429": "Over this API client's request budget; retry after `Retry-After` seconds.",
}


class PortalAutoSchema(AutoSchema):
    """drf-spectacular's schema, plus the common errors and what its own mapping leaves out."""

    def get_override_parameters(self) -> list:
        parameters = super().get_override_parameters()
        if self._is_throttled():
            parameters = [
                *parameters,
                OpenApiParameter(
                    "Retry-After",
                    OpenApiTypes.INT,
                    location=OpenApiParameter.HEADER,
                    response=[429],
                    description="Seconds until this API client may call again.",
                ),
            ]
        return parameters

    def _map_serializer(self, serializer, direction, bypass_extensions=False) -> dict:
        schema = super()._map_serializer(serializer, direction, bypass_extensions)
        if isinstance(force_instance(serializer), StrictSerializer):
            schema["additionalProperties"] = False  # it refuses unknown fields
        return schema

    def _map_serializer_field(self, field, direction, bypass_extensions=False) -> dict:
        schema = super()._map_serializer_field(field, direction, bypass_extensions)
        # `many=True` with allow_empty/min_length/max_length: drf-spectacular leaves the limits out.
        if isinstance(field, serializers.ListSerializer) and schema.get("type") == "array":
            if not field.allow_empty:
                schema["minItems"] = max(1, field.min_length or 0)
            elif field.min_length:
                schema["minItems"] = field.min_length
            if field.max_length is not None:
                schema["maxItems"] = field.max_length
        return schema

    def _get_parameters(self) -> list[dict]:
        parameters = super()._get_parameters()
        for parameter in parameters:
            if parameter.pop(_EMPTY_IS_ABSENT, False):
                parameter["allowEmptyValue"] = True
        return parameters

    def _get_response_bodies(self, direction: str = "response") -> dict:
        responses = super()._get_response_bodies(direction)
        for code in self._common_error_codes():
            responses.setdefault(code, {"description": _ERRORS[code]})
        for code, response in responses.items():
            # A view's error declared by description only still has the error body.
            if code[0] in "45" and "content" not in response:
                described = error_response(response.get("description") or _ERRORS.get(code, ""))
                responses[code] = self._get_response_for_code(described, code, direction=direction)
        return dict(sorted(responses.items()))

    def _common_error_codes(self) -> list[str]:
        codes = []
        if self.method in _BODY_METHODS:
            codes += ["400", "413", "415"]
        elif self._has_query_parameters():
            codes.append("400")
        if any(isinstance(permission, HasApiClientScopes) for permission in self.view.get_permissions()):
            codes += ["401", "403"]
        if "{" in self.path:
            codes.append("404")
        if self._is_throttled():
            codes.append("429")
        return codes

    def _has_query_parameters(self) -> bool:
        return any(
            isinstance(parameter, OpenApiParameter)
            and parameter.location == OpenApiParameter.QUERY
            and not parameter.response
            for parameter in self.get_override_parameters()
        )

    def _is_throttled(self) -> bool:
        return bool(self.view.get_throttles())


class CaseBatchItemFieldExtension(OpenApiSerializerFieldExtension):
    """A batch's case is documented as a case of POST /cases/, though any JSON is taken:
    one that is not a valid case is refused on its own, in the batch's results."""

    target_class = "reviews.api_serializers.CaseBatchItemField"

    def map_serializer_field(self, auto_schema: AutoSchema, direction: str) -> dict:
        case = auto_schema.resolve_serializer(CaseIngestSerializer, direction).ref
        return {"anyOf": [case, {}]}
