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

from . import previsit_lexicon as lexicon

CONCERN_LENGTH = 200
MENTION_LENGTH = 80


# Letters a case-insensitive match takes for i and s whose lower case is not i or s: a
# mention typed with them ("İtching", "ſore throat") must still find its term.
_FOLD = str.maketrans({"İ": "i", "ı": "i", "ſ": "s"})


def _normal(words: str) -> str:
    return " ".join(words.translate(_FOLD).lower().replace("'", "").replace("’", "").split())


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


def _trie_branches(words: list[str], *, english: bool) -> list[str]:
    """The words as a prefix tree, so the engine rejects a position after a character or
    two instead of trying hundreds of alternatives there. An optional branch is greedy:
    at one position the longest word wins ("偏头痛", a migraine, over "头痛").

    Returned as the tree's top-level branches, each starting with one literal character,
    so that a pattern made of them starts with a plain alternation of literals: sre then
    skips, in C, every position whose character starts no word. English words must stand
    alone: not \\b, because a Chinese character counts as a word character, so "吃了Tylenol"
    has no word boundary before the T. The check that no letter or digit comes before the
    word sits after its first character, as a two-character lookbehind, since a leading
    lookbehind would hide the literal from sre. Chinese is matched as a substring: no spaces."""
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

    if not english:
        return [unit + render(child) for unit, child in sorted(root.items())]
    # The lookahead stays after the whole rest of the word, so a longer word that runs into
    # a letter still gives way to a shorter one ("swollen feetx" finds "swollen").
    return [f"{unit}(?<![a-z0-9]{unit})(?:{render(child)})(?![a-z0-9])" for unit, child in sorted(root.items())]


def _by_language(words: tuple[str, ...]) -> tuple[list[str], list[str]]:
    """English and Chinese words. Matching both in one alternation (or merging their
    matches) reads the same as "English, else Chinese" at each position only while no
    Chinese word starts with the character an English word starts with."""
    english = [w for w in words if w.isascii()]
    chinese = [w for w in words if not w.isascii()]
    if {w[0].lower() for w in english} & {w[0].lower() for w in chinese}:
        raise ValueError("an English and a Chinese word of the pre-visit lexicon start alike")
    return english, chinese


def _alternation(words: tuple[str, ...]) -> str:
    english, chinese = _by_language(words)
    return "|".join(_trie_branches(english, english=True) + _trie_branches(chinese, english=False))


class _Matcher:
    """The terms of a list in a text, as one pattern would find them: left to right, the
    longest synonym at a position, none overlapping.

    English and Chinese synonyms are two patterns: sre tries the branches of an alternation
    one by one, so a letter of English text would otherwise be checked against every
    Chinese first character too. Their matches are merged as the single alternation of
    `_alternation` would make them; no synonym starts in both languages at one position."""

    def __init__(self, terms: tuple[lexicon.Term, ...], flags: re.RegexFlag) -> None:
        self.terms: dict[str, lexicon.Term] = {}
        for term in terms:
            for synonym in term.synonyms:
                if self.terms.setdefault(_normal(synonym), term) is not term:
                    raise ValueError(f"{synonym!r} belongs to two terms of the pre-visit lexicon")
        english, chinese = _by_language(tuple(s for term in terms for s in term.synonyms))
        # None for a language without synonyms: an empty pattern would match everywhere.
        self.english = re.compile("|".join(_trie_branches(english, english=True)), flags) if english else None
        self.chinese = re.compile("|".join(_trie_branches(chinese, english=False)), flags) if chinese else None

    def finditer(self, text: str, start: int = 0) -> Iterator[tuple[lexicon.Term, int, int]]:
        """The matches from `start` on: the same as those of the whole text when none starts
        before it (the patterns still look at the characters before `start`)."""
        english = self.english.search(text, start) if self.english else None
        # A Chinese synonym holds a non-ASCII character, so an ASCII text has none.
        chinese = self.chinese.search(text, start) if self.chinese and not text.isascii() else None
        while english or chinese:
            if chinese is None or (english is not None and english.start() < chinese.start()):
                match = english
            else:
                match = chinese
            # A lower-cased synonym written with single spaces is its own key.
            term = self.terms.get(match.group())
            yield term if term is not None else self.terms[_normal(match.group())], match.start(), match.end()
            # The next match starts at or after this one's end: search again where it overlaps.
            end = match.end()
            if english is not None and english.start() < end:
                english = self.english.search(text, end)
            if chinese is not None and chinese.start() < end:
                chinese = self.chinese.search(text, end)


class _Patterns:
    """The extractor's patterns for words in any case, compiled for one way of reading a
    text: lower-cased (plain patterns) or as written (IGNORECASE)."""

    def __init__(self, flags: re.RegexFlag) -> None:
        self.symptoms = _Matcher(lexicon.SYMPTOMS, flags)
        self.medications = _Matcher(lexicon.MEDICATIONS, flags)
        self.substances = _Matcher(lexicon.ALLERGENS + lexicon.MEDICATIONS, flags)
        self.negation_break = re.compile(_alternation(lexicon.NEGATION_BREAKS), flags)
        not_negation = "|".join(re.escape(w[len(lexicon.NEGATION_ZH_NEAR) :]) for w in lexicon.NOT_NEGATIONS_ZH)
        self.negated = re.compile(
            rf"(?:{_alternation(lexicon.NEGATIONS_EN)}).{{0,40}}$"
            rf"|(?:{_alternation(lexicon.NEGATIONS_ZH)}).{{0,8}}$"
            rf"|{lexicon.NEGATION_ZH_NEAR}(?!{not_negation}).{{0,2}}$",
            flags | re.DOTALL,
        )
        self.allergic_to = re.compile(r"allerg(?:ic|y|ies)(?:\s+reactions?)?\s+to\s+(?:(?:the|a|any|all)\s+)?$", flags)
        self.allergy_after = re.compile(
            r"\s*-?\s*allerg(?:y|ies)(?![a-z])|(?:类药物|类药|类|药物|药|也|都|有点|会|有|严重|以后|之后|后){0,3}(?P<zh_no>不|没有|没)?过敏",
            flags,
        )
        self.list_separator = re.compile(r"(?:\s|,|，|、|/|&|(?<![a-z])(?:and|or)(?![a-z])|和|或者|或|以及|及)*", flags)
        # A question starts a sentence or follows a comma in it: two patterns, so that the
        # second starts with a character set sre can skip to.
        self.question_opening = re.compile(_alternation(lexicon.QUESTION_STARTS_EN), flags)
        self.question_after_comma = re.compile(rf"[,，]\s*(?:{_alternation(lexicon.QUESTION_STARTS_EN)})", flags)


# Most texts are read lower-cased, with case-sensitive patterns: under IGNORECASE sre cannot
# use a pattern's first characters to skip positions, and tries the whole pattern at each.
# Lower-casing keeps every match only while each character lower-cases to one (so positions
# agree: "İ" becomes two) and for two that IGNORECASE alone equates with a letter of the
# patterns ("ı" with i, "ſ" with s); other texts are read as they are, case-insensitively.
_LOWER_CASED = _Patterns(re.NOFLAG)
_AS_WRITTEN = _Patterns(re.IGNORECASE)


def _reading(body: str) -> tuple[str, _Patterns]:
    """The text to match the patterns against, position for position the same as `body`."""
    lowered = body.lower()
    if len(lowered) == len(body) and "ı" not in lowered and "ſ" not in lowered:
        return lowered, _LOWER_CASED
    return body, _AS_WRITTEN


# Clause ends; a full stop inside a number ("38.5") is not one. 、 is not: "没有头痛、发烧" lists.
# Both patterns are written to start with a character set and to take runs of characters
# in one step, which sre does in C; the lookbehind holds the lookahead for the full stop.
_CLAUSE_STOP = re.compile(r"[!?;,\n。！？；，.](?<!\.(?=\d))")
_SENTENCE = re.compile(r"(?:[^.!?。！？\n]+|\.(?=\d))+[.!?。！？]*")
_QUESTION_WORD = re.compile(_alternation(lexicon.QUESTION_WORDS_ZH))
_NOT_QUESTION = re.compile(_alternation(lexicon.NOT_QUESTIONS_ZH))
# Whether an all-ASCII sentence could hold a Chinese question word (it cannot, while they are Chinese).
_QUESTION_WORD_IN_ASCII = any(w.isascii() for w in lexicon.QUESTION_WORDS_ZH + lexicon.NOT_QUESTIONS_ZH)


@dataclass(frozen=True)
class Mention:
    kind: str  # "symptom" | "medication" | "allergy"
    term: lexicon.Term
    text: str  # the clause around the match


class _Text:
    """A message body with its clause boundaries, for excerpts and negation checks; `read`
    is what the patterns of `patterns` match against, position for position the body."""

    def __init__(self, body: str) -> None:
        self.body = body
        self.read, self.patterns = _reading(body)
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
        before = self.read[left:start]
        breaks = list(self.patterns.negation_break.finditer(before))
        if breaks:
            before = before[breaks[-1].end() :]
        return bool(self.patterns.negated.search(before))


def _allergies(
    text: _Text, substances: list[tuple[lexicon.Term, int, int]]
) -> tuple[list[Mention], list[tuple[int, int]]]:
    """Allergies stated in a message, and the spans of every substance an allergy phrase
    names (negated ones too), which are not medication mentions: "对头孢过敏" is no dose."""
    patterns = text.patterns
    chains: list[list[tuple[lexicon.Term, int, int]]] = []
    for match in substances:
        # "allergic to penicillin, sulfa and eggs": one phrase for the whole list.
        if chains and patterns.list_separator.fullmatch(text.read, chains[-1][-1][2], match[1]):
            chains[-1].append(match)
        else:
            chains.append([match])
    found: list[Mention] = []
    spans: list[tuple[int, int]] = []
    for chain in chains:
        first, last = chain[0][1], chain[-1][2]
        left, right = text.clause(first, last)
        after = patterns.allergy_after.match(text.read, last, right)
        if not patterns.allergic_to.search(text.read[left:first]):
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
    substances = list(text.patterns.substances.finditer(text.read))
    allergies, allergy_spans = _allergies(text, substances)
    found: list[Mention] = []
    for term, start, end in text.patterns.symptoms.finditer(text.read):
        if not text.negated(start):
            found.append(Mention("symptom", term, text.excerpt(start, end)))
    # Every medication is a substance too, so none starts before the first substance found,
    # and a message without one (most of them) needs no search for medications.
    medications = text.patterns.medications.finditer(text.read, substances[0][1]) if substances else ()
    for term, start, end in medications:
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
    read, patterns = _reading(body)
    questions = []
    for match in _SENTENCE.finditer(body):
        sentence = match.group().strip()
        # The sentence as read: a slice, so that lookbehinds stop at its edge.
        start = match.start() + len(match.group()) - len(match.group().lstrip())
        if _asks(sentence, read[start : start + len(sentence)], patterns):
            questions.append(sentence)
    return shorten(" ".join(questions), CONCERN_LENGTH) if questions else None


def _asks(sentence: str, read: str, patterns: _Patterns) -> bool:
    """Whether a sentence asks something; the cheapest checks first."""
    if sentence.endswith(("?", "？")):
        return True
    if patterns.question_opening.match(read) or patterns.question_after_comma.search(read):
        return True
    if sentence.isascii() and not _QUESTION_WORD_IN_ASCII:
        return False
    return bool(_QUESTION_WORD.search(_NOT_QUESTION.sub("", sentence)))


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
