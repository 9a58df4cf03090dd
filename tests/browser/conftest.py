"""Fixtures for the browser tests: one headless Debian chromium for the session, a
fresh context (cookies, storage) and page per test, and the demo data they work on."""

import os
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import sync_playwright

from accounts.services import api_client_create
from reviews.services import CaseIngestData, IngestMessage, case_ingest
from reviews.tests.factories import DoctorFactory, HospitalFactory

# Playwright's sync API keeps an event loop running in this thread, and Django refuses
# ORM calls from a thread with a running loop. The test's own ORM calls are plain
# synchronous code between browser steps, so the guard does not apply to them.
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PASSWORD = "demo-password"  # the factories' default
ACTION_TIMEOUT_MS = 5_000


@pytest.fixture(scope="session")
def browser():
    if not os.path.exists(CHROMIUM):
        # CI installs Debian's chromium (.ci/run), so there a missing browser is a failure;
        # on a developer's machine without it, `make test` still runs everything else.
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is not installed; .ci/run should have installed Debian's chromium")
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium)")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def _new_page(browser, live_server, **options):
    context = browser.new_context(base_url=live_server.url, locale="en-US", **options)
    context.set_default_timeout(ACTION_TIMEOUT_MS)
    return context, context.new_page()


@pytest.fixture
def page(browser, live_server):
    context, page = _new_page(browser, live_server)
    yield page
    context.close()


@pytest.fixture
def page_without_js(browser, live_server):
    context, page = _new_page(browser, live_server, java_script_enabled=False)
    yield page
    context.close()


@pytest.fixture
def other_page(browser, live_server):
    """A page in a second context, with cookies of its own: another person at another computer."""
    context, page = _new_page(browser, live_server)
    yield page
    context.close()


# (external id, urgency the avatar flags, patient question, avatar draft). Ingested in
# this order, which is not the queue's order, so the queue has to sort them.
CASES = [
    (
        "ext-routine",
        None,
        "Is it fine to keep swimming twice a week during my pregnancy?",
        "Gentle swimming is usually fine in pregnancy. Stop if you feel unwell and mention it at your next visit.",
    ),
    (
        "ext-soon",
        "soon",
        "My ankles are a bit puffy in the evening, should I worry?",
        "Rest at home and drink plenty of water. See a doctor if the swelling gets worse.",
    ),
    (
        "ext-urgent",
        "urgent",
        "我怀孕三十周，这两天胎动好像比平时少，需要去医院吗？",
        "建议您今天左侧卧位休息，认真数胎动。如果两小时内胎动少于十次，请马上去医院。",
    ),
    (
        "ext-emergency",
        "emergency",
        "I am 34 weeks pregnant and I feel strange pressure, what should I do now?",
        "Please go to the maternity ward now and bring your pregnancy notes with you.",
    ),
]


@pytest.fixture
def review_data(live_server):
    """A hospital, doctor1 and four held cases ingested as the avatar platform would."""
    hospital = HospitalFactory(name="Harbour Women's Hospital")
    doctor = DoctorFactory(hospital=hospital, email="doctor1@example.test", full_name="Li Wei")
    api_client, _token = api_client_create(
        hospital=hospital, name="Avatar platform", scopes=["cases:write", "cases:read"]
    )
    cases = {}
    start = timezone.now() - timedelta(minutes=5)
    for n, (external_id, urgency, question, draft) in enumerate(CASES):
        data = CaseIngestData(
            external_id=external_id,
            doctor_licence=doctor.doctor_profile.licence_number,
            patient_ref=f"patient-{n}",
            messages=[
                IngestMessage("patient", question, start + timedelta(seconds=10 * n)),
                IngestMessage("avatar", draft, start + timedelta(seconds=10 * n + 5)),
            ],
            # The routine case is here only for the avatar's low confidence.
            avatar_confidence=0.3 if urgency is None else 0.9,
            avatar_flags=[{"code": urgency, "reason": f"avatar thinks this is {urgency}"}] if urgency else [],
        )
        case, created = case_ingest(api_client=api_client, data=data)
        assert created
        assert case.status == "awaiting_review"
        assert case.urgency_code == (urgency or "routine"), (external_id, case.flags)
        cases[case.urgency_code] = case
    return {"hospital": hospital, "doctor": doctor, "cases": cases}
