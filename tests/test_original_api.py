"""The original site's API at its own paths: key by key against fixtures written from
its facts (tests/data/original_api/), paging, topics, item files, drafts absent."""

import datetime as dt
import json
from pathlib import Path

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from articles.models import Article, ArticleImage
from articles.site import original_api

from .factories import make_article, make_provider, make_topic

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("page_cache_off")]

DATA = Path(__file__).parent / "data" / "original_api"
ITEM_KEYS = [
    "path", "title", "excerpt", "sourceUrl", "webUrl", "originalUrl", "featuredContent",
    "heat", "tags", "images", "type", "ampWebUrl", "cdnAmpWebUrl", "publishedDateTime",
    "updatedDateTime", "provider", "locale", "categories", "topics",
]  # fmt: skip
# As in the original's list files: highlight after featuredContent, content after images.
ENTRY_KEYS = [*ITEM_KEYS[:7], "highlight", *ITEM_KEYS[7:10], "content", *ITEM_KEYS[10:]]


def fixture(name):
    return (DATA / name).read_text()


def expected(name, article):
    """The fixture's item, with the heat the site gives `article` (api.heat_of, one
    function for both APIs) and the bytes an item file has (one minified line)."""
    data = json.loads(fixture(name))
    article.refresh_from_db()
    data["heat"] = article.heat
    return data, json.dumps(data, ensure_ascii=False, separators=(",", ":"))


@pytest.fixture
def topics():
    return {name: make_topic(name) for name in ("AI Hardware", "AI", "Microsoft AI", "AI in Autos")}


@pytest.fixture
def summer(topics):
    """The story of item-summer.json (Pacific Daylight Time)."""
    provider = make_provider(
        domain="cnet.example",
        name="CNET",
        logos=[{"url": "https://logos.example/cnet.example-50x50.jpg", "width": 50, "height": 50}],
    )
    article = make_article(
        "Microsoft builds massive supercomputer",
        provider=provider,
        topics=[topics[name] for name in ("AI Hardware", "AI", "Microsoft AI")],
        images=0,
        heat=136,
        excerpt="The Azure machine has <b>285,000</b> processor cores.",
        web_url="https://www.cnet.example/news/supercomputer/",
        amp_web_url="https://www.cnet.example/google-amp/news/supercomputer/",
        cdn_amp_web_url="https://www-cnet-example.cdn.ampproject.org/c/s/www.cnet.example/google-amp/news/supercomputer/",
        published_at=dt.datetime(2020, 5, 19, 21, 0, tzinfo=dt.UTC),
        source_path="/srv/news/_news/2020-05-19-microsoft-builds-massive-supercomputer.md",
    )
    ArticleImage.objects.create(
        article=article,
        url="https://img.cnet.example/sierra.jpg",
        width=756,
        height=567,
        is_cached=None,  # the original said true whatever the file said
        title="Microsoft builds massive supercomputer",
    )
    return article


@pytest.fixture
def winter(topics):
    """The story of item-winter.json (Pacific Standard Time; its file is dated a day later)."""
    return make_article(
        "Vacation homes and self-driving cars",
        provider=make_provider(domain="forbes.example", name="Forbes"),
        topics=[topics["AI in Autos"], topics["AI"]],
        images=0,
        quality=None,  # no quality: no computed heat, so `heat` is null
        heat=None,
        excerpt="Self-driving cars will make the trip easier.",
        web_url="https://www.forbes.example/sites/vacation-homes/",
        published_at=dt.datetime(2020, 12, 27, 16, 30, tzinfo=dt.UTC),
        source_path="news\\2020-12-28-vacation-homes-and-self-driving-cars.md",
    )


def test_an_item_file_is_the_original_byte_for_byte(client, summer):
    response = client.get("/api/news/2020-05-19-microsoft-builds-massive-supercomputer/index.json")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response["Access-Control-Allow-Origin"] == "*"
    assert response.content.decode() == expected("item-summer.json", summer)[1]
    assert list(response.json()) == ITEM_KEYS
    assert list(response.json()["provider"]) == [
        "name",
        "domain",
        "images",
        "publishers",
        "authors",
    ]


def test_winter_time_nulls_and_a_file_dated_a_day_later(client, winter):
    # The slug is 2020-12-27-...; the file, and so the name, is 2020-12-28-...
    assert winter.slug.startswith("2020-12-27-")
    response = client.get("/api/news/2020-12-28-vacation-homes-and-self-driving-cars/index.json")
    assert response.status_code == 200
    assert response.content.decode() == expected("item-winter.json", winter)[1]
    # Not under the slug: one story, one name.
    assert client.get(f"/api/news/{winter.slug}/index.json").status_code == 404


def test_a_list_page_holds_the_items_as_entries(client, summer, winter):
    response = client.get("/api/news/index.json")
    assert response.status_code == 200
    body = response.json()
    assert list(body) == ["page", "value", "nextPage"]
    assert body["page"] == 1 and body["nextPage"] is None
    entries = body["value"]
    assert [entry["title"] for entry in entries] == [winter.title, summer.title]  # newest first
    stories = {"item-winter.json": winter, "item-summer.json": summer}
    for entry, (name, story) in zip(entries, stories.items(), strict=True):
        assert list(entry) == ENTRY_KEYS
        item = {**expected(name, story)[0], "sourceUrl": None}
        assert entry == {**item, "highlight": None, "content": "\r\n"}
    # Indented like the original's list files, non-ASCII kept as it is.
    assert response.content.decode().startswith('{\n  "page": 1,\n  "value": [\n    {\n')
    assert client.get("/api/news/page/1/index.json").content == response.content


def test_paging_25_a_page_with_integer_page_numbers(client):
    provider = make_provider()
    start = dt.datetime(2021, 1, 1, tzinfo=dt.UTC)
    for n in range(26):
        make_article(
            f"Story {n:02d}", provider=provider, published_at=start + dt.timedelta(hours=n)
        )
    make_article("Draft", provider=provider, status=Article.Status.REVIEW, published_at=start)

    first = client.get("/api/news/page/1/index.json").json()
    assert len(first["value"]) == 25 and first["nextPage"] == 2
    assert first["value"][0]["title"] == "Story 25"
    second = client.get("/api/news/page/2/index.json").json()
    assert second == {"page": 2, "value": second["value"], "nextPage": None}
    assert [entry["title"] for entry in second["value"]] == ["Story 00"]
    assert client.get("/api/news/page/3/index.json").status_code == 404
    assert client.get("/api/news/page/0/index.json").status_code == 404
    titles = [e["title"] for page in (first, second) for e in page["value"]]
    assert "Draft" not in titles


def test_topic_pages(client, summer, winter):
    autos = client.get("/api/news/ai-in-autos/page/1/index.json")
    assert autos.status_code == 200
    assert [entry["title"] for entry in autos.json()["value"]] == [winter.title]
    assert client.get("/api/news/no-such-topic/page/1/index.json").status_code == 404
    assert client.get("/api/news/ai-in-autos/page/2/index.json").status_code == 404


def test_drafts_are_absent_everywhere(client, summer):
    draft = make_article(
        "Draft story",
        status=Article.Status.REVIEW,
        topics=[summer.topics.first()],
        source_path="news/2020-05-19-draft-story.md",
        published_at=summer.published_at,
    )
    assert client.get("/api/news/2020-05-19-draft-story/index.json").status_code == 404
    assert client.get(f"/api/news/{draft.slug}/index.json").status_code == 404
    for url in ("/api/news/index.json", "/api/news/ai-hardware/page/1/index.json"):
        assert "Draft story" not in client.get(url).content.decode()


def test_an_article_made_in_the_admin_is_named_by_its_slug(client):
    article = make_article("Written here", published_at=dt.datetime(2026, 1, 5, tzinfo=dt.UTC))
    assert article.source_path == ""
    response = client.get(f"/api/news/{article.slug}/index.json")
    assert response.status_code == 200
    assert response.json()["path"] == f"_news/{article.slug}.md"


def test_only_http_urls_leave(client, summer):
    Article.objects.filter(pk=summer.pk).update(amp_web_url="javascript:alert(1)")
    summer.images.update(url="data:image/png;base64,AAAA")
    item = client.get("/api/news/2020-05-19-microsoft-builds-massive-supercomputer/index.json")
    assert item.json()["ampWebUrl"] is None and item.json()["images"] is None


def test_query_counts_do_not_grow_with_the_page(client):
    provider = make_provider()
    topic = make_topic("Robots")
    make_article("One", provider=provider, topics=[topic])

    def count(url):
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url).status_code == 200
        return len(queries)

    few = (count("/api/news/index.json"), count("/api/news/robots/page/1/index.json"))
    for n in range(30):
        make_article(f"More {n}", provider=make_provider(), topics=[topic])
    assert (count("/api/news/index.json"), count("/api/news/robots/page/1/index.json")) == few
    assert few == (3, 4)


def test_the_dates_keep_seconds_and_never_say_z():
    when = dt.datetime(2020, 10, 2, 16, 40, 52, 654321, tzinfo=dt.UTC)  # no fractions
    assert original_api.original_datetime(when) == "2020-10-02T09:40:52-07:00"
    midnight = dt.datetime(2021, 1, 17, 0, 0, tzinfo=dt.UTC)
    assert original_api.original_datetime(midnight) == "2021-01-16T16:00:00-08:00"


@pytest.mark.corpus
def test_every_published_corpus_item_has_its_file(client, corpus, settings):
    from .factories import run_import

    code, _, _ = run_import(corpus / "news")
    assert code == 1  # the one broken file; the rest import
    published = list(Article.objects.published())
    assert published
    for article in published:
        name = Path(article.source_path).name.removesuffix(".md")
        response = client.get(f"/api/news/{name}/index.json")
        assert response.status_code == 200, name
        item = response.json()
        assert list(item) == ITEM_KEYS
        assert item["path"] == f"_news/{name}.md"
        assert item["publishedDateTime"][-6:] in ("-07:00", "-08:00")
    listed = client.get("/api/news/index.json").json()
    assert len(listed["value"]) == min(25, len(published))


def test_an_address_under_api_that_leads_nowhere_is_a_json_404(client):
    for url in ("/api/news/page/x/index.json", "/api/nothing/here"):
        response = client.get(url)
        assert response.status_code == 404
        assert response["Content-Type"] == "application/json"
        assert response["Access-Control-Allow-Origin"] == "*"
        assert response.json() == {"error": "No such address."}
    page = client.get("/no-such-page/")
    assert page.status_code == 404 and page["Content-Type"].startswith("text/html")


def test_the_openapi_description_is_served(client):
    import yaml

    response = client.get("/api/openapi.yaml")
    assert response.status_code == 200 and response["Content-Type"] == "application/yaml"
    paths = yaml.safe_load(response.content)["paths"]
    assert set(paths) == {
        "/api/news/index.json",
        "/api/news/page/{number}/index.json",
        "/api/news/{topic}/page/{number}/index.json",
        "/api/news/{name}/index.json",
        "/api/news/",
        "/api/news/{topic}/",
    }
