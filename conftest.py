"""Fixtures every test package shares: a hospital, its doctors, an admin, an API client."""

import pytest
from django.conf import settings
from django.core.cache import cache
from django.utils import translation

from accounts.services import api_client_create
from reviews.tests.factories import AdminFactory, DoctorFactory, HospitalFactory

pytest_plugins = ["tests.celery_worker", "tests.url_coverage"]


@pytest.fixture(autouse=True)
def _english_between_tests():
    # Django's LocaleMiddleware activates a request's language in the thread and leaves it
    # there; a test client request in Chinese must not make the next test's code Chinese.
    translation.activate(settings.LANGUAGE_CODE)
    yield
    translation.deactivate()


@pytest.fixture(autouse=True)
def _fresh_cache():
    # API rate budgets live in the cache; a test's requests must not spend the next test's.
    cache.clear()


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    # Production hashing is deliberately slow; tests create many users.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


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


@pytest.fixture
def platform(api_token):
    """The avatar platform's ApiClient, for calling services that take one."""
    return api_token[0]


@pytest.fixture
def hospital_admin(hospital):
    return AdminFactory(hospital=hospital, full_name="Chen Jing")


@pytest.fixture
def outside_doctor(db):
    """A doctor of another hospital."""
    return DoctorFactory(full_name="Wang Fang")
