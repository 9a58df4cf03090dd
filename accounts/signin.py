"""Signing in: throttling failed attempts, setting a new password, and the audit trail of
sign-ins and sign-outs. Failures and sign-outs are heard from Django's auth signals
(receivers connected in `AccountsConfig.ready`), whichever code authenticated.

Failures are counted per account (the e-mail as typed, lowercased) and per client
address over a sliding window. The sign-in form asks `signin_refusal` before it checks
the password, so a locked account costs no hashing and its answer says nothing about
whether the account exists: an unknown e-mail is counted and locked like a known one.
"""

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from django.conf import settings
from django.contrib.auth.signals import user_logged_out, user_login_failed
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import ngettext

from reviews.audit import audit_record

from .models import SignInFailure, User


def request_ip(request: HttpRequest | None) -> str | None:
    """The client's address as the server sees it. Behind a reverse proxy the server must
    be told the client's address (REMOTE_ADDR), or every failure counts against the proxy."""
    if request is None:
        return None
    return request.META.get("REMOTE_ADDR") or None


def _window() -> timedelta:
    return timedelta(minutes=settings.SIGNIN_FAILURE_WINDOW_MINUTES)


@dataclass(frozen=True)
class SignInRefusal:
    scope: Literal["account", "ip"]
    retry_at: datetime

    @property
    def minutes(self) -> int:
        return max(1, math.ceil((self.retry_at - timezone.now()).total_seconds() / 60))

    @property
    def message(self) -> str:
        if self.scope == "account":
            text = ngettext(
                "Too many failed sign-ins for this account. Try again in %(minutes)d minute, "
                "or ask your hospital's admin to unlock it.",
                "Too many failed sign-ins for this account. Try again in %(minutes)d minutes, "
                "or ask your hospital's admin to unlock it.",
                self.minutes,
            )
        else:
            text = ngettext(
                "Too many failed sign-ins from your network. Try again in %(minutes)d minute.",
                "Too many failed sign-ins from your network. Try again in %(minutes)d minutes.",
                self.minutes,
            )
        return text % {"minutes": self.minutes}


def _lock_ends(failures: QuerySet[SignInFailure], *, limit: int, now: datetime) -> datetime | None:
    """When the count in the window falls below `limit`: once its limit-th newest failure
    leaves the window. None when there are fewer than `limit`. One query on (email|ip, at)."""
    window = _window()
    nth_newest = list(
        failures.filter(at__gt=now - window).order_by("-at").values_list("at", flat=True)[limit - 1 : limit]
    )
    return nth_newest[0] + window if nth_newest else None


def signin_refusal(*, email: str, ip: str | None) -> SignInRefusal | None:
    """Why a sign-in must be refused before its password is checked, or None to go ahead."""
    now = timezone.now()
    ends = _lock_ends(
        SignInFailure.objects.filter(email=email.strip().lower()),
        limit=settings.SIGNIN_MAX_FAILURES_PER_ACCOUNT,
        now=now,
    )
    if ends is not None:
        return SignInRefusal(scope="account", retry_at=ends)
    if ip:
        ends = _lock_ends(SignInFailure.objects.filter(ip=ip), limit=settings.SIGNIN_MAX_FAILURES_PER_IP, now=now)
        if ends is not None:
            return SignInRefusal(scope="ip", retry_at=ends)
    return None


def signin_failure_record(*, email: str, ip: str | None) -> SignInFailure:
    """Count a failed sign-in. The hospital's audit log hears of it when the e-mail is one
    of its accounts; a typed address that matches no account is kept only for the window."""
    email = email.strip().lower()[:254]
    now = timezone.now()
    with transaction.atomic():
        failure = SignInFailure.objects.create(email=email, ip=ip, at=now)
        # Rows past the window count for nothing: the table only ever holds one window's failures.
        SignInFailure.objects.filter(at__lte=now - _window()).delete()
        user = User.objects.select_related("hospital").filter(email=email).first()
        if user is not None and user.hospital is not None:
            audit_record(
                hospital=user.hospital,
                user=user,
                ip=ip,
                action="user.sign_in_failed",
                details={"reason": "wrong_password" if user.is_active else "account_inactive"},
            )
    return failure


def signin_success_record(*, user: User, ip: str | None) -> None:
    """Someone signed in with their password (the sign-in form) or by accepting an
    invitation: the account's earlier failures are forgotten. Not a receiver of
    `user_logged_in`, which also fires for logins no person made (tests' force_login)."""
    with transaction.atomic():
        SignInFailure.objects.filter(email=user.email.lower()).delete()
        if user.hospital_id is not None:
            audit_record(hospital=user.hospital, user=user, ip=ip, action="user.signed_in")


def signout_record(*, user: User, ip: str | None) -> None:
    if user.hospital_id is not None:
        audit_record(hospital=user.hospital, user=user, ip=ip, action="user.signed_out")


def user_password_set(*, user: User, password: str, via: Literal["reset", "change"], ip: str | None) -> User:
    """Give the account a new password (already validated by the form). Every other
    session ends with the old password's hash; the password-change view keeps its own."""
    with transaction.atomic():
        user.set_password(password)
        user.save(update_fields=["password"])
        if via == "reset":
            # Whoever could open the reset link owns the mailbox: earlier failures do not lock them out.
            SignInFailure.objects.filter(email=user.email.lower()).delete()
        if user.hospital_id is not None:
            audit_record(
                hospital=user.hospital,
                user=user,
                ip=ip,
                action="user.password_reset" if via == "reset" else "user.password_changed",
            )
    return user


# --- Receivers of Django's auth signals ---------------------------------------------------


def _on_login_failed(sender, credentials: dict, request: HttpRequest | None = None, **kwargs) -> None:
    # Django has already masked the password in `credentials`; only the e-mail is read.
    email = credentials.get("username") or credentials.get(User.USERNAME_FIELD)
    if email:
        signin_failure_record(email=str(email), ip=request_ip(request))


def _on_logged_out(sender, request: HttpRequest | None, user: User | None, **kwargs) -> None:
    if user is not None:
        signout_record(user=user, ip=request_ip(request))


def connect_receivers() -> None:
    user_login_failed.connect(_on_login_failed, dispatch_uid="accounts.signin.login_failed")
    user_logged_out.connect(_on_logged_out, dispatch_uid="accounts.signin.logged_out")
