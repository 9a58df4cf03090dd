"""The red-flag rules file (`rules.toml`): loaded once, validated strictly, compiled.

The file is the screen's single source of truth and carries its own `version`, which every
flag records, so a flag on a case can always be traced to the rule text that raised it.
A mistake in the file (an unknown key, an urgency that does not exist, a regex that does not
compile, a term that is not defined) stops the import with an error naming the rule: a
rules file that loads half-way would screen silently with fewer rules than it says.

Every regex of the file (patterns, exclusions, requirements, cues) is compiled as its
top-level alternatives, each with its anchors (`anchors.py`), so the screen runs only the
alternatives whose literals a message contains.
"""

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from .anchors import AnchorIndex, Anchors, literal_first, required_literals, split_alternatives

RULES_FILE = Path(__file__).with_name("rules.toml")

URGENCIES = ("emergency", "urgent", "soon")
CHECKS = ("negation", "non_current", "general_question")
CUE_KINDS = (
    "negation",
    "negation_adjacent",
    "negation_cancel",
    "non_current",
    "recent",
    "general_question",
    "general_message",
)

_TOP_KEYS = {"version", "terms", "cues", "categories", "rules"}
_RULE_KEYS = {
    "id",
    "category",
    "urgency",
    "description",
    "description_zh",
    "patterns",
    "exclusions",
    "requires",
    "skip_checks",
    "yields_to",
}
_REQUIRED_RULE_KEYS = ("id", "category", "urgency", "description", "description_zh", "patterns")
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
_TERM_REF = re.compile(r"@([a-z][a-z0-9_]*)")


class RulesFileError(ValueError):
    """The rules file is not what the screen can run."""


@dataclass(frozen=True)
class Branch:
    pattern: re.Pattern[str]
    anchors: Anchors | None  # one of these is in every match; None when no literal is certain


@dataclass(frozen=True)
class Alternatives:
    """One regex of the file, as its top-level alternatives."""

    branches: tuple[Branch, ...]
    # Derived from the branches, for the screen's "which branches can match this message":
    # every anchor of them, the branches each anchor stands for, and those without anchors.
    anchors: frozenset[str] = field(init=False, compare=False, repr=False)
    by_anchor: dict[str, tuple[int, ...]] = field(init=False, compare=False, repr=False)
    unanchored: tuple[int, ...] = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        by_anchor: dict[str, list[int]] = {}
        for order, branch in enumerate(self.branches):
            for anchor in branch.anchors or ():
                by_anchor.setdefault(anchor, []).append(order)
        object.__setattr__(self, "anchors", frozenset(by_anchor))
        object.__setattr__(self, "by_anchor", {anchor: tuple(orders) for anchor, orders in by_anchor.items()})
        unanchored = tuple(order for order, branch in enumerate(self.branches) if branch.anchors is None)
        object.__setattr__(self, "unanchored", unanchored)


@dataclass(frozen=True)
class Rule:
    id: str
    category: str
    urgency: str
    description: str
    description_zh: str
    patterns: Alternatives
    exclusion: Alternatives | None
    requires: tuple[Alternatives, ...]
    checks: frozenset[str]
    # Rules that, when they fire on a message, make this one redundant: a resolved
    # episode's urgent rule yields to the same sign's emergency rule.
    yields_to: frozenset[str]


@dataclass(frozen=True)
class Cues:
    negation: Alternatives
    negation_adjacent: Alternatives
    negation_cancel: Alternatives
    non_current: Alternatives
    recent: Alternatives
    general_question: Alternatives
    general_message: Alternatives


@dataclass(frozen=True)
class RuleSet:
    version: str
    rules: tuple[Rule, ...]
    cues: Cues
    categories: dict[str, str]  # category -> the urgency an avatar flag naming only the category gets
    # Every anchor of every regex, looked up in a message at once; which rule branches
    # (rule position, branch position) each anchor stands for; and the rule branches
    # without anchors, which run on every message.
    anchors: AnchorIndex
    branches_by_anchor: dict[str, tuple[tuple[int, int], ...]]
    unanchored: tuple[tuple[int, int], ...]


def lower_literals(source: str) -> str:
    """A regex with its literal letters lower-cased, escapes (\\B, \\D, \\W …) untouched.

    The screen matches lower-cased text against lower-cased patterns: the same matches as
    IGNORECASE, at a fraction of its cost in Python's regex engine.
    """
    out, i = [], 0
    while i < len(source):
        if source[i] == "\\":
            out.append(source[i : i + 2])
            i += 2
        else:
            out.append(source[i].lower())
            i += 1
    return "".join(out)


def _compile(source: str, where: str) -> re.Pattern[str]:
    try:
        return re.compile(lower_literals(source))
    except re.error as error:
        raise RulesFileError(f"{where}: the regex does not compile ({error}): {source!r}") from None


def _substitute(source: str, terms: dict[str, str], where: str) -> str:
    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in terms:
            raise RulesFileError(f"{where}: unknown term @{name}")
        return terms[name]

    return _TERM_REF.sub(replace, source)


def _expand_terms(raw: object) -> dict[str, str]:
    """Named regex fragments; a term may use terms defined before it."""
    if not isinstance(raw, dict):
        raise RulesFileError("[terms] must be a table of name = 'regex'")
    terms: dict[str, str] = {}
    for name, source in raw.items():
        where = f"term {name!r}"
        if not _NAME.match(name):
            raise RulesFileError(f"{where}: names are lower_snake_case")
        if not isinstance(source, str) or not source:
            raise RulesFileError(f"{where}: must be a non-empty regex string")
        terms[name] = f"(?:{_substitute(source, terms, where)})"
        _compile(terms[name], where)
    return terms


def _alternatives(value: object, terms: dict[str, str], where: str) -> Alternatives:
    if not isinstance(value, list) or not value or not all(isinstance(item, str) and item for item in value):
        raise RulesFileError(f"{where}: must be a non-empty list of regex strings")
    branches = []
    for item in value:
        source = _substitute(item, terms, where)
        _compile(source, where)  # the whole entry first, so an error quotes what was written
        for alternative in split_alternatives(source):
            compiled = _compile(alternative, where)
            # Anchors come from the regex as written; the screen runs the same regex with
            # its leading \b moved after a literal, which sre searches faster (anchors.py).
            faster = literal_first(compiled.pattern)
            pattern = compiled if faster == compiled.pattern else re.compile(faster)
            branches.append(Branch(pattern, required_literals(compiled)))
    return Alternatives(tuple(branches))


def _cues(raw: object, terms: dict[str, str]) -> Cues:
    if not isinstance(raw, dict):
        raise RulesFileError("[cues] must be a table")
    unknown, missing = set(raw) - set(CUE_KINDS), set(CUE_KINDS) - set(raw)
    if unknown or missing:
        raise RulesFileError(f"[cues]: unknown {sorted(unknown)}, missing {sorted(missing)}")
    return Cues(**{kind: _alternatives(raw[kind], terms, f"cues.{kind}") for kind in CUE_KINDS})


def _rule(raw: object, index: int, terms: dict[str, str], categories: dict[str, str], earlier: set[str]) -> Rule:
    if not isinstance(raw, dict):
        raise RulesFileError(f"rule #{index + 1}: must be a table")
    rule_id = raw.get("id")
    where = f"rule {rule_id!r}" if isinstance(rule_id, str) else f"rule #{index + 1}"
    unknown = set(raw) - _RULE_KEYS
    if unknown:
        raise RulesFileError(f"{where}: unknown keys {sorted(unknown)}")
    for key in _REQUIRED_RULE_KEYS:
        if key not in raw:
            raise RulesFileError(f"{where}: missing {key!r}")
    if not isinstance(rule_id, str) or not _NAME.match(rule_id):
        raise RulesFileError(f"{where}: id must be lower_snake_case")
    if rule_id in earlier:
        raise RulesFileError(f"{where}: the id is used twice")
    if raw["urgency"] not in URGENCIES:
        raise RulesFileError(f"{where}: urgency must be one of {', '.join(URGENCIES)}, not {raw['urgency']!r}")
    if raw["category"] not in categories:
        raise RulesFileError(f"{where}: category {raw['category']!r} is not declared in [categories]")
    for key in ("description", "description_zh"):
        if not isinstance(raw[key], str) or not raw[key].strip():
            raise RulesFileError(f"{where}: {key} must be a non-empty string")
    skip = raw.get("skip_checks", [])
    if not isinstance(skip, list) or not all(isinstance(check, str) and check in CHECKS for check in skip):
        raise RulesFileError(f"{where}: skip_checks must be a list drawn from {', '.join(CHECKS)}")
    yields_to = raw.get("yields_to", [])
    if not isinstance(yields_to, list) or not all(isinstance(other, str) and other in earlier for other in yields_to):
        raise RulesFileError(f"{where}: yields_to must list ids of rules that come before it")

    return Rule(
        id=rule_id,
        category=raw["category"],
        urgency=raw["urgency"],
        description=raw["description"].strip(),
        description_zh=raw["description_zh"].strip(),
        patterns=_alternatives(raw["patterns"], terms, f"{where} patterns"),
        exclusion=_alternatives(raw["exclusions"], terms, f"{where} exclusions") if "exclusions" in raw else None,
        requires=tuple(_alternatives([r], terms, f"{where} requires") for r in _strings(raw, "requires", where)),
        checks=frozenset(CHECKS) - frozenset(skip),
        yields_to=frozenset(yields_to),
    )


def _strings(raw: dict, key: str, where: str) -> list[str]:
    value = raw.get(key, [])
    if not isinstance(value, list) or not all(isinstance(item, str) and item for item in value):
        raise RulesFileError(f"{where}: {key} must be a list of non-empty regex strings")
    return value


def parse_rules(text: str) -> RuleSet:
    """Validate and compile the text of a rules file."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise RulesFileError(f"not valid TOML: {error}") from None

    unknown = set(data) - _TOP_KEYS
    if unknown:
        raise RulesFileError(f"unknown top-level keys {sorted(unknown)}")
    version = data.get("version")
    if not isinstance(version, str) or not version.strip():
        raise RulesFileError("the rules file needs a non-empty top-level version")

    terms = _expand_terms(data.get("terms", {}))
    cues = _cues(data.get("cues"), terms)
    categories = data.get("categories")
    if not isinstance(categories, dict) or not categories:
        raise RulesFileError("[categories] must map each category to an urgency")
    for name, urgency in categories.items():
        if not _NAME.match(name) or urgency not in URGENCIES:
            raise RulesFileError(f"category {name!r}: urgency must be one of {', '.join(URGENCIES)}")

    raw_rules = data.get("rules")
    if not isinstance(raw_rules, list) or not raw_rules:
        raise RulesFileError("the rules file has no [[rules]]")
    rules: list[Rule] = []
    for index, raw in enumerate(raw_rules):
        rules.append(_rule(raw, index, terms, categories, {rule.id for rule in rules}))
    unused = set(categories) - {rule.category for rule in rules}
    if unused:
        raise RulesFileError(f"categories {sorted(unused)} have no rule")
    return _indexed(version.strip(), rules, cues, categories)


def _indexed(version: str, rules: list[Rule], cues: Cues, categories: dict[str, str]) -> RuleSet:
    every_anchor: set[str] = set()
    branches_by_anchor: dict[str, list[tuple[int, int]]] = {}
    unanchored: list[tuple[int, int]] = []
    others = [cue for cue in vars(cues).values()]
    for position, rule in enumerate(rules):
        others += [*rule.requires, *([rule.exclusion] if rule.exclusion else [])]
        for order, branch in enumerate(rule.patterns.branches):
            if branch.anchors is None:
                unanchored.append((position, order))
            for anchor in branch.anchors or ():
                branches_by_anchor.setdefault(anchor, []).append((position, order))
    for alternatives in others:
        for branch in alternatives.branches:
            every_anchor |= branch.anchors or set()
    every_anchor |= set(branches_by_anchor)
    return RuleSet(
        version=version,
        rules=tuple(rules),
        cues=cues,
        categories=dict(categories),
        anchors=AnchorIndex(every_anchor),
        branches_by_anchor={anchor: tuple(keys) for anchor, keys in branches_by_anchor.items()},
        unanchored=tuple(unanchored),
    )


def load_rules(path: Path = RULES_FILE) -> RuleSet:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise RulesFileError(f"cannot read the rules file {path}: {error.strerror}") from None
    try:
        return parse_rules(text)
    except RulesFileError as error:
        raise RulesFileError(f"{path.name}: {error}") from None
