"""What a signed-in person changes about their own account on the profile page."""

from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext as _

from reviews.audit import audit_record
from reviews.exceptions import InvalidInput

from .models import User


def user_language_set(*, user: User, language: str) -> User:
    """The language the portal speaks to this person (pages, and e-mails sent to them)."""
    if language not in dict(settings.LANGUAGES):
        raise InvalidInput(_("Choose one of the languages offered."), field="language")
    with transaction.atomic():
        user = User.objects.select_for_update().get(pk=user.pk)
        previous = user.language
        if previous != language:
            user.language = language
            user.save(update_fields=["language"])
            if user.hospital is not None:
                audit_record(
                    hospital=user.hospital,
                    user=user,
                    action="user.language_changed",
                    details={"from": previous, "to": language},
                )
    return user
