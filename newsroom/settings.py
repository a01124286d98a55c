"""Newsroom settings, read from the environment.

One module for every environment: what differs between a laptop and production is
set by environment variables (documented in docs/deploy.md), never by editing code.
"""

import json
import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [part.strip() for part in os.environ.get(name, default).split(",") if part.strip()]


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    if not value:
        return default
    try:
        return int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number, not {value!r}.") from None


def env_seconds(name: str, default: float) -> float:
    value = os.environ.get(name, "").strip()
    if not value:
        return default
    try:
        seconds = float(value)
    except ValueError:
        seconds = -1.0
    if not 0 <= seconds < float("inf"):
        raise ImproperlyConfigured(f"{name} must be a number of seconds, not {value!r}.")
    return seconds


DEBUG = env_bool("DJANGO_DEBUG")

SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "DJANGO_SECRET_KEY is not set. Set it to a long random string in production, "
            "or set DJANGO_DEBUG=1 for local development."
        )
    # Only ever used with DEBUG on: a throwaway key, never a committed production secret.
    SECRET_KEY = "insecure-local-development-key-" + str(BASE_DIR)

ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.sitemaps",
    "django.contrib.humanize",
    "taggit",
    "axes",
    "django_tasks",
    "django_tasks_db",
    "articles",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "newsroom.middleware.ContentSecurityPolicyMiddleware",
    # Early, so that no view, filter or session lookup sees a NUL (PostgreSQL refuses them).
    "newsroom.middleware.RefuseNulMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, so that it sees the authenticated user and the final response.
    "axes.middleware.AxesMiddleware",
]

# Compression (newsroom/compression.py): outermost, so that it sees every response's
# final body. It compresses public responses only, never one with a CSRF token or a
# cookie (BREACH), and takes Content-Length off 304s.
MIDDLEWARE.insert(0, "newsroom.compression.CompressionMiddleware")

AUTHENTICATION_BACKENDS = [
    # AxesStandaloneBackend must be first: it refuses locked-out logins before checking passwords.
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]

# The only login is the admin's (newsroom/urls.py). After it, a missing or foreign
# ?next= (https://evil.example/) falls back to the admin index, not to Django's
# default /accounts/profile/, which does not exist here.
LOGIN_URL = "admin:login"
LOGIN_REDIRECT_URL = "admin:index"

ROOT_URLCONF = "newsroom.urls"

TEMPLATES = [
    # The public pages are Jinja2 (articles/templating.py says why); looked up first,
    # so "articles/home.html" is templates/jinja2/articles/home.html. The admin and
    # everything else stay with Django's templates.
    {
        "BACKEND": "django.template.backends.jinja2.Jinja2",
        "DIRS": [BASE_DIR / "templates" / "jinja2"],
        "APP_DIRS": False,
        "OPTIONS": {
            "environment": "articles.site.templating.environment",
            "autoescape": True,
        },
    },
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

WSGI_APPLICATION = "newsroom.wsgi.application"


def database(url: str) -> dict:
    config = dj_database_url.parse(
        url,
        # Persistent connections with health checks; harmless on SQLite.
        conn_max_age=env_int("DB_CONN_MAX_AGE", 60),
        conn_health_checks=True,
    )
    if config["ENGINE"] == "django.db.backends.postgresql":
        options = config.setdefault("OPTIONS", {})
        # Fail fast when the server is away, so /healthz answers 503 instead of hanging.
        options.setdefault("connect_timeout", env_int("DB_CONNECT_TIMEOUT", 5))
        if env_bool("DB_PREPARED_STATEMENTS", True):
            # psycopg prepares a statement the fifth time a connection runs it, so the
            # server stops planning the public pages' few fixed queries on every
            # request (about a quarter of an uncached page's time here). Needs
            # server-side parameter binding. Turn off behind a transaction-pooling
            # PgBouncer older than 1.21, which cannot keep prepared statements.
            options.setdefault("server_side_binding", True)
            options.setdefault("prepare_threshold", 5)
            # The same backend, with bulk operations cut to PostgreSQL's limit of
            # 65,535 parameters a statement, which server-side binding brings.
            config["ENGINE"] = "newsroom.postgresql"
    return config


DATABASES = {
    "default": database(os.environ.get("DATABASE_URL") or f"sqlite:///{BASE_DIR / 'db.sqlite3'}")
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets readers carry on while an import writes; a busy timeout instead of
    # "database is locked" when two writers meet.
    DATABASES["default"].setdefault("OPTIONS", {})
    DATABASES["default"]["OPTIONS"].update(
        {
            # A 64 MB page cache (the default is 2 MB) keeps the indexes of a large
            # import in memory; temp tables stay in memory too.
            "init_command": (
                "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; "
                "PRAGMA cache_size=-65536; PRAGMA temp_store=MEMORY;"
            ),
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
        }
    )
    # Connections stay open between requests (DB_CONN_MAX_AGE) on SQLite too: reopening
    # the file and re-running the PRAGMAs above cost ~1.5 ms of an uncached page.

# An optional read replica: anonymous readers' queries go there (newsroom/db_routers.py).
DATABASE_REPLICA_URL = os.environ.get("DATABASE_REPLICA_URL", "")
if DATABASE_REPLICA_URL:
    DATABASES["replica"] = database(DATABASE_REPLICA_URL)
    # Tests have no real replica: the test runner points the alias at the test database.
    DATABASES["replica"]["TEST"] = {"MIRROR": "default"}
    DATABASE_ROUTERS = ["newsroom.db_routers.PrimaryReplicaRouter"]
    MIDDLEWARE.insert(
        MIDDLEWARE.index("whitenoise.middleware.WhiteNoiseMiddleware") + 1,
        "newsroom.db_routers.ReplicaReadsMiddleware",
    )

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

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

STATIC_URL = "/static/"
STATIC_ROOT = Path(os.environ.get("DJANGO_STATIC_ROOT", BASE_DIR / "staticfiles"))
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(os.environ.get("DJANGO_MEDIA_ROOT", BASE_DIR / "media"))
# Django itself serves MEDIA_ROOT at MEDIA_URL with DEBUG on, and with this set (`make
# serve`, a production-like trial on one machine). In production the web server or the
# object storage serves it (docs/deploy.md "Media"): Django's file view is slow.
NEWSROOM_SERVE_MEDIA = env_bool("NEWSROOM_SERVE_MEDIA", DEBUG)
# The media storage (editors' uploads, the image cache's files): local files under
# MEDIA_ROOT, or any Django storage, e.g. S3-compatible (docs/deploy.md "Images").
NEWSROOM_MEDIA_STORAGE = os.environ.get(
    "NEWSROOM_MEDIA_STORAGE", "django.core.files.storage.FileSystemStorage"
)
NEWSROOM_MEDIA_STORAGE_OPTIONS = json.loads(
    os.environ.get("NEWSROOM_MEDIA_STORAGE_OPTIONS") or "{}"
)
STORAGES = {
    "default": {"BACKEND": NEWSROOM_MEDIA_STORAGE, "OPTIONS": NEWSROOM_MEDIA_STORAGE_OPTIONS},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

# HTTPS and security headers. On by default; DEBUG (local development over plain
# HTTP) turns them off, and each can be switched off on its own (docs/deploy.md).
SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", not DEBUG)
# Load balancers probe the health check over plain HTTP.
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SECURE_HSTS_SECONDS = env_int("DJANGO_SECURE_HSTS_SECONDS", 0 if DEBUG else 60 * 60 * 24 * 365)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
SECURE_HSTS_PRELOAD = env_bool("DJANGO_SECURE_HSTS_PRELOAD", True)
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = env_bool("DJANGO_SECURE_COOKIES", not DEBUG)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "strict-origin-when-cross-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# Full origins (https://news.example.com) that may POST forms, e.g. behind a proxy
# that changes the host name.
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS")
# Behind a TLS-terminating proxy or load balancer that sets X-Forwarded-Proto (and
# X-Forwarded-For, which the admin lock-out uses to tell clients apart). Only set it
# when the proxy overwrites these headers: clients could forge them otherwise.
BEHIND_PROXY = env_bool("DJANGO_BEHIND_PROXY")
# How many proxies append to X-Forwarded-For (load balancer only: 1; CDN + LB: 2).
PROXY_COUNT = env_int("DJANGO_PROXY_COUNT", 1)
if BEHIND_PROXY:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# Cache: local memory unless a shared Redis is configured.
CACHE_URL = os.environ.get("CACHE_URL") or os.environ.get("REDIS_URL", "")
if CACHE_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": CACHE_URL,
            "KEY_PREFIX": "newsroom",
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
# The public page cache (articles/caching.py): NEWSROOM_PAGE_CACHE=0 turns it off; how
# long a rendered page is kept (a change readers would see forgets it sooner), and the
# Cache-Control max-age browsers and proxies are told.
NEWSROOM_PAGE_CACHE = env_bool("NEWSROOM_PAGE_CACHE", True)
NEWSROOM_PAGE_CACHE_SECONDS = env_int("NEWSROOM_PAGE_CACHE_SECONDS", 300)
NEWSROOM_PAGE_MAX_AGE = env_int("NEWSROOM_PAGE_MAX_AGE", 60)

# Newsroom's own settings.
# Files larger than this are refused by the importer before they are parsed.
NEWSROOM_IMPORT_MAX_BYTES = env_int("NEWSROOM_IMPORT_MAX_BYTES", 1024 * 1024)
# What one imported file may hold (articles.ingest.itemfile.Limits; README "Bad input"). A file
# beyond a limit fails with one line naming the setting.
NEWSROOM_IMPORT_MAX_BODY_BYTES = env_int("NEWSROOM_IMPORT_MAX_BODY_BYTES", 256 * 1024)
NEWSROOM_IMPORT_MAX_TOPICS = env_int("NEWSROOM_IMPORT_MAX_TOPICS", 50)
NEWSROOM_IMPORT_MAX_IMAGES = env_int("NEWSROOM_IMPORT_MAX_IMAGES", 50)
NEWSROOM_IMPORT_MAX_COVERAGE = env_int("NEWSROOM_IMPORT_MAX_COVERAGE", 200)
# Seconds one Markdown body may take to render (articles/rendering.py); 0 turns it off.
NEWSROOM_RENDER_TIME_LIMIT = env_seconds("NEWSROOM_RENDER_TIME_LIMIT", 2.0)
# Relative URLs in imported files (e.g. "/assets/images/...") are resolved against
# the site the files come from.
NEWSROOM_SOURCE_BASE_URL = os.environ.get(
    "NEWSROOM_SOURCE_BASE_URL", "https://smartableai.github.io/artificial-intelligence/"
)
# An import run still "running" that saved nothing for this long is marked failed
# (ImportRun.objects.mark_abandoned): its process was killed or its machine is gone.
NEWSROOM_IMPORT_STALE_MINUTES = env_int("NEWSROOM_IMPORT_STALE_MINUTES", 30)
# Watched folders (README "Importing and exporting"): the worker's sweep imports these
# paths (separated by ":") every NEWSROOM_WATCH_MINUTES; unchanged files cost a hash.
NEWSROOM_WATCHED_FOLDERS = [
    p for p in os.environ.get("NEWSROOM_WATCHED_FOLDERS", "").split(os.pathsep) if p
]
NEWSROOM_WATCH_MINUTES = env_int("NEWSROOM_WATCH_MINUTES", 15)
# Uploads from the admin (README "Importing from the admin"; articles/ingest/archive.py):
# at most this many files, this many bytes in all (a zip's content, unpacked), and a zip
# whose content is more than this many times its own size (a zip bomb) is refused. Each
# file also meets NEWSROOM_IMPORT_MAX_BYTES, as on the command line.
NEWSROOM_UPLOAD_MAX_FILES = env_int("NEWSROOM_UPLOAD_MAX_FILES", 5000)
NEWSROOM_UPLOAD_MAX_BYTES = env_int("NEWSROOM_UPLOAD_MAX_BYTES", 100 * 1024 * 1024)
NEWSROOM_UPLOAD_MAX_ZIP_RATIO = env_int("NEWSROOM_UPLOAD_MAX_ZIP_RATIO", 50)

# The task queue (README "Task queue", docs/deploy.md "Workers"): Django's tasks API on
# the database backend, run by `manage.py worker` processes.
TASKS = {
    "default": {
        "BACKEND": "django_tasks_db.DatabaseBackend",
        "QUEUES": ["default"],
    }
}
# How often (seconds) a worker's clock thread wakes up to see whether a new minute has
# begun (and so a sweep is due) and whether its heartbeat is due.
NEWSROOM_WORKER_TICK_SECONDS = env_seconds("NEWSROOM_WORKER_TICK_SECONDS", 1.0)
# How often a worker records that it is alive, and after how long without a heartbeat
# it counts as lost: the sweep then marks the task it was running failed.
NEWSROOM_WORKER_HEARTBEAT_SECONDS = env_seconds("NEWSROOM_WORKER_HEARTBEAT_SECONDS", 10.0)
NEWSROOM_WORKER_LOST_SECONDS = env_seconds("NEWSROOM_WORKER_LOST_SECONDS", 60.0)
if NEWSROOM_WORKER_LOST_SECONDS < 3 * NEWSROOM_WORKER_HEARTBEAT_SECONDS:
    raise ImproperlyConfigured(
        "NEWSROOM_WORKER_LOST_SECONDS must be at least three heartbeats "
        "(3 x NEWSROOM_WORKER_HEARTBEAT_SECONDS), or a busy worker would be taken for lost."
    )
# Finished task results (and the sweep's own records) older than this are deleted by
# the sweep.
NEWSROOM_TASK_RESULTS_KEEP_DAYS = env_int("NEWSROOM_TASK_RESULTS_KEEP_DAYS", 7)

# The image cache (README "Images", docs/deploy.md "Images"): lead images, outlet logos
# and coverage thumbnails are fetched in the background and served as our renditions.
NEWSROOM_IMAGE_MAX_BYTES = env_int("NEWSROOM_IMAGE_MAX_BYTES", 10 * 1024 * 1024)
NEWSROOM_IMAGE_MAX_PIXELS = env_int("NEWSROOM_IMAGE_MAX_PIXELS", 40_000_000)
NEWSROOM_IMAGE_CONNECT_TIMEOUT = env_seconds("NEWSROOM_IMAGE_CONNECT_TIMEOUT", 5.0)
NEWSROOM_IMAGE_READ_TIMEOUT = env_seconds("NEWSROOM_IMAGE_READ_TIMEOUT", 10.0)
# However the server drips its bytes, one fetch (all its redirects) ends after this.
NEWSROOM_IMAGE_TOTAL_TIMEOUT = env_seconds("NEWSROOM_IMAGE_TOTAL_TIMEOUT", 30.0)
NEWSROOM_IMAGE_MAX_REDIRECTS = env_int("NEWSROOM_IMAGE_MAX_REDIRECTS", 3)
# Fetches from one host at the same time, across every worker.
NEWSROOM_IMAGE_HOST_CONCURRENCY = env_int("NEWSROOM_IMAGE_HOST_CONCURRENCY", 2)
# A failure worth retrying (timeout, 5xx, 429, connection refused) is retried after
# NEWSROOM_IMAGE_RETRY_MINUTES, then twice as long each time, NEWSROOM_IMAGE_MAX_ATTEMPTS
# fetches in all; then it stays failed until an editor retries it.
NEWSROOM_IMAGE_RETRY_MINUTES = env_int("NEWSROOM_IMAGE_RETRY_MINUTES", 5)
NEWSROOM_IMAGE_MAX_ATTEMPTS = env_int("NEWSROOM_IMAGE_MAX_ATTEMPTS", 6)
# Images the once-a-minute sweep puts on the queue at most.
NEWSROOM_IMAGE_SWEEP_BATCH = env_int("NEWSROOM_IMAGE_SWEEP_BATCH", 200)
NEWSROOM_IMAGE_USER_AGENT = os.environ.get(
    "NEWSROOM_IMAGE_USER_AGENT",
    "NewsroomImageCache/1.0 (fetches each image of a story it links to once, then serves its"
    " own copy)",
)
# Private, loopback and link-local addresses are refused (after DNS resolution, on
# every redirect). Only tests, whose servers run on 127.0.0.1, turn this on.
NEWSROOM_IMAGE_ALLOW_PRIVATE_ADDRESSES = env_bool("NEWSROOM_IMAGE_ALLOW_PRIVATE_ADDRESSES")
# URL prefixes answered from a local folder instead of the network, as
# "prefix=folder,prefix=folder": `make run` maps the demo content's made-up image host
# to fixtures/images/, so the demo site has pictures and nothing leaves the machine.
NEWSROOM_IMAGE_SOURCES = {
    prefix.strip(): Path(folder.strip()).resolve()
    for prefix, _, folder in (
        entry.partition("=") for entry in env_list("NEWSROOM_IMAGE_SOURCES") if "=" in entry
    )
}

# django-axes: after repeated failed admin logins, lock the account/address pair, and
# the address whatever usernames it tried (one address guessing many accounts).
AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = 1  # hours
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"], "ip_address"]
AXES_RESET_ON_SUCCESS = True
# Axes' database handler, except that a successful login forgives only that account's
# failures from that address, not everything the address tried (newsroom/lockout.py).
AXES_HANDLER = "newsroom.lockout.LockoutHandler"
if BEHIND_PROXY:
    # Without this every client would share the proxy's address.
    AXES_CLIENT_IP_CALLABLE = "newsroom.proxy.client_ip"

# Logs go to stdout, one JSON object per line in production (newsroom/logformat.py),
# readable text with DEBUG on; DJANGO_LOG_FORMAT picks either.
LOG_FORMAT = os.environ.get("DJANGO_LOG_FORMAT", "plain" if DEBUG else "json")
if LOG_FORMAT not in {"json", "plain"}:
    raise ImproperlyConfigured(f"DJANGO_LOG_FORMAT must be json or plain, not {LOG_FORMAT!r}.")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "json": {"()": "newsroom.logformat.JsonFormatter"},
    },
    "handlers": {
        "stdout": {
            "class": "logging.StreamHandler",
            "stream": "ext://sys.stdout",
            "formatter": LOG_FORMAT,
        }
    },
    "root": {"handlers": ["stdout"], "level": os.environ.get("DJANGO_LOG_LEVEL", "INFO")},
    "loggers": {
        # Django's default config also prints these to stderr; once is enough.
        "django": {"handlers": ["stdout"], "level": "INFO", "propagate": False},
        "axes": {"level": "WARNING"},
    },
}
