from django.urls import path

from . import views, visit_views

app_name = "reviews"

urlpatterns = [
    path("", views.queue, name="queue"),
    path("next/", views.next_case, name="next"),
    path("cases/<int:case_id>/", views.case_page, name="case"),
    path("cases/<int:case_id>/claim/", views.case_claim_view, name="claim"),
    path("cases/<int:case_id>/approve/", views.case_approve_view, name="approve"),
    path("cases/<int:case_id>/correct/", views.case_correct_view, name="correct"),
    path("cases/<int:case_id>/take-over/", views.case_take_over_view, name="take_over"),
    path("cases/<int:case_id>/reply/", views.case_reply_view, name="reply"),
    path("cases/<int:case_id>/close/", views.case_close_view, name="close"),
    path("visits/", visit_views.visits, name="visits"),
    path("visits/<int:appointment_id>/", visit_views.visit_summary, name="visit_summary"),
    path("visits/<int:appointment_id>/print/", visit_views.visit_summary_print, name="visit_summary_print"),
]
