from django.conf import settings
from django.urls import include, path
from django.utils.csp import CSP
from django.views.decorators.csp import csp_override
from drf_spectacular.views import SpectacularSwaggerSplitView

from portal import health

# Swagger UI sets style attributes from its scripts; the docs page alone may use inline
# styles. Scripts stay our own static files only.
api_docs = csp_override(settings.SECURE_CSP | {"style-src": [CSP.SELF, CSP.UNSAFE_INLINE]})(
    SpectacularSwaggerSplitView.as_view(url_name="api-schema", title="Clinician review portal API")
)

urlpatterns = [
    # Probes for load balancers and operators: no sign-in, JSON.
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("accounts/", include("accounts.urls")),
    # Django's set_language, for the switcher before sign-in; signed in, the profile keeps it.
    path("i18n/", include("django.conf.urls.i18n")),
    path("manage/", include("accounts.manage_urls")),
    # Before the API's own URLs, whose last pattern answers every unknown path with a 404.
    path("api/v1/docs/", api_docs, name="api-docs"),
    path("api/v1/", include("reviews.api_urls")),
    path("", include("reviews.urls")),
]
