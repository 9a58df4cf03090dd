"""The integration API (DESIGN §8): thin views over selectors and services."""

from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import DoctorProfile, User

from .api_case_list import CaseListQuerySerializer, CaseSummaryPageSerializer
from .api_fast import case_ingest_data_fast
from .api_schema import EMPTY_IS_ABSENT, error_response
from .api_serializers import (
    CaseIngestResultSerializer,
    CaseIngestSerializer,
    CaseMessageResultSerializer,
    CaseMessageSerializer,
    CaseSummarySerializer,
    DoctorSerializer,
)
from .exceptions import InvalidCursor
from .idempotency import IDEMPOTENCY_PARAMETERS, KEY_REUSED_RESPONSE, idempotent
from .models import CaseStatus, Patient
from .selectors import CaseListCursor, case_detail, case_summaries_page, cases_for_client
from .services import case_ingest, case_patient_message_add

_CASE_LIST_PARAMETERS = [
    OpenApiParameter(
        "status",
        str,
        description=f"One or more of {', '.join(CaseStatus.values)}, separated by commas.",
        extensions=EMPTY_IS_ABSENT,
    ),
    OpenApiParameter(
        "urgency",
        str,
        description="One or more of emergency, urgent, soon, routine, separated by commas.",
        extensions=EMPTY_IS_ABSENT,
    ),
    OpenApiParameter("doctor", int, description="A doctor's id from GET /doctors/.", extensions=EMPTY_IS_ABSENT),
    OpenApiParameter(
        "updated_since",
        OpenApiTypes.DATETIME,
        description="ISO 8601; cases changed at or after this time (inclusive). Poll with the last updated_at seen.",
        extensions=EMPTY_IS_ABSENT,
    ),
    OpenApiParameter(
        "external_id", str, description="The platform's id of the case (exact).", extensions=EMPTY_IS_ABSENT
    ),
    OpenApiParameter("limit", int, description="Page size, 1 to 200; 50 if not given.", extensions=EMPTY_IS_ABSENT),
    OpenApiParameter("cursor", str, description="Opaque; take the whole `next` URL of the previous page."),
]


def _case_list_response(request: Request, *, patient: Patient | None = None) -> Response:
    """One page of the client's cases, oldest change first (updated_at, id), for both list URLs."""
    query = CaseListQuerySerializer(data=request.query_params, context={"hospital_id": request.auth.hospital_id})
    query.is_valid(raise_exception=True)
    after = None
    if "cursor" in request.query_params:
        after = CaseListCursor.decode(request.query_params["cursor"])
        if after is None:
            raise InvalidCursor("Unknown cursor; follow the `next` URL of a previous page as it is.", field="cursor")
    page = case_summaries_page(
        client=request.auth, filters=query.to_filters(patient=patient), after=after, limit=query.validated_data["limit"]
    )
    next_url = None
    if page.next_cursor is not None:
        params = request.query_params.copy()
        params["cursor"] = page.next_cursor.encode()
        next_url = f"{request.build_absolute_uri(request.path)}?{params.urlencode()}"
    return Response({"results": CaseSummarySerializer(page.details, many=True).data, "next": next_url})


class DoctorListApi(APIView):
    required_scopes = ("cases:write",)

    @extend_schema(responses={200: DoctorSerializer(many=True)}, summary="The hospital's doctors")
    def get(self, request: Request) -> Response:
        profiles = (
            DoctorProfile.objects.filter(
                hospital_id=request.auth.hospital_id, user__is_active=True, user__role=User.Role.DOCTOR
            )
            .select_related("user")
            .order_by("user__full_name", "pk")
        )
        return Response(DoctorSerializer(profiles, many=True).data)


class CasesApi(APIView):
    required_scopes_by_method = {"GET": ("cases:read",), "POST": ("cases:write",)}

    @extend_schema(
        operation_id="cases_list",
        parameters=_CASE_LIST_PARAMETERS,
        responses={200: CaseSummaryPageSerializer},
        summary="The hospital's cases, oldest change first, by cursor",
    )
    def get(self, request: Request) -> Response:
        return _case_list_response(request)

    @extend_schema(
        request=CaseIngestSerializer,
        parameters=IDEMPOTENCY_PARAMETERS,
        responses={
            201: CaseIngestResultSerializer,
            200: OpenApiResponse(CaseIngestResultSerializer, description="Already ingested: the same case."),
            400: error_response(
                "Invalid case, no active doctor of your hospital has this licence number, or a malformed "
                "Idempotency-Key."
            ),
            422: KEY_REUSED_RESPONSE,
        },
        summary="Ingest one avatar-handled case (idempotent on external_id and on Idempotency-Key)",
    )
    @idempotent
    def post(self, request: Request) -> Response:
        data = case_ingest_data_fast(request.data)
        if data is None:  # the serializer words the error (or accepts what the fast path refers)
            serializer = CaseIngestSerializer(data=request.data)
            serializer.is_valid(raise_exception=True)
            data = serializer.to_ingest_data()
        case, created = case_ingest(api_client=request.auth, data=data)
        return Response(
            CaseIngestResultSerializer(case).data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK
        )


class CaseDetailApi(APIView):
    required_scopes = ("cases:read",)

    @extend_schema(
        responses={200: CaseSummarySerializer, 404: error_response("No case of your hospital has this id.")},
        summary="One case's summary",
    )
    def get(self, request: Request, case_id: int) -> Response:
        case = get_object_or_404(cases_for_client(request.auth).select_related("patient"), pk=case_id)
        return Response(CaseSummarySerializer(case_detail(case=case)).data)


class PatientCasesApi(APIView):
    required_scopes = ("cases:read",)

    @extend_schema(
        parameters=_CASE_LIST_PARAMETERS,
        responses={
            200: CaseSummaryPageSerializer,
            404: error_response("No patient of your hospital has this pseudonym."),
        },
        summary="One patient's cases, oldest change first, by cursor",
    )
    def get(self, request: Request, pseudonym: str) -> Response:
        patient = get_object_or_404(Patient, hospital_id=request.auth.hospital_id, pseudonym=pseudonym)
        return _case_list_response(request, patient=patient)


class CaseMessagesApi(APIView):
    required_scopes = ("cases:write",)

    @extend_schema(
        request=CaseMessageSerializer,
        responses={
            201: CaseMessageResultSerializer,
            404: error_response("No case of your hospital has this id."),
            409: error_response("The case is closed: start a new case for a new question."),
            422: KEY_REUSED_RESPONSE,
        },
        parameters=IDEMPOTENCY_PARAMETERS,
        summary="Add a new patient message to a case (409 once the case is closed)",
    )
    @idempotent
    def post(self, request: Request, case_id: int) -> Response:
        case = get_object_or_404(cases_for_client(request.auth), pk=case_id)
        serializer = CaseMessageSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        message = case_patient_message_add(api_client=request.auth, case=case, **serializer.validated_data)
        return Response(CaseMessageResultSerializer(message).data, status=status.HTTP_201_CREATED)
