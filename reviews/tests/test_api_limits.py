"""Every API client has a request budget, every body a size limit, and both answers are
JSON an integrator can act on. The API documentation is served from our own files."""

import json

import pytest
from rest_framework.test import APIClient

from accounts.services import api_client_create
from reviews.models import Case

pytestmark = pytest.mark.django_db


def client_for(hospital, scopes=("cases:read", "cases:write")) -> APIClient:
    _client, token = api_client_create(hospital=hospital, name="Platform", scopes=list(scopes))
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return api


def test_a_client_over_its_rate_gets_429_with_retry_after(settings, hospital, doctor):
    settings.API_CLIENT_RATE = "3/minute"
    busy, other = client_for(hospital), client_for(hospital)

    answers = [busy.get("/api/v1/doctors/") for _ in range(4)]

    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    refused = answers[-1]
    assert refused.json()["code"] == "throttled"
    assert "Request was throttled" in refused.json()["message"]
    assert 0 < int(refused["Retry-After"]) <= 60
    # The budget is the client's own: another client of the same hospital is not affected.
    assert other.get("/api/v1/doctors/").status_code == 200


def test_a_body_over_the_limit_gets_413_and_nothing_is_stored(settings, hospital, doctor):
    settings.API_MAX_BODY_BYTES = 2_000
    api = client_for(hospital)
    body = {
        "external_id": "big-1",
        "doctor": doctor.doctor_profile.licence_number,
        "patient_ref": "p-1",
        "messages": [{"author": "patient", "body": "x" * 3_000, "sent_at": "2026-01-01T08:00:00Z"}],
    }

    response = api.post("/api/v1/cases/", json.dumps(body), content_type="application/json")

    assert response.status_code == 413
    assert response.json()["code"] == "request_too_large"
    assert "2000 bytes" in response.json()["message"]
    assert not Case.objects.exists()


def test_a_body_just_under_the_limit_is_read(settings, hospital, doctor):
    settings.API_MAX_BODY_BYTES = 2_000
    body = {
        "external_id": "small-1",
        "doctor": doctor.doctor_profile.licence_number,
        "patient_ref": "p-1",
        "messages": [{"author": "patient", "body": "My baby has a rash.", "sent_at": "2026-01-01T08:00:00Z"}],
    }

    response = client_for(hospital).post("/api/v1/cases/", json.dumps(body), content_type="application/json")

    assert response.status_code == 201


def test_the_api_docs_are_served_from_our_own_static_files(client):
    page = client.get("/api/v1/docs/")

    html = page.content.decode()
    assert page.status_code == 200
    assert "/static/vendor/swagger-ui/swagger-ui-bundle.js" in html
    assert "cdn." not in html and "https://" not in html.replace("https://swagger.io", "")
    policy = page["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "'unsafe-inline'" not in policy.split("script-src")[1].split(";")[0]

    script = client.get("/api/v1/docs/?script=")
    assert script.status_code == 200
    assert "/api/v1/schema/" in script.content.decode()
