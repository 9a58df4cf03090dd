"""POST /api/v1/cases/batch/ (issue #4): many cases in one request, each stored or refused on its own."""

from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from .api_errors import review_error_body, validation_error_body
from .api_fast import batch_cases_fast, case_ingest_data_fast
from .api_serializers import (
    CaseBatchRequestSerializer,
    CaseBatchResultSerializer,
    CaseIngestResultSerializer,
    CaseIngestSerializer,
)
from .idempotency import IDEMPOTENCY_PARAMETERS, KEY_REUSED_RESPONSE, idempotent
from .services import CaseIngestData, cases_ingest_batch, unknown_doctor_error


class CaseBatchApi(APIView):
    required_scopes = ("cases:write",)

    @extend_schema(
        request=CaseBatchRequestSerializer,
        parameters=IDEMPOTENCY_PARAMETERS,
        responses={200: CaseBatchResultSerializer, 422: KEY_REUSED_RESPONSE},
        summary="Ingest up to 500 cases; each is stored or refused on its own (idempotent on external_id)",
    )
    @idempotent
    def post(self, request: Request) -> Response:
        cases = batch_cases_fast(request.data)
        if cases is None:
            envelope = CaseBatchRequestSerializer(data=request.data)
            envelope.is_valid(raise_exception=True)
            cases = envelope.validated_data["cases"]
        results: list[dict] = []
        valid: list[tuple[dict, CaseIngestData]] = []
        for index, item in enumerate(cases):
            result = {"index": index}
            if isinstance(item, dict) and isinstance(item.get("external_id"), str):
                result["external_id"] = item["external_id"]
            data = case_ingest_data_fast(item)
            if data is None:  # the serializer words the error, as POST /cases/ would
                serializer = CaseIngestSerializer(data=item)
                if serializer.is_valid():
                    data = serializer.to_ingest_data()
                else:
                    result |= {"status_code": 400} | validation_error_body(serializer.errors)
            if data is not None:
                valid.append((result, data))
            results.append(result)

        ingested = cases_ingest_batch(api_client=request.auth, items=[data for _r, data in valid])
        for (result, data), (case, created) in zip(valid, ingested, strict=True):
            if case is None:
                result |= {"status_code": 400} | review_error_body(unknown_doctor_error(licence=data.doctor_licence))
            else:
                result |= {"status_code": 201 if created else 200} | CaseIngestResultSerializer(case).data
        codes = [r["status_code"] for r in results]
        return Response(
            {"results": results, "created": codes.count(201), "existing": codes.count(200), "failed": codes.count(400)}
        )
