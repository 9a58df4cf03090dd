from django.urls import include, path

urlpatterns = [
    path("accounts/", include("accounts.urls")),
    # Django's set_language, for the switcher before sign-in; signed in, the profile keeps it.
    path("i18n/", include("django.conf.urls.i18n")),
    path("manage/", include("accounts.manage_urls")),
    path("api/v1/", include("reviews.api_urls")),
    path("", include("reviews.urls")),
]
