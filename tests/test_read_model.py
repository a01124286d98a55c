"""One read model: what readers may see is `published()` and nothing else, taken afresh
on every read (it may depend on the moment); "Latest" is one ordering; an article's
address comes from one builder.

The `scheduled` fixture freezes the clock published() reads; `go_live_at()` schedules
an article (published, with a "go live at" time): the real rule of
scheduled publishing (models.visible_at), read afresh on every call.
"""

import datetime as dt
import xml.etree.ElementTree as ET

import pytest
from django.db import router
from django.db.models import F
from django.test import Client

from articles import ranking
from articles.models import Article
from articles.site import addresses, public
from articles.site.feeds import LatestFeed
from articles.site.search import search_articles
from articles.site.sitemaps import ArticleSitemap

from .factories import hours_ago, make_article, make_provider, make_topic

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("page_cache_off")]

SITEMAP = {"sm": "http://www.sitemaps.org/schemas/sitemap/0.9"}


@pytest.fixture
def scheduled(frozen_clock):
    """The clock every rule reads (articles.clock), frozen; `advance(minutes=...)`."""
    return frozen_clock


def go_live_at(article, moment):
    """Schedule `article` for `moment`: published, with a "go live at" time."""
    Article.objects.filter(pk=article.pk).update(status=Article.Status.PUBLISHED, go_live_at=moment)


def titles(rows):
    return [row["title"] for row in rows]


def list_shapes(topic, provider):
    return [
        public.StoryList(),
        public.StoryList(ranking.LATEST),
        public.StoryList(topic_id=topic.pk),
        public.StoryList(ranking.LATEST, provider_id=provider.pk),
        public.StoryList(minimum_heat=25),
        public.StoryList(ranking.LATEST, topic_id=topic.pk, minimum_heat=25),
    ]


# -- StoryList: the SQL text is kept, never the visibility rule's parameters ----------------


def test_a_list_shows_a_story_from_the_moment_it_goes_live_without_a_restart(scheduled):
    topic, provider = make_topic("Robots"), make_provider()
    live = make_article("Live", topics=[topic], provider=provider, published_at=hours_ago(2))
    later = make_article("Later", topics=[topic], provider=provider, published_at=hours_ago(1))
    go_live_at(live, scheduled.now - dt.timedelta(hours=1))
    go_live_at(later, scheduled.now + dt.timedelta(minutes=5))
    lists = list_shapes(topic, provider)

    for stories in lists:  # compiled now, with the clock at "before"
        assert titles(stories.rows(public.CARD_FIELDS, 0, 21)) == ["Live"], stories
    scheduled.advance(minutes=10)

    for stories in lists:  # the same lists, columns and slices: the SQL text is reused
        rows = stories.rows(public.CARD_FIELDS, 0, 21)
        assert titles(rows) == ["Later", "Live"], stories
        assert rows == list(stories.queryset().values(*public.CARD_FIELDS)), stories
    assert b"Later" in Client().get("/").content


@pytest.mark.parametrize("rule", ["real clock", "scheduled"])
def test_every_list_keeps_its_compiled_sql(request, rule):
    """The fast path holds for every shape of list, with today's rule and with a rule
    that depends on the moment (a list whose parameters were not shaped as expected
    would be compiled on every request: correct, but slow)."""
    if rule == "scheduled":
        request.getfixturevalue("scheduled")
    topic, provider = make_topic(), make_provider()
    alias = router.db_for_read(Article)
    for stories in list_shapes(topic, provider):
        compiled = public._compiled_rows_query(stories, ("title",), 0, 21, alias)
        assert compiled is not None, stories
        assert compiled[2], stories  # "now" has its places among the parameters


# -- The rule exists once: a change to published() reaches every public read ---------------


def test_a_scheduled_story_is_nowhere_public_until_it_goes_live(scheduled):
    topic, provider = make_topic("Robots", slug="robots"), make_provider(domain="bots.example")
    main = make_article("Main story", topics=[topic], provider=provider, published_at=hours_ago(3))
    later = make_article(
        "Scheduled robots story", topics=[topic], provider=provider, published_at=hours_ago(1)
    )
    main.related_stories.add(later)
    go_live_at(main, scheduled.now - dt.timedelta(hours=1))
    go_live_at(later, scheduled.now + dt.timedelta(minutes=5))
    browser = Client()

    def everywhere():
        """Where the scheduled story shows, page by page."""
        found = {
            url: "Scheduled robots story" in browser.get(url).content.decode()
            for url in (
                "/",
                "/?view=latest",
                "/topics/robots/",
                "/providers/bots.example/",
                main.get_absolute_url(),  # its related stories
                "/feed/",
                "/topics/robots/feed/atom/",
                "/api/news/",
                "/search/?q=scheduled",
            )
        }
        found["its own page"] = browser.get(later.get_absolute_url()).status_code == 200
        sitemap = ET.fromstring(browser.get("/sitemap-articles.xml").content)
        locations = [loc.text for loc in sitemap.findall("sm:url/sm:loc", SITEMAP)]
        found["sitemap"] = any(
            location.endswith(later.get_absolute_url()) for location in locations
        )
        return found

    before = everywhere()
    scheduled.advance(minutes=10)
    after = everywhere()

    assert not any(before.values()), before
    assert all(after.values()), after


def test_related_stories_follow_the_clock(scheduled):
    main = make_article("Main story")
    later = make_article("Later follow-up")
    main.related_stories.add(later)
    go_live_at(main, scheduled.now - dt.timedelta(hours=1))
    go_live_at(later, scheduled.now + dt.timedelta(minutes=1))

    def related():
        return [story.title for story in public.detail(public.published(), pk=main.pk).related_list]

    assert related() == []
    scheduled.advance(minutes=2)
    assert related() == ["Later follow-up"]


# -- "Latest" is named once ---------------------------------------------------------------


@pytest.fixture
def oldest_first(monkeypatch):
    """ranking's "Latest" turned around: whoever reads the one name follows."""
    order = (F("published_at").asc(), F("id").asc())
    monkeypatch.setattr(ranking, "LATEST_ORDER", order)
    monkeypatch.setitem(ranking.ORDERINGS, ranking.LATEST, order)


def test_sitemap_search_feeds_and_related_stories_follow_the_latest_order(oldest_first):
    # The same words: the same search rank, so "Latest" decides.
    old = make_article("Robots story", slug="old", published_at=hours_ago(3), excerpt="Robots.")
    new = make_article("Robots story", slug="new", published_at=hours_ago(1), excerpt="Robots.")
    main = make_article("Main story", published_at=hours_ago(2))
    main.related_stories.add(old, new)
    published = public.published()

    assert [a.pk for a in ArticleSitemap().items()] == [old.pk, main.pk, new.pk]
    assert [a.pk for a in search_articles(published, "robots story")] == [old.pk, new.pk]
    assert [a.pk for a in LatestFeed().items()] == [old.pk, main.pk, new.pk]
    related = public.detail(published, pk=main.pk).related_list
    assert [story.url for story in related] == [old.get_absolute_url(), new.get_absolute_url()]


# -- One builder for an article's address --------------------------------------------------


@pytest.fixture
def marked_addresses(monkeypatch):
    """addresses.article_path() builds "/built/<slug>/": whatever goes through the one
    builder says so."""
    real = addresses.reverse

    def reverse(name, kwargs):
        if name == "articles:detail":
            return f"/built/{kwargs['slug']}/"
        return real(name, kwargs=kwargs)

    builders = (addresses.article_path, addresses.topic_url, addresses.provider_url)
    for builder in builders:
        builder.cache_clear()
    monkeypatch.setattr(addresses, "reverse", reverse)
    yield
    for builder in builders:
        builder.cache_clear()


def test_public_pages_feeds_api_and_sitemap_take_the_address_from_one_builder(
    marked_addresses,
):
    main = make_article("Main story", slug="main-story")
    main.related_stories.add(make_article("Follow-up", slug="follow-up"))
    browser = Client()

    assert 'href="/built/main-story/"' in browser.get("/").content.decode()
    assert "/built/main-story/" in browser.get("/feed/").content.decode()
    items = browser.get("/api/news/").json()["value"]
    assert "http://testserver/built/main-story/" in [item["sourceUrl"] for item in items]
    assert public.detail(public.published(), pk=main.pk).related_list[0].url == (
        "/built/follow-up/"
    )


def test_get_absolute_url_takes_the_address_from_the_same_builder(marked_addresses):
    article = make_article("Main story", slug="main-story")

    assert article.get_absolute_url() == "/built/main-story/"
