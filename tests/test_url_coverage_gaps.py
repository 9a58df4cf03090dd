"""Pages whose only request in the suite was the permission matrix's (tests/test_permissions.py).

The URL-coverage gate (tests/url_coverage.py) counts the matrix's bare GET and POST as
coverage; these tests reach the same pages the way a user does and check what they see.
"""

import re
from html import unescape

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "a-Fresh-passphrase-77"


def test_after_a_reset_the_doctor_is_told_the_password_changed_and_old_sessions_ended(client, doctor, mailoutbox):
    ward_computer = Client()
    ward_computer.force_login(doctor)
    assert ward_computer.get("/").status_code == 200
    client.post("/accounts/password-reset/", {"email": doctor.email})
    link = re.search(r"http://testserver(/accounts/reset/\S+/\S+/)", mailoutbox[0].body).group(1)
    set_url = client.get(link, follow=True).redirect_chain[-1][0]

    complete = client.post(set_url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}, follow=True)

    assert complete.redirect_chain == [("/accounts/reset/done/", 302)]
    page = unescape(complete.content.decode())
    assert "<h1>Password changed</h1>" in page
    assert "every session that used the old one has ended" in page
    assert 'href="/accounts/login/"' in page
    # The page does not sign the visitor in, and what it says of other sessions is true.
    assert not complete.wsgi_request.user.is_authenticated
    assert ward_computer.get("/").url.startswith("/accounts/login/")
