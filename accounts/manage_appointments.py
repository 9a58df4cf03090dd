"""Hospital admins' appointments page: the coming week's visits, and a form to book one.

Admins see who is seen when and whether the pre-visit summary is ready, never what is
in it. Booking goes through `reviews.previsit.appointment_create`, which audits it and
starts the compile when the visit is close enough. The form posts with htmx (the form
is swapped, the list refreshed out of band) and as a plain form that redirects.
"""

from datetime import timedelta

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods

from reviews import previsit
from reviews.exceptions import ReviewError
from reviews.models import Patient
from reviews.selectors import appointments_upcoming, patient_by_pseudonym

from .manage_forms import add_refusal
from .manage_views import HtmxHttpRequest, admin_required
from .models import Hospital, User

APPOINTMENTS_PAGE_SIZE = 50
UPCOMING_DAYS = 7
# Further ahead than this is a typo in the year, not a booking.
FURTHEST_BOOKING = timedelta(days=366)


class DoctorChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: User) -> str:
        profile = getattr(obj, "doctor_profile", None)
        specialty = profile.get_specialty_display() if profile else ""
        return f"{obj.display_name} · {specialty}" if specialty else obj.display_name


class AppointmentForm(forms.Form):
    doctor = DoctorChoiceField(
        label=gettext_lazy("Doctor"), queryset=User.objects.none(), empty_label=gettext_lazy("Choose a doctor")
    )
    patient = forms.CharField(
        label=gettext_lazy("Patient pseudonym"),
        max_length=16,
        help_text=gettext_lazy("As shown on the patient's cases, e.g. P-7F3K9Q."),
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    scheduled_at = forms.DateTimeField(
        label=gettext_lazy("Date and time"),
        help_text=gettext_lazy("In the hospital's time zone."),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )
    reason = forms.CharField(
        label=gettext_lazy("Reason for the visit"),
        max_length=500,
        required=False,
        help_text=gettext_lazy("Optional. Leave out names, phone numbers and ID numbers."),
    )

    def __init__(self, *args, hospital: Hospital, **kwargs):
        super().__init__(*args, **kwargs)
        self.hospital = hospital
        self.fields["doctor"].queryset = (
            User.objects.filter(hospital=hospital, role=User.Role.DOCTOR, is_active=True)
            .select_related("doctor_profile")
            .order_by("full_name", "id")
        )

    def clean_patient(self) -> Patient:
        pseudonym = self.cleaned_data["patient"]
        patient = patient_by_pseudonym(hospital=self.hospital, pseudonym=pseudonym)
        if patient is None:
            raise forms.ValidationError(
                _("No patient of this hospital has the pseudonym %(pseudonym)s."), params={"pseudonym": pseudonym}
            )
        return patient

    def clean_scheduled_at(self):
        at = self.cleaned_data["scheduled_at"]
        now = timezone.now()
        if at < now:
            raise forms.ValidationError(_("This time has passed: choose one in the future."))
        if at > now + FURTHEST_BOOKING:
            raise forms.ValidationError(_("Choose a time within the next year."))
        return at


def _vary(response: HttpResponse) -> HttpResponse:
    patch_vary_headers(response, ("HX-Request",))
    return response


def _list_context(request: HtmxHttpRequest) -> dict:
    now = timezone.now()
    upcoming = appointments_upcoming(hospital=request.user.hospital, start=now, end=now + timedelta(days=UPCOMING_DAYS))
    return {"page": Paginator(upcoming, APPOINTMENTS_PAGE_SIZE).get_page(request.GET.get("page"))}


@require_http_methods(["GET", "POST"])
@admin_required
def appointments(request: HtmxHttpRequest) -> HttpResponse:
    hospital = request.user.hospital
    # Bound on every POST, even an empty one, so that missing fields are errors.
    form = AppointmentForm(request.POST if request.method == "POST" else None, hospital=hospital)
    outcome = ""
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            appointment, _created = previsit.appointment_create(
                hospital=hospital,
                doctor=data["doctor"],
                patient=data["patient"],
                scheduled_at=data["scheduled_at"],
                reason=data["reason"],
                user=request.user,
            )
        except ReviewError as error:
            add_refusal(form, error)
        else:
            outcome = _("Appointment booked: %(patient)s with %(doctor)s on %(when)s.") % {
                "patient": appointment.patient.pseudonym,
                "doctor": data["doctor"].display_name,
                "when": date_format(timezone.localtime(appointment.scheduled_at), "Y-m-d H:i"),
            }
            if not request.htmx:
                messages.success(request, outcome)
                return redirect("manage:appointments")
            form = AppointmentForm(hospital=hospital)
    status = 400 if form.errors else 200
    if request.htmx and request.method == "POST":
        # The form in place; after a booking, the list too (out of band), so the new row shows.
        context = {"form": form, "outcome": outcome, **(_list_context(request) if outcome else {})}
        return _vary(render(request, "accounts/manage/appointments.html#appointment-form", context, status=status))
    context = {"form": form, **_list_context(request)}
    template = "accounts/manage/appointments.html#appointment-list" if request.htmx else None
    return _vary(render(request, template or "accounts/manage/appointments.html", context, status=status))
