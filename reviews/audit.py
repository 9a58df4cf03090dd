"""Writing audit events. Called inside the transaction of the change it records."""

from typing import Any

from accounts.models import ApiClient, Hospital, User

from .models import AuditEvent, Case


def audit_event(
    *,
    hospital: Hospital,
    action: str,
    user: User | None = None,
    api_client: ApiClient | None = None,
    case: Case | None = None,
    ip: str | None = None,
    details: dict[str, Any] | None = None,
) -> AuditEvent:
    """An unsaved audit event, for writers that insert many at once (bulk_create)."""
    if user is not None:
        actor_type = AuditEvent.ActorType.USER
    elif api_client is not None:
        actor_type = AuditEvent.ActorType.API_CLIENT
    else:
        actor_type = AuditEvent.ActorType.SYSTEM
    return AuditEvent(
        hospital=hospital,
        actor_type=actor_type,
        actor_user=user,
        actor_api_client=api_client,
        action=action,
        case=case,
        ip=ip,
        details=details or {},
    )


def audit_record(
    *,
    hospital: Hospital,
    action: str,
    user: User | None = None,
    api_client: ApiClient | None = None,
    case: Case | None = None,
    ip: str | None = None,
    details: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append one audit event. `details` holds ids, codes and reasons, never patient text."""
    event = audit_event(
        hospital=hospital, action=action, user=user, api_client=api_client, case=case, ip=ip, details=details
    )
    event.save(force_insert=True)
    return event
