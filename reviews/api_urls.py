from django.urls import path, re_path
from drf_spectacular.views import SpectacularAPIView

from . import api, api_appointments, api_batch
from .api_errors import api_not_found

urlpatterns = [
    path("doctors/", api.DoctorListApi.as_view(), name="api-doctors"),
    path("cases/", api.CasesApi.as_view(), name="api-cases"),
    path("cases/batch/", api_batch.CaseBatchApi.as_view(), name="api-cases-batch"),
    path("cases/<int:case_id>/", api.CaseDetailApi.as_view(), name="api-case-detail"),
    path("cases/<int:case_id>/messages/", api.CaseMessagesApi.as_view(), name="api-case-messages"),
    path("patients/<str:pseudonym>/cases/", api.PatientCasesApi.as_view(), name="api-patient-cases"),
    path("appointments/", api_appointments.AppointmentsApi.as_view(), name="api-appointments"),
    path(
        "appointments/<int:appointment_id>/",
        api_appointments.AppointmentDetailApi.as_view(),
        name="api-appointment-detail",
    ),
    path(
        "appointments/<int:appointment_id>/summary/",
        api_appointments.AppointmentSummaryApi.as_view(),
        name="api-appointment-summary",
    ),
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # Integrators get JSON for a mistyped path too, not the HTML page of the portal.
    re_path(r"^", api_not_found, name="api-not-found"),
]
