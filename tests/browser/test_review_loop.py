"""The review loop as a doctor does it, in Debian's chromium: sign in, read the queue in
urgency order, approve, correct, take over and close; with htmx and without JavaScript."""

import re

import pytest
from playwright.sync_api import Page, expect

from reviews.models import Case, Decision, Message

from .conftest import CASES, PASSWORD

pytestmark = pytest.mark.browser

URGENCY_ORDER = ["emergency", "urgent", "soon", "routine"]
DRAFTS = {urgency or "routine": draft for _id, urgency, _question, draft in CASES}
QUESTIONS = {urgency or "routine": question for _id, urgency, question, _draft in CASES}


def sign_in(page: Page) -> None:
    page.goto("/accounts/login/")
    page.get_by_label("Email").fill("doctor1@example.test")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Review queue")).to_be_visible()
    expect(page).to_have_url(re.compile(r"^https?://[^/]+/$"))


def queue_rows(page: Page):
    return page.locator("#queue tr[data-case-id]")


def open_case(page: Page, case: Case) -> None:
    """Click the case's link in the queue and wait for its page."""
    page.locator(f'#queue tr[data-case-id="{case.pk}"]').get_by_role("link").click()
    expect(page).to_have_url(re.compile(rf"/cases/{case.pk}/$"))
    expect(page.get_by_role("heading", name=f"Case {case.pk}")).to_be_visible()
    expect(page.locator("#case-body .status")).to_have_text("Awaiting review")


def mark_window(page: Page) -> None:
    """A value that only survives if the page is not reloaded."""
    page.evaluate("window.__sameDocument = 'kept'")


def assert_same_document(page: Page) -> None:
    assert page.evaluate("window.__sameDocument") == "kept", "the page was reloaded instead of swapped"


def test_queue_approve_and_correct_with_htmx(page: Page, review_data):
    cases = review_data["cases"]
    doctor = review_data["doctor"]

    # 1. Sign in.
    sign_in(page)

    # 2. The queue lists the four held cases, most urgent first.
    rows = queue_rows(page)
    expect(rows).to_have_count(4)
    listed = rows.evaluate_all("rows => rows.map(r => [Number(r.dataset.caseId), r.dataset.urgency])")
    assert [urgency for _pk, urgency in listed] == URGENCY_ORDER
    assert [pk for pk, _urgency in listed] == [cases[u].pk for u in URGENCY_ORDER]
    # The Chinese question is shown as written.
    expect(page.locator(f'tr[data-case-id="{cases["urgent"].pk}"]')).to_contain_text(QUESTIONS["urgent"][:20])

    # 3. Open the urgent (Chinese) case and approve it; htmx swaps the case body in place.
    chinese = cases["urgent"]
    open_case(page, chinese)
    expect(page.locator("#conversation")).to_contain_text(DRAFTS["urgent"])
    case_url = page.url
    mark_window(page)
    page.get_by_role("button", name="Approve").click()
    expect(page.locator("#case-body")).to_have_attribute("data-status", "approved")
    expect(page.locator("#case-body .status")).to_have_text("Approved")
    expect(page.locator("#case-actions .outcome")).to_contain_text("Approved")
    expect(page.locator("#case-actions .outcome")).to_contain_text(doctor.display_name)
    expect(page.locator("#case-actions .final")).to_have_text(DRAFTS["urgent"])
    expect(page.get_by_role("button", name="Approve")).to_have_count(0)
    assert_same_document(page)
    assert page.url == case_url

    decision = Decision.objects.get(case=chinese)
    assert decision.action == Decision.Action.APPROVE
    assert decision.doctor == doctor
    assert decision.final_text == decision.original_text == DRAFTS["urgent"]
    chinese.refresh_from_db()
    assert chinese.status == "approved"
    assert chinese.hold is False

    # Back on the queue the approved case is gone.
    page.get_by_role("link", name="Back to queue").click()
    expect(queue_rows(page)).to_have_count(3)
    expect(page.locator(f'tr[data-case-id="{chinese.pk}"]')).to_have_count(0)

    # 4. Open the "soon" case and correct two words of the draft.
    soon = cases["soon"]
    open_case(page, soon)
    mark_window(page)
    page.get_by_role("button", name="Correct", exact=True).click()
    answer = page.get_by_label("Corrected answer")
    reason = page.get_by_label("Reason")
    expect(answer).to_be_visible()
    expect(reason).to_be_visible()
    expect(answer).to_have_value(DRAFTS["soon"])
    assert_same_document(page)

    corrected = DRAFTS["soon"].replace("drink", "sip").replace("swelling", "puffiness")
    assert corrected != DRAFTS["soon"]
    answer.fill(corrected)
    reason.select_option(label="Incomplete")
    page.get_by_role("button", name="Send correction").click()

    expect(page.locator("#case-body")).to_have_attribute("data-status", "corrected")
    expect(page.locator("#case-body .status")).to_have_text("Corrected")
    expect(page.locator("#case-actions .outcome")).to_contain_text("Corrected")
    expect(page.locator("#case-actions .outcome")).to_contain_text("Incomplete")
    expect(page.locator("#case-actions .diff del")).to_have_text(["drink", "swelling"])
    expect(page.locator("#case-actions .diff ins")).to_have_text(["sip", "puffiness"])
    expect(page.locator("#case-actions .diff")).to_contain_text("Rest at home and")
    assert_same_document(page)

    decision = Decision.objects.get(case=soon)
    assert decision.action == Decision.Action.CORRECT
    assert decision.correction_category == Decision.Category.INCOMPLETE
    assert decision.original_text == DRAFTS["soon"]
    assert decision.final_text == corrected
    soon.refresh_from_db()
    assert soon.status == "corrected"


def test_take_over_reply_and_close(page: Page, review_data):
    case = review_data["cases"]["emergency"]
    doctor = review_data["doctor"]
    reply = "I have called the maternity ward; please go there now, they are expecting you."

    sign_in(page)
    open_case(page, case)
    mark_window(page)

    page.get_by_role("button", name="Take over").click()
    expect(page.locator("#case-body .status")).to_have_text("Taken over")
    expect(page.locator("#case-actions .outcome")).to_contain_text("Taken over")

    page.get_by_label("Reply to patient").fill(reply)
    page.get_by_role("button", name="Send", exact=True).click()
    doctor_message = page.locator("#conversation article.message.doctor")
    expect(doctor_message).to_have_count(1)
    expect(doctor_message).to_contain_text(reply)
    expect(doctor_message).to_contain_text(doctor.display_name)
    expect(page.get_by_label("Reply to patient")).to_have_value("")

    page.get_by_role("button", name="Close case").click()
    expect(page.locator("#case-body .status")).to_have_text("Closed")
    expect(page.locator("#case-actions .outcome")).to_contain_text("Closed")
    expect(page.get_by_label("Reply to patient")).to_have_count(0)
    assert_same_document(page)

    case.refresh_from_db()
    assert case.status == "closed"
    assert list(case.decisions.order_by("id").values_list("action", flat=True)) == ["take_over", "close"]
    assert case.messages.filter(author=Message.Author.DOCTOR, doctor=doctor, body=reply).exists()


def test_approve_without_javascript(page_without_js: Page, review_data):
    page = page_without_js
    case = review_data["cases"]["routine"]

    sign_in(page)
    expect(queue_rows(page)).to_have_count(4)
    open_case(page, case)

    page.get_by_role("button", name="Approve").click()
    # A plain form post, then the redirect back to the case page.
    expect(page).to_have_url(re.compile(rf"/cases/{case.pk}/$"))
    expect(page.locator("#case-body .status")).to_have_text("Approved")
    expect(page.locator("#case-actions .outcome")).to_contain_text("Approved")
    expect(page.locator("#case-actions .final")).to_have_text(DRAFTS["routine"])

    decision = Decision.objects.get(case=case)
    assert decision.action == Decision.Action.APPROVE
    assert decision.doctor == review_data["doctor"]
