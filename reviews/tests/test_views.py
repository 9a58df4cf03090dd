import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from reviews.models import AuditEvent, Case, CaseStatus, Decision, Urgency
from reviews.services import case_open, case_take_over

from .factories import AdminFactory, CaseFactory, DoctorFactory, HospitalFactory

pytestmark = pytest.mark.django_db

ROW = re.compile(r'<tr data-case-id="(\d+)" data-urgency="(\w+)"')


def rows(response) -> list[tuple[int, str]]:
    return [(int(case_id), urgency) for case_id, urgency in ROW.findall(response.content.decode())]


@pytest.fixture
def signed_in(client, doctor):
    client.force_login(doctor)
    return client


def htmx(client, method: str, url: str, **data):
    return getattr(client, method)(url, data, HTTP_HX_REQUEST="true")


# --- Sign-in ---------------------------------------------------------------------------


def test_sign_in_page_has_labelled_fields_and_signs_a_doctor_in(client, doctor):
    page = client.get("/accounts/login/").content.decode()
    assert ">Email</label>" in page and ">Password</label>" in page and ">Sign in</button>" in page

    response = client.post("/accounts/login/", {"username": doctor.email.upper(), "password": "demo-password"})

    assert response.status_code == 302 and response.url == "/"
    assert client.get("/").status_code == 200


def test_wrong_password_shows_an_error_and_signs_nobody_in(client, doctor):
    response = client.post("/accounts/login/", {"username": doctor.email, "password": "wrong"})

    assert response.status_code == 200
    assert "Please enter a correct email and password" in response.content.decode()
    assert client.get("/").status_code == 302


def test_pages_need_sign_in(client):
    assert client.get("/").url.startswith("/accounts/login/")
    assert client.get("/cases/1/").url.startswith("/accounts/login/")


# --- The queue -------------------------------------------------------------------------


def test_queue_lists_own_awaiting_cases_in_urgency_then_due_order(signed_in, doctor, other_doctor):
    now = timezone.now()
    routine = CaseFactory(doctor=doctor, urgency=Urgency.ROUTINE, due_at=now + timedelta(hours=1))
    urgent_late = CaseFactory(doctor=doctor, urgency=Urgency.URGENT, due_at=now + timedelta(hours=2))
    urgent_early = CaseFactory(doctor=doctor, urgency=Urgency.URGENT, due_at=now + timedelta(minutes=30))
    emergency = CaseFactory(doctor=doctor, urgency=Urgency.EMERGENCY, due_at=now + timedelta(hours=3))
    CaseFactory(doctor=doctor, status=CaseStatus.APPROVED)
    CaseFactory(doctor=doctor, status=CaseStatus.AUTO_RELEASED)
    CaseFactory(doctor=other_doctor, urgency=Urgency.EMERGENCY)
    CaseFactory(urgency=Urgency.EMERGENCY)  # another hospital

    response = signed_in.get("/")

    assert rows(response) == [
        (emergency.pk, "emergency"),
        (urgent_early.pk, "urgent"),
        (urgent_late.pk, "urgent"),
        (routine.pk, "routine"),
    ]
    assert f'href="/cases/{emergency.pk}/"' in response.content.decode()


def test_queue_pages_by_keyset_without_losing_or_repeating_a_case(signed_in, doctor):
    cases = [CaseFactory(doctor=doctor, urgency=i % 4) for i in range(120)]

    seen, url = [], "/"
    while url:
        content = signed_in.get(url).content.decode()
        seen += [case_id for case_id, _ in ROW.findall(content)]
        match = re.search(r'<a href="(\?after=[^"]+)" rel="next">', content)
        url = "/" + match.group(1) if match else None

    assert len(seen) == 120
    assert sorted(map(int, seen)) == sorted(c.pk for c in cases)


def test_queue_refresh_returns_only_the_queue_fragment(signed_in, doctor):
    case = CaseFactory(doctor=doctor)

    response = htmx(signed_in, "get", "/")

    content = response.content.decode()
    assert content.lstrip().startswith('<section id="queue"')
    assert f'data-case-id="{case.pk}"' in content
    assert "<html" not in content
    assert "HX-Request" in response["Vary"]


def test_queue_shows_who_holds_a_claim(signed_in, doctor, other_doctor):
    case = CaseFactory(doctor=doctor, claimed_by=other_doctor, claim_expires_at=timezone.now() + timedelta(minutes=5))

    content = signed_in.get("/").content.decode()

    assert f'data-case-id="{case.pk}"' in content and "Dr Zhang Min" in content


def test_queue_page_query_count_does_not_grow_with_cases(signed_in, doctor, django_assert_max_num_queries):
    for i in range(10):
        CaseFactory(doctor=doctor, urgency=i % 4)
    # 9: session, user, hospital, the page, "Escalated to you", taken over, the session's save (3).
    with django_assert_max_num_queries(9) as few:
        signed_in.get("/")
    for i in range(120):
        CaseFactory(doctor=doctor, urgency=i % 4)
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = signed_in.get("/")
    assert len(rows(response)) == 50


def test_admin_sees_the_hospital_overview_not_conversations(client, hospital, doctor):
    admin = AdminFactory(hospital=hospital)
    case = CaseFactory(doctor=doctor, urgency=Urgency.EMERGENCY)
    client.force_login(admin)

    overview = client.get("/").content.decode()
    case_page = client.get(f"/cases/{case.pk}/")

    assert "Hospital overview" in overview and "Dr Li Wei" in overview
    assert case.question_preview not in overview
    assert case_page.status_code == 403
    assert case.question_preview not in case_page.content.decode()


# --- The case page ---------------------------------------------------------------------


def test_opening_a_case_claims_it_and_is_audited(signed_in, doctor):
    case = CaseFactory(doctor=doctor)

    content = signed_in.get(f"/cases/{case.pk}/").content.decode()

    case.refresh_from_db()
    assert case.claimed_by == doctor
    assert "You hold this case until" in content
    for label in (">Approve</button>", ">Correct</button>", ">Take over</button>"):
        assert label in content
    assert case.question_preview in content
    assert "Avatar draft" in content
    assert AuditEvent.objects.filter(case=case, action="case.opened", actor_user=doctor).count() == 1


def test_case_page_highlights_triage_flags(signed_in, doctor):
    body = "Since this morning I have chest pain going down my arm."
    case = CaseFactory(doctor=doctor, conversation=False, urgency=Urgency.EMERGENCY)
    case.messages.create(author="patient", body=body, sent_at=timezone.now())
    start = body.index("chest pain")
    Case.objects.filter(pk=case.pk).update(
        flags=[
            {
                "source": "triage",
                "code": "chest_pain",
                "rule_id": "chest_pain",
                "rules_version": "builtin-1",
                "urgency": "emergency",
                "matched_text": "chest pain",
                "message_index": 0,
                "start": start,
                "end": start + len("chest pain"),
            }
        ]
    )

    content = signed_in.get(f"/cases/{case.pk}/").content.decode()

    assert 'I have <mark title="chest_pain">chest pain</mark> going down' in content


def test_case_held_by_another_doctor_shows_who_and_no_buttons(signed_in, doctor, other_doctor):
    case = CaseFactory(doctor=doctor, claimed_by=other_doctor, claim_expires_at=timezone.now() + timedelta(minutes=5))

    content = signed_in.get(f"/cases/{case.pk}/").content.decode()

    assert "Dr Zhang Min is reviewing this case until" in content
    assert ">Approve</button>" not in content


def test_another_doctors_case_or_hospital_is_not_found(signed_in, other_doctor):
    assert signed_in.get(f"/cases/{CaseFactory(doctor=other_doctor).pk}/").status_code == 404
    assert signed_in.get(f"/cases/{CaseFactory().pk}/").status_code == 404


def test_case_page_query_count_does_not_grow_with_messages(signed_in, doctor, django_assert_max_num_queries):
    case = CaseFactory(doctor=doctor)
    with django_assert_max_num_queries(20) as few:
        signed_in.get(f"/cases/{case.pk}/")
    for i in range(40):
        case.messages.create(author="patient", body=f"follow-up {i}", sent_at=timezone.now())
    with django_assert_max_num_queries(len(few.captured_queries)):
        content = signed_in.get(f"/cases/{case.pk}/").content.decode()
    assert "follow-up 39" in content


# --- Actions ---------------------------------------------------------------------------


def opened(case, doctor) -> Case:
    return case_open(case=case, doctor=doctor)


def test_approve_with_htmx_swaps_the_case_body(signed_in, doctor):
    case = opened(CaseFactory(doctor=doctor), doctor)

    response = htmx(signed_in, "post", f"/cases/{case.pk}/approve/", version=case.version)

    content = response.content.decode()
    assert response.status_code == 200
    assert content.lstrip().startswith('<div id="case-body"')
    assert "<strong>Approved</strong>" in content and "Answer sent to the patient" in content
    assert Decision.objects.get(case=case).action == "approve"


def test_approve_without_javascript_redirects_back_to_the_case(signed_in, doctor):
    case = opened(CaseFactory(doctor=doctor), doctor)

    response = signed_in.post(f"/cases/{case.pk}/approve/", {"version": case.version})

    assert response.status_code == 302 and response.url == f"/cases/{case.pk}/"
    assert "<strong>Approved</strong>" in signed_in.get(response.url).content.decode()


def test_correct_opens_in_place_then_shows_the_diff(signed_in, doctor):
    case = opened(CaseFactory(doctor=doctor), doctor)

    form = htmx(signed_in, "get", f"/cases/{case.pk}/", correct="1").content.decode()
    assert '<label for="final_text">Corrected answer</label>' in form
    assert '<label for="category">Reason</label>' in form and ">Send correction</button>" in form
    for label in ("Factual error", "Unsafe advice", "Incomplete", "Tone", "Should escalate"):
        assert label in form

    response = htmx(
        signed_in,
        "post",
        f"/cases/{case.pk}/correct/",
        version=case.version,
        final_text="Rest, drink water and see a doctor today if it gets worse or you develop a fever.",
        category="incomplete",
    )

    content = response.content.decode()
    assert "<strong>Corrected</strong>" in content
    assert "<ins> today</ins>" in content
    decision = Decision.objects.get(case=case)
    assert decision.correction_category == "incomplete" and decision.original_text.startswith("Rest, drink water")


def test_correction_without_a_reason_is_refused_and_keeps_the_text(signed_in, doctor):
    case = opened(CaseFactory(doctor=doctor), doctor)

    response = htmx(
        signed_in,
        "post",
        f"/cases/{case.pk}/correct/",
        version=case.version,
        final_text="My better answer",
        category="",
    )

    content = response.content.decode()
    assert response.status_code == 400
    assert "Choose the reason for the correction." in content
    assert "My better answer</textarea>" in content
    assert not Decision.objects.filter(case=case).exists()


def test_second_decision_is_refused_with_who_acted_first(signed_in, client, doctor):
    case = opened(CaseFactory(doctor=doctor), doctor)
    version = case.version
    signed_in.post(f"/cases/{case.pk}/approve/", {"version": version})

    response = htmx(signed_in, "post", f"/cases/{case.pk}/correct/", version=version, final_text="x", category="tone")

    assert response.status_code == 409
    assert "Dr Li Wei approved this case just now." in response.content.decode()
    assert Decision.objects.filter(case=case).count() == 1


def test_stale_version_is_refused(signed_in, doctor):
    case = opened(CaseFactory(doctor=doctor), doctor)

    response = htmx(signed_in, "post", f"/cases/{case.pk}/approve/", version=case.version - 1)

    assert response.status_code == 409
    assert "changed since you opened it" in response.content.decode()


def test_take_over_reply_and_close(signed_in, doctor):
    case = opened(CaseFactory(doctor=doctor), doctor)

    taken = htmx(signed_in, "post", f"/cases/{case.pk}/take-over/", version=case.version).content.decode()
    assert "<strong>Taken over</strong>" in taken
    assert '<label for="reply_body">Reply to patient</label>' in taken and ">Send</button>" in taken

    replied = htmx(signed_in, "post", f"/cases/{case.pk}/reply/", body="Please call the ward on 13800138000.")
    content = replied.content.decode()
    assert "Please call the ward on [phone]." in content and "Dr Li Wei" in content

    case.refresh_from_db()
    closed = htmx(signed_in, "post", f"/cases/{case.pk}/close/", version=case.version).content.decode()
    assert "<strong>Closed</strong>" in closed
    case.refresh_from_db()
    assert case.status == CaseStatus.CLOSED


def test_taken_over_conversation_refreshes_itself(signed_in, doctor):
    case = opened(CaseFactory(doctor=doctor), doctor)
    case_take_over(case=case, doctor=doctor, version=case.version)

    page = signed_in.get(f"/cases/{case.pk}/").content.decode()
    fragment = htmx(signed_in, "get", f"/cases/{case.pk}/", part="conversation").content.decode()

    assert 'hx-trigger="every 10s"' in page
    assert fragment.lstrip().startswith('<section id="conversation"')


def test_next_case_claims_the_first_unclaimed_case(signed_in, doctor, other_doctor):
    now = timezone.now()
    CaseFactory(
        doctor=doctor, urgency=Urgency.EMERGENCY, claimed_by=other_doctor, claim_expires_at=now + timedelta(minutes=5)
    )
    expected = CaseFactory(doctor=doctor, urgency=Urgency.URGENT)
    CaseFactory(doctor=doctor, urgency=Urgency.ROUTINE)

    response = signed_in.post("/next/")

    assert response.url == f"/cases/{expected.pk}/"
    expected.refresh_from_db()
    assert expected.claimed_by == doctor


def test_next_case_with_htmx_redirects_the_browser(signed_in, doctor):
    case = CaseFactory(doctor=doctor)

    response = signed_in.post("/next/", HTTP_HX_REQUEST="true")

    assert response["HX-Redirect"] == f"/cases/{case.pk}/"


def test_next_case_on_an_empty_queue_says_so(signed_in):
    response = signed_in.post("/next/", follow=True)

    assert "No unclaimed case is waiting in your queue." in response.content.decode()


def test_actions_need_post_and_a_doctor(client, signed_in, doctor, hospital):
    case = CaseFactory(doctor=doctor)
    assert signed_in.get(f"/cases/{case.pk}/approve/").status_code == 405

    client.force_login(AdminFactory(hospital=hospital))
    assert client.post(f"/cases/{case.pk}/approve/", {"version": case.version}).status_code == 403
    assert not Decision.objects.exists()


def test_a_doctor_of_another_hospital_cannot_act(client):
    case = CaseFactory()
    client.force_login(DoctorFactory(hospital=HospitalFactory()))

    assert client.post(f"/cases/{case.pk}/approve/", {"version": case.version}).status_code == 404
    assert reverse("reviews:approve", args=[case.pk]) == f"/cases/{case.pk}/approve/"


def test_a_case_moved_to_a_colleague_is_in_their_queue_and_readable_by_the_avatars_doctor(
    client, signed_in, doctor, other_doctor
):
    case = CaseFactory(doctor=doctor, reviewer=other_doctor)

    assert rows(signed_in.get("/")) == []
    page = signed_in.get(f"/cases/{case.pk}/").content.decode()
    assert case.question_preview in page and ">Approve</button>" not in page
    assert "This case is in the queue of Dr Zhang Min." in page
    assert signed_in.post(f"/cases/{case.pk}/claim/").status_code == 403

    client.force_login(other_doctor)
    assert rows(client.get("/")) == [(case.pk, "routine")]


def test_admin_overview_counts_unassigned_cases(client, hospital, doctor):
    CaseFactory(doctor=doctor, reviewer=None, urgency=Urgency.URGENT)
    client.force_login(AdminFactory(hospital=hospital))

    content = client.get("/").content.decode()

    assert "Unassigned: no active doctor of the specialty" in content


def test_every_page_has_a_language_switcher_that_remembers_the_doctors_choice(signed_in, doctor):
    page = signed_in.get("/").content.decode()
    assert '<select id="language-switcher" name="language">' in page
    assert "简体中文" in page

    response = signed_in.post("/accounts/profile/language/", {"language": "zh-hans", "next": "/"})

    assert response.url == "/"
    doctor.refresh_from_db()
    assert doctor.language == "zh-hans"
    assert '<html lang="zh-hans">' in signed_in.get("/").content.decode()


def test_the_switcher_works_before_sign_in(client):
    response = client.post("/i18n/setlang/", {"language": "zh-hans", "next": "/accounts/login/"})

    assert response.url == "/accounts/login/"
    assert '<html lang="zh-hans">' in client.get("/accounts/login/").content.decode()
