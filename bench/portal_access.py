"""Credentials of the bench hospital's people, made in the driver (Django set up)."""

from django.conf import settings
from django.test import Client

from accounts.models import Hospital, User
from accounts.services import api_client_create
from reviews.bench_data import BENCH_SLUG

# Any 32 alphanumerics: Django compares the header with the cookie.
CSRF_TOKEN = "benchcsrf0123456789abcdefghijklm"


def bench_hospital() -> Hospital:
    return Hospital.objects.get(slug=BENCH_SLUG)


def bench_api_token() -> str:
    _client, token = api_client_create(
        hospital=bench_hospital(), name="Bench load", scopes=["cases:write", "cases:read"]
    )
    return token


def bench_doctors() -> list[User]:
    return list(
        User.objects.filter(hospital=bench_hospital(), role=User.Role.DOCTOR, is_active=True)
        .select_related("doctor_profile")
        .order_by("email")
    )


def signed_in_headers(user: User) -> dict[str, str]:
    """Headers of a signed-in browser of `user`: session and CSRF cookies, CSRF header."""
    client = Client()
    client.force_login(user)
    session = client.cookies[settings.SESSION_COOKIE_NAME].value
    return {
        "Cookie": f"{settings.SESSION_COOKIE_NAME}={session}; {settings.CSRF_COOKIE_NAME}={CSRF_TOKEN}",
        "X-CSRFToken": CSRF_TOKEN,
    }
