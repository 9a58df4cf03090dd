"""`manage.py triage_eval FILE.jsonl [--predictions OUT.jsonl]`: the red-flag screen against a labelled set.

Each input line is a JSON object with `id` and `text`, and `urgency` (emergency, urgent,
soon or routine) when labelled. Prints recall and precision of held urgencies, exact-urgency
accuracy, the screen's mean cost per message and every miss by id; with `--predictions`,
writes one `{"id", "urgency", "flags"}` line per input. A file it cannot read exits 2.
"""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from reviews.triage.evaluation import EvaluationInputError, evaluate, read_messages, report_lines, write_predictions


class Command(BaseCommand):
    help = "Run the red-flag screen over a JSONL file of patient messages and report recall, precision and misses."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path, help="JSONL: one {id, text[, urgency]} object per line")
        parser.add_argument("--predictions", type=Path, help="write one {id, urgency, flags} line per input here")

    def handle(self, *args, file: Path, predictions: Path | None, **options) -> None:
        try:
            messages = read_messages(file)
        except EvaluationInputError as error:
            raise CommandError(str(error), returncode=2) from None

        evaluation = evaluate(messages)
        if predictions is not None:
            try:
                write_predictions(evaluation, predictions)
            except OSError as error:
                raise CommandError(f"{predictions}: cannot be written ({error.strerror})", returncode=2) from None
        for line in report_lines(evaluation):
            self.stdout.write(line)
