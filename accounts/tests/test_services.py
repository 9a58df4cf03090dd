from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from accounts.models import ApiClient, DoctorProfile, Invitation, SignInFailure, User
from accounts.services import (
    api_client_create,
    api_client_revoke,
    hospital_policy_update,
    invitation_accept,
    invitation_for_token,
    signin_unlock,
    staff_deactivate,
    staff_invite,
    staff_reactivate,
    staff_update,
    user_sign_out_everywhere,
)
from reviews.exceptions import InvalidInput, NotPermitted
from reviews.models import AuditEvent, CaseStatus, Urgency
from reviews.tests.factories import AdminFactory, CaseFactory, DoctorFactory, HospitalFactory

pytestmark = pytest.mark.django_db

LINK = "https://portal.example/accounts/invitation/"
STRONG = "a-Long-enough-passphrase-42"


@pytest.fixture
def admin(hospital):
    return AdminFactory(hospital=hospital, full_name="Zhou Min")


def invite_doctor(admin, **overrides):
    fields = {
        "hospital": admin.hospital,
        "invited_by": admin,
        "email": "New.Doctor@Example.test",
        "full_name": "Sun Li",
        "role": User.Role.DOCTOR,
        "specialty": DoctorProfile.Specialty.OBSTETRICS,
        "licence_number": "LIC-NEW-1",
        "link_base": LINK,
    } | overrides
    return staff_invite(**fields)


def actions() -> list[str]:
    return list(AuditEvent.objects.order_by("id").values_list("action", flat=True))


# --- Invitations --------------------------------------------------------------------------


def test_invite_mails_a_single_use_link_and_keeps_only_its_hash(admin, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        invitation, token = invite_doctor(admin)

    assert invitation.email == "new.doctor@example.test"
    assert invitation.avatar_name == "Sun Li's AI avatar"
    assert token not in invitation.token_hash
    assert invitation.expires_at - invitation.created_at == timedelta(hours=72)
    assert len(mail.outbox) == 1
    assert f"{LINK}{token}/" in mail.outbox[0].body
    assert mail.outbox[0].to == ["new.doctor@example.test"]
    assert "staff.invited" in actions()


def test_a_new_invitation_replaces_the_pending_one(admin):
    _first, first_token = invite_doctor(admin)
    second, second_token = invite_doctor(admin, licence_number="LIC-NEW-2")

    assert invitation_for_token(first_token) is None
    assert invitation_for_token(second_token) == second


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"email": "not-an-address"}, "email"),
        ({"full_name": "  "}, "full_name"),
        ({"role": "nurse"}, "role"),
        ({"specialty": ""}, "specialty"),
        ({"licence_number": ""}, "licence_number"),
    ],
)
def test_invite_refuses_incomplete_input(admin, overrides, field):
    with pytest.raises(InvalidInput) as refusal:
        invite_doctor(admin, **overrides)

    assert refusal.value.field == field
    assert not Invitation.objects.exists()


def test_invite_refuses_an_existing_account_and_a_taken_licence(admin, doctor):
    with pytest.raises(InvalidInput, match="already has an account"):
        invite_doctor(admin, email=doctor.email)
    with pytest.raises(InvalidInput, match="already belongs to another doctor"):
        invite_doctor(admin, licence_number=doctor.doctor_profile.licence_number)


def test_only_the_hospitals_admins_invite(admin, doctor):
    with pytest.raises(NotPermitted):
        invite_doctor(admin, invited_by=doctor)
    with pytest.raises(NotPermitted):
        invite_doctor(admin, invited_by=AdminFactory())  # another hospital's admin


def test_accepting_creates_the_doctor_once(admin):
    _invitation, token = invite_doctor(admin)

    user = invitation_accept(token=token, password=STRONG, ip="10.1.2.3")

    assert user.check_password(STRONG) and user.is_doctor and user.hospital == admin.hospital
    assert user.doctor_profile.licence_number == "LIC-NEW-1"
    assert AuditEvent.objects.get(action="staff.invitation_accepted").ip == "10.1.2.3"
    with pytest.raises(InvalidInput, match="already been used"):
        invitation_accept(token=token, password=STRONG)
    assert User.objects.filter(email="new.doctor@example.test").count() == 1


def test_an_expired_or_weak_acceptance_creates_nothing(admin):
    invitation, token = invite_doctor(admin)

    with pytest.raises(InvalidInput) as weak:
        invitation_accept(token=token, password="12345678")
    assert weak.value.field == "password"

    Invitation.objects.filter(pk=invitation.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    with pytest.raises(InvalidInput, match="expired"):
        invitation_accept(token=token, password=STRONG)
    assert not User.objects.filter(email=invitation.email).exists()


# --- Deactivation -------------------------------------------------------------------------


def test_deactivating_a_doctor_moves_open_cases_to_the_least_loaded_colleague(admin, doctor):
    busy = DoctorFactory(hospital=doctor.hospital, full_name="Busy Colleague")
    free = DoctorFactory(hospital=doctor.hospital, full_name="Free Colleague")
    DoctorProfile.objects.filter(user=busy).update(specialty="obstetrics")
    DoctorProfile.objects.filter(user=free).update(specialty="obstetrics")
    paediatrician = DoctorFactory(hospital=doctor.hospital)
    DoctorProfile.objects.filter(user=paediatrician).update(specialty="paediatrics")
    for _ in range(3):
        CaseFactory(doctor=busy)
    claimed = CaseFactory(doctor=doctor, claimed_by=doctor, claim_expires_at=timezone.now() + timedelta(minutes=5))
    emergency = CaseFactory(doctor=doctor, urgency=Urgency.EMERGENCY)
    conversation = CaseFactory(doctor=doctor, status=CaseStatus.TAKEN_OVER, claimed_by=doctor)
    decided = CaseFactory(doctor=doctor, status=CaseStatus.APPROVED)
    version_before = emergency.version

    moved = staff_deactivate(user=doctor, deactivated_by=admin)

    assert moved == {"released_claims": 0, "reassigned": 3, "unassigned": 0}
    for case in (claimed, emergency, conversation, decided):
        case.refresh_from_db()
    # Round robin, fewest open cases first: the free colleague gets the first (most urgent).
    assert emergency.reviewer == free and emergency.version == version_before + 1
    assert {claimed.reviewer, conversation.reviewer} <= {free, busy}
    assert claimed.claimed_by is None
    assert conversation.claimed_by == conversation.reviewer
    assert decided.reviewer == doctor  # decided cases stay where they were
    assert emergency.doctor == doctor  # still the answer of this doctor's avatar
    doctor.refresh_from_db()
    assert not doctor.is_active and doctor.session_generation == 1
    assert AuditEvent.objects.filter(action="case.reassigned").count() == 3
    assert AuditEvent.objects.get(action="staff.deactivated").details["reassigned"] == 3


def test_without_a_colleague_of_the_specialty_cases_stay_unassigned(admin, doctor):
    other_specialty = DoctorFactory(hospital=doctor.hospital)
    DoctorProfile.objects.filter(user=other_specialty).update(specialty="dermatology")
    case = CaseFactory(doctor=doctor)
    foreign_claim = CaseFactory(
        doctor=other_specialty, claimed_by=doctor, claim_expires_at=timezone.now() + timedelta(minutes=5)
    )

    moved = staff_deactivate(user=doctor, deactivated_by=admin)

    case.refresh_from_db()
    foreign_claim.refresh_from_db()
    assert moved == {"released_claims": 1, "reassigned": 0, "unassigned": 1}
    assert case.reviewer is None
    assert foreign_claim.claimed_by is None and foreign_claim.reviewer == other_specialty


def test_deactivation_ends_the_persons_sessions(client, admin, doctor):
    client.force_login(doctor)
    assert client.get("/").status_code == 200

    staff_deactivate(user=doctor, deactivated_by=admin)

    assert client.get("/").status_code == 302


def test_the_last_active_admin_cannot_be_deactivated_or_demoted(admin):
    with pytest.raises(NotPermitted, match="last active admin"):
        staff_deactivate(user=admin, deactivated_by=admin)
    with pytest.raises(NotPermitted, match="last active admin"):
        staff_update(user=admin, updated_by=admin, full_name="Zhou Min", role=User.Role.DOCTOR)
    admin.refresh_from_db()
    assert admin.is_active and admin.is_hospital_admin

    second = AdminFactory(hospital=admin.hospital)
    staff_deactivate(user=admin, deactivated_by=second)
    admin.refresh_from_db()
    assert not admin.is_active


def test_reactivation(admin, doctor):
    staff_deactivate(user=doctor, deactivated_by=admin)

    staff_reactivate(user=doctor, reactivated_by=admin)

    doctor.refresh_from_db()
    assert doctor.is_active
    with pytest.raises(InvalidInput, match="already active"):
        staff_reactivate(user=doctor, reactivated_by=admin)
    assert actions()[-1] == "staff.reactivated"


def test_another_hospitals_admin_cannot_touch_staff(doctor):
    outsider = AdminFactory()
    with pytest.raises(NotPermitted):
        staff_deactivate(user=doctor, deactivated_by=outsider)
    doctor.refresh_from_db()
    assert doctor.is_active


# --- Editing staff ------------------------------------------------------------------------


def test_editing_a_doctor_records_what_changed(admin, doctor):
    staff_update(
        user=doctor,
        updated_by=admin,
        full_name="Li Wei",
        role=User.Role.DOCTOR,
        specialty="paediatrics",
        licence_number="LIC-77",
        avatar_name="Dr Li's helper",
    )

    profile = DoctorProfile.objects.get(user=doctor)
    assert (profile.specialty, profile.licence_number, profile.avatar_name) == (
        "paediatrics",
        "LIC-77",
        "Dr Li's helper",
    )
    event = AuditEvent.objects.get(action="staff.updated")
    assert set(event.details["changed"]) == {"specialty", "licence_number", "avatar_name"}


def test_an_admin_made_doctor_needs_a_specialty_and_licence(admin):
    second = AdminFactory(hospital=admin.hospital, full_name="Qian Hua")
    with pytest.raises(InvalidInput) as refusal:
        staff_update(user=second, updated_by=admin, full_name="Qian Hua", role=User.Role.DOCTOR)
    assert refusal.value.field == "specialty"

    staff_update(
        user=second,
        updated_by=admin,
        full_name="Qian Hua",
        role=User.Role.DOCTOR,
        specialty="cardiology",
        licence_number="LIC-QH",
    )
    second.refresh_from_db()
    assert second.is_doctor and second.doctor_profile.avatar_name == "Qian Hua's AI avatar"


def test_a_doctor_made_admin_hands_over_their_queue(admin, doctor, other_doctor):
    case = CaseFactory(doctor=doctor)

    staff_update(user=doctor, updated_by=admin, full_name=doctor.full_name, role=User.Role.ADMIN)

    case.refresh_from_db()
    assert case.reviewer == other_doctor
    assert AuditEvent.objects.get(action="staff.updated").details["reassigned"] == 1


def test_a_licence_number_stays_unique(admin, doctor, other_doctor):
    with pytest.raises(InvalidInput, match="already belongs"):
        staff_update(
            user=doctor,
            updated_by=admin,
            full_name=doctor.full_name,
            role=User.Role.DOCTOR,
            specialty="obstetrics",
            licence_number=other_doctor.doctor_profile.licence_number,
        )


# --- Sessions, policy, API clients, unlock -------------------------------------------------


def test_sign_out_everywhere(client, doctor):
    client.force_login(doctor)

    user_sign_out_everywhere(user=doctor)

    assert client.get("/").status_code == 302
    assert actions() == ["user.signed_out_everywhere"]


def test_policy_update_keeps_old_and_new_values(admin):
    hospital_policy_update(
        hospital=admin.hospital, updated_by=admin, sla_urgent_minutes=30, routine_sample_rate=0.1, require_2fa=True
    )

    admin.hospital.refresh_from_db()
    assert admin.hospital.sla_urgent_minutes == 30 and admin.hospital.require_2fa
    changes = AuditEvent.objects.get(action="policy.updated").details["changes"]
    assert changes["sla_urgent_minutes"] == [60, 30]
    assert changes["require_2fa"] == [False, True]


@pytest.mark.parametrize(
    "policy",
    [
        {"routine_sample_rate": 1.5},
        {"confidence_threshold": -0.1},
        {"sla_emergency_minutes": 0},
        {"claim_lease_minutes": 60 * 24 * 31},
        {"name": "Renamed"},
    ],
)
def test_policy_update_refuses_values_out_of_range(admin, policy):
    with pytest.raises(InvalidInput):
        hospital_policy_update(hospital=admin.hospital, updated_by=admin, **policy)
    assert not AuditEvent.objects.exists()


def test_policy_is_an_admins_decision(doctor):
    with pytest.raises(NotPermitted):
        hospital_policy_update(hospital=doctor.hospital, updated_by=doctor, require_2fa=True)


def test_revoking_an_api_client(admin):
    client, _token = api_client_create(hospital=admin.hospital, name="Platform", scopes=["cases:write"])

    api_client_revoke(client=client, revoked_by=admin)
    api_client_revoke(client=client, revoked_by=admin)  # twice is harmless

    assert ApiClient.objects.get(pk=client.pk).is_revoked
    assert actions().count("api_client.revoked") == 1


def test_unlocking_sign_in(admin, doctor):
    SignInFailure.objects.bulk_create(SignInFailure(email=doctor.email) for _ in range(5))

    assert signin_unlock(email=doctor.email.upper(), unlocked_by=admin) == 5

    assert not SignInFailure.objects.exists()
    with pytest.raises(NotPermitted):
        signin_unlock(email=DoctorFactory(hospital=HospitalFactory()).email, unlocked_by=admin)
