"""newsroom/settings.py: what each environment variable does, and safe defaults.

`load_settings(**env)` runs the settings module afresh under a given environment
(nothing else from the test process's environment leaks in), so each test sees
exactly what a server started with that environment would.
"""

import importlib.util
import itertools
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

ROOT = Path(__file__).resolve().parent.parent
SETTINGS_FILE = ROOT / "newsroom" / "settings.py"
PREFIXES = ("DJANGO_", "DATABASE_", "DB_", "CACHE_URL", "REDIS_URL", "AXES_", "NEWSROOM_")
PRODUCTION = {"DJANGO_SECRET_KEY": "k" * 20 + secrets.token_urlsafe(40)}
_counter = itertools.count()


@pytest.fixture
def load_settings(monkeypatch):
    for name in list(os.environ):
        if name.startswith(PREFIXES):
            monkeypatch.delenv(name)

    def load(**env):
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        spec = importlib.util.spec_from_file_location(
            f"settings_under_test_{next(_counter)}", SETTINGS_FILE
        )
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module

    return load


# -- the secret key and DEBUG ------------------------------------------------------------


def test_debug_is_off_unless_asked_for(load_settings):
    assert load_settings(**PRODUCTION).DEBUG is False
    assert load_settings(**PRODUCTION, DJANGO_DEBUG="0").DEBUG is False
    assert load_settings(**PRODUCTION, DJANGO_DEBUG="1").DEBUG is True


def test_a_missing_secret_key_stops_start_up_when_debug_is_off(load_settings):
    with pytest.raises(ImproperlyConfigured, match="DJANGO_SECRET_KEY is not set"):
        load_settings()


def test_debug_runs_without_a_secret_key_and_without_https_rules(load_settings):
    local = load_settings(DJANGO_DEBUG="1")

    assert local.SECRET_KEY.startswith("insecure-local-development-key-")
    assert local.SECURE_SSL_REDIRECT is False
    assert local.SECURE_HSTS_SECONDS == 0
    assert local.SESSION_COOKIE_SECURE is False
    assert local.LOG_FORMAT == "plain"


def test_manage_py_explains_the_missing_key_and_exits_non_zero():
    env = {k: v for k, v in os.environ.items() if not k.startswith(PREFIXES)}
    env["DJANGO_SETTINGS_MODULE"] = "newsroom.settings"
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY is not set" in result.stderr


# -- HTTPS and security headers -------------------------------------------------------------


def test_production_defaults_are_strict(load_settings):
    prod = load_settings(**PRODUCTION)

    assert prod.SECURE_SSL_REDIRECT is True
    assert prod.SECURE_REDIRECT_EXEMPT == [r"^healthz$"]
    assert prod.SECURE_HSTS_SECONDS == 365 * 24 * 60 * 60
    assert prod.SECURE_HSTS_INCLUDE_SUBDOMAINS is True
    assert prod.SECURE_HSTS_PRELOAD is True
    assert prod.SESSION_COOKIE_SECURE is True
    assert prod.CSRF_COOKIE_SECURE is True
    assert prod.SECURE_CONTENT_TYPE_NOSNIFF is True
    assert prod.SECURE_REFERRER_POLICY == "strict-origin-when-cross-origin"
    assert prod.X_FRAME_OPTIONS == "DENY"
    assert prod.CSRF_TRUSTED_ORIGINS == []
    assert not hasattr(prod, "SECURE_PROXY_SSL_HEADER")  # never trust the header by default
    assert "newsroom.middleware.ContentSecurityPolicyMiddleware" in prod.MIDDLEWARE
    assert prod.STORAGES["staticfiles"]["BACKEND"] == (
        "whitenoise.storage.CompressedManifestStaticFilesStorage"
    )
    assert prod.LOG_FORMAT == "json"


def test_https_rules_have_switches(load_settings):
    plain_http = load_settings(
        **PRODUCTION,
        DJANGO_SECURE_SSL_REDIRECT="0",
        DJANGO_SECURE_COOKIES="0",
        DJANGO_SECURE_HSTS_SECONDS="600",
        DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS="0",
        DJANGO_SECURE_HSTS_PRELOAD="false",
    )

    assert plain_http.SECURE_SSL_REDIRECT is False
    assert plain_http.SESSION_COOKIE_SECURE is False
    assert plain_http.CSRF_COOKIE_SECURE is False
    assert plain_http.SECURE_HSTS_SECONDS == 600
    assert plain_http.SECURE_HSTS_INCLUDE_SUBDOMAINS is False
    assert plain_http.SECURE_HSTS_PRELOAD is False


def test_behind_a_proxy_the_forwarded_scheme_and_client_address_are_trusted(load_settings):
    proxied = load_settings(**PRODUCTION, DJANGO_BEHIND_PROXY="1", DJANGO_PROXY_COUNT="2")

    assert proxied.SECURE_PROXY_SSL_HEADER == ("HTTP_X_FORWARDED_PROTO", "https")
    assert proxied.AXES_CLIENT_IP_CALLABLE == "newsroom.proxy.client_ip"
    assert proxied.PROXY_COUNT == 2


def test_csrf_trusted_origins_and_allowed_hosts_from_the_environment(load_settings):
    configured = load_settings(
        **PRODUCTION,
        DJANGO_ALLOWED_HOSTS="news.example.com, www.news.example.com",
        DJANGO_CSRF_TRUSTED_ORIGINS="https://news.example.com,https://admin.news.example.com",
    )

    assert configured.ALLOWED_HOSTS == ["news.example.com", "www.news.example.com"]
    assert configured.CSRF_TRUSTED_ORIGINS == [
        "https://news.example.com",
        "https://admin.news.example.com",
    ]


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("DJANGO_SECURE_HSTS_SECONDS", "a year"),
        ("DB_CONN_MAX_AGE", "1.5"),
        ("DJANGO_PROXY_COUNT", "two"),
        ("DJANGO_LOG_FORMAT", "xml"),
        ("NEWSROOM_PAGE_CACHE_SECONDS", "5 minutes"),
        ("NEWSROOM_PAGE_MAX_AGE", "60s"),
    ],
)
def test_bad_values_stop_start_up_with_the_variable_named(load_settings, name, value):
    with pytest.raises(ImproperlyConfigured, match=name):
        load_settings(**PRODUCTION, **{name: value})


def test_page_cache_settings(load_settings):
    default = load_settings(**PRODUCTION)
    assert (
        default.NEWSROOM_PAGE_CACHE,
        default.NEWSROOM_PAGE_CACHE_SECONDS,
        default.NEWSROOM_PAGE_MAX_AGE,
    ) == (True, 300, 60)
    tuned = load_settings(
        **PRODUCTION,
        NEWSROOM_PAGE_CACHE="0",
        NEWSROOM_PAGE_CACHE_SECONDS="30",
        NEWSROOM_PAGE_MAX_AGE=" 5 ",
    )
    assert (
        tuned.NEWSROOM_PAGE_CACHE,
        tuned.NEWSROOM_PAGE_CACHE_SECONDS,
        tuned.NEWSROOM_PAGE_MAX_AGE,
    ) == (False, 30, 5)


def test_check_deploy_passes_with_no_warnings():
    """The exact command from the issue: `check --deploy --fail-level WARNING`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(PREFIXES)}
    env.update(
        DJANGO_SETTINGS_MODULE="newsroom.settings",
        DJANGO_SECRET_KEY=secrets.token_urlsafe(50),
        DJANGO_ALLOWED_HOSTS="example.com",
        # Production shares the page cache in Redis (docs/deploy.md); without it the
        # deploy check warns (articles.W001, tested in test_web_hardening.py).
        REDIS_URL="redis://cache.internal:6379/0",
    )
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode == 0, result.stderr + result.stdout
    assert "no issues" in result.stdout


# -- database --------------------------------------------------------------------------------


def test_sqlite_by_default_with_wal_and_a_busy_timeout(load_settings):
    db = load_settings(**PRODUCTION).DATABASES["default"]

    assert db["ENGINE"] == "django.db.backends.sqlite3"
    assert db["NAME"] == str(ROOT / "db.sqlite3")
    assert "journal_mode=WAL" in db["OPTIONS"]["init_command"]
    assert db["OPTIONS"]["timeout"] == 20
    assert db["CONN_MAX_AGE"] == 60  # persistent, like PostgreSQL (DB_CONN_MAX_AGE)


def test_postgres_url_gives_persistent_health_checked_connections(load_settings):
    db = load_settings(
        **PRODUCTION, DATABASE_URL="postgres://news:s3cret@db.internal:5433/newsroom"
    ).DATABASES["default"]

    assert db["ENGINE"] == "newsroom.postgresql"  # Django's, see newsroom/postgresql/base.py
    assert (db["NAME"], db["USER"], db["PASSWORD"], db["HOST"], db["PORT"]) == (
        "newsroom",
        "news",
        "s3cret",
        "db.internal",
        5433,
    )
    assert db["CONN_MAX_AGE"] == 60
    assert db["CONN_HEALTH_CHECKS"] is True
    assert db["OPTIONS"]["connect_timeout"] == 5


def test_connection_lifetime_and_timeout_are_tunable(load_settings):
    db = load_settings(
        **PRODUCTION,
        DATABASE_URL="postgres://news@db/newsroom",
        DB_CONN_MAX_AGE="0",
        DB_CONNECT_TIMEOUT="2",
    ).DATABASES["default"]

    assert db["CONN_MAX_AGE"] == 0
    assert db["OPTIONS"]["connect_timeout"] == 2


def test_postgres_prepares_repeated_statements_unless_told_not_to(load_settings):
    url = "postgres://news@db/newsroom"
    options = load_settings(**PRODUCTION, DATABASE_URL=url).DATABASES["default"]["OPTIONS"]
    assert options["server_side_binding"] is True
    assert options["prepare_threshold"] == 5
    # Django's backend, with bulk operations cut to the protocol's parameter limit.
    assert load_settings(**PRODUCTION, DATABASE_URL=url).DATABASES["default"]["ENGINE"] == (
        "newsroom.postgresql"
    )

    off = load_settings(**PRODUCTION, DATABASE_URL=url, DB_PREPARED_STATEMENTS="0")
    options = off.DATABASES["default"]["OPTIONS"]
    assert "server_side_binding" not in options and "prepare_threshold" not in options
    assert off.DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"


def test_a_replica_url_adds_the_replica_its_router_and_middleware(load_settings):
    without = load_settings(**PRODUCTION, DATABASE_URL="postgres://news@primary/newsroom")
    assert set(without.DATABASES) == {"default"}
    assert not hasattr(without, "DATABASE_ROUTERS")
    assert "newsroom.db_routers.ReplicaReadsMiddleware" not in without.MIDDLEWARE

    with_replica = load_settings(
        **PRODUCTION,
        DATABASE_URL="postgres://news@primary/newsroom",
        DATABASE_REPLICA_URL="postgres://reader@replica/newsroom",
    )
    replica = with_replica.DATABASES["replica"]
    assert (replica["HOST"], replica["USER"]) == ("replica", "reader")
    assert replica["CONN_HEALTH_CHECKS"] is True
    assert replica["TEST"] == {"MIRROR": "default"}
    assert with_replica.DATABASE_ROUTERS == ["newsroom.db_routers.PrimaryReplicaRouter"]
    # After the static files (no database there), before sessions and views.
    middleware = with_replica.MIDDLEWARE
    position = middleware.index("newsroom.db_routers.ReplicaReadsMiddleware")
    assert middleware[position - 1] == "whitenoise.middleware.WhiteNoiseMiddleware"


# -- cache, files, logging -------------------------------------------------------------------


def test_local_memory_cache_by_default(load_settings):
    cache = load_settings(**PRODUCTION).CACHES["default"]

    assert cache["BACKEND"] == "django.core.cache.backends.locmem.LocMemCache"


@pytest.mark.parametrize("name", ["CACHE_URL", "REDIS_URL"])
def test_redis_cache_from_the_environment(load_settings, name):
    cache = load_settings(**PRODUCTION, **{name: "redis://cache.internal:6379/2"}).CACHES["default"]

    assert cache["BACKEND"] == "django.core.cache.backends.redis.RedisCache"
    assert cache["LOCATION"] == "redis://cache.internal:6379/2"


def test_cache_url_wins_over_redis_url(load_settings):
    cache = load_settings(
        **PRODUCTION, CACHE_URL="redis://a:6379/0", REDIS_URL="redis://b:6379/0"
    ).CACHES["default"]

    assert cache["LOCATION"] == "redis://a:6379/0"


def test_file_locations_from_the_environment(load_settings, tmp_path):
    paths = load_settings(
        **PRODUCTION,
        DJANGO_STATIC_ROOT=str(tmp_path / "static"),
        DJANGO_MEDIA_ROOT=str(tmp_path / "media"),
    )

    static_root, media_root = paths.STATIC_ROOT, paths.MEDIA_ROOT
    assert static_root == tmp_path / "static"
    assert media_root == tmp_path / "media"


def test_logs_go_to_stdout(load_settings):
    logging_config = load_settings(**PRODUCTION, DJANGO_LOG_LEVEL="WARNING").LOGGING

    handler = logging_config["handlers"]["stdout"]
    assert handler["stream"] == "ext://sys.stdout"
    assert handler["formatter"] == "json"
    assert logging_config["root"] == {"handlers": ["stdout"], "level": "WARNING"}


# -- admin lock-out ------------------------------------------------------------------------


def test_admin_lock_out_is_configured(load_settings):
    prod = load_settings(**PRODUCTION)

    assert prod.AUTHENTICATION_BACKENDS[0] == "axes.backends.AxesStandaloneBackend"
    assert prod.MIDDLEWARE[-1] == "axes.middleware.AxesMiddleware"
    assert prod.AXES_FAILURE_LIMIT == 5
    assert not hasattr(prod, "AXES_ENABLED")  # axes defaults to on
    assert load_settings(**PRODUCTION, AXES_FAILURE_LIMIT="10").AXES_FAILURE_LIMIT == 10
