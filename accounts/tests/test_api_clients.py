"""API clients: how they are made (service and management command) and what is kept of their token."""

import hashlib
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import ApiClient
from accounts.services import api_client_create
from reviews.exceptions import InvalidInput
from reviews.models import AuditEvent
from reviews.tests.factories import AdminFactory, DoctorFactory, HospitalFactory

DOCTORS_URL = "/api/v1/doctors/"


@pytest.fixture
def hospital(db):
    return HospitalFactory(slug="st-mary")


@pytest.fixture
def admin(hospital):
    return AdminFactory(hospital=hospital)


def bearer(token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


def run_command(*args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("create_api_client", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


# --- api_client_create --------------------------------------------------------------------


def test_create_keeps_only_a_sha256_of_the_token(hospital):
    client, token = api_client_create(hospital=hospital, name="Avatar platform", scopes=["cases:write"])

    stored = ApiClient.objects.get(pk=client.pk)
    assert len(token) >= 40
    assert stored.token_hash == hashlib.sha256(token.encode()).hexdigest()
    for field in ApiClient._meta.concrete_fields:
        assert token not in str(getattr(stored, field.attname)), field.name
    assert token.startswith(stored.token_prefix)
    assert len(stored.token_prefix) < len(token) // 2


def test_each_client_gets_its_own_token(hospital):
    _first, first_token = api_client_create(hospital=hospital, name="One", scopes=["cases:write"])
    _second, second_token = api_client_create(hospital=hospital, name="Two", scopes=["cases:write"])

    assert first_token != second_token


def test_create_stores_scopes_and_trimmed_name(hospital):
    client, _token = api_client_create(
        hospital=hospital, name="  Avatar platform  ", scopes=["cases:read", "cases:write", "cases:read"]
    )

    client.refresh_from_db()
    assert client.name == "Avatar platform"
    assert sorted(client.scopes) == ["cases:read", "cases:write"]
    assert client.hospital == hospital
    assert client.revoked_at is None
    assert client.last_used_at is None


def test_create_writes_an_audit_event(hospital, admin):
    client, token = api_client_create(
        hospital=hospital, name="Avatar platform", scopes=["cases:write"], created_by=admin
    )

    event = AuditEvent.objects.get(action="api_client.created")
    assert event.hospital == hospital
    assert event.actor_user == admin
    assert event.details["api_client_id"] == client.pk
    assert event.details["scopes"] == ["cases:write"]
    assert token not in str(event.details)


@pytest.mark.parametrize(
    ("name", "scopes", "field"),
    [
        pytest.param("Avatar platform", ["cases:delete"], "scopes", id="unknown-scope"),
        pytest.param("Avatar platform", ["cases:write", "admin"], "scopes", id="one-unknown-among-known"),
        pytest.param("Avatar platform", ["Cases:Write"], "scopes", id="wrong-case-scope"),
        pytest.param("Avatar platform", [], "scopes", id="no-scopes"),
        pytest.param("Avatar platform", [""], "scopes", id="empty-scope"),
        pytest.param("", ["cases:write"], "name", id="empty-name"),
        pytest.param("   ", ["cases:write"], "name", id="blank-name"),
    ],
)
def test_create_rejects_bad_input_and_writes_nothing(hospital, name, scopes, field):
    with pytest.raises(InvalidInput) as refused:
        api_client_create(hospital=hospital, name=name, scopes=scopes)

    assert refused.value.field == field
    assert refused.value.message
    assert not ApiClient.objects.exists()
    assert not AuditEvent.objects.exists()


# --- manage.py create_api_client ------------------------------------------------------------


def test_command_prints_a_working_token_as_the_last_line(hospital):
    DoctorFactory(hospital=hospital, full_name="Li Wei")

    out, _err = run_command("--hospital", "st-mary", "--name", "Avatar platform", "--scopes", "cases:write,cases:read")

    token = out.strip().splitlines()[-1]
    client = ApiClient.objects.get()
    assert client.hospital == hospital
    assert client.name == "Avatar platform"
    assert sorted(client.scopes) == ["cases:read", "cases:write"]
    assert client.token_hash == hashlib.sha256(token.encode()).hexdigest()
    response = bearer(token).get(DOCTORS_URL)
    assert response.status_code == 200
    assert [d["name"] for d in response.json()] == ["Li Wei"]


def test_command_tolerates_spaces_in_the_scope_list(hospital):
    out, _err = run_command(
        "--hospital", "st-mary", "--name", "Avatar platform", "--scopes", " cases:write , cases:read "
    )

    assert sorted(ApiClient.objects.get().scopes) == ["cases:read", "cases:write"]
    assert bearer(out.strip().splitlines()[-1]).get(DOCTORS_URL).status_code == 200


def test_command_default_scopes_are_the_platforms(hospital):
    run_command("--hospital", "st-mary", "--name", "Avatar platform")

    assert sorted(ApiClient.objects.get().scopes) == ["cases:read", "cases:write"]


def test_command_unknown_hospital_is_a_command_error(hospital):
    with pytest.raises(CommandError, match="no-such-hospital"):
        run_command("--hospital", "no-such-hospital", "--name", "Avatar platform")

    assert not ApiClient.objects.exists()


@pytest.mark.parametrize(
    "scopes",
    [pytest.param("cases:write,cases:delete", id="unknown-scope"), pytest.param(" , ", id="no-scopes")],
)
def test_command_bad_scopes_are_a_command_error(hospital, scopes):
    with pytest.raises(CommandError):
        run_command("--hospital", "st-mary", "--name", "Avatar platform", "--scopes", scopes)

    assert not ApiClient.objects.exists()


# --- last_used_at ---------------------------------------------------------------------------


def test_last_used_at_is_set_on_use(hospital):
    client, token = api_client_create(hospital=hospital, name="Avatar platform", scopes=["cases:write"])
    assert client.last_used_at is None

    before = timezone.now()
    assert bearer(token).get(DOCTORS_URL).status_code == 200

    client.refresh_from_db()
    assert client.last_used_at is not None
    assert before <= client.last_used_at <= timezone.now()


def test_last_used_at_is_refreshed_once_it_is_old(hospital):
    client, token = api_client_create(hospital=hospital, name="Avatar platform", scopes=["cases:write"])
    long_ago = timezone.now() - timedelta(days=3)
    ApiClient.objects.filter(pk=client.pk).update(last_used_at=long_ago)

    bearer(token).get(DOCTORS_URL)

    client.refresh_from_db()
    assert client.last_used_at > long_ago + timedelta(days=2)


def test_refused_requests_do_not_mark_a_revoked_client_used(hospital):
    client, token = api_client_create(hospital=hospital, name="Avatar platform", scopes=["cases:write"])
    ApiClient.objects.filter(pk=client.pk).update(revoked_at=timezone.now())

    assert bearer(token).get(DOCTORS_URL).status_code == 401

    client.refresh_from_db()
    assert client.last_used_at is None
