"""The pre-visit compile (DESIGN §7): a patient's history with the hospital as structured JSON.

`compile_previsit_summary` reads every case of the appointment's patient in the
appointment's hospital, auto-released ones too, and everything up to the moment of the
compile, also cases that arrived after the appointment's time: the doctor wants the
latest before the visit, and a recompile for a stale summary picks up what came since.
The content is format_version 1, the JSON stored in PreVisitSummary.content and served
by the API: pages and integrators read its keys, so a change adds keys and never renames
one (timeline entries of kind "decision" carry `decision_id` and `action` besides the
common keys). Every item carries the case, and the message or decision, it came from.

Reading the patient's words (symptoms, medications, allergies, questions) is
`reviews.previsit_extract`.

A patient's question is open when nothing that reached the patient followed it in its
case: a doctor's message always reaches them; the avatar's message does when its draft
was released: the case was auto-released, is in the routine sample (awaiting review
without a hold), or a doctor approved or corrected it. So a question in a case held for
review, or taken over or closed with no doctor reply after it, stays open.
The last advice is the latest text that reached the patient by the same rule: a doctor's
message, a draft a doctor approved (by "avatar", with the decision) or the correction
that replaced it (by "doctor"), or a released draft.

Deterministic: the rows are read in a fixed order, the lexicon is iterated in its own
order, and nothing depends on the clock or the active language or time zone (a `date`
is the calendar day in `settings.TIME_ZONE`, the hospital's). Four queries, whatever the
number of cases.
"""

from dataclasses import dataclass
from datetime import UTC, datetime

from django.utils import timezone

from .models import Appointment, Case, CaseStatus, Decision, Message
from .previsit_extract import CONCERN_LENGTH, MENTION_LENGTH, extract_patient_message, question_asked, shorten

FORMAT_VERSION = 1

_ANSWERING_ACTIONS = (Decision.Action.APPROVE, Decision.Action.CORRECT)
# Fixed English: the content is stored once and read in any language; pages translate
# the words around it, from `action`.
_ACTION_WORDS = {"approve": "Approved", "correct": "Corrected", "take_over": "Taken over", "close": "Closed"}


@dataclass(frozen=True)
class CompiledSummary:
    content: dict
    source_case_ids: list[int]


# --- Matching the lexicon ------------------------------------------------------------------


def _iso(moment: datetime) -> str:
    # Fixed width (milliseconds, as JavaScript writes them), so the strings sort as the times do.
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _date(moment: datetime) -> str:
    return moment.astimezone(timezone.get_default_timezone()).date().isoformat()


def _sort_key(item: dict) -> tuple:
    return (
        item["at"],
        item["case_id"],
        item.get("message_id") or 0,
        item.get("kind", ""),
        item.get("decision_id") or 0,
    )


def _draft_released(case: Case, decisions: list[Decision]) -> bool:
    if any(d.action in _ANSWERING_ACTIONS for d in decisions):
        return True
    return case.status == CaseStatus.AUTO_RELEASED or (case.status == CaseStatus.AWAITING_REVIEW and not case.hold)


def _mention(message: Message, text: str) -> dict:
    return {"case_id": message.case_id, "message_id": message.pk, "at": _iso(message.sent_at), "text": text}


def _decision(decision: Decision) -> dict:
    return {
        "decision_id": decision.pk,
        "case_id": decision.case_id,
        "action": decision.action,
        "doctor": {"id": decision.doctor_id, "name": decision.doctor.full_name},
        "at": _iso(decision.created_at),
        "category": decision.correction_category or None,
        "original_text": decision.original_text or None,
        "final_text": decision.final_text or None,
        "note": decision.note or None,
    }


def _decision_line(decision: Decision) -> str:
    line = f"{_ACTION_WORDS[decision.action]} by {decision.doctor.full_name}"
    if decision.action == Decision.Action.CORRECT:
        line += f": {shorten(decision.final_text, MENTION_LENGTH)}"
    return line


class _Compile:
    """One pass over the cases, oldest first, filling every section as it goes."""

    def __init__(self) -> None:
        self.concerns: list[dict] = []
        self.timeline: list[dict] = []
        self.terms: dict[str, dict[str, dict]] = {"symptom": {}, "medication": {}, "allergy": {}}
        self.red_flags: list[dict] = []
        self.decisions: list[dict] = []
        self.open_questions: list[dict] = []
        self.advice: list[tuple[tuple, dict]] = []
        self.contacts: list[datetime] = []

    def add_case(self, case: Case, messages: list[Message], decisions: list[Decision]) -> None:
        released = _draft_released(case, decisions)
        self.contacts += [m.sent_at for m in messages] or [case.received_at]
        patient_messages = [m for m in messages if m.author == Message.Author.PATIENT]
        if patient_messages:
            first = patient_messages[0]
            self.concerns.append(
                {
                    "text": shorten(first.body, CONCERN_LENGTH),
                    "case_id": case.pk,
                    "message_id": first.pk,
                    "at": _iso(first.sent_at),
                    "urgency": case.urgency_code,
                    "status": case.status,
                }
            )
        for position, message in enumerate(messages):
            if message.author == Message.Author.PATIENT:
                self._patient_message(message, answered=self._answered(messages[position + 1 :], released))
            elif message.author == Message.Author.DOCTOR:
                self._entry(message.sent_at, "doctor_message", shorten(message.body, CONCERN_LENGTH), message)
                self._advice(message.sent_at, message.body, "doctor", message=message)
            elif released and not any(d.action in _ANSWERING_ACTIONS for d in decisions):
                self._advice(message.sent_at, message.body, "avatar", message=message)
        self._flags(case, messages)
        drafts = [m for m in messages if m.author == Message.Author.AVATAR]
        for decision in decisions:
            self.decisions.append(_decision(decision))
            entry = self._entry(decision.created_at, "decision", _decision_line(decision), None, case_id=case.pk)
            entry |= {"decision_id": decision.pk, "action": decision.action}
            if decision.action in _ANSWERING_ACTIONS:
                # The draft the decision sent as it was or replaced: the last one before it.
                before = [m for m in drafts if m.sent_at <= decision.created_at] or drafts
                by = "avatar" if decision.action == Decision.Action.APPROVE else "doctor"
                draft = before[-1] if before else None
                self._advice(decision.created_at, decision.final_text, by, message=draft, decision=decision)

    @staticmethod
    def _answered(later: list[Message], released: bool) -> bool:
        return any(m.author == Message.Author.DOCTOR or (m.author == Message.Author.AVATAR and released) for m in later)

    def _patient_message(self, message: Message, *, answered: bool) -> None:
        for found in extract_patient_message(message.body):
            sections = self.terms[found.kind]
            first_in_case = found.term.key not in sections or sections[found.term.key]["case_id"] != message.case_id
            item = sections.setdefault(found.term.key, {"term": found.term, "mentions": []})
            item["case_id"] = message.case_id
            item["mentions"].append(_mention(message, found.text))
            if first_in_case:
                self._entry(message.sent_at, found.kind, f"{found.term.label}: {found.text}", message)
        question = None if answered else question_asked(message.body)
        if question:
            self.open_questions.append(
                {"text": question, "case_id": message.case_id, "message_id": message.pk, "at": _iso(message.sent_at)}
            )

    def _flags(self, case: Case, messages: list[Message]) -> None:
        # A flag's message_index is the message's position in the case in id order (ingest
        # payload order, and `case_patient_message_add` counts the messages before it).
        by_position = sorted(messages, key=lambda m: m.pk)
        for flag in case.flags:
            index = flag.get("message_index")
            message = by_position[index] if isinstance(index, int) and 0 <= index < len(by_position) else None
            at = message.sent_at if message else case.received_at
            red_flag = {
                "rule_id": flag.get("rule_id") or "",
                "code": flag.get("code") or "",
                "category": flag.get("category") or "",
                "urgency": flag.get("urgency") or "",
                "source": flag.get("source") or "",
                "matched_text": flag.get("matched_text") or "",
                "reason": flag.get("reason") or "",
                "case_id": case.pk,
                "message_id": message.pk if message else None,
                "at": _iso(at),
            }
            self.red_flags.append(red_flag)
            text = red_flag["matched_text"] or red_flag["reason"] or red_flag["code"]
            self._entry(at, "red_flag", text, message, case_id=case.pk)

    def _entry(self, at: datetime, kind: str, text: str, message: Message | None, *, case_id: int = 0) -> dict:
        entry = {
            "at": _iso(at),
            "date": _date(at),
            "kind": kind,
            "text": text,
            "case_id": message.case_id if message else case_id,
            "message_id": message.pk if message else None,
        }
        self.timeline.append(entry)
        return entry

    def _advice(
        self, at: datetime, text: str, by: str, *, message: Message | None, decision: Decision | None = None
    ) -> None:
        advice = {
            "text": text,
            "case_id": (message or decision).case_id,
            "message_id": message.pk if message else None,
            "decision_id": decision.pk if decision else None,
            "at": _iso(at),
            "by": by,
        }
        self.advice.append((_sort_key(advice), advice))

    def sections(self) -> dict:
        terms = {}
        for kind, name_key in (("symptom", "term"), ("medication", "name"), ("allergy", "substance")):
            listed = []
            for item in self.terms[kind].values():
                mentions = sorted(item["mentions"], key=_sort_key)
                listed.append({name_key: item["term"].key, "label": item["term"].label, "mentions": mentions})
                if kind == "symptom":
                    listed[-1] |= {"first_at": mentions[0]["at"], "last_at": mentions[-1]["at"]}
            terms[kind] = sorted(listed, key=lambda i: (_sort_key(i["mentions"][0]), i[name_key]))
        decisions = sorted(self.decisions, key=_sort_key)
        return {
            "presenting_concerns": sorted(self.concerns, key=_sort_key),
            "timeline": sorted(self.timeline, key=lambda e: (*_sort_key(e), e["text"])),
            "symptoms": terms["symptom"],
            "medications": terms["medication"],
            "allergies": terms["allergy"],
            # Stable: the flags of one message keep the order triage raised them in.
            "red_flags": sorted(self.red_flags, key=_sort_key),
            "decisions": decisions,
            "corrections": [d for d in decisions if d["action"] == Decision.Action.CORRECT],
            "open_questions": sorted(self.open_questions, key=_sort_key),
            "last_advice": max(self.advice, key=lambda pair: pair[0])[1] if self.advice else None,
        }


def compile_previsit_summary(appointment: Appointment) -> CompiledSummary:
    """The pre-visit summary of an appointment, format_version 1 (see the module docstring)."""
    appointment = Appointment.objects.select_related("patient", "doctor").get(pk=appointment.pk)
    patient = appointment.patient
    # Uses case_patient_received_idx; the hospital filter keeps a mislinked patient from
    # ever pulling another hospital's cases in.
    scope = {"hospital_id": appointment.hospital_id, "patient_id": patient.pk}
    cases = list(Case.objects.filter(**scope).order_by("received_at", "id"))
    messages: dict[int, list[Message]] = {case.pk: [] for case in cases}
    for message in (
        Message.objects.filter(**{f"case__{k}": v for k, v in scope.items()})
        .only("id", "case_id", "author", "body", "sent_at")
        .order_by("case_id", "sent_at", "id")
    ):
        messages.get(message.case_id, []).append(message)  # a case that arrived mid-compile waits for the next
    decisions: dict[int, list[Decision]] = {case.pk: [] for case in cases}
    for decision in (
        Decision.objects.filter(**{f"case__{k}": v for k, v in scope.items()})
        .select_related("doctor")
        .order_by("case_id", "created_at", "id")
    ):
        decisions.get(decision.case_id, []).append(decision)
    return previsit_summary_from_history(appointment, cases=cases, messages=messages, decisions=decisions)


def previsit_summary_from_history(
    appointment: Appointment,
    *,
    cases: list[Case],
    messages: dict[int, list[Message]],
    decisions: dict[int, list[Decision]],
) -> CompiledSummary:
    """The summary from history already read: no query.

    `appointment` with its patient and doctor loaded; `cases` in (received_at, id) order;
    every case's messages in (sent_at, id) order and decisions (with their doctor) in
    (created_at, id) order, keyed by case id. The batched compile (reviews.previsit_batch)
    reads these for a whole chunk at once and calls this, so both write the same content.
    """
    patient = appointment.patient
    compiled = _Compile()
    for case in cases:
        compiled.add_case(case, messages[case.pk], decisions[case.pk])
    content = {
        "format_version": FORMAT_VERSION,
        "patient": {"pseudonym": patient.pseudonym, "birth_year": patient.birth_year, "sex": patient.sex},
        "appointment": {
            "id": appointment.pk,
            "scheduled_at": _iso(appointment.scheduled_at),
            "reason": appointment.reason,
            "doctor": {"id": appointment.doctor_id, "name": appointment.doctor.full_name},
        },
        "case_count": len(cases),
        "first_contact_at": _iso(min(compiled.contacts)) if compiled.contacts else None,
        "last_contact_at": _iso(max(compiled.contacts)) if compiled.contacts else None,
        **compiled.sections(),
    }
    return CompiledSummary(content=content, source_case_ids=[case.pk for case in cases])
