"""The doctor's pre-visit pages: Today's visits, the summary, its print view.

Summaries are written straight into the database here (a realistic format-1 content, in
English and Chinese), so these tests see what a doctor sees without waiting on a compile.
"""

import re
from datetime import date, datetime, time, timedelta

import pytest
import time_machine
from django.contrib.sessions.models import Session
from django.urls import reverse
from django.utils import timezone

from reviews.models import Appointment, AuditEvent, Message, Patient, PreVisitSummary
from reviews.tests.factories import AdminFactory, CaseFactory, DoctorFactory, PatientFactory

pytestmark = pytest.mark.django_db

VISIT_ROW = re.compile(r'<tr data-appointment-id="(\d+)" data-summary="(\w+)">')
POLLING = 'hx-trigger="every 5s"'


@pytest.fixture(autouse=True)
def _a_working_morning():
    """A fixed morning at the hospital (08:00 in settings.TIME_ZONE), so that "today" and
    the visits of the afternoon are the same whenever the tests run; the clock ticks on."""
    morning = datetime.combine(date(2026, 11, 20), time(8, 0), tzinfo=timezone.get_default_timezone())
    with time_machine.travel(morning, tick=True):
        yield


def local(day: date, hour: int, minute: int = 0) -> datetime:
    """A time on the hospital's calendar (settings.TIME_ZONE)."""
    return timezone.make_aware(datetime.combine(day, time(hour, minute)))


def today() -> date:
    return timezone.localdate()


def book(doctor, *, at: datetime, patient: Patient | None = None, reason: str = "Antenatal check", **summary):
    """An appointment with its summary row (pending unless told otherwise)."""
    patient = patient or PatientFactory(hospital=doctor.hospital, birth_year=1991, sex="female")
    appointment = Appointment.objects.create(
        hospital=doctor.hospital, doctor=doctor, patient=patient, scheduled_at=at, reason=reason
    )
    if summary.pop("summary", True):
        PreVisitSummary.objects.create(appointment=appointment, **summary)
    return appointment


def iso(at: datetime) -> str:
    return at.astimezone(timezone.UTC).isoformat().replace("+00:00", "Z")


@pytest.fixture
def history(doctor):
    """A patient with an English and a Chinese conversation, and an appointment today."""
    patient = PatientFactory(hospital=doctor.hospital, pseudonym="P-7F3K9Q", birth_year=1991, sex="female")
    english = CaseFactory(
        doctor=doctor,
        patient=patient,
        status="corrected",
        question_preview=(
            "I have had a headache and swollen ankles since Monday. I took two paracetamol. "
            "I'm allergic to penicillin. Is my blood pressure too high?"
        ),
    )
    chinese = CaseFactory(
        doctor=doctor,
        patient=patient,
        status="approved",
        question_preview="我怀孕三十周，这两天胎动好像比平时少，昨天吃了两片扑热息痛，需要去医院吗？",
    )
    en_question, _en_draft = english.messages.order_by("id")
    zh_question, zh_draft = chinese.messages.order_by("id")
    appointment = book(doctor, patient=patient, at=local(today(), 15, 30), reason="30-week antenatal check")
    t1, t2 = en_question.sent_at - timedelta(days=3), zh_question.sent_at
    correction = {
        "decision_id": 901,
        "case_id": english.pk,
        "action": "correct",
        "doctor": {"id": doctor.pk, "name": doctor.full_name},
        "at": iso(t1 + timedelta(hours=1)),
        "category": "unsafe_advice",
        "original_text": "Take ibuprofen 400 mg three times a day for the headache.",
        "final_text": "Please do not take ibuprofen in pregnancy. Rest, and have your blood pressure checked today.",
        "note": "NSAIDs are not for the third trimester.",
    }
    content = {
        "format_version": 1,
        "patient": {"pseudonym": "P-7F3K9Q", "birth_year": 1991, "sex": "female"},
        "appointment": {
            "id": appointment.pk,
            "scheduled_at": iso(appointment.scheduled_at),
            "reason": appointment.reason,
            "doctor": {"id": doctor.pk, "name": doctor.full_name},
        },
        "case_count": 2,
        "first_contact_at": iso(t1),
        "last_contact_at": iso(t2),
        "presenting_concerns": [
            {
                "text": "I have had a headache and swollen ankles since Monday.",
                "case_id": english.pk,
                "message_id": en_question.pk,
                "at": iso(t1),
                "urgency": "soon",
                "status": "corrected",
            },
            {
                "text": "我怀孕三十周，这两天胎动好像比平时少",
                "case_id": chinese.pk,
                "message_id": zh_question.pk,
                "at": iso(t2),
                "urgency": "urgent",
                "status": "approved",
            },
        ],
        "timeline": [
            {
                "at": iso(t1),
                "date": t1.date().isoformat(),
                "kind": "symptom",
                "text": "Headache",
                "case_id": english.pk,
                "message_id": en_question.pk,
            },
            {
                "at": iso(t1 + timedelta(hours=1)),
                "date": t1.date().isoformat(),
                "kind": "decision",
                "text": "Corrected: unsafe advice",
                "case_id": english.pk,
                "message_id": None,
            },
            {
                "at": iso(t2),
                "date": t2.date().isoformat(),
                "kind": "red_flag",
                "text": "胎动好像比平时少",
                "case_id": chinese.pk,
                "message_id": zh_question.pk,
            },
        ],
        "symptoms": [
            {
                "term": "headache",
                "label": "Headache",
                "first_at": iso(t1),
                "last_at": iso(t1),
                "mentions": [
                    {"case_id": english.pk, "message_id": en_question.pk, "at": iso(t1), "text": "a headache"}
                ],
            },
            {
                "term": "reduced_fetal_movement",
                "label": "Reduced fetal movement",
                "first_at": iso(t2),
                "last_at": iso(t2),
                "mentions": [
                    {"case_id": chinese.pk, "message_id": zh_question.pk, "at": iso(t2), "text": "胎动好像比平时少"}
                ],
            },
        ],
        "medications": [
            {
                "name": "paracetamol",
                "label": "Paracetamol",
                "mentions": [
                    {"case_id": english.pk, "message_id": en_question.pk, "at": iso(t1), "text": "two paracetamol"},
                    {"case_id": chinese.pk, "message_id": zh_question.pk, "at": iso(t2), "text": "吃了两片扑热息痛"},
                ],
            }
        ],
        "allergies": [
            {
                "substance": "penicillin",
                "label": "Penicillin",
                "mentions": [
                    {
                        "case_id": english.pk,
                        "message_id": en_question.pk,
                        "at": iso(t1),
                        "text": "I'm allergic to penicillin",
                    }
                ],
            }
        ],
        "red_flags": [
            {
                "rule_id": "obstetric.reduced_fetal_movement",
                "code": "reduced_fetal_movement",
                "category": "obstetric",
                "urgency": "urgent",
                "source": "triage",
                "matched_text": "胎动好像比平时少",
                "reason": "Reduced fetal movement",
                "case_id": chinese.pk,
                "message_id": zh_question.pk,
                "at": iso(t2),
            }
        ],
        "decisions": [
            correction,
            {
                "decision_id": 902,
                "case_id": chinese.pk,
                "action": "approve",
                "doctor": {"id": doctor.pk, "name": doctor.full_name},
                "at": iso(t2 + timedelta(minutes=20)),
                "category": None,
                "original_text": None,
                "final_text": zh_draft.body,
                "note": None,
            },
        ],
        "corrections": [correction],
        "open_questions": [
            {
                "text": "Is my blood pressure too high?",
                "case_id": english.pk,
                "message_id": en_question.pk,
                "at": iso(t1),
            }
        ],
        "last_advice": {
            "text": "建议您今天左侧卧位休息，认真数胎动。",
            "case_id": chinese.pk,
            "message_id": zh_draft.pk,
            "decision_id": 902,
            "at": iso(t2 + timedelta(minutes=20)),
            "by": "doctor",
        },
    }
    summary = appointment.summary
    summary.status = PreVisitSummary.Status.READY
    summary.content = content
    summary.format_version = 1
    summary.source_case_ids = [english.pk, chinese.pk]
    summary.compiled_at = timezone.now() - timedelta(minutes=10)
    summary.save()
    return {
        "appointment": appointment,
        "summary": summary,
        "english": english,
        "chinese": chinese,
        "en_question": en_question,
        "zh_question": zh_question,
        "zh_draft": zh_draft,
    }


def visit_rows(response) -> dict[int, str]:
    return {int(pk): state for pk, state in VISIT_ROW.findall(response.content.decode())}


def day_rows(response, day: str) -> list[int]:
    page = response.content.decode()
    match = re.search(rf'<table class="cases visits-day"[^>]*data-day="{day}">(.*?)</table>', page, re.S)
    return [int(pk) for pk, _state in VISIT_ROW.findall(match.group(1))] if match else []


def section(response, section_id: str) -> str:
    page = response.content.decode()
    match = re.search(rf'<section class="summary-section[^"]*" id="{section_id}">(.*?)</section>', page, re.S)
    assert match, f"no section {section_id}"
    return match.group(1)


def summary_url(appointment: Appointment) -> str:
    return reverse("reviews:visit_summary", args=[appointment.pk])


# --- Today's visits ------------------------------------------------------------------------


def test_todays_visits_lists_the_doctors_appointments_of_today_and_tomorrow(client, doctor, other_doctor):
    day, next_day = today(), today() + timedelta(days=1)
    morning = book(doctor, at=local(day, 0, 0))
    late = book(doctor, at=local(day, 23, 59))
    earlier_listed_first = book(doctor, at=local(day, 9, 15))
    tomorrow_first = book(doctor, at=local(next_day, 0, 0))
    tomorrow_later = book(doctor, at=local(next_day, 16, 0))
    book(doctor, at=local(day - timedelta(days=1), 23, 59))  # yesterday
    book(doctor, at=local(day + timedelta(days=2), 0, 0))  # the day after tomorrow
    book(other_doctor, at=local(day, 11, 0))  # a colleague's patient
    book(DoctorFactory(), at=local(day, 11, 0))  # another hospital
    client.force_login(doctor)

    response = client.get(reverse("reviews:visits"))

    assert response.status_code == 200
    assert day_rows(response, "today") == [morning.pk, earlier_listed_first.pk, late.pk]
    assert day_rows(response, "tomorrow") == [tomorrow_first.pk, tomorrow_later.pk]
    page = response.content.decode()
    assert "Today's visits" in page and ">Today <" in page and ">Tomorrow <" in page
    assert f'href="{summary_url(late)}"' in page
    assert "23:59" in page and "16:00" in page


def test_each_row_shows_time_patient_reason_and_the_summarys_state(client, doctor, hospital):
    hospital.summary_lead_hours = 72
    hospital.save()
    patient = PatientFactory(hospital=hospital, pseudonym="P-AB12CD", birth_year=1988, sex="female")
    day = today()
    rows = {
        "ready": book(doctor, at=local(day, 8, 5), patient=patient, reason="Glucose test results", status="ready"),
        "compiling": book(doctor, at=local(day, 9), status="pending"),
        "updating": book(doctor, at=local(day, 10), status="ready", stale=True),
        "failed": book(doctor, at=local(day, 11), status="failed"),
    }
    client.force_login(doctor)

    response = client.get(reverse("reviews:visits"))

    assert visit_rows(response) == {appointment.pk: state for state, appointment in rows.items()}
    page = response.content.decode()
    assert "08:05" in page and "P-AB12CD · born 1988 · Female" in page and "Glucose test results" in page
    for label in ("Ready", "Compiling…", "Out of date — being updated", "Failed"):
        assert f">{label}</span>" in page


def test_the_list_polls_while_a_summary_compiles_and_stops_when_all_are_done(client, doctor, hospital):
    hospital.summary_lead_hours = 72
    hospital.save()
    pending = book(doctor, at=local(today(), 14), status="pending")
    book(doctor, at=local(today(), 15), status="failed")
    client.force_login(doctor)

    page = client.get(reverse("reviews:visits")).content.decode()
    assert POLLING in page and 'id="visits"' in page

    PreVisitSummary.objects.filter(appointment=pending).update(status="ready", compiled_at=timezone.now())
    poll = client.get(reverse("reviews:visits"), HTTP_HX_REQUEST="true", HTTP_HX_TRIGGER="visits")

    # The region alone, with the new state and without the timer: htmx swaps it and stops asking.
    body = poll.content.decode()
    assert poll.status_code == 200 and "<html" not in body and body.lstrip().startswith('<section id="visits"')
    assert visit_rows(poll)[pending.pk] == "ready"
    assert POLLING not in body
    assert "HX-Request" in poll["Vary"]


def test_a_stale_summary_polls_until_it_is_recompiled(client, doctor, hospital):
    hospital.summary_lead_hours = 72
    hospital.save()
    stale = book(doctor, at=local(today(), 14), status="ready", stale=True)
    client.force_login(doctor)

    assert POLLING in client.get(reverse("reviews:visits")).content.decode()
    PreVisitSummary.objects.filter(appointment=stale).update(stale=False)
    assert POLLING not in client.get(reverse("reviews:visits")).content.decode()


def test_a_visit_outside_the_compile_window_is_not_compiling_and_does_not_poll(client, doctor, hospital):
    hospital.summary_lead_hours = 1
    hospital.save()
    later = book(doctor, at=local(today(), 11), status="pending")  # three hours ahead, the window is one
    client.force_login(doctor)

    response = client.get(reverse("reviews:visits"))

    assert visit_rows(response) == {later.pk: "scheduled"}
    assert ">Not compiled yet</span>" in response.content.decode()
    assert POLLING not in response.content.decode()


def test_the_polls_do_not_keep_an_idle_session_alive(client, doctor, hospital):
    hospital.summary_lead_hours = 72
    hospital.save()
    appointment = book(doctor, at=local(today(), 14), status="pending")
    client.force_login(doctor)
    session = Session.objects.filter(session_key=client.session.session_key)
    session.update(expire_date=timezone.now() + timedelta(minutes=5))
    before = session.get().expire_date

    for path, region in ((reverse("reviews:visits"), "visits"), (summary_url(appointment), "visit-summary")):
        assert client.get(path, HTTP_HX_REQUEST="true", HTTP_HX_TRIGGER=region).status_code == 200
        assert session.get().expire_date == before, region
    # Opening the page is something the doctor did: that does keep it alive.
    client.get(summary_url(appointment))
    assert session.get().expire_date > before


def test_todays_visits_costs_a_fixed_number_of_queries(client, doctor, django_assert_max_num_queries):
    for n in range(50):
        book(doctor, at=local(today() + timedelta(days=n % 2), 8) + timedelta(minutes=10 * n), status="ready")
    client.force_login(doctor)

    # Session, user, hospital, the appointments (one query), the session's save.
    with django_assert_max_num_queries(8):
        response = client.get(reverse("reviews:visits"))

    assert len(visit_rows(response)) == 50


def test_doctors_have_a_nav_link_and_admins_get_403(client, doctor, hospital_admin):
    client.force_login(doctor)
    assert f'href="{reverse("reviews:visits")}">Today\'s visits</a>' in client.get("/").content.decode()

    client.force_login(hospital_admin)
    assert client.get(reverse("reviews:visits")).status_code == 403
    assert reverse("reviews:visits") not in client.get("/").content.decode()


# --- The summary -------------------------------------------------------------------------


def test_the_summary_shows_every_section_in_order_with_the_patients_words(client, doctor, history):
    client.force_login(doctor)

    response = client.get(summary_url(history["appointment"]))

    assert response.status_code == 200
    page = response.content.decode()
    headings = re.findall(r'<section class="summary-section[^"]*" id="[\w-]+">\s*<h2>([^<]+)</h2>', page)
    assert headings == [
        "Presenting concerns",
        "Timeline",
        "Symptoms",
        "Medications",
        "Allergies",
        "Red flags",
        "Doctor decisions and corrections",
        "Open questions",
        "Last advice",
    ]
    assert "P-7F3K9Q · born 1991 · Female" in page
    assert "30-week antenatal check" in page and doctor.display_name in page
    assert "我怀孕三十周，这两天胎动好像比平时少" in section(response, "presenting-concerns")
    assert "Headache" in section(response, "symptoms") and "Reduced fetal movement" in section(response, "symptoms")
    medications = section(response, "medications")
    assert "Paracetamol" in medications and "吃了两片扑热息痛" in medications and "two paracetamol" in medications
    assert "Penicillin" in section(response, "allergies")
    assert "Is my blood pressure too high?" in section(response, "open-questions")
    assert "建议您今天左侧卧位休息" in section(response, "last-advice")
    assert "From a doctor" in section(response, "last-advice")


def test_red_flags_are_highlighted_with_their_urgency(client, doctor, history):
    client.force_login(doctor)

    flags = section(client.get(summary_url(history["appointment"])), "red-flags")

    assert 'data-urgency="urgent"' in flags and '<span class="urgency urgent">Urgent</span>' in flags
    assert "<mark>胎动好像比平时少</mark>" in flags and "Portal triage" in flags


def test_corrections_show_what_the_avatar_said_and_what_the_doctor_sent(client, doctor, history):
    client.force_login(doctor)

    decisions = section(client.get(summary_url(history["appointment"])), "decisions")

    assert "Correct · Unsafe advice" in decisions and "Approve" in decisions
    assert '<p class="original"><del>Take ibuprofen 400 mg three times a day for the headache.</del></p>' in decisions
    assert "<ins>Please do not take ibuprofen in pregnancy." in decisions
    assert "NSAIDs are not for the third trimester." in decisions


def test_the_timeline_is_dated_and_oldest_first(client, doctor, history):
    client.force_login(doctor)

    timeline = section(client.get(summary_url(history["appointment"])), "timeline")

    kinds = re.findall(r'<li class="timeline-(\w+)">', timeline)
    assert kinds == ["symptom", "decision", "red_flag"]
    first_day = timezone.localtime(history["en_question"].sent_at - timedelta(days=3)).date()
    assert f'<time datetime="{first_day.isoformat()}">' in timeline
    assert "Red flag" in timeline and "Doctor&#x27;s decision" in timeline


def test_every_item_links_to_its_source_case_and_message(client, doctor, history):
    client.force_login(doctor)

    page = client.get(summary_url(history["appointment"])).content.decode()

    english, chinese = history["english"].pk, history["chinese"].pk
    en_link = f'href="/cases/{english}/#message-{history["en_question"].pk}"'
    zh_link = f'href="/cases/{chinese}/#message-{history["zh_question"].pk}"'
    assert page.count(en_link) >= 5  # concern, symptom, medication, allergy, open question, …
    assert zh_link in page and f'href="/cases/{chinese}/#message-{history["zh_draft"].pk}"' in page
    assert f'href="/cases/{english}/"' in page  # a decision: the case, no message
    # …and the case page has the anchors those links point at.
    case_page = client.get(f"/cases/{english}/").content.decode()
    assert f'id="message-{history["en_question"].pk}"' in case_page


def test_a_colleagues_case_of_the_visit_patient_is_linked_and_can_be_read_not_decided(
    client, doctor, other_doctor, history
):
    colleagues_case = CaseFactory(doctor=other_doctor, patient=history["appointment"].patient)
    summary = history["summary"]
    summary.content["open_questions"].append(
        {"text": "Can I fly next week?", "case_id": colleagues_case.pk, "message_id": 1, "at": iso(timezone.now())}
    )
    summary.save()
    client.force_login(doctor)

    questions = section(client.get(summary_url(history["appointment"])), "open-questions")
    assert f'href="/cases/{colleagues_case.pk}/#message-1"' in questions

    # The doctor who sees the patient reads the whole history, but the case stays in its
    # own doctor's queue: no claim, no decision buttons.
    page = client.get(f"/cases/{colleagues_case.pk}/")
    assert page.status_code == 200
    assert ">Approve<" not in page.content.decode()
    colleagues_case.refresh_from_db()
    assert colleagues_case.claimed_by_id is None
    assert AuditEvent.objects.filter(action="case.opened", case=colleagues_case, actor_user=doctor).exists()
    assert client.post(f"/cases/{colleagues_case.pk}/approve/", {"version": colleagues_case.version}).status_code == 403


def test_reading_a_visit_patients_cases_ends_a_month_after_the_visit(client, doctor, other_doctor, history):
    colleagues_case = CaseFactory(doctor=other_doctor, patient=history["appointment"].patient)
    client.force_login(doctor)
    assert client.get(f"/cases/{colleagues_case.pk}/").status_code == 200

    Appointment.objects.filter(pk=history["appointment"].pk).update(
        scheduled_at=timezone.now() - Appointment.CASE_ACCESS_AFTER_VISIT - timedelta(hours=1)
    )

    assert client.get(f"/cases/{colleagues_case.pk}/").status_code == 404


def test_a_source_case_the_doctor_cannot_open_is_named_but_not_linked(client, doctor, other_doctor, history):
    # Another patient's case: a summary never links to it, whatever its content says.
    strangers_case = CaseFactory(doctor=other_doctor)
    summary = history["summary"]
    summary.content["open_questions"].append(
        {"text": "Can I fly next week?", "case_id": strangers_case.pk, "message_id": 1, "at": iso(timezone.now())}
    )
    summary.save()
    client.force_login(doctor)

    questions = section(client.get(summary_url(history["appointment"])), "open-questions")

    assert "Can I fly next week?" in questions and f"Case {strangers_case.pk}" in questions
    assert f"/cases/{strangers_case.pk}/" not in questions


def test_opening_the_summary_is_audited_with_ids_only(client, doctor, history):
    client.force_login(doctor)

    client.get(summary_url(history["appointment"]), REMOTE_ADDR="10.1.2.3")

    event = AuditEvent.objects.get(action="summary.viewed")
    assert event.actor_user == doctor and event.hospital == doctor.hospital and event.ip == "10.1.2.3"
    assert event.details == {
        "appointment_id": history["appointment"].pk,
        "summary_id": history["summary"].pk,
        "patient_id": history["appointment"].patient_id,
        "print": False,
    }


def test_a_pending_summary_says_so_and_polls_until_it_is_ready(client, doctor, hospital, history):
    hospital.summary_lead_hours = 72
    hospital.save()
    summary = history["summary"]
    content = summary.content
    PreVisitSummary.objects.filter(pk=summary.pk).update(status="pending", content={}, compiled_at=None)
    client.force_login(doctor)

    page = client.get(summary_url(history["appointment"])).content.decode()
    assert "Compiling the summary…" in page and POLLING in page
    assert 'id="presenting-concerns"' not in page
    assert AuditEvent.objects.filter(action="summary.viewed").count() == 1

    # A poll while it still compiles shows nothing new: not audited again.
    poll = client.get(summary_url(history["appointment"]), {"shown": ""}, HTTP_HX_REQUEST="true")
    assert POLLING in poll.content.decode()
    assert AuditEvent.objects.filter(action="summary.viewed").count() == 1

    PreVisitSummary.objects.filter(pk=summary.pk).update(status="ready", content=content, compiled_at=timezone.now())
    poll = client.get(summary_url(history["appointment"]), {"shown": ""}, HTTP_HX_REQUEST="true")
    body = poll.content.decode()
    assert body.lstrip().startswith('<div id="visit-summary"') and "<html" not in body
    assert 'id="presenting-concerns"' in body and POLLING not in body
    # The poll revealed the summary: that is a reading, audited.
    assert AuditEvent.objects.filter(action="summary.viewed").count() == 2


def test_a_stale_summary_is_shown_with_a_notice_and_keeps_polling(client, doctor, hospital, history):
    hospital.summary_lead_hours = 72
    hospital.save()
    PreVisitSummary.objects.filter(pk=history["summary"].pk).update(stale=True)
    client.force_login(doctor)

    page = client.get(summary_url(history["appointment"])).content.decode()

    assert "Out of date: the patient wrote again after this summary was compiled." in page
    assert 'id="presenting-concerns"' in page and POLLING in page


def test_a_failed_summary_says_when_it_failed(client, doctor, history):
    failed_at = timezone.now() - timedelta(minutes=3)
    PreVisitSummary.objects.filter(pk=history["summary"].pk).update(
        status="failed", content={}, compiled_at=None, error="CompileError", updated_at=failed_at
    )
    client.force_login(doctor)

    page = client.get(summary_url(history["appointment"])).content.decode()

    when = timezone.localtime(failed_at).strftime("%Y-%m-%d %H:%M")
    assert f"The summary could not be compiled (last attempt {when})." in page
    assert POLLING not in page and "CompileError" not in page


def test_a_summary_with_empty_sections_says_so(client, doctor):
    appointment = book(doctor, at=local(today(), 16), status="ready", compiled_at=timezone.now())
    PreVisitSummary.objects.filter(appointment=appointment).update(
        content={"format_version": 1, "case_count": 0, "last_advice": None}
    )
    client.force_login(doctor)

    page = client.get(summary_url(appointment)).content.decode()

    for text in ("No symptoms mentioned.", "No red flags were raised.", "No advice was given yet."):
        assert text in page


def test_only_the_appointments_doctor_reads_the_summary(client, doctor, other_doctor, outside_doctor, history):
    url = summary_url(history["appointment"])
    for visitor, status in ((other_doctor, 404), (outside_doctor, 404), (AdminFactory(hospital=doctor.hospital), 403)):
        client.force_login(visitor)
        response = client.get(url)
        assert response.status_code == status
        assert "胎动" not in response.content.decode()
        printed = client.get(reverse("reviews:visit_summary_print", args=[history["appointment"].pk]))
        assert printed.status_code == status
    assert not AuditEvent.objects.filter(action="summary.viewed").exists()


def test_the_summary_page_costs_a_fixed_number_of_queries(client, doctor, history, django_assert_max_num_queries):
    for _ in range(30):
        case = CaseFactory(doctor=doctor, patient=history["appointment"].patient)
        history["summary"].content["open_questions"].append(
            {"text": "Another question", "case_id": case.pk, "message_id": None, "at": iso(timezone.now())}
        )
    history["summary"].save()
    client.force_login(doctor)

    # Session, user, hospital, the appointment, which sources may be opened, the audit row (with
    # its chain head locked and moved on), the session.
    with django_assert_max_num_queries(12):
        response = client.get(summary_url(history["appointment"]))

    assert section(response, "open-questions").count('class="source"') == 31


# --- Print view ----------------------------------------------------------------------------


def test_the_print_view_is_the_summary_without_the_portals_chrome(client, doctor, history):
    client.force_login(doctor)
    url = reverse("reviews:visit_summary_print", args=[history["appointment"].pk])
    assert f'href="{url}"' in client.get(summary_url(history["appointment"])).content.decode()

    response = client.get(url)

    page = response.content.decode()
    assert response.status_code == 200
    assert 'class="topbar"' not in page and "Sign out" not in page
    assert "Presenting concerns" in page and "胎动好像比平时少" in page and "Penicillin" in page
    assert '<button type="button" class="primary" data-print hidden>Print</button>' in page
    assert re.search(r'<script src="[^"]*js/print\.js" defer></script>', page)
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>|\son[a-z]+\s*=|<style\b|\sstyle\s*=", page)
    assert [e.details["print"] for e in AuditEvent.objects.filter(action="summary.viewed")] == [False, True]


def test_the_print_stylesheet_hides_the_chrome(client):
    from django.contrib.staticfiles import finders

    css = open(finders.find("css/portal.css"), encoding="utf-8").read()
    print_rules = css[css.rindex("@media print") :]
    assert ".no-print" in print_rules and "break-inside: avoid" in print_rules


def test_the_pages_carry_no_inline_script_or_style(client, doctor, history):
    client.force_login(doctor)
    for path in (reverse("reviews:visits"), summary_url(history["appointment"])):
        page = client.get(path).content.decode()
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>|\son[a-z]+\s*=|<style\b|\sstyle\s*=", page), path


def test_the_summary_page_speaks_chinese_but_keeps_the_patients_words(client, doctor, history):
    doctor.language = "zh-hans"
    doctor.save(update_fields=["language"])
    client.force_login(doctor)

    page = client.get(summary_url(history["appointment"])).content.decode()

    assert '<html lang="zh-hans">' in page
    assert "I have had a headache and swollen ankles since Monday." in page
    assert "我怀孕三十周" in page


def test_message_anchors_on_the_case_page(client, doctor):
    case = CaseFactory(doctor=doctor)
    client.force_login(doctor)

    page = client.get(f"/cases/{case.pk}/").content.decode()

    for message in Message.objects.filter(case=case):
        assert f'<article id="message-{message.pk}" class="message {message.author}' in page


# --- With the real compile ---------------------------------------------------------------------


def test_a_summary_compiled_for_real_renders_with_links_to_its_sources(
    client, doctor, hospital, django_capture_on_commit_callbacks
):
    from reviews.previsit import appointment_create

    patient = PatientFactory(hospital=hospital, pseudonym="P-REAL01")
    english = CaseFactory(doctor=doctor, patient=patient, question_preview="I have had a bad headache since Monday.")
    chinese = CaseFactory(doctor=doctor, patient=patient, question_preview="我对青霉素过敏，昨天开始发烧。")
    with django_capture_on_commit_callbacks(execute=True):
        appointment, _created = appointment_create(
            hospital=hospital, doctor=doctor, patient=patient, scheduled_at=timezone.now() + timedelta(hours=2)
        )
    client.force_login(doctor)

    response = client.get(summary_url(appointment))

    assert response.status_code == 200
    assert 'data-summary="ready"' in response.content.decode()
    assert "Headache" in section(response, "symptoms")
    en_question = english.messages.order_by("id").first()
    zh_question = chinese.messages.order_by("id").first()
    assert f'href="/cases/{english.pk}/#message-{en_question.pk}"' in section(response, "presenting-concerns")
    assert f'href="/cases/{chinese.pk}/#message-{zh_question.pk}"' in section(response, "allergies")


def test_a_visit_that_is_over_without_a_summary_stops_polling(client, doctor, hospital):
    hospital.summary_lead_hours = 72
    hospital.save()
    over = book(doctor, at=timezone.now() - timedelta(hours=2), status="pending")
    client.force_login(doctor)

    response = client.get(reverse("reviews:visits"))

    assert visit_rows(response) == {over.pk: "scheduled"} and POLLING not in response.content.decode()


def test_an_odd_summary_row_still_renders(client, doctor):
    appointment = book(doctor, at=local(today(), 16), status="ready", compiled_at=timezone.now())
    PreVisitSummary.objects.filter(appointment=appointment).update(
        content={
            "format_version": 1,
            "presenting_concerns": [{"text": "Dizzy", "case_id": 10**6, "at": "2026-11-19T02:00:00", "urgency": "??"}],
            "timeline": ["not an entry", {"at": "yesterday", "kind": "new_kind", "text": "Something"}],
            "red_flags": "none",
            "last_advice": "see a doctor",
        }
    )
    client.force_login(doctor)

    response = client.get(summary_url(appointment))

    assert response.status_code == 200
    concerns = section(response, "presenting-concerns")
    assert "Dizzy" in concerns and "2026-11-19" in concerns and "/cases/1000000/" not in concerns
    assert "Something" in section(response, "timeline")
    assert "No red flags were raised." in section(response, "red-flags")
