from django.urls import path
from drf_spectacular.views import SpectacularAPIView

from . import api

urlpatterns = [
    path("doctors/", api.DoctorListApi.as_view(), name="api-doctors"),
    path("cases/", api.CaseIngestApi.as_view(), name="api-cases"),
    path("cases/<int:case_id>/", api.CaseDetailApi.as_view(), name="api-case-detail"),
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
]
