"""The rows of a doctor's queue page, each worked out once in Python.

Every doctor's queue polls itself every 20 s, so rendering it is a hot path (make bench,
queue_page; docs/performance.md). Done in the template, a row cost a filter, an
`{% include %}`, a `{% url %}`, a choices lookup and translations each; here a row carries
the finished texts the template prints, in the active language and time zone, already
HTML-escaped, and what no row changes (urgency labels, "You", a colleague's name, the case
URL) is looked up and escaped once per page.
"""

import unicodedata
from dataclasses import dataclass
from datetime import datetime

from django.urls import reverse
from django.utils import timezone
from django.utils.html import conditional_escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.text import Truncator
from django.utils.timesince import timesince
from django.utils.translation import gettext as _

from accounts.models import User

from .models import Urgency
from .selectors import QueueCase

# What the queue shows of the patient's question (the template's `truncatechars:110`).
PREVIEW_CHARS = 110
# Stands for a case id in the one `reverse()` of a page; no real id is this long.
_CASE_ID_PLACEHOLDER = 9_876_543_210_123
_NOBODY = SafeString("")


@dataclass(frozen=True, slots=True)
class QueueRow:
    """One case as a row of the queue page: the texts the template prints, HTML-escaped
    (SafeString), and the flags it tests."""

    case_id: SafeString  # as text: printing an int would go through number formatting
    url: SafeString
    status: SafeString
    urgency_code: SafeString
    urgency_label: SafeString
    preview: SafeString
    pseudonym: SafeString
    # Awaiting-review rows (the queue and the escalated section).
    due_at_iso: SafeString = _NOBODY
    due_label: SafeString = _NOBODY
    overdue: bool = False
    escalated: bool = False
    held: bool = False
    claimed_by: SafeString = _NOBODY  # "You", a colleague's name, or nothing: no active claim
    # Escalated rows: "Dr …'s queue".
    reviewer_queue: SafeString = _NOBODY
    # Taken-over rows: "last activity … ago".
    last_activity: SafeString = _NOBODY

    def __getitem__(self, name: str) -> object:
        # A template tries `row[name]` before `row.name`: answering it spares each of the
        # page's ~1 500 lookups a TypeError raised and caught.
        return getattr(self, name)


class _PageLabels:
    """What every row of one page shares, looked up and escaped once per page."""

    def __init__(self, *, doctor: User):
        self.doctor_id = doctor.pk
        self.now = timezone.now()
        url = reverse("reviews:case", args=[_CASE_ID_PLACEHOLDER])
        head, _placeholder, tail = url.rpartition(str(_CASE_ID_PLACEHOLDER))
        self.url_head, self.url_tail = conditional_escape(head), conditional_escape(tail)
        self.urgency_code = {urgency.value: conditional_escape(urgency.code) for urgency in Urgency}
        self.urgency_label = {urgency.value: conditional_escape(urgency.label) for urgency in Urgency}
        self.you = conditional_escape(_("You"))
        self._names: dict[int, SafeString] = {}

    def name(self, user: User) -> SafeString:
        # One colleague often holds several cases of a page: "Dr …" once each.
        if user.pk not in self._names:
            self._names[user.pk] = conditional_escape(user.display_name)
        return self._names[user.pk]

    def claimed_by(self, case: QueueCase) -> SafeString:
        if case.claimed_by_id is None or not case.claim_active(self.now):
            return _NOBODY
        return self.you if case.claimed_by_id == self.doctor_id else self.name(case.claimed_by)

    def row(self, case: QueueCase, **extra) -> QueueRow:
        return QueueRow(
            case_id=SafeString(case.pk),
            # The escaped parts of the URL around the id, which is digits.
            url=SafeString(f"{self.url_head}{case.pk}{self.url_tail}"),
            status=conditional_escape(case.status),
            urgency_code=self.urgency_code[case.urgency],
            urgency_label=self.urgency_label[case.urgency],
            preview=conditional_escape(_preview(case.question_preview)),
            pseudonym=conditional_escape(case.patient.pseudonym),
            **extra,
        )

    def awaiting_row(self, case: QueueCase, **extra) -> QueueRow:
        return self.row(
            case,
            # An ISO date and a label of digits, nothing to escape.
            due_at_iso=SafeString(case.due_at.isoformat()),
            due_label=SafeString(_due_label(case.due_at)),
            overdue=case.is_overdue,
            claimed_by=self.claimed_by(case),
            **extra,
        )


def _preview(question: str) -> str:
    """The template's `truncatechars:110` (Django's Truncator), which first normalizes to
    NFC; a question no longer than that comes back whole, so most skip its per-character
    loop and its translated ellipsis."""
    question = unicodedata.normalize("NFC", question)
    return question if len(question) <= PREVIEW_CHARS else Truncator(question).chars(PREVIEW_CHARS)


def _due_label(due_at: datetime) -> str:
    # The template's `due_at|date:"m-d H:i"`: in the active time zone, zero-padded month,
    # day, 24-hour hour and minute, which strftime spells the same way in every language.
    return timezone.localtime(due_at).strftime("%m-%d %H:%M")


def _reviewer_queue(name: SafeString) -> SafeString:
    # As `{% blocktranslate %}` does it: the translation is ours and trusted, the name escaped.
    return mark_safe(_("%(doctor)s's queue") % {"doctor": name})


def _last_activity(updated_at: datetime, *, now: datetime) -> SafeString:
    # The template's `updated_at|timesince` inside `{% blocktranslate %}`, escaped the same way.
    return mark_safe(_("last activity %(when)s ago") % {"when": conditional_escape(timesince(updated_at, now))})


def queue_rows(cases: list[QueueCase], *, doctor: User) -> list[QueueRow]:
    """The rows of the doctor's own queue (`selectors.queue_page`)."""
    labels = _PageLabels(doctor=doctor)
    return [labels.awaiting_row(case, escalated=case.is_escalated, held=case.hold) for case in cases]


def escalated_rows(cases: list[QueueCase], *, doctor: User) -> list[QueueRow]:
    """The rows of the "Escalated to you" section (`selectors.cases_escalated_to`)."""
    labels = _PageLabels(doctor=doctor)
    return [
        labels.awaiting_row(
            case,
            escalated=True,
            reviewer_queue=_reviewer_queue(labels.name(case.reviewer)) if case.reviewer_id is not None else _NOBODY,
        )
        for case in cases
    ]


def taken_over_rows(cases: list[QueueCase], *, doctor: User) -> list[QueueRow]:
    """The rows of "Conversations you have taken over" (`selectors.conversations_taken_over`)."""
    labels = _PageLabels(doctor=doctor)
    return [labels.row(case, last_activity=_last_activity(case.updated_at, now=labels.now)) for case in cases]
