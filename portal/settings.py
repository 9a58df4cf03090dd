"""Settings for the clinician review portal, read from the environment only.

Every value that differs between a laptop demo, CI and production comes from an
environment variable; nothing secret lives in the repository.
"""

import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("DEBUG", False)

SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off (set DEBUG=1 for a local demo).")
    # Only for local demos and tests: DEBUG is on, nothing real is protected by it.
    SECRET_KEY = "insecure-dev-only-secret-key-do-not-use-in-production"

# The key that turns a platform's patient reference into a stable pseudonym. It must
# differ from SECRET_KEY in production so that rotating one does not remap patients.
PATIENT_REF_KEY = os.environ.get("PATIENT_REF_KEY", SECRET_KEY)

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]" if DEBUG else "")

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_htmx",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "rest_framework",
    "drf_spectacular",
    "accounts",
    "reviews",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "accounts.middleware.UserLanguageMiddleware",
    "accounts.middleware.TwoFactorMiddleware",
    "accounts.middleware.IdleSessionMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

if not DEBUG:
    # Static files come from whitenoise once collected; runserver serves them in DEBUG.
    MIDDLEWARE.insert(1, "whitenoise.middleware.WhiteNoiseMiddleware")

ROOT_URLCONF = "portal.urls"
WSGI_APPLICATION = "portal.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
        conn_max_age=int(os.environ.get("CONN_MAX_AGE", "60")),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The demo database: wait for a writer instead of failing with "database is locked".
    DATABASES["default"].setdefault("OPTIONS", {})["timeout"] = 20
    DATABASES["default"]["CONN_MAX_AGE"] = 0

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "reviews:queue"
LOGOUT_REDIRECT_URL = "login"

# Argon2 for new and changed passwords; the others only verify hashes made before it.
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.ScryptPasswordHasher",
]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("zh-hans", _("Simplified Chinese"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
TIME_ZONE = os.environ.get("TIME_ZONE", "Asia/Shanghai")
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = BASE_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

# HTTPS-only settings are on whenever DEBUG is off, unless a local run without TLS
# asks for them off with PORTAL_HTTPS=0.
PORTAL_HTTPS = env_bool("PORTAL_HTTPS", not DEBUG)
SESSION_COOKIE_SECURE = PORTAL_HTTPS
CSRF_COOKIE_SECURE = PORTAL_HTTPS
SECURE_SSL_REDIRECT = PORTAL_HTTPS
# Load balancers probe over plain HTTP inside the network; a redirect would read as "down".
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
SECURE_HSTS_SECONDS = 31536000 if PORTAL_HTTPS else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = PORTAL_HTTPS
SECURE_HSTS_PRELOAD = PORTAL_HTTPS
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if PORTAL_HTTPS else None
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_AGE = int(os.environ.get("SESSION_IDLE_SECONDS", str(30 * 60)))
# The idle timeout: accounts.middleware.IdleSessionMiddleware saves the session (moving its
# expiry on) at every request of a signed-in person, except the htmx polls of the queue and
# of a taken-over conversation, which would keep an unattended screen signed in for ever.
SESSION_SAVE_EVERY_REQUEST = False
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
# Scripts and styles only from our own static files: no inline script can run.
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:"],
    "connect-src": [CSP.SELF],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.SELF],
    "form-action": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
}
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", "")

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["accounts.api_auth.ApiClientAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["accounts.api_auth.HasApiClientScopes"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["reviews.api_parsing.JSONParser"],
    "DEFAULT_SCHEMA_CLASS": "reviews.api_schema.PortalAutoSchema",
    "EXCEPTION_HANDLER": "reviews.api_errors.json_exception_handler",
    "DEFAULT_THROTTLE_CLASSES": ["accounts.api_auth.ApiClientRateThrottle"],
    "UNAUTHENTICATED_USER": None,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Clinician review portal API",
    "DESCRIPTION": (
        "Push avatar-handled cases in, pull case summaries. "
        "Authenticate with `Authorization: Bearer <token>` of an API client.\n\n"
        "Decisions come back as webhooks to endpoints a hospital admin registers: `case.approved`, "
        "`case.corrected`, `case.taken_over`, `case.doctor_message`, `case.closed`, `summary.ready`. Each is a "
        "JSON `POST` of `{id, type, created_at, data}` signed in `X-Portal-Signature: t=<unix>,v1=<hex>` "
        '(HMAC-SHA256 of `"<t>.<body>"` with the endpoint\'s secret), retried with backoff for 24 hours; '
        "receivers dedupe by `id`. See `docs/webhooks.md` in the repository."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Request bodies get their own components, where required text fields say minLength 1.
    "COMPONENT_SPLIT_REQUEST": True,
    "SERVE_AUTHENTICATION": [],
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    # Served from our own static files (vendored swagger-ui-dist 5.35.0): no CDN.
    "SWAGGER_UI_DIST": f"/{STATIC_URL}vendor/swagger-ui",
    "SWAGGER_UI_FAVICON_HREF": f"/{STATIC_URL}favicon.svg",
    "SWAGGER_UI_SETTINGS": {"persistAuthorization": False, "displayRequestDuration": True},
}
# Requests to /api/ larger than this are refused with 413 before they are parsed: a
# batch of 500 cases with their conversations stays well under it.
API_MAX_BODY_BYTES = int(os.environ.get("API_MAX_BODY_BYTES", str(10 * 1024 * 1024)))
# Requests per API client, whatever the endpoint (DRF's rate syntax: N/second|minute|hour|day).
API_CLIENT_RATE = os.environ.get("API_CLIENT_RATE", "6000/minute")

# E-mail: printed to the console unless an SMTP server is configured (EMAIL_HOST).
_SMTP_HOST = os.environ.get("EMAIL_HOST", "")
MAILERS = {
    "default": {
        "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "OPTIONS": {
            "host": _SMTP_HOST,
            "port": int(os.environ.get("EMAIL_PORT", "587")),
            "username": os.environ.get("EMAIL_HOST_USER", ""),
            "password": os.environ.get("EMAIL_HOST_PASSWORD", ""),
            "use_tls": env_bool("EMAIL_USE_TLS", True),
        },
    }
    if _SMTP_HOST
    else {"BACKEND": "django.core.mail.backends.console.EmailBackend"}
}
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "Clinician review portal <no-reply@portal.invalid>")

# Sign-in: invitations stay valid this long; failed sign-ins are throttled per account
# and, more loosely (staff often share one hospital address), per IP address.
INVITATION_VALID_HOURS = 72
SIGNIN_FAILURE_WINDOW_MINUTES = int(os.environ.get("SIGNIN_FAILURE_WINDOW_MINUTES", "15"))
SIGNIN_MAX_FAILURES_PER_ACCOUNT = int(os.environ.get("SIGNIN_MAX_FAILURES_PER_ACCOUNT", "5"))
SIGNIN_MAX_FAILURES_PER_IP = int(os.environ.get("SIGNIN_MAX_FAILURES_PER_IP", "50"))
OTP_TOTP_ISSUER = "Clinician review portal"

# Celery: with no broker configured (the `make run` demo) tasks run in-process.
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", "")
# Tests set CELERY_TASK_ALWAYS_EAGER=1 (portal/test_env.py): only the tests that start a
# real worker send to the broker.
CELERY_TASK_ALWAYS_EAGER = os.environ.get("CELERY_TASK_ALWAYS_EAGER", "" if CELERY_BROKER_URL else "1") == "1"
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = 300
CELERY_TASK_SOFT_TIME_LIMIT = 240
CELERY_TIMEZONE = TIME_ZONE
CELERY_TASK_DEFAULT_QUEUE = os.environ.get("CELERY_TASK_DEFAULT_QUEUE", "portal")
# A message a dead worker took is handed out again after this long; longer than any task
# runs. Retries wait in the database (next attempt times), not in long broker countdowns.
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": int(os.environ.get("CELERY_VISIBILITY_TIMEOUT", "900")),
    # A broker that is down or frozen must not hold up a doctor's request: the rows are the
    # outbox and the sweeps send what could not be published (reviews/queueing.py). Without
    # socket_timeout a publish on a connection to a frozen Redis waits for ever.
    "socket_connect_timeout": 1,
    "socket_timeout": 1,
}
CELERY_BROKER_CONNECTION_TIMEOUT = 1
# One retry (a pooled connection the broker dropped on a restart), then give up at once.
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 1, "interval_start": 0, "interval_step": 0.1, "interval_max": 0.1}
CELERY_BEAT_SCHEDULE = {
    # Every minute, cheap when nothing is due: a summary whose message was lost (broker down,
    # worker killed) is sent again within a minute of its claim ending.
    "previsit-summaries": {"task": "reviews.previsit_tasks.summaries_beat", "schedule": 60},
    "webhooks-sweep": {"task": "reviews.webhook_tasks.webhooks_sweep", "schedule": 60},
    "cases-escalate": {"task": "reviews.escalation_tasks.cases_escalate", "schedule": 60},
    "idempotency-keys-purge": {"task": "reviews.housekeeping_tasks.idempotency_keys_purge", "schedule": 60 * 60},
}

# Retention (reviews/retention.py, `manage.py purge_retention`), in days: the default age and
# the minimum a purge may be asked for. Each may be raised but never set below its legal
# floor (15 years, 3 years, 6 months); the command refuses to run if one is.
RETENTION_RECORDS_DAYS = int(os.environ.get("RETENTION_RECORDS_DAYS", "5479"))
RETENTION_CONVERSATIONS_DAYS = int(os.environ.get("RETENTION_CONVERSATIONS_DAYS", "1096"))
RETENTION_LOGS_DAYS = int(os.environ.get("RETENTION_LOGS_DAYS", "183"))

# Hospitals without their own policy start from these.
DEFAULT_CLAIM_LEASE_MINUTES = 10

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    # One "Task … succeeded" line per task drowns the demo's output when tasks run in-process.
    "loggers": {"celery.app.trace": {"level": "INFO" if CELERY_BROKER_URL else "WARNING"}},
}
