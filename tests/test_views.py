"""The public pages: what readers see, in what order, in how many queries, with which headers."""

import datetime as dt
import json
import re
import time
import xml.etree.ElementTree as ET
from html import unescape

import pytest
from django.db import connection
from django.template.loader import render_to_string
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from django.utils.http import http_date

from articles import changes
from articles.models import Article, Topic
from articles.site import public

from .factories import hours_ago, make_article, make_coverage, make_provider, make_topic
from .image_support import host_image, host_images_of

# Most tests look at fresh renders; the page cache has its own tests below.
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("page_cache_off")]

SITEMAP_NS = {"sm": "http://www.sitemaps.org/schemas/sitemap/0.9"}


def _titles(response):
    """The titles of the story cards, in page order (read from the HTML: Jinja2
    templates leave no `response.context` behind)."""
    html = response.content.decode()
    return [unescape(t) for t in re.findall(r'<h2 class="card__title"><a [^>]*>(.*?)</a>', html)]


# -- visibility -------------------------------------------------------------------------


def test_home_lists_only_published_stories(client):
    shown = make_article("Shown story")
    make_article("Waiting story", status=Article.Status.REVIEW)
    make_article("Refused story", status=Article.Status.REJECTED)
    response = client.get("/")
    assert response.status_code == 200
    assert _titles(response) == ["Shown story"]
    assert b"Waiting story" not in response.content
    assert b"Refused story" not in response.content
    assert shown.get_absolute_url().encode() in response.content


def test_card_images_have_their_size_and_load_lazily(client):
    for n in range(3):
        host_images_of(make_article(f"Pictured {n}", published_at=hours_ago(n + 1)))
    html = client.get("/?view=latest").content.decode()
    images = re.findall(
        r'<a class="card__media"[^>]*>\s*<picture><source [^>]*><img ([^>]*)>', html
    )
    assert len(images) == 3
    assert all('width="1200" height="675"' in image for image in images)
    assert 'fetchpriority="high"' in images[0]  # the first card is above the fold
    assert all('loading="lazy"' in image for image in images[1:])


@pytest.mark.parametrize("status", [Article.Status.REVIEW, Article.Status.REJECTED])
def test_unpublished_article_pages_are_404(client, status):
    article = make_article("Not for readers", status=status)
    response = client.get(article.get_absolute_url())
    assert response.status_code == 404
    assert b"Not for readers" not in response.content


@pytest.mark.parametrize("status", [Article.Status.REVIEW, Article.Status.REJECTED])
def test_unpublished_stories_are_absent_from_topic_provider_and_search(client, status):
    topic = make_topic("Robotics")
    provider = make_provider(domain="robots.example")
    make_article("Public robot news", topics=[topic], provider=provider)
    make_article("Secret robot news", topics=[topic], provider=provider, status=status)
    for url in (topic.get_absolute_url(), provider.get_absolute_url(), "/search/?q=robot"):
        response = client.get(url)
        assert response.status_code == 200, url
        assert _titles(response) == ["Public robot news"], url
        assert b"Secret robot news" not in response.content


def test_related_stories_show_only_published_ones(client):
    article = make_article("Main story")
    public = make_article("Public follow-up")
    draft = make_article("Draft follow-up", status=Article.Status.REVIEW)
    article.related_stories.add(public, draft)
    response = client.get(article.get_absolute_url())
    assert public.get_absolute_url().encode() in response.content
    assert b"Draft follow-up" not in response.content
    assert draft.get_absolute_url().encode() not in response.content


# -- ordering and paging ----------------------------------------------------------------


def test_top_weighs_heat_against_age_with_unknown_heat_last(client):
    # 48 hours per tenfold heat (articles/ranking.py): the scores in hours, from now.
    make_article("hot, three days old", heat=150, published_at=hours_ago(72))  # +32.7
    make_article("warm, two hours old", heat=100, published_at=hours_ago(2))  # +94.2
    make_article("cool, just out", heat=20, published_at=hours_ago(0.5))  # +63.0
    make_article("computed from quality", quality=150, published_at=hours_ago(10))  # +94.6
    make_article("unknown heat", quality=None, published_at=hours_ago(0))
    expected = [
        "computed from quality",
        "warm, two hours old",
        "cool, just out",
        "hot, three days old",
        "unknown heat",
    ]
    assert _titles(client.get("/")) == expected
    assert _titles(client.get("/?view=top")) == expected


def test_latest_orders_by_source_date(client):
    make_article("old", heat=300, published_at=hours_ago(30))
    make_article("new", heat=1, published_at=hours_ago(1))
    make_article("middle", heat=None, published_at=hours_ago(10))
    assert _titles(client.get("/?view=latest")) == ["new", "middle", "old"]


def test_pages_of_twenty_and_links_keep_the_filters(client):
    for n in range(25):
        make_article(f"Story {n:02d}", published_at=hours_ago(n + 1))
    first = client.get("/?view=latest")
    assert len(_titles(first)) == 20
    html = first.content.decode()
    assert 'href="/?view=latest&amp;page=2"' in html
    second = client.get("/?view=latest&page=2")
    assert _titles(second) == [f"Story {n:02d}" for n in range(20, 25)]
    assert 'rel="next"' not in second.content.decode()
    # Back to page 1 keeps the view but drops the page number.
    assert 'href="/?view=latest"' in second.content.decode()


@pytest.mark.parametrize(
    "page", ["3", "0", "-1", "abc", "1.5", "99999999999999999999999", "１", "%201", "%2B1", "0_1"]
)
def test_bad_or_past_the_end_pages_are_404(client, page):
    """Only ASCII digits are a page number (int() also takes "１", " 1", "+1", "0_1")."""
    article = make_article(topics=[make_topic("Robots", slug="robots")])
    for url in ("/", "/topics/robots/", f"/providers/{article.provider.domain}/", "/search/?q=x&"):
        response = client.get(f"{url}{'&' if '?' in url else '?'}page={page}")
        assert response.status_code == 404, url


def test_unknown_view_falls_back_to_top(client):
    make_article("only")
    assert client.get("/?view=<script>").status_code == 200


def test_story_list_rows_equal_the_orms_values_and_are_never_stale(client):
    """StoryList.rows() runs SQL compiled once per page: the same rows as the ORM's
    values(), converted alike (aware datetimes, decoded JSON), and fresh every time."""
    topic = make_topic("Chips")
    provider = make_provider(domain="chips.example", logos=[{"url": "https://l.example/a.png"}])
    for n in range(7):
        make_article(
            f"Story {n}",
            topics=[topic] if n % 2 else [],
            provider=provider if n % 3 else None,
            heat=None if n == 4 else 10 * n,
            quality=None if n == 5 else n,
        )
    make_article("Draft", topics=[topic], provider=provider, status=Article.Status.REVIEW)
    lists = [
        public.StoryList(),
        public.StoryList("latest"),
        public.StoryList(topic_id=topic.pk),
        public.StoryList("latest", provider_id=provider.pk),
        public.StoryList(minimum_heat=25),
    ]
    for stories in lists:
        expected = list(stories.queryset().values(*public.CARD_FIELDS))
        assert stories.rows(public.CARD_FIELDS, 0, 21) == expected, stories
        assert stories.rows(public.CARD_FIELDS, 2, 4) == expected[2:4], stories
    row = public.StoryList("latest", provider_id=provider.pk).rows(public.CARD_FIELDS, 0, 1)[0]
    assert timezone.is_aware(row["published_at"])
    assert row["provider__logos"] == [{"url": "https://l.example/a.png"}]
    assert "Draft" not in [r["title"] for r in public.StoryList().rows(("title",), 0, 50)]

    # The compiled SQL is kept; the rows are not.
    make_article("Newest and hottest", heat=1000)
    # (the same list, columns and slice as compiled above)
    assert public.StoryList().rows(public.CARD_FIELDS, 0, 21)[0]["title"] == "Newest and hottest"
    assert _titles(client.get("/"))[0] == "Newest and hottest"


# -- queries do not grow with the page ------------------------------------------------------


def _count_queries(client, url):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200, url
    return len(queries)


def _many(count, topic, provider, prefix):
    for n in range(count):
        make_article(
            f"Bulk {prefix} {n}", topics=[topic], provider=provider, published_at=hours_ago(n + 1)
        )


def test_list_pages_run_a_constant_number_of_queries(client):
    topic = make_topic("Vision")
    provider = make_provider(domain="lots.example")
    _many(20, topic, provider, "a")
    urls = ["/", "/?view=latest", topic.get_absolute_url(), provider.get_absolute_url()]
    urls += ["/search/?q=Bulk", "/topics/"]
    small = {url: _count_queries(client, url) for url in urls}
    _many(200, topic, provider, "b")
    for url in urls:
        assert _count_queries(client, url) == small[url], url
    # Article, provider (joined), topics, images, stories, navigation, the page's cached
    # pictures: a handful, not dozens.
    assert small["/"] <= 6


def test_article_page_runs_a_constant_number_of_queries(client):
    topic = make_topic()
    one = make_article(topics=[topic])
    make_coverage(one)
    one.related_stories.add(make_article())
    many = make_article(topics=[topic, make_topic(), make_topic()], images=3)
    for _ in range(10):
        make_coverage(many)
        many.related_stories.add(make_article())
    assert _count_queries(client, one.get_absolute_url()) == _count_queries(
        client, many.get_absolute_url()
    )
    assert _count_queries(client, many.get_absolute_url()) <= 8  # 7 before the image cache


# -- the article page ---------------------------------------------------------------------------


def test_article_page_shows_the_story(client):
    provider = make_provider(
        domain="cnet.com",
        name="CNET",
        logos=[{"url": "https://logos.example/cnet.jpg", "width": 50, "height": 50}],
    )
    topic = make_topic("Computer Vision", slug="computer-vision")
    article = make_article(
        "Cameras learn to see",
        provider=provider,
        topics=[topic],
        excerpt="A short summary.",
        body="First paragraph with **bold** text.",
        original_url="https://cnet.com/original",
        published_at=dt.datetime(2020, 12, 10, 9, 30, tzinfo=dt.UTC),
    )
    make_coverage(article, url="https://elsewhere.example/story", title="Elsewhere's take")
    host_images_of(article)
    assert article.get_absolute_url() == "/2020/12/10/cameras-learn-to-see/"
    response = client.get(article.get_absolute_url())
    html = response.content.decode()
    assert response.status_code == 200
    assert "<h1" in html and "Cameras learn to see</h1>" in html
    assert "A short summary." in html
    assert "<strong>bold</strong>" in html
    assert '<img class="byline__logo" src="/media/images/' in html and ">CNET</a>" in html
    assert "logos.example" not in html  # our copy, never the outlet's URL
    assert (
        '<time datetime="2020-12-10T09:30:00+00:00" title="10 Dec 2020, 09:30 UTC">10 Dec 2020</time>'
        in html
    )
    image = re.search(
        r'<figure class="story__figure">\s*<picture><source [^>]*><img ([^>]*)>', html
    )
    image = image.group(1)
    assert 'width="1200"' in image and 'height="675"' in image
    assert 'alt=""' in image  # not the headline again: it is right above
    assert 'href="/topics/computer-vision/"' in html
    assert 'href="https://cnet.com/original" rel="noopener noreferrer"' in html
    assert 'href="https://elsewhere.example/story" rel="noopener noreferrer"' in html
    assert "Elsewhere&#39;s take" in html


def test_article_page_lists_coverage_and_related_stories_in_the_site_time_zone(client, settings):
    settings.TIME_ZONE = "Europe/Berlin"  # dates shown in the site's zone, not UTC
    article = make_article("Main story")
    late_evening = dt.datetime(2020, 12, 10, 23, 30, tzinfo=dt.UTC)  # 11 Dec in Berlin
    make_coverage(
        article,
        url="https://second.example/a",
        title="Second outlet",
        position=1,
        provider_name="",
        provider_domain="second.example",
    )
    make_coverage(
        article,
        url="https://first.example/a",
        title="First outlet",
        position=0,
        provider_name="First Outlet",
        published_at=late_evening,
        images=[{"url": "https://img.example/c.jpg", "width": 120, "height": 80}],
    )
    host_image("https://img.example/c.jpg", size=(120, 80))
    older = make_article("Older follow-up", published_at=dt.datetime(2020, 1, 5, tzinfo=dt.UTC))
    newer = make_article("Newer follow-up", published_at=late_evening)
    article.related_stories.add(older, newer)
    html = client.get(article.get_absolute_url()).content.decode()

    coverage = html[html.index('class="coverage"') : html.index('class="related"')]
    assert coverage.index("First outlet") < coverage.index("Second outlet")  # file order
    assert "First Outlet · <time" in coverage and ">second.example</p>" in coverage
    assert '<time datetime="2020-12-11T00:30:00+01:00">11 Dec 2020</time>' in coverage
    assert re.search(
        r'<img class="coverage__thumb" src="/media/images/[^"]+" srcset="[^"]+" sizes="88px" width="120" height="80"',
        coverage,
    )
    related = html[html.index('class="related"') :]
    assert related.index("Newer follow-up") < related.index("Older follow-up")  # newest first
    assert f'href="{newer.get_absolute_url()}"' in related
    assert '<time datetime="2020-12-11T00:30:00+01:00">11 Dec 2020</time>' in related


def test_article_with_the_wrong_date_redirects_to_its_address(client):
    article = make_article(published_at=dt.datetime(2021, 3, 11, 15, 38, tzinfo=dt.UTC))
    response = client.get(f"/2021/03/12/{article.slug}/")
    assert response.status_code == 301
    assert response["Location"] == article.get_absolute_url()
    assert client.get("/2021/03/11/no-such-story/").status_code == 404


def test_article_page_has_seo_tags_and_json_ld(client):
    article = make_article("A headline", excerpt="What happened, in short.")
    host_images_of(article)
    html = client.get(article.get_absolute_url()).content.decode()
    canonical = f"http://testserver{article.get_absolute_url()}"
    assert "<title>A headline — Newsroom</title>" in html
    assert '<meta name="description" content="What happened, in short.">' in html
    assert f'<link rel="canonical" href="{canonical}">' in html
    assert '<meta property="og:title" content="A headline">' in html
    assert re.search(
        r'<meta property="og:image" content="http://testserver/media/images/[^"]+/800.jpg">', html
    )
    # The size of that file (800 of the 1,200 pixels the page's <picture> goes up to).
    assert '<meta property="og:image:width" content="800">' in html
    assert '<meta property="og:image:height" content="450">' in html
    assert '<meta name="twitter:card" content="summary_large_image">' in html
    block = re.search(r'<script type="application/ld\+json">(.*?)</script>', html, re.S)
    data = json.loads(block.group(1))
    assert data["@type"] == "NewsArticle"
    assert data["headline"] == "A headline"
    assert data["url"] == canonical
    assert data["image"][0].startswith("http://testserver/media/images/")
    # This site publishes the page; the outlet wrote the story (tests/test_structured_data.py).
    assert data["publisher"]["name"] == "Newsroom"
    assert data["author"] == [data["sourceOrganization"]]
    assert data["sourceOrganization"]["name"] == str(article.provider)
    assert data["datePublished"].startswith(article.published_at.strftime("%Y-%m-%dT%H:%M"))


def test_every_page_has_title_description_canonical_and_feed_links(client):
    topic = make_topic("Ethics", description="Right and wrong in AI.")
    article = make_article(topics=[topic])
    pages = ["/", "/?view=latest&page=1&utm_source=x", topic.get_absolute_url(), "/topics/"]
    pages += [article.provider.get_absolute_url(), "/search/?q=x", article.get_absolute_url()]
    for url in pages:
        html = client.get(url).content.decode()
        assert re.search(r"<title>[^<]+ — Newsroom</title>|<title>Newsroom — ", html), url
        assert re.search(r'<meta name="description" content="[^"]+">', html), url
        assert '<link rel="canonical" href="http://testserver/' in html, url
        assert '<link rel="alternate" type="application/rss+xml"' in html, url
        assert "utm_source" not in re.search(r'rel="canonical" href="([^"]*)"', html).group(1)


# -- topics and providers ------------------------------------------------------------------------


def test_topic_page_shows_description_parent_children_and_feeds(client):
    root = make_topic("AI", slug="ai")
    topic = make_topic("Machine Learning", slug="machine-learning", parent=root)
    topic.description = "Systems that learn from data."
    topic.save()
    child = make_topic("Deep Learning", slug="deep-learning", parent=topic)
    make_article("In topic", topics=[topic])
    make_article("Elsewhere", topics=[root])
    response = client.get("/topics/machine-learning/")
    html = response.content.decode()
    assert _titles(response) == ["In topic"]
    assert "Systems that learn from data." in html
    assert f'href="{root.get_absolute_url()}"' in html
    assert f'href="{child.get_absolute_url()}"' in html
    assert 'href="/topics/machine-learning/feed/"' in html
    assert 'href="/topics/machine-learning/feed/atom/"' in html
    assert client.get("/topics/no-such-topic/").status_code == 404


def test_topic_index_lists_every_topic(client):
    root = make_topic("AI", slug="ai")
    nlp = make_topic("Natural Language Processing", slug="nlp", parent=root)
    make_topic("Large Language Models", slug="llms", parent=nlp)
    make_topic("PyTorch", slug="pytorch", kind=Topic.Kind.TAG)
    html = client.get("/topics/").content.decode()
    for slug in ("ai", "nlp", "llms", "pytorch"):
        assert f'href="/topics/{slug}/"' in html


def test_masthead_navigation_links_first_level_topics(client):
    root = make_topic("AI", slug="ai")
    make_topic("AI in Healthcare", slug="ai-in-healthcare", parent=root, short_name="Health")
    html = client.get("/").content.decode()
    nav = re.search(r'<nav class="topic-nav".*?</nav>', html, re.S).group(0)
    assert 'href="/topics/ai-in-healthcare/">Health</a>' in nav
    assert 'href="/topics/"' in nav


def test_provider_page_and_empty_or_unknown_providers(client):
    provider = make_provider(domain="techcrunch.com", name="TechCrunch")
    make_article("From TC", provider=provider)
    make_article("Other outlet")
    response = client.get("/providers/techcrunch.com/")
    assert _titles(response) == ["From TC"]
    assert b"TechCrunch" in response.content
    only_drafts = make_provider(domain="drafts.example")
    make_article(provider=only_drafts, status=Article.Status.REVIEW)
    assert client.get("/providers/drafts.example/").status_code == 404
    assert client.get("/providers/unknown.example/").status_code == 404


# -- search ------------------------------------------------------------------------------------


def test_search_matches_title_excerpt_and_body(client):
    make_article("Quantum chips arrive", excerpt="x")
    make_article("Other", excerpt="A story about quantum error rates")
    make_article("Third", body="Deep in the body: quantum.")
    make_article("Unrelated")
    response = client.get("/search/?q=quantum")
    assert sorted(_titles(response)) == ["Other", "Quantum chips arrive", "Third"]
    assert b"noindex" in response.content


def test_empty_search_shows_the_form(client):
    response = client.get("/search/")
    assert response.status_code == 200
    assert _titles(response) == []
    assert b'name="q"' in response.content


# -- error pages, robots, sitemap ---------------------------------------------------------------------


def test_404_page_is_helpful(client):
    response = client.get("/no/such/page/")
    assert response.status_code == 404
    html = response.content.decode()
    assert "find that page" in html
    assert 'action="/search/"' in html and 'href="/topics/"' in html


def test_500_page_renders_without_a_database_or_request():
    html = render_to_string("500.html")
    assert "Something went wrong" in html and 'href="/"' in html


def test_robots_txt_points_at_the_sitemap(client):
    response = client.get("/robots.txt")
    assert response["Content-Type"].startswith("text/plain")
    assert "Sitemap: http://testserver/sitemap.xml" in response.content.decode()
    assert "Disallow: /admin/" in response.content.decode()


def test_sitemap_lists_published_articles_with_lastmod(client):
    topic = make_topic("Robots", slug="robots")  # listed: it has a published story
    public = make_article("Public", topics=[topic])
    draft = make_article("Draft", status=Article.Status.REVIEW)
    index = ET.fromstring(client.get("/sitemap.xml").content)
    sections = [loc.text for loc in index.findall("sm:sitemap/sm:loc", SITEMAP_NS)]
    assert "http://testserver/sitemap-articles.xml" in sections
    assert index.find("sm:sitemap/sm:lastmod", SITEMAP_NS) is not None

    articles = ET.fromstring(client.get("/sitemap-articles.xml").content)
    urls = {
        u.find("sm:loc", SITEMAP_NS).text: u.find("sm:lastmod", SITEMAP_NS).text
        for u in articles.findall("sm:url", SITEMAP_NS)
    }
    assert f"http://testserver{public.get_absolute_url()}" in urls
    assert urls[f"http://testserver{public.get_absolute_url()}"].startswith(
        public.updated_at.strftime("%Y-%m-%d")
    )
    assert f"http://testserver{draft.get_absolute_url()}" not in urls
    topics = client.get("/sitemap-topics.xml").content.decode()
    assert f"http://testserver{topic.get_absolute_url()}" in topics


# -- HTTP caching -----------------------------------------------------------------------------------


def test_pages_carry_validators_and_answer_304(client):
    article = make_article()
    for url in ("/", article.get_absolute_url(), "/topics/"):
        response = client.get(url)
        assert response.has_header("ETag"), url
        assert "public" in response["Cache-Control"] and "max-age=" in response["Cache-Control"]
        again = client.get(url, headers={"if-none-match": response["ETag"]})
        assert again.status_code == 304, url


def test_a_page_changed_by_another_article_is_not_revalidated_by_its_date(client):
    """Only the ETag validates: a related story taken down changes the article page
    and removes an item from the feed without moving any date they show, so neither
    sends a Last-Modified that If-Modified-Since could answer with a 304."""
    article = make_article("The article")
    related = make_article("The related story", published_at=article.published_at)
    article.related_stories.add(related)
    pages = [article.get_absolute_url(), "/feed/", "/feed/atom/", "/sitemap-articles.xml"]
    shown = related.get_absolute_url()
    before = {url: client.get(url) for url in pages}
    assert all(shown in response.content.decode() for response in before.values())
    Article.objects.filter(pk=related.pk).set_status(Article.Status.REVIEW)
    for url, response in before.items():
        assert response.status_code == 200, url
        assert not response.has_header("Last-Modified"), url
        since = client.get(url, headers={"if-modified-since": http_date(time.time() + 60)})
        assert since.status_code == 200, url
        stale = client.get(url, headers={"if-none-match": response["ETag"]})
        assert stale.status_code == 200, url
        assert shown not in stale.content.decode(), url


def test_public_pages_set_no_cookie_and_do_not_vary_on_it(client):
    make_article()
    response = client.get("/")
    assert not response.cookies
    assert "Cookie" not in response.get("Vary", "")


def test_page_cache_serves_repeat_requests_without_queries(client, settings):
    settings.NEWSROOM_PAGE_CACHE = "1"
    article = make_article("Cached story")
    first = client.get("/")
    with CaptureQueriesContext(connection) as queries:
        second = client.get("/")
    assert len(queries) == 0
    assert second.content == first.content
    assert second["ETag"] == first["ETag"]
    assert client.get(article.get_absolute_url()).status_code == 200


def test_page_cache_forgets_pages_when_articles_change(
    client, settings, django_capture_on_commit_callbacks
):
    settings.NEWSROOM_PAGE_CACHE = "1"
    article = make_article("Soon withdrawn")
    url = article.get_absolute_url()
    assert client.get(url).status_code == 200
    assert b"Soon withdrawn" in client.get("/").content

    # Each change forgets the pages once its transaction commits (changes.record()).
    # A bulk QuerySet method (.update() underneath, no signals) must invalidate too.
    with django_capture_on_commit_callbacks(execute=True):
        Article.objects.filter(pk=article.pk).return_to_review()
    assert client.get(url).status_code == 404
    assert b"Soon withdrawn" not in client.get("/").content

    with django_capture_on_commit_callbacks(execute=True):
        Article.objects.filter(pk=article.pk).publish()
    assert client.get(url).status_code == 200

    # Code that saves an article itself records the change; a topic change (taggit's
    # m2m_changed) is recorded by its receiver.
    with django_capture_on_commit_callbacks(execute=True):
        article.title = "Renamed story"
        article.save()
        changes.record([article.pk], {"title"}, source=changes.Source.SYSTEM)
    assert b"Renamed story" in client.get("/").content
    topic = make_topic("Late topic", slug="late-topic")
    with django_capture_on_commit_callbacks(execute=True):
        article.topics.add(topic)
    assert b"/topics/late-topic/" in client.get("/").content


def test_page_cache_keys_include_the_query_string(client, settings):
    settings.NEWSROOM_PAGE_CACHE = "1"
    for n in range(21):
        make_article(f"S{n}", published_at=hours_ago(n + 1))
    assert _titles(client.get("/?view=latest")) == [f"S{n}" for n in range(20)]
    second = client.get("/?view=latest&page=2")
    assert b">S20</a>" in second.content


def test_reverse_of_named_routes():
    assert reverse("articles:home") == "/"
    assert reverse("articles:topic", kwargs={"slug": "ai"}) == "/topics/ai/"
    assert reverse("articles:provider", kwargs={"domain": "a.example"}) == "/providers/a.example/"


def test_memoised_article_address_matches_get_absolute_url():
    from articles.site.addresses import article_url

    article = make_article(published_at=dt.datetime(2020, 1, 2, 23, 59, tzinfo=dt.UTC))
    assert article_url(article) == article.get_absolute_url()


def test_links_back_to_page_one_and_top_have_no_bare_question_mark(client):
    for n in range(25):
        make_article(f"Paging story {n}")
    page2 = client.get("/?page=2").content.decode()
    assert 'href="/"' in page2 and 'href="/?"' not in page2
    latest = client.get("/?view=latest&page=2").content.decode()
    assert 'href="/?view=latest"' in latest  # previous page keeps the view
    assert 'href="/"' in latest  # the Top tab drops both


def test_the_templates_truncatechars_cuts_as_djangos_does():
    from django.template.defaultfilters import truncatechars as djangos

    from articles.site.templating import truncatechars

    for text in ["short", "a" * 500, "e\u0301" * 300, "word " * 100, 12345]:
        assert truncatechars(text, 160) == djangos(text, 160)


def test_a_topic_is_read_with_its_parent_in_one_query():
    from django.http import Http404

    from articles.site import public
    from tests.factories import make_topic

    root = make_topic("Robotics", description="Machines that move.")
    child = make_topic("Drones", parent=root)
    with CaptureQueriesContext(connection) as queries:
        found = public.topic_at("drones")
        assert (found.pk, found.name, found.parent.name) == (child.pk, "Drones", "Robotics")
        assert found.parent.description == "Machines that move."
    assert len(queries) == 1
    assert public.topic_at("robotics").parent is None  # no parent: the LEFT JOIN's NULLs
    with pytest.raises(Http404):
        public.topic_at("nothing-here")
