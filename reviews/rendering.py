"""Text shaping for case pages: highlighted red flags and the draft-versus-final diff.

Pure functions: they take strings and spans and return segments that templates print
with auto-escaping, so no patient text is ever marked safe.
"""

import difflib
import re
from dataclasses import dataclass

# A token is a run of whitespace, one CJK character, a word, or one punctuation mark:
# Chinese has no spaces, so diffing it by "word" would mark whole sentences as changed,
# and a full stop is not part of the word before it.
_TOKEN = re.compile(r"\s+|[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]|\w+|[^\w\s]")


@dataclass(frozen=True)
class Segment:
    text: str
    kind: str = ""  # "" plain, "mark" a red flag, "del" removed, "ins" added
    label: str = ""


def highlight(body: str, spans: list[tuple[int, int, str]]) -> list[Segment]:
    """Split `body` into plain and marked segments; overlapping spans keep the first."""
    segments: list[Segment] = []
    position = 0
    for start, end, label in sorted(spans):
        if start < position or not (0 <= start < end <= len(body)):
            continue
        if start > position:
            segments.append(Segment(body[position:start]))
        segments.append(Segment(body[start:end], "mark", label))
        position = end
    if position < len(body):
        segments.append(Segment(body[position:]))
    return segments


def text_diff(original: str, final: str) -> list[Segment]:
    """Token-level diff of the avatar's draft and the doctor's final answer."""
    before, after = _TOKEN.findall(original), _TOKEN.findall(final)
    segments: list[Segment] = []
    matcher = difflib.SequenceMatcher(a=before, b=after, autojunk=False)
    for op, a1, a2, b1, b2 in matcher.get_opcodes():
        if op == "equal":
            segments.append(Segment("".join(before[a1:a2])))
            continue
        if op in ("delete", "replace"):
            segments.append(Segment("".join(before[a1:a2]), "del"))
        if op in ("insert", "replace"):
            segments.append(Segment("".join(after[b1:b2]), "ins"))
    return segments
