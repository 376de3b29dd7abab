"""Settings shared by every environment. Everything that differs between machines comes from the
environment; the defaults run the embedded portal (SQLite, Celery's filesystem broker) with no
server installed."""

import os
from datetime import timedelta
from pathlib import Path

import dj_database_url

from escalation import beat as escalation_beat
from incidents import beat as incidents_beat
from postmortems import beat as postmortems_beat

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = Path(os.environ.get("FIREBREAK_VAR_DIR", BASE_DIR / "var"))


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


# --- Core ---------------------------------------------------------------------------------
# https://docs.djangoproject.com/en/5.2/ref/settings/#core-settings
DEBUG = env_bool("DEBUG", True)
# The embedded portal of `./firebreak start` (which also turns DEBUG off, so visitors get the
# portal's own error pages): demo data allowed, e-mails written to files under var/mail/ and
# readable at /notifications/mail/, a quiet terminal.
FIREBREAK_LOCAL = env_bool("FIREBREAK_LOCAL", False)
SECRET_KEY = os.environ.get("SECRET_KEY", "firebreak-insecure-development-key-change-me-0123456789")
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost,[::1]")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", "")
ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
SITE_URL = os.environ.get("SITE_URL", "http://127.0.0.1:8000").rstrip("/")

# --- Apps ---------------------------------------------------------------------------------
DJANGO_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
]
THIRD_PARTY_APPS = [
    "simple_history",
    "crispy_forms",
    "crispy_bootstrap5",
    "django_htmx",
    "axes",
]
LOCAL_APPS = [
    "incidents",
    "escalation",
    "postmortems",
    "incidents.intake",
]
INSTALLED_APPS = DJANGO_APPS + THIRD_PARTY_APPS + LOCAL_APPS

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "incidents.request_hardening.RejectControlCharactersInPathMiddleware",
    "incidents.request_hardening.SecurityHeadersMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # A repeated POST of a form's one-time token gets the first answer (incidents/once.py).
    "incidents.once.OneTimeFormMiddleware",
    # Records request.user as the author of every history row written during a request.
    "simple_history.middleware.HistoryRequestMiddleware",
    # Turns a refused (locked-out) login into the lockout page; last, as its docs ask.
    "axes.middleware.AxesMiddleware",
    # A deadlock or serialization failure no service retried: a 409 with a message, not a 500.
    "incidents.middleware.DatabaseConflictMiddleware",
]

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
                "incidents.request_hardening.csp_nonce",
                "incidents.context_processors.firefighting",
                "incidents.context_processors.navigation",
                "escalation.context_processors.inbox",
            ],
        },
    },
]

# --- Database -----------------------------------------------------------------------------
# https://docs.djangoproject.com/en/5.2/ref/settings/#databases
# PostgreSQL runs on Django's backend with psycopg's C loader for timestamptz values
# (config/postgresql/base.py: ten times faster at reading datetimes, the same values).
POSTGRESQL_ENGINE = "config.postgresql"


def database_from_url(url: str, **options) -> dict:
    database = dj_database_url.parse(url, **options)
    if database["ENGINE"] == "django.db.backends.postgresql":
        database["ENGINE"] = POSTGRESQL_ENGINE
    return database


DATABASES = {
    "default": database_from_url(
        os.environ.get("DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
        conn_max_age=int(os.environ.get("DATABASE_CONN_MAX_AGE", "60")),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The embedded default runs a web server and a worker on one file: wait for locks instead
    # of failing, and take the write lock up front so transactions never deadlock on upgrade.
    DATABASES["default"]["OPTIONS"] = {"timeout": 20, "transaction_mode": "IMMEDIATE"}
    DATABASES["default"]["CONN_MAX_AGE"] = 0

# --- Auth ---------------------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "incidents:dashboard"
LOGOUT_REDIRECT_URL = "login"
# django-axes checks every login first: too many failures for a username, or from an address,
# lock further attempts for a while. https://django-axes.readthedocs.io/en/latest/4_configuration.html
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    # Django's ModelBackend, plus what a duty rota (e.g. the daily log checker) lets whoever is
    # on duty do, for the length of their shift; read in the same query as group permissions.
    "escalation.duty.DutyAwareModelBackend",
    # Sessions started before the line above still name this one; it shares the permission
    # cache on the user object, so it adds no queries.
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = int(os.environ.get("LOGIN_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = timedelta(minutes=float(os.environ.get("LOGIN_LOCKOUT_MINUTES", "15")))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]  # either one, counted separately
AXES_RESET_ON_SUCCESS = True
AXES_ENABLE_ACCESS_FAILURE_LOG = True  # failed logins listed for managers, not only counted
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_CLIENT_IP_CALLABLE = "incidents.accounts.client_ip"
# Behind a reverse proxy every request comes from the proxy: count this many trusted proxies
# from the right of X-Forwarded-For to find the person's address (0: use the connection's).
LOGIN_TRUSTED_PROXY_COUNT = int(os.environ.get("LOGIN_TRUSTED_PROXY_COUNT", "0"))
# A session ends after this long without a request (each request moves the expiry on).
SESSION_COOKIE_AGE = int(float(os.environ.get("SESSION_IDLE_TIMEOUT_MINUTES", "480")) * 60)
SESSION_SAVE_EVERY_REQUEST = True
PASSWORD_RESET_TIMEOUT = 60 * 60 * 3  # a reset link works for three hours

# --- Time and language --------------------------------------------------------------------
# Stored in UTC; shown in TIME_ZONE (the organisation's zone) with the full date.
LANGUAGE_CODE = "en-gb"
TIME_ZONE = os.environ.get("TIME_ZONE", "Europe/Amsterdam")
USE_I18N = True
USE_TZ = True
DATETIME_FORMAT = "D j M Y, H:i T"
SHORT_DATETIME_FORMAT = "Y-m-d H:i"

# --- Static files (served by whitenoise; no CDN) --------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
# Report exports built in the background (incidents.reports.background) are written here by the
# worker and read by the web processes: on more than one host, point this at a shared folder
# (or replace the "exports" storage with any Django storage backend).
REPORT_EXPORTS_DIR = Path(os.environ.get("FIREBREAK_EXPORTS_DIR", VAR_DIR / "exports"))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
    "exports": {"BACKEND": "django.core.files.storage.FileSystemStorage",
                "OPTIONS": {"location": str(REPORT_EXPORTS_DIR)}},
}
WHITENOISE_USE_FINDERS = True

# --- Forms --------------------------------------------------------------------------------
CRISPY_ALLOWED_TEMPLATE_PACKS = "bootstrap5"
CRISPY_TEMPLATE_PACK = "bootstrap5"

# --- Email --------------------------------------------------------------------------------
EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", (
    "django.core.mail.backends.filebased.EmailBackend" if FIREBREAK_LOCAL
    else "django.core.mail.backends.console.EmailBackend"))
EMAIL_FILE_PATH = VAR_DIR / "mail"
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "25"))
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "firebreak@localhost")

# --- Celery -------------------------------------------------------------------------------
# https://docs.celeryq.dev/en/stable/userguide/configuration.html
# The filesystem transport ignores the host; naming one keeps kombu from warning about it.
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", "filesystem://localhost/")
CELERY_BROKER_DIR = VAR_DIR / "celery-broker"
if CELERY_BROKER_URL.startswith("filesystem://"):
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(CELERY_BROKER_DIR / "out"),
        "data_folder_out": str(CELERY_BROKER_DIR / "out"),
        "processed_folder": str(CELERY_BROKER_DIR / "processed"),
        # Exchange bindings (broadcasts); kombu's default is a "control" folder in the cwd.
        "control_folder": str(CELERY_BROKER_DIR / "control"),
        "store_processed": False,
    }
else:
    # Redis redelivers an unacknowledged task after this long; longer than any task runs.
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_IGNORE_RESULT = True
CELERY_TIMEZONE = "UTC"
CELERY_ENABLE_UTC = True
# Reliability: a task is acknowledged only after it ran, and requeued when its worker dies;
# each worker process holds one message at a time, and no task runs forever.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = 120
CELERY_TASK_SOFT_TIME_LIMIT = 100
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
# Each app lists its periodic tasks in <app>/beat.py.
CELERY_BEAT_SCHEDULE = {
    **incidents_beat.BEAT_SCHEDULE,
    **escalation_beat.BEAT_SCHEDULE,
    **postmortems_beat.BEAT_SCHEDULE,
}

# --- Firebreak ----------------------------------------------------------------------------
FIREBREAK_REFERENCE_PREFIX = os.environ.get("FIREBREAK_REFERENCE_PREFIX", "INC")
# An SLA clock is "at risk" once this share of its time has elapsed (0.75 = 75%).
FIREBREAK_SLA_AT_RISK_SHARE = float(os.environ.get("FIREBREAK_SLA_AT_RISK_SHARE", "0.75"))
INCIDENTS_PAGE_SIZE = 25
# Notification delivery (escalation/delivery.py): a network operation's timeout, how long a
# claimed outbox row is reserved for its sender (longer than a send can take), and when to give up.
NOTIFICATION_SEND_TIMEOUT = float(os.environ.get("NOTIFICATION_SEND_TIMEOUT", "10"))
NOTIFICATION_DELIVERY_LEASE_SECONDS = float(
    os.environ.get("NOTIFICATION_DELIVERY_LEASE_SECONDS", "60")
)
NOTIFICATION_MAX_ATTEMPTS = int(os.environ.get("NOTIFICATION_MAX_ATTEMPTS", "8"))
# Alert intake: the largest request body accepted from a monitoring tool (413 above it).
INTAKE_MAX_BODY_BYTES = int(os.environ.get("INTAKE_MAX_BODY_BYTES", str(1024 * 1024)))
# Report XLSX exports of more incidents than this are built by a worker (a page shows the
# progress and then the download) instead of holding a web worker; kept this many hours.
REPORT_XLSX_DIRECT_MAX_ROWS = int(os.environ.get("REPORT_XLSX_DIRECT_MAX_ROWS", "10000"))
REPORT_EXPORT_KEEP_HOURS = float(os.environ.get("REPORT_EXPORT_KEEP_HOURS", "24"))
# Webhooks go to public addresses only; these internal hosts (names, IPs or networks such as
# 10.1.0.0/16) are allowed anyway (escalation/webhook_targets.py).
WEBHOOK_ALLOWED_INTERNAL_HOSTS = env_list("WEBHOOK_ALLOWED_INTERNAL_HOSTS", "")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"],
             "level": os.environ.get("LOG_LEVEL", "WARNING" if FIREBREAK_LOCAL else "INFO")},
}
if FIREBREAK_LOCAL:
    # No line per request in the terminal of `./firebreak start`; failures still show.
    LOGGING["loggers"] = {"django.server": {"level": "WARNING"}}

