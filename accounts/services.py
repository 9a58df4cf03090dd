"""Changes to hospitals' staff and API clients."""

import secrets

from django.db import transaction
from django.utils.translation import gettext as _

from reviews.audit import audit_record
from reviews.exceptions import InvalidInput

from .api_auth import api_token_hash
from .models import ApiClient, Hospital, User


def api_client_create(
    *, hospital: Hospital, name: str, scopes: list[str], created_by: User | None = None
) -> tuple[ApiClient, str]:
    """Create an API client and return it with its token, which is never stored nor shown again."""
    name = name.strip()
    if not name:
        raise InvalidInput(_("Give the API client a name."), field="name")
    unknown = sorted(set(scopes) - set(ApiClient.Scope.values))
    if unknown or not scopes:
        raise InvalidInput(
            _("Unknown scopes: %(unknown)s. Choose from %(known)s.")
            % {"unknown": ", ".join(unknown) or "(none given)", "known": ", ".join(ApiClient.Scope.values)},
            field="scopes",
        )
    token = "prt_" + secrets.token_urlsafe(32)
    with transaction.atomic():
        client = ApiClient.objects.create(
            hospital=hospital,
            name=name,
            scopes=sorted(set(scopes)),
            token_prefix=token[:10],
            token_hash=api_token_hash(token),
        )
        audit_record(
            hospital=hospital,
            user=created_by,
            action="api_client.created",
            details={"api_client_id": client.pk, "scopes": client.scopes},
        )
    return client, token
