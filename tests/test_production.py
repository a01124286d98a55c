"""Production behaviour: health check, security headers and CSP, admin lock-out, the
read-replica router, JSON logs, the shared Redis cache, and the real app server.
"""

import gzip
import json
import logging
import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from html.parser import HTMLParser
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.core.cache.backends.redis import RedisCache
from django.core.management import call_command
from django.db import DatabaseError, OperationalError, connection
from django.test import RequestFactory
from django.urls import reverse

from articles.models import Article
from newsroom import db_routers, middleware
from newsroom.logformat import GunicornAccessFormatter, JsonFormatter
from newsroom.proxy import client_ip
from tests.factories import make_article, make_topic

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"
REDIS_URL = "redis://127.0.0.1:6379/13"


# -- /healthz ----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_healthz_answers_ok_and_is_never_cached(client):
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}
    assert "no-store" in response["Cache-Control"]
    assert "max-age=0" in response["Cache-Control"]


@pytest.mark.django_db
def test_healthz_answers_503_when_the_database_does_not(client, monkeypatch, caplog):
    def refuse():
        raise OperationalError('connection to server at "db.internal" failed: refused')

    monkeypatch.setattr(connection, "cursor", refuse)
    with caplog.at_level(logging.ERROR, logger="newsroom.health"):
        response = client.get("/healthz")

    assert response.status_code == 503
    # The reason is logged, not shown to whoever can reach the URL.
    assert response.json() == {"status": "error", "database": "unavailable"}
    assert "db.internal" not in response.content.decode()
    assert "db.internal" in caplog.text
    assert "no-store" in response["Cache-Control"]


@pytest.mark.django_db
def test_healthz_only_answers_reads(client):
    assert client.head("/healthz").status_code == 200
    assert client.post("/healthz").status_code == 405


@pytest.mark.django_db
def test_healthz_is_exempt_from_the_https_redirect(client, settings):
    settings.SECURE_SSL_REDIRECT = True

    assert client.get("/healthz").status_code == 200
    redirected = client.get("/")
    assert redirected.status_code == 301
    assert redirected["Location"].startswith("https://")


# -- security headers and Content-Security-Policy ------------------------------------------------


class InlineCodeFinder(HTMLParser):
    """Collects what a strict CSP would block: inline scripts, handlers, style attributes."""

    DATA_SCRIPT_TYPES = {"application/ld+json", "application/json"}

    def __init__(self):
        super().__init__()
        self.scripts, self.handlers, self.styles, self.style_blocks = [], [], [], 0
        self.script_sources = []
        self._in_inline_script = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.handlers += [f"<{tag} {name}>" for name in attrs if name.startswith("on")]
        if "style" in attrs:
            self.styles.append(f"<{tag} style={attrs['style']!r}>")
        if any((attrs.get(a) or "").lower().startswith("javascript:") for a in ("href", "src")):
            self.handlers.append(f"<{tag}> javascript: URL")
        if tag == "style":
            self.style_blocks += 1
        if tag == "script" and attrs.get("src"):
            self.script_sources.append(attrs["src"])
        self._in_inline_script = (
            tag == "script"
            and "src" not in attrs
            and (attrs.get("type") or "").lower() not in self.DATA_SCRIPT_TYPES
        )

    def handle_data(self, data):
        if self._in_inline_script and data.strip():
            self.scripts.append(data.strip()[:80])

    def handle_endtag(self, tag):
        if tag == "script":
            self._in_inline_script = False


def inline_code(html: str) -> InlineCodeFinder:
    finder = InlineCodeFinder()
    finder.feed(html)
    return finder


@pytest.fixture
def site_content(db):
    topic = make_topic("Robotics")
    article = make_article("Robots learn to fold laundry", topics=[topic])
    make_article("Draft robot story", status=Article.Status.REVIEW, topics=[topic])
    return article


def public_pages(article):
    return [
        reverse("articles:home"),
        article.get_absolute_url(),
        reverse("articles:search") + "?q=robots",
        reverse("articles:topics"),
        reverse("articles:topic", kwargs={"slug": "robotics"}),
        reverse("articles:provider", kwargs={"domain": article.provider.domain}),
    ]


def test_public_pages_carry_the_strict_policy_and_need_nothing_it_forbids(client, site_content):
    for url in public_pages(site_content):
        response = client.get(url)
        assert response.status_code == 200, url
        assert response["Content-Security-Policy"] == middleware.PUBLIC_POLICY
        assert response["X-Frame-Options"] == "DENY"
        assert response["X-Content-Type-Options"] == "nosniff"
        assert response["Referrer-Policy"] == "strict-origin-when-cross-origin"
        found = inline_code(response.content.decode())
        assert found.scripts == [], url
        assert found.handlers == [], url
        assert found.styles == [] and found.style_blocks == 0, url
        assert all(src.startswith("/") and not src.startswith("//") for src in found.script_sources)


def test_public_policy_is_strict():
    directives = dict(d.split(" ", 1) for d in middleware.PUBLIC_POLICY.split("; "))

    assert directives["default-src"] == "'self'"
    assert directives["script-src"] == "'self'"
    assert directives["style-src"] == "'self'"
    assert directives["object-src"] == "'none'"
    assert directives["frame-ancestors"] == "'none'"
    assert directives["base-uri"] == "'self'"
    assert directives["form-action"] == "'self'"
    assert "unsafe" not in middleware.PUBLIC_POLICY


def test_json_ld_is_allowed_on_article_pages(client, site_content):
    html = client.get(site_content.get_absolute_url()).content.decode()

    assert '<script type="application/ld+json">' in html
    assert inline_code(html).scripts == []


@pytest.mark.django_db
def test_admin_pages_load_under_the_admin_policy(admin_client, site_content):
    pages = [
        reverse("admin:index"),
        reverse("admin:articles_article_changelist"),
        reverse("admin:articles_article_add"),
        reverse("admin:articles_article_change", args=[site_content.pk]),
        reverse("admin:articles_provider_changelist"),
        reverse("admin:articles_topic_changelist"),
        reverse("admin:articles_importrun_changelist"),
    ]
    for url in pages:
        response = admin_client.get(url)
        assert response.status_code == 200, url
        assert response["Content-Security-Policy"] == middleware.ADMIN_POLICY, url
        found = inline_code(response.content.decode())
        # The admin policy allows inline styles, but scripts only from our own files.
        assert found.scripts == [], url
        assert found.handlers == [], url
        # script-src 'self': every script file comes from this site.
        assert found.script_sources, url
        assert all(src.startswith("/") and not src.startswith("//") for src in found.script_sources)


@pytest.mark.django_db
def test_admin_login_page_has_the_admin_policy(client):
    response = client.get(reverse("admin:login"))

    assert response.status_code == 200
    assert response["Content-Security-Policy"] == middleware.ADMIN_POLICY
    assert "script-src 'self';" in middleware.ADMIN_POLICY


def test_a_policy_set_by_a_view_is_kept():
    from django.http import HttpResponse

    def view(request):
        response = HttpResponse("embedded")
        response["Content-Security-Policy"] = "default-src 'none'"
        return response

    response = middleware.ContentSecurityPolicyMiddleware(view)(RequestFactory().get("/x/"))

    assert response["Content-Security-Policy"] == "default-src 'none'"


# -- admin login lock-out (django-axes) ---------------------------------------------------------


@pytest.fixture
def lockout_editor(db, settings):
    settings.AXES_ENABLED = True  # tests.settings turns it off for client.login()
    return User.objects.create_user("editor", password="correct horse battery", is_staff=True)


def admin_login(client, password, ip="127.0.0.1"):
    return client.post(
        reverse("admin:login"),
        {"username": "editor", "password": password, "next": reverse("admin:index")},
        REMOTE_ADDR=ip,
    )


def test_admin_login_works_with_lock_out_on(client, lockout_editor):
    response = admin_login(client, "correct horse battery")

    assert response.status_code == 302
    assert client.get(reverse("admin:index")).status_code == 200


def test_five_failed_logins_lock_the_account_even_for_the_right_password(client, lockout_editor):
    for _ in range(4):
        assert admin_login(client, "wrong guess").status_code == 200  # the form, with an error
    assert admin_login(client, "wrong guess").status_code == 429  # the fifth locks

    refused = admin_login(client, "correct horse battery")

    assert refused.status_code == 429
    assert "_auth_user_id" not in client.session
    assert client.get(reverse("admin:index")).status_code == 302  # back to the login page


def test_lock_out_is_per_address_so_an_attacker_cannot_lock_out_the_editor(client, lockout_editor):
    for _ in range(5):
        admin_login(client, "wrong guess", ip="203.0.113.9")
    assert admin_login(client, "correct horse battery", ip="203.0.113.9").status_code == 429

    assert admin_login(client, "correct horse battery", ip="198.51.100.7").status_code == 302


def test_force_login_is_not_affected_by_a_lock_out(client, lockout_editor):
    for _ in range(5):
        admin_login(client, "wrong guess")

    client.force_login(lockout_editor)

    assert client.get(reverse("admin:index")).status_code == 200


@pytest.mark.parametrize(
    ("forwarded", "proxies", "expected"),
    [
        ("198.51.100.7", 1, "198.51.100.7"),
        # The client can write anything left of what our proxy appended.
        ("6.6.6.6, 198.51.100.7", 1, "198.51.100.7"),
        ("6.6.6.6, 198.51.100.7, 10.0.0.5", 2, "198.51.100.7"),
        ("", 1, "10.0.0.1"),  # no header: the direct peer
        ("198.51.100.7", 2, "10.0.0.1"),  # fewer entries than proxies: do not guess
    ],
)
def test_client_address_behind_proxies(settings, forwarded, proxies, expected):
    settings.PROXY_COUNT = proxies
    request = RequestFactory().get("/", HTTP_X_FORWARDED_FOR=forwarded, REMOTE_ADDR="10.0.0.1")

    assert client_ip(request) == expected


# -- read replica routing ---------------------------------------------------------------------


# Only the router reads the setting here; no connection to "replica" is ever made.
@pytest.mark.filterwarnings("ignore:Overriding setting DATABASES")
def test_router_reads_from_the_replica_only_when_told_and_writes_to_the_primary(settings):
    settings.DATABASES = {**settings.DATABASES, "replica": settings.DATABASES["default"]}
    router = db_routers.PrimaryReplicaRouter()

    assert router.db_for_read(Article) == "default"
    with db_routers.reads_from_replica():
        assert router.db_for_read(Article) == "replica"
        assert router.db_for_write(Article) == "default"
    assert router.db_for_read(Article) == "default"
    assert router.allow_migrate("default", "articles") is True
    assert router.allow_migrate("replica", "articles") is False


def test_router_falls_back_to_the_primary_without_a_replica():
    with db_routers.reads_from_replica():
        assert db_routers.PrimaryReplicaRouter().db_for_read(Article) == "default"


@pytest.mark.parametrize(
    ("method", "path", "cookies", "replica"),
    [
        ("get", "/", {}, True),
        ("head", "/topics/ai/", {}, True),
        ("get", "/", {"sessionid": "abc"}, False),  # a signed-in editor sees fresh data
        ("post", "/search/", {}, False),
        ("get", "/admin/", {}, False),
        ("get", "/admin/login/", {}, False),
    ],
)
def test_only_anonymous_public_reads_are_sent_to_the_replica(method, path, cookies, replica):
    seen = []

    def view(request):
        seen.append(db_routers._reads_from_replica.get())
        from django.http import HttpResponse

        return HttpResponse()

    request = getattr(RequestFactory(), method)(path)
    request.COOKIES.update(cookies)
    db_routers.ReplicaReadsMiddleware(view)(request)

    assert seen == [replica]
    assert db_routers._reads_from_replica.get() is False


# -- structured logs -----------------------------------------------------------------------------


def record(name="newsroom.import", msg="import %s: %s", args=(7, "3 created"), **extra):
    entry = logging.LogRecord(name, logging.INFO, __file__, 1, msg, args, None)
    entry.__dict__.update(extra)
    return entry


def test_json_formatter_writes_one_parseable_object_per_record():
    line = JsonFormatter().format(record(run_id=7, path='a "quoted"\nname'))

    assert "\n" not in line
    entry = json.loads(line)
    assert entry["level"] == "INFO"
    assert entry["logger"] == "newsroom.import"
    assert entry["message"] == "import 7: 3 created"
    assert entry["run_id"] == 7
    assert entry["path"] == 'a "quoted"\nname'
    assert entry["time"].endswith("+00:00")


def test_json_formatter_keeps_tracebacks_and_odd_objects():
    try:
        raise DatabaseError("boom")
    except DatabaseError:
        entry = record(request=object())
        entry.exc_info = sys.exc_info()

    parsed = json.loads(JsonFormatter().format(entry))

    assert "DatabaseError: boom" in parsed["exception"]
    assert parsed["request"].startswith("<object object")


def test_gunicorn_access_lines_become_fields():
    atoms = {"h": "10.0.0.1", "r": "GET /?q=x HTTP/1.1", "s": "200", "m": "GET", "U": "/",
             "q": "q=x", "B": 512, "M": 12, "f": "-", "a": "curl/8"}  # fmt: skip
    entry = logging.LogRecord(
        "gunicorn.access", logging.INFO, "", 0, '%(h)s "%(r)s"', (atoms,), None
    )

    parsed = json.loads(GunicornAccessFormatter().format(entry))

    assert parsed["message"] == '10.0.0.1 "GET /?q=x HTTP/1.1"'
    assert parsed["status"] == 200
    assert (parsed["method"], parsed["path"], parsed["query"]) == ("GET", "/", "q=x")
    assert (parsed["bytes"], parsed["duration_ms"]) == (512, 12)
    assert "referer" not in parsed  # "-" means absent


@pytest.mark.django_db
def test_an_import_logs_its_summary(caplog):
    with caplog.at_level(logging.INFO, logger="newsroom.import"):
        call_command("import_yaml", str(FIXTURES / "news"), verbosity=0)

    files = len(list((FIXTURES / "news").glob("*.md")))
    summaries = [r for r in caplog.records if r.name == "newsroom.import"]
    assert len(summaries) == 1
    assert f"{files} created, 0 updated, 0 unchanged, 0 conflicts, 0 failed" in (
        summaries[0].getMessage()
    )


# -- the shared Redis cache -----------------------------------------------------------------


@pytest.fixture
def redis_cache(settings):
    """Points the default cache at the real Redis, under a key prefix of its own."""
    import redis

    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1)
    try:
        client.ping()
    except redis.exceptions.ConnectionError:
        pytest.skip("Redis is not reachable on 127.0.0.1:6379")
    prefix = f"newsroom-test-{uuid.uuid4().hex}"
    config = {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": prefix,
    }
    settings.CACHES = {"default": config}
    yield config
    keys = list(client.scan_iter(f"{prefix}:*"))
    if keys:
        client.delete(*keys)


def test_redis_cache_is_shared_between_app_servers(redis_cache):
    from django.core.cache import cache

    # Another app server: its own client, the same settings.
    other_server = RedisCache(redis_cache["LOCATION"], {"KEY_PREFIX": redis_cache["KEY_PREFIX"]})

    cache.set("greeting", {"text": "hello"}, 30)
    assert other_server.get("greeting") == {"text": "hello"}
    assert other_server.add("counter", 1)
    assert cache.incr("counter") == 2
    assert other_server.get("counter") == 2
    other_server.delete("greeting")
    assert cache.get("greeting") is None


@pytest.mark.django_db
def test_a_page_cached_in_redis_is_invalidated_by_another_server_publishing(
    client, redis_cache, django_assert_num_queries
):
    from articles.site.caching import GENERATION_KEY

    draft = make_article("Quiet draft about submarines", status=Article.Status.REVIEW)
    make_article("Published story about satellites")
    first = client.get("/")
    assert b"satellites" in first.content and b"submarines" not in first.content

    with django_assert_num_queries(0):  # served from Redis
        assert client.get("/").content == first.content

    # Publishing on another app server bumps the shared generation...
    other_server = RedisCache(redis_cache["LOCATION"], {"KEY_PREFIX": redis_cache["KEY_PREFIX"]})
    Article.objects.filter(pk=draft.pk).update(status=Article.Status.PUBLISHED)
    other_server.incr(GENERATION_KEY)

    # ...and this server's next request renders afresh.
    assert b"submarines" in client.get("/").content


# -- the real thing: gunicorn with production settings --------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def fetch(url, headers=None):
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


class Gunicorn:
    """`gunicorn -c gunicorn.conf.py newsroom.wsgi` in the background, as `make serve` runs it."""

    def __init__(self, env):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py",
             "--bind", f"127.0.0.1:{self.port}", "newsroom.wsgi"],
            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )  # fmt: skip

    def __enter__(self):
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"gunicorn exited:\n{self.process.stdout.read()}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return self
            except OSError:
                time.sleep(0.2)
        raise AssertionError("gunicorn did not start in 30 seconds")

    def __exit__(self, *exc):
        self.process.terminate()
        self.output = self.process.communicate(timeout=30)[0]


@pytest.fixture
def production_env(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_"))}
    env.update(
        DJANGO_SETTINGS_MODULE="newsroom.settings",
        DJANGO_SECRET_KEY=secrets.token_urlsafe(50),
        DATABASE_URL=f"sqlite:///{tmp_path / 'site.sqlite3'}",
        DJANGO_STATIC_ROOT=str(tmp_path / "static"),
        DJANGO_MEDIA_ROOT=str(tmp_path / "media"),
        # Plain HTTP on 127.0.0.1, as `make serve` runs it.
        DJANGO_SECURE_SSL_REDIRECT="0",
        DJANGO_SECURE_COOKIES="0",
        GUNICORN_WORKERS="2",
    )
    (tmp_path / "static").mkdir()
    return env


def manage(env, *args):
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=True,
    )  # fmt: skip


def json_lines(text):
    lines = [line for line in text.splitlines() if line.strip()]
    return [json.loads(line) for line in lines]


def test_gunicorn_serves_the_site_with_production_settings(production_env):
    manage(production_env, "migrate", "--noinput", "-v", "0")
    manage(production_env, "collectstatic", "--noinput", "-v", "0")
    imported = manage(production_env, "import_yaml", str(FIXTURES), "-v", "0")
    # The import's summary is a JSON line on stdout.
    summary = [e for e in json_lines(imported.stdout) if e["logger"] == "newsroom.import"]
    assert len(summary) == 1 and "0 failed" in summary[0]["message"]

    with Gunicorn(production_env) as server:
        status, headers, body = fetch(server.base + "/healthz")
        assert (status, json.loads(body)) == (200, {"status": "ok", "database": "ok"})

        status, headers, body = fetch(server.base + "/")
        assert status == 200
        assert headers["Content-Security-Policy"] == middleware.PUBLIC_POLICY
        html = body.decode()

        # Static files: hashed names, compressed, cached for ever.
        stylesheet = html.split('rel="stylesheet" href="', 1)[1].split('"', 1)[0]
        assert stylesheet.startswith("/static/") and stylesheet.count(".") >= 2
        status, headers, _ = fetch(server.base + stylesheet, {"Accept-Encoding": "gzip"})
        assert status == 200
        assert headers.get("Content-Encoding") == "gzip"
        assert "immutable" in headers["Cache-Control"]
        # Brotli too, made by collectstatic (the brotli package) for the clients that take it.
        status, headers, _ = fetch(server.base + stylesheet, {"Accept-Encoding": "br, gzip"})
        assert (status, headers.get("Content-Encoding")) == (200, "br")

        # Public pages compressed on the wire; a 304 carries no Content-Length.
        status, headers, body = fetch(server.base + "/", {"Accept-Encoding": "gzip"})
        assert (status, headers.get("Content-Encoding")) == (200, "gzip")
        assert gzip.decompress(body).decode() == html
        status, headers, body = fetch(server.base + "/", {"If-None-Match": headers["ETag"]})
        assert (status, body) == (304, b"") and "Content-Length" not in headers

        assert fetch(server.base + "/no-such-page/")[0] == 404

    # Every line gunicorn and Django wrote is JSON, the requests among them.
    entries = json_lines(server.output)
    requests = [e for e in entries if e["logger"] == "gunicorn.access"]
    assert {(e["path"], e["status"]) for e in requests} >= {
        ("/healthz", 200),
        ("/", 200),
        (stylesheet, 200),
        ("/no-such-page/", 404),
    }


def test_healthz_answers_503_when_the_database_is_down(production_env):
    # Nothing listens on port 1: the connection is refused at once.
    production_env["DATABASE_URL"] = "postgres://postgres@127.0.0.1:1/newsroom"

    with Gunicorn(production_env) as server:
        status, headers, body = fetch(server.base + "/healthz")

    assert status == 503
    assert json.loads(body) == {"status": "error", "database": "unavailable"}
    assert "no-store" in headers["Cache-Control"]
    errors = [e for e in json_lines(server.output) if e["logger"] == "newsroom.health"]
    assert errors and "does not answer" in errors[0]["message"]


@pytest.mark.django_db
def test_postgres_prepares_the_public_pages_statements(client, settings):
    """With the default settings, psycopg prepares a statement a connection keeps
    running, so PostgreSQL stops planning the public pages' queries every time."""
    if connection.vendor != "postgresql":
        pytest.skip("prepared statements are a PostgreSQL setting")
    if connection.settings_dict["OPTIONS"].get("prepare_threshold") is None:
        pytest.skip("prepared statements are turned off here (DB_PREPARED_STATEMENTS=0)")
    settings.NEWSROOM_PAGE_CACHE = "0"
    make_article("Prepared story")
    for _ in range(6):
        assert client.get("/").status_code == 200
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        prepared = [row[0] for row in cursor.fetchall()]
    assert any("articles_articleimage" in statement for statement in prepared), prepared


@pytest.mark.django_db
def test_media_is_served_with_debug_off_only_when_asked(client, settings, tmp_path):
    """`make serve` (DEBUG off) sets NEWSROOM_SERVE_MEDIA so that its pictures show."""
    import importlib

    from django.urls import clear_url_caches

    import newsroom.urls

    (tmp_path / "media" / "images").mkdir(parents=True)
    (tmp_path / "media" / "images" / "a.txt").write_text("a picture, say")
    (tmp_path / "secret.txt").write_text("beside the media, not in it")
    settings.MEDIA_ROOT = tmp_path / "media"
    try:
        for serve_media, status in ((False, 404), (True, 200)):
            settings.DEBUG, settings.NEWSROOM_SERVE_MEDIA = False, serve_media
            importlib.reload(newsroom.urls)
            clear_url_caches()
            assert client.get("/media/images/a.txt").status_code == status, serve_media
        for outside in ("/media/../secret.txt", "/media/%2e%2e/secret.txt", "/media//etc/passwd"):
            assert client.get(outside).status_code in (400, 404), outside  # never the file
    finally:
        settings.NEWSROOM_SERVE_MEDIA = False
        importlib.reload(newsroom.urls)
        clear_url_caches()
