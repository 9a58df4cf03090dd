"""`manage.py verify_audit --hospital SLUG`: walk a hospital's audit chain and name the first broken event.

Prints "OK: N events, head <hash>" and exits 0, or fails with "BROKEN at event id X: <reason>"
and exit status 1. Compare the head hash with the copy the hospital keeps outside the portal:
a chain rewritten from some row onwards, head included, verifies, and only that copy tells.
"""

from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.models import Hospital
from reviews.audit import audit_chain_verify


class Command(BaseCommand):
    help = "Recompute a hospital's audit hash chain; print the head hash, or the first broken event."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--hospital", required=True, metavar="SLUG", help="The hospital's slug.")

    def handle(self, *args, hospital: str, **options) -> None:
        found = Hospital.objects.filter(slug=hospital).first()
        if found is None:
            raise CommandError(f"No hospital with slug {hospital!r}.")
        state = audit_chain_verify(hospital=found)
        if not state.ok:
            raise CommandError(f"BROKEN at event id {state.first_broken_id}: {state.reason}", returncode=1)
        self.stdout.write(f"OK: {state.count} events, head {state.head_hash or '(empty chain)'}")
