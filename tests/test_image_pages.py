"""Pages, feeds, the API, the export and the admin with the image cache: our copies or
placeholders, never the outlet's image URL."""

import datetime as dt
import io
import re
from html.parser import HTMLParser
from urllib.parse import urlsplit

import feedparser
import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from articles.imagecache import pictures
from articles.models import Article, ImageSource, Provider, Topic
from tests.admin_support import make_staff
from tests.conftest import FIXTURES
from tests.factories import make_article, make_coverage, make_provider, make_topic, run_import
from tests.image_support import host_image, host_images_of, image_bytes

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("page_cache_off")]


class ImageRefs(HTMLParser):
    """Every image URL a browser would load from a page: <img src/srcset>, <source srcset>,
    and whether each card or figure holds a picture or a placeholder."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.urls = []
        self.placeholders = 0
        self.pictures = 0

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "img":
            self.urls.append(attrs.get("src") or "")
        if tag in ("img", "source") and attrs.get("srcset"):
            self.urls += [part.split()[0] for part in attrs["srcset"].split(",")]
        if tag == "picture":
            self.pictures += 1
        if "placeholder" in (attrs.get("class") or "").split():
            self.placeholders += 1


def image_refs(html) -> ImageRefs:
    parser = ImageRefs()
    parser.feed(html)
    return parser


def ours(url):
    """A URL on this site: a path, or an absolute URL on the test server."""
    parts = urlsplit(url)
    return (
        bool(url)
        and parts.netloc in ("", "testserver")
        and url.startswith(("/", "http://testserver/"))
    )


def every_page(client):
    """One of each public page type (every topic, outlet and article of the demo)."""
    urls = ["/", "/?view=latest", "/?page=2", "/topics/", "/search/?q=model"]
    urls += [topic.get_absolute_url() for topic in Topic.objects.all() if topic.get_absolute_url()]
    urls += [
        p.get_absolute_url()
        for p in Provider.objects.filter(articles__status="published").distinct()
    ]
    urls += [a.get_absolute_url() for a in Article.objects.published()]
    pages = {}
    for url in urls:
        response = client.get(url)
        assert response.status_code == 200, url
        pages[url] = response.content.decode()
    return pages


@pytest.fixture
def demo_images(settings):
    """The demo content's made-up image host answered from fixtures/images/, as `make run` does."""
    settings.NEWSROOM_IMAGE_SOURCES = {"https://images.example.org/": FIXTURES / "images"}


def test_demo_site_pages_show_only_our_images_before_and_after_caching(client, demo_images):
    code, _, err = run_import(FIXTURES)
    assert code == 0, err
    before = every_page(client)
    assert len(before) > 50  # every page type, every topic, outlet and article
    for url, html in before.items():
        refs = image_refs(html)
        assert all(ours(ref) for ref in refs.urls), (url, [r for r in refs.urls if not ours(r)])
        assert "images.example.org" not in html, url
    assert image_refs(before["/"]).placeholders >= 20  # nothing cached yet: placeholders

    out = io.StringIO()
    call_command("cache_images", stdout=out)
    assert re.search(r"(\d+) new image URLs; \1 cached\.", out.getvalue()), out.getvalue()
    after = every_page(client)
    for url, html in after.items():
        refs = image_refs(html)
        assert all(ours(ref) for ref in refs.urls), (url, [r for r in refs.urls if not ours(r)])
        assert all(ref.startswith("/media/images/") or "/static/" in ref for ref in refs.urls), url
        assert refs.placeholders == 0, url  # every demo image has its picture now
    home = image_refs(after["/"])
    # Each placeholder of the home page became its picture (card images and logos).
    assert home.pictures == image_refs(before["/"]).placeholders
    for url in set(home.urls):  # and every file they name is in the media storage
        assert default_storage.exists(url.removeprefix("/media/")), url


def test_every_demo_image_has_its_drawn_file():
    out = io.StringIO()
    call_command("demo_images", "--check", stdout=out)
    assert re.match(r"\d+ demo images present", out.getvalue())
    sizes = [path.stat().st_size for path in (FIXTURES / "images").rglob("*.*")]
    assert max(sizes) < 20_000  # small files made for the project


# -- placeholders -----------------------------------------------------------------------------


def test_an_uncached_image_is_a_placeholder_with_the_outlets_initials_and_topic_colour(client):
    topic = make_topic("Robotics", slug="robotics")
    provider = make_provider(
        name="Harbor City Herald", logos=[{"url": "https://logos.example/h.png"}]
    )
    article = make_article("Robots", provider=provider, topics=[topic])
    make_coverage(
        article, images=[{"url": "https://thumbs.example/t.jpg", "width": 300, "height": 200}]
    )
    hue = pictures.hue("robotics")

    home = client.get("/").content.decode()
    media = re.search(r'<a class="card__media"[^>]*>(.*?)</a>', home, re.S).group(1)
    assert "<img" not in media
    assert f'<span class="placeholder placeholder--hue-{hue}">' in media
    assert '<span class="placeholder__initials" aria-hidden="true">HC</span>' in media
    assert "img.example" not in home and "logos.example" not in home

    page = client.get(article.get_absolute_url()).content.decode()
    figure = re.search(r'<figure class="story__figure">(.*?)</figure>', page, re.S).group(1)
    # The picture's shape, as the file declared it (1200 x 675): nothing moves when it arrives.
    assert '<svg viewBox="0 0 1200 675" width="1200" height="675"' in figure
    assert "role=" not in figure  # its title would only repeat the headline above it
    article.images.update(title="A robot arm sorting parcels")
    page = client.get(article.get_absolute_url()).content.decode()
    figure = re.search(r'<figure class="story__figure">(.*?)</figure>', page, re.S).group(1)
    assert 'role="img" aria-label="A robot arm sorting parcels"' in figure
    assert 'class="placeholder placeholder--hue-' in page.split('class="coverage"')[1]
    assert "og:image" not in page and '"image":' not in page  # nothing to share yet
    assert "style=" not in page  # the strict CSP: no inline style


def test_a_cached_image_replaces_its_placeholder_at_the_same_shape(client):
    article = make_article("Pictured")
    before = client.get(article.get_absolute_url()).content.decode()
    host_images_of(article)
    after = client.get(article.get_absolute_url()).content.decode()
    assert '<svg viewBox="0 0 1200 675"' in before
    image = re.search(
        r'<figure class="story__figure">\s*<picture>(.*?)</picture>', after, re.S
    ).group(1)
    assert '<source type="image/webp" srcset="/media/images/' in image
    assert 'sizes="(min-width: 1100px) 760px, 100vw"' in image
    assert 'width="1200" height="675"' in image  # 1200:675, as the placeholder was


def test_an_editors_upload_takes_precedence(client, settings):
    article = make_article("Uploaded")
    host_images_of(article)
    article.lead_image.save(
        "mine.png", SimpleUploadedFile("mine.png", image_bytes("PNG", size=(640, 360)))
    )
    page = client.get(article.get_absolute_url()).content.decode()
    figure = re.search(r'<figure class="story__figure">(.*?)</figure>', page, re.S).group(1)
    assert 'src="/media/lead-images/' in figure and "/media/images/" not in figure


def test_looking_up_the_pages_pictures_is_one_query(client, django_assert_num_queries):
    from articles.site import public

    urls = [f"https://img.example/{n}.jpg" for n in range(30)]
    for url in urls[:5]:
        host_image(url, size=(200, 100))
    with django_assert_num_queries(1):
        found = public.hosted_pictures(urls)
    assert sorted(found) == sorted(urls[:5])


# -- feeds --------------------------------------------------------------------------------------


def test_feeds_carry_the_lead_rendition_as_enclosure_and_media_content(client):
    cached = make_article("With picture")
    picture = host_image(cached.images.first().url, size=(1600, 900))
    make_article("Without picture yet")
    rss = feedparser.parse(client.get("/feed/").content)
    atom = feedparser.parse(client.get("/feed/atom/").content)
    for feed in (rss, atom):
        assert not feed.bozo, feed.bozo_exception
        entries = {entry.title: entry for entry in feed.entries}
        (enclosure,) = entries["With picture"].enclosures
        assert (
            enclosure.href
            == f"http://testserver/media/images/{picture.sha256[:2]}/{picture.sha256}/800.jpg"
        )
        assert enclosure.type == "image/jpeg"
        assert int(enclosure.length) == picture.served_bytes["800.jpg"]
        (media,) = entries["With picture"].media_content
        assert (media["url"], media["width"], media["height"]) == (enclosure.href, "800", "450")
        assert entries["Without picture yet"].enclosures == []  # never the outlet's URL
        assert "media_content" not in entries["Without picture yet"]


def test_each_outlet_has_feeds_advertised_on_its_page(client):
    outlet = make_provider(domain="techwire.example", name="TechWire")
    mine = make_article("Ours", provider=outlet)
    host_images_of(mine)
    make_article("Someone else's")
    page = client.get(outlet.get_absolute_url()).content.decode()
    assert (
        '<link rel="alternate" type="application/rss+xml" title="Newsroom: stories from TechWire (RSS)" href="/providers/techwire.example/feed/">'
        in page
    )
    assert 'href="/providers/techwire.example/feed/atom/"' in page
    for path in ("/providers/techwire.example/feed/", "/providers/techwire.example/feed/atom/"):
        feed = feedparser.parse(client.get(path).content)
        assert not feed.bozo
        assert feed.feed.title == "Newsroom: stories from TechWire"
        assert [entry.title for entry in feed.entries] == ["Ours"]
        assert feed.entries[0].enclosures[0].type == "image/jpeg"
    assert client.get("/providers/nowhere.example/feed/").status_code == 404


def test_an_outlet_with_nothing_published_has_no_feed(client):
    """Like its page: a feed would say which outlet a story still unreleased comes from."""
    waiting = make_provider(domain="embargo.example", name="Embargo Outlet")
    make_article("Not yet", provider=waiting, status=Article.Status.REVIEW)
    make_article("Scheduled", provider=waiting, go_live_at=timezone.now() + dt.timedelta(days=1))
    for path in ("/providers/embargo.example/", "/providers/embargo.example/feed/"):
        assert client.get(path).status_code == 404, path
    assert client.get("/providers/embargo.example/feed/atom/").status_code == 404


# -- API and export -------------------------------------------------------------------------------


def test_the_api_keeps_the_original_urls_and_adds_ours(client):
    article = make_article(
        provider=make_provider(
            logos=[{"url": "https://logos.example/l.png", "width": 50, "height": 50}]
        )
    )
    picture = host_image(article.images.first().url)
    item = client.get("/api/news/").json()["value"][0]
    (image,) = item["images"]
    assert image["url"] == article.images.first().url
    assert (
        image["renditionUrl"]
        == f"http://testserver/media/images/{picture.sha256[:2]}/{picture.sha256}/800.jpg"
    )
    assert item["provider"]["images"][0]["renditionUrl"] is None  # the logo: not cached


def test_export_still_writes_the_original_image_urls(tmp_path, demo_images):
    run_import(
        FIXTURES
        / "news"
        / "2025-09-03-open-weight-model-family-lumen-3-tops-reasoning-benchmarks-at-a-fraction-of-the-compute.md"
    )
    call_command("cache_images", stdout=io.StringIO())
    assert ImageSource.objects.filter(status="cached").count() >= 3
    call_command("export_yaml", str(tmp_path), stdout=io.StringIO())
    (exported,) = tmp_path.rglob("*.md")
    text = exported.read_text()
    assert "https://images.example.org/news/2025/09/open-weight-model-family-lumen-3.jpg" in text
    assert "/media/" not in text


# -- admin ------------------------------------------------------------------------------------------


def test_the_admin_shows_each_images_status_and_our_copy_or_placeholder(client, editor):
    cached = host_image("https://img.example/ok.jpg", size=(400, 225))
    failed = ImageSource.objects.create(
        url="https://img.example/gone.jpg",
        host="img.example",
        status="failed",
        failure_reason="HTTP 404 Not Found",
    )
    html = client.get(reverse("admin:articles_imagesource_changelist")).content.decode()
    assert f"/media/images/{cached.sha256[:2]}/{cached.sha256}/" in html
    assert (
        "HTTP 404 Not Found" in html and ">Failed</strong>" in html and ">Cached</strong>" in html
    )
    assert 'class="image-placeholder"' in html
    assert 'src="https://img.example/' not in html
    page = client.get(
        reverse("admin:articles_imagesource_change", args=[failed.pk])
    ).content.decode()
    assert "Replace with a file" in page and "Fetch again now" in page


def test_the_article_form_shows_our_copy_with_its_status_link(client, editor):
    article = make_article()
    host_images_of(article)
    html = client.get(reverse("admin:articles_article_change", args=[article.pk])).content.decode()
    source = ImageSource.objects.get(url=article.images.first().url)
    assert reverse("admin:articles_imagesource_change", args=[source.pk]) in html
    assert 'src="https://img.example/' not in html


def test_an_editor_retries_failed_images_from_the_list(
    client, editor, django_capture_on_commit_callbacks
):
    failed = ImageSource.objects.create(
        url="https://img.example/x.jpg", host="img.example", status="failed", attempts=6
    )
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("admin:articles_imagesource_changelist"),
            {"action": "fetch_again", "_selected_action": [failed.pk]},
        )
    assert response.status_code == 302
    (task,) = DBTaskResult.objects.all()
    assert task.args_kwargs == {"args": [failed.pk], "kwargs": {"force": True}}


def test_an_editor_replaces_an_image_with_a_file(client, editor):
    failed = ImageSource.objects.create(
        url="https://img.example/x.jpg", host="img.example", status="failed"
    )
    upload = SimpleUploadedFile("mine.webp", image_bytes("WEBP", size=(500, 300)), "image/webp")
    response = client.post(
        reverse("admin:articles_imagesource_change", args=[failed.pk]), {"replacement": upload}
    )
    assert response.status_code == 302
    failed.refresh_from_db()
    assert (failed.status, failed.replaced, failed.picture.width) == ("cached", True, 500)


def test_a_replacement_must_be_an_image(client, editor):
    failed = ImageSource.objects.create(
        url="https://img.example/x.jpg", host="img.example", status="failed"
    )
    upload = SimpleUploadedFile("x.jpg", b"<html>", "image/jpeg")
    response = client.post(
        reverse("admin:articles_imagesource_change", args=[failed.pk]), {"replacement": upload}
    )
    assert response.status_code == 200
    assert "is not an image file" in response.content.decode()
    failed.refresh_from_db()
    assert failed.status == "failed"


def test_contributors_see_the_cache_but_cannot_change_it(client):
    client.force_login(make_staff("connie", group="Contributors"))
    source = ImageSource.objects.create(url="https://img.example/x.jpg", host="img.example")
    assert client.get(reverse("admin:articles_imagesource_changelist")).status_code == 200
    upload = SimpleUploadedFile("mine.png", image_bytes("PNG", size=(50, 50)), "image/png")
    response = client.post(
        reverse("admin:articles_imagesource_change", args=[source.pk]), {"replacement": upload}
    )
    assert response.status_code == 403


def test_a_cached_page_is_forgotten_when_its_picture_arrives(client, settings):
    from tests.image_support import ImageServer, Route

    settings.NEWSROOM_PAGE_CACHE = True
    settings.NEWSROOM_IMAGE_ALLOW_PRIVATE_ADDRESSES = True
    with ImageServer() as server:
        server.routes["/lead.jpg"] = Route(image_bytes("JPEG", size=(800, 450)))
        article = make_article(images=0)
        article.images.create(position=0, url=server.url("/lead.jpg"), width=800, height=450)
        assert image_refs(client.get("/").content.decode()).placeholders == 1  # now in the cache
        from articles.imagecache import cache

        cache.register([server.url("/lead.jpg")])
        source = ImageSource.objects.get(url=server.url("/lead.jpg"))
        assert cache.cache_source(source.pk) == "cached"
    assert image_refs(client.get("/").content.decode()).pictures == 1
