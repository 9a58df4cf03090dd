"""Query parameters and page shape of the API's case lists (GET /cases/, GET /patients/{pseudonym}/cases/)."""

from datetime import UTC

from rest_framework import serializers

from accounts.models import User

from .api_serializers import CaseSummarySerializer
from .models import URGENCY_CODES, CaseStatus, Patient, Urgency
from .selectors import CASE_LIST_DEFAULT_LIMIT, CASE_LIST_MAX_LIMIT, CaseListFilters


class CommaSeparatedChoicesField(serializers.CharField):
    """`a,b` in a query string: each a valid choice; returns them as a tuple."""

    def __init__(self, *, choices: list[str], **kwargs):
        self.choices = choices
        super().__init__(**kwargs)

    def to_internal_value(self, data) -> tuple[str, ...]:
        values = [value.strip() for value in super().to_internal_value(data).split(",") if value.strip()]
        unknown = [value for value in values if value not in self.choices]
        if unknown or not values:
            raise serializers.ValidationError(
                f"Unknown value {', '.join(unknown) or '(empty)'}; use one or more of {', '.join(self.choices)},"
                " separated by commas."
            )
        return tuple(dict.fromkeys(values))


class QueryDateTimeField(serializers.DateTimeField):
    """An ISO 8601 date-time in a query string, where an unescaped `+08:00` arrives as ` 08:00`."""

    def to_internal_value(self, value):
        if isinstance(value, str) and " " in value.strip():
            value = value.strip().replace(" ", "+")
        return super().to_internal_value(value)

    def enforce_timezone(self, value):
        try:
            value = super().enforce_timezone(value)
            value.astimezone(UTC)
        except OverflowError:
            self.fail("overflow")
        return value


class CaseListQuerySerializer(serializers.Serializer):
    """The list's query parameters; parameters it does not know are ignored."""

    status = CommaSeparatedChoicesField(choices=CaseStatus.values, required=False)
    urgency = CommaSeparatedChoicesField(choices=URGENCY_CODES, required=False)
    doctor = serializers.IntegerField(min_value=1, required=False, help_text="A doctor's id from GET /doctors/.")
    updated_since = QueryDateTimeField(required=False)
    external_id = serializers.CharField(max_length=100, required=False)
    limit = serializers.IntegerField(min_value=1, max_value=CASE_LIST_MAX_LIMIT, default=CASE_LIST_DEFAULT_LIMIT)

    def validate_doctor(self, doctor_id: int) -> int:
        # One of this hospital's doctors (also one who has left: their cases stay listed).
        if not User.objects.filter(pk=doctor_id, hospital_id=self.context["hospital_id"]).exists():
            raise serializers.ValidationError("No doctor of your hospital has this id; use an id from GET /doctors/.")
        return doctor_id

    def to_filters(self, *, patient: Patient | None = None) -> CaseListFilters:
        data = self.validated_data
        return CaseListFilters(
            statuses=data.get("status", ()),
            urgencies=tuple(Urgency.from_code(code) for code in data.get("urgency", ())),
            doctor_id=data.get("doctor"),
            updated_since=data.get("updated_since"),
            external_id=data.get("external_id"),
            patient=patient,
        )


class CaseSummaryPageSerializer(serializers.Serializer):
    results = CaseSummarySerializer(many=True)
    next = serializers.URLField(allow_null=True, help_text="The next page, or null at the end (for now).")
