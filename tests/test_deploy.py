"""Production settings pass Django's deployment checklist, and refuse to run unsafely."""

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    # Nothing of the test process's own environment may soften production settings
    # (the browser tests, for one, set DJANGO_ALLOW_ASYNC_UNSAFE).
    dropped = {"DEBUG", "PORTAL_HTTPS", "SECRET_KEY", "EMAIL_HOST", "DJANGO_ALLOW_ASYNC_UNSAFE"}
    base = {k: v for k, v in os.environ.items() if k not in dropped}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=base | env,
        capture_output=True,
        text=True,
        timeout=120,
    )


PRODUCTION = {
    "DEBUG": "0",
    "SECRET_KEY": secrets.token_urlsafe(50),
    "ALLOWED_HOSTS": "portal.example",
    "EMAIL_HOST": "smtp.portal.example",
}


def test_check_deploy_is_clean_with_production_settings():
    result = manage("check", "--deploy", "--fail-level", "WARNING", **PRODUCTION)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_without_a_secret_key_the_portal_refuses_to_start():
    result = manage("check", **(PRODUCTION | {"SECRET_KEY": ""}))

    assert result.returncode != 0
    assert "SECRET_KEY must be set when DEBUG is off" in result.stderr


def test_https_settings_can_be_turned_off_for_a_local_run_without_tls():
    result = manage(
        "shell",
        "-c",
        "from django.conf import settings as s; "
        "print(s.SECURE_SSL_REDIRECT, s.SESSION_COOKIE_SECURE, s.SECURE_HSTS_SECONDS)",
        **(PRODUCTION | {"PORTAL_HTTPS": "0"}),
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[-3:] == ["False", "False", "0"]


def test_static_files_collect_with_production_storage():
    # Production serves hashed, compressed copies; a vendored file that points at a file we
    # do not ship (a source map) made collectstatic, and so every deployment, fail.
    result = manage("collectstatic", "--no-input", **PRODUCTION)

    assert result.returncode == 0, result.stdout + result.stderr
    manifest = json.loads((ROOT / "staticfiles" / "staticfiles.json").read_text())
    assert "vendor/swagger-ui/swagger-ui.css" in manifest["paths"]
    assert "htmx.min.js" in " ".join(manifest["paths"])
