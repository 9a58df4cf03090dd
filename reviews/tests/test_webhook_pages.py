"""The admins' webhook pages (/manage/webhooks/): register with the secret shown once,
disable, the delivery log and Redeliver; hospital scoping; htmx partials and plain forms."""

import re

import pytest

from reviews.models import AuditEvent, WebhookDelivery, WebhookEndpoint
from reviews.services import case_approve, case_claim
from reviews.webhook_endpoints import DELIVERY_PAGE_SIZE, webhook_endpoint_create, webhook_endpoint_disable

from .factories import AdminFactory, CaseFactory
from .webhook_receiver import Receiver, documented_verifier

pytestmark = pytest.mark.django_db

WEBHOOKS = "/manage/webhooks/"
DELIVERIES = "/manage/webhooks/deliveries/"
SECRET_INPUT = re.compile(r'id="new-secret" class="token" value="([^"]+)"')
DELIVERY_ROW = re.compile(r'<tr id="delivery-(\d+)" data-delivery-id="\d+" data-status="(\w+)"')


@pytest.fixture
def signed_in(client, hospital_admin):
    client.force_login(hospital_admin)
    return client


def page_text(response) -> str:
    return response.content.decode()


def delivery_rows(response) -> list[tuple[int, str]]:
    return [(int(pk), status) for pk, status in DELIVERY_ROW.findall(page_text(response))]


def register(hospital, url: str = "https://platform.example/hooks", events=("case.approved",)) -> WebhookEndpoint:
    endpoint, _secret = webhook_endpoint_create(
        hospital=hospital, created_by=AdminFactory(hospital=hospital), url=url, events=list(events)
    )
    return endpoint


def approve(doctor) -> None:
    case = case_claim(case=CaseFactory(doctor=doctor), doctor=doctor)
    case_approve(case=case, doctor=doctor, version=case.version)


# --- register -----------------------------------------------------------------------------


def test_registering_shows_the_secret_once(signed_in, hospital, hospital_admin):
    response = signed_in.post(
        WEBHOOKS,
        {
            "url": "https://platform.example/hooks",
            "events": ["case.approved", "case.corrected"],
            "description": "Platform",
        },
    )
    page = page_text(response)

    assert response.status_code == 200
    secret = SECRET_INPUT.search(page).group(1)
    assert "Copy it now: it will not be shown again." in page
    assert 'data-copy="new-secret"' in page and "/static/js/copy.js" in page
    assert "no-store" in response["Cache-Control"]
    endpoint = WebhookEndpoint.objects.get(hospital=hospital)
    assert (endpoint.secret, endpoint.url, endpoint.events) == (
        secret,
        "https://platform.example/hooks",
        ["case.approved", "case.corrected"],
    )
    assert endpoint.created_by == hospital_admin

    again = page_text(signed_in.get(WEBHOOKS))
    assert secret not in again and "new-secret" not in again
    assert "https://platform.example/hooks" in again and "Platform" in again
    audit = AuditEvent.objects.get(action="webhook_endpoint.created")
    assert audit.actor_user == hospital_admin and secret not in str(audit.details)


def test_registering_with_htmx_swaps_in_the_list_and_the_secret(signed_in):
    response = signed_in.post(
        WEBHOOKS, {"url": "https://platform.example/hooks", "events": ["case.closed"]}, HTTP_HX_REQUEST="true"
    )
    page = page_text(response)

    assert response.status_code == 200
    assert page.lstrip().startswith('<div id="webhooks-body">') and "<html" not in page
    assert SECRET_INPUT.search(page)
    assert 'data-endpoint-id="' in page and "https://platform.example/hooks" in page
    assert "HX-Request" in response["Vary"]


def test_the_page_offers_the_six_events_and_works_without_javascript(signed_in):
    page = page_text(signed_in.get(WEBHOOKS))

    for event in WebhookEndpoint.EVENT_TYPES:
        assert f'type="checkbox" name="events" value="{event}"' in page
    assert '<form method="post" action="/manage/webhooks/"' in page
    assert 'hx-post="/manage/webhooks/"' in page
    assert '<a href="/manage/webhooks/" aria-current="page">Webhooks</a>' in page


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"url": "https://platform.example/hooks"}, "Choose at least one event."),
        ({"url": "not a url", "events": ["case.closed"]}, "Enter a valid URL."),
        ({"url": "http://platform.example/hooks", "events": ["case.closed"]}, "Use an https:// URL"),
        ({"url": "https://u:p@platform.example/", "events": ["case.closed"]}, "Leave the user name and password out"),
        ({"url": "https://platform.example/", "events": ["case.deleted"]}, "Select a valid choice."),
        ({"events": ["case.closed"]}, "This field is required."),
    ],
)
def test_register_form_errors(signed_in, data, message):
    response = signed_in.post(WEBHOOKS, data)

    assert response.status_code == 400
    assert message in page_text(response)
    assert "new-secret" not in page_text(response)
    assert not WebhookEndpoint.objects.exists()
    assert not AuditEvent.objects.filter(action__startswith="webhook").exists()


def test_plain_http_to_this_machine_is_accepted(signed_in, hospital):
    response = signed_in.post(WEBHOOKS, {"url": "http://127.0.0.1:9000/hooks", "events": ["case.closed"]})

    assert response.status_code == 200
    assert WebhookEndpoint.objects.get(hospital=hospital).url == "http://127.0.0.1:9000/hooks"


def test_the_list_shows_only_this_hospitals_endpoints(signed_in, hospital, outside_doctor):
    register(hospital, "https://ours.example/hooks")
    register(outside_doctor.hospital, "https://theirs.example/hooks")

    page = page_text(signed_in.get(WEBHOOKS))

    assert "https://ours.example/hooks" in page and "theirs.example" not in page


def test_doctors_may_not_see_or_register_webhooks(client, doctor, hospital):
    register(hospital)
    client.force_login(doctor)

    assert client.get(WEBHOOKS).status_code == 403
    assert client.post(WEBHOOKS, {"url": "https://x.example/", "events": ["case.closed"]}).status_code == 403
    assert client.get(DELIVERIES).status_code == 403
    assert WebhookEndpoint.objects.count() == 1


# --- disable --------------------------------------------------------------------------------


def test_disabling_asks_first_then_stops_the_endpoint(signed_in, hospital, doctor):
    endpoint = register(hospital)
    approve(doctor)  # one pending delivery
    url = f"/manage/webhooks/{endpoint.pk}/disable/"

    confirm = signed_in.get(url)
    assert f'<form method="post" action="{url}"' in page_text(confirm)
    assert WebhookEndpoint.objects.get().active

    response = signed_in.post(url)

    assert response.status_code == 302 and response.url == WEBHOOKS
    assert "is disabled: nothing more is sent to it (1 pending delivery given up)." in page_text(
        signed_in.get(WEBHOOKS)
    )
    assert not WebhookEndpoint.objects.get().active
    assert WebhookDelivery.objects.get().status == "failed"
    assert AuditEvent.objects.filter(action="webhook_endpoint.disabled").count() == 1


def test_disabling_with_htmx_swaps_the_list(signed_in, hospital):
    endpoint = register(hospital)

    response = signed_in.post(f"/manage/webhooks/{endpoint.pk}/disable/", HTTP_HX_REQUEST="true")
    page = page_text(response)

    assert response.status_code == 200
    assert page.lstrip().startswith('<section id="webhook-endpoints"') and "<html" not in page
    assert "is disabled" in page and "hx-post" not in page


def test_another_hospitals_endpoint_and_delivery_are_not_found(signed_in, outside_doctor):
    theirs = register(outside_doctor.hospital)
    approve(outside_doctor)
    delivery = WebhookDelivery.objects.get()

    assert signed_in.get(f"/manage/webhooks/{theirs.pk}/disable/").status_code == 404
    assert signed_in.post(f"/manage/webhooks/{theirs.pk}/disable/").status_code == 404
    assert signed_in.post(f"/manage/webhooks/deliveries/{delivery.pk}/redeliver/").status_code == 404
    assert signed_in.get(DELIVERIES, {"endpoint": theirs.pk}).status_code == 400
    assert WebhookEndpoint.objects.get().active
    assert WebhookDelivery.objects.get().status == "pending"
    assert delivery_rows(signed_in.get(DELIVERIES)) == []


# --- the delivery log ---------------------------------------------------------------------


def test_the_delivery_log_shows_each_delivery(signed_in, hospital, doctor, django_capture_on_commit_callbacks):
    with Receiver(["500"]) as receiver:
        endpoint = register(hospital, receiver.url)
        with django_capture_on_commit_callbacks(execute=True):
            approve(doctor)

    response = signed_in.get(DELIVERIES)
    page = page_text(response)

    delivery = WebhookDelivery.objects.select_related("event").get()
    assert response.status_code == 200
    assert delivery_rows(response) == [(delivery.pk, "pending")]
    for column in ("Event and its id", "Endpoint", "Status", "Response", "Attempts", "Last attempt", "Next attempt"):
        assert f"<th>{column}</th>" in page
    assert "<code>case.approved</code>" in page
    assert f'<code class="event-id muted">{delivery.event.event_id}</code>' in page
    assert endpoint.url in page
    assert "<td>500</td>" in page and "HTTP 500" in page
    assert "patient text" not in page  # the receiver's answer body is never kept
    assert f'action="/manage/webhooks/deliveries/{delivery.pk}/redeliver/"' in page
    assert f'hx-post="/manage/webhooks/deliveries/{delivery.pk}/redeliver/"' in page


def test_the_delivery_log_filters_by_endpoint_and_status(signed_in, hospital, doctor):
    first = register(hospital, "https://one.example/hooks")
    second = register(hospital, "https://two.example/hooks")
    approve(doctor)
    approve(doctor)
    delivered = WebhookDelivery.objects.filter(endpoint=first).order_by("pk").first()
    WebhookDelivery.objects.filter(pk=delivered.pk).update(status="delivered")

    by_endpoint = delivery_rows(signed_in.get(DELIVERIES, {"endpoint": second.pk}))
    by_status = delivery_rows(signed_in.get(DELIVERIES, {"status": "delivered"}))
    partial = signed_in.get(DELIVERIES, {"endpoint": first.pk, "status": "pending"}, HTTP_HX_REQUEST="true")

    assert [pk for pk, _ in by_endpoint] == list(
        WebhookDelivery.objects.filter(endpoint=second).order_by("-pk").values_list("pk", flat=True)
    )
    assert by_status == [(delivered.pk, "delivered")]
    assert page_text(partial).lstrip().startswith('<section id="deliveries-table"')
    assert len(delivery_rows(partial)) == 1
    assert signed_in.get(DELIVERIES, {"status": "lost"}).status_code == 400


def test_the_delivery_log_pages_by_keyset_in_a_fixed_number_of_queries(
    signed_in, hospital, doctor, django_assert_max_num_queries
):
    WebhookEndpoint.objects.bulk_create(
        WebhookEndpoint(hospital=hospital, url=f"https://{n}.example/", events=["case.approved"], secret="s")
        for n in range(DELIVERY_PAGE_SIZE + 5)
    )
    approve(doctor)  # one event, a delivery to each endpoint
    newest_first = list(WebhookDelivery.objects.order_by("-pk").values_list("pk", flat=True))

    with django_assert_max_num_queries(8):
        first_page = signed_in.get(DELIVERIES)
    older = re.search(r'href="\?before=(\d+)"[^>]*rel="next"', page_text(first_page))
    second_page = signed_in.get(DELIVERIES, {"before": older.group(1)})

    assert [pk for pk, _ in delivery_rows(first_page)] == newest_first[:DELIVERY_PAGE_SIZE]
    assert [pk for pk, _ in delivery_rows(second_page)] == newest_first[DELIVERY_PAGE_SIZE:]
    assert 'rel="next"' not in page_text(second_page)


def test_redeliver_sends_again_and_is_audited(
    signed_in, hospital, doctor, hospital_admin, django_capture_on_commit_callbacks
):
    with Receiver() as receiver:
        _endpoint, secret = webhook_endpoint_create(
            hospital=hospital, created_by=hospital_admin, url=receiver.url, events=["case.approved"]
        )
        with django_capture_on_commit_callbacks(execute=True):
            approve(doctor)
        delivery = WebhookDelivery.objects.get()
        back = f"{DELIVERIES}?status=delivered"

        with django_capture_on_commit_callbacks(execute=True):
            response = signed_in.post(f"{DELIVERIES}{delivery.pk}/redeliver/", {"next": back})

    assert response.status_code == 302 and response.url == back
    assert [r.event["id"] for r in receiver.requests] == [str(delivery.event.event_id)] * 2
    assert documented_verifier()(secret, receiver.requests[1].headers["X-Portal-Signature"], receiver.requests[1].body)
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("delivered", 2)
    audit = AuditEvent.objects.get(action="webhook_delivery.redelivered")
    assert audit.actor_user == hospital_admin and audit.details["delivery_id"] == delivery.pk
    assert "is queued to be sent again" in page_text(signed_in.get(DELIVERIES))


def test_redeliver_with_htmx_swaps_the_row(signed_in, hospital, doctor):
    register(hospital)
    approve(doctor)
    delivery = WebhookDelivery.objects.get()
    WebhookDelivery.objects.filter(pk=delivery.pk).update(status="failed", next_attempt_at=None)

    response = signed_in.post(f"{DELIVERIES}{delivery.pk}/redeliver/", HTTP_HX_REQUEST="true")

    assert response.status_code == 200
    assert page_text(response).lstrip().startswith(f'<tr id="delivery-{delivery.pk}"')
    assert delivery_rows(response) == [(delivery.pk, "pending")]


def test_redeliver_to_a_disabled_endpoint_is_refused_in_place(signed_in, hospital, doctor, hospital_admin):
    endpoint = register(hospital)
    approve(doctor)
    webhook_endpoint_disable(endpoint=endpoint, disabled_by=hospital_admin)
    delivery = WebhookDelivery.objects.get()

    response = signed_in.post(f"{DELIVERIES}{delivery.pk}/redeliver/", HTTP_HX_REQUEST="true")
    plain = signed_in.post(f"{DELIVERIES}{delivery.pk}/redeliver/", {"next": "https://evil.example/"})

    assert response.status_code == 409
    assert "This endpoint is disabled" in page_text(response)
    assert plain.status_code == 302 and plain.url == DELIVERIES
    assert WebhookDelivery.objects.get().status == "failed"
    assert not AuditEvent.objects.filter(action="webhook_delivery.redelivered").exists()
