"""Every page speaks Simplified Chinese as well as English.

The catalogue is complete (`.ci/check_translations.py` also checks that no string of
the source is missing from it), its compiled form is the one committed, and pages
render in the signed-in user's language.
"""

import gettext
import importlib.util
from pathlib import Path

import pytest
from django.utils import translation

from reviews.tests.factories import AdminFactory, CaseFactory, DoctorFactory

ROOT = Path(__file__).resolve().parent.parent
LC_MESSAGES = ROOT / "locale" / "zh_Hans" / "LC_MESSAGES"

_spec = importlib.util.spec_from_file_location("check_translations", ROOT / ".ci" / "check_translations.py")
check_translations = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(check_translations)


def test_the_catalogue_is_complete_and_compiled():
    entries = check_translations.entries(LC_MESSAGES / "django.po")
    compiled = gettext.GNUTranslations((LC_MESSAGES / "django.mo").open("rb"))

    assert len(entries) > 300
    untranslated = [msgid for (_ctx, msgid), (text, fuzzy) in entries.items() if not text or fuzzy]
    assert untranslated == []
    stale = [
        msgid
        for (ctx, msgid), (text, _fuzzy) in entries.items()
        if text
        not in (
            compiled.pgettext(ctx, msgid) if ctx else compiled.gettext(msgid),
            compiled.ngettext(msgid, msgid, 1),  # plural entries: their msgstr[0]
        )
    ]
    assert stale == [], "the .mo is older than the .po: run `make messages`"


def zh(text: str) -> str:
    with translation.override("zh-hans"):
        translated = translation.gettext(text)
    assert translated != text, f"{text!r} has no Chinese translation"
    return translated


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("role", "path", "strings"),
    [
        ("doctor", "/", ["Review queue", "Next case", "Sign out"]),
        ("doctor", "case", ["Conversation", "Approve", "Correct", "Take over", "Avatar draft"]),
        ("doctor", "/accounts/profile/", ["Sign out everywhere"]),
        ("admin", "/", ["Hospital overview"]),
        ("admin", "/manage/staff/", ["Staff", "Invite someone"]),
        ("admin", "/manage/api-clients/", ["API clients"]),
        ("admin", "/manage/policy/", ["Policy"]),
        ("admin", "/manage/audit/", ["Audit log"]),
        (None, "/accounts/login/", ["Sign in", "Email", "Password"]),
    ],
)
def test_pages_render_in_the_users_language(client, hospital, role, path, strings):
    doctor = DoctorFactory(hospital=hospital, language="zh-hans")
    admin = AdminFactory(hospital=hospital, language="zh-hans")
    case = CaseFactory(doctor=doctor)
    if role:
        client.force_login(doctor if role == "doctor" else admin)
    else:
        client.cookies["django_language"] = "zh-hans"
    if path == "case":
        path = f"/cases/{case.pk}/"

    page = client.get(path).content.decode()

    assert '<html lang="zh-hans">' in page
    for text in strings:
        assert zh(text) in page


@pytest.mark.django_db
def test_a_chinese_speaking_users_request_leaves_the_threads_language_alone(client, doctor):
    doctor.language = "zh-hans"
    doctor.save(update_fields=["language"])
    client.force_login(doctor)
    before = translation.get_language()

    response = client.get("/")

    assert response["Content-Language"] == "zh-hans"
    assert translation.get_language() == before != "zh-hans"
