"""Sextant settings: one file, every knob from an environment variable.

Defaults are the embedded mode: SQLite under ``var/``, Celery tasks run eagerly in-process,
no broker, no other server.  Production sets DATABASE_URL, CELERY_BROKER_URL, SECRET_KEY, ...
Any secret may instead be given as ``NAME_FILE`` pointing to a file holding it (Docker secrets).
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

import dj_database_url

BASE_DIR = Path(__file__).resolve().parent.parent


def env(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    try:
        return int(value)
    except ValueError as exc:
        raise ValueError(f"environment variable {name} must be an integer, got {value!r}") from exc


def env_secret(name: str, default: str = "") -> str:
    """A secret from ``NAME`` or from the file named by ``NAME_FILE``."""
    path = os.environ.get(f"{name}_FILE")
    if path:
        return Path(path).read_text(encoding="utf-8").strip()
    return os.environ.get(name, default)


VAR_DIR = Path(env("SEXTANT_VAR_DIR", str(BASE_DIR / "var")))
VAR_DIR.mkdir(mode=0o700, parents=True, exist_ok=True)
# var/ holds the embedded database (live session keys), the secret key and the encryption key: owner only.
with contextlib.suppress(OSError):  # not ours (a mounted volume): its owner decides
    VAR_DIR.chmod(0o700)

DEBUG = env_bool("DEBUG", False)
# The embedded default generates a per-installation key once and keeps it under var/.
_key_file = VAR_DIR / "secret_key"
SECRET_KEY = env_secret("SECRET_KEY")
if not SECRET_KEY:
    if not _key_file.exists():
        from django.core.management.utils import get_random_secret_key

        _key_file.write_text(get_random_secret_key(), encoding="utf-8")
        _key_file.chmod(0o600)
    SECRET_KEY = _key_file.read_text(encoding="utf-8").strip()

ALLOWED_HOSTS = [h.strip() for h in env("ALLOWED_HOSTS", "127.0.0.1,localhost").split(",") if h.strip()]
# The container's health check asks http://127.0.0.1:8000/healthz whatever the public host name is.
ALLOWED_HOSTS += [h for h in ("127.0.0.1", "localhost") if h not in ALLOWED_HOSTS]
CSRF_TRUSTED_ORIGINS = [o.strip() for o in env("CSRF_TRUSTED_ORIGINS", "").split(",") if o.strip()]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "django_celery_beat",
    "metrics.core",
    "metrics.ingestion",
    "metrics.api",
    "metrics.reports",
    "metrics.web",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "metrics.core.security.SecurityHeadersMiddleware",
    "metrics.core.url_secrets.QueryStringSecretMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "metrics.core.auth_throttle.AuthThrottleMiddleware",
    "metrics.core.observability.RequestContextMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "metrics.urls"
WSGI_APPLICATION = "metrics.wsgi.application"

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
                "metrics.core.access.context_processor",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        env_secret("DATABASE_URL", f"sqlite:///{VAR_DIR / 'sextant.sqlite3'}"),
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 60),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL + a busy timeout let the web process and an import run side by side.  A checkpoint every 10,000
    # WAL pages (40 MB; SQLite's default is 1,000): a checkpoint after every telemetry transaction copied
    # its pages back with an fsync (bench/telemetry.py).  The page cache stays SQLite's 2 MB default: the
    # usage tables are indexed day first, so a day's rows touch few pages, and a 64 MB cache took a
    # 200 MB import past its 500 MB bound (tests/ingestion/test_large_import.py).
    DATABASES["default"].setdefault("OPTIONS", {})
    DATABASES["default"]["OPTIONS"].update(
        {
            "timeout": 30,
            "init_command": (
                "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA wal_autocheckpoint=10000;"
            ),
        }
    )
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    # Created 0600 before SQLite opens it (its -wal/-shm files copy the mode); an older 0644 file made so.
    _db_file = Path(DATABASES["default"]["NAME"])
    if _db_file.parent.is_dir():
        os.close(os.open(_db_file, os.O_CREAT | os.O_WRONLY, 0o600))
        for _file in (_db_file, *(_db_file.with_name(_db_file.name + x) for x in ("-wal", "-shm"))):
            if _file.exists() and _file.stat().st_mode & 0o077:
                _file.chmod(0o600)

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# The PR indexes' INCLUDE columns (index-only scans on PostgreSQL) are dropped on SQLite, which is fine
# for the embedded database's size.
SILENCED_SYSTEM_CHECKS = ["models.W040"]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(env("STATIC_ROOT", str(VAR_DIR / "static")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True  # serve app static files even before collectstatic (embedded mode)

# Security.  Behind TLS set HTTPS=true: secure cookies, HSTS, redirect to https.
HTTPS = env_bool("HTTPS", False)
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", HTTPS)
# The container's health check asks http://127.0.0.1:8000/healthz: it must get the real answer.
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000 if HTTPS else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", HTTPS)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", HTTPS)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# Behind a TLS-terminating proxy: X-Forwarded-Proto says https, and the client address is the entry the
# proxy appended to X-Forwarded-For (TRUSTED_PROXY_COUNT proxies in a row: that many entries from the right).
BEHIND_PROXY = env_bool("BEHIND_PROXY", False)
TRUSTED_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", 1)
if BEHIND_PROXY:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SESSION_COOKIE_AGE = env_int("SESSION_COOKIE_AGE", 8 * 3600)
# Sign-in throttle (metrics/core/auth_throttle.py), every path: failures per account and client address,
# and per client address whatever the account; never per account alone (nobody can lock others out).
AUTHENTICATION_BACKENDS = ["metrics.core.auth_throttle.ThrottledModelBackend"]
LOGIN_MAX_FAILURES = env_int("LOGIN_MAX_FAILURES", 5)
LOGIN_MAX_FAILURES_PER_ADDRESS = env_int("LOGIN_MAX_FAILURES_PER_ADDRESS", 20)
LOGIN_FAILURE_WINDOW_SECONDS = env_int("LOGIN_FAILURE_WINDOW_SECONDS", 900)

# Cache (login throttling, API throttling): per-process memory in embedded mode, Redis when CACHE_URL is set.
CACHE_URL = env_secret("CACHE_URL")
CACHES = {
    "default": {"BACKEND": "metrics.core.cache.RedisCache", "LOCATION": CACHE_URL}
    if CACHE_URL
    else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "sextant"}
}
# Sessions: read through the shared Redis cache (one query less per page), written through to the
# database.  Not with the per-process memory cache: a sign-out in one process would not reach another.
if CACHE_URL:
    SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/"

# Encryption of data-source credentials at rest (Fernet keys, comma-separated: the first encrypts,
# all decrypt, which is how keys are rotated).  Embedded mode derives one under var/.
SEXTANT_ENCRYPTION_KEYS = env_secret("SEXTANT_ENCRYPTION_KEYS")

# Metrics knobs.
MIN_GROUP_SIZE = env_int("MIN_GROUP_SIZE", 5)
# Revert rate, change failure rate and time to revert count a merge only once this many days have passed
# after it (in the data): a revert of a recent merge has not happened yet (metrics/analytics/completeness.py).
REVERT_OBSERVATION_DAYS = env_int("REVERT_OBSERVATION_DAYS", 14)
# A pull ref with no merge whose last commit is older than this (relative to the repository's newest
# commit) is reported as closed rather than open: git alone cannot tell the two apart.
GIT_OPEN_PR_MAX_AGE_DAYS = env_int("GIT_OPEN_PR_MAX_AGE_DAYS", 30)
# The OTLP receiver (/otlp/<source>/v1/metrics, /v1/logs) refuses larger bodies (also unzipped): 413.
OTLP_MAX_BYTES = env_int("OTLP_MAX_BYTES", 8 * 1024 * 1024)

# Celery: embedded mode runs tasks eagerly (no broker); set CELERY_BROKER_URL for workers.
CELERY_BROKER_URL = env_secret("CELERY_BROKER_URL")
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", not CELERY_BROKER_URL)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_RESULT_BACKEND = env("CELERY_RESULT_BACKEND") or None
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_TASK_DEFAULT_QUEUE = "default"
# Separate queues so a long sync never delays a report: run workers per queue (README, "Scaling out").
CELERY_TASK_ROUTES = {
    "sextant.ingestion.*": {"queue": "sync"},
    "sextant.analytics.models_recompute": {"queue": "analytics_models"},  # debounced, never in the way
    "sextant.analytics.*": {"queue": "analytics"},
    "sextant.reports.*": {"queue": "reports"},
}
# The organization-wide models (AI impact, adoption, delivery keys) wait for a pause this long in the
# changes before they are recomputed (each incremental recompute asks for them again).
MODELS_DEBOUNCE_SECONDS = env_int("MODELS_DEBOUNCE_SECONDS", 30)
# A task of a killed worker is delivered again after this many seconds (Redis visibility timeout).
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": env_int("CELERY_VISIBILITY_TIMEOUT", 3600)}

SPECTACULAR_SETTINGS = {
    "TITLE": "Sextant API",
    "DESCRIPTION": "Engineering metrics and AI ROI, read-only export for BI tools.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
}

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "rest_framework.authentication.BasicAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.LimitOffsetPagination",
    "PAGE_SIZE": env_int("API_PAGE_SIZE", 1000),
}

# E-mail (executive reports).  Embedded mode writes e-mails to the console.
EMAIL_BACKEND = env(
    "EMAIL_BACKEND",
    "django.core.mail.backends.smtp.EmailBackend"
    if env("EMAIL_HOST")
    else "django.core.mail.backends.console.EmailBackend",
)
EMAIL_HOST = env("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = env("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env_secret("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", False)
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 30)
# Chat digests of report schedules (issue 21): the link in a Slack/Teams message points here.
SEXTANT_BASE_URL = env("SEXTANT_BASE_URL", "http://127.0.0.1:8000")
REPORTS_CHAT_TIMEOUT = env_int("REPORTS_CHAT_TIMEOUT", 20)  # seconds to wait for a webhook's answer
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", "sextant@localhost")
# Password reset by e-mail: only where mail can be delivered; requests per client address and per e-mail
# address within LOGIN_FAILURE_WINDOW_SECONDS.
PASSWORD_RESET_ENABLED = env_bool("PASSWORD_RESET_ENABLED", bool(env("EMAIL_HOST")))
PASSWORD_RESET_MAX_PER_ADDRESS = env_int("PASSWORD_RESET_MAX_PER_ADDRESS", 5)
PASSWORD_RESET_MAX_PER_ACCOUNT = env_int("PASSWORD_RESET_MAX_PER_ACCOUNT", 3)

LOG_LEVEL = env("LOG_LEVEL", "INFO")
LOG_FORMAT = env("LOG_FORMAT", "json")  # json | plain
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "context": {"()": "metrics.core.observability.ContextFilter"},
        "urls": {"()": "metrics.core.url_secrets.RedactUrlFilter"},
    },
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s%(task_id)s] %(message)s"},
        "json": {"()": "metrics.core.observability.JsonFormatter"},
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT, "filters": ["context"]},
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # runserver's access log and "Not Found: /path": no query strings, no password-reset tokens.
        "django.server": {"filters": ["urls"], "level": "INFO", "propagate": True},
        "django.request": {"filters": ["urls"]},
        "weasyprint": {"level": "WARNING"},  # several INFO lines per PDF
        "fontTools": {"level": "WARNING"},
        "mcp": {"level": "WARNING"},  # the MCP SDK: four INFO lines per /mcp request
        # Its DEBUG lines carry request paths, which for chat webhooks (Slack, Teams) are the credential.
        "urllib3": {"level": "INFO"},
    },
}

# Single sign-on with OpenID Connect (metrics/web/sso.py, mozilla-django-oidc; README "Single sign-on").
# On when OIDC_DISCOVERY_URL is set.  The provider's groups claim maps to a Sextant role (OIDC_<ROLE>_GROUPS,
# comma-separated groups; the highest role wins; no mapped group: no access) and, for managers, to teams
# (OIDC_TEAM_GROUPS: "group=team-slug,..."); accounts are created on first sign-in.
OIDC_DISCOVERY_URL = env("OIDC_DISCOVERY_URL")
OIDC_ENABLED = bool(OIDC_DISCOVERY_URL)
OIDC_PROVIDER_NAME = env("OIDC_PROVIDER_NAME", "single sign-on")
OIDC_RP_CLIENT_ID = env("OIDC_CLIENT_ID")
OIDC_RP_CLIENT_SECRET = env_secret("OIDC_CLIENT_SECRET")
OIDC_RP_SCOPES = env("OIDC_SCOPES", "openid email profile")
OIDC_RP_SIGN_ALGO = env("OIDC_SIGN_ALGO", "RS256")
OIDC_GROUPS_CLAIM = env("OIDC_GROUPS_CLAIM", "groups")
OIDC_ROLE_GROUPS = {
    role: [g.strip() for g in env(f"OIDC_{role.upper()}_GROUPS").split(",") if g.strip()]
    for role in ("admin", "manager", "executive", "viewer")
}
OIDC_TEAM_GROUPS = {
    group.strip(): slug.strip()
    for group, _, slug in (item.partition("=") for item in env("OIDC_TEAM_GROUPS").split(","))
    if group.strip() and slug.strip()
}
OIDC_TIMEOUT = env_int("OIDC_TIMEOUT", 10)
OIDC_USE_PKCE = True
LOGIN_REDIRECT_URL_FAILURE = "/accounts/sso/denied/"
# LOCAL_LOGIN_ENABLED=false: no password sign-in anywhere (login page, /admin/login/, API basic auth).
LOCAL_LOGIN_ENABLED = env_bool("LOCAL_LOGIN_ENABLED", True)
if OIDC_ENABLED:
    AUTHENTICATION_BACKENDS = [*AUTHENTICATION_BACKENDS, "metrics.web.sso.SextantOIDCBackend"]
if not LOCAL_LOGIN_ENABLED:
    if not OIDC_ENABLED:
        raise ValueError("LOCAL_LOGIN_ENABLED=false needs OIDC_DISCOVERY_URL: nobody could sign in")
    AUTHENTICATION_BACKENDS = [b for b in AUTHENTICATION_BACKENDS if not b.endswith("ThrottledModelBackend")]
    PASSWORD_RESET_ENABLED = False
