"""Signing in and out, invitations, password reset and change, two-factor sign-in and the
profile page. Plain forms that work without JavaScript; the rules are in `signin`,
`two_factor`, `profile` and `services`."""

from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth import login, logout, update_session_auth_hash
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse, reverse_lazy
from django.utils import translation
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_otp import login as otp_login

from reviews.exceptions import InvalidInput, NotPermitted

from . import forms
from .profile import user_language_set
from .services import invitation_accept, invitation_for_token, user_sign_out_everywhere
from .signin import request_ip, signin_success_record
from .two_factor import (
    PENDING_SESSION_KEY,
    backup_codes_left,
    backup_codes_regenerate,
    enrolment_device,
    enrolment_qr_svg,
    enrolment_secret,
    two_factor_disable,
    two_factor_enable,
    two_factor_enabled,
    two_factor_required,
    two_factor_verify,
)

# Backup codes wait here between the POST that made them and the one page that shows them.
FRESH_BACKUP_CODES_KEY = "accounts.fresh_backup_codes"

# --- Sign-in and sign-out -----------------------------------------------------------------


class SignInView(auth_views.LoginView):
    form_class = forms.SignInForm
    template_name = "accounts/login.html"
    redirect_authenticated_user = True

    def form_valid(self, form: forms.SignInForm) -> HttpResponse:
        response = super().form_valid(form)
        signin_success_record(user=form.get_user(), ip=request_ip(self.request))
        return response

    def form_invalid(self, form: forms.SignInForm) -> HttpResponse:
        response = super().form_invalid(form)
        if form.refusal is not None:
            response.status_code = 429
        return response


class SignOutView(auth_views.LogoutView):
    pass


@require_POST
@login_required
def sign_out_everywhere(request: HttpRequest) -> HttpResponse:
    user_sign_out_everywhere(user=request.user)
    logout(request)
    messages.info(request, _("You have been signed out on every device."))
    return redirect("login")


def _next_url(request: HttpRequest, default: str) -> str:
    url = request.POST.get("next") or request.GET.get("next") or ""
    safe = url_has_allowed_host_and_scheme(url, allowed_hosts={request.get_host()}, require_https=request.is_secure())
    return url if safe else default


# --- Invitations ----------------------------------------------------------------------------


def _invitation_gone(request: HttpRequest, message: str = "") -> HttpResponse:
    return render(request, "accounts/invitation_gone.html", {"message": message}, status=410)


@require_http_methods(["GET", "POST"])
def invitation(request: HttpRequest, token: str) -> HttpResponse:
    pending = invitation_for_token(token)
    if pending is None:
        return _invitation_gone(request)
    form = forms.InvitationAcceptForm(request.POST or None)
    if form.is_valid():
        try:
            user = invitation_accept(token=token, password=form.cleaned_data["password1"], ip=request_ip(request))
        except InvalidInput as error:
            if error.field != "password":
                return _invitation_gone(request, error.message)
            form.add_error("password1", error.message)
        else:
            login(request, user)
            signin_success_record(user=user, ip=request_ip(request))
            return redirect("two_factor" if two_factor_required(user) else "reviews:queue")
    return render(request, "accounts/invitation.html", {"invitation": pending, "form": form})


# --- Password reset and change --------------------------------------------------------------


class PasswordResetView(auth_views.PasswordResetView):
    form_class = forms.PasswordResetForm
    template_name = "accounts/password_reset.html"
    email_template_name = "accounts/password_reset_email.txt"
    subject_template_name = "accounts/password_reset_subject.txt"


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    form_class = forms.PasswordResetSetForm
    template_name = "accounts/password_reset_confirm.html"

    def get_form_kwargs(self) -> dict:
        return super().get_form_kwargs() | {"request": self.request}


class PasswordChangeView(auth_views.PasswordChangeView):
    form_class = forms.PasswordChangeForm
    template_name = "accounts/password_change.html"
    success_url = reverse_lazy("profile")

    def get_form_kwargs(self) -> dict:
        return super().get_form_kwargs() | {"request": self.request}

    def form_valid(self, form: forms.PasswordChangeForm) -> HttpResponse:
        # The parent saves and keeps this session signed in (update_session_auth_hash).
        response = super().form_valid(form)
        messages.success(self.request, _("Your password has been changed. Your other sessions have ended."))
        return response


# --- Profile --------------------------------------------------------------------------------


@require_GET
@login_required
def profile(request: HttpRequest) -> HttpResponse:
    user = request.user
    enabled = two_factor_enabled(user)
    context = {
        "language_form": forms.LanguageForm(initial={"language": user.language}),
        "two_factor_enabled": enabled,
        "two_factor_required": two_factor_required(user),
        "backup_codes_left": backup_codes_left(user) if enabled else 0,
    }
    return render(request, "accounts/profile.html", context)


@require_POST
@login_required
def profile_language(request: HttpRequest) -> HttpResponse:
    form = forms.LanguageForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose one of the languages offered."))
        return redirect("profile")
    user = user_language_set(user=request.user, language=form.cleaned_data["language"])
    # Said in the new language, which the next page will speak.
    with translation.override(user.language):
        messages.success(request, _("The portal now speaks your chosen language."))
    # The switcher in every page's footer sends the page it was on.
    return redirect(_next_url(request, reverse("profile")))


# --- Two-factor sign-in ---------------------------------------------------------------------


def _two_factor_status(request: HttpRequest, **forms_bound: forms.CodeForm) -> HttpResponse:
    context = {
        "backup_codes_left": backup_codes_left(request.user),
        "two_factor_required": two_factor_required(request.user),
        "regenerate_form": forms_bound.get("regenerate_form") or forms.CodeForm(prefix="regenerate"),
        "disable_form": forms_bound.get("disable_form") or forms.CodeForm(prefix="disable"),
    }
    return render(request, "accounts/two_factor_on.html", context)


@require_http_methods(["GET", "POST"])
@login_required
def two_factor(request: HttpRequest) -> HttpResponse:
    """Set up an authenticator app; once set up, its status, backup codes and turning it off."""
    if two_factor_enabled(request.user):
        return _two_factor_status(request)
    device = enrolment_device(user=request.user)
    form = forms.CodeForm(request.POST or None, autofocus=True)
    if form.is_valid():
        try:
            device, codes = two_factor_enable(user=request.user, code=form.cleaned_data["code"], ip=request_ip(request))
        except InvalidInput as error:
            form.add_error("code", error.message)
        else:
            # The service ended every session of the user: this one goes on, verified.
            update_session_auth_hash(request, request.user)
            otp_login(request, device)
            request.session[FRESH_BACKUP_CODES_KEY] = codes
            query = urlencode({"next": _next_url(request, reverse("profile"))})
            return redirect(f"{reverse('two_factor_backup_codes')}?{query}")
    context = {
        "form": form,
        "qr_svg": mark_safe(enrolment_qr_svg(device)),  # segno's markup of our own otpauth URL
        "secret": enrolment_secret(device),
        "two_factor_required": two_factor_required(request.user),
        "next": _next_url(request, ""),
    }
    return render(request, "accounts/two_factor_setup.html", context)


@require_http_methods(["GET", "POST"])
@login_required
def two_factor_backup_codes(request: HttpRequest) -> HttpResponse:
    """GET shows freshly made backup codes, once; POST makes new ones (with a current code)."""
    if request.method == "POST":
        if not two_factor_enabled(request.user):
            return redirect("two_factor")
        form = forms.CodeForm(request.POST, prefix="regenerate")
        if not form.is_valid():
            return _two_factor_status(request, regenerate_form=form)
        try:
            codes = backup_codes_regenerate(user=request.user, code=form.cleaned_data["code"], ip=request_ip(request))
        except InvalidInput as error:
            form.add_error("code", error.message)
            return _two_factor_status(request, regenerate_form=form)
        request.session[FRESH_BACKUP_CODES_KEY] = codes
        return redirect("two_factor_backup_codes")
    codes = request.session.pop(FRESH_BACKUP_CODES_KEY, None)
    if codes is None:
        return redirect("two_factor")
    context = {"codes": codes, "next": _next_url(request, reverse("profile"))}
    return render(request, "accounts/two_factor_backup_codes.html", context)


@require_POST
@login_required
def two_factor_turn_off(request: HttpRequest) -> HttpResponse:
    if not two_factor_enabled(request.user):
        return redirect("two_factor")
    form = forms.CodeForm(request.POST, prefix="disable")
    if not form.is_valid():
        return _two_factor_status(request, disable_form=form)
    try:
        two_factor_disable(user=request.user, code=form.cleaned_data["code"], ip=request_ip(request))
    except NotPermitted as refusal:
        messages.error(request, refusal.message)
        return redirect("two_factor")
    except InvalidInput as error:
        form.add_error("code", error.message)
        return _two_factor_status(request, disable_form=form)
    messages.success(request, _("Two-factor sign-in is off."))
    return redirect("profile")


@require_http_methods(["GET", "POST"])
@login_required
def two_factor_check(request: HttpRequest) -> HttpResponse:
    """The second step of signing in: a code from the app or a backup code."""
    next_url = _next_url(request, reverse("reviews:queue"))
    if request.user.is_verified() or not two_factor_enabled(request.user):
        request.session.pop(PENDING_SESSION_KEY, None)
        return redirect(next_url)
    form = forms.CodeForm(request.POST or None, autofocus=True)
    if form.is_valid():
        try:
            device = two_factor_verify(user=request.user, code=form.cleaned_data["code"], ip=request_ip(request))
        except InvalidInput as error:
            form.add_error("code", error.message)
        else:
            # A new session key for the now fully signed-in session.
            request.session.cycle_key()
            otp_login(request, device)
            request.session.pop(PENDING_SESSION_KEY, None)
            return redirect(next_url)
    return render(request, "accounts/two_factor_verify.html", {"form": form, "next": next_url})
