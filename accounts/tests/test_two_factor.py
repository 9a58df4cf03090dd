"""Two-factor sign-in: setting up an authenticator app, the code after the password,
backup codes, turning it off, and hospitals that require it."""

import time
from html import unescape

import pytest
from django.test import Client
from django_otp.oath import TOTP
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.two_factor import two_factor_reset
from reviews.exceptions import NotPermitted
from reviews.models import AuditEvent
from reviews.tests.factories import AdminFactory

pytestmark = pytest.mark.django_db

PASSWORD = "demo-password"
SETUP = "/accounts/two-factor/"
VERIFY = "/accounts/two-factor/verify/"


def text(response) -> str:
    return unescape(response.content.decode())


def code_for(device: TOTPDevice, steps_ahead: int = 0) -> str:
    """The app's code now, or `steps_ahead` periods on (a device accepts each period's code
    once, and one period either side of now)."""
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = time.time() + steps_ahead * device.step
    return f"{totp.token():0{device.digits}d}"


def set_up(client: Client) -> tuple[TOTPDevice, list[str]]:
    """Set up two-factor sign-in through the pages; returns the device and backup codes."""
    client.get(SETUP)
    device = TOTPDevice.objects.get(confirmed=False)
    response = client.post(SETUP, {"code": code_for(device)})
    assert response.status_code == 302, text(response)
    page = client.get(response.url)
    codes = [code for code in StaticToken.objects.values_list("token", flat=True) if code in text(page)]
    device.refresh_from_db()
    return device, codes


def password_sign_in(client: Client, email: str):
    return client.post("/accounts/login/", {"username": email, "password": PASSWORD})


@pytest.fixture
def enrolled(client, doctor):
    """The doctor with two-factor sign-in on: (device, backup codes). The client is signed out."""
    client.force_login(doctor)
    device, codes = set_up(client)
    client.logout()
    return device, codes


# --- Setting up --------------------------------------------------------------------------------


def test_the_setup_page_shows_a_qr_code_and_the_key(client, doctor):
    client.force_login(doctor)

    page = client.get(SETUP).content.decode()

    device = TOTPDevice.objects.get(user=doctor)
    assert not device.confirmed
    assert '<svg width="' in page and 'class="segno"' in page
    assert "style=" not in page.split('class="segno"')[1].split("</svg>")[0]
    secret = page.split("<code>")[1].split("</code>")[0]
    assert secret.replace(" ", "") in device.config_url
    # A reload shows the same device, which the person may already have scanned.
    client.get(SETUP)
    assert TOTPDevice.objects.get(user=doctor) == device


def test_a_right_code_turns_it_on_and_shows_ten_backup_codes_once(client, doctor):
    client.force_login(doctor)
    client.get(SETUP)
    device = TOTPDevice.objects.get(user=doctor)

    response = client.post(SETUP, {"code": code_for(device)})

    assert response.status_code == 302 and response.url.startswith("/accounts/two-factor/backup-codes/")
    device.refresh_from_db()
    assert device.confirmed
    page = text(client.get(response.url))
    assert "Store these backup codes somewhere safe: each works once." in page
    codes = list(StaticToken.objects.filter(device__user=doctor).values_list("token", flat=True))
    assert len(codes) == 10 and all(code in page for code in codes)
    assert client.get(response.url).url == SETUP, "shown once"
    assert AuditEvent.objects.get(action="user.2fa_enabled").actor_user == doctor
    # This session counts as verified: the pages open.
    assert client.get("/").status_code == 200


def test_a_wrong_code_leaves_it_off(client, doctor):
    client.force_login(doctor)
    client.get(SETUP)

    response = client.post(SETUP, {"code": "000000"})

    assert response.status_code == 200
    assert "That code is not right." in text(response)
    assert not TOTPDevice.objects.get(user=doctor).confirmed
    assert not StaticDevice.objects.exists()


def test_turning_it_on_ends_the_other_sessions(client, doctor):
    other = Client()
    other.force_login(doctor)
    client.force_login(doctor)

    set_up(client)

    assert other.get("/").status_code == 302 and other.get("/").url.startswith("/accounts/login/")
    assert client.get("/").status_code == 200


def test_the_code_checks_are_throttled(client, doctor):
    device = TOTPDevice.objects.create(user=doctor, confirmed=False)
    assert device.throttling_enabled  # django-otp's exponential back-off, on by default
    client.force_login(doctor)

    client.post(SETUP, {"code": "000000"})
    response = client.post(SETUP, {"code": code_for(device)})

    assert "Too many wrong codes. Wait" in text(response)
    device.refresh_from_db()
    assert not device.confirmed and device.throttling_failure_count == 1


# --- The code after the password ---------------------------------------------------------------


def test_after_the_password_no_page_opens_without_a_code(client, doctor, enrolled):
    response = password_sign_in(client, doctor.email)
    assert response.status_code == 302 and response.url == "/"

    assert client.get("/").url == "/accounts/two-factor/verify/?next=%2F"
    assert client.get("/accounts/profile/").url == "/accounts/two-factor/verify/?next=%2Faccounts%2Fprofile%2F"
    assert client.post("/next/").url == VERIFY
    htmx = client.get("/", HTTP_HX_REQUEST="true", HTTP_HX_CURRENT_URL="http://testserver/cases/3/")
    assert htmx["HX-Redirect"] == "/accounts/two-factor/verify/?next=%2Fcases%2F3%2F"
    assert client.get(VERIFY).status_code == 200


def test_a_code_from_the_app_opens_the_pages(client, doctor, enrolled):
    device, _codes = enrolled
    password_sign_in(client, doctor.email)

    response = client.post(VERIFY, {"code": code_for(device, steps_ahead=1), "next": "/accounts/profile/"})

    assert response.status_code == 302 and response.url == "/accounts/profile/"
    assert client.get("/").status_code == 200
    event = AuditEvent.objects.get(action="user.2fa_verified")
    assert event.details == {"method": "totp"} and event.ip == "127.0.0.1"


def test_a_wrong_code_is_refused_and_audited(client, doctor, enrolled):
    password_sign_in(client, doctor.email)

    response = client.post(VERIFY, {"code": "123456"})

    assert response.status_code == 200 and "That code is not right." in text(response)
    assert client.get("/").url.startswith(VERIFY)
    assert AuditEvent.objects.get(action="user.2fa_failed").details == {"method": "totp", "purpose": "sign_in"}


def test_a_code_from_the_app_works_once(client, doctor, enrolled):
    device, _codes = enrolled
    code = code_for(device, steps_ahead=1)
    password_sign_in(client, doctor.email)
    client.post(VERIFY, {"code": code})
    client.post("/accounts/logout/")
    password_sign_in(client, doctor.email)

    response = client.post(VERIFY, {"code": code})

    assert "That code is not right." in text(response)


def test_a_backup_code_works_once(client, doctor, enrolled):
    _device, codes = enrolled
    password_sign_in(client, doctor.email)

    first = client.post(VERIFY, {"code": codes[0].upper()})

    assert first.status_code == 302 and client.get("/").status_code == 200
    assert AuditEvent.objects.get(action="user.2fa_verified").details == {"method": "backup_code"}
    assert StaticToken.objects.count() == 9
    client.post("/accounts/logout/")
    password_sign_in(client, doctor.email)
    again = client.post(VERIFY, {"code": codes[0]})
    assert "That code is not right." in text(again)
    assert client.get("/").url.startswith(VERIFY)


def test_a_wrong_code_makes_the_next_one_wait(client, doctor, enrolled):
    device, _codes = enrolled
    password_sign_in(client, doctor.email)
    client.post(VERIFY, {"code": "123456"})

    response = client.post(VERIFY, {"code": code_for(device, steps_ahead=1)})

    assert "Too many wrong codes. Wait 1 second and try again." in text(response)
    assert client.get("/").url.startswith(VERIFY)


def test_the_next_address_must_be_this_sites(client, doctor, enrolled):
    device, _codes = enrolled
    password_sign_in(client, doctor.email)

    response = client.post(VERIFY, {"code": code_for(device, steps_ahead=1), "next": "https://evil.example/"})

    assert response.url == "/"


def test_signing_out_works_before_the_code(client, doctor, enrolled):
    password_sign_in(client, doctor.email)

    response = client.post("/accounts/logout/")

    assert response.status_code == 302 and response.url == "/accounts/login/"
    assert client.get("/").url.startswith("/accounts/login/")


# --- Backup codes and turning it off -----------------------------------------------------------


def test_new_backup_codes_replace_the_old_and_keep_the_session_verified(client, doctor, enrolled):
    device, codes = enrolled
    password_sign_in(client, doctor.email)
    client.post(VERIFY, {"code": codes[0]})

    response = client.post("/accounts/two-factor/backup-codes/", {"regenerate-code": code_for(device, steps_ahead=1)})

    assert response.status_code == 302
    fresh = list(StaticToken.objects.values_list("token", flat=True))
    assert len(fresh) == 10 and not set(fresh) & set(codes)
    page = text(client.get(response.url))
    assert all(code in page for code in fresh)
    assert client.get("/").status_code == 200
    assert AuditEvent.objects.filter(action="user.2fa_backup_codes_regenerated").exists()


def test_new_backup_codes_need_a_current_code(client, doctor, enrolled):
    _device, codes = enrolled
    password_sign_in(client, doctor.email)
    client.post(VERIFY, {"code": codes[0]})

    response = client.post("/accounts/two-factor/backup-codes/", {"regenerate-code": "999999"})

    assert response.status_code == 200 and "That code is not right." in text(response)
    assert set(StaticToken.objects.values_list("token", flat=True)) == set(codes[1:])


def test_turning_it_off(client, doctor, enrolled):
    _device, codes = enrolled
    password_sign_in(client, doctor.email)
    client.post(VERIFY, {"code": codes[0]})

    response = client.post("/accounts/two-factor/disable/", {"disable-code": codes[1]}, follow=True)

    assert response.redirect_chain == [("/accounts/profile/", 302)]
    assert "Two-factor sign-in is off." in text(response)
    assert not TOTPDevice.objects.exists() and not StaticDevice.objects.exists()
    assert AuditEvent.objects.filter(action="user.2fa_disabled").exists()
    client.post("/accounts/logout/")
    password_sign_in(client, doctor.email)
    assert client.get("/").status_code == 200


def test_it_cannot_be_turned_off_where_the_hospital_requires_it(client, doctor, enrolled):
    _device, codes = enrolled
    doctor.hospital.require_2fa = True
    doctor.hospital.save()
    password_sign_in(client, doctor.email)
    client.post(VERIFY, {"code": codes[0]})
    assert "cannot be turned off" in text(client.get(SETUP))

    response = client.post("/accounts/two-factor/disable/", {"disable-code": codes[1]}, follow=True)

    assert "Your hospital requires two-factor sign-in, so it cannot be turned off." in text(response)
    assert TOTPDevice.objects.filter(confirmed=True).exists()


def test_an_admin_can_reset_a_lost_phone(client, doctor, enrolled, hospital_admin):
    two_factor_reset(user=doctor, reset_by=hospital_admin)

    assert not TOTPDevice.objects.exists() and not StaticDevice.objects.exists()
    assert AuditEvent.objects.get(action="staff.2fa_reset").details == {"user_id": doctor.pk}
    password_sign_in(client, doctor.email)
    assert client.get("/").status_code == 200


def test_only_the_hospitals_admins_can_reset(doctor, enrolled, other_doctor):
    with pytest.raises(NotPermitted):
        two_factor_reset(user=doctor, reset_by=AdminFactory())
    with pytest.raises(NotPermitted):
        two_factor_reset(user=doctor, reset_by=other_doctor)
    assert TOTPDevice.objects.exists()


# --- Hospitals that require it -----------------------------------------------------------------


@pytest.fixture
def strict(hospital):
    hospital.require_2fa = True
    hospital.save()
    return hospital


def test_the_demo_default_does_not_require_it(hospital):
    assert hospital.require_2fa is False


def test_where_required_every_page_leads_to_the_setup(client, strict, doctor):
    password_sign_in(client, doctor.email)

    assert client.get("/").url == "/accounts/two-factor/?next=%2F"
    assert client.get("/accounts/profile/").url == "/accounts/two-factor/?next=%2Faccounts%2Fprofile%2F"
    page = text(client.get("/accounts/two-factor/?next=%2Faccounts%2Fprofile%2F"))
    assert "Your hospital requires two-factor sign-in. Set it up to continue." in page
    assert client.post("/accounts/logout/").url == "/accounts/login/"


def test_where_required_setting_it_up_leads_back_to_the_page(client, strict, doctor):
    client.force_login(doctor)
    client.get("/accounts/two-factor/?next=/accounts/profile/")
    device = TOTPDevice.objects.get(user=doctor)

    response = client.post(SETUP, {"code": code_for(device), "next": "/accounts/profile/"})
    codes_page = text(client.get(response.url))

    assert 'href="/accounts/profile/"' in codes_page
    assert client.get("/accounts/profile/").status_code == 200


def test_where_required_a_device_set_up_elsewhere_asks_for_its_code(client, strict, doctor):
    client.force_login(doctor)
    TOTPDevice.objects.create(user=doctor, confirmed=True)

    assert client.get("/").url.startswith(VERIFY)


def test_the_api_is_not_held_up(client, strict, doctor, api_token):
    _api_client, token = api_token
    client.force_login(doctor)

    response = client.get("/api/v1/doctors/", HTTP_AUTHORIZATION=f"Bearer {token}")

    assert response.status_code == 200
