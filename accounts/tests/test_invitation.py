"""The invitation page: a new member of staff chooses a password and is signed in."""

from datetime import timedelta
from html import unescape

import pytest
from django.utils import timezone

from accounts.models import DoctorProfile, Invitation, User
from accounts.services import staff_invite
from reviews.models import AuditEvent

pytestmark = pytest.mark.django_db

STRONG = "a-Long-enough-passphrase-42"
GONE = "This invitation link has expired or has already been used. Ask your hospital's admin for another."


@pytest.fixture
def invited(hospital_admin):
    """(invitation, token) for a doctor of the admin's hospital."""
    return staff_invite(
        hospital=hospital_admin.hospital,
        invited_by=hospital_admin,
        email="sun.li@example.test",
        full_name="Sun Li",
        role=User.Role.DOCTOR,
        specialty=DoctorProfile.Specialty.OBSTETRICS,
        licence_number="LIC-INV-1",
        link_base="http://testserver/accounts/invitation/",
    )


def url(token: str) -> str:
    return f"/accounts/invitation/{token}/"


def accept(client, token: str, password: str = STRONG, confirm: str | None = None):
    return client.post(url(token), {"password1": password, "password2": password if confirm is None else confirm})


def test_the_page_shows_who_is_invited_where_and_the_password_rules(client, invited):
    invitation, token = invited

    page = client.get(url(token)).content.decode()

    assert invitation.hospital.name in page and "Sun Li" in page and "Doctor" in page
    assert ">Password</label>" in page and ">Confirm password</label>" in page
    assert "Your password must contain at least 8 characters." in page


def test_accepting_creates_the_account_and_signs_the_person_in(client, invited):
    invitation, token = invited

    response = accept(client, token)

    assert response.status_code == 302 and response.url == "/"
    user = User.objects.get(email="sun.li@example.test")
    assert user.hospital == invitation.hospital and user.doctor_profile.licence_number == "LIC-INV-1"
    assert user.check_password(STRONG)
    assert client.get("/").status_code == 200
    actions = list(AuditEvent.objects.filter(hospital=invitation.hospital).values_list("action", flat=True))
    assert actions[-2:] == ["staff.invitation_accepted", "user.signed_in"]


def test_passwords_that_differ_are_refused_and_nothing_is_created(client, invited):
    invitation, token = invited

    response = accept(client, token, confirm=STRONG + "x")

    assert response.status_code == 200
    assert "The two password fields didn’t match." in unescape(response.content.decode())
    assert not User.objects.filter(email=invitation.email).exists()
    invitation.refresh_from_db()
    assert invitation.accepted_at is None


def test_a_weak_password_shows_the_validators_message_and_nothing_is_created(client, invited):
    invitation, token = invited

    response = accept(client, token, password="password")

    assert response.status_code == 200
    assert "This password is too common." in response.content.decode()
    assert not User.objects.filter(email=invitation.email).exists()
    assert client.get("/").status_code == 302


def test_a_password_like_the_persons_name_is_refused(client, invited):
    _invitation, token = invited

    response = accept(client, token, password="sun.li@example")

    assert "The password is too similar to the email." in response.content.decode()


@pytest.mark.parametrize("method", ["get", "post"])
def test_an_expired_link_is_gone(client, invited, method):
    invitation, token = invited
    Invitation.objects.filter(pk=invitation.pk).update(expires_at=timezone.now() - timedelta(minutes=1))

    response = getattr(client, method)(url(token), {"password1": STRONG, "password2": STRONG})

    assert response.status_code == 410
    assert GONE in unescape(response.content.decode())
    assert not User.objects.filter(email=invitation.email).exists()


def test_a_link_works_once(client, invited):
    _invitation, token = invited
    accept(client, token)
    client.logout()

    again = accept(client, token, password=STRONG + "-2")

    assert again.status_code == 410 and GONE in unescape(again.content.decode())
    assert client.get(url(token)).status_code == 410
    assert User.objects.get(email="sun.li@example.test").check_password(STRONG)


def test_a_revoked_link_is_gone(client, invited, hospital_admin):
    invitation, token = invited
    # Inviting the same address again revokes the pending invitation.
    staff_invite(
        hospital=hospital_admin.hospital,
        invited_by=hospital_admin,
        email=invitation.email,
        full_name="Sun Li",
        role=User.Role.ADMIN,
        link_base="http://testserver/accounts/invitation/",
    )

    response = client.get(url(token))

    assert response.status_code == 410 and GONE in unescape(response.content.decode())


def test_an_unknown_token_is_gone(client, db):
    response = client.get(url("not-a-token"))

    assert response.status_code == 410 and GONE in unescape(response.content.decode())


def test_where_the_hospital_requires_two_factor_the_new_account_sets_it_up_first(client, invited):
    invitation, token = invited
    invitation.hospital.require_2fa = True
    invitation.hospital.save()

    response = accept(client, token)

    assert response.status_code == 302 and response.url == "/accounts/two-factor/"
    assert client.get("/").url == "/accounts/two-factor/?next=%2F"
    assert "Your hospital requires two-factor sign-in. Set it up to continue." in (
        client.get("/accounts/two-factor/").content.decode()
    )
