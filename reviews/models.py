from datetime import timedelta

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import ApiClient, Hospital

from .policy import REVIEW_REASON_LABELS


class Urgency(models.IntegerChoices):
    """Stored as a rank so that the queue's ORDER BY is a plain index order."""

    EMERGENCY = 0, _("Emergency")
    URGENT = 1, _("Urgent")
    SOON = 2, _("Soon")
    ROUTINE = 3, _("Routine")

    @property
    def code(self) -> str:
        return self.name.lower()

    @classmethod
    def from_code(cls, code: str) -> "Urgency":
        return cls[code.upper()]


URGENCY_CODES = [u.code for u in Urgency]


class CaseStatus(models.TextChoices):
    AUTO_RELEASED = "auto_released", _("Auto-released")
    AWAITING_REVIEW = "awaiting_review", _("Awaiting review")
    APPROVED = "approved", _("Approved")
    CORRECTED = "corrected", _("Corrected")
    TAKEN_OVER = "taken_over", _("Taken over")
    CLOSED = "closed", _("Closed")


# A case whose current due time has not been escalated: never, or an earlier due time was.
ESCALATION_PENDING = (
    models.Q(escalated_due_at__isnull=True)
    | models.Q(escalated_due_at__lt=models.F("due_at"))
    | models.Q(escalated_due_at__gt=models.F("due_at"))
)


class Patient(models.Model):
    """A pseudonymous patient: nothing here identifies the person.

    `ref_hash` is an HMAC of the platform's patient reference, so the same patient maps
    to the same pseudonym without the reference itself being stored.
    """

    class Sex(models.TextChoices):
        FEMALE = "female", _("Female")
        MALE = "male", _("Male")
        OTHER = "other", _("Other")
        UNKNOWN = "unknown", _("Unknown")

    hospital = models.ForeignKey(Hospital, on_delete=models.PROTECT, related_name="patients")
    pseudonym = models.CharField(_("pseudonym"), max_length=16)
    ref_hash = models.CharField(max_length=64)
    birth_year = models.PositiveSmallIntegerField(_("birth year"), null=True, blank=True)
    sex = models.CharField(_("sex"), max_length=8, choices=Sex, default=Sex.UNKNOWN)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["hospital", "ref_hash"], name="patient_ref_unique_per_hospital"),
            models.UniqueConstraint(fields=["hospital", "pseudonym"], name="patient_pseudonym_unique_per_hospital"),
        ]

    def __str__(self) -> str:
        return self.pseudonym


class Case(models.Model):
    """One avatar-handled inquiry."""

    hospital = models.ForeignKey(Hospital, on_delete=models.PROTECT, related_name="cases")
    # Whose avatar answered: fixed for the case's life, it is what the answer is attributed to.
    doctor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="cases")
    # Whose queue the case is in: the avatar's doctor, until they are deactivated and the
    # case moves to a colleague of the same specialty. Null: unassigned, visible to admins.
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="cases_to_review"
    )
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="cases")
    external_id = models.CharField(_("external id"), max_length=100)
    status = models.CharField(_("status"), max_length=20, choices=CaseStatus)
    urgency = models.PositiveSmallIntegerField(_("urgency"), choices=Urgency, default=Urgency.ROUTINE)
    # Each flag: {"source": "avatar"|"triage", "code", "rule_id", "urgency", "reason",
    # "matched_text", "message_index", "start", "end"}.
    flags = models.JSONField(_("flags"), default=list, blank=True)
    avatar_confidence = models.FloatField(_("avatar confidence"), null=True, blank=True)
    review_reasons = models.JSONField(_("review reasons"), default=list, blank=True)
    # True while the platform is waiting for a doctor before the answer goes out.
    hold = models.BooleanField(_("held for a doctor"), default=False)
    # The first patient message, shortened, so the queue needs no join on messages.
    question_preview = models.CharField(max_length=200, blank=True)
    received_at = models.DateTimeField(_("received"), default=timezone.now)
    due_at = models.DateTimeField(_("due"))
    claimed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    # Null with claimed_by set means an open-ended claim: the doctor took the case over.
    claim_expires_at = models.DateTimeField(null=True, blank=True)
    version = models.PositiveIntegerField(default=1)
    updated_at = models.DateTimeField(default=timezone.now)
    # The due time whose breach was last escalated to colleagues (reviews.escalation): equal
    # to due_at once the current breach is escalated; a due time that moves is a new breach.
    escalated_due_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["hospital", "external_id"], name="case_external_id_unique_per_hospital"),
            models.CheckConstraint(condition=models.Q(status__in=CaseStatus.values), name="case_status_valid"),
            models.CheckConstraint(condition=models.Q(urgency__in=Urgency.values), name="case_urgency_valid"),
        ]
        indexes = [
            # The queue: one reviewer's cases awaiting review in queue order (DESIGN §5).
            # Partial, so it stays small however many decided cases pile up.
            models.Index(
                fields=["reviewer", "urgency", "due_at", "id"],
                condition=models.Q(status="awaiting_review"),
                name="case_queue_idx",
            ),
            # "Conversations you have taken over" on the queue page, first 50 in its order:
            # read off this index instead of sorting all of a busy doctor's conversations.
            models.Index(
                fields=["claimed_by", "urgency", "updated_at", "id"],
                condition=models.Q(status="taken_over"),
                name="case_taken_over_idx",
            ),
            models.Index(fields=["doctor", "status"], name="case_doctor_status_idx"),
            # The API's case list and `updated_since` polling: keyset pages in (updated_at, id)
            # order within one hospital, read straight off this index.
            models.Index(fields=["hospital", "updated_at", "id"], name="case_hospital_updated_idx"),
            models.Index(fields=["patient", "received_at"], name="case_patient_received_idx"),
            # The escalation beat: urgent and emergency cases awaiting review whose current due
            # time is not escalated yet. Partial, so it holds only those few.
            models.Index(
                fields=["due_at", "id"],
                condition=models.Q(status="awaiting_review", urgency__lte=Urgency.URGENT) & ESCALATION_PENDING,
                name="case_escalation_due_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"Case {self.pk} ({self.external_id})"

    @property
    def urgency_code(self) -> str:
        return Urgency(self.urgency).code

    @property
    def review_reason_labels(self) -> list[str]:
        return [REVIEW_REASON_LABELS.get(reason, reason) for reason in self.review_reasons]

    @property
    def is_overdue(self) -> bool:
        return self.status == CaseStatus.AWAITING_REVIEW and self.due_at < timezone.now()

    @property
    def is_escalated(self) -> bool:
        """Its current SLA breach went to the doctor's colleagues too."""
        return self.status == CaseStatus.AWAITING_REVIEW and self.escalated_due_at == self.due_at

    def claim_active(self, at=None) -> bool:
        if self.claimed_by_id is None:
            return False
        return self.claim_expires_at is None or self.claim_expires_at > (at or timezone.now())


class Message(models.Model):
    class Author(models.TextChoices):
        PATIENT = "patient", _("Patient")
        AVATAR = "avatar", _("Avatar")
        DOCTOR = "doctor", _("Doctor")

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="messages")
    author = models.CharField(_("author"), max_length=10, choices=Author)
    # The doctor who wrote it, for doctor messages.
    doctor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True)
    body = models.TextField(_("message"))  # identifiers scrubbed before storage
    sent_at = models.DateTimeField(_("sent"))
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["sent_at", "id"]
        indexes = [models.Index(fields=["case", "sent_at", "id"], name="message_case_idx")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(author="doctor", doctor__isnull=False) | ~models.Q(author="doctor"),
                name="message_doctor_has_author",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.author} message {self.pk} on case {self.case_id}"


class Decision(models.Model):
    class Action(models.TextChoices):
        APPROVE = "approve", _("Approve")
        CORRECT = "correct", _("Correct")
        TAKE_OVER = "take_over", _("Take over")
        CLOSE = "close", _("Close")

    class Category(models.TextChoices):
        FACTUAL_ERROR = "factual_error", _("Factual error")
        UNSAFE_ADVICE = "unsafe_advice", _("Unsafe advice")
        INCOMPLETE = "incomplete", _("Incomplete")
        TONE = "tone", _("Tone")
        SHOULD_ESCALATE = "should_escalate", _("Should escalate")

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="decisions")
    # Always a doctor: no decision without a person responsible for it.
    doctor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="decisions")
    action = models.CharField(_("action"), max_length=12, choices=Action)
    original_text = models.TextField(_("draft"), blank=True)
    final_text = models.TextField(_("final answer"), blank=True)
    correction_category = models.CharField(_("reason"), max_length=20, choices=Category, blank=True)
    note = models.TextField(_("note"), blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["case", "created_at"], name="decision_case_idx")]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(action="correct") | ~models.Q(correction_category=""),
                name="decision_correction_has_category",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.action} of case {self.case_id} by {self.doctor_id}"


class AuditEvent(models.Model):
    """An append-only record of who did what. Holds ids and reasons, never patient text."""

    class ActorType(models.TextChoices):
        USER = "user", _("User")
        API_CLIENT = "api_client", _("API client")
        SYSTEM = "system", _("System")

    hospital = models.ForeignKey(Hospital, on_delete=models.PROTECT, related_name="audit_events")
    actor_type = models.CharField(max_length=12, choices=ActorType)
    actor_user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True)
    actor_api_client = models.ForeignKey(ApiClient, on_delete=models.PROTECT, null=True, blank=True)
    action = models.CharField(max_length=60)
    # An id that outlives its case: a case purged after its retention (reviews/retention.py)
    # keeps its audit events, which may be neither changed nor deleted. No database constraint.
    case = models.ForeignKey(
        Case, on_delete=models.DO_NOTHING, db_constraint=False, null=True, blank=True, related_name="audit_events"
    )
    at = models.DateTimeField(default=timezone.now)
    ip = models.GenericIPAddressField(null=True, blank=True)
    details = models.JSONField(default=dict, blank=True)
    # The hospital's hash chain (reviews/audit.py): SHA-256 of the previous event's hash and
    # this event's canonical JSON, so a changed, removed or reordered row breaks every later hash.
    prev_hash = models.CharField(max_length=64, blank=True, default="")
    hash = models.CharField(max_length=64, blank=True, default="")

    class Meta:
        ordering = ["id"]
        indexes = [
            models.Index(fields=["hospital", "at"], name="audit_hospital_at_idx"),
            # The audit log page pages newest-first by id within one hospital.
            models.Index(fields=["hospital", "id"], name="audit_hospital_id_idx"),
            models.Index(fields=["case", "id"], name="audit_case_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.action} at {self.at:%Y-%m-%d %H:%M:%S}"


class AuditChainHead(models.Model):
    """The end of one hospital's audit chain. Writers lock this row while appending, so two
    transactions can never both extend the same event (a fork); the head hash is what the
    hospital keeps outside the portal to notice deleted trailing events."""

    hospital = models.OneToOneField(Hospital, on_delete=models.PROTECT, primary_key=True, related_name="audit_head")
    last_event_id = models.BigIntegerField(null=True, blank=True)
    last_hash = models.CharField(max_length=64, blank=True, default="")

    def __str__(self) -> str:
        return f"{self.hospital_id}: {self.last_hash[:12]}"


class Appointment(models.Model):
    """A patient's in-person visit with a doctor: what a pre-visit summary is compiled for."""

    # The doctor of a visit may read (not act on) all of the patient's cases with the
    # hospital, from booking until this long after the visit: the pre-visit summary links
    # to them, and the doctor seeing the patient needs the whole history.
    CASE_ACCESS_AFTER_VISIT = timedelta(days=30)

    hospital = models.ForeignKey(Hospital, on_delete=models.PROTECT, related_name="appointments")
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="appointments")
    doctor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="appointments")
    # The booking system's id, for idempotent API creation; blank for appointments
    # entered on the admin pages.
    external_id = models.CharField(_("external id"), max_length=100, blank=True)
    scheduled_at = models.DateTimeField(_("scheduled at"))
    reason = models.CharField(_("reason"), max_length=500, blank=True)  # identifiers scrubbed
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["hospital", "external_id"],
                condition=~models.Q(external_id=""),
                name="appointment_external_id_unique_per_hospital",
            ),
        ]
        indexes = [
            # A doctor's "Today's visits".
            models.Index(fields=["doctor", "scheduled_at"], name="appointment_doctor_at_idx"),
            # The beat's lead window over the whole hospital.
            models.Index(fields=["scheduled_at", "id"], name="appointment_scheduled_idx"),
            models.Index(fields=["patient", "scheduled_at"], name="appointment_patient_idx"),
        ]

    def __str__(self) -> str:
        return f"Appointment {self.pk} at {self.scheduled_at:%Y-%m-%d %H:%M}"


class PreVisitSummary(models.Model):
    """The compiled history for one appointment: exactly one row per appointment.

    The row is also the compile's work item: `compile_started_at` marks a compile under
    way, so overlapping beats and redelivered tasks do not compile the same thing twice.
    """

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        READY = "ready", _("Ready")
        FAILED = "failed", _("Failed")

    appointment = models.OneToOneField(Appointment, on_delete=models.CASCADE, related_name="summary")
    status = models.CharField(_("status"), max_length=10, choices=Status, default=Status.PENDING)
    # A new case or message of the patient since the last compile: recompiled by the next beat.
    stale = models.BooleanField(_("out of date"), default=False)
    format_version = models.PositiveSmallIntegerField(default=0)
    content = models.JSONField(default=dict, blank=True)
    source_case_ids = models.JSONField(default=list, blank=True)
    compiled_at = models.DateTimeField(null=True, blank=True)
    # When a compile was last enqueued or started; cleared when it ends.
    compile_started_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    # Why the last compile failed: an exception class and our own words, never patient text.
    error = models.CharField(max_length=200, blank=True)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status__in=["pending", "ready", "failed"]), name="summary_status_valid"
            ),
        ]
        indexes = [
            models.Index(fields=["status", "updated_at"], name="summary_status_idx"),
        ]

    def __str__(self) -> str:
        return f"Pre-visit summary of appointment {self.appointment_id} ({self.status})"


class WebhookEndpoint(models.Model):
    """A hospital system that wants to hear about decisions and summaries (DESIGN §8)."""

    EVENT_TYPES = (
        "case.approved",
        "case.corrected",
        "case.taken_over",
        "case.doctor_message",
        "case.closed",
        "summary.ready",
    )

    hospital = models.ForeignKey(Hospital, on_delete=models.PROTECT, related_name="webhook_endpoints")
    url = models.URLField(_("URL"), max_length=500)
    description = models.CharField(_("description"), max_length=200, blank=True)
    events = models.JSONField(_("events"), default=list)
    # Kept readable because every delivery is signed with it; shown to the admin once.
    secret = models.CharField(max_length=100)
    active = models.BooleanField(_("active"), default=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    disabled_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return self.url


class WebhookEvent(models.Model):
    """The outbox: written in the same transaction as the change it reports."""

    event_id = models.UUIDField(unique=True)
    hospital = models.ForeignKey(Hospital, on_delete=models.PROTECT, related_name="webhook_events")
    type = models.CharField(max_length=40)
    case = models.ForeignKey(Case, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    payload = models.JSONField(default=dict)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["hospital", "created_at"], name="webhook_event_hospital_idx")]

    def __str__(self) -> str:
        return f"{self.type} {self.event_id}"


class WebhookDelivery(models.Model):
    """One event to one endpoint: its attempts, until delivered or given up after 24 h."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        DELIVERED = "delivered", _("Delivered")
        FAILED = "failed", _("Failed")

    event = models.ForeignKey(WebhookEvent, on_delete=models.PROTECT, related_name="deliveries")
    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.PROTECT, related_name="deliveries")
    status = models.CharField(_("status"), max_length=10, choices=Status, default=Status.PENDING)
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    last_response_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=300, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["event", "endpoint"], name="webhook_delivery_once_per_endpoint"),
        ]
        indexes = [
            # The sweep: pending deliveries whose next attempt is due.
            models.Index(
                fields=["next_attempt_at"], condition=models.Q(status="pending"), name="webhook_delivery_due_idx"
            ),
            models.Index(fields=["endpoint", "id"], name="webhook_delivery_endpoint_idx"),
        ]

    def __str__(self) -> str:
        return f"Delivery of {self.event_id} to {self.endpoint_id} ({self.status})"


class ScheduledTaskRun(models.Model):
    """When each periodic task last ran, for the operator's view and /readyz."""

    name = models.CharField(max_length=100, unique=True)
    last_started_at = models.DateTimeField(null=True, blank=True)
    last_finished_at = models.DateTimeField(null=True, blank=True)
    # Counts only (how many enqueued, found, …): never patient data.
    details = models.JSONField(default=dict, blank=True)

    def __str__(self) -> str:
        return self.name


class CaseEscalation(models.Model):
    """An urgent case past its due time, handed to one more doctor of its specialty (DESIGN §5).

    One row per colleague per breach: the unique constraint is what keeps a beat that runs
    twice, or two beats at once, from escalating one breach twice. Ids and times only.
    """

    # No index of their own: the unique constraint leads with case, case_escalation_doctor_idx with doctor.
    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="escalations", db_index=False)
    doctor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="case_escalations", db_index=False
    )
    # The due time that was missed.
    breach_due_at = models.DateTimeField(_("SLA breached at"))
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["case", "doctor", "breach_due_at"], name="case_escalation_once_per_breach"),
        ]
        indexes = [
            # "Escalated to you": one doctor's escalations, joined to their cases.
            models.Index(fields=["doctor", "breach_due_at", "case"], name="case_escalation_doctor_idx"),
        ]

    def __str__(self) -> str:
        return f"Escalation of case {self.case_id} to {self.doctor_id}"


class IdempotencyRecord(models.Model):
    """The first answer to an API request sent with an `Idempotency-Key`, replayed to its retries.

    The unique constraint is what makes concurrent retries safe: the request that inserts the
    row does the work, in the same transaction; the others wait on the insert and then replay
    the committed answer. A committed row always holds its answer. Ids and hashes only: the
    body is the API's answer (ids, statuses, pseudonyms), never the request.
    """

    api_client = models.ForeignKey(ApiClient, on_delete=models.CASCADE, related_name="+", db_index=False)
    key = models.CharField(max_length=200)
    # SHA-256 of method, path and raw body: the same key for another request is refused.
    request_hash = models.CharField(max_length=64)
    status_code = models.PositiveSmallIntegerField()
    response_body = models.JSONField(null=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["api_client", "key"], name="idempotency_record_once_per_key"),
        ]
        indexes = [
            # Purging expired records.
            models.Index(fields=["created_at"], name="idempotency_record_created_idx"),
        ]

    def __str__(self) -> str:
        return f"Idempotency key of API client {self.api_client_id}"
