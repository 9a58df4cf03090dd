"""The integration API (DESIGN §8): thin views over selectors and services."""

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import DoctorProfile, User

from .api_serializers import CaseIngestResultSerializer, CaseIngestSerializer, CaseSummarySerializer, DoctorSerializer
from .selectors import case_detail, cases_for_client
from .services import case_ingest

_ERROR = OpenApiResponse(description="JSON error: {code, message, errors?}")


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


class CaseIngestApi(APIView):
    required_scopes = ("cases:write",)

    @extend_schema(
        request=CaseIngestSerializer,
        responses={
            201: CaseIngestResultSerializer,
            200: OpenApiResponse(CaseIngestResultSerializer, description="Already ingested: the same case."),
            400: _ERROR,
            401: _ERROR,
            403: _ERROR,
        },
        summary="Ingest one avatar-handled case (idempotent on external_id)",
    )
    def post(self, request: Request) -> Response:
        serializer = CaseIngestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        case, created = case_ingest(api_client=request.auth, data=serializer.to_ingest_data())
        return Response(
            CaseIngestResultSerializer(case).data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK
        )


class CaseDetailApi(APIView):
    required_scopes = ("cases:read",)

    @extend_schema(responses={200: CaseSummarySerializer, 404: _ERROR}, summary="One case's summary")
    def get(self, request: Request, case_id: int) -> Response:
        case = get_object_or_404(cases_for_client(request.auth).select_related("patient"), pk=case_id)
        return Response(CaseSummarySerializer(case_detail(case=case)).data)
