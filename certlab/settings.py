"""CertLab settings.

With no variable set this is the embedded default (SQLite in WAL mode, the Redis server the run
command starts on a private port, everything under ./var). Setting DATABASE_URL, REDIS_URL,
SECRET_KEY, ALLOWED_HOSTS and friends gives the distributed mode: the same code, other services.
Every variable is parsed by certlab.env, which stops start-up naming the variable on a bad value.
"""

from __future__ import annotations

import secrets
from datetime import timedelta
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured
from whitenoise.compress import Compressor

from certlab.env import Env

env = Env()

BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = env.path("CERTLAB_DATA_DIR", BASE_DIR / "var")


def _secret_key() -> str:
    """SECRET_KEY from the environment, else one generated once and kept in the data directory."""
    key = env.str("SECRET_KEY")
    if key:
        if len(key) < 50 or len(set(key)) < 5:
            raise ImproperlyConfigured(
                "SECRET_KEY must be at least 50 characters with some variety"
            )
        return key
    key_file = DATA_DIR / "secret_key"
    if not key_file.exists():
        DATA_DIR.mkdir(parents=True, exist_ok=True)
        key_file.write_text(secrets.token_urlsafe(64))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


SECRET_KEY = _secret_key()
DEBUG = env.bool("DEBUG", False)
# Loopback is always allowed: the container HEALTHCHECK and the run command ask on 127.0.0.1.
# So is the lab's public host: stations and browsers reach the lab by that name.
ALLOWED_HOSTS = list(
    dict.fromkeys(
        [
            *env.list("ALLOWED_HOSTS", []),
            *([env.str("CERTLAB_PUBLIC_HOST")] if env.is_set("CERTLAB_PUBLIC_HOST") else []),
            "localhost",
            "127.0.0.1",
            "[::1]",
        ]
    )
)
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "certlab.apps.CertLabStaticFilesConfig",  # django.contrib.staticfiles, leaner
    "channels",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "accounts",
    "stations",
    "transfers",
    "campaigns",
    "simulator",
    "api",
    "axes",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "axes.middleware.AxesMiddleware",  # last: it answers a locked-out login
]

ROOT_URLCONF = "certlab.urls"
ASGI_APPLICATION = "certlab.asgi.application"

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
                "accounts.context_processors.role",
            ],
        },
    },
]

DATABASES = {"default": env.database("DATABASE_URL", DATA_DIR / "certlab.sqlite3")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-gb"
TIME_ZONE = env.str("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = env.path("STATIC_ROOT", DATA_DIR / "static")
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_ROOT = env.path("MEDIA_ROOT", DATA_DIR / "media")
MEDIA_URL = "media/"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
# Source maps are for developers' tools only: not worth compressing (most of collectstatic's time).
WHITENOISE_SKIP_COMPRESS_EXTENSIONS = (*Compressor.SKIP_COMPRESS_EXTENSIONS, "map")
# Pages name static files by their hashed names only: keeping (and compressing) the unhashed
# copies too doubled collectstatic's work.
WHITENOISE_KEEP_ONLY_HASHED_FILES = True

# --- The JSON API (/api/v1/): sessions with CSRF for the browser, personal tokens for scripts ----
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "api.authentication.PersonalTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["api.permissions.QaWritesVendorsRead"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": [
        "rest_framework.parsers.JSONParser",
        "rest_framework.parsers.MultiPartParser",
        "rest_framework.parsers.FormParser",
    ],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "api.errors.exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "CertLab API",
    "DESCRIPTION": (
        "Everything QA do by clicking, as JSON. Scripts authenticate with a personal token "
        "(`Authorization: Bearer <token>`, made on /api/tokens/); vendors read their own "
        "manufacturer's objects only."
    ),
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "SCHEMA_PATH_PREFIX": "/api/v1",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "CampaignStatusEnum": "campaigns.models.CampaignStatus",
        "AttemptStatusEnum": "campaigns.models.AttemptStatus",
        "PromptStatusEnum": "campaigns.models.PromptStatus",
        "VerdictEnum": "campaigns.models.Verdict",
        "ProposedVerdictEnum": "campaigns.models.ProposedVerdict",
        "OutcomeEnum": "campaigns.models.Outcome",
    },
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "api.schema.add_wait_endpoints",
    ],
}
# The longest a script's long-poll for an attempt's next prompt or end may wait (s).
CERTLAB_API_WAIT_MAX = env.int("CERTLAB_API_WAIT_MAX", 60, minimum=1, maximum=600)

# --- Redis: the channel layer and the Celery broker -------------------------------------------
# Unset: the embedded Redis that the run command starts on a private port.
EMBEDDED_REDIS_PORT = env.port("CERTLAB_REDIS_PORT", 6390)
REDIS_URL = env.redis_url("REDIS_URL", f"redis://127.0.0.1:{EMBEDDED_REDIS_PORT}/0")
CHANNEL_LAYERS = {
    "default": {
        "BACKEND": "stations.channel_layer.RedisChannelLayer",
        "CONFIG": {"hosts": [REDIS_URL], "capacity": 1500, "expiry": 30},
    }
}

CELERY_BROKER_URL = REDIS_URL
CELERY_RESULT_BACKEND = None
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", 3600, minimum=10)
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", 3660, minimum=20)
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Attempts on different stations run side by side (one per station at a time is the database's
# rule, not the worker's): each as a task of the worker process's one event loop, waited for by
# a thread of Celery's thread pool (campaigns.attempt_loop), so an attempt costs a thread and a
# task, not a ~105 MB process (docs/PERFORMANCE.md, several stations at once).
CELERY_WORKER_CONCURRENCY = env.int("CERTLAB_WORKER_CONCURRENCY", 16, minimum=1, maximum=256)
# The attempts' database work runs on this many threads of the worker process, one persistent
# connection each, however many attempts run.
CERTLAB_WORKER_DB_THREADS = env.int("CERTLAB_WORKER_DB_THREADS", 4, minimum=1, maximum=64)
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
if CELERY_TASK_TIME_LIMIT <= CELERY_TASK_SOFT_TIME_LIMIT:
    raise ImproperlyConfigured("CELERY_TASK_TIME_LIMIT must be above CELERY_TASK_SOFT_TIME_LIMIT")

# --- The lab's own services ------------------------------------------------------------------
CERTLAB_HTTP_PORT = env.port("CERTLAB_HTTP_PORT", 8000)
# Where daphne listens; 0.0.0.0 lets stations on the lab network reach the OCPP endpoint.
CERTLAB_BIND = env.str("CERTLAB_BIND", "127.0.0.1")
# The host name stations use to reach the lab (OCPP URL, FTP and firmware locations).
CERTLAB_PUBLIC_HOST = env.str("CERTLAB_PUBLIC_HOST", "127.0.0.1")
CERTLAB_FTP_HOST = env.str("CERTLAB_FTP_HOST", "127.0.0.1")
CERTLAB_FTP_PORT = env.port("CERTLAB_FTP_PORT", 2121)
CERTLAB_FTP_PASSIVE_PORTS = env.port_range("CERTLAB_FTP_PASSIVE_PORTS", (30000, 30049))
# The FTP port stations are told when it differs from the listening one (NAT, docker).
CERTLAB_PUBLIC_FTP_PORT = env.port("CERTLAB_PUBLIC_FTP_PORT", CERTLAB_FTP_PORT)
# The HTTP(S) port stations use for firmware links when a proxy sits in front of daphne.
CERTLAB_PUBLIC_HTTP_PORT = env.port("CERTLAB_PUBLIC_HTTP_PORT", CERTLAB_HTTP_PORT)
# The IP address the FTP server announces for passive mode when stations reach it through NAT.
CERTLAB_FTP_MASQUERADE_ADDRESS = env.str("CERTLAB_FTP_MASQUERADE_ADDRESS")
# Where uploads land while they arrive, before they move into Django's storage.
CERTLAB_FTP_ROOT = env.path("CERTLAB_FTP_ROOT", DATA_DIR / "ftp")
CERTLAB_FTP_MAX_UPLOAD_BYTES = env.int("CERTLAB_FTP_MAX_UPLOAD_BYTES", 256 * 2**20, minimum=1)
# Uploads are refused, or aborted, when less than this is free where they land.
CERTLAB_FTP_MIN_FREE_BYTES = env.int("CERTLAB_FTP_MIN_FREE_BYTES", 64 * 2**20, minimum=0)
CERTLAB_FIRMWARE_URL_MAX_AGE = env.int("CERTLAB_FIRMWARE_URL_MAX_AGE", 86400, minimum=60)
CERTLAB_ALLOW_UNKNOWN_STATIONS = env.bool("CERTLAB_ALLOW_UNKNOWN_STATIONS", False)
CERTLAB_OCPP_MAX_FRAME_BYTES = env.int("CERTLAB_OCPP_MAX_FRAME_BYTES", 65536, minimum=1024)
# Off only for the benchmark that measures what saving every frame costs (bench/heartbeats.py).
CERTLAB_SAVE_FRAMES = env.bool("CERTLAB_SAVE_FRAMES", True)
CERTLAB_DEMO = env.bool("CERTLAB_DEMO", False)
# The report's title names the platform the stations are certified against (the seed reports':
# "Test Report Charge Station connected with OCPP 1.6 to GreenFlux Platform") and the lab.
CERTLAB_PLATFORM_NAME = env.str("CERTLAB_PLATFORM_NAME", "GreenFlux Platform")
CERTLAB_LAB_NAME = env.str("CERTLAB_LAB_NAME", "CertLab test lab")
# A running attempt's worker beats this often; one silent for six beats is found interrupted.
CERTLAB_ATTEMPT_HEARTBEAT = env.int("CERTLAB_ATTEMPT_HEARTBEAT", 5, minimum=1, maximum=60)

# --- Production hardening: on whenever TLS terminates in front of CertLab -------------------------
CERTLAB_HTTPS = env.bool("CERTLAB_HTTPS", False)
SESSION_COOKIE_SECURE = CERTLAB_HTTPS
CSRF_COOKIE_SECURE = CERTLAB_HTTPS
SECURE_SSL_REDIRECT = CERTLAB_HTTPS
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", 31536000 if CERTLAB_HTTPS else 0, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = CERTLAB_HTTPS
SECURE_HSTS_PRELOAD = CERTLAB_HTTPS
SECURE_PROXY_SSL_HEADER = (
    ("HTTP_X_FORWARDED_PROTO", "https") if env.bool("CERTLAB_BEHIND_PROXY", False) else None
)
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"

# --- Content security policy: no inline script or style on any page, nothing from elsewhere ---
# Websockets to the same host are 'self' for browsers of CSP level 3 (the live pages use them).
_SELF = "'self'"
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [_SELF],
        "script-src": [_SELF],
        "style-src": [_SELF],
        "img-src": [_SELF, "data:"],
        "font-src": [_SELF],
        "connect-src": [_SELF],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "form-action": [_SELF],
        "frame-ancestors": ["'none'"],
    }
}

# --- Login throttling (django-axes): five failures for a user name from one address lock that
# pair out for 15 minutes; a success resets the count. Failures are kept in the database.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env.int("CERTLAB_LOGIN_FAILURE_LIMIT", 5, minimum=1)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("CERTLAB_LOGIN_COOLOFF_MINUTES", 15, minimum=1))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "accounts/locked_out.html"
# The client's address: the socket's, unless a proxy we trust sits in front (a forged
# X-Forwarded-For would otherwise give every guess a fresh address).
if env.bool("CERTLAB_BEHIND_PROXY", False):
    AXES_IPWARE_PROXY_COUNT = 1
    AXES_IPWARE_META_PRECEDENCE_ORDER = ("HTTP_X_FORWARDED_FOR", "REMOTE_ADDR")
else:
    AXES_IPWARE_META_PRECEDENCE_ORDER = ("REMOTE_ADDR",)
AXES_VERBOSE = False

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.channels.server": {"level": "WARNING"},
        "axes": {"level": "WARNING"},  # a line per login otherwise; lockouts are warnings
    },
}
