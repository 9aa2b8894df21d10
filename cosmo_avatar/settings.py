"""Settings, read from the environment (django-environ).

Defaults give the embedded set-up: SQLite file and Celery in eager mode. ``DATABASE_URL`` switches to PostgreSQL,
``CELERY_BROKER_URL`` to Redis with a real worker. With ``DJANGO_DEBUG=False`` the production hardening below is on
and ``manage.py check --deploy`` is clean.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False) if (BASE_DIR / ".env").exists() else None

DEBUG = env.bool("DJANGO_DEBUG", default=True)
# The development key is only ever accepted with DEBUG on; production must provide its own.
SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="") or (
    "dev-only-insecure-key-cosmo-avatar-do-not-use-in-production" if DEBUG else ""
)
if not SECRET_KEY:
    raise environ.ImproperlyConfigured("DJANGO_SECRET_KEY must be set when DJANGO_DEBUG is False.")
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "crispy_forms",
    "crispy_bootstrap5",
    "django_htmx",
    "simple_history",
    "axes",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "trials",
    "patients",
    "lesions",
    "outcomes",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "trials.security.SecurityHeadersMiddleware",  # Content-Security-Policy, Permissions-Policy, no-store
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Two-factor: django-otp marks the verified session; until then the pages answer a redirect to the code step.
    "django_otp.middleware.OTPMiddleware",
    "trials.two_factor.middleware.TwoFactorMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    # Axes last: it inspects the response of the login view.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "cosmo_avatar.urls"
WSGI_APPLICATION = "cosmo_avatar.wsgi.application"
ASGI_APPLICATION = "cosmo_avatar.asgi.application"

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
                "trials.context_processors.navigation",
                "trials.security.session_timeout",
            ],
        },
    },
]

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=0)
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Wait for a concurrent writer instead of failing at once (the dev server and a management command).
    DATABASES["default"].setdefault("OPTIONS", {})["timeout"] = 20

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "trials.User"

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# Sessions end after 30 idle minutes and with the browser (GCP: unattended sessions must not stay open).
SESSION_COOKIE_AGE = env.int("SESSION_COOKIE_AGE", default=30 * 60)
SESSION_SAVE_EVERY_REQUEST = True
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"

# django-axes: lock the username + address pair after 5 failures for 30 minutes.
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("AXES_COOLOFF_MINUTES", default=30))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_RESET_ON_SUCCESS = True
# Wrong two-factor codes count as failed sign-ins too; axes keeps the POST data of failures, never the codes.
AXES_SENSITIVE_PARAMETERS = ["username", "ip_address", "code"]

# Two-factor sign-in (TOTP, django-otp), required for these roles; anyone else may turn it on for themselves.
TWO_FACTOR_REQUIRED_ROLES = tuple(
    role
    for role in env.list(
        "TWO_FACTOR_REQUIRED_ROLES", default=["investigator", "data_manager", "statistician", "sponsor_admin"]
    )
    if role
)
OTP_TOTP_ISSUER = env.str("OTP_TOTP_ISSUER", default="COSMO AVATAR II EDC")
OTP_ADMIN_HIDE_SENSITIVE_DATA = True  # the admin never shows an authenticator's secret key

LANGUAGE_CODE = "en-gb"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
# Generated files (data cuts, issue 6). Never served by URL: no URL pattern serves MEDIA_URL, and every download goes
# through a permission-checked view that verifies the file's stored SHA-256 first.
MEDIA_ROOT = Path(env.str("DJANGO_MEDIA_ROOT", default=str(BASE_DIR / "media")))
MEDIA_URL = "/media/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}

# Reasons for change are free text of any length (the default column is 100 characters).
SIMPLE_HISTORY_HISTORY_CHANGE_REASON_USE_TEXT_FIELD = True

# REST API (/api/v1/): personal API tokens (hashed, expiring, optionally read-only) or the same session login as
# the screens; JSON only. The services decide what each role may do and answer 404 outside it
# (trials/permissions.py). Cursor pagination gives stable pages under concurrent inserts; every user is rate limited
# with 429 + Retry-After and X-RateLimit-* headers.
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "trials.api_auth.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": [
        "rest_framework.permissions.IsAuthenticated",
        "trials.api_auth.TokenScopePermission",
        "trials.two_factor.api.TwoFactorVerified",  # a browser session still owing its second factor gets 403
    ],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    # DRF's three default parsers; the JSON one refuses a too deeply nested body with 400 (it was a 500).
    "DEFAULT_PARSER_CLASSES": [
        "trials.api_common.JSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_PAGINATION_CLASS": "trials.api_common.StableCursorPagination",
    "PAGE_SIZE": env.int("API_PAGE_SIZE", default=100),
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_THROTTLE_CLASSES": ["trials.api_auth.UserRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {"user": env.str("API_RATE_LIMIT", default="600/minute")},
    "EXCEPTION_HANDLER": "trials.api_auth.exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "COSMO / AVATAR II EDC API",
    "DESCRIPTION": "Case report forms, derived endpoints and analysis-ready datasets of COSMO and AVATAR II.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated", "trials.two_factor.api.TwoFactorVerified"],
    # Swagger UI and ReDoc from the sidecar package: no CDN (hospital networks block them).
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    # No "valid" badge fetched from validator.swagger.io (it would send the schema URL to a third party).
    "SWAGGER_UI_SETTINGS": {"deepLinking": True, "validatorUrl": None},
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # One schema name per choice set the CRF resources share (patients/api/crfs.py), instead of one per field.
    "ENUM_NAME_OVERRIDES": {
        "YesNoEnum": "patients.crfs.enrolment.YES_NO",
        "FactBItemResponseEnum": "patients.crfs.follow_up.RESPONSE_CHOICES",
        "AttributionLevelEnum": "patients.crfs.safety.AttributionLevel",
        "OverallResponseEnum": "lesions.models.RESPONSE_CHOICES",
        "TargetStatusEnum": "lesions.models.TARGET_STATUS_CHOICES",
        "NonTargetStatusEnum": "lesions.models.NON_TARGET_STATUS_CHOICES",
        "NewLesionStatusEnum": "lesions.models.NEW_LESION_STATUS_CHOICES",
        "TreatmentModalityEnum": "lesions.models.Modality",
        "ImagingModalityEnum": "lesions.models.ImagingModality",
        "CrfStatusEnum": "patients.crf.CrfStatus",
        "PatientStatusEnum": "patients.models.PatientStatus",
        "VisitStatusEnum": "patients.models.VisitStatus",
        "QueryStatusEnum": "patients.models.QueryStatus",
        "AllocationMethodEnum": "patients.randomisation.AllocationMethod",
        "ContactMethodEnum": "patients.crfs.follow_up.ContactMethod",
    },
}

CRISPY_ALLOWED_TEMPLATE_PACKS = "bootstrap5"
CRISPY_TEMPLATE_PACK = "bootstrap5"

# The cache deduplicates recompute requests across transactions: Redis in production (CACHE_URL=redis://...).
CACHES = {"default": env.cache_url("CACHE_URL", default="locmemcache://")}

# Celery: without a broker every task runs eagerly in-process (the embedded default).
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="")
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True  # a worker killed mid-task leaves the message for the next one
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "UTC"
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# A save must never fail because the broker is down: publishing gives up quickly and the nightly sweep repairs.
# A task a killed worker held (acks_late) goes back to the queue once it is older than the visibility timeout, when
# a worker starts or scans (every ~100 s); Redis's default, an hour, left a crashed recompute stale that long. It
# must stay above the longest task (a data cut or a 10,000-patient sweep: a few minutes) and countdown (seconds),
# or a task still running is delivered a second time.
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "max_retries": 1,
    "interval_start": 0,
    "interval_step": 0.2,
    "visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=15 * 60),
}
# Trial summaries wait this long after a patient recompute, so a burst of saves refreshes them once.
SUMMARY_DEBOUNCE_SECONDS = env.int("SUMMARY_DEBOUNCE_SECONDS", default=3)

SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
if not DEBUG:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=True)
    SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
