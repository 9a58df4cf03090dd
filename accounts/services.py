"""Changes to a hospital's staff, policy and API clients. Each is one transaction with
its audit event; e-mail goes out only after the change is committed."""

import hashlib
import secrets
from datetime import timedelta
from itertools import cycle

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.db.models import Count, F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from reviews.audit import audit_event, audit_record, audit_records_bulk
from reviews.exceptions import InvalidInput, NotPermitted
from reviews.models import Case, CaseStatus

from .api_auth import api_token_hash
from .models import ApiClient, DoctorProfile, Hospital, Invitation, SignInFailure, User

# --- API clients ------------------------------------------------------------------------


def api_client_create(
    *, hospital: Hospital, name: str, scopes: list[str], created_by: User | None = None
) -> tuple[ApiClient, str]:
    """Create an API client and return it with its token, which is never stored nor shown again."""
    name = name.strip()
    if not name:
        raise InvalidInput(_("Give the API client a name."), field="name")
    unknown = sorted(set(scopes) - set(ApiClient.Scope.values))
    if unknown or not scopes:
        raise InvalidInput(
            _("Unknown scopes: %(unknown)s. Choose from %(known)s.")
            % {"unknown": ", ".join(unknown) or "(none given)", "known": ", ".join(ApiClient.Scope.values)},
            field="scopes",
        )
    token = "prt_" + secrets.token_urlsafe(32)
    with transaction.atomic():
        client = ApiClient.objects.create(
            hospital=hospital,
            name=name,
            scopes=sorted(set(scopes)),
            token_prefix=token[:10],
            token_hash=api_token_hash(token),
        )
        audit_record(
            hospital=hospital,
            user=created_by,
            action="api_client.created",
            details={"api_client_id": client.pk, "scopes": client.scopes},
        )
    return client, token


def api_client_revoke(*, client: ApiClient, revoked_by: User) -> ApiClient:
    """The token stops working on its next request; the row stays for the audit trail."""
    require_hospital_admin(revoked_by, client.hospital)
    with transaction.atomic():
        client = ApiClient.objects.select_for_update().get(pk=client.pk)
        if client.revoked_at is None:
            client.revoked_at = timezone.now()
            client.save(update_fields=["revoked_at"])
            audit_record(
                hospital=client.hospital,
                user=revoked_by,
                action="api_client.revoked",
                details={"api_client_id": client.pk},
            )
    return client


# --- Staff ------------------------------------------------------------------------------


def require_hospital_admin(user: User, hospital: Hospital) -> None:
    if not (user.is_active and user.is_hospital_admin and user.hospital_id == hospital.pk):
        raise NotPermitted(_("Only this hospital's admins can do that."))


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _clean_doctor_fields(
    *, hospital: Hospital, specialty: str, licence_number: str, avatar_name: str, full_name: str, user: User | None
) -> tuple[str, str, str]:
    if specialty not in DoctorProfile.Specialty.values:
        raise InvalidInput(_("Choose the doctor's specialty."), field="specialty")
    licence_number = licence_number.strip()
    if not licence_number:
        raise InvalidInput(_("A doctor needs a licence number."), field="licence_number")
    taken = DoctorProfile.objects.filter(hospital=hospital, licence_number=licence_number)
    if user is not None:
        taken = taken.exclude(user=user)
    if taken.exists():
        raise InvalidInput(
            _("Licence number %(licence)s already belongs to another doctor of this hospital.")
            % {"licence": licence_number},
            field="licence_number",
        )
    avatar_name = avatar_name.strip() or _("%(name)s's AI avatar") % {"name": full_name}
    return specialty, licence_number, avatar_name


def staff_invite(
    *,
    hospital: Hospital,
    invited_by: User,
    email: str,
    full_name: str,
    role: str,
    link_base: str,
    specialty: str = "",
    licence_number: str = "",
    avatar_name: str = "",
) -> tuple[Invitation, str]:
    """Invite a doctor or admin by e-mail. Returns the invitation and its one-time token.

    `link_base` is the absolute URL the token is appended to. An earlier pending
    invitation to the same address is revoked, so only the newest link works.
    """
    require_hospital_admin(invited_by, hospital)
    email = email.strip().lower()
    full_name = full_name.strip()
    if not email or "@" not in email:
        raise InvalidInput(_("Enter the e-mail address to send the invitation to."), field="email")
    if not full_name:
        raise InvalidInput(_("Enter the person's full name."), field="full_name")
    if role not in User.Role.values:
        raise InvalidInput(_("Choose a role."), field="role")
    if User.objects.filter(email=email).exists():
        raise InvalidInput(_("%(email)s already has an account.") % {"email": email}, field="email")
    if role == User.Role.DOCTOR:
        specialty, licence_number, avatar_name = _clean_doctor_fields(
            hospital=hospital,
            specialty=specialty,
            licence_number=licence_number,
            avatar_name=avatar_name,
            full_name=full_name,
            user=None,
        )
    else:
        specialty = licence_number = avatar_name = ""

    token = secrets.token_urlsafe(32)
    now = timezone.now()
    with transaction.atomic():
        Invitation.objects.filter(
            hospital=hospital, email=email, accepted_at__isnull=True, revoked_at__isnull=True
        ).update(revoked_at=now)
        invitation = Invitation.objects.create(
            hospital=hospital,
            email=email,
            full_name=full_name,
            role=role,
            specialty=specialty,
            licence_number=licence_number,
            avatar_name=avatar_name,
            token_hash=_token_hash(token),
            invited_by=invited_by,
            created_at=now,
            expires_at=now + timedelta(hours=settings.INVITATION_VALID_HOURS),
        )
        audit_record(
            hospital=hospital,
            user=invited_by,
            action="staff.invited",
            details={"invitation_id": invitation.pk, "role": role},
        )
        link = f"{link_base}{token}/"
        transaction.on_commit(
            lambda: send_mail(
                subject=_("Your invitation to %(hospital)s's clinician review portal") % {"hospital": hospital.name},
                message=_(
                    "%(inviter)s invited you to the clinician review portal of %(hospital)s.\n\n"
                    "Set your password here (the link works once, for %(hours)s hours):\n%(link)s\n"
                )
                % {
                    "inviter": invited_by.full_name or invited_by.email,
                    "hospital": hospital.name,
                    "hours": settings.INVITATION_VALID_HOURS,
                    "link": link,
                },
                from_email=None,
                recipient_list=[email],
            )
        )
    return invitation, token


def invitation_for_token(token: str) -> Invitation | None:
    """The usable invitation a link carries, or None (unknown, used, revoked or expired)."""
    invitation = Invitation.objects.select_related("hospital").filter(token_hash=_token_hash(token)).first()
    return invitation if invitation is not None and invitation.is_usable else None


def invitation_accept(*, token: str, password: str, ip: str | None = None) -> User:
    """Create the invited account with the password the invitee chose. Single use."""
    with transaction.atomic():
        invitation = (
            Invitation.objects.select_for_update(of=("self",))
            .select_related("hospital")
            .filter(token_hash=_token_hash(token))
            .first()
        )
        if invitation is None or not invitation.is_usable:
            raise InvalidInput(
                _("This invitation link has expired or has already been used. Ask your hospital's admin for another."),
                field="token",
            )
        candidate = User(email=invitation.email, full_name=invitation.full_name, hospital=invitation.hospital)
        try:
            validate_password(password, user=candidate)
        except ValidationError as error:
            raise InvalidInput(" ".join(error.messages), field="password") from error
        try:
            with transaction.atomic():
                user = User.objects.create_user(
                    invitation.email,
                    password,
                    full_name=invitation.full_name,
                    hospital=invitation.hospital,
                    role=invitation.role,
                )
                if invitation.role == User.Role.DOCTOR:
                    DoctorProfile.objects.create(
                        user=user,
                        hospital=invitation.hospital,
                        specialty=invitation.specialty,
                        licence_number=invitation.licence_number,
                        avatar_name=invitation.avatar_name,
                    )
        except IntegrityError as error:
            raise InvalidInput(
                _("An account for %(email)s or a doctor with this licence number already exists.")
                % {"email": invitation.email},
                field="token",
            ) from error
        invitation.accepted_at = timezone.now()
        invitation.user = user
        invitation.save(update_fields=["accepted_at", "user"])
        audit_record(
            hospital=invitation.hospital,
            user=user,
            ip=ip,
            action="staff.invitation_accepted",
            details={"invitation_id": invitation.pk, "user_id": user.pk, "role": user.role},
        )
        return user


def _other_active_admins(user: User) -> bool:
    return (
        User.objects.filter(hospital_id=user.hospital_id, role=User.Role.ADMIN, is_active=True)
        .exclude(pk=user.pk)
        .exists()
    )


def _move_open_cases(*, doctor: User, moved_by: User, specialty: str | None) -> dict[str, int]:
    """Hand a doctor's open cases to active colleagues of the same specialty, fewest open
    cases first; with no colleague they stay unassigned, visible to admins. Claims end."""
    now = timezone.now()
    colleagues = list(
        User.objects.filter(
            hospital_id=doctor.hospital_id,
            role=User.Role.DOCTOR,
            is_active=True,
            doctor_profile__specialty=specialty,
        )
        .exclude(pk=doctor.pk)
        .annotate(open_cases=Count("cases_to_review", filter=Q(cases_to_review__status=CaseStatus.AWAITING_REVIEW)))
        .order_by("open_cases", "pk")
    )
    # Leases on other doctors' cases simply end; the cases stay where they are.
    released = (
        Case.objects.filter(claimed_by=doctor, status=CaseStatus.AWAITING_REVIEW)
        .exclude(reviewer=doctor)
        .update(claimed_by=None, claim_expires_at=None, version=F("version") + 1, updated_at=now)
    )
    open_cases = list(
        Case.objects.select_for_update()
        .filter(reviewer=doctor, status__in=[CaseStatus.AWAITING_REVIEW, CaseStatus.TAKEN_OVER])
        .order_by("urgency", "due_at", "id")
    )
    targets = cycle(colleagues) if colleagues else None
    events = []
    for case in open_cases:
        reviewer = next(targets) if targets else None
        # A conversation the doctor had taken over goes on with the colleague.
        taken_over = case.status == CaseStatus.TAKEN_OVER
        Case.objects.filter(pk=case.pk).update(
            reviewer=reviewer,
            claimed_by=reviewer if taken_over else None,
            claim_expires_at=None,
            version=F("version") + 1,
            updated_at=now,
        )
        events.append(
            audit_event(
                hospital=moved_by.hospital,
                user=moved_by,
                action="case.reassigned",
                case=case,
                details={"from": doctor.pk, "to": reviewer.pk if reviewer else None, "reason": "doctor_deactivated"},
            )
        )
    audit_records_bulk(events)
    return {
        "released_claims": released,
        "reassigned": sum(1 for e in events if e.details["to"] is not None),
        "unassigned": sum(1 for e in events if e.details["to"] is None),
    }


def user_sessions_end(user: User) -> None:
    User.objects.filter(pk=user.pk).update(session_generation=F("session_generation") + 1)
    user.refresh_from_db(fields=["session_generation"])


def staff_deactivate(*, user: User, deactivated_by: User) -> dict[str, int]:
    """Sign the person out everywhere and stop their access; a doctor's open cases move on."""
    require_hospital_admin(deactivated_by, user.hospital)
    with transaction.atomic():
        user = User.objects.select_for_update(of=("self",)).select_related("hospital").get(pk=user.pk)
        if not user.is_active:
            raise InvalidInput(_("%(name)s is already deactivated.") % {"name": user}, field="user")
        if user.is_hospital_admin and not _other_active_admins(user):
            raise NotPermitted(
                _("%(name)s is the hospital's last active admin and cannot be deactivated.") % {"name": user}
            )
        user.is_active = False
        user.save(update_fields=["is_active"])
        user_sessions_end(user)
        moved = {"released_claims": 0, "reassigned": 0, "unassigned": 0}
        profile = DoctorProfile.objects.filter(user=user).first()
        if profile is not None:
            moved = _move_open_cases(doctor=user, moved_by=deactivated_by, specialty=profile.specialty)
        audit_record(
            hospital=user.hospital,
            user=deactivated_by,
            action="staff.deactivated",
            details={"user_id": user.pk} | moved,
        )
        return moved


def staff_reactivate(*, user: User, reactivated_by: User) -> User:
    """Access again; cases moved away at deactivation stay with the colleagues who have them."""
    require_hospital_admin(reactivated_by, user.hospital)
    with transaction.atomic():
        user = User.objects.select_for_update().get(pk=user.pk)
        if user.is_active:
            raise InvalidInput(_("%(name)s is already active.") % {"name": user}, field="user")
        user.is_active = True
        user.save(update_fields=["is_active"])
        audit_record(
            hospital=user.hospital, user=reactivated_by, action="staff.reactivated", details={"user_id": user.pk}
        )
        return user


def staff_update(
    *,
    user: User,
    updated_by: User,
    full_name: str,
    role: str,
    specialty: str = "",
    licence_number: str = "",
    avatar_name: str = "",
) -> User:
    """Edit a member of staff. A doctor made admin keeps their profile (and avatar) but
    their open cases move on; an admin made doctor needs a specialty and licence."""
    require_hospital_admin(updated_by, user.hospital)
    full_name = full_name.strip()
    if not full_name:
        raise InvalidInput(_("Enter the person's full name."), field="full_name")
    if role not in User.Role.values:
        raise InvalidInput(_("Choose a role."), field="role")
    with transaction.atomic():
        user = User.objects.select_for_update(of=("self",)).select_related("hospital").get(pk=user.pk)
        profile = DoctorProfile.objects.filter(user=user).first()
        changed = []
        if user.is_hospital_admin and role != User.Role.ADMIN and user.is_active and not _other_active_admins(user):
            raise NotPermitted(
                _("%(name)s is the hospital's last active admin and must stay an admin.") % {"name": user}
            )
        if role == User.Role.DOCTOR or profile is not None:
            if role == User.Role.DOCTOR or specialty or licence_number:
                specialty, licence_number, avatar_name = _clean_doctor_fields(
                    hospital=user.hospital,
                    specialty=specialty or (profile.specialty if profile else ""),
                    licence_number=licence_number or (profile.licence_number if profile else ""),
                    avatar_name=avatar_name,
                    full_name=full_name,
                    user=user,
                )
                if profile is None:
                    profile = DoctorProfile(user=user, hospital=user.hospital)
                for field, value in (
                    ("specialty", specialty),
                    ("licence_number", licence_number),
                    ("avatar_name", avatar_name),
                ):
                    if getattr(profile, field) != value:
                        setattr(profile, field, value)
                        changed.append(field)
                profile.save()
        moved = {}
        if user.role == User.Role.DOCTOR and role != User.Role.DOCTOR and profile is not None:
            moved = _move_open_cases(doctor=user, moved_by=updated_by, specialty=profile.specialty)
        for field, value in (("full_name", full_name), ("role", role)):
            if getattr(user, field) != value:
                setattr(user, field, value)
                changed.append(field)
        user.save(update_fields=["full_name", "role"])
        if changed:
            audit_record(
                hospital=user.hospital,
                user=updated_by,
                action="staff.updated",
                details={"user_id": user.pk, "changed": changed, "role": user.role} | moved,
            )
        return user


def user_sign_out_everywhere(*, user: User) -> None:
    """End every session of this user, this one included."""
    with transaction.atomic():
        user_sessions_end(user)
        if user.hospital_id:
            audit_record(hospital=user.hospital, user=user, action="user.signed_out_everywhere")


# --- Policy -----------------------------------------------------------------------------

POLICY_FIELDS = (
    "sla_emergency_minutes",
    "sla_urgent_minutes",
    "sla_soon_minutes",
    "sla_routine_minutes",
    "routine_sample_rate",
    "confidence_threshold",
    "claim_lease_minutes",
    "require_2fa",
)


def hospital_policy_update(*, hospital: Hospital, updated_by: User, **policy) -> Hospital:
    """Change the hospital's review policy; the audit event keeps the old and new values."""
    require_hospital_admin(updated_by, hospital)
    unknown = set(policy) - set(POLICY_FIELDS)
    if unknown:
        raise InvalidInput(_("Unknown policy settings: %(names)s.") % {"names": ", ".join(sorted(unknown))})
    for name in ("routine_sample_rate", "confidence_threshold"):
        if name in policy and not 0 <= policy[name] <= 1:
            raise InvalidInput(_("Enter a value between 0 and 1."), field=name)
    for name in POLICY_FIELDS:
        if name.endswith("_minutes") and name in policy and not 1 <= policy[name] <= 60 * 24 * 30:
            raise InvalidInput(_("Enter a number of minutes between 1 and 43200 (30 days)."), field=name)
    with transaction.atomic():
        hospital = Hospital.objects.select_for_update().get(pk=hospital.pk)
        changes = {
            name: [getattr(hospital, name), value] for name, value in policy.items() if getattr(hospital, name) != value
        }
        for name, (_old, new) in changes.items():
            setattr(hospital, name, new)
        if changes:
            hospital.save(update_fields=list(changes))
            audit_record(hospital=hospital, user=updated_by, action="policy.updated", details={"changes": changes})
        return hospital


# --- Sign-in throttling -----------------------------------------------------------------


def signin_unlock(*, email: str, unlocked_by: User) -> int:
    """Forget an account's failed sign-ins, so its owner can try again at once."""
    email = email.strip().lower()
    target = User.objects.filter(email=email).first()
    if target is None or target.hospital_id != unlocked_by.hospital_id:
        raise NotPermitted(_("There is no such account in your hospital."))
    require_hospital_admin(unlocked_by, target.hospital)
    with transaction.atomic():
        cleared, _detail = SignInFailure.objects.filter(email=email).delete()
        audit_record(
            hospital=target.hospital,
            user=unlocked_by,
            action="staff.signin_unlocked",
            details={"user_id": target.pk, "failures_cleared": cleared},
        )
    return cleared
