"""The rules file itself: strict loading, sound anchors, and the bars on the labelled sets."""

import dataclasses
import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reviews.triage.anchors import AnchorIndex, required_literals, split_alternatives
from reviews.triage.evaluation import HELD, evaluate, read_messages
from reviews.triage.red_flags import RULE_SET, screen_message
from reviews.triage.rules import RULES_FILE, Alternatives, RulesFileError, load_rules, parse_rules

DATA = Path(__file__).parent / "data"
# A copy of ../shared/data/triage_dev.jsonl, so that the bars hold in a clean clone.
DEV_SET = DATA / "triage_dev.jsonl"
# Written for this screen and never tuned against before a first measurement; see README.
HELD_OUT_SET = DATA / "triage_holdout.jsonl"

MINIMAL = """
version = "test-1"
[cues]
negation = ['\\bno\\b']
negation_adjacent = ['不']
negation_cancel = ['never like this']
non_current = ['years ago']
recent = ['today']
general_question = ['signs of']
general_message = ['for future reference']
[categories]
chest_pain = "emergency"
[[rules]]
id = "chest_pain"
category = "chest_pain"
urgency = "emergency"
description = "Chest pain"
description_zh = "胸痛"
patterns = ['chest pain']
"""


# --- loading ------------------------------------------------------------------------------


def test_the_shipped_rules_file_loads_with_a_version_and_a_rule_for_every_design_red_flag():
    rule_set = load_rules(RULES_FILE)

    assert rule_set.version == RULE_SET.version
    categories = {rule.category for rule in rule_set.rules}
    # DESIGN §6's list, by category.
    assert {"chest_pain", "stroke", "breathing", "bleeding", "pregnancy", "anaphylaxis", "mental_health"} <= categories
    assert {"infant_fever", "seizure"} <= categories
    assert all(rule.description and rule.description_zh for rule in rule_set.rules)


def test_a_minimal_rules_file_screens():
    rule_set = parse_rules(MINIMAL)

    assert [f.rule_id for f in screen_message("chest pain again", rule_set=rule_set)] == ["chest_pain"]
    assert screen_message("no chest pain", rule_set=rule_set) == []
    assert screen_message("chest pain years ago", rule_set=rule_set) == []
    assert [f.rules_version for f in screen_message("chest pain years ago today", rule_set=rule_set)] == ["test-1"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (('urgency = "emergency"\ndescription', 'urgency = "critical"\ndescription'), r"rule 'chest_pain': urgency"),
        (("patterns = ['chest pain']", "patterns = ['chest (pain']"), r"rule 'chest_pain' patterns: the regex"),
        (("patterns = ['chest pain']", "patterns = ['@nothing']"), r"unknown term @nothing"),
        (("patterns = ['chest pain']", "patterns = []"), r"patterns: must be a non-empty list"),
        (("patterns = ['chest pain']", "patterns = ['chest pain']\nkeywords = ['x']"), r"unknown keys \['keywords'\]"),
        (('category = "chest_pain"\nurgency', 'category = "heart"\nurgency'), r"category 'heart' is not declared"),
        (('description_zh = "胸痛"\n', ""), r"missing 'description_zh'"),
        (("patterns = ['chest pain']", "patterns = ['chest pain']\nyields_to = ['later_rule']"), r"yields_to"),
        (("patterns = ['chest pain']", "patterns = ['chest pain']\nskip_checks = ['spelling']"), r"skip_checks"),
        (('version = "test-1"', 'version = ""'), r"version"),
        (("general_message = ['for future reference']\n", ""), r"missing \['general_message'\]"),
        (('version = "test-1"', 'version = "test-1"\ncolour = "red"'), r"unknown top-level keys \['colour'\]"),
        (('urgency = "emergency"\ndescription', 'urgency = "emergency"\ndescription = 1\ndescription'), r"TOML"),
    ],
)
def test_a_broken_rules_file_is_refused_with_an_error_naming_the_problem(change, message):
    old, new = change
    assert old in MINIMAL

    with pytest.raises(RulesFileError, match=message):
        parse_rules(MINIMAL.replace(old, new, 1))


def test_a_duplicate_rule_id_is_refused():
    duplicated = MINIMAL + MINIMAL[MINIMAL.index("[[rules]]") :]

    with pytest.raises(RulesFileError, match="'chest_pain': the id is used twice"):
        parse_rules(duplicated)


def test_a_missing_rules_file_is_a_clear_error(tmp_path):
    with pytest.raises(RulesFileError, match="cannot read the rules file"):
        load_rules(tmp_path / "nowhere.toml")


# --- anchors ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("regex", "anchors"),
    [
        (r"\bchest\s+(?:pain|ache)", {"chest"}),
        (r"胸(?:口)?[^，]{0,3}?(?:痛|疼)", {"胸"}),
        (r"(?<![\d.])3[89]\.\d", {"38.", "39."}),
        # The most selective of the literals a match must contain.
        (r"(?:no|not) (?:fever|cough)", {"fever", "cough"}),
        (r"a|b?", None),
        (r"\d+ weeks?", {" week"}),
    ],
)
def test_anchors_are_literals_every_match_contains(regex, anchors):
    assert required_literals(re.compile(regex)) == (frozenset(anchors) if anchors is not None else None)


def test_alternatives_split_at_the_top_level_only():
    assert split_alternatives(r"a|(?:b|c)|d(?:e|f)|[|]x|\|y") == ["a", "b", "c", "d(?:e|f)", "[|]x", r"\|y"]


def test_the_anchor_index_finds_exactly_the_anchors_in_a_text():
    index = AnchorIndex({"胸", "胸痛", "chest", "ch", "pregnant", "x"})

    assert index.present("my chest, 胸口") == frozenset({"胸", "chest", "ch"})


_BRANCHES = [branch.pattern for rule in RULE_SET.rules for branch in rule.patterns.branches]


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(st.data())
def test_every_string_a_rule_branch_matches_contains_one_of_its_anchors(data):
    pattern = data.draw(st.sampled_from(_BRANCHES))
    anchors = required_literals(pattern)
    text = data.draw(st.from_regex(pattern, fullmatch=True))

    assert anchors is None or any(anchor in text for anchor in anchors), (pattern.pattern, text)


def _without_anchors(alternatives: Alternatives) -> Alternatives:
    return Alternatives(tuple(dataclasses.replace(branch, anchors=None) for branch in alternatives.branches))


def test_anchors_never_change_what_the_screen_decides():
    """The anchored screen and one that runs every regex agree on every labelled message."""
    unanchored = dataclasses.replace(
        RULE_SET,
        rules=tuple(
            dataclasses.replace(
                rule,
                patterns=_without_anchors(rule.patterns),
                exclusion=_without_anchors(rule.exclusion) if rule.exclusion else None,
                requires=tuple(_without_anchors(r) for r in rule.requires),
            )
            for rule in RULE_SET.rules
        ),
        cues=type(RULE_SET.cues)(**{k: _without_anchors(v) for k, v in vars(RULE_SET.cues).items()}),
        branches_by_anchor={},
        unanchored=tuple((p, o) for p, rule in enumerate(RULE_SET.rules) for o in range(len(rule.patterns.branches))),
    )
    texts = [m.text for m in read_messages(DEV_SET) + read_messages(HELD_OUT_SET)]

    for text in texts:
        assert screen_message(text) == screen_message(text, rule_set=unanchored), text


# --- the bars -----------------------------------------------------------------------------


def test_the_dev_set_bars():
    """Issue #6: every emergency held, recall >= 0.97, precision >= 0.90, no negated item held."""
    evaluation = evaluate(read_messages(DEV_SET))

    assert len(evaluation.labelled) == 160
    assert [p.id for p in evaluation.emergencies_not_held] == []
    assert evaluation.recall >= 0.97, [p.id for p in evaluation.false_negatives]
    assert evaluation.precision >= 0.90, [p.id for p in evaluation.false_positives]
    assert [p.id for p in evaluation.negated_held] == []


def test_no_regression_on_the_held_out_set():
    """Messages written apart from the dev set. The screen reaches 1.0 on both figures here
    now, after tuning (first measurements are in README); a margin below that stops a
    change that loses whole kinds of message."""
    evaluation = evaluate(read_messages(HELD_OUT_SET))

    assert len(evaluation.labelled) >= 250
    held = sum(1 for p in evaluation.labelled if p.label in HELD)
    assert held >= 150
    assert evaluation.recall >= 0.97, [p.id for p in evaluation.false_negatives]
    assert evaluation.precision >= 0.95, [p.id for p in evaluation.false_positives]
    assert [p.id for p in evaluation.emergencies_not_held] == []
    assert [p.id for p in evaluation.negated_held] == []


def test_the_held_out_set_is_bilingual_and_not_copied_from_the_dev_set():
    dev = {m.text for m in read_messages(DEV_SET)}
    held_out = read_messages(HELD_OUT_SET)

    assert not dev & {m.text for m in held_out}
    zh = [m for m in held_out if re.search(r"[\u4e00-\u9fff]", m.text)]
    assert 0.3 <= len(zh) / len(held_out) <= 0.7
