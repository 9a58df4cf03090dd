"""`manage.py compile_summaries --all | --appointment ID`: compile pre-visit summaries by hand.

Runs the compiles in this process, not through the broker: for an operator after an
outage, a deploy that changed the compile, or one summary a doctor is waiting for. A
compile by hand goes ahead even where a worker holds the summary; whichever compile
started last is the one whose result is kept.
"""

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from reviews.models import Appointment, PreVisitSummary
from reviews.previsit import in_lead_window, summary_compile_run

BAR_WIDTH = 30


class Command(BaseCommand):
    help = (
        "Compile pre-visit summaries now, in this process: --all for every appointment inside its "
        "hospital's lead window (whatever its summary's state), or --appointment ID for one appointment."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        which = parser.add_mutually_exclusive_group(required=True)
        which.add_argument("--all", action="store_true", help="Every appointment inside its lead window.")
        which.add_argument("--appointment", type=int, metavar="ID", help="One appointment, whenever it is.")

    def handle(self, *args, all: bool, appointment: int | None, **options) -> None:
        if appointment is not None:
            appointments = Appointment.objects.filter(pk=appointment)
            if not appointments.exists():
                raise CommandError(f"No appointment with id {appointment}.")
        else:
            appointments = Appointment.objects.filter(in_lead_window(now=timezone.now()))
        # Appointments booked some other way than appointment_create may lack their row.
        PreVisitSummary.objects.bulk_create(
            [
                PreVisitSummary(appointment_id=pk)
                for pk in appointments.filter(summary__isnull=True).values_list("pk", flat=True)
            ],
            ignore_conflicts=True,
        )
        summary_ids = list(
            PreVisitSummary.objects.filter(appointment__in=appointments)
            .order_by("appointment__scheduled_at", "pk")
            .values_list("pk", flat=True)
        )
        ready = failed = 0
        for done, summary_id in enumerate(summary_ids, start=1):
            try:
                summary = summary_compile_run(summary_id, force=True)
            except Exception as exc:
                failed += 1
                self.stderr.write(f"\nSummary {summary_id} failed: {type(exc).__name__}")
            else:
                ready += summary is not None and summary.status == PreVisitSummary.Status.READY
            self._progress(done, len(summary_ids))
        if summary_ids:
            self.stderr.write("")
        self.stdout.write(f"Summaries compiled: {len(summary_ids)} ({ready} ready, {failed} failed).")

    def _progress(self, done: int, total: int) -> None:
        filled = BAR_WIDTH * done // total
        self.stderr.write(f"\r[{'#' * filled}{'.' * (BAR_WIDTH - filled)}] {done}/{total}", ending="")
        self.stderr.flush()
