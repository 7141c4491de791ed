"""Settings, all from the environment (django-environ).

Embedded default (nothing but Python installed): SQLite under var/, local-memory
cache, Celery tasks run in process. Production: DEBUG off, which makes SECRET_KEY
and ALLOWED_HOSTS mandatory and switches on the HTTPS/HSTS settings that
``manage.py check --deploy`` asks for.
"""

from datetime import timedelta
from pathlib import Path

import environ
from corsheaders.defaults import default_headers as default_cors_headers
from django.core.exceptions import ImproperlyConfigured

from config.api_docs import API_DESCRIPTION

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False) if (BASE_DIR / ".env").exists() else None

DEBUG = env.bool("DEBUG", default=False)

SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY is not set. Production (DEBUG off) refuses to start without one; "
            "set SECRET_KEY in the environment, or DEBUG=1 for local development."
        )
    SECRET_KEY = "django-insecure-local-development-key-only-never-used-in-production"

ALLOWED_HOSTS = env.list(
    "ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"] if DEBUG else []
)
if not DEBUG and not ALLOWED_HOSTS:
    raise ImproperlyConfigured("ALLOWED_HOSTS must be set when DEBUG is off.")
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "corsheaders",
    "rest_framework",
    "rest_framework_simplejwt.token_blacklist",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_celery_beat",
    "shop",
]
# The recommender is a plugin: listed only when enabled, and the shop works without it.
RECOMMENDER_ENABLED = env.bool("RECOMMENDER_ENABLED", default=True)
try:
    import recommender  # noqa: F401

    _recommender_importable = True
except ImportError:  # the plugin was removed from the deployment
    _recommender_importable = False
if RECOMMENDER_ENABLED and _recommender_importable:
    INSTALLED_APPS.append("recommender")

# The shop's personalization plug point (see shop/personalization.py). The default is
# the shop's own non-personalized implementation; the recommender plugs in here.
SHOP_PERSONALIZER = env.str(
    "SHOP_PERSONALIZER",
    default="recommender.personalizer.RecommenderPersonalizer"
    if "recommender" in INSTALLED_APPS
    else "shop.personalization.DefaultPersonalizer",
)

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # Before CommonMiddleware, so redirects and preflights carry the CORS headers.
    "corsheaders.middleware.CorsMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "config.urls"
# The shop's backend loads the shopper's profile with the user; sessions created by
# Django's own ModelBackend (before it was added) stay valid.
AUTHENTICATION_BACKENDS = [
    "shop.auth.ShopperBackend",
    "django.contrib.auth.backends.ModelBackend",
]
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

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

VAR_DIR.mkdir(exist_ok=True)
DATABASE_URL = env.str("DATABASE_URL", default="") or f"sqlite:///{VAR_DIR / 'db.sqlite3'}"
DATABASES = {"default": environ.Env.db_url_config(DATABASE_URL)}
DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=60))
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the storefront read while an import or training run writes. Transactions
    # begin IMMEDIATE (they take the write lock at BEGIN): two checkouts of the last
    # unit then queue for up to `timeout` seconds, and the second reads the first's
    # commit; a deferred one upgrading a stale snapshot fails at once ("database is
    # locked"), which once left both of them without an order.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            "timeout": 20,
            "transaction_mode": "IMMEDIATE",
        }
    )
    DATABASES["default"]["CONN_MAX_AGE"] = 0
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": REDIS_URL,
            # Lets several installs (or a benchmark run) share one Redis database.
            "KEY_PREFIX": env.str("CACHE_KEY_PREFIX", default=""),
            "OPTIONS": {
                "SOCKET_CONNECT_TIMEOUT": 0.5,
                "SOCKET_TIMEOUT": 0.5,
                # Redis down means a cache miss, never a 500.
                "IGNORE_EXCEPTIONS": True,
            },
        }
    }
    DJANGO_REDIS_LOG_IGNORED_EXCEPTIONS = True
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
# Seconds a search's lexical matches stay cached. Saves start a new generation at once
# (shop.receivers); the lifetime (plus SEARCH_LOCAL_CACHE_SECONDS) bounds what bulk
# updates, which send no signal, and per-process caches (no Redis: each process has its
# own) leave stale.
SEARCH_CACHE_SECONDS = env.int("SEARCH_CACHE_SECONDS", default=600 if REDIS_URL else 60)
# "Popular right now" lists only products this many distinct shoppers chose in the last
# two weeks (shop.popularity): one visitor, or one bot, cannot make a product trend.
SHOP_TRENDING_MIN_SHOPPERS = env.int("SHOP_TRENDING_MIN_SHOPPERS", default=3)
# Each process also keeps the matches it used last (shop.search.cache.LocalMatches): up to
# this many bytes of them, each for this many seconds (0 bytes: off).
SEARCH_LOCAL_CACHE_BYTES = env.int("SEARCH_LOCAL_CACHE_BYTES", default=32 * 2**20)
SEARCH_LOCAL_CACHE_SECONDS = env.int("SEARCH_LOCAL_CACHE_SECONDS", default=60)
# Sessions live in the database so a Redis outage never logs shoppers out; the cache in
# front saves a query per request, and its errors count as misses (shop.sessions).
SESSION_ENGINE = "shop.sessions"
# Web processes (config/wsgi.py) freeze their long-lived objects out of the garbage
# collector's full passes, after start-up and after each model load (config/heap.py).
GC_FREEZE = env.bool("GC_FREEZE", default=True)
# Web processes (config/wsgi.py) load the active model and warm the search up before their
# first shopper (config/warmup.py); 0 leaves that to the first request. Read only by the
# WSGI module, which commands, migrations and Celery workers never import.
WARMUP_ON_START = env.bool("WARMUP_ON_START", default=True)

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "shop:home"
LOGOUT_REDIRECT_URL = "shop:home"

LANGUAGE_CODE = "en-us"
TIME_ZONE = env.str("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
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

# --- Celery: Redis broker when configured, otherwise tasks run in process. ---
CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_RESULT_BACKEND = REDIS_URL or "cache+memory://"
CELERY_TASK_ALWAYS_EAGER = not REDIS_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_ROUTES = {"recommender.tasks.train": {"queue": "training"}}
# With a broker down, enqueueing fails fast (the caller falls back) instead of hanging.
CELERY_BROKER_TRANSPORT_OPTIONS = {"max_retries": 1, "interval_start": 0, "interval_step": 0.2}

REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_VERSIONING_CLASS": "rest_framework.versioning.NamespaceVersioning",
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    # DRF's JSON, rendered by orjson (shop/api/renderers.py).
    "DEFAULT_RENDERER_CLASSES": [
        "shop.api.renderers.JSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
    # The API reads JSON bodies only (anything else is a 415): a form body cannot turn a
    # missing boolean into False, as DRF's form parsing does.
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    # An Accept header no renderer satisfies gets JSON rather than a 406.
    "DEFAULT_CONTENT_NEGOTIATION_CLASS": "shop.api.renderers.JSONFallbackNegotiation",
    # One error shape for every 4xx/5xx: {"code", "message", "details"} (shop/api/errors.py).
    "EXCEPTION_HANDLER": "shop.api.errors.exception_handler",
    "PAGE_SIZE": 20,
    # Anonymous callers are throttled per client IP: REMOTE_ADDR when 0, else the address
    # that many proxies back in X-Forwarded-For (1 behind one reverse proxy). Clients
    # cannot dodge the throttle with a forged X-Forwarded-For.
    "NUM_PROXIES": env.int("NUM_PROXIES", default=0),
}
# Per signed-in user, else per client IP (shop/api/base.py, shop/api/auth.py); a 429
# carries Retry-After. Fixed windows counted in the cache; open when the cache is down.
API_THROTTLE_RATES = {
    "api_v1_read": env.str("API_RATE_READ", default="1200/min"),
    "api_v1_events": env.str("API_RATE_EVENTS", default="600/min"),
    "api_v1_auth": env.str("API_RATE_AUTH", default="10/min"),
}
# The app's tokens (djangorestframework-simplejwt): short-lived access tokens, refresh
# tokens rotated on use and blacklisted on rotation and sign-out; a password change
# revokes the access tokens issued before it.
SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(minutes=env.int("JWT_ACCESS_MINUTES", default=15)),
    "REFRESH_TOKEN_LIFETIME": timedelta(days=env.int("JWT_REFRESH_DAYS", default=30)),
    "ROTATE_REFRESH_TOKENS": True,
    "BLACKLIST_AFTER_ROTATION": True,
    "UPDATE_LAST_LOGIN": True,
    "CHECK_REVOKE_TOKEN": True,
    "SIGNING_KEY": SECRET_KEY,
    "AUTH_HEADER_TYPES": ("Bearer",),
}
# Browser origins of the app (e.g. a web build) allowed to call /api/ (django-cors-headers).
CORS_ALLOWED_ORIGINS = env.list("CORS_ALLOWED_ORIGINS", default=[])
CORS_URLS_REGEX = r"^/api/.*$"
CORS_ALLOW_HEADERS = (*default_cors_headers, "x-device-id", "if-none-match")
CORS_EXPOSE_HEADERS = ["ETag", "Retry-After", "Location"]
SPECTACULAR_SETTINGS = {
    "TITLE": "Shop API",
    "DESCRIPTION": API_DESCRIPTION,
    "VERSION": "1.0.0",
    # Swagger UI and ReDoc assets come from drf-spectacular-sidecar, served by the project.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # Operations grouped by the path's first segment after the version: auth, products,
    # search, me, staff, ...
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "shop.api.schema.add_common_errors",
    ],
    "SERVE_INCLUDE_SCHEMA": False,
}

# --- Production hardening: on whenever DEBUG is off (check --deploy stays clean). ---
if not DEBUG:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    # Off only for plain-HTTP local use (make demo): check --deploy warns when off.
    SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=True)
    CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=True)
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=60 * 60 * 24 * 365)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

# Where trained model artifacts live (one directory per model version).
MODEL_ROOT = Path(env.str("MODEL_ROOT", default=str(VAR_DIR / "models")))
