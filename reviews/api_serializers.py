"""Input and output serializers of the integration API (DESIGN §8)."""

from datetime import UTC, timedelta

from django.utils import timezone
from rest_framework import serializers

from .models import URGENCY_CODES, Case, Message, Patient
from .policy import avatar_flag_urgency
from .selectors import CaseDetail, case_final_answer
from .services import CaseIngestData, IngestMessage

MAX_MESSAGES = 200
MAX_BODY = 20_000
SENT_AT_CLOCK_SKEW = timedelta(minutes=10)


class StrictSerializer(serializers.Serializer):
    """Unknown fields are an error, so an integrator's typo is not silently ignored."""

    def to_internal_value(self, data):
        if isinstance(data, dict):
            unknown = sorted(set(data) - set(self.fields))
            if unknown:
                raise serializers.ValidationError({name: ["Unknown field."] for name in unknown})
        return super().to_internal_value(data)


class IngestPatientSerializer(StrictSerializer):
    birth_year = serializers.IntegerField(min_value=1900, required=False, allow_null=True)
    sex = serializers.ChoiceField(choices=Patient.Sex.values, required=False, allow_null=True)

    def validate_birth_year(self, year: int | None) -> int | None:
        # Checked per request, not at import: a long-running server must accept next year's births.
        if year is not None and year > timezone.now().year:
            raise serializers.ValidationError("A birth year cannot be in the future.")
        return year


class IngestDateTimeField(serializers.DateTimeField):
    """A date-time the database can store: near year 1 or 9999, converting a naive value to
    the server's zone or an aware one to UTC overflows (in DRF, or later when saving)."""

    def enforce_timezone(self, value):
        try:
            value = super().enforce_timezone(value)
            value.astimezone(UTC)
        except OverflowError:
            self.fail("overflow")
        # A message from before the platform existed or from tomorrow is a client bug
        # (a wrong clock or epoch unit), not a patient message: refuse it clearly.
        if value.year < 2000 or value > timezone.now() + SENT_AT_CLOCK_SKEW:
            raise serializers.ValidationError("sent_at must be a real send time: after 2000 and not in the future.")
        return value


class IngestMessageSerializer(StrictSerializer):
    author = serializers.ChoiceField(choices=["patient", "avatar"])
    body = serializers.CharField(max_length=MAX_BODY, trim_whitespace=True)
    sent_at = IngestDateTimeField(
        help_text="When it was sent, ISO 8601 (e.g. 2026-03-01T10:00:00+08:00): after 2000 and not in the future."
    )


class CaseMessageSerializer(IngestMessageSerializer):
    """A further patient message on a case: the body and sent_at rules of ingest, and no
    author, because only the patient writes through the platform after ingest."""

    author = None


class IngestAvatarFlagSerializer(StrictSerializer):
    code = serializers.CharField(max_length=60)
    reason = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


class IngestAvatarSerializer(StrictSerializer):
    confidence = serializers.FloatField(min_value=0, max_value=1, required=False, allow_null=True)
    flags = IngestAvatarFlagSerializer(many=True, required=False, default=list)


class CaseIngestSerializer(StrictSerializer):
    external_id = serializers.CharField(max_length=100)
    doctor = serializers.CharField(max_length=40, help_text="The doctor's licence number (GET /api/v1/doctors/).")
    patient_ref = serializers.CharField(
        max_length=200, help_text="The platform's own patient reference; only a keyed hash of it is kept."
    )
    patient = IngestPatientSerializer(required=False)
    messages = IngestMessageSerializer(many=True, allow_empty=False, max_length=MAX_MESSAGES)
    avatar = IngestAvatarSerializer(required=False)

    def validate_messages(self, messages):
        if not any(m["author"] == "patient" for m in messages):
            raise serializers.ValidationError("A case needs at least one message from the patient.")
        return messages

    def to_ingest_data(self) -> CaseIngestData:
        data = self.validated_data
        patient = data.get("patient") or {}
        avatar = data.get("avatar") or {}
        return CaseIngestData(
            external_id=data["external_id"],
            doctor_licence=data["doctor"],
            patient_ref=data["patient_ref"],
            birth_year=patient.get("birth_year"),
            sex=patient.get("sex"),
            messages=[IngestMessage(m["author"], m["body"], m["sent_at"]) for m in data["messages"]],
            avatar_confidence=avatar.get("confidence"),
            avatar_flags=[dict(f) for f in avatar.get("flags", [])],
        )


class FlagSerializer(serializers.Serializer):
    source = serializers.ChoiceField(choices=["avatar", "triage"])
    code = serializers.CharField()
    urgency = serializers.ChoiceField(choices=URGENCY_CODES)
    rule_id = serializers.CharField(allow_blank=True)
    reason = serializers.CharField(allow_blank=True)
    matched_text = serializers.CharField(allow_blank=True)

    def to_representation(self, flag):
        return flag_representation(flag)


def flag_representation(flag: dict) -> dict:
    """A stored flag as the API shows it (FlagSerializer's shape, without a serializer per flag)."""
    return {
        "source": flag["source"],
        "code": flag["code"],
        "urgency": flag.get("urgency") or avatar_flag_urgency(flag["code"]),
        "rule_id": flag.get("rule_id", ""),
        "reason": flag.get("reason", ""),
        "matched_text": flag.get("matched_text", ""),
    }


class CaseIngestResultSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    status = serializers.CharField()
    urgency = serializers.ChoiceField(choices=URGENCY_CODES)
    release = serializers.ChoiceField(choices=["hold", "release"])
    review_reasons = serializers.ListField(child=serializers.CharField())
    flags = FlagSerializer(many=True)

    def to_representation(self, case: Case):
        return {
            "id": case.pk,
            "status": case.status,
            "urgency": case.urgency_code,
            "release": "hold" if case.hold else "release",
            "review_reasons": case.review_reasons,
            "flags": [flag_representation(flag) for flag in case.flags],
        }


class CaseMessageResultSerializer(CaseIngestResultSerializer):
    """The case after a new patient message, as ingest reports it, and the message's id."""

    message_id = serializers.IntegerField()

    def to_representation(self, message: Message):
        return super().to_representation(message.case) | {"message_id": message.pk}


class DecisionSummarySerializer(serializers.Serializer):
    action = serializers.CharField()
    doctor = serializers.IntegerField(help_text="The deciding doctor's id (GET /api/v1/doctors/).")
    correction_category = serializers.CharField(allow_blank=True)
    decided_at = serializers.DateTimeField()


class CaseSummarySerializer(serializers.Serializer):
    """A case as other systems see it: no conversation beyond question and final answer."""

    id = serializers.IntegerField()
    external_id = serializers.CharField()
    status = serializers.CharField()
    urgency = serializers.ChoiceField(choices=URGENCY_CODES)
    release = serializers.ChoiceField(choices=["hold", "release"])
    doctor = serializers.IntegerField()
    patient = serializers.CharField(help_text="The patient's pseudonym.")
    question = serializers.CharField()
    final_answer = serializers.CharField(allow_null=True)
    decision = DecisionSummarySerializer(allow_null=True)
    review_reasons = serializers.ListField(child=serializers.CharField())
    flags = FlagSerializer(many=True)
    received_at = serializers.DateTimeField()
    due_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()

    def to_representation(self, detail: CaseDetail):
        case = detail.case
        decision = detail.last_answer_decision
        question = next((m.body for m in detail.messages if m.author == "patient"), "")
        return {
            "id": case.pk,
            "external_id": case.external_id,
            "status": case.status,
            "urgency": case.urgency_code,
            "release": "hold" if case.hold else "release",
            "doctor": case.doctor_id,
            "patient": case.patient.pseudonym,
            "question": question,
            "final_answer": case_final_answer(detail),
            "decision": None
            if decision is None
            else {
                "action": decision.action,
                "doctor": decision.doctor_id,
                "correction_category": decision.correction_category,
                "decided_at": decision.created_at.isoformat(),
            },
            "review_reasons": case.review_reasons,
            "flags": [flag_representation(flag) for flag in case.flags],
            "received_at": case.received_at.isoformat(),
            "due_at": case.due_at.isoformat(),
            "updated_at": case.updated_at.isoformat(),
        }


class DoctorSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    specialty = serializers.CharField()
    licence_number = serializers.CharField()
    avatar_name = serializers.CharField()
    avatar_active = serializers.BooleanField()

    def to_representation(self, profile):
        return {
            "id": profile.user_id,
            "name": profile.user.full_name,
            "specialty": profile.specialty,
            "licence_number": profile.licence_number,
            "avatar_name": profile.avatar_name,
            "avatar_active": profile.avatar_active,
        }


MAX_BATCH_CASES = 500


class CaseBatchItemField(serializers.JSONField):
    """One case of a batch, as any JSON: a bad one, null included, is refused on its own."""

    def __init__(self, **kwargs):
        super().__init__(allow_null=True, **kwargs)


class CaseBatchRequestSerializer(StrictSerializer):
    """The envelope only: each case is validated on its own, so one bad case fails alone."""

    class Meta:
        ref_name = "CaseBatch"  # the request component is "CaseBatchRequest"

    cases = serializers.ListField(
        child=CaseBatchItemField(),
        min_length=1,
        max_length=MAX_BATCH_CASES,
        help_text=f"1 to {MAX_BATCH_CASES} cases, each as for POST /api/v1/cases/.",
    )


class CaseBatchItemResultSerializer(serializers.Serializer):
    """One case's outcome: the ingest result (201, 200) or the error (400) of POST /cases/."""

    index = serializers.IntegerField(help_text="The case's position in the request's list.")
    external_id = serializers.CharField(required=False, help_text="Left out when the item had none readable.")
    status_code = serializers.ChoiceField(choices=[201, 200, 400])
    id = serializers.IntegerField(required=False)
    status = serializers.CharField(required=False)
    urgency = serializers.ChoiceField(choices=URGENCY_CODES, required=False)
    release = serializers.ChoiceField(choices=["hold", "release"], required=False)
    review_reasons = serializers.ListField(child=serializers.CharField(), required=False)
    flags = FlagSerializer(many=True, required=False)
    code = serializers.CharField(required=False)
    message = serializers.CharField(required=False)
    errors = serializers.DictField(required=False)


class CaseBatchResultSerializer(serializers.Serializer):
    results = CaseBatchItemResultSerializer(many=True)
    created = serializers.IntegerField()
    existing = serializers.IntegerField()
    failed = serializers.IntegerField()
