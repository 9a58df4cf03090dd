"""Measuring the red-flag screen against labelled patient messages (`manage.py triage_eval`).

Each message is decided exactly as ingest decides a lone patient message: identifiers
scrubbed, then `reviews.policy.assess_patient_message`. "Held" means an urgency of
emergency or urgent — the cases a doctor must see before the avatar's answer goes out —
and recall on those is the figure that matters most (DESIGN §6).
"""

import json
import time
from dataclasses import dataclass, field
from pathlib import Path

from reviews.policy import URGENCY_ORDER, assess_patient_message
from reviews.scrub import scrub_identifiers

from .red_flags import RULES_VERSION

HELD = frozenset({"emergency", "urgent"})


class EvaluationInputError(ValueError):
    """The input file cannot be evaluated; the message names the line."""


@dataclass(frozen=True)
class LabelledMessage:
    id: str
    text: str
    urgency: str | None = None  # the label, when there is one
    negated: bool = False  # the label says a red flag is mentioned but denied or not current


@dataclass(frozen=True)
class Prediction:
    id: str
    urgency: str
    flags: tuple[str, ...]
    label: str | None
    negated: bool

    @property
    def held(self) -> bool:
        return self.urgency in HELD

    def as_json(self) -> dict:
        return {"id": self.id, "urgency": self.urgency, "flags": list(self.flags)}


@dataclass
class Evaluation:
    rules_version: str
    predictions: list[Prediction]
    mean_microseconds: float
    labelled: list[Prediction] = field(init=False)

    def __post_init__(self) -> None:
        self.labelled = [p for p in self.predictions if p.label is not None]

    @property
    def true_positives(self) -> list[Prediction]:
        return [p for p in self.labelled if p.held and p.label in HELD]

    @property
    def false_negatives(self) -> list[Prediction]:
        return [p for p in self.labelled if not p.held and p.label in HELD]

    @property
    def false_positives(self) -> list[Prediction]:
        return [p for p in self.labelled if p.held and p.label not in HELD]

    @property
    def recall(self) -> float:
        caught, missed = len(self.true_positives), len(self.false_negatives)
        return caught / (caught + missed) if caught + missed else 1.0

    @property
    def precision(self) -> float:
        caught, false_alarms = len(self.true_positives), len(self.false_positives)
        return caught / (caught + false_alarms) if caught + false_alarms else 1.0

    @property
    def exact(self) -> list[Prediction]:
        return [p for p in self.labelled if p.urgency == p.label]

    @property
    def exact_accuracy(self) -> float:
        return len(self.exact) / len(self.labelled) if self.labelled else 0.0

    @property
    def emergencies_not_held(self) -> list[Prediction]:
        return [p for p in self.labelled if p.label == "emergency" and not p.held]

    @property
    def negated_held(self) -> list[Prediction]:
        """Messages that only deny or recall a red flag, held anyway."""
        return [p for p in self.false_positives if p.negated]


def read_messages(path: Path) -> list[LabelledMessage]:
    """The messages of a JSONL file: `id` and `text`, and `urgency` (and `negated`) when labelled."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise EvaluationInputError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as error:
        raise EvaluationInputError(f"{path}: cannot be read ({error})") from None

    messages: list[LabelledMessage] = []
    seen: set[str] = set()
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        where = f"{path}, line {number}"
        try:
            row = json.loads(line)
        except json.JSONDecodeError as error:
            raise EvaluationInputError(f"{where}: not valid JSON ({error.msg})") from None
        if not isinstance(row, dict):
            raise EvaluationInputError(f"{where}: expected a JSON object")
        message_id, text = row.get("id"), row.get("text")
        if isinstance(message_id, bool) or not isinstance(message_id, str | int) or str(message_id) == "":
            raise EvaluationInputError(f"{where}: missing id")
        if not isinstance(text, str):
            raise EvaluationInputError(f"{where}: missing text")
        message_id = str(message_id)
        if message_id in seen:
            raise EvaluationInputError(f"{where}: id {message_id!r} appears twice")
        seen.add(message_id)
        urgency = row.get("urgency")
        if urgency is not None and urgency not in URGENCY_ORDER:
            raise EvaluationInputError(f"{where}: urgency must be one of {', '.join(URGENCY_ORDER)}, not {urgency!r}")
        messages.append(LabelledMessage(message_id, text, urgency, bool(row.get("negated", False))))
    if not messages:
        raise EvaluationInputError(f"{path}: no messages")
    return messages


def evaluate(messages: list[LabelledMessage]) -> Evaluation:
    """Screen every message as ingest would, timing the screen (not the scrubbing).

    The time is the thread's CPU time: on a busy machine wall-clock time measures the
    other processes as much as the screen.
    """
    predictions: list[Prediction] = []
    spent = 0
    for message in messages:
        body = scrub_identifiers(message.text)
        started = time.thread_time_ns()
        assessment = assess_patient_message(body=body, message_index=0)
        spent += time.thread_time_ns() - started
        predictions.append(
            Prediction(
                id=message.id,
                urgency=assessment.urgency,
                flags=tuple(flag["rule_id"] for flag in assessment.flags),
                label=message.urgency,
                negated=message.negated,
            )
        )
    return Evaluation(RULES_VERSION, predictions, spent / len(messages) / 1000 if messages else 0.0)


def _line(prediction: Prediction) -> str:
    flags = ", ".join(prediction.flags) or "no flag"
    return f"  {prediction.id}: labelled {prediction.label}, screened {prediction.urgency} ({flags})"


def report_lines(evaluation: Evaluation) -> list[str]:
    """What the command prints: the figures, then every miss by id."""
    lines = [
        f"Rules {evaluation.rules_version}: {len(evaluation.predictions)} messages, "
        f"{len(evaluation.labelled)} labelled.",
        f"Screen cost: {evaluation.mean_microseconds:.0f} µs of CPU per message on average.",
    ]
    if not evaluation.labelled:
        return [*lines, "No labels: predictions only."]
    caught, missed, false_alarms = (
        len(evaluation.true_positives),
        len(evaluation.false_negatives),
        len(evaluation.false_positives),
    )
    lines += [
        f"Held urgencies (emergency + urgent): recall {evaluation.recall:.3f} ({caught}/{caught + missed}), "
        f"precision {evaluation.precision:.3f} ({caught}/{caught + false_alarms}).",
        f"Exact urgency: {evaluation.exact_accuracy:.3f} ({len(evaluation.exact)}/{len(evaluation.labelled)}).",
        f"Emergencies not held: {len(evaluation.emergencies_not_held)}. "
        f"Negated or past mentions held: {len(evaluation.negated_held)}.",
        f"Missed (held urgency not held): {missed}",
        *(_line(p) for p in evaluation.false_negatives),
        f"False alarms (held without a held urgency): {false_alarms}",
        *(_line(p) for p in evaluation.false_positives),
    ]
    return lines


def write_predictions(evaluation: Evaluation, path: Path) -> None:
    with path.open("w", encoding="utf-8") as out:
        for prediction in evaluation.predictions:
            out.write(json.dumps(prediction.as_json(), ensure_ascii=False) + "\n")
