"""Signing in and out: throttling, the audit trail, password reset and change, the
profile page, signing out everywhere and the idle timeout."""

import re
from datetime import timedelta
from html import unescape
from unittest import mock

import pytest
from django.contrib.auth.backends import ModelBackend
from django.contrib.sessions.models import Session
from django.test import Client
from django.utils import timezone

from accounts.models import SignInFailure, User
from accounts.services import signin_unlock
from reviews.models import AuditEvent
from reviews.tests.factories import DoctorFactory

pytestmark = pytest.mark.django_db

PASSWORD = "demo-password"  # the factories' default
LOGIN = "/accounts/login/"
ACCOUNT_LOCKED = (
    "Too many failed sign-ins for this account. Try again in 15 minutes, or ask your hospital's admin to unlock it."
)


def text(response) -> str:
    return unescape(response.content.decode())


def sign_in(client: Client, email: str, password: str = PASSWORD, **extra):
    return client.post(LOGIN, {"username": email, "password": password}, **extra)


def fail(client: Client, email: str, times: int = 1, **extra) -> None:
    for _ in range(times):
        assert sign_in(client, email, "wrong-password", **extra).status_code == 200


def actions(**filters) -> list[str]:
    return list(AuditEvent.objects.filter(**filters).order_by("id").values_list("action", flat=True))


# --- The sign-in page ------------------------------------------------------------------------


def test_the_sign_in_page_links_to_password_reset(client, db):
    page = client.get(LOGIN).content.decode()

    assert ">Email</label>" in page and ">Password</label>" in page and ">Sign in</button>" in page
    assert 'name="username"' in page and 'name="password"' in page
    assert '<a href="/accounts/password-reset/">Forgot your password?</a>' in page


# --- Audit trail -----------------------------------------------------------------------------


def test_a_sign_in_is_audited_with_the_address(client, doctor):
    assert sign_in(client, doctor.email).status_code == 302

    event = AuditEvent.objects.get(action="user.signed_in")
    assert event.actor_user == doctor and event.hospital == doctor.hospital and event.ip == "127.0.0.1"


def test_a_failed_sign_in_of_an_account_is_audited_without_the_password(client, doctor):
    fail(client, doctor.email)

    event = AuditEvent.objects.get()
    assert event.action == "user.sign_in_failed" and event.actor_user == doctor and event.ip == "127.0.0.1"
    assert event.details == {"reason": "wrong_password"}
    assert SignInFailure.objects.get().email == doctor.email


def test_a_deactivated_account_failing_is_audited_as_such(client, doctor):
    User.objects.filter(pk=doctor.pk).update(is_active=False)

    sign_in(client, doctor.email)  # the right password: still refused

    assert AuditEvent.objects.get().details == {"reason": "account_inactive"}
    assert client.get("/").status_code == 302


def test_a_failed_sign_in_of_an_unknown_address_is_counted_but_kept_out_of_the_audit_log(client, doctor):
    fail(client, "Nobody@Example.test")

    assert not AuditEvent.objects.exists()
    failure = SignInFailure.objects.get()
    assert failure.email == "nobody@example.test" and failure.ip == "127.0.0.1"


def test_signing_out_is_audited(client, doctor):
    sign_in(client, doctor.email)

    client.post("/accounts/logout/")

    assert actions() == ["user.signed_in", "user.signed_out"]
    assert client.get("/").status_code == 302


def test_an_unknown_address_costs_a_password_hash_too(client, doctor):
    # Django's ModelBackend hashes the typed password for an unknown account as well, so
    # the answer takes as long whether or not the account exists.
    with mock.patch("django.contrib.auth.hashers.MD5PasswordHasher.encode", autospec=True) as encode:
        encode.return_value = "md5$salt$hash"
        fail(client, "nobody@example.test")
    assert encode.called


# --- Throttling ------------------------------------------------------------------------------


def test_five_failures_lock_the_account_even_against_the_right_password(client, doctor):
    fail(client, doctor.email, times=5)

    with mock.patch.object(ModelBackend, "authenticate", autospec=True) as authenticate:
        response = sign_in(client, doctor.email)

    assert response.status_code == 429
    assert ACCOUNT_LOCKED in text(response)
    assert not authenticate.called, "the password must not even be checked"
    assert client.get("/").status_code == 302
    assert SignInFailure.objects.count() == 5, "a refused attempt is not another failure"


def test_the_lock_is_on_the_address_typed_whatever_its_case(client, doctor):
    fail(client, doctor.email.upper(), times=5)

    assert sign_in(client, doctor.email).status_code == 429


def test_a_locked_account_does_not_lock_another(client, doctor, other_doctor):
    fail(client, doctor.email, times=5)

    assert sign_in(client, other_doctor.email).status_code == 302


def test_an_unknown_address_is_locked_like_a_known_one(client, db):
    fail(client, "nobody@example.test", times=5)

    response = sign_in(client, "nobody@example.test")

    assert response.status_code == 429 and ACCOUNT_LOCKED in text(response)


def test_the_wait_is_until_the_oldest_counted_failure_leaves_the_window(client, doctor):
    now = timezone.now()
    SignInFailure.objects.bulk_create(
        SignInFailure(email=doctor.email, ip="10.0.0.9", at=now - timedelta(minutes=minutes))
        for minutes in (10, 9, 2, 1)
    )
    fail(client, doctor.email)

    response = sign_in(client, doctor.email)

    assert "Try again in 5 minutes" in text(response)


def test_failures_older_than_the_window_do_not_count_and_are_cleared(client, doctor):
    old = timezone.now() - timedelta(minutes=16)
    SignInFailure.objects.bulk_create(SignInFailure(email=doctor.email, ip="10.0.0.9", at=old) for _ in range(5))

    fail(client, doctor.email)

    assert SignInFailure.objects.count() == 1, "the old rows went when the new failure was counted"
    assert sign_in(client, doctor.email).status_code == 302


def test_too_many_failures_from_one_address_lock_it_for_every_account(client, hospital, settings):
    settings.SIGNIN_MAX_FAILURES_PER_IP = 6
    doctors = [DoctorFactory(hospital=hospital) for _ in range(4)]
    for target in doctors[:3]:
        fail(client, target.email, times=2)

    response = sign_in(client, doctors[3].email)

    assert response.status_code == 429
    assert "Too many failed sign-ins from your network. Try again in 15 minutes." in text(response)
    # Someone elsewhere is not held up by it.
    assert sign_in(Client(), doctors[3].email, REMOTE_ADDR="10.1.2.3").status_code == 302


def test_an_admin_unlocking_the_account_lets_its_owner_in_at_once(client, doctor, hospital_admin):
    fail(client, doctor.email, times=5)

    signin_unlock(email=doctor.email, unlocked_by=hospital_admin)

    assert sign_in(client, doctor.email).status_code == 302


def test_signing_in_clears_the_accounts_failures(client, doctor):
    fail(client, doctor.email, times=4)
    fail(client, "someone.else@example.test")

    assert sign_in(client, doctor.email).status_code == 302

    assert list(SignInFailure.objects.values_list("email", flat=True)) == ["someone.else@example.test"]


# --- Password reset --------------------------------------------------------------------------


def reset_link(message) -> str:
    match = re.search(r"http://testserver(/accounts/reset/[^/\s]+/[^/\s]+/)", message.body)
    assert match, message.body
    return match.group(1)


def test_a_reset_link_sets_a_new_password(client, doctor, mailoutbox):
    response = client.post("/accounts/password-reset/", {"email": doctor.email})

    assert response.status_code == 302 and response.url == "/accounts/password-reset/done/"
    assert len(mailoutbox) == 1 and mailoutbox[0].to == [doctor.email]
    assert "Reset your password" in mailoutbox[0].subject
    form_page = client.get(reset_link(mailoutbox[0]), follow=True)
    assert ">Password</label>" not in form_page.content.decode()  # Django's own labels: new password, twice
    set_url = form_page.redirect_chain[-1][0]

    done = client.post(set_url, {"new_password1": "a-Fresh-passphrase-77", "new_password2": "a-Fresh-passphrase-77"})

    assert done.status_code == 302 and done.url == "/accounts/reset/done/"
    doctor.refresh_from_db()
    assert doctor.check_password("a-Fresh-passphrase-77")
    assert AuditEvent.objects.get(action="user.password_reset").actor_user == doctor
    assert sign_in(client, doctor.email, "a-Fresh-passphrase-77").status_code == 302


def test_a_reset_link_works_once(client, doctor, mailoutbox):
    client.post("/accounts/password-reset/", {"email": doctor.email})
    link = reset_link(mailoutbox[0])
    set_url = client.get(link, follow=True).redirect_chain[-1][0]
    client.post(set_url, {"new_password1": "a-Fresh-passphrase-77", "new_password2": "a-Fresh-passphrase-77"})

    again = client.get(link, follow=True)

    assert "This password reset link has expired or has already been used." in text(again)


def test_an_unknown_address_gets_the_same_answer_and_no_mail(client, doctor, mailoutbox):
    known = client.post("/accounts/password-reset/", {"email": doctor.email}, follow=True)
    unknown = client.post("/accounts/password-reset/", {"email": "nobody@example.test"}, follow=True)

    assert unknown.redirect_chain == known.redirect_chain == [("/accounts/password-reset/done/", 302)]
    assert "If an account exists for that address, we have sent it a link" in text(unknown)
    assert len(mailoutbox) == 1


def test_a_reset_ends_the_lock_of_failed_sign_ins(client, doctor, mailoutbox):
    fail(client, doctor.email, times=5)
    client.post("/accounts/password-reset/", {"email": doctor.email})
    set_url = client.get(reset_link(mailoutbox[0]), follow=True).redirect_chain[-1][0]

    client.post(set_url, {"new_password1": "a-Fresh-passphrase-77", "new_password2": "a-Fresh-passphrase-77"})

    assert sign_in(client, doctor.email, "a-Fresh-passphrase-77").status_code == 302


def test_a_reset_of_a_user_without_a_hospital_is_not_audited(client, mailoutbox, db):
    user = User.objects.create_user("root@example.test", PASSWORD, full_name="Root")
    client.post("/accounts/password-reset/", {"email": user.email})
    set_url = client.get(reset_link(mailoutbox[0]), follow=True).redirect_chain[-1][0]

    client.post(set_url, {"new_password1": "a-Fresh-passphrase-77", "new_password2": "a-Fresh-passphrase-77"})

    user.refresh_from_db()
    assert user.check_password("a-Fresh-passphrase-77") and not AuditEvent.objects.exists()


# --- Password change -------------------------------------------------------------------------


def test_changing_the_password_keeps_this_session_and_ends_the_others(client, doctor):
    other = Client()
    client.force_login(doctor)
    other.force_login(doctor)

    response = client.post(
        "/accounts/password-change/",
        {"old_password": PASSWORD, "new_password1": "a-Fresh-passphrase-77", "new_password2": "a-Fresh-passphrase-77"},
        follow=True,
    )

    assert response.redirect_chain == [("/accounts/profile/", 302)]
    assert "Your password has been changed." in text(response)
    assert client.get("/").status_code == 200
    assert other.get("/").status_code == 302
    assert AuditEvent.objects.get(action="user.password_changed").ip == "127.0.0.1"


def test_a_wrong_old_password_changes_nothing(client, doctor):
    client.force_login(doctor)

    response = client.post(
        "/accounts/password-change/",
        {"old_password": "nope", "new_password1": "a-Fresh-passphrase-77", "new_password2": "a-Fresh-passphrase-77"},
    )

    assert response.status_code == 200 and "Your old password was entered incorrectly" in text(response)
    doctor.refresh_from_db()
    assert doctor.check_password(PASSWORD)


# --- Profile ---------------------------------------------------------------------------------


def test_the_profile_shows_who_and_where(client, doctor):
    client.force_login(doctor)

    page = text(client.get("/accounts/profile/"))

    for shown in (doctor.full_name, doctor.email, doctor.hospital.name, "Doctor", "Two-factor sign-in"):
        assert shown in page
    assert 'href="/accounts/password-change/"' in page and 'href="/accounts/two-factor/"' in page


def test_the_profile_needs_sign_in(client, db):
    assert client.get("/accounts/profile/").url == "/accounts/login/?next=/accounts/profile/"


def test_choosing_a_language_changes_the_pages_language(client, doctor):
    client.force_login(doctor)
    assert '<html lang="en">' in client.get("/").content.decode()

    response = client.post("/accounts/profile/language/", {"language": "zh-hans"})

    assert response.status_code == 302 and response.url == "/accounts/profile/"
    doctor.refresh_from_db()
    assert doctor.language == "zh-hans"
    assert '<html lang="zh-hans">' in client.get("/").content.decode()
    event = AuditEvent.objects.get(action="user.language_changed")
    assert event.details == {"from": "en", "to": "zh-hans"}


def test_an_unknown_language_is_refused(client, doctor):
    client.force_login(doctor)

    client.post("/accounts/profile/language/", {"language": "xx"})

    doctor.refresh_from_db()
    assert doctor.language == "en" and not AuditEvent.objects.exists()


def test_signing_out_everywhere_ends_the_other_sessions_too(client, doctor):
    other = Client()
    sign_in(client, doctor.email)
    sign_in(other, doctor.email)

    response = client.post("/accounts/sign-out-everywhere/", follow=True)

    assert response.redirect_chain == [("/accounts/login/", 302)]
    assert "You have been signed out on every device." in text(response)
    assert client.get("/").status_code == 302
    assert other.get("/").url == "/accounts/login/?next=/"
    assert actions()[-2:] == ["user.signed_out_everywhere", "user.signed_out"]


# --- Idle timeout ----------------------------------------------------------------------------


def session_expiry(client: Client):
    return Session.objects.get(session_key=client.session.session_key).expire_date


def soon_expiring(client: Client, doctor) -> None:
    client.force_login(doctor)
    Session.objects.filter(session_key=client.session.session_key).update(
        expire_date=timezone.now() + timedelta(minutes=5)
    )


@pytest.mark.parametrize(
    ("path", "trigger"), [("/", "queue"), ("/?after=x", "queue"), ("/cases/1/?part=conversation", "conversation")]
)
def test_the_pages_polls_do_not_keep_a_session_alive(client, doctor, path, trigger):
    soon_expiring(client, doctor)
    before = session_expiry(client)

    client.get(path, HTTP_HX_REQUEST="true", HTTP_HX_TRIGGER=trigger)

    assert session_expiry(client) == before


def test_what_a_person_does_keeps_the_session_alive(client, doctor, settings):
    soon_expiring(client, doctor)

    response = client.get("/accounts/profile/")

    assert response.status_code == 200
    assert session_expiry(client) > timezone.now() + timedelta(seconds=settings.SESSION_COOKIE_AGE - 60)
    assert response.cookies["sessionid"]["max-age"] == settings.SESSION_COOKIE_AGE


def test_an_htmx_action_keeps_the_session_alive_too(client, doctor, settings):
    soon_expiring(client, doctor)

    client.get("/", HTTP_HX_REQUEST="true", HTTP_HX_TRIGGER="next-page")

    assert session_expiry(client) > timezone.now() + timedelta(seconds=settings.SESSION_COOKIE_AGE - 60)


def test_an_idle_session_ends(client, doctor):
    soon_expiring(client, doctor)
    Session.objects.filter(session_key=client.session.session_key).update(
        expire_date=timezone.now() - timedelta(seconds=1)
    )

    assert client.get("/").url == "/accounts/login/?next=/"


def test_a_poll_after_the_session_ended_sends_the_whole_page_to_sign_in(client, db):
    response = client.get(
        "/?after=abc",
        HTTP_HX_REQUEST="true",
        HTTP_HX_TRIGGER="queue",
        HTTP_HX_CURRENT_URL="http://testserver/?after=abc",
    )

    assert response.status_code == 200
    assert response["HX-Redirect"] == "/accounts/login/?next=/%3Fafter%3Dabc"
