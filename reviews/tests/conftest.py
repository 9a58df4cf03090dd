import pytest

from accounts.services import api_client_create

from .factories import DoctorFactory, HospitalFactory


@pytest.fixture
def hospital(db):
    return HospitalFactory()


@pytest.fixture
def doctor(hospital):
    return DoctorFactory(hospital=hospital, full_name="Li Wei")


@pytest.fixture
def other_doctor(hospital):
    return DoctorFactory(hospital=hospital, full_name="Zhang Min")


@pytest.fixture
def api_token(hospital):
    """(client, token) with the scopes the avatar platform uses."""
    return api_client_create(hospital=hospital, name="Avatar platform", scopes=["cases:write", "cases:read"])
