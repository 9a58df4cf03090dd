"""The permission matrix: every URL of the URL conf, as every kind of visitor.

Each URL pattern must have a row below, so a new page cannot ship without deciding who
may use it. Objects in URLs belong to the home hospital; the other hospital's doctor
and admin must never read or change them (404 or 403, and nothing written).
"""

from datetime import timedelta

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

from accounts.models import ApiClient, Hospital
from accounts.services import api_client_create, staff_invite
from reviews.models import Appointment, AuditEvent, Case, PreVisitSummary, WebhookDelivery, WebhookEndpoint
from reviews.tests.factories import AdminFactory, CaseFactory, DoctorFactory, HospitalFactory
from reviews.webhook_endpoints import webhook_endpoint_create
from reviews.webhooks import webhook_event_record

ROLES = ("anonymous", "doctor", "admin", "other_doctor", "other_admin")
ALL_405 = (405,) * 5

# name: (GET statuses, POST statuses), each in the order of ROLES.
# 302 for a signed-in visitor means "redirected", e.g. after a successful form post.
MATRIX: dict[str, tuple[tuple[int, ...], tuple[int, ...]]] = {
    # Probes for load balancers: open to all, read only; ready while the database and any broker answer.
    "healthz": ((200,) * 5, ALL_405),
    "readyz": ((200,) * 5, ALL_405),
    # Sign-in and account pages.
    "login": ((200, 302, 302, 302, 302), (200, 302, 302, 302, 302)),
    "logout": (ALL_405, (302, 302, 302, 302, 302)),
    "sign_out_everywhere": (ALL_405, (302, 302, 302, 302, 302)),
    "invitation": ((200, 200, 200, 200, 200), (200, 200, 200, 200, 200)),
    "password_reset": ((200,) * 5, (200,) * 5),
    "password_reset_done": ((200,) * 5, ALL_405),
    "password_reset_confirm": ((200,) * 5, (200,) * 5),
    "password_reset_complete": ((200,) * 5, ALL_405),
    "password_change": ((302, 200, 200, 200, 200), (302, 200, 200, 200, 200)),
    "profile": ((302, 200, 200, 200, 200), ALL_405),
    "profile_language": (ALL_405, (302, 302, 302, 302, 302)),
    "set_language": ((302,) * 5, (302,) * 5),
    "two_factor": ((302, 200, 200, 200, 200), (302, 200, 200, 200, 200)),
    "two_factor_verify": ((302, 302, 302, 302, 302), (302, 302, 302, 302, 302)),
    "two_factor_backup_codes": ((302, 302, 302, 302, 302), (302, 302, 302, 302, 302)),
    "two_factor_disable": (ALL_405, (302, 302, 302, 302, 302)),
    # Doctors' pages: admins manage, they do not read conversations.
    "reviews:queue": ((302, 200, 200, 200, 200), ALL_405),
    "reviews:next": (ALL_405, (302, 302, 403, 302, 403)),
    "reviews:case": ((302, 200, 403, 404, 403), ALL_405),
    "reviews:claim": (ALL_405, (302, 302, 403, 404, 403)),
    "reviews:approve": (ALL_405, (302, 409, 403, 404, 403)),
    "reviews:correct": (ALL_405, (302, 400, 403, 404, 403)),
    "reviews:take_over": (ALL_405, (302, 409, 403, 404, 403)),
    "reviews:reply": (ALL_405, (302, 400, 403, 404, 403)),
    "reviews:close": (ALL_405, (302, 409, 403, 404, 403)),
    # Pre-visit summaries are read like cases: by the appointment's own doctor.
    "reviews:visits": ((302, 200, 403, 200, 403), ALL_405),
    "reviews:visit_summary": ((302, 200, 403, 404, 403), ALL_405),
    "reviews:visit_summary_print": ((302, 200, 403, 404, 403), ALL_405),
    # Hospital admins' pages: lists show the visitor's own hospital; objects of another are 404.
    "manage:staff": ((302, 403, 200, 403, 200), ALL_405),
    "manage:staff_invite": ((302, 403, 200, 403, 200), (302, 403, 400, 403, 400)),
    "manage:staff_edit": ((302, 403, 200, 403, 404), (302, 403, 400, 403, 404)),
    "manage:staff_deactivate": ((302, 403, 200, 403, 404), (302, 403, 302, 403, 404)),
    "manage:staff_reactivate": ((302, 403, 200, 403, 404), (302, 403, 302, 403, 404)),
    "manage:staff_unlock": ((302, 403, 302, 403, 404), (302, 403, 302, 403, 404)),
    "manage:staff_two_factor_reset": ((302, 403, 200, 403, 404), (302, 403, 302, 403, 404)),
    "manage:api_clients": ((302, 403, 200, 403, 200), (302, 403, 400, 403, 400)),
    "manage:api_client_revoke": ((302, 403, 200, 403, 404), (302, 403, 302, 403, 404)),
    "manage:policy": ((302, 403, 200, 403, 200), (302, 403, 400, 403, 400)),
    "manage:audit": ((302, 403, 200, 403, 200), ALL_405),
    "manage:audit_csv": ((302, 403, 200, 403, 200), ALL_405),
    "manage:appointments": ((302, 403, 200, 403, 200), (302, 403, 400, 403, 400)),
    "manage:webhooks": ((302, 403, 200, 403, 200), (302, 403, 400, 403, 400)),
    "manage:webhook_disable": ((302, 403, 200, 403, 404), (302, 403, 302, 403, 404)),
    "manage:webhook_deliveries": ((302, 403, 200, 403, 200), ALL_405),
    "manage:webhook_redeliver": (ALL_405, (302, 403, 302, 403, 404)),
    # The API takes API-client tokens only: a browser session is not enough, and without
    # a token every method is refused before anything else is said about the endpoint.
    "api-doctors": ((401,) * 5, (401,) * 5),
    "api-cases": ((401,) * 5, (401,) * 5),
    "api-case-detail": ((401,) * 5, (401,) * 5),
    "api-case-messages": ((401,) * 5, (401,) * 5),
    "api-patient-cases": ((401,) * 5, (401,) * 5),
    "api-cases-batch": ((401,) * 5, (401,) * 5),
    "api-appointments": ((401,) * 5, (401,) * 5),
    "api-appointment-detail": ((401,) * 5, (401,) * 5),
    "api-appointment-summary": ((401,) * 5, (401,) * 5),
    "api-schema": ((200,) * 5, ALL_405),
    "api-docs": ((200,) * 5, ALL_405),
    "api-not-found": ((404,) * 5, (404,) * 5),
}


def url_patterns(resolver: URLResolver | None = None, prefix: str = "", namespace: str = ""):
    """(name, route) of every pattern in the URL conf, static files aside."""
    resolver = resolver or get_resolver()
    for entry in resolver.url_patterns:
        route = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            inner = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            yield from url_patterns(entry, route, inner)
        elif isinstance(entry, URLPattern):
            yield (f"{namespace}{entry.name}" if entry.name else None), route


def test_every_url_has_a_row_in_the_matrix():
    names = [name for name, _route in url_patterns()]

    assert None not in names, "every URL pattern needs a name"
    assert sorted(set(names) - set(MATRIX)) == []
    assert sorted(set(MATRIX) - set(names)) == []


@pytest.fixture
def world(db):
    home = HospitalFactory(slug="home")
    doctor = DoctorFactory(hospital=home, full_name="Li Wei")
    colleague = DoctorFactory(hospital=home, full_name="Zhang Min")
    admin = AdminFactory(hospital=home, full_name="Zhou Min")
    AdminFactory(hospital=home, full_name="Second Admin")
    case = CaseFactory(doctor=doctor)
    client, _token = api_client_create(hospital=home, name="Platform", scopes=["cases:read", "cases:write"])
    _invitation, invitation_token = staff_invite(
        hospital=home,
        invited_by=admin,
        email="new@home.example",
        full_name="New Person",
        role="admin",
        link_base="http://testserver/accounts/invitation/",
    )
    endpoint, _secret = webhook_endpoint_create(
        hospital=home, created_by=admin, url="https://platform.example/hooks", events=["case.approved"]
    )
    event = webhook_event_record(hospital_id=home.pk, event_type="case.approved", payload={}, case=case)
    appointment = Appointment.objects.create(
        hospital=home, doctor=doctor, patient=case.patient, scheduled_at=case.received_at + timedelta(hours=2)
    )
    PreVisitSummary.objects.create(appointment=appointment, status="ready", content={"format_version": 1})
    away = HospitalFactory(slug="away")
    return {
        "home": home,
        "case": case,
        "colleague": colleague,
        "api_client": client,
        "users": {
            "anonymous": None,
            "doctor": doctor,
            "admin": admin,
            "other_doctor": DoctorFactory(hospital=away),
            "other_admin": AdminFactory(hospital=away),
        },
        "kwargs": {
            "case_id": case.pk,
            "user_id": colleague.pk,
            "client_id": client.pk,
            "appointment_id": appointment.pk,
            "endpoint_id": endpoint.pk,
            "delivery_id": event.deliveries.get().pk,
            "token": invitation_token,
            "uidb64": "MTIzNDU2",
        },
    }


def concrete_path(route: str, kwargs: dict) -> str:
    path = "/" + route.replace("^", "")
    for key, value in kwargs.items():
        for converter in ("int", "str", ""):
            placeholder = f"<{converter}:{key}>" if converter else f"<{key}>"
            path = path.replace(placeholder, str(value))
    if "<token>" in path:
        path = path.replace("<token>", "set-password")
    return path.replace("api/v1/", "api/v1/no-such-endpoint/", 1) if route.endswith("^") else path


def home_state(world) -> tuple:
    case = Case.objects.get(pk=world["case"].pk)
    colleague = type(world["colleague"]).objects.get(pk=world["colleague"].pk)
    return (
        case.status,
        case.version,
        case.claimed_by_id,
        colleague.is_active,
        ApiClient.objects.get(pk=world["api_client"].pk).revoked_at,
        Hospital.objects.filter(pk=world["home"].pk).values_list("sla_urgent_minutes", "require_2fa").get(),
        list(WebhookEndpoint.objects.filter(hospital=world["home"]).values_list("pk", "active")),
        list(WebhookDelivery.objects.filter(endpoint__hospital=world["home"]).values_list("status", "next_attempt_at")),
        Appointment.objects.filter(hospital=world["home"]).count(),
    )


ROUTES = dict((name, route) for name, route in url_patterns())


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("method", ["GET", "POST"])
@pytest.mark.parametrize("name", sorted(MATRIX))
def test_permission_matrix(client, world, name, method, role):
    user = world["users"][role]
    if user is not None:
        client.force_login(user)
    path = concrete_path(ROUTES[name], world["kwargs"])
    home_events_before = AuditEvent.objects.filter(hospital=world["home"]).count()
    state_before = home_state(world)

    response = client.get(path) if method == "GET" else client.post(path)

    expected = MATRIX[name][0 if method == "GET" else 1][ROLES.index(role)]
    assert response.status_code == expected, f"{method} {path} as {role}"
    if role.startswith("other_"):
        # Nothing of the home hospital is read out or changed by another hospital's staff.
        assert AuditEvent.objects.filter(hospital=world["home"]).count() == home_events_before
        assert home_state(world) == state_before
        raw = b"".join(response.streaming_content) if response.streaming else response.content
        body = raw.decode(errors="replace")
        assert world["case"].question_preview not in body
        assert world["colleague"].email not in body
