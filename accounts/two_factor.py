"""Two-factor sign-in: an authenticator app (TOTP) and ten single-use backup codes.

Someone has two-factor sign-in on when they have a confirmed `TOTPDevice`; their backup
codes are the tokens of their one `StaticDevice`. Both are django-otp's models, whose
throttling (an exponential wait after each wrong code, on unless OTP_*_THROTTLE_FACTOR
is 0) limits guessing. A code is checked with its device's row locked, inside the
transaction that records the outcome, so one code cannot be used by two requests and a
wrong code's throttling and audit event are kept even though the request is refused.
"""

import math
import re
from base64 import b32encode

import segno
from django.contrib.auth.signals import user_logged_in
from django.contrib.sessions.backends.base import SessionBase
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django_otp.models import Device
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from reviews.audit import audit_record
from reviews.exceptions import InvalidInput, NotPermitted

from .models import User
from .services import require_hospital_admin, user_sessions_end

BACKUP_CODE_COUNT = 10
_TOTP_CODE = re.compile(r"\d{6}")

# Set when someone with an authenticator app signs in with their password: until they
# enter a code (django_otp's `otp_login` then marks the session verified) no page opens.
# Deciding it at sign-in spares every page a device query; a device set up later ends
# the other sessions (see `two_factor_enable`), so none goes on without a code.
PENDING_SESSION_KEY = "accounts.two_factor_pending"

# --- Reads ----------------------------------------------------------------------------------


def two_factor_enabled(user: User) -> bool:
    return TOTPDevice.objects.filter(user=user, confirmed=True).exists()


def backup_codes_left(user: User) -> int:
    return StaticToken.objects.filter(device__user=user, device__confirmed=True).count()


def two_factor_pending(session: SessionBase) -> bool:
    return bool(session.get(PENDING_SESSION_KEY))


def two_factor_required(user: User) -> bool:
    return user.hospital is not None and user.hospital.require_2fa


def enrolment_qr_svg(device: TOTPDevice) -> str:
    """The device's otpauth:// URL as an inline <svg> (no style attribute: the CSP allows none)."""
    return segno.make(device.config_url, error="m").svg_inline(scale=4, light="#fff")


def enrolment_secret(device: TOTPDevice) -> str:
    """The key in base32, in groups of four, for typing into an app by hand."""
    secret = b32encode(device.bin_key).decode()
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


# --- Checking a code ------------------------------------------------------------------------


def _normalised(code: str) -> str:
    return re.sub(r"[\s-]", "", code).lower()


def _wrong_code(*, backup_codes: bool = True) -> InvalidInput:
    if backup_codes:
        return InvalidInput(_("That code is not right. Check the code in your app, or use a backup code."), "code")
    return InvalidInput(_("That code is not right. Check the six-digit code your app shows now."), "code")


def _code_refusal(device: Device, code: str, *, backup_codes: bool = True) -> InvalidInput | None:
    """None when `code` is right for `device` (which uses it up); else why not. The caller
    holds the device's row lock and commits, so a wrong code's throttling is kept."""
    allowed, info = device.verify_is_allowed()
    if not allowed:
        locked_until = (info or {}).get("locked_until")
        seconds = max(1, math.ceil((locked_until - timezone.now()).total_seconds())) if locked_until else 1
        return InvalidInput(
            ngettext(
                "Too many wrong codes. Wait %(seconds)d second and try again.",
                "Too many wrong codes. Wait %(seconds)d seconds and try again.",
                seconds,
            )
            % {"seconds": seconds},
            field="code",
        )
    if device.verify_token(code):
        return None
    return _wrong_code(backup_codes=backup_codes)


def _confirmed_device_code(
    *, user: User, code: str, purpose: str, ip: str | None
) -> tuple[Device | None, InvalidInput | None]:
    """Check a code from the app (six digits) or a backup code against the user's devices,
    inside the caller's transaction; a wrong code is audited."""
    code = _normalised(code)
    method = "totp" if _TOTP_CODE.fullmatch(code) else "backup_code"
    model = TOTPDevice if method == "totp" else StaticDevice
    device = model.objects.select_for_update().filter(user=user, confirmed=True).order_by("pk").first()
    if device is None:
        error = _wrong_code()
    else:
        error = _code_refusal(device, code)
    if error is not None and user.hospital_id is not None:
        audit_record(
            hospital=user.hospital,
            user=user,
            ip=ip,
            action="user.2fa_failed",
            details={"method": method, "purpose": purpose},
        )
    return device, error


def _backup_codes_replace(user: User) -> list[str]:
    """New backup codes on the user's one StaticDevice. The device itself stays, so a
    session verified with an earlier backup code stays verified."""
    device = StaticDevice.objects.filter(user=user).order_by("pk").first()
    if device is None:
        device = StaticDevice.objects.create(user=user, name="backup codes", confirmed=True)
    StaticDevice.objects.filter(user=user).exclude(pk=device.pk).delete()
    device.token_set.all().delete()
    codes = [StaticToken.random_token() for _n in range(BACKUP_CODE_COUNT)]
    StaticToken.objects.bulk_create(StaticToken(device=device, token=code) for code in codes)
    return codes


# --- Changes --------------------------------------------------------------------------------


def enrolment_device(*, user: User) -> TOTPDevice:
    """The unconfirmed device being set up: the same one on every visit, so that reloading
    the page does not change a QR code the person may already have scanned."""
    with transaction.atomic():
        # The user's row lock keeps two tabs opened at once from making two devices.
        User.objects.select_for_update().filter(pk=user.pk).first()
        device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("pk").first()
        if device is None:
            device = TOTPDevice.objects.create(user=user, name="authenticator app", confirmed=False)
    return device


def two_factor_enable(*, user: User, code: str, ip: str | None = None) -> tuple[TOTPDevice, list[str]]:
    """Confirm the device being set up with a code from the app; returns it and the new
    backup codes, which are shown once. Every session of the user ends."""
    with transaction.atomic():
        User.objects.select_for_update().filter(pk=user.pk).first()
        device = TOTPDevice.objects.select_for_update().filter(user=user, confirmed=False).order_by("pk").first()
        if device is None:
            error = InvalidInput(_("Two-factor sign-in is already on, or its set-up expired. Open the page again."))
        else:
            error = _code_refusal(device, _normalised(code), backup_codes=False)
        if error is None:
            device.confirmed = True
            device.save(update_fields=["confirmed"])
            TOTPDevice.objects.filter(user=user).exclude(pk=device.pk).delete()
            codes = _backup_codes_replace(user)
            # A session signed in before, perhaps by someone who learnt the password, must
            # not go on without a code: all end, and the caller keeps its own with
            # update_session_auth_hash.
            user_sessions_end(user)
            if user.hospital_id is not None:
                audit_record(hospital=user.hospital, user=user, ip=ip, action="user.2fa_enabled")
            return device, codes
    raise error


def two_factor_verify(*, user: User, code: str, ip: str | None = None) -> Device:
    """The second step of signing in: the device that accepted the code, for `otp_login`."""
    with transaction.atomic():
        device, error = _confirmed_device_code(user=user, code=code, purpose="sign_in", ip=ip)
        if error is None:
            if user.hospital_id is not None:
                method = "backup_code" if isinstance(device, StaticDevice) else "totp"
                audit_record(
                    hospital=user.hospital, user=user, ip=ip, action="user.2fa_verified", details={"method": method}
                )
            return device
    raise error


def backup_codes_regenerate(*, user: User, code: str, ip: str | None = None) -> list[str]:
    """Ten new backup codes in place of the old ones; needs a current code."""
    with transaction.atomic():
        _device, error = _confirmed_device_code(user=user, code=code, purpose="backup_codes", ip=ip)
        if error is None:
            codes = _backup_codes_replace(user)
            if user.hospital_id is not None:
                audit_record(hospital=user.hospital, user=user, ip=ip, action="user.2fa_backup_codes_regenerated")
            return codes
    raise error


def _devices_delete(user: User) -> None:
    TOTPDevice.objects.filter(user=user).delete()
    StaticDevice.objects.filter(user=user).delete()


def two_factor_disable(*, user: User, code: str, ip: str | None = None) -> None:
    """Turn two-factor sign-in off, with a current code; not where the hospital requires it."""
    if two_factor_required(user):
        raise NotPermitted(_("Your hospital requires two-factor sign-in, so it cannot be turned off."))
    with transaction.atomic():
        _device, error = _confirmed_device_code(user=user, code=code, purpose="disable", ip=ip)
        if error is None:
            _devices_delete(user)
            if user.hospital_id is not None:
                audit_record(hospital=user.hospital, user=user, ip=ip, action="user.2fa_disabled")
            return
    raise error


def two_factor_reset(*, user: User, reset_by: User) -> None:
    """A hospital admin removes someone's authenticator app and backup codes (a lost
    phone). Where the hospital requires two-factor sign-in, they set it up again at their
    next page; sessions verified with the old device are no longer verified."""
    if user.hospital_id is None or user.hospital_id != reset_by.hospital_id:
        raise NotPermitted(_("There is no such account in your hospital."))
    require_hospital_admin(reset_by, user.hospital)
    with transaction.atomic():
        _devices_delete(user)
        audit_record(hospital=user.hospital, user=reset_by, action="staff.2fa_reset", details={"user_id": user.pk})


# --- Receiver of Django's auth signal -------------------------------------------------------


def _on_logged_in(sender, request: HttpRequest | None, user: User, **kwargs) -> None:
    if request is not None and hasattr(request, "session") and two_factor_enabled(user):
        request.session[PENDING_SESSION_KEY] = True


def connect_receivers() -> None:
    user_logged_in.connect(_on_logged_in, dispatch_uid="accounts.two_factor.logged_in")
