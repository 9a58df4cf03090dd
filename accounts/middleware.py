import time
from collections.abc import Callable
from urllib.parse import urlencode, urlsplit

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, resolve_url
from django.urls import reverse
from django.utils import translation
from django_htmx.http import HttpResponseClientRedirect
from django_htmx.middleware import HtmxDetails

from .two_factor import two_factor_enabled, two_factor_pending, two_factor_required

# The htmx regions that refresh themselves on a timer (`hx-trigger="every …"`), by the
# id htmx sends as HX-Trigger: the queue, the conversation of a taken-over case, and the
# pre-visit pages while a summary compiles (reviews.visit_views).
POLLING_ELEMENT_IDS = frozenset({"queue", "conversation", "visits", "visit-summary"})
# When a signed-in person last moved their session's expiry on (IdleSessionMiddleware).
SESSION_TOUCHED_KEY = "accounts.touched_at"
SESSION_TOUCH_INTERVAL_S = 60


class UserLanguageMiddleware:
    """Pages speak the signed-in user's language; before sign-in, the browser's (LocaleMiddleware)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated or not user.language:
            return self.get_response(request)
        # override, not activate: the thread's language goes back afterwards, so it cannot
        # leak into whatever this thread does next (another request, a test's own code).
        with translation.override(user.language):
            request.LANGUAGE_CODE = translation.get_language()
            response = self.get_response(request)
        # LocaleMiddleware only sets this header when it is missing.
        response.headers.setdefault("Content-Language", request.LANGUAGE_CODE)
        return response


def _is_htmx(request: HttpRequest) -> bool:
    return request.headers.get("HX-Request") == "true"


def _page_path(request: HttpRequest) -> str | None:
    """The page to come back to: this one for a plain GET, the page an htmx request came
    from, nothing for a plain form post (it cannot be repeated by a redirect)."""
    if _is_htmx(request):
        return HtmxDetails(request).current_url_abs_path
    return request.get_full_path() if request.method == "GET" else None


class TwoFactorMiddleware:
    """No page without the second factor. Someone who signed in with a password while
    having an authenticator app enters a code first (the verify page); someone whose
    hospital requires two-factor sign-in and has no app yet sets one up first.

    Whether a code is due is decided at sign-in and kept in the session (see
    `two_factor.PENDING_SESSION_KEY`), so a page costs no query for it. Sign-out always
    works; the API authenticates with bearer tokens, not sessions, and static files
    carry nothing private, so neither is held up.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response
        self.open_prefixes = ("/api/", "/" + settings.STATIC_URL.lstrip("/"))

    def __call__(self, request: HttpRequest) -> HttpResponse:
        detour = self._detour(request)
        if detour is None:
            return self.get_response(request)
        back = _page_path(request)
        url = reverse(detour) + (f"?{urlencode({'next': back})}" if back else "")
        return HttpResponseClientRedirect(url) if _is_htmx(request) else redirect(url)

    def _detour(self, request: HttpRequest) -> str | None:
        """The URL name the request must go to instead, or None to let it through."""
        user = request.user
        path = request.path_info
        if not user.is_authenticated or user.is_verified() or path.startswith(self.open_prefixes):
            return None
        if path == reverse("logout"):
            return None
        # The hospital is needed by every page's header anyway; the device query only
        # runs for the unverified people of hospitals that require two-factor sign-in.
        if two_factor_pending(request.session) or (two_factor_required(user) and two_factor_enabled(user)):
            return None if path == reverse("two_factor_verify") else "two_factor_verify"
        if two_factor_required(user):
            return None if path in {reverse("two_factor"), reverse("two_factor_backup_codes")} else "two_factor"
        return None


class IdleSessionMiddleware:
    """A signed-in session ends SESSION_COOKIE_AGE after the last thing its person did.

    Every request of a signed-in person saves the session, which moves its expiry on
    (SESSION_SAVE_EVERY_REQUEST is off for this) — except the htmx polls of a region
    that refreshes itself, which would keep an unattended screen signed in for ever.

    When the session has ended, an htmx request is answered with a redirect of the whole
    page to the sign-in page, not with the sign-in form swapped into the region.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not self.is_poll(request) and request.user.is_authenticated:
            self._touch(request)
        response = self.get_response(request)
        if _is_htmx(request) and self._is_sign_in_redirect(response):
            return HttpResponseClientRedirect(redirect_to_login(_page_path(request) or "/").url)
        return response

    @staticmethod
    def _touch(request: HttpRequest) -> None:
        # Saving the session is a write and a commit of its own: once a minute is enough to
        # move the expiry on (it ends at most a minute early), where every click was before.
        now = int(time.time())
        if now - request.session.get(SESSION_TOUCHED_KEY, 0) >= SESSION_TOUCH_INTERVAL_S:
            request.session[SESSION_TOUCHED_KEY] = now

    @staticmethod
    def is_poll(request: HttpRequest) -> bool:
        return (
            request.method == "GET"
            and _is_htmx(request)
            and request.headers.get("HX-Trigger", "") in POLLING_ELEMENT_IDS
        )

    @staticmethod
    def _is_sign_in_redirect(response: HttpResponse) -> bool:
        return response.status_code in (301, 302) and urlsplit(response.get("Location", "")).path == resolve_url(
            settings.LOGIN_URL
        )
