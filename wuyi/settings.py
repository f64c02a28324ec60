"""Settings, driven by the environment.

With no environment at all this is the embedded default a newcomer runs: SQLite and Celery on
kombu's filesystem broker under var/, DEBUG on. Production sets DJANGO_SECRET_KEY (which turns
DEBUG off unless DJANGO_DEBUG says otherwise), DATABASE_URL, REDIS_URL and DJANGO_ALLOWED_HOSTS.
"""

import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
from celery.schedules import crontab
from csp.constants import NONE, SELF
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("WUYI_VAR_DIR", BASE_DIR / "var"))


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


_SECRET_FROM_ENV = os.environ.get("DJANGO_SECRET_KEY", "")
SECRET_KEY = _SECRET_FROM_ENV or "django-insecure-wuyi-embedded-default-do-not-use-in-production"
DEBUG = env_bool("DJANGO_DEBUG", default=not _SECRET_FROM_ENV)
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", "127.0.0.1,localhost" if DEBUG else "")
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "simple_history",
    "import_export",
    "axes",
    "csp",
    "accounts",
    "compounds",
    "messaging",
    "residents",
    "volunteers",
    "sanitation",
    "medical",
    "supplies",
    "screening",
    "care",
    "campaign",
    "dashboards",
]

MIDDLEWARE = [
    # Pages gzipped (a phone on a poor network: 60-160 KB of HTML become 10-25 KB). BREACH, the
    # attack on compressed pages that reflect input next to a secret: the CSRF token is masked
    # afresh in every response (it never repeats, so it cannot be guessed byte by byte), Django
    # pads each gzip stream with random bytes ("Heal the BREACH"), and the session cookie is
    # SameSite=Lax, so another site cannot make a victim's browser send the thousands of
    # requests the attack needs. Full ID numbers and phones are never in a page beside echoed
    # input (they come one at a time, on a recorded POST). It is first: it compresses what the
    # others produce, the static files WhiteNoise serves in development included (in
    # production WhiteNoise serves its own precompressed files, which it leaves alone).
    "django.middleware.gzip.GZipMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    # Before the CSRF check, which reads the form: a body too long is refused unread.
    "wuyi.middleware.BodyLimitMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # A tap replayed from a phone that was offline: applied once (volunteers/offline.py).
    "volunteers.offline.ReplayMiddleware",
    # The district views' GETs read on DATABASE_REPLICA_URL when it is set (wuyi/replica.py).
    "wuyi.replica.ReplicaReadsMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    "wuyi.middleware.NoStoreMiddleware",
    "wuyi.middleware.RefusedMiddleware",
    # Axes must come last: it turns a locked-out login into its lockout response.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "wuyi.urls"
WSGI_APPLICATION = "wuyi.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "accounts.context_processors.bell",
                "residents.context_processors.register_reach",
            ],
            # {% load money %}{{ amount|yuan }}: 0.045, 12.50 (wuyi/lib/money.py).
            # {% load links %}{% link "app:name" row.pk %}: {% url %} for rows (wuyi/lib/urls.py).
            "libraries": {"money": "wuyi.lib.money", "links": "wuyi.lib.urls"},
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", f"sqlite:///{VAR_DIR / 'wuyi.sqlite3'}"),
        conn_max_age=int(os.environ.get("DJANGO_CONN_MAX_AGE", "60")),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Several processes (web, worker, beat) share the file: wait for a lock rather than fail.
    DATABASES["default"]["OPTIONS"] = {"timeout": 20}
    DATABASES["default"]["CONN_MAX_AGE"] = 0
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = os.environ.get("REDIS_URL", "")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "wuyi",
        }
    }
    # Sessions read from Redis, written through to the database: a request that only reads its
    # session (almost all of them) costs no query for it, and a Redis restart logs nobody out.
    SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
else:
    # Shared by the web server and the worker (import progress), so not per-process memory.
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(VAR_DIR / "cache"),
        }
    }

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# Login protection: five failures for one user name from one address lock that pair for an
# hour; thirty from one address, across user names, lock the address (a spray over volunteers'
# user names, which are their phone numbers). accounts/lockout.py weighs the two counts.
AXES_FAILURE_LIMIT = int(os.environ.get("WUYI_AXES_FAILURE_LIMIT", "5"))
AXES_ADDRESS_FAILURE_LIMIT = int(os.environ.get("WUYI_AXES_ADDRESS_FAILURE_LIMIT", "30"))
AXES_COOLOFF_TIME = 1  # hours
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"], "ip_address"]
AXES_HANDLER = "accounts.lockout.AddressLimitHandler"
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_IPWARE_PROXY_COUNT = int(os.environ.get("WUYI_PROXY_COUNT", "0")) or None
AXES_SENSITIVE_PARAMETERS = ["password"]

LANGUAGE_CODE = "zh-hans"
FORMAT_MODULE_PATH = ["wuyi.formats"]  # 2026-11-28 in the admin as on the pages
LANGUAGES = [("zh-hans", _("Simplified Chinese")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]  # the .po files are the source (make messages)
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
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
MEDIA_ROOT = VAR_DIR / "media"
WHITENOISE_USE_FINDERS = DEBUG

# Security. Cookies and transport are locked down whenever DEBUG is off.
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_AGE = 12 * 3600
CSRF_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
# WUYI_TLS says the site is reached over https (default: whenever DEBUG is off). It drives every
# TLS setting together: Secure cookies, the redirect to https, HSTS. A plain-http deployment
# sets WUYI_TLS=0, or no browser would send its login cookie back; the system check
# wuyi.W001 (wuyi/checks.py) then says so at every start, and wuyi.E001 refuses a redirect to
# https that the cookies' setting contradicts (docs/operations.md, TLS).
WUYI_TLS = env_bool("WUYI_TLS", not DEBUG)
if WUYI_TLS:
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    LANGUAGE_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", True)
    SECURE_HSTS_SECONDS = int(os.environ.get("DJANGO_HSTS_SECONDS", str(365 * 24 * 3600)))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    if env_bool("DJANGO_BEHIND_TLS_PROXY", True):
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
else:
    SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", False)  # on: wuyi.E001

# Content Security Policy: everything from our own origin, no inline script, no framing.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "frame-ancestors": [NONE],
        # tel: for the one-tap call, which answers a form with a redirect to the number.
        "form-action": [SELF, "tel:"],
        "base-uri": [SELF],
        "object-src": [NONE],
    }
}

REST_FRAMEWORK = {
    # Token first: an anonymous request then gets 401 with "WWW-Authenticate: Token".
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    # A bad ?page= is a 400 naming it; a page past the last a 404 (documented in the schema).
    "DEFAULT_PAGINATION_CLASS": "wuyi.lib.pagination.Pagination",
    # JSON in: a form encoding would turn null into the text "null".
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_FILTER_BACKENDS": [],
    # A Refused raised anywhere under an API view is a 400 with the page's message.
    "EXCEPTION_HANDLER": "wuyi.lib.drf.exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Wuyi API",
    "DESCRIPTION": "Sealed-compound management: places, compounds, buildings.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Request bodies get components of their own (HouseholdRequest...), without the read-only
    # fields, so that what a client must send is what the schema requires.
    "COMPONENT_SPLIT_REQUEST": True,
    # The enum hook is drf-spectacular's default; ours documents each operation's errors.
    # Choice sets named after their model (two apps' "status" or "kind" would collide).
    "ENUM_NAME_OVERRIDES": {
        "EscortStatusEnum": "medical.models.EscortStatus",
        "EscortKindEnum": "medical.models.EscortKind",
        "BookableKindEnum": "medical.api.BOOKABLE",
        "ScheduleStatusEnum": "medical.models.ScheduleStatus",
        "AmbulanceStatusEnum": "medical.models.AmbulanceStatus",
        "GroupBuyStatusEnum": "supplies.models.GroupBuyStatus",
        "OrderStatusEnum": "supplies.models.OrderStatus",
        "DeliveredHowEnum": "supplies.models.DeliveredHow",
        "PaymentMethodEnum": "supplies.models.PaymentMethod",
        "DisinfectionMethodEnum": "sanitation.models.Method",
        "CheckInEnum": "sanitation.models.CheckIn",
        "ResidentCategoryEnum": "residents.models.Category",
        "WelfareCheckOutcomeEnum": "care.models.Outcome",
        "RecordOutcomeEnum": "care.forms.RECORDABLE",
        "MoodEnum": "care.models.Mood",
        "NeedKindEnum": "care.models.NeedKind",
        "NeedStatusEnum": "care.models.NeedStatus",
        "ChecklistItemKindEnum": "campaign.models.ItemKind",
        "CertificateStatusEnum": "campaign.models.CertificateStatus",
        "PublicityKindEnum": "campaign.models.PublicityKind",
        "CampaignTextKindEnum": "campaign.models.TextKind",
        "ScreeningRoundStatusEnum": "screening.models.RoundStatus",
        "TubeKindEnum": "screening.models.TubeKind",
        "TubeStatusEnum": "screening.models.TubeStatus",
        "ScreeningResultEnum": "screening.models.Result",
        "RetestStatusEnum": "screening.models.RetestStatus",
        "ExemptReasonEnum": "screening.models.ExemptReason",
        "ScreeningPersonKindEnum": "screening.models.PersonKind",
        "ScreeningPlaceEnum": "screening.models.Place",
    },
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "wuyi.lib.drf.document_errors",
    ],
}

# Celery. The database is the source of truth; Celery only executes.
CELERY_BROKER_URL = REDIS_URL or "filesystem://"
if not REDIS_URL:
    _broker_dir = VAR_DIR / "celery" / "broker"
    _processed_dir = VAR_DIR / "celery" / "processed"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir),
        "data_folder_out": str(_broker_dir),
        "processed_folder": str(_processed_dir),
        "store_processed": False,
        # Without this kombu writes its control exchange into the current directory.
        "control_folder": str(VAR_DIR / "celery" / "control"),
    }
else:
    # How long Redis waits for a worker to acknowledge a task before it hands the task to another
    # worker (acks_late: a task is acknowledged when it ends). It must exceed the longest task, or
    # a task still running is started a second time; past it, the task of a worker that died
    # whole runs again. The longest tasks: a resident import (hard limit
    # WUYI_IMPORT_MAX_SECONDS + 120 = 720 s by default) and an SMS batch (at most
    # WUYI_SMS_BATCH_SIZE / WUYI_SMS_HTTP_BATCH provider calls of WUYI_SMS_TIMEOUT each: 50 s).
    # Both are recovered sooner through the database (import lease, SMS lease); a task that comes
    # back after this finds its row finished and does nothing. kombu's default is one hour.
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "visibility_timeout": int(os.environ.get("WUYI_CELERY_VISIBILITY_TIMEOUT", "900")),
    }
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TIMEZONE = TIME_ZONE
# Tasks a worker runs on one database connection before it reconnects (unset: Celery's default,
# a new connection after every task). bench/sms_fanout.py sets it for its naive baseline.
CELERY_DB_REUSE_MAX = int(os.environ.get("WUYI_CELERY_DB_REUSE_MAX", "0")) or None
CELERY_TASK_ALWAYS_EAGER = env_bool("WUYI_CELERY_EAGER", False)
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
# Sanitation: the daily roster is made at this local time (HH:MM) for compounds of these
# statuses; a round still open this many minutes after its cleaner was reminded goes to the
# community secretary.
WUYI_ROSTER_TIME = os.environ.get("WUYI_ROSTER_TIME", "05:00")
WUYI_ROSTER_STATUSES = env_list("WUYI_ROSTER_STATUSES", "sealed,controlled")
# Care: the day's welfare checks are made at this local time; ledger categories checked, with
# every how many days, for a community without a care plan of its own (category:days).
WUYI_WELFARE_TIME = os.environ.get("WUYI_WELFARE_TIME", "06:00")
WUYI_CARE_DEFAULT = env_list("WUYI_CARE_DEFAULT", "elderly_alone:1")
WUYI_OVERDUE_ESCALATE_MINUTES = int(os.environ.get("WUYI_OVERDUE_ESCALATE_MINUTES", "60"))
WUYI_OVERDUE_BATCH = int(os.environ.get("WUYI_OVERDUE_BATCH", "5000"))
# Volunteers: a shift starting within this many hours with fewer people than it needs is
# alerted to the community secretaries (in the app).
WUYI_UNSTAFFED_ALERT_HOURS = int(os.environ.get("WUYI_UNSTAFFED_ALERT_HOURS", "12"))
# Screening: the days after the start of a quarantine a test is due (and its reminder sent).
WUYI_QUARANTINE_TEST_DAYS = tuple(
    int(n) for n in env_list("WUYI_QUARANTINE_TEST_DAYS", "1,4,7,14") if n.strip().isdigit()
)
_roster_hour, _roster_minute = (int(part) for part in WUYI_ROSTER_TIME.split(":"))
# Dashboards: the districts' daily reports are written at this local time (HH:MM), into this
# directory (one folder per day, one xlsx per district), and kept there.
WUYI_DAILY_REPORT_TIME = os.environ.get("WUYI_DAILY_REPORT_TIME", "20:00")
WUYI_REPORT_DIR = Path(os.environ.get("WUYI_REPORT_DIR", VAR_DIR / "reports"))
_report_hour, _report_minute = (int(part) for part in WUYI_DAILY_REPORT_TIME.split(":"))
_welfare_hour, _welfare_minute = (int(part) for part in WUYI_WELFARE_TIME.split(":"))

# The one beat schedule. Each entry is a dispatcher that claims due rows from the database, or
# housekeeping that is safe to run twice.
CELERY_BEAT_SCHEDULE = {
    "purge-access-logs": {
        "task": "accounts.purge_access_logs",
        "schedule": crontab(hour=3, minute=17),
    },
    # An import whose worker died is failed (and offered again) within the lease.
    "expire-import-jobs": {
        "task": "residents.expire_import_jobs",
        "schedule": timedelta(seconds=60),
    },
    # Uploaded lists hold plaintext personal data: what a job left behind goes within the day.
    "purge-import-files": {
        "task": "residents.purge_import_files",
        "schedule": crontab(minute=41),
    },
    "generate-rosters": {
        "task": "sanitation.generate_rosters",
        "schedule": crontab(hour=_roster_hour, minute=_roster_minute),
    },
    # A compound sealed during the day, or a worker down at roster time: made up within the hour.
    "catch-up-rosters": {
        "task": "sanitation.catch_up_rosters",
        "schedule": crontab(minute=7),
    },
    # Recurring escorts (dialysis Mon/Wed/Fri): the coming week booked, each escort once.
    "book-escorts": {
        "task": "medical.book_escorts",
        "schedule": crontab(minute=17),
    },
    "notify-escorts": {
        "task": "medical.notify_escorts",
        "schedule": crontab(minute="*/10"),
    },
    # Coming shifts with fewer people than they need: to the secretaries' bell, once each.
    "alert-unstaffed-shifts": {
        "task": "volunteers.alert_unstaffed",
        "schedule": crontab(minute="*/15"),
    },
    # People in quarantine told of the day's test at 08:00, and again each hour until noon for
    # whoever was missed (a record added since, a worker down): each person once a day.
    "remind-test-days": {
        "task": "screening.remind_test_days",
        "schedule": crontab(hour="8-12", minute=5),
    },
    "remind-overdue-rounds": {
        "task": "sanitation.remind_overdue",
        "schedule": crontab(minute="*/5"),
    },
    # The codes residents prove their door with (ordering and household links) are kept a day.
    "purge-link-codes": {
        "task": "residents.purge_link_codes",
        "schedule": crontab(hour=3, minute=29),
    },
    # The SMS outbox: due recipients claimed and handed to the worker in batches.
    "dispatch-sms": {
        "task": "messaging.dispatch",
        "schedule": timedelta(seconds=int(os.environ.get("WUYI_SMS_DISPATCH_EVERY", "10"))),
    },
    "poll-sms-receipts": {
        "task": "messaging.poll_receipts",
        "schedule": crontab(minute="*/5"),
    },
    # The overview's counts kept for 15 minutes, made again before they expire.
    "refresh-figures": {
        "task": "dashboards.refresh_figures",
        "schedule": crontab(minute="*/10"),
    },
    # Each district's daily report (xlsx), written at WUYI_DAILY_REPORT_TIME (local).
    "daily-report": {
        "task": "dashboards.daily_report",
        "schedule": crontab(hour=_report_hour, minute=_report_minute),
    },
    # Each community's welfare checks of the day (care), at WUYI_WELFARE_TIME (local).
    "generate-welfare-checks": {
        "task": "care.generate_checks",
        "schedule": crontab(hour=_welfare_hour, minute=_welfare_minute),
    },
}

# The address residents' phones reach the app at, for printed QR codes and links sent by SMS
# (e.g. https://wuyi.example.gov.cn). Empty: the address the page was opened at, which the QR
# pages flag while it is 127.0.0.1 or localhost.
WUYI_PUBLIC_URL = os.environ.get("WUYI_PUBLIC_URL", "").strip()

# A district overview's board (figures, alerts, charts, the compound grid) is rendered at most
# once this many seconds for everyone who sees the same compounds with the same role and
# language (dashboards.views.BOARD_SECONDS; the page says as of when). 0: made on every request.
WUYI_BOARD_SECONDS = int(os.environ.get("WUYI_BOARD_SECONDS", "30"))

# Domain rules.
# A compound steps down from sealed or controlled only after this many days without a positive.
WUYI_DOWNGRADE_QUIET_DAYS = int(os.environ.get("WUYI_DOWNGRADE_QUIET_DAYS", "7"))

# Login records (address, browser) are personal data: kept this long, then purged nightly.
WUYI_ACCESS_LOG_RETENTION_DAYS = int(os.environ.get("WUYI_ACCESS_LOG_RETENTION_DAYS", "90"))

# Every handler redacts secret query parameters (the SMS receipt token) and writes a refusal
# (403, a suspicious request's 400) in one line, without its traceback (wuyi/logfilters.py;
# gunicorn's access log: gunicorn.conf.py).
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "redact": {"()": "wuyi.logfilters.RedactSecrets"},
        "one_line_refusals": {"()": "wuyi.logfilters.OneLineRefusals"},
    },
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "server": {
            "()": "django.utils.log.ServerFormatter",
            "format": "[{server_time}] {message}",
            "style": "{",
        },
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
            "filters": ["redact", "one_line_refusals"],
        },
        # runserver's request lines ("GET /messaging/receipts/aliyun/?token=… 200").
        "server": {
            "class": "logging.StreamHandler",
            "formatter": "server",
            "filters": ["redact"],
        },
    },
    "root": {"handlers": ["console"], "level": os.environ.get("WUYI_LOG_LEVEL", "INFO")},
    "loggers": {
        "axes": {"level": "WARNING"},
        "django.request": {"filters": ["one_line_refusals"]},
        "django.server": {"handlers": ["server"], "level": "INFO", "propagate": False},
    },
}

# Personal data: the key behind ID-number encryption and lookup hashes. Set it in production and
# keep it safe; without it the stored ID numbers cannot be read. The default derives from
# SECRET_KEY, which is fine for the embedded demo only.
WUYI_PII_KEY = os.environ.get("WUYI_PII_KEY", "")

# Resident imports: the largest file accepted, and the size above which the preview and the
# commit run on the Celery worker with a progress bar instead of inside the request.
WUYI_IMPORT_MAX_BYTES = int(os.environ.get("WUYI_IMPORT_MAX_BYTES", str(30 * 1024 * 1024)))
WUYI_IMPORT_BACKGROUND_BYTES = int(os.environ.get("WUYI_IMPORT_BACKGROUND_BYTES", "262144"))
# Bounds on what a list may hold, checked before and while it is read (wuyi.lib.spreadsheets).
WUYI_IMPORT_MAX_UNPACKED = int(os.environ.get("WUYI_IMPORT_MAX_UNPACKED", str(400 * 1024 * 1024)))
WUYI_IMPORT_MAX_ROWS = int(os.environ.get("WUYI_IMPORT_MAX_ROWS", "200000"))
WUYI_IMPORT_MAX_SECONDS = int(os.environ.get("WUYI_IMPORT_MAX_SECONDS", "600"))
# Request bodies: the longest any view takes (a resident list and its form), refused from the
# Content-Length before it is read (wuyi.middleware.BodyLimitMiddleware); a view that takes a
# photo takes much less (wuyi.lib.photos.MAX_BODY_BYTES). Django's own limits bound the form
# fields held in memory, the files of one request, and when a file goes to a temporary file.
WUYI_MAX_BODY_BYTES = int(
    os.environ.get("WUYI_MAX_BODY_BYTES", str(WUYI_IMPORT_MAX_BYTES + 1024 * 1024))
)
# A running import whose worker has not given a sign of life for this long is taken for dead:
# the job is marked failed and its page offers the retry (residents.services.import_jobs_expire,
# run by beat every minute and whenever the job's page is read).
WUYI_IMPORT_LEASE_SECONDS = int(os.environ.get("WUYI_IMPORT_LEASE_SECONDS", "180"))
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
DATA_UPLOAD_MAX_NUMBER_FILES = 5
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
IMPORT_EXPORT_ESCAPE_FORMULAE_ON_EXPORT = True

# SMS (messaging). The backend: console (prints; the embedded default), locmem (tests), http (a
# generic gateway: JSON + HMAC), aliyun or tencent.
# Residents ordering through a compound's link: requests for a code the link takes an hour,
# all numbers together (each also has its own limits per number and per door).
WUYI_SELF_CODES_PER_LINK_HOUR = int(os.environ.get("WUYI_SELF_CODES_PER_LINK_HOUR", "200"))
WUYI_SMS_BACKEND = os.environ.get("WUYI_SMS_BACKEND", "console")
WUYI_SMS_SIGN_NAME = os.environ.get("WUYI_SMS_SIGN_NAME", "无疫社区")
WUYI_SMS_TIMEOUT = float(os.environ.get("WUYI_SMS_TIMEOUT", "10"))  # seconds per provider call
WUYI_SMS_HTTP_URL = os.environ.get("WUYI_SMS_HTTP_URL", "")
WUYI_SMS_HTTP_SECRET = os.environ.get("WUYI_SMS_HTTP_SECRET", "")
WUYI_SMS_HTTP_BATCH = int(os.environ.get("WUYI_SMS_HTTP_BATCH", "1000"))
WUYI_SMS_ALIYUN_ACCESS_KEY_ID = os.environ.get("WUYI_SMS_ALIYUN_ACCESS_KEY_ID", "")
WUYI_SMS_ALIYUN_ACCESS_KEY_SECRET = os.environ.get("WUYI_SMS_ALIYUN_ACCESS_KEY_SECRET", "")
WUYI_SMS_ALIYUN_ENDPOINT = os.environ.get("WUYI_SMS_ALIYUN_ENDPOINT", "dysmsapi.aliyuncs.com")
WUYI_SMS_TENCENT_SECRET_ID = os.environ.get("WUYI_SMS_TENCENT_SECRET_ID", "")
WUYI_SMS_TENCENT_SECRET_KEY = os.environ.get("WUYI_SMS_TENCENT_SECRET_KEY", "")
WUYI_SMS_TENCENT_SDK_APP_ID = os.environ.get("WUYI_SMS_TENCENT_SDK_APP_ID", "")
WUYI_SMS_TENCENT_REGION = os.environ.get("WUYI_SMS_TENCENT_REGION", "ap-guangzhou")
WUYI_SMS_TENCENT_ENDPOINT = os.environ.get("WUYI_SMS_TENCENT_ENDPOINT", "sms.tencentcloudapi.com")
WUYI_SMS_PROVIDER_PROTOCOL = os.environ.get("WUYI_SMS_PROVIDER_PROTOCOL", "https")
# The shared secret in the receipt URLs of providers that sign nothing (?token=...).
WUYI_SMS_RECEIPT_TOKEN = os.environ.get("WUYI_SMS_RECEIPT_TOKEN", "")
# Numbers a second, per provider, across every worker (0: no limit).
WUYI_SMS_RATE_LIMIT = int(os.environ.get("WUYI_SMS_RATE_LIMIT", "20000"))
# No SMS but urgent ones in these hours (Asia/Shanghai); held until they end. Empty: none.
WUYI_SMS_QUIET_HOURS = os.environ.get("WUYI_SMS_QUIET_HOURS", "22:00-07:00")
WUYI_SMS_PRICE = os.environ.get("WUYI_SMS_PRICE", "0.045")  # yuan per SMS (70 characters)
WUYI_SMS_DEFAULT_MONTHLY_BUDGET = os.environ.get("WUYI_SMS_DEFAULT_MONTHLY_BUDGET", "1000")
# Each community's own monthly allowances (yuan) until district staff set others: system texts
# people need to do their job (handover codes, login links, overdue reminders, pickup times;
# when it runs out they draw on the community's budget), and texts residents ask for through
# the ordering link (ordering codes; never more than this).
WUYI_SMS_SYSTEM_MONTHLY_BUDGET = os.environ.get("WUYI_SMS_SYSTEM_MONTHLY_BUDGET", "1000")
WUYI_SMS_PUBLIC_MONTHLY_BUDGET = os.environ.get("WUYI_SMS_PUBLIC_MONTHLY_BUDGET", "200")
WUYI_SMS_BATCH_SIZE = int(os.environ.get("WUYI_SMS_BATCH_SIZE", "5000"))
WUYI_SMS_MAX_PENDING_BATCHES = int(os.environ.get("WUYI_SMS_MAX_PENDING_BATCHES", "8"))
WUYI_SMS_MAX_ATTEMPTS = int(os.environ.get("WUYI_SMS_MAX_ATTEMPTS", "5"))
# A worker silent this long is taken for dead and its batch recovered: keep it well above
# WUYI_SMS_TIMEOUT, so that a slow call is never taken for a dead worker.
WUYI_SMS_LEASE_SECONDS = int(os.environ.get("WUYI_SMS_LEASE_SECONDS", "120"))
# The Celery queue SMS batches go to (empty: the default queue), for a worker of their own.
WUYI_SMS_QUEUE = os.environ.get("WUYI_SMS_QUEUE", "")
WUYI_SMS_DISPATCH_SECONDS = float(os.environ.get("WUYI_SMS_DISPATCH_SECONDS", "8"))
# A message due now queues the dispatcher when it is committed, rather than waiting for beat's
# next tick (WUYI_SMS_DISPATCH_EVERY); a dispatch that stops with more due queues itself again.
WUYI_SMS_DISPATCH_ON_SEND = env_bool("WUYI_SMS_DISPATCH_ON_SEND", True)

# --- Operations (issue 24; docs/operations.md says how each is used) ---------------------------
# PgBouncer in transaction mode between Django and PostgreSQL: a connection is lent per
# transaction, so no server-side cursor (it would outlive the transaction) and no persistent
# connection of our own (PgBouncer keeps them). Connection budget without it: web processes ×
# threads + worker concurrency + beat, each up to one connection, all under max_connections.
WUYI_PGBOUNCER = env_bool("WUYI_PGBOUNCER", False)
if WUYI_PGBOUNCER:
    DATABASES["default"]["DISABLE_SERVER_SIDE_CURSORS"] = True
    DATABASES["default"]["CONN_MAX_AGE"] = int(os.environ.get("DJANGO_CONN_MAX_AGE", "0"))
# A read replica (a hot standby) for the dashboards: their GETs read there, everything else on
# default (wuyi/replica.py). Unset: one database. In tests it mirrors default.
DATABASE_REPLICA_URL = os.environ.get("DATABASE_REPLICA_URL", "")
if DATABASE_REPLICA_URL:
    DATABASES["replica"] = dj_database_url.parse(
        DATABASE_REPLICA_URL,
        conn_max_age=DATABASES["default"]["CONN_MAX_AGE"],
        conn_health_checks=True,
    )
    DATABASES["replica"]["TEST"] = {"MIRROR": "default"}
    if WUYI_PGBOUNCER:
        DATABASES["replica"]["DISABLE_SERVER_SIDE_CURSORS"] = True
DATABASE_ROUTERS = ["wuyi.replica.ReplicaRouter"]
# Queues by kind, each with workers of its own, so a city-wide import never delays an urgent
# SMS: sms, imports, rosters (rosters and bookings), default. A worker started without -Q
# consumes all four (the embedded `make run`); deploy/ starts one worker per kind.
WUYI_QUEUES = ("sms", "imports", "rosters", "default")
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_QUEUES = {name: {"routing_key": name} for name in WUYI_QUEUES}
CELERY_TASK_ROUTES = {
    "messaging.*": {"queue": "sms"},
    "residents.deliver_link_code": {"queue": "sms"},
    "residents.import_check": {"queue": "imports"},
    "residents.import_commit": {"queue": "imports"},
    "sanitation.generate_rosters": {"queue": "rosters"},
    "sanitation.catch_up_rosters": {"queue": "rosters"},
    "medical.book_escorts": {"queue": "rosters"},
}
# Beat holds a lock in Redis while it runs: a second beat (a node started twice, a failover
# that overlapped) waits and fires nothing until the first is gone (wuyi/beat.py).
CELERY_BEAT_SCHEDULER = "wuyi.beat:LockedScheduler"
WUYI_BEAT_LOCK_SECONDS = int(os.environ.get("WUYI_BEAT_LOCK_SECONDS", "30"))
# Logs as JSON lines (one object a line: time, level, logger, message) for a log shipper.
WUYI_LOG_FORMAT = os.environ.get("WUYI_LOG_FORMAT", "plain")
if WUYI_LOG_FORMAT == "json":
    LOGGING["formatters"]["json"] = {"()": "wuyi.logfilters.JsonLines"}  # type: ignore[index]
    LOGGING["handlers"]["console"]["formatter"] = "json"  # type: ignore[index]
    LOGGING["handlers"]["server"]["formatter"] = "json"  # type: ignore[index]
# /metrics (Prometheus text format) answers only a request with "Authorization: Bearer <this>";
# empty: /metrics is off (404).
WUYI_METRICS_TOKEN = os.environ.get("WUYI_METRICS_TOKEN", "")
# The health check answers over plain http too: a load balancer or a container runtime asks it
# on the inside, without the proxy's X-Forwarded-Proto.
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
