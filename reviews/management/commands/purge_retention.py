"""`manage.py purge_retention --hospital SLUG`: purge records, conversations and logs past their retention.

The rules are in `reviews/retention.py`. Ages default to the settings and may only be made
older: an age below its minimum, or a setting below its legal floor, stops the command before
anything is purged. `--dry-run` prints what would go and changes nothing.
"""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.models import Hospital
from reviews.retention import (
    CLASSES,
    DEFAULT_BATCH_SIZE,
    RetentionRefused,
    retention_ages,
    retention_purge,
)


class Command(BaseCommand):
    help = (
        "Purge a hospital's cases, conversation texts and operational logs older than their retention "
        "(RETENTION_*_DAYS settings: the default and the minimum). Each batch is audited as retention.purged; "
        "audit events are never deleted."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--hospital", required=True, metavar="SLUG", help="The hospital's slug.")
        for name in CLASSES:
            parser.add_argument(
                f"--{name}-older-than-days",
                type=int,
                metavar="N",
                help=f"Purge {name} older than N days (default and minimum: RETENTION_{name.upper()}_DAYS).",
            )
        parser.add_argument("--dry-run", action="store_true", help="Count what would be purged; change nothing.")
        parser.add_argument(
            "--batch-size", type=int, default=DEFAULT_BATCH_SIZE, help="Rows per transaction (default %(default)s)."
        )

    def handle(self, *args: Any, hospital: str, dry_run: bool, batch_size: int, **options: Any) -> None:
        found = Hospital.objects.filter(slug=hospital).first()
        if found is None:
            raise CommandError(f"No hospital with slug {hospital!r}.")
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1.")
        try:
            ages = retention_ages(
                records_days=options["records_older_than_days"],
                conversations_days=options["conversations_older_than_days"],
                logs_days=options["logs_older_than_days"],
            )
        except RetentionRefused as refusal:
            raise CommandError(str(refusal)) from refusal
        result = retention_purge(hospital=found, ages=ages, dry_run=dry_run, batch_size=batch_size)

        verb = "Would purge" if dry_run else "Purged"
        self.stdout.write(f"{verb} in hospital {found.slug}:")
        self.stdout.write(f"  {'class':<14} {'older than':>11}  {'rows':<20} {'count':>10}")
        for name in CLASSES:
            counts = sorted(result.counts[name].items())
            if not counts:
                counts = [("-", 0)]
            for table, count in counts:
                self.stdout.write(f"  {name:<14} {ages.days(name):>6} days  {table:<20} {count:>10,}")
        if not dry_run:
            self.stdout.write(f"{result.batches} batches, each audited as retention.purged.")
