"""The URL-coverage gate of tests/url_coverage.py, run on a small suite of its own.

Each inner run is a separate pytest process with a three-pattern URL conf (one inside a
namespaced include), so that what it prints and its exit status are what a developer
running `pytest` would get.
"""

from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

REPO = Path(__file__).resolve().parent.parent

SETTINGS = """
SECRET_KEY = "url-coverage-inner-run"
ROOT_URLCONF = "ward_urls"
ALLOWED_HOSTS = ["*"]
INSTALLED_APPS = []
MIDDLEWARE = []
STATIC_URL = "/static/"
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}}
"""

URLS = """
from django.http import HttpResponse
from django.urls import include, path


def rounds(request):
    return HttpResponse("rounds")


def bed(request, bed_id):
    return HttpResponse(f"bed {bed_id}")


def discharge(request):
    return HttpResponse("discharged")


urlpatterns = [
    path("", rounds, name="rounds"),
    path("ward/", include(([path("beds/<int:bed_id>/", bed, name="bed")], "ward"))),
    path("discharge/", discharge, name="discharge"),
]
"""

# Requests two of the three patterns; naming the third without requesting it must not count.
ROUNDS_TESTS = """
from django.urls import resolve, reverse


def test_rounds(client):
    assert client.get("/").content == b"rounds"


def test_bed(client):
    assert client.get("/ward/beds/3/").content == b"bed 3"


def test_discharge_is_only_named():
    assert resolve(reverse("discharge")).url_name == "discharge"
"""

# Requests the third from a browser-like client against live_server, i.e. from another thread.
DISCHARGE_TESTS = """
from urllib.request import urlopen


def test_discharge(live_server):
    with urlopen(live_server.url + "/discharge/") as response:
        assert response.read() == b"discharged"
"""


@pytest.fixture
def ward_suite(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    monkeypatch.setenv("PYTHONPATH", str(REPO))
    pytester.makeini("[pytest]\ntestpaths = suite\n")
    pytester.makepyfile(ward_settings=SETTINGS, ward_urls=URLS)
    pytester.makeconftest('pytest_plugins = ["tests.url_coverage"]')
    suite = pytester.mkdir("suite")
    (suite / "test_rounds.py").write_text(ROUNDS_TESTS)
    return pytester


def run(suite: pytest.Pytester, *args: str) -> pytest.RunResult:
    # --ds beats the DJANGO_SETTINGS_MODULE this outer run exported to the environment.
    return suite.runpytest_subprocess("--ds=ward_settings", "-p", "no:cacheprovider", *args)


def test_a_pattern_no_test_requested_fails_the_run(ward_suite):
    result = run(ward_suite)

    result.assert_outcomes(passed=3)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(
        [
            "*= URL patterns no test requested =*",
            "  discharge/ (discharge)",
            "URL patterns covered: 2/3 — the URL-coverage gate fails the run",
        ]
    )
    # The requested ones, the namespaced one inside the include too, are not listed.
    result.stdout.no_fnmatch_line("*(ward:bed)*")
    result.stdout.no_fnmatch_line("*(rounds)*")


def test_a_run_requesting_every_pattern_passes_and_counts_live_server(ward_suite):
    (ward_suite.path / "suite" / "test_discharge.py").write_text(DISCHARGE_TESTS)

    result = run(ward_suite)

    result.assert_outcomes(passed=4)
    assert result.ret == pytest.ExitCode.OK
    result.stdout.fnmatch_lines(["URL patterns covered: 3/3"])
    result.stdout.no_fnmatch_line("*no test requested*")


@pytest.mark.parametrize(
    ("selection", "reason"),
    [
        (["suite/test_rounds.py"], "tests were selected by file or id"),
        (["suite/test_rounds.py::test_rounds"], "tests were selected by file or id"),
        (["-k", "bed"], "tests were deselected"),
        (["--deselect", "suite/test_rounds.py::test_bed"], "tests were deselected"),
    ],
)
def test_part_of_the_suite_only_reports(ward_suite, selection, reason):
    result = run(ward_suite, *selection)

    assert result.ret == pytest.ExitCode.OK
    result.stdout.fnmatch_lines([f"URL patterns covered: */3 (URL-coverage gate off: {reason})"])


def test_the_whole_suite_named_by_its_directory_is_gated(ward_suite):
    result = run(ward_suite, "suite")

    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(["  discharge/ (discharge)"])


def test_a_failing_run_reports_without_listing(ward_suite):
    (ward_suite.path / "suite" / "test_failing.py").write_text("def test_fails():\n    assert False\n")

    result = run(ward_suite)

    result.assert_outcomes(passed=3, failed=1)
    result.stdout.fnmatch_lines(["URL patterns covered: 2/3 (URL-coverage gate off: the run did not pass)"])


def test_url_coverage_option_gates_a_subset(ward_suite):
    result = run(ward_suite, "--url-coverage", "-k", "not bed")

    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(
        ["  ward/beds/<int:bed_id>/ (ward:bed)", "  discharge/ (discharge)", "URL patterns covered: 1/3 *"]
    )
