"""Hospital admins' pages (/manage/): access, hospital scoping, each page's content and
actions, htmx partials, the audit trail each action leaves, and query counts."""

import csv
import hashlib
import io
import re
from datetime import timedelta

import pytest
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_totp.models import TOTPDevice
from rest_framework.test import APIClient

from accounts.models import ApiClient, DoctorProfile, Hospital, Invitation, SignInFailure, User
from accounts.selectors import locked_emails
from accounts.services import api_client_create, staff_invite
from reviews.audit import audit_record
from reviews.models import AuditEvent, Case, CaseStatus
from reviews.tests.factories import (
    AdminFactory,
    ApiClientFactory,
    CaseFactory,
    DoctorFactory,
    HospitalFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

STAFF = "/manage/staff/"
INVITE = "/manage/staff/invite/"
CLIENTS = "/manage/api-clients/"
POLICY = "/manage/policy/"
AUDIT = "/manage/audit/"
AUDIT_CSV = "/manage/audit.csv"

USER_ROW = re.compile(r'<tr data-user-id="(\d+)"')
EVENT_ROW = re.compile(r'<tr data-event-id="(\d+)" data-action="([\w.]+)"')
TOKEN_INPUT = re.compile(r'id="new-token" class="token" value="([^"]+)"')


@pytest.fixture
def hospital(db):
    return HospitalFactory(name="St Mary", slug="st-mary")


@pytest.fixture
def admin(hospital):
    return AdminFactory(hospital=hospital, full_name="Chen Jing", email="chen.jing@st-mary.test")


@pytest.fixture
def doctor(hospital):
    return DoctorFactory(
        hospital=hospital,
        full_name="Li Wei",
        email="li.wei@st-mary.test",
        profile__specialty=DoctorProfile.Specialty.OBSTETRICS,
        profile__licence_number="OB-1001",
        profile__avatar_name="Dr Li's avatar",
    )


@pytest.fixture
def signed_in(client, admin):
    client.force_login(admin)
    return client


@pytest.fixture
def outsider(db):
    """A doctor of another hospital."""
    return DoctorFactory(full_name="Wang Fang", email="wang.fang@elsewhere.test")


def page_text(response) -> str:
    return response.content.decode()


def user_rows(response) -> list[int]:
    return [int(pk) for pk in USER_ROW.findall(page_text(response))]


def event_rows(response) -> list[int]:
    return [int(pk) for pk, _action in EVENT_ROW.findall(page_text(response))]


def event_actions(response) -> list[str]:
    return [action for _pk, action in EVENT_ROW.findall(page_text(response))]


def htmx_get(client, url: str, data: dict | None = None):
    return client.get(url, data or {}, HTTP_HX_REQUEST="true")


def htmx_post(client, url: str, data: dict | None = None):
    return client.post(url, data or {}, HTTP_HX_REQUEST="true")


def field_error(response, field: str, message: str) -> bool:
    """Whether `message` is shown as an error of the form field `field` (bound, not above the form)."""
    return re.search(rf'id="id_{field}".*?<span class="field-error">{re.escape(message)}', page_text(response), re.S)


def in_audit_log(client, action: str) -> bool:
    return action in event_actions(client.get(AUDIT, {"action": action}))


def bearer(token: str) -> APIClient:
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return api


# --- Access -----------------------------------------------------------------------------

PAGES = [STAFF, INVITE, CLIENTS, POLICY, AUDIT, AUDIT_CSV]


@pytest.mark.parametrize("url", PAGES)
def test_anonymous_visitors_are_sent_to_sign_in(client, url):
    response = client.get(url)

    assert response.status_code == 302
    assert response.url.startswith("/accounts/login/?next=")


@pytest.mark.parametrize("url", PAGES)
def test_doctors_get_403(client, doctor, url):
    client.force_login(doctor)

    assert client.get(url).status_code == 403


def test_doctors_cannot_act_on_staff_or_clients(client, doctor, admin, hospital):
    other = DoctorFactory(hospital=hospital)
    api_client, _token = api_client_create(hospital=hospital, name="Platform", scopes=["cases:write"])
    client.force_login(doctor)

    for url in (
        f"/manage/staff/{other.pk}/deactivate/",
        f"/manage/staff/{other.pk}/",
        f"/manage/api-clients/{api_client.pk}/revoke/",
    ):
        assert client.post(url, {"full_name": "Changed", "role": "admin"}).status_code == 403
    assert client.post(POLICY, {"sla_emergency_minutes": 1}).status_code == 403

    other.refresh_from_db()
    api_client.refresh_from_db()
    assert other.is_active and other.full_name != "Changed" and api_client.revoked_at is None


def test_admins_see_their_links_in_the_top_bar(signed_in):
    page = page_text(signed_in.get(STAFF))

    for href, label in (("/", "Overview"), (STAFF, "Staff"), (CLIENTS, "API clients"), (POLICY, "Policy")):
        assert f'<a href="{href}"' in page and f">{label}</a>" in page
    assert f'<a href="{AUDIT}" aria-current="page"' not in page
    assert f'<a href="{STAFF}" aria-current="page">Staff</a>' in page


def test_doctors_see_no_admin_links(client, doctor):
    client.force_login(doctor)

    assert STAFF not in page_text(client.get("/"))


# --- Another hospital's objects ---------------------------------------------------------


def test_another_hospitals_staff_is_404_and_unchanged(signed_in, outsider):
    SignInFailure.objects.bulk_create([SignInFailure(email=outsider.email) for _ in range(5)])
    base = f"/manage/staff/{outsider.pk}"

    assert signed_in.get(f"{base}/").status_code == 404
    assert signed_in.post(f"{base}/", {"full_name": "Changed", "role": "admin"}).status_code == 404
    assert signed_in.get(f"{base}/deactivate/").status_code == 404
    assert signed_in.post(f"{base}/deactivate/").status_code == 404
    assert htmx_post(signed_in, f"{base}/deactivate/").status_code == 404
    assert signed_in.post(f"{base}/unlock/").status_code == 404

    outsider.refresh_from_db()
    assert outsider.is_active and outsider.full_name == "Wang Fang" and outsider.role == User.Role.DOCTOR
    assert SignInFailure.objects.filter(email=outsider.email).count() == 5

    User.objects.filter(pk=outsider.pk).update(is_active=False)
    assert signed_in.post(f"{base}/reactivate/").status_code == 404
    outsider.refresh_from_db()
    assert not outsider.is_active
    assert not AuditEvent.objects.filter(hospital=outsider.hospital).exists()


def test_another_hospitals_api_client_is_404_and_stays_working(signed_in):
    foreign, token = api_client_create(hospital=HospitalFactory(), name="Their platform", scopes=["cases:write"])

    assert signed_in.get(f"/manage/api-clients/{foreign.pk}/revoke/").status_code == 404
    assert signed_in.post(f"/manage/api-clients/{foreign.pk}/revoke/").status_code == 404

    foreign.refresh_from_db()
    assert foreign.revoked_at is None
    assert bearer(token).get("/api/v1/doctors/").status_code == 200
    assert "Their platform" not in page_text(signed_in.get(CLIENTS))


# --- Staff list -------------------------------------------------------------------------


def test_staff_page_lists_the_hospitals_people_with_their_details(signed_in, admin, doctor, outsider):
    admin.refresh_from_db()  # force_login set the admin's last sign-in

    response = signed_in.get(STAFF)
    page = page_text(response)

    assert response.status_code == 200
    assert sorted(user_rows(response)) == sorted([admin.pk, doctor.pk])
    for text in ("Li Wei", "li.wei@st-mary.test", "Doctor", "Obstetrics", "OB-1001", "Dr Li&#x27;s avatar"):
        assert text in page
    assert "Hospital admin" in page and "Chen Jing" in page
    assert f'href="/manage/staff/{doctor.pk}/"' in page
    assert "Wang Fang" not in page
    assert re.search(rf'data-user-id="{doctor.pk}".*?never.*?</tr>', page, re.S)  # the doctor never signed in
    assert timezone.localtime(admin.last_login).strftime("%Y-%m-%d %H:%M") in page
    # Every filter has a label, and the form works as a plain GET form.
    for field in ("q", "role", "specialty", "active"):
        assert f'<label for="id_{field}">' in page
    assert '<form method="get" action="/manage/staff/"' in page
    assert 'hx-trigger="input changed delay:300ms, change"' in page and 'hx-push-url="true"' in page


def test_search_matches_name_or_email(signed_in, admin, doctor):
    zhang = DoctorFactory(hospital=doctor.hospital, full_name="Zhang Min", email="zm@st-mary.test")

    assert user_rows(signed_in.get(STAFF, {"q": "zhang"})) == [zhang.pk]
    assert user_rows(signed_in.get(STAFF, {"q": "LI.WEI@"})) == [doctor.pk]
    assert user_rows(signed_in.get(STAFF, {"q": "nobody"})) == []
    assert "Nobody matches these filters." in page_text(signed_in.get(STAFF, {"q": "nobody"}))


def test_filters_narrow_the_list(signed_in, admin, doctor, hospital):
    paediatrician = DoctorFactory(hospital=hospital, profile__specialty=DoctorProfile.Specialty.PAEDIATRICS)
    gone = DoctorFactory(hospital=hospital, is_active=False)

    assert user_rows(signed_in.get(STAFF, {"role": "admin"})) == [admin.pk]
    assert sorted(user_rows(signed_in.get(STAFF, {"role": "doctor"}))) == sorted([doctor.pk, paediatrician.pk, gone.pk])
    assert user_rows(signed_in.get(STAFF, {"specialty": "paediatrics"})) == [paediatrician.pk]
    assert user_rows(signed_in.get(STAFF, {"active": "no"})) == [gone.pk]
    assert gone.pk not in user_rows(signed_in.get(STAFF, {"active": "yes"}))
    assert user_rows(signed_in.get(STAFF, {"role": "doctor", "specialty": "obstetrics", "active": "yes"})) == [
        doctor.pk
    ]
    # A value that is not a choice is not applied, never an error.
    assert signed_in.get(STAFF, {"role": "king"}).status_code == 200


def test_staff_list_pages_by_50(signed_in, hospital, admin):
    UserFactory.create_batch(60, hospital=hospital)

    first = signed_in.get(STAFF)
    second = signed_in.get(STAFF, {"page": 2})

    assert len(user_rows(first)) == 50
    assert len(user_rows(second)) == 11
    assert not set(user_rows(first)) & set(user_rows(second))
    assert 'href="?page=2"' in page_text(first)
    assert "Page 2 of 2" in page_text(second)
    # Paging keeps the filters.
    assert 'href="?role=doctor&amp;page=2"' in page_text(signed_in.get(STAFF, {"role": "doctor"}))


def test_htmx_filtering_returns_only_the_table(signed_in, doctor):
    response = htmx_get(signed_in, STAFF, {"q": "li wei"})
    page = page_text(response)

    assert response.status_code == 200
    assert page.lstrip().startswith('<section id="staff-table"')
    assert "<html" not in page and "Pending invitations" not in page
    assert user_rows(response) == [doctor.pk]
    assert "HX-Request" in response["Vary"]
    assert "HX-Request" in signed_in.get(STAFF)["Vary"]


def test_staff_list_queries_do_not_grow_with_rows(signed_in, hospital, admin, django_assert_max_num_queries):
    with CaptureQueriesContext(connection) as few:
        signed_in.get(STAFF)

    for doctor in DoctorFactory.create_batch(30, hospital=hospital):
        SignInFailure.objects.bulk_create([SignInFailure(email=doctor.email) for _ in range(5)])
    staff_invite(hospital=hospital, invited_by=admin, email="a@x.test", full_name="A", role="admin", link_base="x/")
    staff_invite(hospital=hospital, invited_by=admin, email="b@x.test", full_name="B", role="admin", link_base="x/")

    with django_assert_max_num_queries(len(few)):
        response = signed_in.get(STAFF)
    assert len(user_rows(response)) == 31 and page_text(response).count(">Locked</span>") == 30


def test_locked_accounts_are_marked(signed_in, doctor, hospital, settings):
    settings.SIGNIN_MAX_FAILURES_PER_ACCOUNT = 3
    settings.SIGNIN_FAILURE_WINDOW_MINUTES = 15
    old = timezone.now() - timedelta(minutes=16)
    cooled = DoctorFactory(hospital=hospital)
    SignInFailure.objects.bulk_create([SignInFailure(email=doctor.email) for _ in range(3)])
    # Failures older than the window do not count: 3 old and 1 recent are below the limit.
    SignInFailure.objects.bulk_create(
        [SignInFailure(email=cooled.email, at=old) for _ in range(3)] + [SignInFailure(email=cooled.email)]
    )

    page = page_text(signed_in.get(STAFF))

    assert re.search(rf'data-user-id="{doctor.pk}".*?>Locked</span>.*?</tr>', page, re.S)
    assert not re.search(rf'data-user-id="{cooled.pk}"[^/]*?>Locked</span>', page)
    assert page.count(">Locked</span>") == 1


def test_locked_emails_is_one_query_and_ignores_case(doctor, settings, django_assert_num_queries):
    settings.SIGNIN_MAX_FAILURES_PER_ACCOUNT = 2
    SignInFailure.objects.bulk_create([SignInFailure(email=doctor.email), SignInFailure(email=doctor.email)])
    SignInFailure.objects.create(email="almost@st-mary.test")

    with django_assert_num_queries(1):
        locked = locked_emails(emails=[doctor.email.upper(), "almost@st-mary.test", "nobody@x.test"])

    assert locked == {doctor.email}
    assert locked_emails(emails=[]) == set()


# --- Invitations ------------------------------------------------------------------------


def invite(client, **fields):
    data = {
        "email": "Sun.Li@St-Mary.test",
        "full_name": "Sun Li",
        "role": "doctor",
        "specialty": "paediatrics",
        "licence_number": "PD-2002",
        "avatar_name": "",
    } | fields
    return client.post(INVITE, data)


def test_invite_page_has_a_labelled_form(signed_in):
    page = page_text(signed_in.get(INVITE))

    for field in ("email", "full_name", "role", "specialty", "licence_number", "avatar_name"):
        assert f'<label for="id_{field}">' in page
    assert '<form method="post" action="/manage/staff/invite/"' in page


def test_invite_sends_a_one_time_link_and_shows_the_sent_state(
    signed_in, hospital, admin, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = invite(signed_in)

    invitation = Invitation.objects.get(hospital=hospital)
    assert response.status_code == 302 and response.url == f"{INVITE}?sent={invitation.pk}"
    sent = page_text(signed_in.get(response.url))
    assert "Invitation sent to sun.li@st-mary.test; the link works once, for 72 hours." in sent

    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["sun.li@st-mary.test"]
    link = re.search(r"http://testserver/accounts/invitation/([\w-]+)/", mail.outbox[0].body)
    assert link, mail.outbox[0].body
    token = link.group(1)
    assert invitation.token_hash == hashlib.sha256(token.encode()).hexdigest()
    for field in Invitation._meta.concrete_fields:
        assert token not in str(getattr(invitation, field.attname)), field.name
    assert (invitation.role, invitation.specialty, invitation.licence_number) == ("doctor", "paediatrics", "PD-2002")
    assert invitation.invited_by == admin

    # Listed as pending on the staff page, with when it expires.
    staff_page = page_text(signed_in.get(STAFF))
    assert f'data-invitation-id="{invitation.pk}"' in staff_page
    assert timezone.localtime(invitation.expires_at).strftime("%Y-%m-%d %H:%M") in staff_page
    assert in_audit_log(signed_in, "staff.invited")


def test_an_admin_invitation_needs_no_doctor_fields(signed_in, hospital):
    response = invite(signed_in, email="ops@st-mary.test", role="admin", specialty="", licence_number="")

    assert response.status_code == 302
    assert Invitation.objects.get(hospital=hospital).role == "admin"


def test_the_sent_state_is_only_for_this_hospitals_invitations(signed_in, outsider):
    other_admin = AdminFactory(hospital=outsider.hospital)
    theirs, _token = staff_invite(
        hospital=outsider.hospital, invited_by=other_admin, email="x@y.test", full_name="X", role="admin", link_base="/"
    )

    page = page_text(signed_in.get(INVITE, {"sent": theirs.pk}))

    assert "x@y.test" not in page and "Send invitation" in page


def test_only_usable_invitations_are_listed(signed_in, hospital, admin):
    def make(email):
        return staff_invite(
            hospital=hospital, invited_by=admin, email=email, full_name="N", role="admin", link_base="/"
        )[0]

    pending, expired, revoked, accepted = make("p@x.test"), make("e@x.test"), make("r@x.test"), make("a@x.test")
    Invitation.objects.filter(pk=expired.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    Invitation.objects.filter(pk=revoked.pk).update(revoked_at=timezone.now())
    Invitation.objects.filter(pk=accepted.pk).update(accepted_at=timezone.now())

    page = page_text(signed_in.get(STAFF))

    listed = [int(pk) for pk in re.findall(r'data-invitation-id="(\d+)"', page)]
    assert listed == [pending.pk]


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"email": "li.wei@st-mary.test"}, "email", "li.wei@st-mary.test already has an account."),
        (
            {"licence_number": "OB-1001"},
            "licence_number",
            "Licence number OB-1001 already belongs to another doctor of this hospital.",
        ),
        ({"specialty": ""}, "specialty", "Choose the doctor&#x27;s specialty."),
        ({"licence_number": " "}, "licence_number", "A doctor needs a licence number."),
        ({"email": "not-an-address"}, "email", "Enter a valid email address."),
        ({"full_name": ""}, "full_name", "This field is required."),
    ],
)
def test_invite_refusals_are_form_errors(signed_in, doctor, fields, field, message):
    response = invite(signed_in, **fields)

    assert response.status_code == 400
    assert field_error(response, field, message), page_text(response)
    assert not Invitation.objects.exists()
    assert len(mail.outbox) == 0


# --- Editing a member of staff ----------------------------------------------------------


def edit_data(**fields) -> dict:
    return {
        "full_name": "Li Wei",
        "role": "doctor",
        "specialty": "obstetrics",
        "licence_number": "OB-1001",
        "avatar_name": "Dr Li's avatar",
    } | fields


def test_edit_page_shows_the_current_values(signed_in, doctor):
    response = signed_in.get(f"/manage/staff/{doctor.pk}/")
    page = page_text(response)

    assert response.status_code == 200
    assert 'value="Li Wei"' in page and 'value="OB-1001"' in page
    assert '<option value="obstetrics" selected>' in page and '<option value="doctor" selected>' in page
    for field in ("full_name", "role", "specialty", "licence_number", "avatar_name"):
        assert f'<label for="id_{field}">' in page


def test_edit_saves_through_the_service(signed_in, doctor):
    response = signed_in.post(
        f"/manage/staff/{doctor.pk}/",
        edit_data(full_name="Li Wei-Ming", specialty="cardiology", licence_number="CA-1", avatar_name="Heart AI"),
    )

    assert response.status_code == 302 and response.url == f"/manage/staff/{doctor.pk}/"
    doctor.refresh_from_db()
    profile = DoctorProfile.objects.get(user=doctor)
    assert doctor.full_name == "Li Wei-Ming"
    assert (profile.specialty, profile.licence_number, profile.avatar_name) == ("cardiology", "CA-1", "Heart AI")
    assert "Changes to Li Wei-Ming saved." in page_text(signed_in.get(response.url))
    assert in_audit_log(signed_in, "staff.updated")


def test_edit_refusals_are_field_errors(signed_in, doctor, hospital):
    DoctorFactory(hospital=hospital, profile__licence_number="TAKEN-1")

    response = signed_in.post(f"/manage/staff/{doctor.pk}/", edit_data(licence_number="TAKEN-1"))

    assert response.status_code == 400
    assert field_error(
        response, "licence_number", "Licence number TAKEN-1 already belongs to another doctor of this hospital."
    )
    assert DoctorProfile.objects.get(user=doctor).licence_number == "OB-1001"


def test_an_admin_made_doctor_needs_a_specialty(signed_in, hospital):
    second = AdminFactory(hospital=hospital)

    response = signed_in.post(
        f"/manage/staff/{second.pk}/", edit_data(full_name="Two", specialty="", licence_number="")
    )

    assert response.status_code == 400
    assert field_error(response, "specialty", "Choose the doctor&#x27;s specialty.")
    second.refresh_from_db()
    assert second.role == User.Role.ADMIN


def test_the_last_admin_cannot_be_demoted(signed_in, admin):
    response = signed_in.post(
        f"/manage/staff/{admin.pk}/", edit_data(full_name="Chen Jing", licence_number="AD-1", role="doctor")
    )

    assert response.status_code == 400
    assert "Chen Jing is the hospital&#x27;s last active admin and must stay an admin." in page_text(response)
    admin.refresh_from_db()
    assert admin.role == User.Role.ADMIN
    assert not DoctorProfile.objects.filter(user=admin).exists()


# --- Deactivation, reactivation, unlocking ----------------------------------------------


@pytest.fixture
def doctor_with_cases(doctor, hospital):
    """Li Wei with 3 open cases and a claim on a colleague's case; an obstetrician colleague
    and a paediatrician, who must get none of the cases."""
    colleague = DoctorFactory(hospital=hospital, full_name="Zhang Min")
    DoctorFactory(hospital=hospital, profile__specialty=DoctorProfile.Specialty.PAEDIATRICS)
    open_cases = CaseFactory.create_batch(3, doctor=doctor, conversation=False)
    CaseFactory(doctor=doctor, status=CaseStatus.APPROVED, conversation=False)
    claimed = CaseFactory(
        doctor=colleague, claimed_by=doctor, claim_expires_at=timezone.now() + timedelta(minutes=5), conversation=False
    )
    return doctor, colleague, open_cases, claimed


def test_deactivation_asks_for_confirmation_without_js(signed_in, doctor):
    edit = page_text(signed_in.get(f"/manage/staff/{doctor.pk}/"))
    assert f'<form method="get" action="/manage/staff/{doctor.pk}/deactivate/"' in edit
    assert f'hx-post="/manage/staff/{doctor.pk}/deactivate/" hx-confirm="Deactivate Dr Li Wei?' in edit

    confirm = signed_in.get(f"/manage/staff/{doctor.pk}/deactivate/")

    assert confirm.status_code == 200
    assert f'<form method="post" action="/manage/staff/{doctor.pk}/deactivate/"' in page_text(confirm)
    doctor.refresh_from_db()
    assert doctor.is_active


def test_deactivation_moves_open_cases_and_says_so(signed_in, doctor_with_cases):
    doctor, colleague, open_cases, claimed = doctor_with_cases
    generation = doctor.session_generation

    response = signed_in.post(f"/manage/staff/{doctor.pk}/deactivate/")

    assert response.status_code == 302 and response.url == f"/manage/staff/{doctor.pk}/"
    page = page_text(signed_in.get(response.url))
    assert (
        "Dr Li Wei is deactivated and signed out everywhere. 3 open cases moved to colleagues of the same "
        "specialty; 0 left unassigned; 1 claim released."
    ) in page
    doctor.refresh_from_db()
    assert not doctor.is_active and doctor.session_generation == generation + 1
    assert {case.reviewer_id for case in Case.objects.filter(pk__in=[c.pk for c in open_cases])} == {colleague.pk}
    claimed.refresh_from_db()
    assert claimed.claimed_by is None and claimed.reviewer == colleague
    assert in_audit_log(signed_in, "staff.deactivated") and in_audit_log(signed_in, "case.reassigned")


def test_deactivation_with_htmx_swaps_the_status_region(signed_in, doctor, hospital):
    CaseFactory.create_batch(2, doctor=doctor, conversation=False)  # no colleague of the specialty

    response = htmx_post(signed_in, f"/manage/staff/{doctor.pk}/deactivate/")
    page = page_text(response)

    assert response.status_code == 200
    assert page.lstrip().startswith('<section id="staff-status"') and "<html" not in page
    assert (
        "Dr Li Wei is deactivated and signed out everywhere. 0 open cases moved to colleagues of the same "
        "specialty; 2 left unassigned; 0 claims released."
    ) in page
    assert f'hx-post="/manage/staff/{doctor.pk}/reactivate/"' in page
    assert "HX-Request" in response["Vary"]
    assert set(Case.objects.filter(doctor=doctor).values_list("reviewer", flat=True)) == {None}


def test_the_last_admin_cannot_be_deactivated(signed_in, admin):
    response = signed_in.post(f"/manage/staff/{admin.pk}/deactivate/")

    message = "Chen Jing is the hospital&#x27;s last active admin and cannot be deactivated."
    assert message in page_text(signed_in.get(response.url))
    htmx = htmx_post(signed_in, f"/manage/staff/{admin.pk}/deactivate/")
    assert htmx.status_code == 409 and message in page_text(htmx)
    admin.refresh_from_db()
    assert admin.is_active
    assert not in_audit_log(signed_in, "staff.deactivated")


def test_deactivating_an_admin_with_a_colleague_admin(signed_in, hospital):
    second = AdminFactory(hospital=hospital, full_name="Second Admin")

    response = htmx_post(signed_in, f"/manage/staff/{second.pk}/deactivate/")

    assert "Second Admin is deactivated and signed out everywhere." in page_text(response)
    assert "open case" not in page_text(response)


def test_reactivate(signed_in, doctor):
    User.objects.filter(pk=doctor.pk).update(is_active=False)
    confirm = signed_in.get(f"/manage/staff/{doctor.pk}/reactivate/")
    assert f'<form method="post" action="/manage/staff/{doctor.pk}/reactivate/"' in page_text(confirm)

    response = signed_in.post(f"/manage/staff/{doctor.pk}/reactivate/")

    doctor.refresh_from_db()
    assert doctor.is_active
    assert "Dr Li Wei can sign in again." in page_text(signed_in.get(response.url))
    assert in_audit_log(signed_in, "staff.reactivated")
    # Again: refused with the service's message.
    again = htmx_post(signed_in, f"/manage/staff/{doctor.pk}/reactivate/")
    assert again.status_code == 400 and "Li Wei is already active." in page_text(again)


def test_unlock_clears_failed_sign_ins(signed_in, doctor, settings):
    settings.SIGNIN_MAX_FAILURES_PER_ACCOUNT = 5
    SignInFailure.objects.bulk_create([SignInFailure(email=doctor.email) for _ in range(6)])
    edit = page_text(signed_in.get(f"/manage/staff/{doctor.pk}/"))
    assert ">Locked</span>" in edit and f'action="/manage/staff/{doctor.pk}/unlock/"' in edit

    response = signed_in.post(f"/manage/staff/{doctor.pk}/unlock/")

    assert response.status_code == 302
    page = page_text(signed_in.get(response.url))
    assert "Sign-in unlocked for li.wei@st-mary.test (6 failed attempts cleared)." in page
    assert ">Locked</span>" not in page
    assert not SignInFailure.objects.filter(email=doctor.email).exists()
    assert in_audit_log(signed_in, "staff.signin_unlocked")


def test_unlock_with_htmx(signed_in, doctor):
    SignInFailure.objects.create(email=doctor.email)

    response = htmx_post(signed_in, f"/manage/staff/{doctor.pk}/unlock/")

    assert response.status_code == 200
    assert "Sign-in unlocked for li.wei@st-mary.test (1 failed attempt cleared)." in page_text(response)


# --- API clients ------------------------------------------------------------------------


def test_api_clients_page_lists_the_hospitals_clients(signed_in, hospital):
    working = ApiClientFactory(hospital=hospital, name="Avatar platform", token_prefix="prt_abc123")
    ApiClientFactory(hospital=hospital, name="Old EHR", revoked_at=timezone.now())
    ApiClientFactory(name="Someone else's")

    response = signed_in.get(CLIENTS)
    page = page_text(response)

    assert response.status_code == 200
    assert "Avatar platform" in page and "Old EHR" in page and "Someone else" not in page
    assert "prt_abc123" in page and "cases:write" in page
    assert f'hx-post="/manage/api-clients/{working.pk}/revoke/"' in page
    assert page.count('hx-post="/manage/api-clients/') == 1  # the revoked one has no button
    for scope in ApiClient.Scope.values:
        assert f'value="{scope}"' in page
    assert '<label for="id_name">' in page and "<legend>Scopes</legend>" in page


def test_creating_a_client_shows_its_token_once(signed_in, hospital, admin):
    response = signed_in.post(CLIENTS, {"name": "Avatar platform", "scopes": ["cases:write", "cases:read"]})
    page = page_text(response)

    assert response.status_code == 200
    token = TOKEN_INPUT.search(page).group(1)
    assert "readonly" in page and "Copy it now: it will not be shown again." in page
    assert 'data-copy="new-token"' in page and "/static/js/copy.js" in page
    assert "no-store" in response["Cache-Control"]
    client = ApiClient.objects.get(hospital=hospital)
    assert client.scopes == ["cases:read", "cases:write"]
    assert client.token_hash == hashlib.sha256(token.encode()).hexdigest()
    for field in ApiClient._meta.concrete_fields:
        assert token not in str(getattr(client, field.attname)), field.name

    again = page_text(signed_in.get(CLIENTS))
    assert token not in again and "Avatar platform" in again
    assert AuditEvent.objects.get(action="api_client.created").actor_user == admin
    assert in_audit_log(signed_in, "api_client.created")


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"name": "Platform"}, "scopes", "Choose at least one scope."),
        ({"name": "   ", "scopes": ["cases:read"]}, "name", "This field is required."),
        ({"name": "Platform", "scopes": ["root"]}, "scopes", "Select a valid choice. root is not one of"),
    ],
)
def test_client_form_errors(signed_in, data, field, message):
    response = signed_in.post(CLIENTS, data)

    assert response.status_code == 400
    assert message in page_text(response)
    assert not ApiClient.objects.exists()
    assert "new-token" not in page_text(response)


def test_revoking_a_client_stops_its_token(signed_in, hospital):
    client, token = api_client_create(hospital=hospital, name="Avatar platform", scopes=["cases:write"])
    assert bearer(token).get("/api/v1/doctors/").status_code == 200
    confirm = signed_in.get(f"/manage/api-clients/{client.pk}/revoke/")
    assert f'<form method="post" action="/manage/api-clients/{client.pk}/revoke/"' in page_text(confirm)
    client.refresh_from_db()
    assert client.revoked_at is None

    response = signed_in.post(f"/manage/api-clients/{client.pk}/revoke/")

    assert response.status_code == 302 and response.url == CLIENTS
    assert "Avatar platform is revoked: its token no longer works." in page_text(signed_in.get(CLIENTS))
    client.refresh_from_db()
    assert client.revoked_at is not None
    assert bearer(token).get("/api/v1/doctors/").status_code == 401
    assert in_audit_log(signed_in, "api_client.revoked")


def test_revoking_with_htmx_swaps_the_list(signed_in, hospital):
    client, _token = api_client_create(hospital=hospital, name="Avatar platform", scopes=["cases:write"])

    response = htmx_post(signed_in, f"/manage/api-clients/{client.pk}/revoke/")
    page = page_text(response)

    assert response.status_code == 200
    assert page.lstrip().startswith('<section id="api-clients"') and "<html" not in page
    assert "is revoked" in page and "hx-post" not in page
    assert "HX-Request" in response["Vary"]


# --- Policy -----------------------------------------------------------------------------

POLICY_DATA = {
    "sla_emergency_minutes": "10",
    "sla_urgent_minutes": "45",
    "sla_soon_minutes": "240",
    "sla_routine_minutes": "1440",
    "routine_sample_rate": "0.1",
    "confidence_threshold": "0.8",
    "claim_lease_minutes": "15",
    "require_2fa": "on",
}


def test_policy_page_shows_current_values_with_labels(signed_in, hospital):
    page = page_text(signed_in.get(POLICY))

    assert 'name="sla_emergency_minutes" value="15"' in page
    assert 'name="confidence_threshold" value="0.7"' in page
    assert 'name="claim_lease_minutes" value="10"' in page
    assert "SLA for emergency cases (minutes)" in page and "routine sample rate" in page
    assert "Drafts with a lower avatar confidence are held for a doctor." in page
    for field in POLICY_DATA:
        assert f'for="id_{field}"' in page


def test_policy_save(signed_in, hospital):
    without_2fa = {k: v for k, v in POLICY_DATA.items() if k != "require_2fa"}

    response = signed_in.post(POLICY, without_2fa)

    assert response.status_code == 302 and response.url == POLICY
    assert "Policy saved." in page_text(signed_in.get(POLICY))
    hospital.refresh_from_db()
    saved = {name: getattr(hospital, name) for name in POLICY_DATA}
    assert saved == {
        "sla_emergency_minutes": 10,
        "sla_urgent_minutes": 45,
        "sla_soon_minutes": 240,
        "sla_routine_minutes": 1440,
        "routine_sample_rate": 0.1,
        "confidence_threshold": 0.8,
        "claim_lease_minutes": 15,
        "require_2fa": False,
    }
    event = AuditEvent.objects.get(action="policy.updated")
    assert event.details["changes"]["sla_emergency_minutes"] == [15, 10]
    assert in_audit_log(signed_in, "policy.updated")


def test_policy_turns_two_factor_sign_in_on_and_off(signed_in, hospital, admin):
    signed_in.post(POLICY, POLICY_DATA)
    hospital.refresh_from_db()
    assert hospital.require_2fa is True

    # From now on the admin, too, needs a session confirmed with a second factor.
    device = TOTPDevice.objects.create(user=admin, name="phone", confirmed=True)
    session = signed_in.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    assert signed_in.get(POLICY).status_code == 200

    # An unticked box is absent from the post: that turns it off again.
    signed_in.post(POLICY, {k: v for k, v in POLICY_DATA.items() if k != "require_2fa"})
    hospital.refresh_from_db()
    assert hospital.require_2fa is False


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("routine_sample_rate", "1.5", "Ensure this value is less than or equal to 1."),
        ("confidence_threshold", "-0.1", "Ensure this value is greater than or equal to 0."),
        ("sla_urgent_minutes", "0", "Ensure this value is greater than or equal to 1."),
        ("sla_routine_minutes", "43201", "Ensure this value is less than or equal to 43200."),
        ("claim_lease_minutes", "abc", "Enter a whole number."),
        ("routine_sample_rate", "nan", "Enter a number."),
        ("sla_soon_minutes", "", "This field is required."),
    ],
)
def test_policy_refuses_bad_values(signed_in, hospital, field, value, message):
    before = {name: getattr(hospital, name) for name in POLICY_DATA}

    response = signed_in.post(POLICY, POLICY_DATA | {field: value})

    assert response.status_code == 400
    assert field_error(response, field, message), page_text(response)
    hospital = Hospital.objects.get(pk=hospital.pk)
    assert {name: getattr(hospital, name) for name in POLICY_DATA} == before
    assert not AuditEvent.objects.filter(action="policy.updated").exists()


# --- Audit log --------------------------------------------------------------------------


@pytest.fixture
def trail(signed_in, hospital, admin, doctor):
    """A few events of each kind of actor, one of them on another hospital. Made after the
    admin signed in, which may itself be an event: `trail_rows` looks at these only."""
    baseline = AuditEvent.objects.order_by("-id").values_list("pk", flat=True).first() or 0
    platform = ApiClientFactory(hospital=hospital, name="Avatar platform")
    case = CaseFactory(doctor=doctor, conversation=False)
    now = timezone.now()
    make = AuditEvent.objects.create
    return {
        "admin": make(
            hospital=hospital,
            actor_type="user",
            actor_user=admin,
            action="staff.invited",
            details={"invitation_id": 7, "role": "doctor"},
            ip="10.0.0.5",
            at=now - timedelta(days=3),
        ),
        "platform": make(
            hospital=hospital,
            actor_type="api_client",
            actor_api_client=platform,
            action="case.ingested",
            case=case,
            at=now - timedelta(days=2),
        ),
        "doctor": make(
            hospital=hospital, actor_type="user", actor_user=doctor, action="case.opened", case=case, at=now
        ),
        "system": make(hospital=hospital, actor_type="system", action="case.escalated", case=case, at=now),
        "foreign": make(hospital=HospitalFactory(), actor_type="system", action="case.escalated"),
        "case": case,
        "platform_client": platform,
        "baseline": baseline,
    }


def trail_rows(response, trail) -> list[int]:
    return [pk for pk in event_rows(response) if pk > trail["baseline"]]


def test_audit_log_lists_the_hospitals_events_newest_first(signed_in, trail, admin):
    response = signed_in.get(AUDIT)
    page = page_text(response)

    assert response.status_code == 200
    assert trail_rows(response, trail) == [trail[k].pk for k in ("system", "doctor", "platform", "admin")]
    assert "Chen Jing" in page and admin.email in page
    assert "Avatar platform" in page and "System" in page
    assert "invitation_id=7 role=doctor" in page and "10.0.0.5" in page
    assert f">{trail['case'].pk}</td>" in page
    for field in ("actor", "action", "case", "date_from", "date_to"):
        assert f'<label for="id_{field}">' in page
    assert '<option value="staff.invited">' in page  # suggestions for the action filter


def test_audit_log_filters(signed_in, trail, doctor, admin):
    def rows(**params):
        return trail_rows(signed_in.get(AUDIT, params), trail)

    assert rows(actor=f"user:{admin.pk}") == [trail["admin"].pk]
    assert rows(actor=f"user:{doctor.pk}") == [trail["doctor"].pk]
    assert rows(actor="api_client") == [trail["platform"].pk]
    assert rows(actor=f"api_client:{trail['platform_client'].pk}") == [trail["platform"].pk]
    assert rows(actor="system") == [trail["system"].pk]
    assert rows(action="case.opened") == [trail["doctor"].pk]
    assert rows(action="case") == [trail[k].pk for k in ("system", "doctor", "platform")]
    assert rows(action="cas") == []
    assert rows(case=trail["case"].pk) == [trail[k].pk for k in ("system", "doctor", "platform")]
    today = timezone.localdate()
    assert rows(date_from=today.isoformat()) == [trail["system"].pk, trail["doctor"].pk]
    assert rows(date_to=(today - timedelta(days=2)).isoformat()) == [trail["platform"].pk, trail["admin"].pk]
    assert rows(date_from=(today - timedelta(days=3)).isoformat(), date_to=(today - timedelta(days=3)).isoformat()) == [
        trail["admin"].pk
    ]
    assert rows(actor="system", case=trail["case"].pk, action="case.escalated") == [trail["system"].pk]


@pytest.mark.parametrize(
    "params",
    [
        {"date_from": "yesterday"},
        {"case": "abc"},
        {"actor": "user:999999"},
        {"date_from": "2025-02-02", "date_to": "2025-02-01"},
    ],
)
def test_bad_audit_filters_are_form_errors(signed_in, trail, params):
    response = signed_in.get(AUDIT, params)

    assert response.status_code == 400
    assert event_rows(response) == []
    assert 'class="field-error"' in page_text(response)
    assert signed_in.get(AUDIT_CSV, params).status_code == 400


def test_another_hospitals_user_is_not_an_actor_choice(signed_in, trail, outsider):
    page = page_text(signed_in.get(AUDIT))

    assert f'value="user:{outsider.pk}"' not in page
    assert signed_in.get(AUDIT, {"actor": f"user:{outsider.pk}"}).status_code == 400


def bulk_events(hospital, count: int) -> list[int]:
    AuditEvent.objects.bulk_create(
        [AuditEvent(hospital=hospital, actor_type="system", action=f"test.e{i % 3}") for i in range(count)]
    )
    return list(AuditEvent.objects.filter(hospital=hospital).order_by("-id").values_list("pk", flat=True))


def test_audit_log_pages_by_keyset(signed_in, hospital):
    newest_first = bulk_events(hospital, 250)
    AuditEvent.objects.create(hospital=HospitalFactory(), actor_type="system", action="test.e0")

    first = signed_in.get(AUDIT)
    assert event_rows(first) == newest_first[:100]
    older = f"?before={newest_first[99]}"
    assert f'href="{older}"' in page_text(first)

    second = signed_in.get(AUDIT + older)
    assert event_rows(second) == newest_first[100:200]
    assert 'href="?"' in page_text(second) or f'href="{AUDIT}"' in page_text(second)  # back to the newest

    third = signed_in.get(AUDIT, {"before": newest_first[199]})
    assert event_rows(third) == newest_first[200:]
    assert 'href="?before=' not in page_text(third)  # no "Older" link on the last page

    # The keyset keeps the filters.
    filtered = signed_in.get(AUDIT, {"action": "test.e1"})
    ones = [pk for pk in newest_first if AuditEvent.objects.get(pk=pk).action == "test.e1"]
    assert event_rows(filtered) == ones[:83]
    assert f'href="?action=test.e1&amp;before={ones[82]}"' not in page_text(filtered)  # 83 fit on one page
    # A nonsense cursor starts at the newest.
    assert event_rows(signed_in.get(AUDIT, {"before": "x"})) == newest_first[:100]


def test_audit_log_never_counts_and_its_queries_do_not_grow(signed_in, hospital, django_assert_max_num_queries):
    bulk_events(hospital, 5)
    with CaptureQueriesContext(connection) as few:
        signed_in.get(AUDIT)
    before = bulk_events(hospital, 300)[50]

    with CaptureQueriesContext(connection) as many, django_assert_max_num_queries(len(few)):
        response = signed_in.get(AUDIT, {"before": before})

    assert len(event_rows(response)) == 100
    assert not any("COUNT(" in query["sql"].upper() for query in many.captured_queries)


def test_audit_log_htmx_returns_only_the_table(signed_in, trail):
    response = htmx_get(signed_in, AUDIT, {"actor": "system"})
    page = page_text(response)

    assert page.lstrip().startswith('<section id="audit-table"') and "<html" not in page
    assert trail_rows(response, trail) == [trail["system"].pk]
    assert 'href="/manage/audit.csv?actor=system"' in page
    assert "HX-Request" in response["Vary"]


def read_csv(response) -> list[dict[str, str]]:
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(body)))


def test_audit_csv_export(signed_in, trail, hospital, admin):
    response = signed_in.get(AUDIT_CSV)

    assert response.status_code == 200 and response.streaming
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert (
        response["Content-Disposition"] == f'attachment; filename="audit-st-mary-{timezone.localdate():%Y-%m-%d}.csv"'
    )
    rows = [row for row in read_csv(response) if int(row["id"]) > trail["baseline"]]
    assert [int(row["id"]) for row in rows] == [trail[k].pk for k in ("system", "doctor", "platform", "admin")]
    assert list(rows[0]) == ["id", "time", "actor_type", "actor_id", "actor", "action", "case_id", "ip", "details"]
    invited = rows[-1]
    assert invited["actor"] == "Chen Jing" and invited["actor_id"] == str(admin.pk)
    assert invited["action"] == "staff.invited" and invited["ip"] == "10.0.0.5"
    assert invited["details"] == '{"invitation_id": 7, "role": "doctor"}'
    assert rows[0]["actor"] == "System" and rows[2]["actor"] == "Avatar platform"
    assert rows[1]["case_id"] == str(trail["case"].pk)


def test_audit_csv_export_uses_the_filters(signed_in, trail):
    rows = [row for row in read_csv(signed_in.get(AUDIT_CSV, {"action": "case"})) if int(row["id"]) > trail["baseline"]]
    assert [int(row["id"]) for row in rows] == [trail[k].pk for k in ("system", "doctor", "platform")]
    rows = read_csv(signed_in.get(AUDIT_CSV, {"action": "case", "actor": "api_client"}))

    assert [int(row["id"]) for row in rows] == [trail["platform"].pk]


def test_audit_csv_keeps_names_from_becoming_formulas(signed_in, hospital):
    sneaky = UserFactory(hospital=hospital, full_name="=HYPERLINK(1)")
    audit_record(hospital=hospital, user=sneaky, action="user.signed_out_everywhere")

    rows = read_csv(signed_in.get(AUDIT_CSV))

    assert rows[0]["actor"] == "'=HYPERLINK(1)"


def test_audit_csv_streams_all_rows_past_one_chunk(signed_in, hospital):
    newest_first = bulk_events(hospital, 2100)

    rows = read_csv(signed_in.get(AUDIT_CSV))

    assert [int(row["id"]) for row in rows] == newest_first


def test_overview_stays_for_admins(signed_in, doctor):
    response = signed_in.get("/")

    assert response.status_code == 200 and "Hospital overview" in page_text(response)


def test_an_empty_post_is_a_form_error_not_a_silent_page(signed_in, hospital):
    response = signed_in.post(POLICY, {})

    assert response.status_code == 400
    assert field_error(response, "sla_emergency_minutes", "This field is required.")
    assert signed_in.post(INVITE, {}).status_code == 400
    assert signed_in.post(CLIENTS, {}).status_code == 400
    assert not AuditEvent.objects.filter(action="policy.updated").exists()


INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>")
INLINE_HANDLER = re.compile(r"\son[a-z]+=", re.I)
INLINE_STYLE = re.compile(r"\sstyle=|<style", re.I)


def test_pages_have_nothing_the_content_security_policy_blocks(signed_in, doctor, hospital):
    api_client_create(hospital=hospital, name="Platform", scopes=["cases:read"])
    created = signed_in.post(CLIENTS, {"name": "New", "scopes": ["cases:read"]})
    pages = [signed_in.get(url) for url in (STAFF, INVITE, f"/manage/staff/{doctor.pk}/", CLIENTS, POLICY, AUDIT)]

    for response in [*pages, created, signed_in.get(f"/manage/staff/{doctor.pk}/deactivate/")]:
        page = page_text(response)
        assert not INLINE_SCRIPT.search(page), response.request["PATH_INFO"]
        assert not INLINE_HANDLER.search(page), response.request["PATH_INFO"]
        assert not INLINE_STYLE.search(page), response.request["PATH_INFO"]
        assert "Content-Security-Policy" in response.headers


def test_names_are_escaped_in_confirmation_prompts(signed_in, hospital):
    odd = DoctorFactory(hospital=hospital, full_name='Li "Quote" <b>Wei</b>')

    page = page_text(signed_in.get(f"/manage/staff/{odd.pk}/"))

    assert 'hx-confirm="Deactivate Dr Li &quot;Quote&quot; &lt;b&gt;Wei&lt;/b&gt;?' in page
    assert "<b>Wei</b>" not in page


def test_an_admin_resets_a_lost_phones_two_factor_sign_in(signed_in, doctor):
    TOTPDevice.objects.create(user=doctor, name="phone", confirmed=True)
    page = signed_in.get(f"/manage/staff/{doctor.pk}/").content.decode()
    assert "Reset two-factor sign-in" in page

    response = signed_in.post(f"/manage/staff/{doctor.pk}/two-factor-reset/", HTTP_HX_REQUEST="true")

    content = response.content.decode()
    assert response.status_code == 200
    assert "Two-factor sign-in is reset for Dr Li Wei" in content
    assert not TOTPDevice.objects.filter(user=doctor).exists()
    assert AuditEvent.objects.filter(action="staff.2fa_reset", details__user_id=doctor.pk).exists()


def test_another_hospitals_admin_cannot_reset_two_factor(client, doctor):
    TOTPDevice.objects.create(user=doctor, name="phone", confirmed=True)
    client.force_login(AdminFactory())

    assert client.post(f"/manage/staff/{doctor.pk}/two-factor-reset/").status_code == 404
    assert TOTPDevice.objects.filter(user=doctor).exists()
