"""`manage.py compile_summaries`: an operator compiling pre-visit summaries by hand."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from reviews import previsit_compile
from reviews.models import Appointment, PreVisitSummary
from reviews.previsit import appointment_create

from .factories import CaseFactory, PatientFactory


def book(doctor, hours: float) -> Appointment:
    appointment, _ = appointment_create(
        hospital=doctor.hospital,
        doctor=doctor,
        patient=PatientFactory(hospital=doctor.hospital),
        scheduled_at=timezone.now() + timedelta(hours=hours),
    )
    return appointment


def compile_summaries(*args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("compile_summaries", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_all_compiles_every_appointment_inside_its_lead_window_with_a_progress_bar(doctor):
    due = [book(doctor, hours) for hours in (1, 5, 20)]
    later = book(doctor, 24 * 5)
    CaseFactory(doctor=doctor, patient=due[0].patient)

    out, err = compile_summaries("--all")

    assert out.strip() == "Summaries compiled: 3 (3 ready, 0 failed)."
    assert "[##############################] 3/3" in err
    assert "1/3" in err
    statuses = dict(PreVisitSummary.objects.values_list("appointment_id", "status"))
    assert [statuses[a.pk] for a in due] == ["ready"] * 3
    assert statuses[later.pk] == "pending"
    assert PreVisitSummary.objects.get(appointment=due[0]).source_case_ids != []


def test_one_appointment_is_compiled_whenever_it_is_and_whatever_holds_it(doctor):
    appointment = book(doctor, 24 * 30)
    PreVisitSummary.objects.filter(appointment=appointment).update(compile_started_at=timezone.now(), attempts=9)

    out, _err = compile_summaries("--appointment", str(appointment.pk))

    assert out.strip() == "Summaries compiled: 1 (1 ready, 0 failed)."
    summary = PreVisitSummary.objects.get(appointment=appointment)
    assert (summary.status, summary.attempts, summary.compile_started_at) == ("ready", 0, None)


def test_an_appointment_stored_without_its_summary_row_gets_one(doctor):
    appointment = Appointment.objects.create(
        hospital=doctor.hospital,
        doctor=doctor,
        patient=PatientFactory(hospital=doctor.hospital),
        scheduled_at=timezone.now() + timedelta(hours=2),
    )
    out, _err = compile_summaries("--all")
    assert out.strip() == "Summaries compiled: 1 (1 ready, 0 failed)."
    assert PreVisitSummary.objects.get(appointment=appointment).status == "ready"


def test_failures_are_counted_and_named_without_stopping_the_rest(doctor, monkeypatch):
    appointments = [book(doctor, hours) for hours in (1, 2)]
    real_compile = previsit_compile.compile_previsit_summary

    def first_fails(appointment):
        if appointment.pk == appointments[0].pk:
            raise ZeroDivisionError
        return real_compile(appointment)

    monkeypatch.setattr(previsit_compile, "compile_previsit_summary", first_fails)

    out, err = compile_summaries("--all")

    assert out.strip() == "Summaries compiled: 2 (1 ready, 1 failed)."
    assert f"Summary {appointments[0].summary.pk} failed: ZeroDivisionError" in err
    assert PreVisitSummary.objects.get(appointment=appointments[1]).status == "ready"


def test_an_unknown_appointment_or_no_choice_is_an_error(db):
    with pytest.raises(CommandError, match="No appointment with id 999"):
        compile_summaries("--appointment", "999")
    with pytest.raises(CommandError):
        compile_summaries()
