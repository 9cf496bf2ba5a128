"""Project settings, read from the environment (12-factor).

Every value has a development default except SECRET_KEY, which must be set when DEBUG is off.
DATABASE_URL unset means the embedded PostgreSQL server (see portfolio/embedded_db.py);
REDIS_URL unset means Celery tasks run eagerly inside the web process.
"""

import datetime as dt
import os
import sys
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DEBUG", default=False)
# Under pytest the test defaults apply (plain static storage, no HTTPS redirects).
TESTING = env.bool("TESTING", default="pytest" in sys.modules)

# Management commands that only read the code (never sign anything) run without a key, so
# `manage.py makemigrations --check` works in a bare shell; serving does not.
KEYLESS_COMMANDS = {"makemigrations", "showmigrations", "sqlmigrate", "check", "spectacular"}
SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY:
    keyless = (
        Path(sys.argv[0]).name == "manage.py"
        and sys.argv[1:2]
        and (sys.argv[1] in KEYLESS_COMMANDS)
    )
    if not (DEBUG or TESTING or keyless):
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off.")
    # The prefix makes `check --deploy` flag this key if it ever reaches production.
    SECRET_KEY = "django-insecure-development-key-never-use-in-production"

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.postgres",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "csp",
    "django_htmx",
    "simple_history",
    "template_partials",
    "portfolio",
    "products",
    "metrics",
    "backlog",
    "analytics",
    "funding",
    "reviews",
    "accounts",
    "webhooks",
    "axes",
    "web",
    "demo",
]

MIDDLEWARE = [
    # First, so a database restart is a 503 with Retry-After wherever it is met.
    "portfolio.availability.DatabaseAvailabilityMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Content-Security-Policy (django-csp), then Permissions-Policy and a private
    # Cache-Control for logged-in users (portfolio/headers.py): docs/security.md.
    "csp.middleware.CSPMiddleware",
    "portfolio.headers.SecurityHeadersMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # After htmx (it reads request.htmx): a DomainError a page view lets rise becomes its 4xx.
    "portfolio.middleware.DomainErrorMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    # Last, as django-axes asks: turns a locked-out sign-in into our lockout page.
    "axes.middleware.AxesMiddleware",
]

# Django's database sessions; the session's read is one statement written once per process
# (portfolio/sessions.py).
SESSION_ENGINE = "portfolio.sessions"
ROOT_URLCONF = "web.urls"
WSGI_APPLICATION = "portfolio.wsgi.application"

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
                "portfolio.context_processors.roles",
            ],
            "builtins": ["portfolio.templatetags.portfolio_tags"],
        },
    }
]

if env.str("DATABASE_URL", default=""):
    DATABASES = {"default": env.db("DATABASE_URL")}
else:
    from portfolio.embedded_db import embedded_database_url

    DATABASES = {"default": env.db_url_config(embedded_database_url())}
# Ten minutes: a new connection starts a PostgreSQL backend with empty catalog caches, and the
# request that opens it pays for both (about a third more on the dashboard); at 60 seconds every
# worker paid that once a minute, one of the slow requests at the 95th percentile.
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=600)
# A reused connection is tested before a request uses it, so after a database restart the
# first request reconnects instead of failing on the dead connection (portfolio/availability.py).
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
# Django's PostgreSQL backend whose health check asks the server (`SELECT 1`, a round trip per
# request) only when the connection's socket or state says something may be wrong
# (portfolio/db/base.py).
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    DATABASES["default"]["ENGINE"] = "portfolio.db"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# A password reset link works once, for this many hours.
PASSWORD_RESET_TIMEOUT = 3600 * env.int("PASSWORD_RESET_HOURS", default=24)
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "login"

# Single sign-on through an OpenID Connect provider (docs/sso.md). Off unless OIDC_ISSUER and
# OIDC_CLIENT_ID are set; the endpoints come from the issuer's discovery document, on first use.
AUTHENTICATION_BACKENDS = [
    # First: the lockout check (django-axes) runs before any backend that checks a password.
    "axes.backends.AxesStandaloneBackend",
    # Usernames and passwords: Django's ModelBackend, with the session's login read by one
    # statement written once (accounts/backends.py). Listed once, not beside ModelBackend: a
    # wrong password would be checked, and hashed, by each.
    "accounts.backends.PasswordBackend",
    # Answers only the provider's callback (accounts/oidc.py).
    "accounts.oidc.SSOBackend",
]
OIDC_ISSUER = env.str("OIDC_ISSUER", default="")
OIDC_CLIENT_ID = env.str("OIDC_CLIENT_ID", default="")
OIDC_CLIENT_SECRET = env.str("OIDC_CLIENT_SECRET", default="")
OIDC_PROVIDER_NAME = env.str("OIDC_PROVIDER_NAME", default="single sign-on")
OIDC_SCOPES = env.str("OIDC_SCOPES", default="") or "openid email profile"
# The value of the groups claim that makes a login a portfolio leader; empty: roles are not
# taken from the provider.
OIDC_LEADER_GROUP = env.str("OIDC_LEADER_GROUP", default="")
OIDC_GROUPS_CLAIM = env.str("OIDC_GROUPS_CLAIM", default="") or "groups"
# An unknown verified e-mail becomes a person with a viewer login (else it is refused).
OIDC_CREATE_USERS = env.bool("OIDC_CREATE_USERS", default=False)
# Whom the refusal page tells people to ask; empty: the names of the portfolio leaders.
OIDC_HELP_CONTACT = env.str("OIDC_HELP_CONTACT", default="")
# Seconds to wait for the provider (discovery, token, keys, userinfo).
OIDC_TIMEOUT = env.float("OIDC_TIMEOUT", default=5.0)
# Seconds of clock difference tolerated when checking the ID token's exp and iat.
OIDC_CLOCK_LEEWAY = env.int("OIDC_CLOCK_LEEWAY", default=30)
# false: with single sign-on on, the password form is gone and only superusers may still sign
# in with a password, at /accounts/login/?local=1 (the emergency sign-in).
LOCAL_LOGIN = env.bool("LOCAL_LOGIN", default=True)

LANGUAGE_CODE = "en-gb"
TIME_ZONE = env.str("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG or TESTING
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

# Email: the console backend unless an SMTP URL is given (EMAIL_URL=smtp://user:pass@host:587).
EMAIL_CONFIG = env.email_url("EMAIL_URL", default="consolemail://")
vars().update(EMAIL_CONFIG)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="portfolio@localhost")
# Makes links in emails absolute, e.g. https://portfolio.example.org
SITE_URL = env.str("SITE_URL", default="")

# Local sign-in lockout (django-axes, docs/operations.md#sign-in-lockout): after
# LOGIN_FAILURE_LIMIT wrong passwords within LOGIN_LOCKOUT_MINUTES, further sign-ins are refused
# until that many minutes after the last failure, or until a leader unlocks on
# /settings/lockouts/. LOGIN_LOCKOUT_BY lists what is counted, each on its own:
# "username,ip_address" locks an account attacked from many addresses and an address trying
# many accounts; "username+ip_address" counts the pair only.
AXES_ENABLED = env.bool("LOGIN_LOCKOUT", default=True)
AXES_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=10)
AXES_COOLOFF_TIME = dt.timedelta(minutes=env.int("LOGIN_LOCKOUT_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [
    item.split("+") if "+" in item else item
    for item in env.list("LOGIN_LOCKOUT_BY", default=["username", "ip_address"])
]
AXES_HANDLER = "axes.handlers.database.AxesDatabaseHandler"
# Tries made while locked out do not push the end of the lockout further, so the time the
# lockout page names holds.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
# A success does not wipe the failures: it would also wipe its address's count, letting one
# valid login reset a password-guessing run from that address.
AXES_RESET_ON_SUCCESS = False
# The client's address behind TRUSTED_PROXY_COUNT reverse proxies (X-Forwarded-For), else the
# connection's own address; a client cannot choose its address by sending the header itself.
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)
AXES_CLIENT_IP_CALLABLE = "accounts.lockout.client_address"
# Only password sign-ins are counted and locked; single sign-on is the provider's to guard.
AXES_WHITELIST_CALLABLE = "accounts.lockout.not_a_password_sign_in"
AXES_LOCKOUT_CALLABLE = "accounts.views.locked_out"
AXES_HTTP_RESPONSE_CODE = 429
# Who a locked-out person should ask, named on the lockout page.
LOCKOUT_CONTACT = env.str("LOCKOUT_CONTACT", default="a portfolio leader")

# Celery: a broker URL means real workers; none means tasks run in-process on commit.
REDIS_URL = env.str("REDIS_URL", default="")
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=REDIS_URL)

# The cache: Redis when REDIS_URL is set, so every web process shares it (the failed API token
# counters must be shared to mean anything); this process's memory otherwise. A Redis outage
# makes it miss, never fail (portfolio/cache.py). Tests give each xdist worker its own prefix.
CACHE_KEY_PREFIX = (
    f"test-{os.environ.get('PYTEST_XDIST_WORKER', 'main')}"
    if TESTING
    else env.str("CACHE_KEY_PREFIX", default="portfolio")
)
CACHE_BACKOFF = env.float("CACHE_BACKOFF", default=5.0)
CACHES = {
    "default": (
        {
            "BACKEND": "portfolio.cache.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": CACHE_KEY_PREFIX,
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        }
        if REDIS_URL
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    )
}
# Tests run tasks eagerly unless a test starts a real worker (tests/portfolio/test_tasks.py).
CELERY_TASK_ALWAYS_EAGER = env.bool(
    "CELERY_TASK_ALWAYS_EAGER", default=not CELERY_BROKER_URL or TESTING
)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
# Delivery: every job goes through the outbox (portfolio/outbox.py) and every task is
# idempotent, so the broker settings aim at "never lost" and accept "sometimes twice".
# A task is acknowledged after it ran, not when it was received: a worker that dies mid-task
# leaves its message to be delivered again.
CELERY_TASK_ACKS_LATE = True
# ...including when the pool's child process is killed (OOM, SIGKILL), not only the worker.
CELERY_TASK_REJECT_ON_WORKER_LOST = True
# One message in hand per worker process: a killed worker strands one job, not a prefetched batch.
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = 300
CELERY_TASK_SOFT_TIME_LIMIT = 240
# A down broker must not hang a web request. The outbox publishes with retry=False (it is the
# retry); anything else publishing directly gets few, short retries.
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 2, "interval_start": 0, "interval_step": 0.2}
CELERY_BROKER_CONNECTION_TIMEOUT = 2
# Workers keep trying to reach a broker that went away, for as long as it takes.
CELERY_BROKER_CONNECTION_RETRY = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_CONNECTION_MAX_RETRIES = None
CELERY_BROKER_TRANSPORT_OPTIONS = {
    # Connecting to or talking to Redis gives up after 2 s (a request pays at most that).
    "socket_timeout": 2,
    "socket_connect_timeout": 2,
    # Redis hands an unacknowledged message to another worker after this long. It must exceed
    # the longest task (CELERY_TASK_TIME_LIMIT) plus the longest retry countdown (120 s), or a
    # slow task would be started twice; a killed worker's message waits this long at most
    # (the outbox usually re-sends it sooner, after OUTBOX_REDELIVER_AFTER).
    "visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=900),
}
# The change feed (GET /api/v1/events/) keeps this many days of events; a daily beat task
# deletes older ones, and a client whose cursor points before them gets a 410. 0 keeps all.
EVENT_RETENTION_DAYS = env.int("EVENT_RETENTION_DAYS", default=90)
# The catalogue import (products/imports.py): the most rows and bytes one file may hold.
IMPORT_MAX_ROWS = env.int("IMPORT_MAX_ROWS", default=10_000)
IMPORT_MAX_BYTES = env.int("IMPORT_MAX_BYTES", default=10 * 1024 * 1024)

# The outbox (docs/operations.md, "Failure behaviour"): the beat relays what is still owed
# every OUTBOX_RELAY_EVERY seconds; a message never published goes once OUTBOX_PENDING_AFTER
# old, one published but not done goes again after OUTBOX_REDELIVER_AFTER; after
# OUTBOX_MAX_ATTEMPTS publications it is left for a person (manage.py outbox).
OUTBOX_RELAY_EVERY = env.float("OUTBOX_RELAY_EVERY", default=30.0)
OUTBOX_PENDING_AFTER = env.float("OUTBOX_PENDING_AFTER", default=10.0)
OUTBOX_REDELIVER_AFTER = env.float("OUTBOX_REDELIVER_AFTER", default=600.0)
OUTBOX_MAX_ATTEMPTS = env.int("OUTBOX_MAX_ATTEMPTS", default=20)
# After a failed publish a process leaves the broker alone this long (seconds).
OUTBOX_BROKER_BACKOFF = env.float("OUTBOX_BROKER_BACKOFF", default=5.0)
CELERY_TIMEZONE = TIME_ZONE
# Outbound webhooks (docs/operations.md, "Webhooks"). The beat's webhook-tick fans committed
# events out and sends what is due every WEBHOOK_TICK_EVERY seconds; a commit also nudges it.
WEBHOOK_TICK_EVERY = env.float("WEBHOOK_TICK_EVERY", default=5.0)
WEBHOOK_NUDGE_EVERY = env.float("WEBHOOK_NUDGE_EVERY", default=1.0)
# With no broker (make demo) there is no worker and no beat: a commit then runs the tick in a
# thread of the web process, so webhooks still go out within a second or so.
WEBHOOK_SEND_WITHOUT_WORKER = env.bool(
    "WEBHOOK_SEND_WITHOUT_WORKER", default=not CELERY_BROKER_URL and not TESTING
)
# Seconds to wait after each failed attempt; once spent the delivery has failed (and its
# endpoint is paused). The default adds up to about a day.
WEBHOOK_RETRY_SCHEDULE = env.list(
    "WEBHOOK_RETRY_SCHEDULE",
    cast=float,
    default=[1, 2, 2] if TESTING else [10, 60, 300, 1800, 7200, 21600, 54000],
)
# Failed attempts in a row after which an endpoint is paused and the leaders told.
WEBHOOK_PAUSE_AFTER = env.int("WEBHOOK_PAUSE_AFTER", default=20)
# Connect and read timeout of a send (seconds); an attempt's lease is longer than both.
WEBHOOK_TIMEOUT = env.float("WEBHOOK_TIMEOUT", default=5.0)
WEBHOOK_LEASE = env.float("WEBHOOK_LEASE", default=60.0)
WEBHOOK_SEND_THREADS = env.int("WEBHOOK_SEND_THREADS", default=8)
# Days the delivery log keeps finished deliveries (a daily beat job; 0 keeps them all).
WEBHOOK_LOG_DAYS = env.int("WEBHOOK_LOG_DAYS", default=30)
# CIDRs webhooks may reach although private, loopback etc. (the SSRF guard refuses those
# otherwise). The tests allow 127.0.0.0/8 for their local receiver.
WEBHOOK_ALLOWED_NETWORKS = env.list(
    "WEBHOOK_ALLOWED_NETWORKS", default=["127.0.0.0/8"] if TESTING else []
)
# The portfolio analytics (owner load, split signals, candidates, readiness) run on this
# schedule; a leader can also ask for a run from the dashboard.
ANALYTICS_EVERY_MINUTES = env.int("ANALYTICS_EVERY_MINUTES", default=60)
# Readings (docs/operations.md, "Readings: partitions, roll-ups, retention"): the beat's
# readings-maintain keeps monthly partitions READINGS_PARTITIONS_AHEAD months ahead, rolls up
# changed days into hourly and daily roll-ups, and drops raw months older than
# READINGS_RAW_RETENTION_MONTHS (0: keep every reading; roll-ups are always kept).
READINGS_PARTITIONS_AHEAD = env.int("READINGS_PARTITIONS_AHEAD", default=3)
READINGS_RAW_RETENTION_MONTHS = env.int("READINGS_RAW_RETENTION_MONTHS", default=0)
READINGS_MAINTAIN_EVERY = env.float("READINGS_MAINTAIN_EVERY", default=300.0)
CELERY_BEAT_SCHEDULE = {
    # The outbox's safety net: publishes what a request could not, and what a broker or a
    # killed worker lost.
    "outbox-redeliver": {
        "task": "portfolio.tasks.outbox_redeliver",
        "schedule": OUTBOX_RELAY_EVERY,
        "options": {"expires": OUTBOX_RELAY_EVERY},
    },
    "portfolio-analytics": {
        "task": "analytics.tasks.compute_portfolio_analytics",
        "schedule": ANALYTICS_EVERY_MINUTES * 60.0,
        "options": {"expires": ANALYTICS_EVERY_MINUTES * 60.0},
    },
    # The change feed keeps EVENT_RETENTION_DAYS of events (portfolio/events.py `prune`).
    "events-prune": {
        "task": "portfolio.tasks.prune_events",
        "schedule": 24 * 3600.0,
    },
    # Outbound webhooks: fan out committed events, send what is due (webhooks/tasks.py).
    "webhook-tick": {
        "task": "webhooks.tasks.webhook_tick",
        "schedule": WEBHOOK_TICK_EVERY,
        "options": {"expires": WEBHOOK_TICK_EVERY},
    },
    "webhook-prune": {
        "task": "webhooks.tasks.prune_deliveries",
        "schedule": 24 * 3600.0,
    },
    # Readings: partitions ahead, roll-ups of changed days, raw retention (metrics/tasks.py).
    "readings-maintain": {
        "task": "metrics.tasks.readings_maintain",
        "schedule": READINGS_MAINTAIN_EVERY,
        "options": {"expires": READINGS_MAINTAIN_EVERY},
    },
    # Owners hear about their quarterly review a few days ahead (settings: review_reminder_days).
    "review-reminders": {
        "task": "reviews.tasks.send_review_reminders",
        "schedule": 24 * 3600.0,
    },
}

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # Named, hashed tokens with expiry; throttles failed attempts (docs/api.md).
        "accounts.authentication.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["portfolio.api.permissions.IsAuthenticatedReadOrRule"],
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.OrderingFilter",
    ],
    # JSON with a size and depth limit answered in the error shape; forms for the browsable API.
    "DEFAULT_PARSER_CLASSES": [
        "portfolio.api.parsers.JSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_PAGINATION_CLASS": "portfolio.api.pagination.PageNumberPagination",
    "PAGE_SIZE": 100,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "portfolio.api.errors.exception_handler",
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    # DRF's own throttles find the client behind the same proxies as the lockout and the failed
    # token counter (TRUSTED_PROXY_COUNT, accounts/lockout.py).
    "NUM_PROXIES": TRUSTED_PROXY_COUNT,
}
# Failed API token attempts: after API_TOKEN_FAILURES of them from one address within
# API_TOKEN_FAILURE_WINDOW seconds, token calls from that address answer 429 until it ends.
API_TOKEN_FAILURES = env.int("API_TOKEN_FAILURES", default=20)
API_TOKEN_FAILURE_WINDOW = env.int("API_TOKEN_FAILURE_WINDOW", default=60)
SPECTACULAR_SETTINGS = {
    "TITLE": "IT product portfolio API",
    "DESCRIPTION": "Products, clusters, people and teams of the IT product portfolio.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": "/api/v1",
    "COMPONENT_SPLIT_REQUEST": True,
    # The README's rule holds for the schema too: a login (session or token) is needed.
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    # Swagger UI and ReDoc from the drf-spectacular-sidecar package, served as our own static
    # files: no CDN to reach, and the Content-Security-Policy can stay 'self'.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# --- security headers (docs/security.md) ---------------------------------------------------
# Content-Security-Policy, sent by django-csp on every response: scripts, styles, fonts and
# fetches only from this site, no inline script or style, no plugins, no framing.
SECURITY_REPORT_PATH = "/csp-report/"
# Logging out through single sign-on sends the browser on to the provider after a form post,
# and Chromium checks that redirect against form-action: portfolio/headers.py adds the origin
# of OIDC_ISSUER to each response. The CSP_FORM_ACTION variable adds more origins (a provider
# signing in on another host).
FORM_ACTION_ORIGINS = ["'self'", *env.list("CSP_FORM_ACTION", default=[])]
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": FORM_ACTION_ORIGINS,
        "frame-ancestors": ["'none'"],
        "report-uri": [SECURITY_REPORT_PATH],
        "report-to": "csp-endpoint",  # the group portfolio/headers.py names in Reporting-Endpoints
    }
}
# Browser features the portfolio never uses, switched off for every page (Permissions-Policy).
PERMISSIONS_POLICY: dict[str, list[str]] = {
    feature: []
    for feature in (
        "accelerometer",
        "autoplay",
        "browsing-topics",
        "camera",
        "display-capture",
        "encrypted-media",
        "geolocation",
        "gyroscope",
        "hid",
        "idle-detection",
        "magnetometer",
        "microphone",
        "midi",
        "payment",
        "picture-in-picture",
        "publickey-credentials-get",
        "screen-wake-lock",
        "serial",
        "usb",
        "xr-spatial-tracking",
    )
}
# Django's SecurityMiddleware, in every mode (these are Django's defaults, stated here).
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="WARNING")},
}

if not DEBUG and not TESTING:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True

if TESTING:
    # Hashing passwords at full strength makes every test user cost ~0.3 s.
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
if TESTING or DEBUG:
    # Serve static files from the app folders; no collectstatic needed.
    WHITENOISE_USE_FINDERS = True
    WHITENOISE_AUTOREFRESH = True
