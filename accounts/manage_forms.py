"""Forms of the hospital admins' pages. They check types and ranges only; the rules
(unique licence, last admin, …) belong to the services, whose refusals `add_refusal`
puts back on the form."""

from django import forms
from django.utils.translation import gettext_lazy as _

from reviews.exceptions import ReviewError
from reviews.models import AuditEvent

from .models import ApiClient, DoctorProfile, Hospital, User
from .selectors import AuditFilters, audit_actor_choices

MAX_POLICY_MINUTES = 60 * 24 * 30  # hospital_policy_update's upper bound: 30 days


def add_refusal(form: forms.Form, error: ReviewError) -> None:
    """Show a service's refusal on the field it names, or above the form."""
    field = getattr(error, "field", None)
    form.add_error(field if field in form.fields else None, error.message)


def _specialty_choices(blank: str) -> list[tuple[str, str]]:
    return [("", blank), *DoctorProfile.Specialty.choices]


# --- Staff ------------------------------------------------------------------------------


class StaffFilterForm(forms.Form):
    ACTIVE_CHOICES = [("", _("Active and inactive")), ("yes", _("Active")), ("no", _("Deactivated"))]

    q = forms.CharField(
        label=_("Search"),
        required=False,
        max_length=200,
        widget=forms.TextInput(attrs={"type": "search", "placeholder": _("Name or e-mail"), "autocomplete": "off"}),
    )
    role = forms.ChoiceField(label=_("Role"), required=False, choices=[("", _("Any role")), *User.Role.choices])
    specialty = forms.ChoiceField(label=_("Specialty"), required=False, choices=_specialty_choices(_("Any specialty")))
    active = forms.ChoiceField(label=_("Status"), required=False, choices=ACTIVE_CHOICES)

    def filters(self) -> dict:
        """Keyword arguments for `staff_list`; an invalid filter is simply not applied."""
        data = self.cleaned_data if self.is_valid() else {}
        active = data.get("active", "")
        return {
            "q": data.get("q", ""),
            "role": data.get("role", ""),
            "specialty": data.get("specialty", ""),
            "active": {"yes": True, "no": False}.get(active),
        }


class _DoctorFieldsForm(forms.Form):
    specialty = forms.ChoiceField(label=_("Specialty"), required=False, choices=_specialty_choices("—"))
    licence_number = forms.CharField(label=_("Licence number"), required=False, max_length=40)
    avatar_name = forms.CharField(
        label=_("Avatar name"),
        required=False,
        max_length=120,
        help_text=_("How the doctor's AI avatar is called; left empty, it is named after the doctor."),
    )

    DOCTOR_FIELDS = ("specialty", "licence_number", "avatar_name")

    def person_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in self.fields if name not in self.DOCTOR_FIELDS]

    def doctor_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in self.DOCTOR_FIELDS]


class InviteForm(_DoctorFieldsForm):
    email = forms.EmailField(label=_("E-mail"), max_length=254)
    full_name = forms.CharField(label=_("Full name"), max_length=200)
    role = forms.ChoiceField(label=_("Role"), choices=User.Role.choices, initial=User.Role.DOCTOR)

    field_order = ["email", "full_name", "role"]


class StaffEditForm(_DoctorFieldsForm):
    full_name = forms.CharField(label=_("Full name"), max_length=200)
    role = forms.ChoiceField(label=_("Role"), choices=User.Role.choices)

    field_order = ["full_name", "role"]

    @staticmethod
    def initial_for(member: User) -> dict:
        profile = getattr(member, "doctor_profile", None)
        return {
            "full_name": member.full_name,
            "role": member.role,
            "specialty": profile.specialty if profile else "",
            "licence_number": profile.licence_number if profile else "",
            "avatar_name": profile.avatar_name if profile else "",
        }


# --- API clients ------------------------------------------------------------------------


class ApiClientForm(forms.Form):
    name = forms.CharField(
        label=_("Name"),
        max_length=120,
        help_text=_("Which system uses it, e.g. “Avatar platform (production)”."),
    )
    scopes = forms.MultipleChoiceField(
        label=_("Scopes"),
        choices=ApiClient.Scope.choices,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Give the client only what it needs."),
        error_messages={"required": _("Choose at least one scope.")},
    )


# --- Policy -----------------------------------------------------------------------------


def _label(name: str):
    return Hospital._meta.get_field(name).verbose_name


def _minutes(name: str, help_text) -> forms.IntegerField:
    return forms.IntegerField(label=_label(name), min_value=1, max_value=MAX_POLICY_MINUTES, help_text=help_text)


def _share(name: str) -> forms.FloatField:
    return forms.FloatField(
        label=_label(name),
        min_value=0,
        max_value=1,
        help_text=Hospital._meta.get_field(name).help_text,
        widget=forms.NumberInput(attrs={"step": "0.01"}),
    )


class PolicyForm(forms.Form):
    sla_emergency_minutes = _minutes("sla_emergency_minutes", _("Minutes from receipt to a doctor's decision."))
    sla_urgent_minutes = _minutes("sla_urgent_minutes", _("Minutes from receipt to a doctor's decision."))
    sla_soon_minutes = _minutes("sla_soon_minutes", _("Minutes from receipt to a doctor's decision."))
    sla_routine_minutes = _minutes("sla_routine_minutes", _("Minutes from receipt to a doctor's decision."))
    routine_sample_rate = _share("routine_sample_rate")
    confidence_threshold = _share("confidence_threshold")
    claim_lease_minutes = _minutes(
        "claim_lease_minutes", _("How long an opened case stays with its doctor before a colleague can take it.")
    )
    require_2fa = forms.BooleanField(
        label=_label("require_2fa"),
        required=False,
        help_text=_("Everyone at this hospital confirms their sign-in with a code from an authenticator app."),
    )

    GROUPS = (
        (
            _("Review deadlines (SLA)"),
            ("sla_emergency_minutes", "sla_urgent_minutes", "sla_soon_minutes", "sla_routine_minutes"),
        ),
        (_("Which cases are reviewed"), ("routine_sample_rate", "confidence_threshold")),
        (_("Claims and sign-in"), ("claim_lease_minutes", "require_2fa")),
    )

    @staticmethod
    def initial_for(hospital: Hospital) -> dict:
        return {name: getattr(hospital, name) for name in PolicyForm.base_fields}

    def groups(self) -> list[tuple[str, list[forms.BoundField]]]:
        return [(legend, [self[name] for name in names]) for legend, names in self.GROUPS]


# --- Audit log --------------------------------------------------------------------------


class AuditFilterForm(forms.Form):
    actor = forms.ChoiceField(label=_("Actor"), required=False)
    action = forms.CharField(
        label=_("Action"),
        required=False,
        max_length=60,
        help_text=_("Exact, or the part before the dot: “staff” finds every staff action."),
        widget=forms.TextInput(
            attrs={"list": "audit-actions", "autocomplete": "off", "placeholder": _("e.g. staff or case.opened")}
        ),
    )
    case = forms.IntegerField(label=_("Case id"), required=False, min_value=1)
    date_from = forms.DateField(
        label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )
    date_to = forms.DateField(
        label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )
    FILTER_FIELDS = ("actor", "action", "case", "date_from", "date_to")

    def __init__(self, *args, hospital: Hospital, **kwargs):
        super().__init__(*args, **kwargs)
        users, clients = audit_actor_choices(hospital=hospital)
        self.fields["actor"].choices = [
            ("", _("Anyone")),
            (_("People"), [(f"user:{u.pk}", f"{u.full_name} <{u.email}>" if u.full_name else u.email) for u in users]),
            (
                _("API clients"),
                [(AuditEvent.ActorType.API_CLIENT, _("Any API client"))]
                + [(f"api_client:{c.pk}", c.name) for c in clients],
            ),
            (AuditEvent.ActorType.SYSTEM, _("System")),
        ]

    def clean(self) -> dict:
        data = super().clean()
        start, end = data.get("date_from"), data.get("date_to")
        if start and end and start > end:
            self.add_error("date_to", _("The end date is before the start date."))
        return data

    def filter_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in self.FILTER_FIELDS]

    def filters(self) -> AuditFilters:
        """Call after is_valid()."""
        data = self.cleaned_data
        return AuditFilters(
            actor=data.get("actor") or "",
            action=data.get("action") or "",
            case_id=data.get("case"),
            date_from=data.get("date_from"),
            date_to=data.get("date_to"),
        )
