"""triage: CPU per patient message of the portal's screen over the dev set, next to a plain
substring scan of the same messages for one keyword (the least any screen must do)."""

import time
from pathlib import Path

from bench.core import Bench, Measure, interleaved
from reviews.policy import assess_patient_message
from reviews.scrub import scrub_identifiers
from reviews.triage.evaluation import read_messages

# The repository's copy of ../shared/data/triage_dev.jsonl: a clean clone has no ../shared.
DEV_SET = Path(__file__).resolve().parents[2] / "reviews" / "tests" / "data" / "triage_dev.jsonl"
ROUNDS = 20


def run(bench: Bench) -> list[Measure]:
    bodies = [scrub_identifiers(message.text) for message in read_messages(DEV_SET)]

    def screen() -> float:
        started = time.thread_time_ns()
        for _ in range(ROUNDS):
            for body in bodies:
                assess_patient_message(body=body, message_index=0)
        return (time.thread_time_ns() - started) / 1000 / (ROUNDS * len(bodies))

    def substring() -> float:
        started = time.thread_time_ns()
        hits = 0
        for _ in range(ROUNDS):
            for body in bodies:
                hits += "胸痛" in body.lower()
        return (time.thread_time_ns() - started) / 1000 / (ROUNDS * len(bodies))

    figure, baseline = interleaved(screen, substring, reps=bench.reps)
    return [
        Measure(
            "triage",
            "CPU per message",
            figure,
            baseline,
            "µs",
            higher_is_better=False,
            note=f"{len(bodies)} dev-set messages × {ROUNDS}",
        )
    ]
