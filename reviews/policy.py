"""The review policy of DESIGN §4: does a new case need a doctor, how urgently, and
must the platform hold the avatar's answer until one has acted?

Pure functions of the case's content and the hospital's policy, so a retried ingest
decides exactly the same.
"""

import hashlib
from dataclasses import dataclass, field

from django.utils.translation import gettext_lazy as _

from .triage import asks_for_human, guard_draft, screen_message
from .triage.red_flags import RULE_SET, rule_by_id

URGENCY_ORDER = ["emergency", "urgent", "soon", "routine"]
# An avatar flag may name a rule or a category of the rules file; the file says what a
# bare category is worth.
_CATEGORY_URGENCY = RULE_SET.categories | {rule.id: rule.urgency for rule in RULE_SET.rules}

# Reasons that keep the answer from the patient until a doctor acts. The routine sample
# is reviewed after the fact: its answer goes out at once.
HOLDING_REASONS = {
    "red_flag",
    "avatar_flag",
    "draft_diagnosis",
    "draft_prescription",
    "low_confidence",
    "patient_requested_human",
    "patient_follow_up",
}

REVIEW_REASON_LABELS = {
    "red_flag": _("Red flag in the patient's message"),
    "avatar_flag": _("Flagged by the avatar"),
    "draft_diagnosis": _("Draft states a diagnosis"),
    "draft_prescription": _("Draft prescribes or gives a dose"),
    "low_confidence": _("Low avatar confidence"),
    "patient_requested_human": _("Patient asked for a doctor"),
    "routine_sample": _("Routine sample"),
    "patient_follow_up": _("Patient follow-up after the answer"),
}


@dataclass(frozen=True)
class IncomingMessage:
    author: str  # "patient" | "avatar"
    body: str


@dataclass
class ReviewAssessment:
    urgency: str
    flags: list[dict] = field(default_factory=list)
    review_reasons: list[str] = field(default_factory=list)

    @property
    def needs_review(self) -> bool:
        return bool(self.review_reasons)

    @property
    def hold(self) -> bool:
        return any(reason in HOLDING_REASONS for reason in self.review_reasons)


def avatar_flag_urgency(code: str) -> str:
    """Avatar flag codes are the platform's; known ones map to an urgency, others to "soon"."""
    code = code.strip().lower()
    if code in URGENCY_ORDER:
        return code
    return _CATEGORY_URGENCY.get(code, "soon")


def in_routine_sample(key: str, rate: float) -> bool:
    """A deterministic draw: the same case is in or out of the sample on every retry."""
    if rate <= 0:
        return False
    draw = int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big") / 2**64
    return draw < rate


def _triage_flags(body: str, message_index: int) -> list[dict]:
    """The red flags of one patient message, in the shape stored in `Case.flags`.

    The rule's description is stored with the flag, as the rules version that raised it
    worded it, so the doctor reads why it fired even after the rules file has moved on.
    """
    flags = []
    for flag in screen_message(body):
        rule = rule_by_id(flag.rule_id)
        reason = {"reason": rule.description, "reason_zh": rule.description_zh} if rule else {"reason": ""}
        flags.append(
            {"source": "triage", "code": flag.category, "message_index": message_index} | reason | flag.as_dict()
        )
    return flags


def assess_patient_message(*, body: str, message_index: int) -> ReviewAssessment:
    """Triage of one further patient message on an existing case: its flags, its own
    urgency ("routine" when it raises none) and the review reasons it brings."""
    flags = _triage_flags(body, message_index)
    reasons = ["red_flag"] if flags else []
    if asks_for_human(body):
        reasons.append("patient_requested_human")
    urgency = min((f["urgency"] for f in flags), key=URGENCY_ORDER.index, default="routine")
    return ReviewAssessment(urgency=urgency, flags=flags, review_reasons=reasons)


def assess_case(
    *,
    messages: list[IncomingMessage],
    avatar_flags: list[dict],
    avatar_confidence: float | None,
    confidence_threshold: float,
    sample_rate: float,
    sample_key: str,
) -> ReviewAssessment:
    flags: list[dict] = []
    reasons: list[str] = []

    for index, message in enumerate(messages):
        if message.author == "patient":
            flags.extend(_triage_flags(message.body, index))
            if asks_for_human(message.body) and "patient_requested_human" not in reasons:
                reasons.append("patient_requested_human")
        elif message.author == "avatar":
            for reason in guard_draft(message.body):
                if reason not in reasons:
                    reasons.append(reason)

    for avatar_flag in avatar_flags:
        flags.append(
            {
                "source": "avatar",
                "code": avatar_flag["code"],
                "rule_id": "",
                "category": "",
                "urgency": avatar_flag_urgency(avatar_flag["code"]),
                "reason": avatar_flag.get("reason", ""),
                "matched_text": "",
                "message_index": None,
            }
        )

    if any(f["source"] == "triage" for f in flags):
        reasons.insert(0, "red_flag")
    if avatar_flags:
        reasons.insert(0, "avatar_flag")
    if avatar_confidence is not None and avatar_confidence < confidence_threshold:
        reasons.append("low_confidence")
    if not reasons and in_routine_sample(sample_key, sample_rate):
        reasons.append("routine_sample")

    urgency = min((f["urgency"] for f in flags), key=URGENCY_ORDER.index, default="routine")
    return ReviewAssessment(urgency=urgency, flags=flags, review_reasons=reasons)
