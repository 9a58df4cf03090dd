from django.urls import include, path

from bench import baseline_views

urlpatterns = [
    path("bench/noop/", baseline_views.noop, name="bench-noop"),
    path("bench/fragment/<int:size>/", baseline_views.static_fragment, name="bench-fragment"),
    path("", include("portal.urls")),
]
