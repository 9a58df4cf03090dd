"""The pre-visit extractor was rewritten for speed (lower-cased text, sre's first-character
prefilter); what it finds must not change. Every text here goes through the current
`reviews.previsit_extract` and through `previsit_extract_reference`, a frozen copy of the
implementation before that rewrite, and both must answer the same — including raising the
same error where the old one raised."""

import json
import re
import sys
from pathlib import Path

import pytest

from reviews import previsit_extract, previsit_lexicon
from reviews.demo_content import SCENARIOS

from . import previsit_extract_reference as reference

DEV_SET = Path(__file__).parent / "data" / "triage_dev.jsonl"

# Characters that test the lower-casing shortcut: İ lower-cases to two characters; ı, ſ and
# the Kelvin sign K match i, s and k under IGNORECASE; final Σ lower-cases by context.
PREFIXES = ("", "x", "5", "吃了", "İ", "ı", "ſ", "K", "Σ ", "- ", "(", "“", "no ", "不", "对")
SUFFIXES = ("", "x", "5", "?", "？", ".", "了", "İ", "ſ", "Σ", " allergy", "过敏", " 吗")


FOLD = str.maketrans({"İ": "i", "ı": "i", "ſ": "s"})


def outcome(extract, ask, body: str) -> tuple:
    """What a caller sees for one message: the mentions and the question, or the error."""
    try:
        mentions = [(m.kind, m.term, m.text) for m in extract(body)]
    except Exception as error:
        mentions = type(error).__name__
    try:
        question = ask(body)
    except Exception as error:
        question = type(error).__name__
    return mentions, question


def base_texts() -> list[str]:
    texts = []
    for scenario in SCENARIOS:
        texts += [scenario.patient, scenario.draft, *(scenario.follow_up or ())]
    texts += [json.loads(line)["text"] for line in DEV_SET.read_text(encoding="utf-8").splitlines()]
    return texts


def lexicon_phrases() -> list[str]:
    """Every synonym the extractor knows, alone and in the phrases its rules look at."""
    frames = (
        "{}",
        "I have {} since Monday",
        "no {}, but {}",
        "not allergic to {} and {}",
        "{} allergy",
        "Allergic   to the {}",
        "吃了{}，没有{}",
        "对{}过敏",
        "不{}",
        "{}s and {}-like",
        "can i take {} with my {}?",
    )
    words = [
        synonym
        for terms in (previsit_lexicon.SYMPTOMS, previsit_lexicon.MEDICATIONS, previsit_lexicon.ALLERGENS)
        for term in terms
        for synonym in term.synonyms
    ]
    words += list(previsit_lexicon.NEGATIONS_EN + previsit_lexicon.NEGATIONS_ZH + previsit_lexicon.NEGATION_BREAKS)
    words += list(previsit_lexicon.QUESTION_STARTS_EN + previsit_lexicon.QUESTION_WORDS_ZH)
    words += list(previsit_lexicon.NOT_QUESTIONS_ZH + previsit_lexicon.NOT_NEGATIONS_ZH)
    return [
        frame.format(word, words[(i * 7 + 3) % len(words)])
        for i, word in enumerate(words)
        for frame in frames[i % 3 :: 3]
    ]


def variants(text: str, i: int) -> list[str]:
    """The text as typed differently: shouting, capitalised, glued to other characters."""
    prefix, suffix = PREFIXES[i % len(PREFIXES)], SUFFIXES[i % len(SUFFIXES)]
    return [
        text,
        text.upper(),
        text.title(),
        prefix + text + suffix,
        re.sub(r"(?<=\w) ", "  \n", text),
        text.replace("'", "’").replace(",", "，").replace("i", "İ", 1).replace("s", "ſ", 1),
    ]


# Where the rewrite could go wrong: a Chinese synonym ending in a Latin letter glued to an
# English one (the two languages are searched apart and merged), full stops in numbers,
# questions after a comma or after spaces, words glued to letters, digits and Chinese.
EDGES = (
    "吃了维生素Dha和维生素B6ibuprofen，维生素dHA",
    "维生素D3 and vitamin d3, vit dha",
    "Temp 38.5.Headache 39.0!fever",
    "ok, can i take tylenol,，  should i worry\n  is it bad",
    "好的，how long？   what about 头痛吗啡",
    "swollen feetx and swollen feet",
    "xheadache headachex 5headache headache5 吃了headache头痛x",
    "Not   allergic  to  penicillin or  SULFA, but allergic to eggs & milk/dairy",
    "对头孢类药物不过敏，青霉素过敏",
    "ΣHEADACHE Σ FEVER ΣΣ",
    "",
    " ",
    "?",
)


def corpus() -> list[str]:
    texts = base_texts() + lexicon_phrases() + list(EDGES)
    return [variant for i, text in enumerate(texts) for variant in variants(text, i)]


def test_the_corpus_reaches_the_fallback_and_the_errors():
    """The comparison below is only worth something if the corpus holds texts that take the
    case-insensitive fallback and texts the old extractor could not read."""
    texts = corpus()
    assert len(texts) > 5000
    lowered = [text for text in texts if len(text.lower()) != len(text) or "ı" in text or "ſ" in text]
    assert len(lowered) > 500
    assert any(outcome(reference.extract_patient_message, reference.question_asked, t)[0] == "KeyError" for t in texts)


def _terms(found) -> list:
    return [(kind, term) for kind, term, _text in found]


@pytest.mark.parametrize("chunk", range(4))
def test_extraction_and_questions_are_unchanged(chunk):
    """Identical answers, except where the old extractor crashed (KeyError on İ, ı, ſ
    inside a lexicon word): there the new one finds what the old one found once those
    letters are written as i and s."""
    texts = corpus()[chunk::4]
    different = []
    for text in texts:
        new = outcome(previsit_extract.extract_patient_message, previsit_extract.question_asked, text)
        old = outcome(reference.extract_patient_message, reference.question_asked, text)
        if old[0] == "KeyError":
            plain = outcome(reference.extract_patient_message, reference.question_asked, text.translate(FOLD))
            if new[0] == "KeyError" or _terms(new[0]) != _terms(plain[0]) or new[1] != old[1]:
                different.append(text)
        elif new != old:
            different.append(text)
    assert different == []
    # Ties the reference's Term objects to the live ones: a mention compares by the same lexicon.
    assert reference.lexicon is previsit_lexicon


def test_lower_casing_a_text_keeps_what_every_pattern_character_matches():
    """The shortcut behind the speed-up: for any character whose lower-case form is one
    character (other than ı and ſ, which take the fallback), a case-insensitive pattern
    matches the character exactly when the case-sensitive pattern matches its lower-case
    form. Only cased characters can differ; all of them are checked."""
    atoms = {re.escape(c) for c in "abcdefghijklmnopqrstuvwxyz0123456789 '’-,，"} | {r"[a-z0-9]", r"[a-z]", r"\s"}
    insensitive = {atom: re.compile(atom, re.IGNORECASE) for atom in atoms}
    sensitive = {atom: re.compile(atom) for atom in atoms}
    differing = []
    for code in range(sys.maxunicode + 1):
        char = chr(code)
        lower = char.lower()
        if (lower == char and char.upper() == char) or len(lower) != 1 or char in "ıſ":
            continue
        differing += [
            (char, atom)
            for atom in atoms
            if bool(insensitive[atom].fullmatch(char)) != bool(sensitive[atom].fullmatch(lower))
        ]
    assert differing == []
