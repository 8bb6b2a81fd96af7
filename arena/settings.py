"""Code Arena settings: one file, read from the environment, safe defaults for development.

Without DATABASE_URL and REDIS_URL the arena runs embedded: SQLite, an in-memory
channel layer and jobs inside the web process. With them it runs as a service:
PostgreSQL, channels-redis and Celery workers. See README.md for every variable.
"""

from __future__ import annotations

import datetime as dt
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
# Same site, other origin: browsers deny storage to cross-site frames. One origin per
# side of a battle, so side A's page can never script side B's frame beside it (two
# frames of one origin can). Embedded mode: two more ports of the same server (arena
# http://127.0.0.1:8000, side A's previews :8001, side B's :8002).
PREVIEW_PORT = envint("PREVIEW_PORT", 8001)
if os.getenv("PREVIEW_ORIGIN") and not os.getenv("PREVIEW_ORIGIN_B"):
    raise ImproperlyConfigured("PREVIEW_ORIGIN needs PREVIEW_ORIGIN_B: one origin per side.")
PREVIEW_ORIGINS = {
    "a": os.getenv("PREVIEW_ORIGIN", f"http://127.0.0.1:{PREVIEW_PORT}").rstrip("/"),
    "b": os.getenv("PREVIEW_ORIGIN_B", f"http://127.0.0.1:{PREVIEW_PORT + 1}").rstrip("/"),
}
PREVIEW_HOSTS = {urlsplit(origin).netloc: side for side, origin in PREVIEW_ORIGINS.items()}
if len(PREVIEW_HOSTS) != len(PREVIEW_ORIGINS):
    raise ImproperlyConfigured("PREVIEW_ORIGIN and PREVIEW_ORIGIN_B must differ.")
for _origin in PREVIEW_ORIGINS.values():
    if urlsplit(_origin).hostname not in ALLOWED_HOSTS:
        ALLOWED_HOSTS.append(str(urlsplit(_origin).hostname))
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
    "axes",  # admin login lockout
    "arena.llms",
    "arena.raters",
    "arena.battles",
    "arena.runs",
    "arena.ratings",
    "arena.exports",
    "arena.judges",
]

MIDDLEWARE = [
    "arena.runs.middleware.PreviewOriginMiddleware",  # the preview origin serves only previews
    "django.middleware.security.SecurityMiddleware",
    "arena.edge.InvalidCharactersMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "arena.raters.services.RaterCookieMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "arena.middleware.DatabaseUnavailableMiddleware",
    "axes.middleware.AxesMiddleware",  # last: it turns a lockout into its 429 page
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
    # A connection pool per process (psycopg_pool): requests, websocket renders and jobs
    # run on thread pools, and opening a fresh PostgreSQL connection for each of them
    # was the live path's largest cost. Returned connections wait in the pool instead of
    # holding server slots per idle thread.
    # A connection the server dropped (a restart) is replaced before use, not handed to a
    # request that would then fail: health checks make the pool check each one it lends.
    DATABASES = {
        "default": dj_database_url.parse(DATABASE_URL, conn_max_age=0, conn_health_checks=True)
    }
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": 1,
        "max_size": envint("DB_POOL_SIZE", 16),
        "timeout": 20,  # seconds to wait for a free connection before the request fails
    }
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
            "CONFIG": {
                "hosts": [
                    {
                        "address": REDIS_URL,
                        # channels-redis blocks 5 s per receive (BZPOPMIN); redis-py's
                        # default read timeout is also 5 s, so a quiet socket raised and
                        # closed with 1011. Reads must outlast the blocking wait.
                        "socket_timeout": 15,
                        "socket_connect_timeout": 5,
                        "socket_keepalive": True,
                        "health_check_interval": 30,
                        "retry_on_timeout": True,
                    }
                ],
            },
        }
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

# One cache for every process of a service (debounces), per process embedded; rate limits
# count in their own: Redis in service mode, so that every web process sees the same counts.
CACHES = {
    "default": (
        {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "arena",
        }
        if REDIS_URL
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    ),
    "limits": (
        {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
        if REDIS_URL
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "limits"}
    ),
}

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
CELERY_TASK_DEFAULT_QUEUE = "default"  # every job names its own queue (arena/jobs.py)
CELERY_BEAT_SCHEDULE = {
    "refresh-leaderboards": {
        "task": "arena.jobs.run",
        "args": ("ratings.refresh",),
        "options": {"queue": "ratings"},
        "schedule": envint("LEADERBOARD_REFRESH_SECONDS", 600),
    },
    "requeue-waiting-jobs": {
        "task": "arena.jobs.requeue_waiting",
        "schedule": envint("JOB_REQUEUE_SECONDS", 30),
        "options": {"queue": "generation"},
    },
    "flag-outlier-raters": {  # embedded mode: `manage.py flag_outliers` from cron, or admin
        "task": "arena.jobs.run",
        "args": ("ratings.flag_outliers",),
        "schedule": envint("OUTLIER_CHECK_SECONDS", 86_400),
        "options": {"queue": "ratings"},
    },
}
# A job row still unclaimed after this long is queued again (arena/jobs.py).
JOB_WAITING_SECONDS = envint("JOB_WAITING_SECONDS", 60)

# --- Arena behaviour --------------------------------------------------------------------
PROMPT_MAX_CHARS = envint("PROMPT_MAX_CHARS", 20_000)
MAX_TURNS = envint("MAX_TURNS", 10)
# A page re-renders at most every LIVE_RENDER_SECONDS, however many changes arrive (latest
# state wins), so saving streamed tokens or output more often than that is wasted work:
# under load the generation worker's flushes were the largest CPU cost of all.
LIVE_RENDER_SECONDS = float(os.getenv("LIVE_RENDER_SECONDS", "0.25"))
GENERATION_FLUSH_SECONDS = LIVE_RENDER_SECONDS  # how often streamed tokens are saved
EXECUTION_FLUSH_SECONDS = LIVE_RENDER_SECONDS
# Server apps (Streamlit, Gradio; arena/runs/live_apps.py): live sandboxes held by the
# worker that started them. Caps count apps running or starting; an app unused this long
# stops; the frame's ticket must be exchanged within APP_TICKET_SECONDS of the render.
APP_MAX_PER_RATER = envint("APP_MAX_PER_RATER", 2)
APP_MAX_LIVE = envint("APP_MAX_LIVE", 8)
APP_IDLE_SECONDS = envint("APP_IDLE_SECONDS", 600)
APP_START_SECONDS = envint("APP_START_SECONDS", 60)
APP_TICKET_SECONDS = envint("APP_TICKET_SECONDS", 1800)
APP_WARM = envint("APP_WARM", 1)  # started, imported sandboxes per framework, waiting
APP_SCREENSHOTS = envbool("APP_SCREENSHOTS", "True")  # judges' evidence; ~1 s of CPU each
# A generation stops when no battle page has been seen this long (no orphaned jobs);
# open pages send a heartbeat three times per period.
RATER_GONE_SECONDS = envint("RATER_GONE_SECONDS", 30)
# `pip install` lines in answers are honoured from the sandbox's preinstalled packages, or
# from this package index (wheels only) where the operator runs one; never the internet.
SANDBOX_PIP_INDEX = os.getenv("SANDBOX_PIP_INDEX", "")
# Research exports: where finished archives live (a persistent volume in service mode).
EXPORTS_DIR = Path(os.getenv("EXPORTS_DIR", DATA_DIR / "exports"))
EXPORTS_LICENSE = os.getenv("EXPORTS_LICENSE", "CC-BY-4.0")
EXPORTS_TITLE = os.getenv("EXPORTS_TITLE", "Code Arena votes")
LEADERBOARD_BOOTSTRAP = envint("LEADERBOARD_BOOTSTRAP", 100)
# The automatic arena waits this long for its programs' runs, then for their previews'
# screenshots (other queues' work); past that the judge sees what there is.
AUTO_ARENA_EXECUTION_WAIT_S = envint("AUTO_ARENA_EXECUTION_WAIT_S", 600)
AUTO_ARENA_SCREENSHOT_WAIT_S = envint("AUTO_ARENA_SCREENSHOT_WAIT_S", 60)
# Votes within this many seconds share one leaderboard refresh.
LEADERBOARD_DEBOUNCE_SECONDS = envint("LEADERBOARD_DEBOUNCE_SECONDS", 5)
# Requests are checked before they reach the models (arena/llms/moderation.py): a class
# with check(text), e.g. arena.llms.moderation.OpenAIModeration; empty: no moderation.
MODERATION_BACKEND = os.getenv("MODERATION_BACKEND", "")
MODERATION_URL = os.getenv("MODERATION_URL", "https://api.openai.com/v1")
MODERATION_MODEL = os.getenv("MODERATION_MODEL", "omni-moderation-latest")
MODERATION_API_KEY_ENV = os.getenv("MODERATION_API_KEY_ENV", "OPENAI_API_KEY")

# --- Security ---------------------------------------------------------------------------
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
# Pages read the token from the DOM (base.html); no script may read the cookie.
CSRF_COOKIE_HTTPONLY = True
# Embedded mode serves plain http on 127.0.0.1; a service behind TLS sets HTTPS=True.
HTTPS = envbool("HTTPS", "False")
# How many proxies of the operator's stand in front (0: clients connect directly). Only
# then are X-Forwarded-For and X-Forwarded-Proto believed: a client can send them too.
TRUSTED_PROXY_COUNT = envint("TRUSTED_PROXY_COUNT", 0)
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = HTTPS
if HTTPS:
    SECURE_SSL_REDIRECT = True
    SECURE_HSTS_SECONDS = envint("HSTS_SECONDS", 31_536_000)
    if TRUSTED_PROXY_COUNT:
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    # __Host- cookies can be set only by the arena's exact host: a preview on a sibling
    # host of the same site cannot plant or shadow them.
    SESSION_COOKIE_NAME, CSRF_COOKIE_NAME = "__Host-sessionid", "__Host-csrftoken"
# Admin login lockout (django-axes): after ADMIN_LOGIN_FAILURES wrong passwords from one
# address, or for one username, logins are refused with 429 for ADMIN_LOCKOUT_MINUTES.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
# Raters' optional accounts (arena/raters/views.py); the admin has its own sign-in page.
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": f"django.contrib.auth.password_validation.{name}"}
    for name in (
        "UserAttributeSimilarityValidator",
        "MinimumLengthValidator",
        "CommonPasswordValidator",
        "NumericPasswordValidator",
    )
]
LOGIN_URL = "arena-login"
LOGIN_REDIRECT_URL = "arena-my-votes"
LOGOUT_REDIRECT_URL = "arena-home"
AXES_FAILURE_LIMIT = envint("ADMIN_LOGIN_FAILURES", 5)
AXES_COOLOFF_TIME = dt.timedelta(minutes=envint("ADMIN_LOCKOUT_MINUTES", 30))
AXES_LOCKOUT_PARAMETERS = ["ip_address", "username"]
AXES_RESET_ON_SUCCESS = True
AXES_CLIENT_IP_CALLABLE = "arena.edge.client_ip"  # the arena's one reading of proxy headers
AXES_VERBOSE = False
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
        "frame-src": [SELF, *PREVIEW_ORIGINS.values()],
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

LOG_FORMAT = os.getenv("LOG_FORMAT", "text")  # "json": one object per line (arena/logs.py)
if LOG_FORMAT not in ("text", "json"):
    raise ImproperlyConfigured("LOG_FORMAT must be 'text' or 'json'")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"context": {"()": "arena.logs.ContextFilter"}},
    "formatters": {
        "text": {
            "()": "arena.logs.TextFormatter",
            "format": "%(asctime)s %(levelname)s %(name)s: %(message)s",
        },
        "json": {"()": "arena.logs.JsonFormatter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "filters": ["context"],
            "formatter": LOG_FORMAT,
        }
    },
    "root": {"handlers": ["console"], "level": os.getenv("LOG_LEVEL", "INFO")},
}
# Celery workers also serve their own metrics here (arena/observability.py); 0: off.
METRICS_PORT = envint("METRICS_PORT", 0)

if (BASE_DIR / "arena" / "local_settings.py").exists():  # an operator's optional overrides
    from arena.local_settings import *  # noqa: F403
