"""Hospital admins' pages, under /manage/."""

from django.urls import path

from . import manage_appointments, manage_webhooks
from . import manage_views as views

app_name = "manage"

urlpatterns = [
    path("staff/", views.staff, name="staff"),
    path("staff/invite/", views.staff_invite, name="staff_invite"),
    path("staff/<int:user_id>/", views.staff_edit, name="staff_edit"),
    path("staff/<int:user_id>/deactivate/", views.staff_deactivate, name="staff_deactivate"),
    path("staff/<int:user_id>/reactivate/", views.staff_reactivate, name="staff_reactivate"),
    path("staff/<int:user_id>/unlock/", views.staff_unlock, name="staff_unlock"),
    path("staff/<int:user_id>/two-factor-reset/", views.staff_two_factor_reset, name="staff_two_factor_reset"),
    path("api-clients/", views.api_clients, name="api_clients"),
    path("api-clients/<int:client_id>/revoke/", views.api_client_revoke, name="api_client_revoke"),
    path("policy/", views.policy, name="policy"),
    path("audit/", views.audit_log, name="audit"),
    path("audit.csv", views.audit_csv, name="audit_csv"),
    path("webhooks/", manage_webhooks.webhooks, name="webhooks"),
    path("webhooks/<int:endpoint_id>/disable/", manage_webhooks.webhook_disable, name="webhook_disable"),
    path("webhooks/deliveries/", manage_webhooks.webhook_deliveries, name="webhook_deliveries"),
    path(
        "webhooks/deliveries/<int:delivery_id>/redeliver/", manage_webhooks.webhook_redeliver, name="webhook_redeliver"
    ),
    path("appointments/", manage_appointments.appointments, name="appointments"),
]
