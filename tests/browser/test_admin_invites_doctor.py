"""A hospital admin invites a doctor, in Debian's chromium: the invitation form, the
e-mailed link, the invitee setting a password and signing in, the staff page and audit
log afterwards, and the link refusing a second use."""

import re

import pytest
from playwright.sync_api import Page, expect

from accounts.models import DoctorProfile, Invitation, User
from reviews.tests.factories import AdminFactory, DoctorFactory, HospitalFactory

from .conftest import PASSWORD

pytestmark = pytest.mark.browser

HOSPITAL = "Harbour Women's Hospital"
ADMIN_EMAIL = "admin1@example.test"
INVITEE = {
    "email": "zhou.min@example.test",
    "full_name": "Zhou Min",
    "licence_number": "OB-2024-0917",
    "avatar_name": "Dr Zhou's avatar",
}
NEW_PASSWORD = "correct-Horse-battery-42"


@pytest.fixture
def staff_data(live_server):
    """A hospital with its admin and one doctor already on the staff."""
    hospital = HospitalFactory(name=HOSPITAL)
    admin = AdminFactory(hospital=hospital, email=ADMIN_EMAIL, full_name="Chen Jing")
    doctor = DoctorFactory(hospital=hospital, email="doctor1@example.test", full_name="Li Wei")
    return {"hospital": hospital, "admin": admin, "doctor": doctor}


def sign_in(page: Page, email: str, password: str) -> None:
    page.goto("/accounts/login/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"^https?://[^/]+/$"))


def sign_out(page: Page) -> None:
    page.locator("header.topbar").get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(re.compile(r"/accounts/login/$"))
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()


def topbar_link(page: Page, name: str):
    return page.locator("header.topbar").get_by_role("link", name=name, exact=True)


def test_admin_invites_a_doctor_who_accepts(page: Page, other_page: Page, staff_data, live_server, mailoutbox):
    admin = staff_data["admin"]

    # 1. The admin signs in, opens Staff and invites a doctor.
    sign_in(page, ADMIN_EMAIL, PASSWORD)
    expect(page.get_by_role("heading", name="Hospital overview")).to_be_visible()
    topbar_link(page, "Staff").click()
    expect(page.get_by_role("heading", name="Staff", exact=True)).to_be_visible()
    expect(page.get_by_text("No invitation is waiting to be accepted.")).to_be_visible()

    page.get_by_role("link", name="Invite someone").click()
    expect(page.get_by_role("heading", name="Invite someone")).to_be_visible()
    page.get_by_label("E-mail").fill(INVITEE["email"])
    page.get_by_label("Full name").fill(INVITEE["full_name"])
    page.get_by_label("Role").select_option(label="Doctor")
    page.get_by_label("Specialty").select_option(label="Obstetrics")
    page.get_by_label("Licence number").fill(INVITEE["licence_number"])
    page.get_by_label("Avatar name").fill(INVITEE["avatar_name"])
    page.get_by_role("button", name="Send invitation").click()

    expect(page).to_have_url(re.compile(r"/manage/staff/invite/\?sent=\d+$"))
    expect(page.get_by_role("status")).to_contain_text(f"Invitation sent to {INVITEE['email']}")

    invitation = Invitation.objects.get(email=INVITEE["email"])
    assert invitation.hospital == staff_data["hospital"]
    assert invitation.invited_by == admin
    assert invitation.accepted_at is None

    # The pending invitation is listed on the Staff page.
    topbar_link(page, "Staff").click()
    pending = page.locator(f'table.invitations tr[data-invitation-id="{invitation.pk}"]')
    expect(pending).to_have_count(1)
    expect(pending).to_contain_text(INVITEE["email"])
    expect(pending).to_contain_text(INVITEE["full_name"])
    expect(pending).to_contain_text("Doctor · Obstetrics")
    expect(pending).to_contain_text("Chen Jing")
    # Not on the staff list yet.
    expect(page.locator("#staff-table")).not_to_contain_text(INVITEE["email"])

    # 2. The e-mail carries the link (the live server shares this process's locmem outbox).
    assert len(mailoutbox) == 1
    mail = mailoutbox[0]
    assert mail.to == [INVITEE["email"]]
    assert HOSPITAL in mail.subject
    links = re.findall(r"https?://\S+/accounts/invitation/[^/\s]+/", mail.body)
    assert len(links) == 1, mail.body
    link = links[0]
    assert link.startswith(live_server.url), (link, live_server.url)

    # 3. The admin signs out; the invitee opens the link at their own computer.
    sign_out(page)

    invitee_page = other_page
    response = invitee_page.goto(link)
    assert response is not None and response.status == 200
    expect(invitee_page.get_by_role("heading", name=f"Join {HOSPITAL}")).to_be_visible()
    facts = invitee_page.locator("dl.facts")
    expect(facts).to_contain_text(HOSPITAL)
    expect(facts).to_contain_text(INVITEE["full_name"])
    expect(facts).to_contain_text(INVITEE["email"])
    expect(facts).to_contain_text("Doctor")

    invitee_page.get_by_label("Password", exact=True).fill(NEW_PASSWORD)
    invitee_page.get_by_label("Confirm password").fill(NEW_PASSWORD)
    invitee_page.get_by_role("button", name="Set password and sign in").click()

    expect(invitee_page).to_have_url(re.compile(r"^https?://[^/]+/$"))
    expect(invitee_page.get_by_role("heading", name="Review queue")).to_be_visible()
    expect(invitee_page.get_by_text("Nothing is waiting for your review.")).to_be_visible()
    expect(invitee_page.locator("header.topbar .who")).to_have_text(f"Dr {INVITEE['full_name']}")
    expect(invitee_page.locator("header.topbar .hospital")).to_have_text(HOSPITAL)

    # In the database: one doctor with the profile the invitation described, and the
    # invitation used up.
    user = User.objects.get(email=INVITEE["email"])
    assert User.objects.filter(email__iexact=INVITEE["email"]).count() == 1
    assert user.role == User.Role.DOCTOR
    assert user.full_name == INVITEE["full_name"]
    assert user.hospital == staff_data["hospital"]
    assert user.is_active
    assert user.check_password(NEW_PASSWORD)
    profile = DoctorProfile.objects.get(user=user)
    assert profile.licence_number == INVITEE["licence_number"]
    assert profile.specialty == DoctorProfile.Specialty.OBSTETRICS
    assert profile.avatar_name == INVITEE["avatar_name"]
    assert profile.hospital == staff_data["hospital"]
    invitation.refresh_from_db()
    assert invitation.accepted_at is not None
    assert invitation.user == user
    assert not invitation.is_usable

    # 4. The invitee signs out and back in with the new password.
    sign_out(invitee_page)
    sign_in(invitee_page, INVITEE["email"], NEW_PASSWORD)
    expect(invitee_page.get_by_role("heading", name="Review queue")).to_be_visible()
    expect(invitee_page.get_by_text("Nothing is waiting for your review.")).to_be_visible()

    # 5. Back as the admin: the new doctor is on the staff list, the invitation no longer
    # pending, and the audit log has both events.
    sign_in(page, ADMIN_EMAIL, PASSWORD)
    topbar_link(page, "Staff").click()
    row = page.locator(f'#staff-table tr[data-user-id="{user.pk}"]')
    expect(row).to_have_count(1)
    expect(row).to_contain_text(INVITEE["full_name"])
    expect(row).to_contain_text(INVITEE["email"])
    expect(row).to_contain_text("Doctor")
    expect(row).to_contain_text("Obstetrics")
    expect(row).to_contain_text(INVITEE["licence_number"])
    expect(row).to_contain_text(INVITEE["avatar_name"])
    expect(row).to_contain_text("Active")
    expect(row).not_to_contain_text("never")  # they have signed in
    expect(row).not_to_have_class(re.compile(r"\binactive\b"))
    expect(page.locator("table.invitations")).to_have_count(0)
    expect(page.get_by_text("No invitation is waiting to be accepted.")).to_be_visible()

    topbar_link(page, "Audit log").click()
    expect(page.get_by_role("heading", name="Audit log")).to_be_visible()
    invited = page.locator('#audit-table tr[data-action="staff.invited"]')
    accepted = page.locator('#audit-table tr[data-action="staff.invitation_accepted"]')
    expect(invited).to_have_count(1)
    expect(invited).to_contain_text("staff.invited")
    expect(invited).to_contain_text("Chen Jing")
    expect(invited).to_contain_text(f"invitation_id={invitation.pk}")
    expect(accepted).to_have_count(1)
    expect(accepted).to_contain_text("staff.invitation_accepted")
    expect(accepted).to_contain_text(INVITEE["full_name"])
    expect(accepted).to_contain_text(f"user_id={user.pk}")

    # 6. The link works once: opened again, it is gone (410).
    response = invitee_page.goto(link)
    assert response is not None and response.status == 410
    expect(invitee_page.get_by_role("heading", name="Invitation link not valid")).to_be_visible()
    expect(invitee_page.get_by_role("alert")).to_contain_text("has expired or has already been used")
    expect(invitee_page.get_by_label("Confirm password")).to_have_count(0)

    assert User.objects.filter(email=INVITEE["email"]).count() == 1
    assert DoctorProfile.objects.filter(licence_number=INVITEE["licence_number"]).count() == 1
