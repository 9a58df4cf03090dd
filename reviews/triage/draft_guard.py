"""The draft guard: an avatar draft that diagnoses or prescribes is always held.

Diagnosis and prescriptions remain human decisions, so a draft that states one must
not reach a patient before a doctor has read it.
"""

import re

_DOSE = re.compile(
    # \b only after Latin units: between two Chinese characters there is no word boundary.
    r"\d+(?:\.\d+)?\s*(?:(?:mg|mcg|µg|g|ml|iu|units?)\b|毫克|微克|克|毫升|片|粒|袋|支)"
    r"|[一两二三四五半]\s*(?:片|粒|袋|支)"
    r"|(?:once|twice|three times|\d+ times) (?:a|per) day|every \d+ hours"
    r"|(?:每日|每天|一天)\s*[一二三四1-4]\s*次|每\s*\d+\s*小时",
    re.IGNORECASE,
)
_PRESCRIPTION = re.compile(
    r"\b(?:i(?:'ll| will)? prescribe|prescription for|i am prescribing|start (?:taking|on) \w+)\b|开(?:药|处方)|处方",
    re.IGNORECASE,
)
# "you have" alone is ordinary advice; a diagnosis names a condition, and not after "if"
# or "when" ("if you have a fever, call us" advises, "you have a chest infection" diagnoses).
_CONDITION = (
    r"(?:a |an |got )?(?:[\w-]+ ){0,3}(?:\w+(?:itis|osis|emia|aemia)|infection|disease|syndrome"
    r"|disorder|diabetes|cancer|pneumonia|influenza|flu|hypertension|pre-?eclampsia|migraine|asthma|eczema"
    r"|anaemia|anemia|angina|thrush|reflux|gout|uti|depression|fracture|sprain|gallstones|kidney stones)\b"
)
_DIAGNOSIS = re.compile(
    rf"(?<!if )(?<!when )(?<!unless )(?<!whether )\b(?:you(?:'ve| have| likely have| probably have)? {_CONDITION}"
    r"|this is (?:definitely|clearly)"
    r"|you are suffering from|diagnosis is|i diagnose)\b"
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
