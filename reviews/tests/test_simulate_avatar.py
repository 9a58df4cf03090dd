"""`manage.py simulate_avatar` against a running portal: what it says it sent is what was stored."""

import re
import socket
from io import StringIO

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command

from accounts.models import ApiClient, DoctorProfile
from accounts.services import api_client_create
from reviews.models import Case, Message

from .factories import DoctorFactory, HospitalFactory

# The live server answers each request on its own thread. On PostgreSQL those threads have
# their own connections; on SQLite they share the test's in-memory one, so one at a time.
THREADS = 3 if settings.DATABASES["default"]["ENGINE"].endswith("postgresql") else 1
CJK = re.compile("[\u4e00-\u9fff]")


@pytest.fixture
def hospital_with_avatars(transactional_db):
    hospital = HospitalFactory(slug="sim-hospital")
    DoctorFactory(hospital=hospital, profile__specialty=DoctorProfile.Specialty.OBSTETRICS)
    DoctorFactory(hospital=hospital, profile__specialty=DoctorProfile.Specialty.PAEDIATRICS)
    return hospital


def simulate(live_server, *args: str) -> str:
    out = StringIO()
    call_command("simulate_avatar", "--base-url", live_server.url, "--threads", str(THREADS), *args, stdout=out)
    return out.getvalue()


def counts(output: str) -> dict[str, int]:
    sent = re.search(r"Sent (\d+) requests .*: 2xx (\d+), 4xx (\d+) .*, 5xx (\d+), no answer (\d+)\.", output)
    cases = re.search(
        r"Cases: (\d+) created, (\d+) existing, (\d+) refused \(of (\d+)\); (\d+) conversation messages; "
        r"follow-up messages: (\d+) added",
        output,
    )
    assert sent and cases, output
    names = ("sent", "2xx", "4xx", "5xx", "no_answer")
    names += ("created", "existing", "refused", "planned", "messages", "follow_ups")
    return dict(zip(names, map(int, sent.groups() + cases.groups()), strict=True))


def test_posts_cases_and_follow_ups_at_the_rate_and_reports_what_was_stored(live_server, hospital_with_avatars):
    _client, token = api_client_create(
        hospital=hospital_with_avatars, name="Platform", scopes=["cases:read", "cases:write"]
    )

    output = simulate(
        live_server, "--hospital", "sim-hospital", "--token", token, "--rate", "5", "--duration", "2",
        "--follow-up-share", "0.6", "--seed", "3",
    )  # fmt: skip

    reported = counts(output)
    cases = Case.objects.filter(hospital=hospital_with_avatars)
    assert reported["planned"] == reported["created"] == cases.count() == 10
    assert reported["sent"] == reported["2xx"] == 10 + reported["follow_ups"]
    assert reported["4xx"] == reported["5xx"] == reported["no_answer"] == 0
    assert reported["follow_ups"] > 0
    assert Message.objects.filter(case__in=cases).count() == reported["messages"] + reported["follow_ups"]
    assert all(external_id.startswith("sim-") for external_id in cases.values_list("external_id", flat=True))
    # The hospital's own doctors, patients from a pool, and both languages of the demo's stories.
    assert set(cases.values_list("doctor__doctor_profile__specialty", flat=True)) <= {"obstetrics", "paediatrics"}
    questions = list(Message.objects.filter(case__in=cases, author="patient").values_list("body", flat=True))
    assert any(CJK.search(q) for q in questions) and any(not CJK.search(q) for q in questions)
    assert re.search(r"latency p50 \d+ ms, p95 \d+ ms", output)


def test_without_a_token_it_creates_a_client_and_can_send_batches(live_server, hospital_with_avatars):
    output = simulate(
        live_server, "--hospital", "sim-hospital", "--rate", "6", "--duration", "1", "--batch", "4",
        "--follow-up-share", "0",
    )  # fmt: skip

    client = ApiClient.objects.get(hospital=hospital_with_avatars)
    assert f"Created API client {client.name!r}" in output
    assert client.scopes == ["cases:read", "cases:write"]
    reported = counts(output)
    assert reported["sent"] == 2  # 6 cases, 4 and 2 to a batch
    assert reported["created"] == Case.objects.filter(hospital=hospital_with_avatars).count() == 6


def test_a_refused_token_is_a_clear_error(live_server, hospital_with_avatars):
    with pytest.raises(CommandError, match=r"refused the token \(401\): Unknown or revoked API token"):
        simulate(live_server, "--hospital", "sim-hospital", "--token", "prt_wrong", "--rate", "1", "--duration", "1")

    assert not Case.objects.exists()


def test_an_unreachable_portal_is_a_clear_error():
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]  # nothing listens there once the socket is closed

    with pytest.raises(CommandError, match=rf"Cannot reach the portal at http://127.0.0.1:{port}: .*Is it running\?"):
        call_command(
            "simulate_avatar", "--hospital", "sim-hospital", "--token", "prt_any", "--rate", "1", "--duration", "1",
            "--base-url", f"http://127.0.0.1:{port}",
        )  # fmt: skip
