"""A built-in red-flag screen over patient messages, in English and Simplified Chinese.

This is the first, deliberately small rule set; the full screen (a versioned rules
file, colloquial phrasing, typos) is issue #6. A match preceded closely by a negation
("no chest pain", "没有胸痛") or asked about in general ("what are the signs of a
stroke?") does not fire: a doctor's queue full of false alarms hides the real ones.
"""

import re
from dataclasses import asdict, dataclass

RULES_VERSION = "builtin-3"  # 3: temperatures need a unit; "end my life", not "weekend my"


@dataclass(frozen=True)
class Rule:
    id: str
    category: str
    urgency: str
    pattern: re.Pattern[str]


@dataclass(frozen=True)
class TriageFlag:
    rule_id: str
    category: str
    urgency: str
    matched_text: str
    start: int
    end: int
    rules_version: str = RULES_VERSION

    def as_dict(self) -> dict:
        return asdict(self)


def _rule(rule_id: str, category: str, urgency: str, *patterns: str) -> Rule:
    return Rule(rule_id, category, urgency, re.compile("|".join(f"(?:{p})" for p in patterns), re.IGNORECASE))


# In a rule whose context and symptom are apart ("baby … fever"), a negation between them
# is inside the match, where the negation check before the match cannot see it:
# "Baby is 5 months, no fever" and "孕38周，没见红" must not fire.
_NOT = r"(?<!\bno )(?<!\bnot )(?<!without )(?<!没有)(?<!没)(?<!不)(?<!无)(?<!未)"

RULES: list[Rule] = [
    _rule(
        "chest_pain",
        "chest_pain",
        "emergency",
        r"chest (?:pain|tightness|pressure)",
        r"pain in (?:my|the) chest",
        r"crushing (?:pain|feeling)",
        r"胸(?:口)?(?:痛|疼|闷|口压)",
        r"心口(?:痛|疼)",
    ),
    _rule(
        "stroke_signs",
        "stroke",
        "emergency",
        r"face (?:is )?(?:drooping|droops)",
        r"slurred speech",
        r"(?:sudden|suddenly).{0,20}(?:numb|weak)",
        r"can'?t (?:move|lift) (?:my|his|her) (?:arm|leg)",
        r"嘴(?:巴)?歪",
        r"口齿不清",
        r"说话不清",
        r"半边(?:身体)?(?:麻|没力|无力)",
    ),
    _rule(
        "breathing",
        "breathing",
        "emergency",
        r"can'?t breathe",
        r"(?:difficulty|trouble|struggling) breathing",
        r"short(?:ness)? of breath",
        r"gasping",
        r"lips? (?:are |is |turning )?blue",
        r"喘不(?:过|上)气",
        r"呼吸困难",
        r"憋气",
        r"嘴唇发紫",
    ),
    _rule(
        "anaphylaxis",
        "anaphylaxis",
        "emergency",
        r"throat (?:is )?(?:swelling|closing|tight)",
        r"tongue (?:is )?swelling",
        r"anaphyla",
        r"喉咙(?:肿|发紧|紧)",
        r"舌头肿",
        r"过敏性休克",
    ),
    _rule(
        "severe_bleeding",
        "bleeding",
        "emergency",
        r"(?:heavy|severe|a lot of|lots of|won'?t stop|can'?t stop)\s+(?:\w+\s+)?bleeding",
        r"bleeding (?:heavily|a lot|won'?t stop)",
        r"soak(?:ing|ed)? (?:a |through )?(?:pad|pads)",
        r"大出血",
        r"出血(?:很多|不止|止不住)",
        r"血(?:流)?止不住",
    ),
    _rule(
        "pregnancy_bleeding",
        "pregnancy",
        "urgent",
        rf"pregnan\w*.{{0,60}}{_NOT}bleed",
        r"bleed\w*.{0,60}pregnan",
        rf"(?:weeks|months) pregnant.{{0,60}}{_NOT}spotting",
        rf"(?:怀孕|孕).{{0,20}}{_NOT}(?:出血|流血|见红)",
        r"(?:出血|流血|见红).{0,20}(?:怀孕|孕)",
    ),
    _rule(
        "reduced_fetal_movement",
        "pregnancy",
        "urgent",
        r"(?:baby|fetus|foetus) (?:is )?(?:not moving|moving less|hasn'?t moved|stopped moving)",
        r"(?:less|fewer|no|reduced) (?:fetal |foetal |baby )?(?:movements?|kicks)",
        r"胎动(?:减少|少了|变少|没了|消失|不明显)",
    ),
    _rule(
        "suicidal",
        "mental_health",
        "emergency",
        r"(?:kill|hurt|harm) myself",
        r"suicid",
        r"\bend(?:ing)? (?:my life|it all)\b",
        r"don'?t want to (?:live|be alive)",
        r"想死",
        r"自杀",
        r"不想活",
        r"伤害自己",
        r"轻生",
    ),
    _rule(
        "infant_fever",
        "infant_fever",
        "urgent",
        rf"(?:baby|newborn|infant|\d+[- ](?:week|month)[- ]old).{{0,60}}"
        # A bare "38" is as likely "38 weeks" as a temperature: only with a unit.
        rf"{_NOT}(?:fever|temperature|3[89](?:\.\d)?\s*(?:°\s*c?|℃|degrees))",
        r"(?:fever|temperature).{0,40}(?:baby|newborn|infant)",
        rf"(?:宝宝|婴儿|新生儿|\d+个月).{{0,20}}{_NOT}(?:发烧|发热|高烧|烧到)",
    ),
    _rule(
        "seizure",
        "seizure",
        "emergency",
        r"seizure",
        r"convuls",
        r"fit(?:ting)? and (?:shaking|jerking)",
        r"抽搐",
        r"抽筋.{0,10}(?:口吐白沫|翻白眼)",
        r"癫痫发作",
    ),
]

_NEGATION_BEFORE = re.compile(
    r"(?:\bno\b|\bnot\b|\bnever\b|\bwithout\b|\bdenies\b|\bdon'?t have\b|\bdoesn'?t have\b|\bhaven'?t had\b|"
    r"\bno longer\b|没有|没|无|不是|并无|未)[^.!?。！？,，;；]{0,25}$",
    re.IGNORECASE,
)
_GENERAL_QUESTION = re.compile(
    r"(?:what (?:are|is) the (?:signs|symptoms)|how (?:do|can) (?:i|you) (?:tell|know)|"
    r"什么(?:症状|表现)|有哪些(?:症状|表现)|怎么(?:判断|区分))",
    re.IGNORECASE,
)
_HISTORY = re.compile(
    r"(?:\b(?:my|his|her) (?:father|mother|dad|mum|mom|grandfather|grandmother|uncle|aunt)\b.{0,40}\b(?:had|died)\b|"
    r"\bin (?:19|20)\d{2}\b|years ago|"
    r"(?:爸爸|妈妈|父亲|母亲|爷爷|奶奶|外公|外婆).{0,15}(?:得过|有过|以前)|(?:19|20)\d{2}年|几年前|以前得过)",
    re.IGNORECASE,
)


def _sentence_around(text: str, start: int, end: int) -> tuple[int, int]:
    stops = ".!?。！？\n"
    left = max((text.rfind(s, 0, start) for s in stops), default=-1) + 1
    rights = [i for i in (text.find(s, end) for s in stops) if i != -1]
    return left, (min(rights) if rights else len(text))


def _is_current_mention(text: str, start: int, end: int) -> bool:
    left, right = _sentence_around(text, start, end)
    if _NEGATION_BEFORE.search(text[left:start]):
        return False
    sentence = text[left:right]
    return not (_GENERAL_QUESTION.search(sentence) or _HISTORY.search(sentence))


def screen_message(text: str) -> list[TriageFlag]:
    """Red flags raised by one patient message, at most one per rule."""
    flags = []
    for rule in RULES:
        for match in rule.pattern.finditer(text):
            if _is_current_mention(text, match.start(), match.end()):
                flags.append(
                    TriageFlag(rule.id, rule.category, rule.urgency, match.group(0), match.start(), match.end())
                )
                break
    return flags


_HUMAN_REQUEST = re.compile(
    r"(?:(?:speak|talk) (?:to|with) (?:a |the )?(?:real |actual |human )?(?:doctor|person|human)|real doctor|"
    r"not (?:a |an )?(?:bot|ai|robot)|human please|真人|人工(?:客服|服务)?|医生本人|找医生|不要机器人)",
    re.IGNORECASE,
)


def asks_for_human(text: str) -> bool:
    return bool(_HUMAN_REQUEST.search(text))
