"""Code Arena settings: one file, read from the environment, safe defaults for development.

Without DATABASE_URL and REDIS_URL the arena runs embedded: SQLite, an in-memory
channel layer and jobs inside the web process. With them it runs as a service:
PostgreSQL, channels-redis and Celery workers. See README.md for every variable.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from urllib.parse import urlsplit

import dj_database_url
import django_stubs_ext
from csp.constants import NONCE, NONE, SELF
from django.core.exceptions import ImproperlyConfigured

django_stubs_ext.monkeypatch()  # lets admin.ModelAdmin[Model] and friends be subscripted

BASE_DIR = Path(__file__).resolve().parent.parent
DEV_SECRET_KEY = "dev-only-insecure-key-do-not-use-in-production"


def envbool(name: str, default: str) -> bool:
    value = os.getenv(name, default)
    if value not in ("", "True", "False"):
        raise ImproperlyConfigured(f"Unexpected value {name}={value}, use 'True' or 'False'")
    return value == "True"


def envint(name: str, default: int) -> int:
    value = os.getenv(name, "")
    try:
        return int(value) if value else default
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number, not {value!r}") from None


def envsecret(name: str, default: str = "") -> str:
    """Read NAME, or the file named by NAME_FILE (Docker secrets)."""
    path = os.getenv(f"{name}_FILE")
    if path:
        return Path(path).read_text().strip()
    return os.getenv(name, default)


DEBUG = envbool("DEBUG", "False")
DATA_DIR = Path(os.getenv("DATA_DIR", BASE_DIR / "var"))
DATABASE_URL = os.getenv("DATABASE_URL", "")
REDIS_URL = os.getenv("REDIS_URL", "")


def _embedded_secret_key() -> str:
    """Embedded mode is a real small deployment: it makes its own key once and keeps it."""
    path = DATA_DIR / "secret_key"
    if not path.exists():
        DATA_DIR.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o600)
        path.write_text(secrets.token_urlsafe(50))
    return path.read_text().strip()


SECRET_KEY = envsecret("SECRET_KEY")
if not SECRET_KEY:
    if DATABASE_URL and not DEBUG:
        raise ImproperlyConfigured("Service mode needs SECRET_KEY (or SECRET_KEY_FILE).")
    SECRET_KEY = DEV_SECRET_KEY if DEBUG else _embedded_secret_key()
if not DEBUG and SECRET_KEY == DEV_SECRET_KEY:
    raise ImproperlyConfigured("DEBUG is off but SECRET_KEY is the development default: set it.")

ALLOWED_HOSTS = os.getenv("ALLOWED_HOSTS", "127.0.0.1,localhost,[::1]").split(",")
# Previews are served on their own origin, so a page gets storage, forms and reload but
# never the arena's pages, API or cookies (the isolation argument: arena/runs/README.md).
# Same site, other origin: browsers deny storage to cross-site frames. Embedded mode: a
# second port of the same server (arena http://127.0.0.1:8000, previews :8001).
PREVIEW_PORT = envint("PREVIEW_PORT", 8001)
PREVIEW_ORIGIN = os.getenv("PREVIEW_ORIGIN", f"http://127.0.0.1:{PREVIEW_PORT}").rstrip("/")
PREVIEW_HOST = urlsplit(PREVIEW_ORIGIN).netloc
if urlsplit(PREVIEW_ORIGIN).hostname not in ALLOWED_HOSTS:
    ALLOWED_HOSTS.append(str(urlsplit(PREVIEW_ORIGIN).hostname))
CSRF_TRUSTED_ORIGINS = [o for o in os.getenv("CSRF_TRUSTED_ORIGINS", "").split(",") if o]

INSTALLED_APPS = [
    "daphne",  # first: gives runserver an ASGI server with websockets
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "channels",
    "django_htmx",
    "template_partials",
    "arena.llms",
    "arena.raters",
    "arena.battles",
    "arena.runs",
    "arena.ratings",
    "arena.exports",
]

MIDDLEWARE = [
    "arena.runs.middleware.PreviewOriginMiddleware",  # the preview origin serves only previews
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "arena.urls"
ASGI_APPLICATION = "arena.asgi.application"
WSGI_APPLICATION = None

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
                "arena.context_processors.csp_nonce",
            ],
            # Partials without {% load partials %}: moving to Django 6 touches settings only.
            "builtins": ["template_partials.templatetags.partials"],
        },
    }
]

# --- Database: SQLite file embedded, PostgreSQL (psycopg 3) as a service -----------------
if DATABASE_URL:
    # Connections close after each request or job: jobs run on thread pools, and a
    # persistent connection per idle thread would only hold server slots.
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=0)}
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(DATA_DIR / "arena.sqlite3"),
            "OPTIONS": {
                # Generation and execution jobs write from threads while pages read:
                # WAL lets readers run beside one writer, IMMEDIATE avoids upgrade deadlocks.
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
            },
            "TEST": {"NAME": str(DATA_DIR / "test.sqlite3")},
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Live updates and jobs ---------------------------------------------------------------
if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [REDIS_URL]},
        }
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

# "inline": jobs run as background threads of the web process (embedded mode);
# "celery": jobs go to Celery workers through Redis (service mode).
JOBS_MODE = os.getenv("JOBS_MODE", "celery" if REDIS_URL else "inline")
if JOBS_MODE not in ("inline", "celery"):
    raise ImproperlyConfigured("JOBS_MODE must be 'inline' or 'celery'")
if JOBS_MODE == "celery" and not REDIS_URL:
    raise ImproperlyConfigured("JOBS_MODE=celery needs REDIS_URL for the broker")

CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True  # tasks claim rows by conditional update, so redelivery is safe
CELERY_TASK_REJECT_ON_WORKER_LOST = False
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULE = {
    "refresh-leaderboards": {
        "task": "arena.jobs.run",
        "args": ("ratings.refresh",),
        "schedule": envint("LEADERBOARD_REFRESH_SECONDS", 600),
    },
}

# --- Arena behaviour --------------------------------------------------------------------
PROMPT_MAX_CHARS = envint("PROMPT_MAX_CHARS", 20_000)
MAX_TURNS = envint("MAX_TURNS", 10)
GENERATION_FLUSH_SECONDS = 0.1  # how often streamed tokens are saved and broadcast
EXECUTION_FLUSH_SECONDS = 0.2
# A generation stops when no battle page has been open this long (no orphaned jobs).
RATER_GONE_SECONDS = envint("RATER_GONE_SECONDS", 30)
# Research exports: where finished archives live (a persistent volume in service mode).
EXPORTS_DIR = Path(os.getenv("EXPORTS_DIR", DATA_DIR / "exports"))
EXPORTS_LICENSE = os.getenv("EXPORTS_LICENSE", "CC-BY-4.0")
EXPORTS_TITLE = os.getenv("EXPORTS_TITLE", "Code Arena votes")
LEADERBOARD_BOOTSTRAP = envint("LEADERBOARD_BOOTSTRAP", 100)

# --- Security ---------------------------------------------------------------------------
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
# Pages read the token from the DOM (base.html); no script may read the cookie.
CSRF_COOKIE_HTTPONLY = True
# Embedded mode serves plain http on 127.0.0.1; a service behind TLS sets HTTPS=True.
HTTPS = envbool("HTTPS", "False")
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = HTTPS
if HTTPS:
    # __Host- cookies can be set only by the arena's exact host: a preview on a sibling
    # host of the same site cannot plant or shadow them.
    SESSION_COOKIE_NAME, CSRF_COOKIE_NAME = "__Host-sessionid", "__Host-csrftoken"
if HTTPS:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
# Who may frame a preview: the arena's own pages (its loopback origins in embedded mode).
PREVIEW_FRAME_ANCESTORS = os.getenv(
    "PREVIEW_FRAME_ANCESTORS",
    " ".join(["http://127.0.0.1:*", *CSRF_TRUSTED_ORIGINS]),
)
X_FRAME_OPTIONS = "DENY"
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, NONCE],
        "style-src": [SELF, NONCE],  # CodeMirror injects its layout rules with the nonce
        "img-src": [SELF, "data:"],
        "connect-src": [SELF],
        "frame-src": [SELF, PREVIEW_ORIGIN],
        "object-src": [NONE],
        "base-uri": [NONE],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}

# --- Static files -----------------------------------------------------------------------
STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
# Service images run collectstatic and serve hashed, compressed files; embedded mode
# serves straight from static/ through WhiteNoise's finders, with nothing to build.
STATIC_MANIFEST = envbool("STATIC_MANIFEST", "False")
WHITENOISE_USE_FINDERS = not STATIC_MANIFEST
STATIC_ROOT = BASE_DIR / "staticfiles" if STATIC_MANIFEST else None
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if STATIC_MANIFEST
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.getenv("LOG_LEVEL", "INFO")},
}

if (BASE_DIR / "arena" / "local_settings.py").exists():  # an operator's optional overrides
    from arena.local_settings import *  # noqa: F403
