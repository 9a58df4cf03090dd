from django.core.management.base import BaseCommand, CommandError

from accounts.models import Hospital
from accounts.services import api_client_create
from reviews.exceptions import InvalidInput


class Command(BaseCommand):
    help = "Create an API client for a hospital and print its token (shown once) as the last line."

    def add_arguments(self, parser):
        parser.add_argument("--hospital", required=True, help="The hospital's slug.")
        parser.add_argument("--name", required=True, help="What the client is, e.g. 'Avatar platform'.")
        parser.add_argument(
            "--scopes", default="cases:write,cases:read", help="Comma-separated, e.g. cases:write,cases:read."
        )

    def handle(self, *args, hospital: str, name: str, scopes: str, **options):
        found = Hospital.objects.filter(slug=hospital).first()
        if found is None:
            raise CommandError(f"No hospital with slug {hospital!r}. Run `python manage.py seed_demo` to make one.")
        try:
            client, token = api_client_create(
                hospital=found, name=name, scopes=[s.strip() for s in scopes.split(",") if s.strip()]
            )
        except InvalidInput as error:
            raise CommandError(error.message) from error
        self.stderr.write(
            f"Created API client {client.name!r} (id {client.pk}) for {found.slug} with scopes "
            f"{', '.join(client.scopes)}. The token below is shown only this once:"
        )
        self.stdout.write(token)
