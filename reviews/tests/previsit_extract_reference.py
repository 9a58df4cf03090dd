"""Reading a patient's own words for the pre-visit compile: symptoms, medications,
allergies and questions, in English and Chinese.

Extraction reads the patient's own messages with the bilingual lexicon of
`reviews.previsit_lexicon`: symptoms, medications and allergies, with a cheap negation
check ("no headache", "没有头痛", "不发烧", "not allergic to") that drops a mention when a
negation comes earlier in the same clause. A clause ends at a comma or a full stop, so
"no fever, cough" still lists the cough: an extra line for the doctor to read is better
than a symptom hidden from them.
"""

import bisect
import re
from collections.abc import Iterator
from dataclasses import dataclass

from reviews import previsit_lexicon as lexicon

CONCERN_LENGTH = 200
MENTION_LENGTH = 80


def _normal(words: str) -> str:
    return " ".join(words.lower().replace("'", "").replace("’", "").split())


def _units(word: str) -> list[str]:
    """A synonym as pattern pieces: one character each, any run of spaces for a space and
    an optional apostrophe ("can't", "can’t", "cant")."""
    if not word.isascii():
        return [re.escape(char) for char in word.lower()]
    units: list[str] = []
    for position, part in enumerate(word.lower().split()):
        if position:
            units.append(r"\s+")
        units += ["['’]?" if char == "'" else re.escape(char) for char in part]
    return units


def _trie_pattern(words: list[str]) -> str:
    """The words as a prefix tree, so the engine rejects a position after a character or
    two instead of trying hundreds of alternatives there. An optional branch is greedy:
    at one position the longest word wins ("偏头痛", a migraine, over "头痛")."""
    root: dict = {}
    for word in words:
        node = root
        for unit in _units(word):
            node = node.setdefault(unit, {})
        node[""] = {}

    def render(node: dict) -> str:
        branches = [unit + render(child) for unit, child in sorted(node.items()) if unit]
        if not branches:
            return ""
        body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
        return f"(?:{body})?" if "" in node else body

    return render(root)


def _alternation(words: tuple[str, ...]) -> str:
    english = [w for w in words if w.isascii()]
    chinese = [w for w in words if not w.isascii()]
    # Not \b for English: a Chinese character counts as a word character, so "吃了Tylenol"
    # has no word boundary before the T. Chinese is matched as a substring: no spaces.
    parts = [f"(?<![a-z0-9])(?:{_trie_pattern(english)})(?![a-z0-9])"] if english else []
    return "|".join(parts + ([_trie_pattern(chinese)] if chinese else []))


class _Matcher:
    """One pattern for a whole list of terms; at one position the longest synonym wins."""

    def __init__(self, terms: tuple[lexicon.Term, ...]) -> None:
        self.terms: dict[str, lexicon.Term] = {}
        for term in terms:
            for synonym in term.synonyms:
                if self.terms.setdefault(_normal(synonym), term) is not term:
                    raise ValueError(f"{synonym!r} belongs to two terms of the pre-visit lexicon")
        self.pattern = re.compile(_alternation(tuple(s for term in terms for s in term.synonyms)), re.IGNORECASE)

    def finditer(self, text: str) -> Iterator[tuple[lexicon.Term, int, int]]:
        for match in self.pattern.finditer(text):
            yield self.terms[_normal(match.group())], match.start(), match.end()


_SYMPTOMS = _Matcher(lexicon.SYMPTOMS)
_MEDICATIONS = _Matcher(lexicon.MEDICATIONS)
_SUBSTANCES = _Matcher(lexicon.ALLERGENS + lexicon.MEDICATIONS)

# Clause ends; a full stop inside a number ("38.5") is not one. 、 is not: "没有头痛、发烧" lists.
_CLAUSE_STOP = re.compile(r"[!?;,\n。！？；，]|\.(?!\d)")
_NEGATION_BREAK = re.compile(_alternation(lexicon.NEGATION_BREAKS), re.IGNORECASE)
_NOT_NEGATION = "|".join(re.escape(w[len(lexicon.NEGATION_ZH_NEAR) :]) for w in lexicon.NOT_NEGATIONS_ZH)
_NEGATED = re.compile(
    rf"(?:{_alternation(lexicon.NEGATIONS_EN)}).{{0,40}}$"
    rf"|(?:{_alternation(lexicon.NEGATIONS_ZH)}).{{0,8}}$"
    rf"|{lexicon.NEGATION_ZH_NEAR}(?!{_NOT_NEGATION}).{{0,2}}$",
    re.IGNORECASE | re.DOTALL,
)
_ALLERGIC_TO = re.compile(r"allerg(?:ic|y|ies)(?:\s+reactions?)?\s+to\s+(?:(?:the|a|any|all)\s+)?$", re.IGNORECASE)
_ALLERGY_AFTER = re.compile(
    r"\s*-?\s*allerg(?:y|ies)(?![a-z])|(?:类药物|类药|类|药物|药|也|都|有点|会|有|严重|以后|之后|后){0,3}(?P<zh_no>不|没有|没)?过敏",
    re.IGNORECASE,
)
_LIST_SEPARATOR = re.compile(r"(?:\s|,|，|、|/|&|(?<![a-z])(?:and|or)(?![a-z])|和|或者|或|以及|及)*", re.IGNORECASE)
_SENTENCE = re.compile(r"(?:[^.!?。！？\n]|\.(?=\d))+[.!?。！？]*")
_QUESTION_START = re.compile(rf"(?:^|[,，]\s*)(?:{_alternation(lexicon.QUESTION_STARTS_EN)})", re.IGNORECASE)
_QUESTION_WORD = re.compile(_alternation(lexicon.QUESTION_WORDS_ZH))
_NOT_QUESTION = re.compile(_alternation(lexicon.NOT_QUESTIONS_ZH))


@dataclass(frozen=True)
class Mention:
    kind: str  # "symptom" | "medication" | "allergy"
    term: lexicon.Term
    text: str  # the clause around the match


class _Text:
    """A message body with its clause boundaries, for excerpts and negation checks."""

    def __init__(self, body: str) -> None:
        self.body = body
        self.stops = [m.start() for m in _CLAUSE_STOP.finditer(body)]

    def clause(self, start: int, end: int) -> tuple[int, int]:
        before = bisect.bisect_left(self.stops, start)
        left = self.stops[before - 1] + 1 if before else 0
        after = bisect.bisect_left(self.stops, end)
        return left, self.stops[after] if after < len(self.stops) else len(self.body)

    def excerpt(self, start: int, end: int) -> str:
        left, right = self.clause(start, end)
        budget = MENTION_LENGTH - 2  # room for an ellipsis each side
        if right - left <= MENTION_LENGTH:
            return " ".join(self.body[left:right].split())
        a = max(left, start - (budget - (end - start)) // 2)
        b = min(right, a + budget)
        a = max(left, b - budget)
        text = " ".join(self.body[a:b].split())
        return ("…" if a > left else "") + text + ("…" if b < right else "")

    def negated(self, start: int) -> bool:
        left, _right = self.clause(start, start)
        before = self.body[left:start]
        breaks = list(_NEGATION_BREAK.finditer(before))
        if breaks:
            before = before[breaks[-1].end() :]
        return bool(_NEGATED.search(before))


def _allergies(text: _Text) -> tuple[list[Mention], list[tuple[int, int]]]:
    """Allergies stated in a message, and the spans of every substance an allergy phrase
    names (negated ones too), which are not medication mentions: "对头孢过敏" is no dose."""
    chains: list[list[tuple[lexicon.Term, int, int]]] = []
    for match in _SUBSTANCES.finditer(text.body):
        # "allergic to penicillin, sulfa and eggs": one phrase for the whole list.
        if chains and _LIST_SEPARATOR.fullmatch(text.body, chains[-1][-1][2], match[1]):
            chains[-1].append(match)
        else:
            chains.append([match])
    found: list[Mention] = []
    spans: list[tuple[int, int]] = []
    for chain in chains:
        first, last = chain[0][1], chain[-1][2]
        left, right = text.clause(first, last)
        after = _ALLERGY_AFTER.match(text.body, last, right)
        if not _ALLERGIC_TO.search(text.body[left:first]):
            if not after:
                continue
            # "X allergy" names what stands right before it: in "on cetirizine, pollen
            # allergy" the list ends at the comma.
            last_clause, _right = text.clause(chain[-1][1], last)
            chain = [match for match in chain if match[1] >= last_clause]
            first = chain[0][1]
        spans += [(start, end) for _term, start, end in chain]
        if text.negated(first) or (after and after.group("zh_no")):
            continue
        found += [Mention("allergy", term, text.excerpt(start, end)) for term, start, end in chain]
    return found, spans


def extract_patient_message(body: str) -> list[Mention]:
    """Symptoms, medications and allergies a patient states in one message, in text order
    within each kind, at most one mention of a term per kind."""
    text = _Text(body)
    allergies, allergy_spans = _allergies(text)
    found: list[Mention] = []
    for term, start, end in _SYMPTOMS.finditer(body):
        if not text.negated(start):
            found.append(Mention("symptom", term, text.excerpt(start, end)))
    for term, start, end in _MEDICATIONS.finditer(body):
        in_allergy = any(s < end and start < e for s, e in allergy_spans)
        if not in_allergy and not text.negated(start):
            found.append(Mention("medication", term, text.excerpt(start, end)))
    seen: set[tuple[str, str]] = set()
    unique = []
    for item in found + allergies:
        if (item.kind, item.term.key) not in seen:
            seen.add((item.kind, item.term.key))
            unique.append(item)
    return unique


def question_asked(body: str) -> str | None:
    """The sentences of a patient message that ask something, or None when none does."""
    questions = []
    for match in _SENTENCE.finditer(body):
        sentence = match.group().strip()
        plain = _NOT_QUESTION.sub("", sentence)
        if sentence.endswith(("?", "？")) or _QUESTION_START.search(sentence) or _QUESTION_WORD.search(plain):
            questions.append(sentence)
    return shorten(" ".join(questions), CONCERN_LENGTH) if questions else None


# --- Assembling the summary ---------------------------------------------------------------


def shorten(text: str, limit: int) -> str:
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    if space > limit * 0.6:  # English: end on a whole word; Chinese has no spaces to find
        cut = cut[:space]
    return cut.rstrip(" ,;，；、") + "…"
