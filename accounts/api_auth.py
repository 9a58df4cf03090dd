"""Bearer-token authentication for API clients, and scope checks."""

import hashlib
from datetime import timedelta

from django.conf import settings
from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions, permissions
from rest_framework.throttling import SimpleRateThrottle

from .models import ApiClient

# Writing last_used_at on every request would make each API call also a write;
# once a minute is precise enough for an admin's "last used" column.
_LAST_USED_RESOLUTION = timedelta(minutes=1)


def api_token_hash(token: str) -> str:
    # Tokens are 256-bit random strings, so a fast hash is enough; no salt is needed.
    return hashlib.sha256(token.encode()).hexdigest()


class ApiClientAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).decode("latin-1")
        if not header:
            return None
        keyword, _, token = header.partition(" ")
        # The scheme is case-insensitive (RFC 7235 §2.1): "bearer <token>" is as good as "Bearer <token>".
        if keyword.lower() != self.keyword.lower() or not token.strip():
            raise exceptions.AuthenticationFailed("Use the header 'Authorization: Bearer <token>'.")
        client = ApiClient.objects.select_related("hospital").filter(token_hash=api_token_hash(token.strip())).first()
        if client is None or client.is_revoked:
            raise exceptions.AuthenticationFailed("Unknown or revoked API token.")
        now = timezone.now()
        if client.last_used_at is None or now - client.last_used_at > _LAST_USED_RESOLUTION:
            ApiClient.objects.filter(pk=client.pk).update(last_used_at=now)
        return (None, client)

    def authenticate_header(self, request) -> str:
        return self.keyword


def _required_scopes(request, view) -> tuple[str, ...] | None:
    """The scopes this request needs: `required_scopes_by_method` where the view declares
    it (one URL, one scope per method), else the view's `required_scopes`."""
    by_method = getattr(view, "required_scopes_by_method", None)
    if by_method is None:
        return getattr(view, "required_scopes", None)
    # Django answers HEAD with the GET handler, so HEAD needs what GET needs.
    method = "GET" if request.method == "HEAD" else request.method
    if method in by_method:
        return tuple(by_method[method])
    if hasattr(view, method.lower()):
        return None  # a handler whose scopes were not declared is closed, not open
    return ()  # no handler: the view answers 405, which says nothing a token needs to guard


class HasApiClientScopes(permissions.BasePermission):
    """Views name what they need in `required_scopes`, or per method in
    `required_scopes_by_method`; the client must hold all of them. A read that serves
    clients of different kinds names `any_of_scopes` instead: one of them is enough."""

    message = "This API client lacks the scope this operation needs."

    def has_permission(self, request, view) -> bool:
        client = request.auth
        if not isinstance(client, ApiClient):
            raise exceptions.NotAuthenticated("Send 'Authorization: Bearer <token>' with an API client's token.")
        any_of = getattr(view, "any_of_scopes", None)
        if any_of:
            # As for `required_scopes`: a method the view lacks is its 405, not a 403.
            handler = "get" if request.method == "HEAD" else request.method.lower()
            if set(any_of) & set(client.scopes) or not hasattr(view, handler):
                return True
            self.message = f"This API client needs one of the scopes {', '.join(sorted(any_of))}."
            return False
        required = _required_scopes(request, view)
        if required is None:
            return False  # a view that forgot to declare its scopes is closed, not open
        if not client.has_scopes(required):
            self.message = f"This API client lacks the scope {', '.join(sorted(set(required) - set(client.scopes)))}."
            return False
        return True


class ApiClientAuthenticationScheme(OpenApiAuthenticationExtension):
    """Describes the Bearer token in the OpenAPI schema (registered by being defined)."""

    target_class = "accounts.api_auth.ApiClientAuthentication"
    name = "ApiClientToken"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "An API client's token, created by a hospital admin and shown once.",
        }


class ApiClientRateThrottle(SimpleRateThrottle):
    """Each API client has its own budget of requests (settings.API_CLIENT_RATE); over it,
    429 with Retry-After. Keyed on the client, not the address: one platform may call from
    many machines, and many clients may sit behind one proxy."""

    scope = "api_client"

    def get_rate(self) -> str:
        return settings.API_CLIENT_RATE

    def get_cache_key(self, request, view) -> str | None:
        client = request.auth
        if not isinstance(client, ApiClient):
            return None  # no token: refused by authentication, nothing to count
        return f"throttle:api_client:{client.pk}"
