from django.urls import include, path

urlpatterns = [
    path("accounts/", include("accounts.urls")),
    path("manage/", include("accounts.manage_urls")),
    path("api/v1/", include("reviews.api_urls")),
    path("", include("reviews.urls")),
]
