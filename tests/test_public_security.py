"""Hostile imported text on the public site: it shows as text, and only http(s) links exist.

The rows are written straight to the database (create() and update() skip form
validation), as a buggy importer or a malicious file could leave them.
"""

import json
import re

import pytest

from articles.models import Article, ArticleImage, Provider

from .factories import make_article, make_coverage, make_provider, make_topic

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("page_cache_off")]

SCRIPT_TITLE = "<script>alert('title')</script> Robots & “quotes”"
IMG_EXCERPT = '<img src=x onerror="alert(1)"> and </p><p>broken markup'


@pytest.fixture
def hostile():
    topic = make_topic("<b>Topic</b>", slug="hostile-topic")
    topic.description = "<script>alert('desc')</script>"
    topic.save()
    provider = make_provider(
        domain="evil.example",
        name="<script>alert('provider')</script>",
        logos=[{"url": "javascript:alert('logo')", "width": 50, "height": 50}],
    )
    article = make_article(
        SCRIPT_TITLE,
        provider=provider,
        topics=[topic],
        excerpt=IMG_EXCERPT,
        body="Hello <script>alert('body')</script> [x](javascript:alert('md')) "
        '<img src="x" onerror="alert(1)">',
        images=0,
    )
    # Values no form would accept, as if a file or a bug had put them there.
    Article.objects.filter(pk=article.pk).update(
        web_url="javascript:alert('web')",
        original_url="data:text/html,<script>alert(1)</script>",
        amp_web_url="javascript:alert('amp')",
    )
    ArticleImage.objects.create(article=article, url="javascript:alert('img')", width=1, height=1)
    make_coverage(
        article,
        url="javascript:alert('coverage')",
        title="</a><script>alert('cov')</script>",
        images=[{"url": "javascript:alert('thumb')", "width": 1, "height": 1}],
    )
    make_coverage(article, url="https://fine.example/story", title="Fine coverage")
    article.refresh_from_db()
    assert article.web_url.startswith("javascript:")  # really stored as written
    assert Provider.objects.get(pk=provider.pk).logos[0]["url"].startswith("javascript:")
    return article


def _pages(article):
    return [
        "/",
        "/?view=latest",
        article.get_absolute_url(),
        "/topics/hostile-topic/",
        "/topics/",
        "/providers/evil.example/",
        "/search/?q=Robots",
    ]


def _assert_no_active_content(html, url):
    # The JSON-LD block holds data, not markup (its escaping has a test of its own).
    html = re.sub(r'<script type="application/ld\+json">.*?</script>', "", html, flags=re.S)
    assert "<script" not in html, url
    assert "<img src=x" not in html and 'onerror="' not in html, url
    assert "javascript:" not in html, url
    assert "data:text/html" not in html, url
    # Every link and image source is site-relative or http(s).
    for attribute in re.findall(r'(?:href|src)="([^"]*)"', html):
        assert attribute.startswith(("/", "http://", "https://", "?", "#")), (url, attribute)


def test_hostile_strings_are_shown_as_text_everywhere(client, hostile):
    for url in _pages(hostile):
        response = client.get(url)
        assert response.status_code == 200, url
        html = response.content.decode()
        _assert_no_active_content(html, url)
    detail = client.get(hostile.get_absolute_url()).content.decode()
    assert "&lt;script&gt;alert(&#39;title&#39;)&lt;/script&gt; Robots &amp; “quotes”" in detail
    assert "&lt;img src=x onerror=&#34;alert(1)&#34;&gt;" in detail
    assert "&lt;script&gt;alert(&#39;provider&#39;)&lt;/script&gt;" in detail
    assert "&lt;/a&gt;&lt;script&gt;alert(&#39;cov&#39;)&lt;/script&gt;" not in detail  # not a link
    assert 'href="https://fine.example/story"' in detail


def test_links_to_non_http_urls_are_left_out(client, hostile):
    html = client.get(hostile.get_absolute_url()).content.decode()
    assert "Read the full story" not in html  # no http(s) source URL to link to
    assert 'class="byline__logo"' not in html  # the logo URL is javascript:
    assert "<figure" not in html  # the only image has a javascript: URL
    assert 'property="og:image"' not in html


def test_json_ld_cannot_close_its_script_tag(client):
    article = make_article("</script><script>alert(1)</script>", excerpt="a & b < c")
    html = client.get(article.get_absolute_url()).content.decode()
    block = re.search(r'<script type="application/ld\+json">(.*?)</script>', html, re.S).group(1)
    assert "<" not in block and ">" not in block
    assert json.loads(block)["headline"] == "</script><script>alert(1)</script>"
    assert html.count("<script") == 1  # only the JSON-LD block


def test_page_html_has_no_inline_styles_or_scripts(client, hostile):
    for url in _pages(hostile):
        html = client.get(url).content.decode()
        assert " style=" not in html, url
        scripts = re.findall(r"<script[^>]*>", html)
        assert all(tag == '<script type="application/ld+json">' for tag in scripts), url


def test_search_query_is_escaped(client):
    make_article("Anything")
    html = client.get("/search/", {"q": '"><script>alert(1)</script>'}).content.decode()
    assert "<script>alert(1)" not in html
    assert "&#34;&gt;&lt;script&gt;" in html


def test_api_does_not_pass_on_non_http_urls(client, hostile):
    item = client.get("/api/news/").json()["value"][0]
    assert item["webUrl"] is None and item["ampWebUrl"] is None
    assert item["images"] == [] and item["provider"]["images"] == []
    assert "<img" not in item["excerpt"]


def test_unpublishing_removes_a_cached_page_at_once(
    client, settings, django_capture_on_commit_callbacks
):
    settings.NEWSROOM_PAGE_CACHE = "1"
    article = make_article("Cached then withdrawn")
    assert client.get(article.get_absolute_url()).status_code == 200
    with django_capture_on_commit_callbacks(execute=True):  # the page cache forgets on commit
        Article.objects.filter(pk=article.pk).reject()
    assert client.get(article.get_absolute_url()).status_code == 404
    assert b"Cached then withdrawn" not in client.get("/api/news/").content


def test_staff_see_the_same_public_pages_as_everyone(client, admin_user):
    """Public pages never show staff-only content, so a cached copy is safe to share."""
    draft = make_article("Staff-only draft", status=Article.Status.REVIEW)
    client.force_login(admin_user)
    assert client.get(draft.get_absolute_url()).status_code == 404
    assert b"Staff-only draft" not in client.get("/").content
