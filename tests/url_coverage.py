"""The URL-coverage gate (#8): a test run fails if a URL pattern was never requested.

Every pattern of the URL conf (`settings.ROOT_URLCONF`, include()s and namespaces
followed) is named by its full route and view name, e.g.
`api/v1/cases/<int:case_id>/ (api-case-detail)`. A pattern counts as covered when a
request made during the run resolved to it: Django's handler is wrapped where it
resolves a request (`BaseHandler.resolve_request`), which every in-process request goes
through — the test client, DRF's APIClient, async clients, and `live_server`, whose
thread serves the browser tests from this same process. A bare `resolve()` or
`reverse()` in a test does not count: only a request does. Requests served by another
process (a gunicorn or Celery worker started by a test) are not seen.

When the gate is on and a pattern was never requested, the run fails and the missing
patterns are listed. The summary always says "URL patterns covered: N/M".

The gate is on when
- `--url-coverage` is given (or URL_COVERAGE=1 in the environment): always, whatever
  was selected — for checking a subset deliberately; or
- the whole suite ran and passed: the arguments name no test ids and cover every
  configured testpath (plain `pytest`, `make test`, `pytest .`), nothing was deselected
  (`-k`, `-m`, `--deselect`, `--sw`), no `--lf`, `--ignore` or `--collect-only`, and the
  session ended with every test passed or skipped (a failure, `-x` stopping early or an
  interrupt means the run is already failing or incomplete: the gate only reports).
Otherwise it reports the count and says why it is off.
"""

import os
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.core.handlers.base import BaseHandler
from django.urls import URLPattern, URLResolver, get_resolver
from django.urls.resolvers import ResolverMatch


@dataclass(frozen=True, order=True)
class UrlPatternKey:
    """A pattern as a resolved request names it: Django's `ResolverMatch.route` and `.view_name`."""

    route: str
    view_name: str

    def __str__(self) -> str:
        return f"{self.route or '(root)'} ({self.view_name})"


def url_patterns(resolver: URLResolver | None = None) -> list[UrlPatternKey]:
    """Every pattern of the URL conf, in URL-conf order.

    Nothing is excluded: the portal's URL conf has no static or media serving (WhiteNoise
    serves static files outside the URL conf), so every pattern is a page or an endpoint
    of ours, Django's set_language included.
    """
    return list(_walk(resolver or get_resolver(), route="", namespaces=[]))


def _walk(resolver: URLResolver, *, route: str, namespaces: list[str]):
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            yield from _walk(
                entry,
                route=URLResolver._join_route(route, str(entry.pattern)),
                namespaces=[*namespaces, entry.namespace],
            )
        elif isinstance(entry, URLPattern):
            # Built the way URLResolver.resolve builds a request's match, so that the key of
            # an enumerated pattern equals the key of a request that resolved to it.
            match = ResolverMatch(
                entry.callback,
                (),
                {},
                entry.name,
                namespaces=namespaces,
                route=URLResolver._join_route(route, str(entry.pattern)),
            )
            yield UrlPatternKey(match.route, match.view_name)


def uncovered(patterns: list[UrlPatternKey], requested: set[UrlPatternKey]) -> list[UrlPatternKey]:
    """The patterns no request resolved to, in URL-conf order."""
    return [pattern for pattern in patterns if pattern not in requested]


@dataclass
class _Run:
    forced: bool
    requested: set[UrlPatternKey] = field(default_factory=set)
    deselected: bool = False
    patterns: list[UrlPatternKey] | None = None
    missing: list[UrlPatternKey] = field(default_factory=list)
    gate_off_because: str | None = None
    original_resolve_request: object = None


_run_key = pytest.StashKey[_Run]()


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--url-coverage",
        action="store_true",
        default=False,
        help="fail the run if any URL pattern was not requested, even when only part of the suite ran",
    )


def pytest_configure(config: pytest.Config) -> None:
    run = _Run(forced=config.getoption("url_coverage") or os.environ.get("URL_COVERAGE") == "1")
    config.stash[_run_key] = run
    original = BaseHandler.resolve_request
    run.original_resolve_request = original

    def resolve_request(handler: BaseHandler, request):
        match = original(handler, request)
        # set.add is atomic under the GIL: live_server's threads record safely.
        run.requested.add(UrlPatternKey(match.route, match.view_name))
        return match

    BaseHandler.resolve_request = resolve_request


def pytest_unconfigure(config: pytest.Config) -> None:
    run = config.stash.get(_run_key, None)
    if run is not None:
        BaseHandler.resolve_request = run.original_resolve_request


def pytest_deselected(items: list[pytest.Item]) -> None:
    if items:
        config = items[0].config
        config.stash[_run_key].deselected = True


def _why_not_the_whole_suite(config: pytest.Config, run: _Run, exitstatus: int) -> str | None:
    option = config.option
    if option.collectonly:
        return "--collect-only"
    if exitstatus != pytest.ExitCode.OK:
        return "the run did not pass"
    if getattr(option, "lf", False):  # absent under -p no:cacheprovider
        return "--lf"
    if option.ignore or option.ignore_glob:
        return "--ignore"
    if run.deselected:
        return "tests were deselected"
    if config.args_source != pytest.Config.ArgsSource.TESTPATHS:
        suite_roots = [config.rootpath / p for p in config.getini("testpaths")] or [config.invocation_params.dir]
        chosen = []
        for arg in config.args:
            if "::" in arg or not Path(arg).is_dir():
                return "tests were selected by file or id"
            chosen.append(Path(arg).resolve())
        if not all(any(root.resolve().is_relative_to(c) for c in chosen) for root in suite_roots):
            return "only part of the suite was selected"
    return None


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    from django.conf import settings

    run = session.config.stash[_run_key]
    if not settings.configured or session.testscollected == 0:
        return
    run.patterns = url_patterns()
    run.missing = uncovered(run.patterns, run.requested)
    run.gate_off_because = None if run.forced else _why_not_the_whole_suite(session.config, run, exitstatus)
    if run.missing and run.gate_off_because is None and session.exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    run = config.stash[_run_key]
    if run.patterns is None:
        return
    covered = len(run.patterns) - len(run.missing)
    line = f"URL patterns covered: {covered}/{len(run.patterns)}"
    if run.gate_off_because is not None:
        terminalreporter.write_line(f"{line} (URL-coverage gate off: {run.gate_off_because})")
        return
    if run.missing:
        terminalreporter.write_sep("=", "URL patterns no test requested", red=True)
        for pattern in run.missing:
            terminalreporter.write_line(f"  {pattern}")
        terminalreporter.write_line(f"{line} — the URL-coverage gate fails the run", red=True, bold=True)
    else:
        terminalreporter.write_line(line, green=True)
