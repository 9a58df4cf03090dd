"""Appointments and their pre-visit summaries in the integration API (DESIGN §8, issue #4).

A booking system creates appointments (`appointments:write`); the systems that show a
doctor's day fetch the summaries (`summaries:read`). A summary still compiling is not an
error: it answers 200 with its status, and `summary.ready` webhooks say when to fetch again.
"""

from datetime import UTC, datetime, timedelta

from django.shortcuts import get_object_or_404
from django.utils import timezone
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import ApiClient

from .api_schema import error_response
from .api_serializers import StrictSerializer
from .idempotency import IDEMPOTENCY_PARAMETERS, KEY_REUSED_RESPONSE, idempotent
from .models import Appointment, PreVisitSummary
from .previsit import MAX_REASON_LENGTH, appointment_create, doctor_for_licence

# A string, not an enum in the schema: the one choice set under two property names
# ("status", "summary_status") would be two enums of the same values.
_SUMMARY_STATUS_HELP = (
    "The pre-visit summary: pending (not compiled yet), ready, or failed (the portal retries; "
    "a summary once ready stays ready)."
)
# Further ahead than this is a wrong date (a year typed as 2206), not a booking.
MAX_BOOKING_AHEAD = timedelta(days=5 * 366)


def _utc_iso(moment: datetime) -> str:
    # As the summary content writes times, so `appointment` reads alike in every status.
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class AppointmentTimeField(serializers.DateTimeField):
    """An ISO 8601 date-time with its time zone: a visit at "09:30" is ambiguous otherwise."""

    default_error_messages = {
        "naive": "Give the time zone, e.g. 2026-11-26T09:30:00+08:00 or 2026-11-26T01:30:00Z.",
        "range": "scheduled_at must be a real visit time: after 2000 and at most 5 years ahead.",
    }

    def enforce_timezone(self, value: datetime) -> datetime:
        if timezone.is_naive(value):
            self.fail("naive")
        try:
            value = value.astimezone(UTC)
        except OverflowError:
            self.fail("range")
        if value.year < 2000 or value > timezone.now() + MAX_BOOKING_AHEAD:
            self.fail("range")
        return value


class AppointmentCreateSerializer(StrictSerializer):
    external_id = serializers.CharField(
        max_length=100, help_text="The booking system's id of the appointment: a repeat returns the same one."
    )
    doctor = serializers.CharField(max_length=40, help_text="The doctor's licence number (GET /api/v1/doctors/).")
    patient_ref = serializers.CharField(
        max_length=200,
        help_text="The platform's patient reference, as sent with the patient's cases; only a keyed hash is kept.",
    )
    scheduled_at = AppointmentTimeField(help_text="ISO 8601 with a time zone.")
    reason = serializers.CharField(
        max_length=MAX_REASON_LENGTH,
        required=False,
        allow_blank=True,
        default="",
        help_text="Why the patient comes; phone numbers, e-mail addresses and ID numbers are removed.",
    )


class AppointmentSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    external_id = serializers.CharField()
    patient = serializers.CharField(help_text="The patient's pseudonym, as on their cases.")
    doctor = serializers.CharField(help_text="The doctor's licence number.")
    scheduled_at = serializers.DateTimeField()
    reason = serializers.CharField(allow_blank=True)
    summary_status = serializers.CharField(help_text=_SUMMARY_STATUS_HELP)

    def to_representation(self, appointment: Appointment) -> dict:
        summary = getattr(appointment, "summary", None)
        return {
            "id": appointment.pk,
            "external_id": appointment.external_id,
            "patient": appointment.patient.pseudonym,
            "doctor": appointment.doctor.doctor_profile.licence_number,
            "scheduled_at": appointment.scheduled_at.isoformat(),
            "reason": appointment.reason,
            "summary_status": summary.status if summary else PreVisitSummary.Status.PENDING,
        }


class SummaryAppointmentSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    scheduled_at = serializers.CharField(help_text="ISO 8601, UTC.")
    reason = serializers.CharField(allow_blank=True)
    doctor = serializers.DictField(help_text='{"id", "name"}')


class PreVisitSummaryResponseSerializer(serializers.Serializer):
    """The summary's state, and when it is ready, its content (format_version 1) beside it."""

    status = serializers.CharField(help_text=_SUMMARY_STATUS_HELP)
    stale = serializers.BooleanField(help_text="New cases or messages arrived since it was compiled; recompiling.")
    compiled_at = serializers.DateTimeField(allow_null=True)
    format_version = serializers.IntegerField(help_text="0 until the first compile.")
    appointment = SummaryAppointmentSerializer()
    patient = serializers.DictField(required=False, help_text='{"pseudonym", "birth_year", "sex"}')
    case_count = serializers.IntegerField(required=False)
    first_contact_at = serializers.CharField(required=False, allow_null=True)
    last_contact_at = serializers.CharField(required=False, allow_null=True)
    presenting_concerns = serializers.ListField(
        child=serializers.DictField(), required=False, help_text="One per case: the patient's first message."
    )
    timeline = serializers.ListField(child=serializers.DictField(), required=False, help_text="Oldest first.")
    symptoms = serializers.ListField(child=serializers.DictField(), required=False)
    medications = serializers.ListField(child=serializers.DictField(), required=False)
    allergies = serializers.ListField(child=serializers.DictField(), required=False)
    red_flags = serializers.ListField(child=serializers.DictField(), required=False)
    decisions = serializers.ListField(child=serializers.DictField(), required=False)
    corrections = serializers.ListField(child=serializers.DictField(), required=False)
    open_questions = serializers.ListField(child=serializers.DictField(), required=False)
    last_advice = serializers.DictField(required=False, allow_null=True)

    def to_representation(self, summary: PreVisitSummary) -> dict:
        appointment = summary.appointment
        body = {
            "status": summary.status,
            "stale": summary.stale,
            "compiled_at": summary.compiled_at.isoformat() if summary.compiled_at else None,
            "format_version": summary.format_version,
            "appointment": {
                "id": appointment.pk,
                "scheduled_at": _utc_iso(appointment.scheduled_at),
                "reason": appointment.reason,
                "doctor": {"id": appointment.doctor_id, "name": appointment.doctor.full_name},
            },
        }
        if summary.status == PreVisitSummary.Status.READY:
            # The content's own `appointment` and `format_version` say the same, as compiled.
            body |= summary.content
        return body


_EXAMPLE_APPOINTMENT = {
    "external_id": "booking-88231",
    "doctor": "110101199001",
    "patient_ref": "platform-patient-42",
    "scheduled_at": "2026-11-26T09:30:00+08:00",
    "reason": "Follow-up: headaches",
}
_EXAMPLE_CREATED = {
    "id": 12,
    "external_id": "booking-88231",
    "patient": "P-7F3K9Q",
    "doctor": "110101199001",
    "scheduled_at": "2026-11-26T01:30:00+00:00",
    "reason": "Follow-up: headaches",
    "summary_status": "pending",
}
_EXAMPLE_SUMMARY_APPOINTMENT = {
    "id": 12,
    "scheduled_at": "2026-11-26T01:30:00.000Z",
    "reason": "Follow-up: headaches",
    "doctor": {"id": 3, "name": "Li Wei"},
}


def appointments_for_client(client: ApiClient):
    return Appointment.objects.filter(hospital_id=client.hospital_id).select_related(
        "patient", "doctor__doctor_profile", "summary"
    )


class AppointmentsApi(APIView):
    required_scopes_by_method = {"POST": ("appointments:write",)}

    @extend_schema(
        request=AppointmentCreateSerializer,
        responses={
            201: AppointmentSerializer,
            200: OpenApiResponse(AppointmentSerializer, description="Already created: the same appointment."),
            400: error_response("Invalid appointment, or no active doctor of your hospital has this licence number."),
            422: KEY_REUSED_RESPONSE,
        },
        parameters=IDEMPOTENCY_PARAMETERS,
        examples=[
            OpenApiExample("Book a visit", value=_EXAMPLE_APPOINTMENT, request_only=True),
            OpenApiExample("Booked", value=_EXAMPLE_CREATED, response_only=True, status_codes=["201"]),
        ],
        summary="Create an appointment (idempotent on external_id); its pre-visit summary compiles in time",
        description="Scope `appointments:write`. The summary is compiled once the visit is within the hospital's "
        "lead time (24 hours unless the hospital set another), at once if it already is; a `summary.ready` "
        "webhook says when it is ready. A repeat with the same external_id answers 200 with the stored "
        "appointment, unchanged.",
    )
    @idempotent
    def post(self, request: Request) -> Response:
        serializer = AppointmentCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        hospital = request.auth.hospital
        appointment, created = appointment_create(
            hospital=hospital,
            doctor=doctor_for_licence(hospital=hospital, licence=data["doctor"]),
            patient_ref=data["patient_ref"],
            scheduled_at=data["scheduled_at"],
            reason=data["reason"],
            external_id=data["external_id"],
            api_client=request.auth,
        )
        appointment = appointments_for_client(request.auth).get(pk=appointment.pk)
        return Response(
            AppointmentSerializer(appointment).data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK
        )


class AppointmentDetailApi(APIView):
    # The booking system that made it, or a system that reads the summaries.
    any_of_scopes = ("appointments:write", "summaries:read")

    @extend_schema(
        responses={
            200: AppointmentSerializer,
            404: error_response("No appointment of your hospital has this id."),
        },
        examples=[OpenApiExample("An appointment", value=_EXAMPLE_CREATED, response_only=True)],
        summary="One appointment, with the status of its pre-visit summary",
        description="Scope `appointments:write` or `summaries:read`.",
    )
    def get(self, request: Request, appointment_id: int) -> Response:
        appointment = get_object_or_404(appointments_for_client(request.auth), pk=appointment_id)
        return Response(AppointmentSerializer(appointment).data)


class AppointmentSummaryApi(APIView):
    required_scopes = ("summaries:read",)

    @extend_schema(
        responses={
            200: PreVisitSummaryResponseSerializer,
            404: error_response("No appointment of your hospital has this id."),
        },
        examples=[
            OpenApiExample(
                "Still compiling",
                value={
                    "status": "pending",
                    "stale": False,
                    "compiled_at": None,
                    "format_version": 0,
                    "appointment": _EXAMPLE_SUMMARY_APPOINTMENT,
                },
                response_only=True,
            ),
            OpenApiExample(
                "Ready",
                value={
                    "status": "ready",
                    "stale": False,
                    "compiled_at": "2026-11-25T09:00:02.120000+00:00",
                    "format_version": 1,
                    "appointment": _EXAMPLE_SUMMARY_APPOINTMENT,
                    "patient": {"pseudonym": "P-7F3K9Q", "birth_year": 1991, "sex": "female"},
                    "case_count": 1,
                    "first_contact_at": "2026-11-20T02:00:00.000Z",
                    "last_contact_at": "2026-11-20T02:00:05.000Z",
                    "presenting_concerns": [
                        {
                            "text": "I have had a headache for three days",
                            "case_id": 1,
                            "message_id": 5,
                            "at": "2026-11-20T02:00:00.000Z",
                            "urgency": "routine",
                            "status": "approved",
                        }
                    ],
                    "timeline": [],
                    "symptoms": [],
                    "medications": [],
                    "allergies": [],
                    "red_flags": [],
                    "decisions": [],
                    "corrections": [],
                    "open_questions": [],
                    "last_advice": None,
                },
                response_only=True,
            ),
        ],
        summary="The appointment's pre-visit summary when ready, its status otherwise (200 either way)",
        description="Scope `summaries:read`. When `status` is `ready`, the summary's content (format_version 1) "
        "is in the same object: every item names its source `case_id` (and `message_id` or `decision_id`). "
        "`stale` means new cases arrived since it was compiled and a fresher one is on its way.",
    )
    def get(self, request: Request, appointment_id: int) -> Response:
        appointment = get_object_or_404(appointments_for_client(request.auth), pk=appointment_id)
        summary = getattr(appointment, "summary", None) or PreVisitSummary(appointment=appointment)
        return Response(PreVisitSummaryResponseSerializer(summary).data)
