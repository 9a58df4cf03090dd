"""Forms of the sign-in pages. They check what a person typed; the rules and the writes
are in `signin`, `two_factor`, `profile` and `services`."""

from django import forms
from django.conf import settings
from django.contrib.auth import forms as auth_forms
from django.core.exceptions import ValidationError
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from .models import User
from .signin import SignInRefusal, request_ip, signin_refusal, user_password_set


class SignInForm(auth_forms.AuthenticationForm):
    username = forms.EmailField(
        label=_("Email"), widget=forms.EmailInput(attrs={"autofocus": True, "autocomplete": "email"})
    )
    password = forms.CharField(
        label=_("Password"), strip=False, widget=forms.PasswordInput(attrs={"autocomplete": "current-password"})
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.refusal: SignInRefusal | None = None

    def clean_username(self) -> str:
        return self.cleaned_data["username"].lower()

    def clean(self) -> dict:
        # A locked account or address is refused before its password is checked: no
        # guess is tried while the lock holds, and nothing is learnt from the answer.
        email = self.cleaned_data.get("username")
        if email is not None:
            self.refusal = signin_refusal(email=email, ip=request_ip(self.request))
            if self.refusal is not None:
                raise ValidationError(self.refusal.message, code="throttled")
        return super().clean()


class InvitationAcceptForm(auth_forms.SetPasswordMixin, forms.Form):
    """The invitee's password, typed twice. Django's validators run in `invitation_accept`,
    which knows the account the password is for."""

    password1, password2 = auth_forms.SetPasswordMixin.create_password_fields(label2=_("Confirm password"))
    password2.help_text = ""  # the label says it all

    def clean(self) -> dict:
        self.validate_passwords()
        return super().clean()


class PasswordResetForm(auth_forms.PasswordResetForm):
    email = forms.EmailField(
        label=_("Email"), max_length=254, widget=forms.EmailInput(attrs={"autocomplete": "email", "autofocus": True})
    )

    def send_mail(self, subject_template_name, email_template_name, context, from_email, to_email, **kwargs) -> None:
        # The page speaks the browser's language; the e-mail speaks the account's.
        with translation.override(context["user"].language):
            super().send_mail(subject_template_name, email_template_name, context, from_email, to_email, **kwargs)


class PasswordResetSetForm(auth_forms.SetPasswordForm):
    """The new password after a reset link; saved through `user_password_set`, audited."""

    def __init__(self, user: User, *args, request=None, **kwargs) -> None:
        super().__init__(user, *args, **kwargs)
        self.request = request

    def save(self, commit: bool = True) -> User:
        return user_password_set(
            user=self.user, password=self.cleaned_data["new_password1"], via="reset", ip=request_ip(self.request)
        )


class PasswordChangeForm(auth_forms.PasswordChangeForm):
    """Old and new password on the profile's "Change password"; saved through `user_password_set`."""

    def __init__(self, user: User, *args, request=None, **kwargs) -> None:
        super().__init__(user, *args, **kwargs)
        self.request = request

    def save(self, commit: bool = True) -> User:
        return user_password_set(
            user=self.user, password=self.cleaned_data["new_password1"], via="change", ip=request_ip(self.request)
        )


class LanguageForm(forms.Form):
    # Each language named in itself, so that someone who cannot read the page can still find theirs.
    language = forms.ChoiceField(
        label=_("Language"),
        choices=lambda: [
            (code, translation.get_language_info(code)["name_local"]) for code, _name in settings.LANGUAGES
        ],
    )


class CodeForm(forms.Form):
    code = forms.CharField(
        label=_("Code"),
        max_length=32,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "autocapitalize": "off", "spellcheck": "false"}),
    )

    def __init__(self, *args, autofocus: bool = False, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if autofocus:
            self.fields["code"].widget.attrs["autofocus"] = True
