"""No page can run a script that is not one of our own static files (CSP), and no page
needs one: htmx gets its CSRF header from an attribute, not an inline script."""

import re

import pytest

from reviews.tests.factories import CaseFactory

INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.IGNORECASE)
INLINE_HANDLER = re.compile(r"\son[a-z]+\s*=", re.IGNORECASE)
INLINE_STYLE = re.compile(r"<style\b|\sstyle\s*=", re.IGNORECASE)


def test_the_policy_allows_only_our_own_scripts_and_styles(client):
    policy = client.get("/accounts/login/").headers["Content-Security-Policy"]

    directives = dict(part.strip().split(" ", 1) for part in policy.split(";") if part.strip())
    assert directives["script-src"] == "'self'"
    assert directives["style-src"] == "'self'"
    assert directives["object-src"] == "'none'"
    assert directives["frame-ancestors"] == "'none'"
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy


@pytest.mark.django_db
def test_doctor_pages_carry_no_inline_script_handler_or_style(client, doctor):
    case = CaseFactory(doctor=doctor)
    client.force_login(doctor)

    for path in (
        "/",
        f"/cases/{case.pk}/",
        f"/cases/{case.pk}/?correct=1",
        "/accounts/profile/",
        "/accounts/two-factor/",
    ):
        page = client.get(path).content.decode()
        assert not INLINE_SCRIPT.search(page), path
        assert not INLINE_HANDLER.search(page), path
        assert not INLINE_STYLE.search(page), path
        assert 'hx-headers=\'{"X-CSRFToken": "' in page, path
