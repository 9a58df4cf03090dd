"""Today's visits as a doctor sees them in Debian's chromium: a summary that is still
compiling turns Ready in place (no reload), the summary opens, a source link leads to
the message on the case page, and the print view's button prints."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from reviews.models import Appointment, PreVisitSummary
from reviews.tests.factories import CaseFactory, DoctorFactory, HospitalFactory, PatientFactory

from .conftest import PASSWORD

pytestmark = pytest.mark.browser

# Two polls (every 5 s) and the swap, with room to spare.
POLL_TIMEOUT_MS = 15_000
QUESTION = "我怀孕三十周，这两天胎动好像比平时少，需要去医院吗？"


@pytest.fixture
def visit(live_server):
    hospital = HospitalFactory(name="Harbour Women's Hospital", summary_lead_hours=72)
    doctor = DoctorFactory(hospital=hospital, email="doctor1@example.test", full_name="Li Wei")
    patient = PatientFactory(hospital=hospital, pseudonym="P-7F3K9Q", birth_year=1991, sex="female")
    case = CaseFactory(doctor=doctor, patient=patient, question_preview=QUESTION, status="approved")
    appointment = Appointment.objects.create(
        hospital=hospital,
        doctor=doctor,
        patient=patient,
        scheduled_at=timezone.now() + timedelta(hours=1),
        reason="30-week antenatal check",
    )
    summary = PreVisitSummary.objects.create(appointment=appointment, status="pending")
    return {"doctor": doctor, "case": case, "appointment": appointment, "summary": summary}


def make_ready(summary: PreVisitSummary, case) -> None:
    """What the compile would write: here by hand, so the test decides when it happens."""
    question = case.messages.order_by("id").first()
    at = question.sent_at.isoformat()
    source = {"case_id": case.pk, "message_id": question.pk, "at": at}
    summary.content = {
        "format_version": 1,
        "patient": {"pseudonym": "P-7F3K9Q", "birth_year": 1991, "sex": "female"},
        "case_count": 1,
        "first_contact_at": at,
        "last_contact_at": at,
        "presenting_concerns": [source | {"text": QUESTION, "urgency": "urgent", "status": "approved"}],
        "timeline": [source | {"kind": "red_flag", "text": "胎动好像比平时少", "date": at[:10]}],
        "symptoms": [],
        "medications": [],
        "allergies": [],
        "red_flags": [],
        "decisions": [],
        "corrections": [],
        "open_questions": [],
        "last_advice": None,
    }
    summary.status = "ready"
    summary.compiled_at = timezone.now()
    summary.save()


def sign_in(page: Page) -> None:
    page.goto("/accounts/login/")
    page.get_by_label("Email").fill("doctor1@example.test")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Review queue")).to_be_visible()


def test_a_compiling_summary_turns_ready_in_place_and_leads_to_its_source(page: Page, visit):
    appointment, case = visit["appointment"], visit["case"]
    sign_in(page)

    # 1. Today's visits, from the top bar: the visit is there, its summary still compiling.
    page.locator("header.topbar").get_by_role("link", name="Today's visits").click()
    expect(page.get_by_role("heading", name="Today's visits")).to_be_visible()
    row = page.locator(f'tr[data-appointment-id="{appointment.pk}"]')
    expect(row).to_have_attribute("data-summary", "compiling")
    expect(row).to_contain_text("P-7F3K9Q")
    expect(row).to_contain_text("Compiling…")
    page.evaluate("window.__sameDocument = 'kept'")

    # 2. The compile finishes: the row says Ready without a reload, and the polling stops.
    make_ready(visit["summary"], case)
    expect(row).to_have_attribute("data-summary", "ready", timeout=POLL_TIMEOUT_MS)
    expect(row).to_contain_text("Ready")
    assert page.evaluate("window.__sameDocument") == "kept", "the page was reloaded instead of swapped"
    expect(page.locator("#visits")).not_to_have_attribute("hx-trigger", re.compile(".+"))

    # 3. The summary: the patient's own words, linked to the case and message they came from.
    row.get_by_role("link", name="Open summary").click()
    expect(page.get_by_role("heading", name="Pre-visit summary")).to_be_visible()
    concerns = page.locator("#presenting-concerns")
    expect(concerns).to_contain_text(QUESTION)
    question = case.messages.order_by("id").first()
    concerns.get_by_role("link", name=f"Case {case.pk}").click()

    # 4. The case page, at that message.
    expect(page).to_have_url(re.compile(rf"/cases/{case.pk}/#message-{question.pk}$"))
    expect(page.get_by_role("heading", name=f"Case {case.pk}")).to_be_visible()
    expect(page.locator(f"#message-{question.pk}")).to_contain_text(QUESTION)
    expect(page.locator(f"#message-{question.pk}")).to_be_in_viewport()


def test_the_print_view_prints_with_its_button(page: Page, visit):
    make_ready(visit["summary"], visit["case"])
    sign_in(page)
    page.goto(f"/visits/{visit['appointment'].pk}/")
    page.get_by_role("link", name="Print view").click()

    expect(page.locator("header.topbar")).to_have_count(0)
    expect(page.locator("#presenting-concerns")).to_contain_text(QUESTION)
    page.evaluate("window.print = () => { window.__printed = true; }")
    page.get_by_role("button", name="Print").click()
    assert page.evaluate("window.__printed") is True
    # On paper, the buttons and links back are left out.
    page.emulate_media(media="print")
    expect(page.get_by_role("button", name="Print")).to_be_hidden()
    expect(page.get_by_role("link", name="Back to the summary")).to_be_hidden()
