"""The portal's own safety screens, independent of what the avatar flagged (DESIGN §6)."""

from .draft_guard import guard_draft
from .red_flags import RULES_VERSION, TriageFlag, asks_for_human, screen_message

__all__ = ["RULES_VERSION", "TriageFlag", "asks_for_human", "guard_draft", "screen_message"]
