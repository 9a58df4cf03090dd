"""Literal anchors of a regex: strings at least one of which every match must contain.

The screen checks a rule's anchors with plain substring tests (`in`, fast C) before it runs
the rule's regex, so a message that cannot match a rule costs it almost nothing. Anchors
are derived from the compiled pattern, never written by hand: a hand-kept keyword list
drifts from its patterns and silently drops matches.
"""

import re
from collections.abc import Iterator
from itertools import pairwise
from re import _constants as sre  # the parser's opcodes; Python's own `re` is built on them
from re import _parser

_PRODUCT_LIMIT = 32  # at most this many alternatives in one anchor set
_CLASS_LIMIT = 12  # a character class of at most this many plain characters counts as literal
_REPEATS = (sre.MAX_REPEAT, sre.MIN_REPEAT, getattr(sre, "POSSESSIVE_REPEAT", sre.MAX_REPEAT))

Anchors = frozenset[str]


def _strength(anchors: Anchors) -> tuple[int, int]:
    """How selective a set is: its weakest member's length (a CJK character counts three), then fewer members."""

    def weight(text: str) -> int:
        return sum(3 if ord(ch) > 0x2E7F else 1 for ch in text)

    return (min(weight(text) for text in anchors), -len(anchors))


def _better(candidate: Anchors | None, best: Anchors | None) -> Anchors | None:
    if not candidate:
        return best
    if best is None or _strength(candidate) > _strength(best):
        return candidate
    return best


def _characters(op: object, value: object) -> set[str] | None:
    """The characters one item matches, when it is a plain literal or a small class of them."""
    if op is sre.LITERAL:
        return {chr(value).lower()}  # type: ignore[arg-type]
    if op is sre.IN:
        items = value  # type: ignore[assignment]
        if len(items) <= _CLASS_LIMIT and all(kind is sre.LITERAL for kind, _ in items):  # type: ignore[union-attr]
            return {chr(code).lower() for _, code in items}  # type: ignore[union-attr]
    return None


def _sequence(items: list) -> Anchors | None:
    best: Anchors | None = None
    run: set[str] = {""}

    def flush() -> None:
        nonlocal best, run
        if run != {""}:
            best = _better(frozenset(run), best)
        run = {""}

    for op, value in items:
        characters = _characters(op, value)
        if characters is not None:
            extended = {prefix + ch for prefix in run for ch in characters}
            if len(extended) > _PRODUCT_LIMIT:
                flush()
                extended = characters
            run = extended
            continue
        flush()
        best = _better(_item(op, value), best)
    flush()
    return best


def _item(op: object, value: object) -> Anchors | None:
    if op is sre.SUBPATTERN:
        return _sequence(value[-1])  # type: ignore[index]
    if op is sre.ATOMIC_GROUP:
        return _sequence(value)  # type: ignore[arg-type]
    if op is sre.BRANCH:
        union: set[str] = set()
        for branch in value[1]:  # type: ignore[index]
            anchors = _sequence(branch)
            if anchors is None:
                return None
            union |= anchors
        return frozenset(union)
    if op in _REPEATS and value[0] >= 1:  # type: ignore[index]
        return _sequence(value[2])  # type: ignore[index]
    return None


def _structure(source: str) -> Iterator[tuple[int, str, int]]:
    """(index, character, group depth after it) for the regex's grouping characters "(", ")"
    and "|", skipping escapes and character classes, where they are literal."""
    depth, i, in_class = 0, 0, False
    while i < len(source):
        ch = source[i]
        if ch == "\\":
            i += 2
            continue
        if in_class:
            in_class = ch != "]"
        elif ch == "[":
            in_class = True
            # "[]…]" and "[^]…]" take the first "]" as a member, not the end.
            if source[i + 1 : i + 2] == "^":
                i += 1
            if source[i + 1 : i + 2] == "]":
                i += 1
        elif ch in "()|":
            depth += {"(": 1, ")": -1, "|": 0}[ch]
            yield i, ch, depth
        i += 1


def split_alternatives(source: str) -> list[str]:
    """The top-level alternatives of a regex, unwrapping groups that hold a whole alternation.

    "a|(?:b|c)|d(?:e|f)" -> ["a", "b", "c", "d(?:e|f)"]. Each alternative can then be
    anchored and scanned alone: a small regex with a literal in it is fast to search.
    """
    parts, start = [], 0
    for i, ch, depth in _structure(source):
        if ch == "|" and depth == 0:
            parts.append(source[start:i])
            start = i + 1
    parts.append(source[start:])
    if len(parts) == 1:
        inner = _whole_group(source)
        return split_alternatives(inner) if inner is not None else parts
    return [alternative for part in parts for alternative in split_alternatives(part)]


def _whole_group(source: str) -> str | None:
    """The inside of "(?:…)" when that group spans all of `source`, else None."""
    if not (source.startswith("(?:") and source.endswith(")")):
        return None
    for i, ch, depth in _structure(source):
        if ch == ")" and depth == 0 and i != len(source) - 1:
            return None
    return source[3:-1]


_WORD_START = frozenset("abcdefghijklmnopqrstuvwxyz0123456789")


def literal_first(source: str) -> str:
    """The same regex with a leading \\b moved after the first letter when it can be.

    Under a leading \\b (or any leading assertion) sre tries the whole pattern at every
    position of a text; a pattern that starts with a literal, or with a group whose
    alternatives all do, lets it skip in C to the positions holding one. Before a word
    character, \\b says "no word character before", so "\\bchest" is "c(?<!\\wc)hest":
    the lookbehind after the c looks at the same character, also before a search's `pos`.
    "\\b(?:a|b)x" is "(?:\\ba|\\bb)x", each alternative taken the same way. Anything else
    (a class, an escape, a quantified first letter) is left as written.
    """
    if not source.startswith("\\b"):
        return source
    moved = _boundary_pushed(source[2:])
    return moved if moved is not None else source


def _boundary_pushed(source: str) -> str | None:
    """A regex matching what "\\b" + `source` matches, starting with a literal; None if not found."""
    if not source:
        return None
    first, after = source[0], source[1:2]
    if first in _WORD_START:
        return None if after and after in "?*+{" else f"{first}(?<!\\w{first}){source[1:]}"
    if not source.startswith("(?:"):
        return None
    bars, end = [], None
    for i, ch, depth in _structure(source):
        if ch == "|" and depth == 1:
            bars.append(i)
        elif ch == ")" and depth == 0:
            end = i
            break
    if end is None or source[end + 1 : end + 2] in ("?", "*", "+", "{"):
        return None
    edges = [2, *bars, end]
    pushed = [_boundary_pushed(source[start + 1 : stop]) for start, stop in pairwise(edges)]
    if any(part is None for part in pushed):
        return None
    return "(?:" + "|".join(pushed) + ")" + source[end + 1 :]  # type: ignore[arg-type]


def required_literals(pattern: re.Pattern[str]) -> Anchors | None:
    """Lower-case strings one of which is in every match of `pattern`; None when there is no such set."""
    try:
        parsed = _parser.parse(pattern.pattern, pattern.flags)
    except re.error:
        return None
    anchors = _sequence(list(parsed))
    if anchors is None or any(len(text) == 0 for text in anchors):
        return None
    return anchors


class AnchorIndex:
    """Finds which of many anchors occur in a text, cheaply.

    Anchors of three or more characters are filed under their first three; a text is read
    once into the set of its three-character openings (the last two positions give shorter
    ones), and only anchors longer than three whose opening is there are tested with a
    substring search. An anchor of one character is looked up in the text's set of
    characters, one of two in the set of its pairs; two-character anchors are nearly all
    Chinese, so an ASCII text only has the few ASCII ones tested with a substring search.
    """

    def __init__(self, anchors: set[str] | frozenset[str]) -> None:
        by_opening: dict[str, tuple[list[str], list[str]]] = {}
        for anchor in sorted(anchors):
            if len(anchor) > 2:
                exact, longer = by_opening.setdefault(anchor[:3], ([], []))
                (exact if len(anchor) == 3 else longer).append(anchor)
        self._characters = frozenset(anchor for anchor in anchors if len(anchor) == 1)
        self._pairs = frozenset(anchor for anchor in anchors if len(anchor) == 2)
        self._ascii_pairs = tuple(sorted(pair for pair in self._pairs if pair.isascii()))
        self._by_opening = {opening: (tuple(exact), tuple(longer)) for opening, (exact, longer) in by_opening.items()}
        self._openings = frozenset(self._by_opening)

    def present(self, lowered: str) -> frozenset[str]:
        characters = set(lowered)
        found = list(characters & self._characters)
        if lowered.isascii():
            found += filter(lowered.__contains__, self._ascii_pairs)
        else:
            found += {lowered[i : i + 2] for i in range(len(lowered) - 1)} & self._pairs
        # Slices at the last two positions are shorter than three: no opening of three.
        openings = {lowered[i : i + 3] for i in range(len(lowered) - 2)}
        for opening in openings & self._openings:
            exact, longer = self._by_opening[opening]
            found += exact
            if longer:
                found += filter(lowered.__contains__, longer)
        return frozenset(found)
