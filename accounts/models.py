from datetime import timedelta

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Hospital(models.Model):
    """The tenant: every row holding clinical data belongs to exactly one hospital."""

    name = models.CharField(_("name"), max_length=200)
    slug = models.SlugField(_("slug"), max_length=60, unique=True)
    # Review policy (DESIGN §3–§5). SLAs are minutes from receipt to a doctor's decision.
    sla_emergency_minutes = models.PositiveIntegerField(_("SLA for emergency cases (minutes)"), default=15)
    sla_urgent_minutes = models.PositiveIntegerField(_("SLA for urgent cases (minutes)"), default=60)
    sla_soon_minutes = models.PositiveIntegerField(_("SLA for soon cases (minutes)"), default=8 * 60)
    sla_routine_minutes = models.PositiveIntegerField(_("SLA for routine cases (minutes)"), default=48 * 60)
    routine_sample_rate = models.FloatField(
        _("routine sample rate"),
        default=0.05,
        help_text=_("Share of cases with no other reason for review that are still reviewed."),
    )
    confidence_threshold = models.FloatField(
        _("avatar confidence threshold"),
        default=0.7,
        help_text=_("Drafts with a lower avatar confidence are held for a doctor."),
    )
    claim_lease_minutes = models.PositiveIntegerField(
        _("claim lease (minutes)"), default=settings.DEFAULT_CLAIM_LEASE_MINUTES
    )
    require_2fa = models.BooleanField(_("two-factor sign-in required"), default=False)
    summary_lead_hours = models.PositiveIntegerField(
        _("pre-visit summary lead time (hours)"),
        default=24,
        help_text=_("Summaries are compiled for appointments starting within this many hours."),
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(routine_sample_rate__gte=0, routine_sample_rate__lte=1),
                name="hospital_sample_rate_0_1",
            ),
            models.CheckConstraint(
                condition=models.Q(confidence_threshold__gte=0, confidence_threshold__lte=1),
                name="hospital_confidence_threshold_0_1",
            ),
            models.CheckConstraint(
                condition=models.Q(claim_lease_minutes__gte=1), name="hospital_claim_lease_positive"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def sla_for(self, urgency_code: str) -> timedelta:
        return timedelta(minutes=getattr(self, f"sla_{urgency_code}_minutes"))

    @property
    def claim_lease(self) -> timedelta:
        return timedelta(minutes=self.claim_lease_minutes)


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def create_user(self, email: str, password: str | None = None, **fields) -> "User":
        if not email:
            raise ValueError("An e-mail address is required.")
        user = self.model(email=self.normalize_email(email).lower(), **fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **fields) -> "User":
        fields.setdefault("is_staff", True)
        fields.setdefault("is_superuser", True)
        fields.setdefault("role", User.Role.ADMIN)
        return self.create_user(email, password, **fields)


class User(AbstractBaseUser, PermissionsMixin):
    class Role(models.TextChoices):
        DOCTOR = "doctor", _("Doctor")
        ADMIN = "admin", _("Hospital admin")

    email = models.EmailField(_("email"), unique=True)
    full_name = models.CharField(_("full name"), max_length=200)
    hospital = models.ForeignKey(Hospital, on_delete=models.PROTECT, related_name="users", null=True, blank=True)
    role = models.CharField(_("role"), max_length=16, choices=Role, default=Role.DOCTOR)
    language = models.CharField(_("language"), max_length=10, choices=settings.LANGUAGES, default="en")
    is_active = models.BooleanField(_("active"), default=True)
    is_staff = models.BooleanField(default=False)
    date_joined = models.DateTimeField(default=timezone.now)
    # Part of every session's auth hash: raising it signs the user out everywhere.
    session_generation = models.PositiveIntegerField(default=0)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = ["full_name"]

    def __str__(self) -> str:
        return self.full_name or self.email

    def _get_session_auth_hash(self, secret=None) -> str:
        # Django ties sessions to the password hash; adding the generation lets
        # "sign out everywhere" and deactivation end sessions without touching the password.
        from django.utils.crypto import salted_hmac

        return salted_hmac(
            "accounts.User.session_auth_hash",
            f"{self.password}:{self.session_generation}",
            secret=secret,
            algorithm="sha256",
        ).hexdigest()

    @property
    def is_doctor(self) -> bool:
        return self.role == self.Role.DOCTOR

    @property
    def is_hospital_admin(self) -> bool:
        return self.role == self.Role.ADMIN

    @property
    def display_name(self) -> str:
        """How colleagues see this person on a case ("Dr Li Wei")."""
        name = self.full_name or self.email
        return _("Dr %(name)s") % {"name": name} if self.is_doctor else name


class DoctorProfile(models.Model):
    class Specialty(models.TextChoices):
        OBSTETRICS = "obstetrics", _("Obstetrics")
        PAEDIATRICS = "paediatrics", _("Paediatrics")
        GENERAL_PRACTICE = "general_practice", _("General practice")
        CARDIOLOGY = "cardiology", _("Cardiology")
        DERMATOLOGY = "dermatology", _("Dermatology")
        INTERNAL_MEDICINE = "internal_medicine", _("Internal medicine")

    user = models.OneToOneField(User, on_delete=models.CASCADE, related_name="doctor_profile")
    # Copied from the user so that a licence number can be unique per hospital in the database.
    hospital = models.ForeignKey(Hospital, on_delete=models.PROTECT, related_name="doctor_profiles")
    specialty = models.CharField(_("specialty"), max_length=40, choices=Specialty)
    licence_number = models.CharField(_("licence number"), max_length=40)
    avatar_name = models.CharField(_("avatar name"), max_length=120)
    avatar_active = models.BooleanField(_("avatar active"), default=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["hospital", "licence_number"], name="doctor_licence_unique_per_hospital"),
        ]

    def __str__(self) -> str:
        return f"{self.user} ({self.licence_number})"


class ApiClient(models.Model):
    """A machine that talks to the API. Only a SHA-256 of its token is kept."""

    class Scope(models.TextChoices):
        CASES_WRITE = "cases:write", "cases:write"
        CASES_READ = "cases:read", "cases:read"
        APPOINTMENTS_WRITE = "appointments:write", "appointments:write"
        SUMMARIES_READ = "summaries:read", "summaries:read"

    hospital = models.ForeignKey(Hospital, on_delete=models.PROTECT, related_name="api_clients")
    name = models.CharField(_("name"), max_length=120)
    scopes = models.JSONField(_("scopes"), default=list)
    # The token's first characters, shown to admins so they can tell tokens apart.
    token_prefix = models.CharField(max_length=12)
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.name} ({self.hospital.slug})"

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None

    def has_scopes(self, scopes: list[str] | tuple[str, ...]) -> bool:
        return set(scopes) <= set(self.scopes)


class Invitation(models.Model):
    """A single-use link with which a new member of staff sets their own password.

    Only a hash of the token is kept: whoever can read the database cannot use it.
    """

    hospital = models.ForeignKey(Hospital, on_delete=models.PROTECT, related_name="invitations")
    email = models.EmailField(_("email"))
    full_name = models.CharField(_("full name"), max_length=200)
    role = models.CharField(_("role"), max_length=16, choices=User.Role)
    specialty = models.CharField(_("specialty"), max_length=40, choices=DoctorProfile.Specialty, blank=True)
    licence_number = models.CharField(_("licence number"), max_length=40, blank=True)
    avatar_name = models.CharField(_("avatar name"), max_length=120, blank=True)
    token_hash = models.CharField(max_length=64, unique=True)
    invited_by = models.ForeignKey(User, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    user = models.ForeignKey(User, on_delete=models.PROTECT, null=True, blank=True, related_name="+")

    class Meta:
        indexes = [models.Index(fields=["hospital", "email"], name="invitation_hospital_email_idx")]

    def __str__(self) -> str:
        return f"Invitation of {self.email} to {self.hospital.slug}"

    @property
    def is_usable(self) -> bool:
        return self.accepted_at is None and self.revoked_at is None and self.expires_at > timezone.now()


class SignInFailure(models.Model):
    """One failed sign-in, kept for the throttling window; holds no password."""

    email = models.CharField(max_length=254)
    ip = models.GenericIPAddressField(null=True, blank=True)
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [
            models.Index(fields=["email", "at"], name="signin_failure_email_idx"),
            models.Index(fields=["ip", "at"], name="signin_failure_ip_idx"),
        ]

    def __str__(self) -> str:
        return f"Failed sign-in for {self.email} at {self.at:%Y-%m-%d %H:%M}"
