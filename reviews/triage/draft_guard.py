"""The draft guard: an avatar draft that diagnoses or prescribes is always held.

Diagnosis and prescriptions remain human decisions, so a draft that states one must
not reach a patient before a doctor has read it.
"""

import re

_DOSE = re.compile(
    r"\d+(?:\.\d+)?\s*(?:mg|mcg|µg|g|ml|iu|units?|毫克|微克|克|毫升|片|粒|袋|支)\b"
    r"|(?:once|twice|three times|\d+ times) (?:a|per) day|every \d+ hours"
    r"|(?:每日|每天|一天)\s*[一二三四1-4]\s*次|每\s*\d+\s*小时",
    re.IGNORECASE,
)
_PRESCRIPTION = re.compile(
    r"\b(?:i(?:'ll| will)? prescribe|prescription for|i am prescribing|start (?:taking|on) \w+)\b|开(?:药|处方)|处方",
    re.IGNORECASE,
)
_DIAGNOSIS = re.compile(
    r"\b(?:you have|you(?:'ve| have) got|this is (?:definitely|clearly)|you are suffering from"
    r"|diagnosis is|i diagnose)\b"
    r"|(?:你|您)(?:得了|患了|患有|这是)|确诊为|诊断为",
    re.IGNORECASE,
)


def guard_draft(text: str) -> list[str]:
    """Review reasons the draft itself raises (empty when it is safe to release)."""
    reasons = []
    if _DIAGNOSIS.search(text):
        reasons.append("draft_diagnosis")
    if _DOSE.search(text) or _PRESCRIPTION.search(text):
        reasons.append("draft_prescription")
    return reasons
