"""Web-side findings of the outside attack, one section each: NUL bytes in requests,
markup in feeds, stored slugs and domains no URL can hold, the per-process page
cache, the admin lock-out and integer settings, and the login's fall-back redirect.

Everything runs on SQLite and on PostgreSQL (DATABASE_URL=postgres://...): NUL bytes
only crash PostgreSQL, so that run is the one that matters for the first section.
"""

import html
import importlib.util
import itertools
import os
import re
import secrets
import subprocess
import sys
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from pathlib import Path

import pytest
from django.contrib import admin
from django.contrib.auth.models import User
from django.core import checks
from django.core.exceptions import ImproperlyConfigured
from django.test import Client, RequestFactory
from django.urls import reverse

from articles.models import Provider, Topic

from .factories import make_article, make_provider, make_topic

ROOT = Path(__file__).resolve().parent.parent
# The id of the deploy check about the page cache in process memory (articles/checks.py).
LOCAL_PAGE_CACHE = "articles.W001"


pytestmark = pytest.mark.usefixtures("page_cache_off")


@pytest.fixture
def browser(db):
    """A client that answers like the real server (a 500 page) instead of raising."""
    return Client(raise_request_exception=False)


@pytest.fixture
def staff_browser(db):
    client = Client(raise_request_exception=False)
    client.force_login(User.objects.create_superuser("chief", password="not used here"))
    return client


# -- 1. NUL bytes: 400 before any view (or the database) sees them -------------------------------

NUL_PUBLIC_URLS = [
    "/search/?q=%00",
    "/search/?q=robots%00laundry",
    "/search/?%00=robots",
    "/search/?q=robots&page=%00",
    "/?view=%00",
    "/providers/%00/",
    "/providers/outlet%00.example/",
    "/topics/robotics/?page=1%00",
    "/api/news/?page=%00",
    "/feed/?q=%00",
]
NUL_ADMIN_URLS = [
    "/admin/articles/article/?q=%00",
    "/admin/articles/article/?status=%00",
    "/admin/articles/article/?status__exact=%00",
    "/admin/articles/article/?provider__id__exact=%00",
    "/admin/articles/article/?%00=1",
    "/admin/articles/provider/?q=%00",
    "/admin/articles/topic/?q=%00",
    "/admin/articles/topic/?kind__exact=%00",
    "/admin/articles/article/autocomplete/?term=%00",
]


@pytest.fixture
def site(db):
    topic = make_topic("Robotics", slug="robotics")
    return make_article("Robots learn to fold laundry", topics=[topic])


@pytest.mark.parametrize("url", NUL_PUBLIC_URLS)
def test_nul_in_a_public_url_is_a_bad_request(browser, site, url):
    assert browser.get(url).status_code == 400


def test_a_bad_request_answers_in_the_addresss_own_language(browser, site):
    """JSON under /api/, whose clients read JSON (as their 404s); the site's page elsewhere."""
    api = browser.get("/api/news/?page=%00")
    assert api["Content-Type"] == "application/json"
    assert api.json() == {"error": "NUL character in the request."}
    assert api["Access-Control-Allow-Origin"] == "*"
    page = browser.get("/search/?q=%00")
    assert page["Content-Type"].startswith("text/html")
    assert "That request could not be read" in page.content.decode()


@pytest.mark.parametrize("url", NUL_ADMIN_URLS)
def test_nul_in_an_admin_filter_is_a_bad_request(staff_browser, site, url):
    assert staff_browser.get(url).status_code == 400


def test_nul_in_a_posted_form_is_a_bad_request(browser, site):
    login = reverse("admin:login")

    assert browser.post(login, {"username": "\x00", "password": "x"}).status_code == 400
    assert browser.post(login, {"username": "x", "\x00": "x"}).status_code == 400


def test_nul_in_a_cookie_is_a_bad_request(browser, site):
    # SimpleCookie sends it octal-escaped ("\000"); Django unescapes it to a NUL, which
    # the session lookup would pass to the database.
    browser.cookies["sessionid"] = "\x00" + "a" * 31

    assert browser.get("/").status_code == 400
    assert browser.get(reverse("admin:login")).status_code == 400


def test_nul_in_a_login_with_the_lock_out_on_is_a_bad_request(browser, site, settings):
    settings.AXES_ENABLED = True  # axes records the failed attempt's username
    login = reverse("admin:login")

    assert browser.post(login, {"username": "ed\x00itor", "password": "x"}).status_code == 400


@pytest.mark.parametrize(
    "url",
    [
        "/search/?q=%ff%fe",  # not UTF-8: Django decodes with replacement characters
        "/search/?q=%01%1f%7f",  # other control characters are text the database takes
        "/search/?q=%ed%a0%80",  # an encoded surrogate
        "/providers/%ff/",
        "/providers/%01/",
    ],
)
def test_other_odd_bytes_are_answered_without_an_error(browser, site, url):
    assert browser.get(url).status_code in (200, 404)


def test_ordinary_requests_pass_the_nul_check(browser, site):
    assert browser.get("/search/?q=robots").status_code == 200
    assert browser.get(f"/providers/{site.provider.domain}/").status_code == 200


# -- 2. feeds carry imported text as text ---------------------------------------------------------

HOSTILE_NAME = '<script>alert(1)</script> & "x"'


class ElementFinder(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)


def html_tags(fragment):
    finder = ElementFinder()
    finder.feed(fragment)
    return finder.tags


@pytest.fixture
def hostile_topic(db):
    topic = make_topic(HOSTILE_NAME, slug="hostile")
    make_article("<b>Bold</b> & co", topics=[topic], excerpt="<img src=x onerror=alert(1)>")
    return topic


def test_rss_channel_description_is_escaped_html(browser, hostile_topic):
    """Feed readers show an RSS <description> as HTML, the channel's as much as an item's."""
    response = browser.get("/topics/hostile/feed/")
    assert response.status_code == 200
    channel = ET.fromstring(response.content).find("channel")

    description = channel.findtext("description")
    assert html_tags(description) == []  # nothing a reader would run or render
    assert HOSTILE_NAME in html.unescape(description)  # and the name reads as written
    item_description = channel.find("item").findtext("description")
    assert html_tags(item_description) == []
    assert html.unescape(item_description) == "<img src=x onerror=alert(1)>"
    # Titles and categories are plain text in RSS: the XML carries the text itself.
    assert channel.findtext("title") == f"Newsroom: {HOSTILE_NAME}"
    assert channel.find("item").findtext("category") == HOSTILE_NAME


def test_atom_feed_carries_the_topic_name_as_text(browser, hostile_topic):
    response = browser.get("/topics/hostile/feed/atom/")
    assert response.status_code == 200
    ns = {"atom": "http://www.w3.org/2005/Atom"}
    feed = ET.fromstring(response.content)

    assert feed.findtext("atom:title", namespaces=ns) == f"Newsroom: {HOSTILE_NAME}"
    subtitle = feed.find("atom:subtitle", ns)
    # Atom says what a text construct is: "text" (the default) is shown as written.
    assert subtitle.get("type", "text") == "text"
    assert HOSTILE_NAME in subtitle.text
    summary = feed.find("atom:entry/atom:summary", ns)
    assert summary.get("type") == "html"
    assert html_tags(summary.text) == []


# -- 3. stored slugs and domains that no URL can hold ---------------------------------------------

BAD_SLUGS = ["ai agents", "économie", "a/b", "<x>"]


@pytest.fixture
def unroutable(db):
    """Rows as an old import or a careless edit may have left them (no form involved)."""
    root = make_topic("AI", slug="ai")
    bad_topics = [
        make_topic(f"Bad topic {n}", slug=slug, parent=root) for n, slug in enumerate(BAD_SLUGS)
    ]
    # A routable topic under an unroutable parent: its page links to the parent.
    child = make_topic("Good child", slug="good-child", parent=bad_topics[0])
    slashed = make_provider(domain="news.example/section", name="Slashed Outlet")
    empty = Provider.objects.create(domain="", name="Nameless Outlet")
    article = make_article("Agents everywhere", provider=slashed, topics=[*bad_topics, child, root])
    other = make_article("Agents nowhere", provider=empty, topics=[bad_topics[1]])
    return {"root": root, "bad": bad_topics, "child": child, "article": article, "other": other}


def unroutable_pages(rows):
    return [
        ("/", 200),
        ("/?view=latest", 200),
        ("/topics/", 200),
        ("/topics/ai/", 200),
        ("/topics/good-child/", 200),
        ("/topics/ai/feed/", 200),
        ("/search/?q=agents", 200),
        (rows["article"].get_absolute_url(), 200),
        (rows["other"].get_absolute_url(), 200),
        ("/no-such-page/", 404),
        ("/sitemap.xml", 200),
        ("/sitemap-topics.xml", 200),
        ("/api/news/", 200),
    ]


def test_public_pages_survive_unroutable_slugs_and_domains(browser, unroutable, settings):
    assert settings.DEBUG is False
    for url, status in unroutable_pages(unroutable):
        response = browser.get(url)
        assert response.status_code == status, url


def test_unroutable_topics_and_providers_are_shown_without_links(browser, unroutable):
    page = browser.get(unroutable["article"].get_absolute_url()).content.decode()

    assert "Slashed Outlet" in page  # the byline names the outlet...
    assert 'href="/providers/' not in page  # ...without a link to a page it cannot have
    assert "Bad topic 0" in page and "Bad topic 3" in page  # the chips name the topics...
    topic_links = set(re.findall(r'href="(/topics/[^"]*)"', page))
    assert topic_links == {"/topics/", "/topics/ai/", "/topics/good-child/"}  # ...link the rest
    masthead = browser.get("/").content.decode().split("</header>", 1)[0]
    assert "Bad topic" not in masthead  # the masthead skips what it cannot link to
    assert 'href="/topics/ai/"' not in masthead  # (a root topic is not listed there anyway)


def test_sitemap_leaves_out_unroutable_topics(browser, unroutable):
    xml = ET.fromstring(browser.get("/sitemap-topics.xml").content)
    ns = {"s": "http://www.sitemaps.org/schemas/sitemap/0.9"}

    locations = {loc.text for loc in xml.findall("s:url/s:loc", ns)}
    assert locations == {"http://testserver/topics/ai/", "http://testserver/topics/good-child/"}


def test_get_absolute_url_is_none_when_the_value_cannot_be_routed(unroutable):
    assert unroutable["root"].get_absolute_url() == "/topics/ai/"
    assert [topic.get_absolute_url() for topic in unroutable["bad"]] == [None] * len(BAD_SLUGS)
    assert unroutable["article"].provider.get_absolute_url() is None
    assert unroutable["other"].provider.get_absolute_url() is None
    assert make_provider(domain="fine.example").get_absolute_url() == "/providers/fine.example/"


def test_admin_pages_survive_unroutable_slugs_and_domains(staff_browser, unroutable):
    article = unroutable["article"]
    bad = unroutable["bad"][0]
    provider = article.provider
    pages = [
        reverse("admin:articles_article_preview", args=[article.pk]),
        reverse("admin:articles_article_preview", args=[unroutable["other"].pk]),
        reverse("admin:articles_article_change", args=[article.pk]),
        reverse("admin:articles_topic_changelist"),
        reverse("admin:articles_topic_change", args=[bad.pk]),
        reverse("admin:articles_provider_changelist"),
        reverse("admin:articles_provider_change", args=[provider.pk]),
    ]
    for url in pages:
        assert staff_browser.get(url).status_code == 200, url
    # No "View on site" button for a topic or outlet without a public page.
    topic_form = staff_browser.get(reverse("admin:articles_topic_change", args=[bad.pk]))
    assert b"viewsitelink" not in topic_form.content
    provider_form = staff_browser.get(reverse("admin:articles_provider_change", args=[provider.pk]))
    assert b"viewsitelink" not in provider_form.content
    good_form = staff_browser.get(
        reverse("admin:articles_topic_change", args=[unroutable["root"].pk])
    )
    assert b"viewsitelink" in good_form.content


def admin_form(model, data, instance=None):
    """The admin's own form for `model`, bound to `data`."""
    request = RequestFactory().get("/")
    request.user = User(is_superuser=True, is_staff=True)
    form_class = admin.site._registry[model].get_form(request, instance)
    return form_class(data=data, instance=instance)


TOPIC_FORM = {
    "name": "AI agents",
    "kind": "topic",
    "short_name": "",
    "description": "",
    "keywords": "[]",
    "hashtags": "[]",
    "images": "[]",
    "services": "{}",
    "rank_hours": "0",
}


@pytest.mark.django_db
@pytest.mark.parametrize("slug", [*BAD_SLUGS, "agents?", "agents.", ""])
def test_admin_refuses_a_topic_slug_that_is_not_a_url_slug(slug):
    form = admin_form(Topic, {**TOPIC_FORM, "slug": slug})

    assert not form.is_valid()
    assert "slug" in form.errors


@pytest.mark.django_db
def test_admin_accepts_an_ascii_slug():
    form = admin_form(Topic, {**TOPIC_FORM, "slug": "ai-agents_2"})

    assert form.is_valid(), form.errors
    assert form.save().get_absolute_url() == "/topics/ai-agents_2/"


@pytest.mark.django_db
@pytest.mark.parametrize(
    "domain",
    [
        "",
        "news.example/section",
        "news example.com",
        "news.example:8080",
        "https://news.example",
        "-news.example",
        "news-.example",
        "news..example",
        ".news.example",
        "bücher.example",
        "<b>.example",
        "a" * 64 + ".example",
    ],
)
def test_admin_refuses_a_provider_domain_that_is_not_a_host_name(domain):
    form = admin_form(Provider, {"name": "Outlet", "domain": domain, "logos": "[]"})

    assert not form.is_valid()
    assert "domain" in form.errors


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("news.example", "news.example"),
        ("xn--bcher-kva.example", "xn--bcher-kva.example"),
        ("sub-1.news.example.co.uk", "sub-1.news.example.co.uk"),
        ("localhost", "localhost"),
        (" News.Example ", "news.example"),  # typed with capitals: stored in lower case
    ],
)
def test_admin_accepts_host_names(typed, stored):
    form = admin_form(Provider, {"name": "Outlet", "domain": typed, "logos": "[]"})

    assert form.is_valid(), form.errors
    provider = form.save()
    assert provider.domain == stored
    assert provider.get_absolute_url() == f"/providers/{stored}/"


# -- 4. the per-process page cache behind several workers -----------------------------------------

LOCMEM = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
REDIS = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": "redis://cache.internal:6379/0",
    }
}


def deploy_warnings():
    found = checks.run_checks(include_deployment_checks=True)
    return [message for message in found if message.id == LOCAL_PAGE_CACHE]


def test_deploy_check_warns_about_a_page_cache_in_process_memory(settings):
    settings.DEBUG = False
    settings.CACHES = LOCMEM
    settings.NEWSROOM_PAGE_CACHE = "1"

    (warning,) = deploy_warnings()
    assert warning.level == checks.WARNING
    assert "REDIS_URL" in warning.hint
    # Only with --deploy: a laptop's `manage.py check` stays quiet.
    assert LOCAL_PAGE_CACHE not in [m.id for m in checks.run_checks()]


@pytest.mark.parametrize(
    ("debug", "caches", "page_cache"),
    [
        (False, REDIS, "1"),
        (False, {"default": {"BACKEND": "django.core.cache.backends.dummy.DummyCache"}}, "1"),
        (False, LOCMEM, "0"),  # no page cache, nothing to go stale
        (True, LOCMEM, "1"),  # development
    ],
)
def test_deploy_check_is_quiet_when_pages_cannot_go_stale(settings, debug, caches, page_cache):
    settings.DEBUG = debug
    settings.CACHES = caches
    settings.NEWSROOM_PAGE_CACHE = page_cache

    assert deploy_warnings() == []


def run_check_deploy(**env):
    environment = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DJANGO_", "DATABASE_", "CACHE_URL", "REDIS_URL", "NEWSROOM_"))
    }
    environment.update(
        DJANGO_SETTINGS_MODULE="newsroom.settings",
        DJANGO_SECRET_KEY=secrets.token_urlsafe(50),
        DJANGO_ALLOWED_HOSTS="example.com",
        **env,
    )
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_check_deploy_reports_the_local_page_cache_and_not_with_redis():
    without_redis = run_check_deploy()
    assert without_redis.returncode == 1
    assert LOCAL_PAGE_CACHE in without_redis.stderr

    with_redis = run_check_deploy(REDIS_URL="redis://cache.internal:6379/0")
    assert with_redis.returncode == 0, with_redis.stderr
    assert LOCAL_PAGE_CACHE not in with_redis.stderr + with_redis.stdout


# -- 5. the admin lock-out counts per address too; integer settings ------------------------------


@pytest.fixture
def lockout(db, settings):
    settings.AXES_ENABLED = True  # tests.settings turns it off for client.login()
    return User.objects.create_user("editor", password="correct horse battery", is_staff=True)


def admin_login(client, username, password, ip="203.0.113.9"):
    return client.post(
        reverse("admin:login"),
        {"username": username, "password": password, "next": reverse("admin:index")},
        REMOTE_ADDR=ip,
    )


def test_one_address_trying_many_accounts_is_locked_out(client, lockout, settings):
    limit = settings.AXES_FAILURE_LIMIT
    for n in range(limit - 1):
        assert admin_login(client, f"guess{n}", "wrong").status_code == 200
    assert admin_login(client, f"guess{limit}", "wrong").status_code == 429

    # Locked for every account, the real one with the right password too...
    assert admin_login(client, "editor", "correct horse battery").status_code == 429
    # ...from that address only.
    assert admin_login(client, "editor", "correct horse battery", "198.51.100.7").status_code == 302


def test_a_login_of_ones_own_does_not_clear_the_addresss_count(client, lockout, settings):
    """Someone with a valid account cannot log in between guesses to reset the count."""
    User.objects.create_user("contributor", password="my own password", is_staff=True)
    limit = settings.AXES_FAILURE_LIMIT
    for _ in range(limit - 1):
        admin_login(client, "editor", "guess")
    assert admin_login(client, "contributor", "my own password").status_code == 302
    client.logout()

    assert admin_login(client, "editor", "guess").status_code == 429


def test_an_editors_successful_login_still_clears_their_own_mistakes(client, lockout, settings):
    limit = settings.AXES_FAILURE_LIMIT
    for _ in range(limit - 1):
        admin_login(client, "editor", "typo")
    assert admin_login(client, "editor", "correct horse battery").status_code == 302
    client.logout()

    for _ in range(limit - 1):
        assert admin_login(client, "editor", "typo").status_code == 200


_counter = itertools.count()


def load_settings(monkeypatch, **env):
    """newsroom/settings.py run afresh under `env` (as tests/test_settings.py does)."""
    for name in list(os.environ):
        if name.startswith(("DJANGO_", "DATABASE_", "DB_", "CACHE_URL", "REDIS_URL", "AXES_")):
            monkeypatch.delenv(name)
    monkeypatch.delenv("NEWSROOM_IMPORT_MAX_BYTES", raising=False)
    monkeypatch.setenv("DJANGO_SECRET_KEY", secrets.token_urlsafe(50))
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    spec = importlib.util.spec_from_file_location(
        f"hardening_settings_{next(_counter)}", ROOT / "newsroom" / "settings.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("name", ["AXES_FAILURE_LIMIT", "NEWSROOM_IMPORT_MAX_BYTES"])
@pytest.mark.parametrize("value", ["five", "1.5", "1e6", "0x10"])
def test_a_non_integer_setting_names_the_variable_and_the_value(monkeypatch, name, value):
    with pytest.raises(ImproperlyConfigured) as error:
        load_settings(monkeypatch, **{name: value})

    assert name in str(error.value) and repr(value) in str(error.value)


@pytest.mark.parametrize("value", ["two", "-1", "inf", "nan"])
def test_a_bad_render_time_limit_names_the_variable(monkeypatch, value):
    with pytest.raises(ImproperlyConfigured) as error:
        load_settings(monkeypatch, NEWSROOM_RENDER_TIME_LIMIT=value)
    assert "NEWSROOM_RENDER_TIME_LIMIT" in str(error.value) and repr(value) in str(error.value)
    assert (
        load_settings(monkeypatch, NEWSROOM_RENDER_TIME_LIMIT="0.5").NEWSROOM_RENDER_TIME_LIMIT
        == 0.5
    )


def test_integer_settings_read_whole_numbers_and_defaults(monkeypatch):
    configured = load_settings(
        monkeypatch, AXES_FAILURE_LIMIT=" 10 ", NEWSROOM_IMPORT_MAX_BYTES="2048"
    )
    assert (configured.AXES_FAILURE_LIMIT, configured.NEWSROOM_IMPORT_MAX_BYTES) == (10, 2048)
    defaults = load_settings(monkeypatch)
    assert (defaults.AXES_FAILURE_LIMIT, defaults.NEWSROOM_IMPORT_MAX_BYTES) == (5, 1024 * 1024)


def test_every_integer_environment_variable_goes_through_env_int():
    """No bare int(os.environ...) left in settings.py to crash with a ValueError."""
    source = (ROOT / "newsroom" / "settings.py").read_text()

    assert "int(os.environ" not in source
    assert "int(os.getenv" not in source


# -- 6. after the login, a foreign ?next= falls back to the admin ---------------------------------


@pytest.mark.parametrize(
    "next_url",
    ["https://evil.example/", "//evil.example/", "https:/evil.example/", "javascript:alert(1)"],
)
def test_a_foreign_next_after_login_lands_on_the_admin_index(client, db, next_url):
    User.objects.create_user("editor", password="correct horse battery", is_staff=True)
    login = reverse("admin:login")

    response = client.post(
        f"{login}?next={next_url}",
        {"username": "editor", "password": "correct horse battery", "next": next_url},
    )

    assert response.status_code == 302
    assert response["Location"] == reverse("admin:index")
    assert client.get(response["Location"]).status_code == 200


def test_a_local_next_after_login_is_still_followed(client, db):
    User.objects.create_user("editor", password="correct horse battery", is_staff=True)
    target = reverse("admin:articles_article_changelist")

    response = client.post(
        reverse("admin:login"),
        {"username": "editor", "password": "correct horse battery", "next": target},
    )

    assert response["Location"] == target
