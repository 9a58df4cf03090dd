"""The red-flag screen over patient messages, in English and Simplified Chinese.

The rules are data: `rules.toml` beside this module, whose header says what a rule may
say. Each rule names an urgency and a category, and the patterns that raise it; a match
counts only when it is a current, first-hand mention:

- not negated in its clause ("no chest pain", "denies", "没有胸痛", "不发烧", "没见红");
- not a past or someone else's history ("my father had a stroke in 2010", "去年", "以前"),
  unless the clause also says it is happening now ("today", "刚才");
- not a general or hypothetical question ("what are the signs of a stroke?", "中风有什么症状");
- not vetoed by one of the rule's own exclusions in the same sentence, and with every
  context the rule `requires` (an infant's age, a pregnancy) affirmed somewhere in the message.

A doctor's queue full of false alarms hides the real ones, so each of these is a rule, not
a guess; and a miss is worse than a false alarm, so the patterns lean towards recall.

Cost: each rule's regex runs only on messages that contain one of its anchors (literals
every match must contain, derived from the regex: `anchors.py`), checked by plain substring
tests; sentence and clause boundaries are found once per message and shared by all rules,
and the context checks look only at the clause around a match.
"""

import re
from bisect import bisect_left, bisect_right
from dataclasses import asdict, dataclass
from functools import cached_property

from .rules import Alternatives, Rule, RuleSet, load_rules

RULE_SET: RuleSet = load_rules()
RULES: tuple[Rule, ...] = RULE_SET.rules
RULES_VERSION: str = RULE_SET.version
_RULES_BY_ID: dict[str, Rule] = {rule.id: rule for rule in RULES}


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


def rule_by_id(rule_id: str) -> Rule | None:
    return _RULES_BY_ID.get(rule_id)


# Full-width ASCII (ＡＢＣ，３８．５) and curly apostrophes are read as their plain forms. Each
# character maps to exactly one, so a match's offsets are offsets into the original text.
_PLAIN = {code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F)} | {0x2019: "'", 0x2018: "'", 0x02BC: "'"}

_SENTENCE_BREAK = re.compile(r"[!?。！？\n]+|(?<!\d)\.|\.(?!\d)")
# A clause also ends at a comma, a semicolon, a colon that is not in a time, and before a
# contrast ("no fever but chest pain", "没发烧，但是胸口痛"): a negation does not cross it.
_CLAUSE_BREAK = re.compile(
    r"[!?。！？\n,，;；]+|(?<!\d)\.|\.(?!\d)|(?<!\d)[:：]|"
    r"\b(?:but|however|although|though|except|and then|then|so|because|until)\b|"
    r"但是?|可是|然而|然后|后来|之后|以后|结果"
)
_CJK = re.compile(r"[\u3400-\u9fff]")
_WORD = re.compile(r"[a-z0-9]+")
# How far a negation reaches: "no headaches or chest pain", "没有胸痛胸闷" — a few words or
# characters, not a whole clause ("there's no one at home and I have chest pain").
_NEGATION_REACH = 5
_ADJACENT_REACH = 2
# Context is read within this many characters of a match, however long its clause or
# sentence: a 20 000-character message without punctuation must not cost a scan of the
# whole text per match.
_CONTEXT_CHARS = 200
_NEGATION_CHARS = 100
# A rule stops looking after this many mentions that do not count ("没有胸痛没有胸痛…"
# pasted a thousand times); no patient writes fifty denials before the sign they have.
_MENTIONS_PER_RULE = 50


# "Fell off without a helmet and was knocked out": a negation ends at an English "and".
# (Chinese "没有发烧和咳嗽" lists what is denied, so 和 does not end it.)
_AND = re.compile(r"\band\b")


def _same_length_lower(text: str) -> str:
    lowered = text.lower()
    if len(lowered) == len(text):
        return lowered
    # A few letters lower-case to two characters ("İ"): keep those as they are.
    return "".join(ch.lower() if len(ch.lower()) == 1 else ch for ch in text)


def _gap_size(gap: str) -> int:
    return len(_CJK.findall(gap)) + len(_WORD.findall(gap))


def _breaks(pattern: re.Pattern[str], text: str) -> tuple[list[int], list[int]]:
    starts, ends = [], []
    for match in pattern.finditer(text):
        starts.append(match.start())
        ends.append(match.end())
    return starts, ends


def _span_between(breaks: tuple[list[int], list[int]], start: int, end: int, length: int) -> tuple[int, int]:
    """The stretch between the last break ending at or before `start` and the first starting at or after `end`."""
    starts, ends = breaks
    i = bisect_right(ends, start)
    left = ends[i - 1] if i else 0
    j = bisect_left(starts, end)
    right = starts[j] if j < len(starts) else length
    return left, right


class _Message:
    """One message's text with what every rule's checks share, computed at most once."""

    def __init__(self, text: str, rule_set: RuleSet) -> None:
        # Rules are compiled lower-case (`rules.lower_literals`) and read lower-cased text,
        # of the same length so that offsets are the original's.
        self.text = _same_length_lower(text)
        self.cues = rule_set.cues
        self._requirements: dict[int, bool] = {}
        self._live: dict[int, list[re.Pattern[str]]] = {}
        self._present = rule_set.anchors.present(self.text)
        candidates: dict[int, set[int]] = {}
        for anchor in self._present:
            for position, order in rule_set.branches_by_anchor.get(anchor, ()):
                candidates.setdefault(position, set()).add(order)
        for position, order in rule_set.unanchored:
            candidates.setdefault(position, set()).add(order)
        # Rule position -> the positions of its branches worth running on this message.
        self.candidates = {position: sorted(candidates[position]) for position in sorted(candidates)}

    def _branches(self, alternatives: Alternatives) -> list[re.Pattern[str]]:
        """The alternatives that can match this message: those whose anchors it contains."""
        key = id(alternatives)
        if key not in self._live:
            present = self._present
            self._live[key] = [
                branch.pattern
                for branch in alternatives.branches
                if branch.anchors is None or not branch.anchors.isdisjoint(present)
            ]
        return self._live[key]

    def _found(self, alternatives: Alternatives, left: int, right: int) -> bool:
        return any(pattern.search(self.text, left, right) for pattern in self._branches(alternatives))

    def matches(self, rule: Rule, orders: list[int]) -> list[re.Match[str]]:
        """The matches of the rule's candidate branches, leftmost first (then in the rule's order)."""
        branches = rule.patterns.branches
        found = [(m.start(), order, m) for order in orders for m in branches[order].pattern.finditer(self.text)]
        found.sort(key=lambda item: item[:2])
        return [match for _, _, match in found]

    @cached_property
    def _sentences(self) -> tuple[list[int], list[int]]:
        return _breaks(_SENTENCE_BREAK, self.text)

    @cached_property
    def _clauses(self) -> tuple[list[int], list[int]]:
        return _breaks(_CLAUSE_BREAK, self.text)

    def clause(self, start: int, end: int) -> tuple[int, int]:
        left, right = _span_between(self._clauses, start, end, len(self.text))
        return max(left, start - _CONTEXT_CHARS), min(right, end + _CONTEXT_CHARS)

    def excluded(self, exclusion: Alternatives, start: int, end: int) -> bool:
        left, right = _span_between(self._sentences, start, end, len(self.text))
        left, right = max(left, start - _CONTEXT_CHARS), min(right, end + _CONTEXT_CHARS)
        sentence = self.text[left:right]  # searched as a string of its own: "^" is its start
        return any(pattern.search(sentence) for pattern in self._branches(exclusion))

    def negated(self, start: int, end: int) -> bool:
        left, right = self.clause(start, end)
        window = max(left, start - _NEGATION_CHARS)
        for cues, reach in ((self.cues.negation, _NEGATION_REACH), (self.cues.negation_adjacent, _ADJACENT_REACH)):
            for pattern in self._branches(cues):
                for cue in pattern.finditer(self.text, window, start):
                    gap = self.text[cue.end() : start]
                    if _gap_size(gap) <= reach and not _AND.search(gap):
                        return not self._found(self.cues.negation_cancel, left, right)
        return False

    def current(self, start: int, end: int) -> bool:
        left, right = self.clause(start, end)
        return not self._found(self.cues.non_current, left, right) or self._found(self.cues.recent, left, right)

    def general_question(self, start: int, end: int) -> bool:
        left, right = self.clause(start, end)
        if self._found(self.cues.general_question, left, right):
            return True
        return self._asking_to_learn and not self._found(self.cues.recent, left, right)

    @cached_property
    def _asking_to_learn(self) -> bool:
        return self._found(self.cues.general_message, 0, len(self.text))

    def affirmed(self, rule: Rule, start: int, end: int) -> bool:
        if "negation" in rule.checks and self.negated(start, end):
            return False
        if rule.exclusion is not None and self.excluded(rule.exclusion, start, end):
            return False
        if "general_question" in rule.checks and self.general_question(start, end):
            return False
        return "non_current" not in rule.checks or self.current(start, end)

    def required(self, requirement: Alternatives) -> bool:
        """Whether a context a rule requires is stated, not denied or asked about, anywhere in the message."""
        key = id(requirement)
        if key not in self._requirements:
            self._requirements[key] = any(
                m.end() > m.start() and not self.negated(m.start(), m.end()) and not self.general_question(*m.span())
                for pattern in self._branches(requirement)
                for m in pattern.finditer(self.text)
            )
        return self._requirements[key]


def screen_message(text: str, *, rule_set: RuleSet = RULE_SET) -> list[TriageFlag]:
    """Red flags raised by one patient message, at most one per rule, in rules-file order."""
    plain = text.translate(_PLAIN)
    message = _Message(plain, rule_set)
    flags: list[TriageFlag] = []
    fired: set[str] = set()
    for position, orders in message.candidates.items():
        rule = rule_set.rules[position]
        if fired.intersection(rule.yields_to):
            continue
        for match in message.matches(rule, orders)[:_MENTIONS_PER_RULE]:
            start, end = match.span()
            if end == start or not message.affirmed(rule, start, end):
                continue
            # A requirement is message-wide: once one match is affirmed, the rule's answer is known.
            if all(message.required(requirement) for requirement in rule.requires):
                flags.append(
                    TriageFlag(rule.id, rule.category, rule.urgency, text[start:end], start, end, rule_set.version)
                )
                fired.add(rule.id)
            break
    return flags


_HUMAN_REQUEST = re.compile(
    r"(?:(?:speak|talk) (?:to|with) (?:a |the )?(?:real |actual |human )?(?:doctor|person|human)|real doctor|"
    r"not (?:a |an )?(?:bot|ai|robot)|human please|真人|人工(?:客服|服务)?|医生本人|找医生|不要机器人)",
    re.IGNORECASE,
)


def asks_for_human(text: str) -> bool:
    return bool(_HUMAN_REQUEST.search(text))
