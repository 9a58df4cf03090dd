"""The red-flag screen was made faster (a cheaper anchor lookup, break patterns sre can skip
through); what it raises must not change. Every text here goes through the live
`reviews.triage.red_flags.screen_message` and through `triage_reference`, a frozen copy of
the screen before that change reading the same rules file, and both must raise the same
flags: rule, category, urgency, span and matched text, hence the same urgency."""

import json
import re
from pathlib import Path

import pytest

from reviews.demo_content import SCENARIOS
from reviews.policy import URGENCY_ORDER
from reviews.triage import red_flags
from reviews.triage.anchors import literal_first

from .triage_reference import red_flags as reference

DATA = Path(__file__).parent / "data"

# Characters that test the lower-casing: İ lower-cases to two characters; ı, ſ and the
# Kelvin sign K match i, s and k under IGNORECASE; final Σ lower-cases by context;
# full-width letters and curly apostrophes are read as plain ones.
PREFIXES = ("", "x", "5", "吃了", "İ", "ı", "ſ", "K", "Σ ", "- ", "(", "“", "no ", "不", "对", "３８.", ":")
SUFFIXES = ("", "x", "5", "?", "？", ".", "了", "İ", "ſ", "Σ", " today", "吗", ":00", "。", "！")


def outcome(screen, text: str) -> tuple[str, list[dict]]:
    """What a caller sees for one message: its urgency and its flags."""
    flags = [flag.as_dict() for flag in screen(text)]
    urgency = min((f["urgency"] for f in flags), key=URGENCY_ORDER.index, default="routine")
    return urgency, flags


def human_phrases() -> list[str]:
    """Every way of asking for a person the screen knows, in any case, among other words."""
    asks = re.findall(r"[^|()?]{3,}", reference._HUMAN_REQUEST.pattern)
    return [frame.format(ask) for ask in asks for frame in ("{}", "pls {} now", "x{}x", "can i {}?")]


def base_texts() -> list[str]:
    texts = []
    for scenario in SCENARIOS:
        texts += [scenario.patient, scenario.draft, *(scenario.follow_up or ())]
    for name in ("triage_dev.jsonl", "triage_holdout.jsonl"):
        texts += [json.loads(line)["text"] for line in (DATA / name).read_text(encoding="utf-8").splitlines()]
    return texts


def anchor_phrases() -> list[str]:
    """Every literal the screen looks for before it runs a regex, in phrases around it:
    alone, glued to other anchors, after a negation, in a past or a general clause."""
    anchors = sorted(reference.RULE_SET.anchors._openings)
    anchors += sorted(
        anchor for exact, longer in reference.RULE_SET.anchors._by_opening.values() for anchor in exact + longer
    )
    frames = (
        "{}",
        "I have {} since this morning and {}",
        "no {}, but {} right now",
        "my father had {} in 2010: {}",
        "what are the signs of {}? {}",
        "没有{}，但是{}",
        "{}{}",
        "宝宝{}了，今天{}",
        "{} 38.5 {}",
        "no {} but {}",
        "没有{}可是{}",
        "not {} and then {}",
        "deny {} so {}",
        "12:30 no {}: {}",
        "no {}.{} 3.5",
    )
    return [
        frame.format(anchor, anchors[(i * 7 + 3) % len(anchors)])
        for i, anchor in enumerate(anchors)
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
        text.replace("'", "’").replace(",", "，").replace("i", "İ", 1).replace("s", "ſ", 1).replace("k", "K", 1),
        text.replace(".", ":").replace(" ", ""),
    ]


EDGES = (
    "",
    " ",
    "?",
    "12:30 chest pain.3.5 then no chest pain: but chest pain",
    "chest pain but no chest pain however chest pain; although chest pain",
    "胸痛，但是没有胸痛。可是胸痛然后胸痛后来胸痛之后胸痛以后胸痛结果胸痛",
    "ＣＨＥＳＴ ＰＡＩＮ ｔｏｄａｙ",
    "butchest pain sochest pain thenchest pain",
    "没有胸痛没有胸痛" * 60 + "胸痛",
    "no fever but chest pain, no fever however chest pain, no fever although chest pain",
    "no fever though chest pain; no fever except chest pain. no fever and then chest pain",
    "no fever then chest pain! no fever so chest pain? no fever because chest pain",
    "no fever until chest pain\nno fever abut chest pain no fever butchest pain",
    "没发烧，但胸口痛。没发烧可是胸口痛，没发烧然后胸口痛，没发烧结果胸口痛",
    "no fever:chest pain 12:30 no fever 1.chest pain no fever.chest pain",
)


def corpus() -> list[str]:
    texts = base_texts() + anchor_phrases() + human_phrases() + list(EDGES)
    return [variant for i, text in enumerate(texts) for variant in variants(text, i)]


def test_the_corpus_raises_flags_and_reaches_the_odd_letters():
    """The comparison below is only worth something if the corpus raises many flags of
    many rules and holds texts whose lower case changes length."""
    texts = corpus()
    assert len(texts) > 10000
    assert sum(1 for text in texts if len(text.lower()) != len(text)) > 500
    fired = {flag["rule_id"] for text in texts[::5] for flag in outcome(reference.screen_message, text)[1]}
    assert len(fired) > 0.8 * len(reference.RULES)


@pytest.mark.parametrize("chunk", range(4))
def test_flags_and_urgency_are_unchanged(chunk):
    texts = corpus()[chunk::4]
    different = [
        text for text in texts if outcome(red_flags.screen_message, text) != outcome(reference.screen_message, text)
    ]
    assert different == []


def test_asking_for_a_person_is_read_the_same():
    texts = corpus()
    assert sum(1 for text in texts if reference.asks_for_human(text)) > 100
    assert [text for text in texts if red_flags.asks_for_human(text) != reference.asks_for_human(text)] == []


def test_the_anchors_found_are_unchanged():
    """The cheaper lookup finds exactly the anchors the old one found, so every rule branch
    that ran before still runs."""
    live, old = red_flags.RULE_SET.anchors, reference.RULE_SET.anchors
    for text in corpus()[::3]:
        lowered = red_flags._same_length_lower(text.translate(red_flags._PLAIN))
        assert live.present(lowered) == old.present(lowered), text


def _every_alternatives(rule_set) -> list:
    found = list(vars(rule_set.cues).values())
    for rule in rule_set.rules:
        found += [rule.patterns, *rule.requires, *([rule.exclusion] if rule.exclusion else [])]
    return found


def test_every_regex_matches_the_same_with_its_word_boundary_moved():
    """Each regex of the rules file runs as `anchors.literal_first` rewrites it; on lower-cased
    texts, from the start and from a later position, it finds the same matches as written."""
    live = [b for alternatives in _every_alternatives(red_flags.RULE_SET) for b in alternatives.branches]
    old = [b for alternatives in _every_alternatives(reference.RULE_SET) for b in alternatives.branches]
    assert len(live) == len(old)
    moved = [(new.pattern, was.pattern) for new, was in zip(live, old, strict=True) if new.pattern != was.pattern]
    assert len(moved) > 300
    texts = [red_flags._same_length_lower(text.translate(red_flags._PLAIN)) for text in corpus()[::150]]
    different = [
        (was.pattern, text)
        for new, was in moved
        for text in texts
        if [m.span() for m in new.finditer(text)] != [m.span() for m in was.finditer(text)]
        or [m.span() for m in new.finditer(text, 3, len(text) - 1)]
        != [m.span() for m in was.finditer(text, 3, len(text) - 1)]
    ]
    assert different == []


@pytest.mark.parametrize(
    ("written", "searched"),
    [
        (r"\bchest\b", r"c(?<!\wc)hest\b"),
        (r"\b(?:pains?|ache)\b", r"(?:p(?<!\wp)ains?|a(?<!\wa)che)\b"),
        (r"\b(?:(?:chest|chset))\s+", r"(?:(?:c(?<!\wc)hest|c(?<!\wc)hset))\s+"),
        (r"\b(?:no|nil)?\b", r"\b(?:no|nil)?\b"),  # an optional group: left as written
        (r"\bx?y", r"\bx?y"),
        (r"\b[a-z]+", r"\b[a-z]+"),
        (r"\b(?:a|[b])", r"\b(?:a|[b])"),
        (r"\b(?:a|)", r"\b(?:a|)"),
        (r"胸痛", r"胸痛"),
    ],
)
def test_literal_first_moves_a_leading_word_boundary_only_where_it_can(written, searched):
    assert literal_first(written) == searched
