"""The JSON API: the original site's shape, paging, filters, and 400s for bad parameters."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from articles.models import Article

from .factories import hours_ago, make_article, make_provider, make_topic

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("page_cache_off")]

ITEM_KEYS = {
    "path",
    "title",
    "type",
    "heat",
    "sourceUrl",
    "webUrl",
    "ampWebUrl",
    "cdnAmpWebUrl",
    "excerpt",
    "publishedDateTime",
    "updatedDateTime",
    "provider",
    "images",
    "locale",
    "categories",
    "topics",
}


def test_shape_of_the_list_and_of_an_item(client):
    provider = make_provider(
        domain="cnet.com",
        name="CNET",
        logos=[{"url": "https://logos.example/cnet.jpg", "width": 50, "height": 50}],
    )
    ai = make_topic("AI", slug="ai")
    hardware = make_topic("AI Hardware", slug="ai-hardware")
    article = make_article(
        "Microsoft builds massive supercomputer",
        provider=provider,
        topics=[hardware, ai],
        heat=136,
        excerpt="The Azure machine has <b>285,000</b> cores.",
        web_url="https://www.cnet.com/news/supercomputer/",
        amp_web_url="https://www.cnet.com/google-amp/news/supercomputer/",
        cdn_amp_web_url="https://www-cnet-com.cdn.ampproject.org/c/s/www.cnet.com/x/",
        published_at=dt.datetime(2020, 5, 19, 21, 0, tzinfo=dt.UTC),
        source_path="/data/corpus/news/2020-05-19-microsoft-builds-massive-supercomputer.md",
    )
    response = client.get("/api/news/")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert set(body) == {"title", "path", "page", "value", "nextPage"}
    assert body["page"] == 1 and body["nextPage"] is None and body["path"] == "/api/news/"
    item = body["value"][0]
    assert set(item) == ITEM_KEYS
    assert item["path"] == "_news/2020-05-19-microsoft-builds-massive-supercomputer.md"
    assert item["title"] == "Microsoft builds massive supercomputer"
    assert item["type"] == "article" and item["heat"] == 136
    assert item["sourceUrl"] == f"http://testserver{article.get_absolute_url()}"
    assert item["webUrl"] == "https://www.cnet.com/news/supercomputer/"
    assert item["ampWebUrl"] == "https://www.cnet.com/google-amp/news/supercomputer/"
    assert item["cdnAmpWebUrl"].startswith("https://www-cnet-com.cdn.ampproject.org/")
    assert item["excerpt"] == "The Azure machine has 285,000 cores."
    assert item["publishedDateTime"] == "2020-05-19T21:00:00Z"
    assert item["updatedDateTime"].endswith("Z")
    assert item["provider"] == {
        "domain": "cnet.com",
        "images": [
            {
                "url": "https://logos.example/cnet.jpg",
                "width": 50,
                "height": 50,
                "isCached": False,
                "renditionUrl": None,  # not cached here (tests/test_image_pages.py)
            }
        ],
        "name": "CNET",
    }
    assert item["images"] == [
        {
            "url": item["images"][0]["url"],
            "width": 1200,
            "height": 675,
            "isCached": True,
            "renditionUrl": None,
        }
    ]
    assert item["locale"] == "en-us"
    assert item["categories"] == ["news"]
    assert item["topics"] == ["AI Hardware", "AI"]  # as in the file, not alphabetical


def test_unknown_amp_urls_and_heat_are_null(client):
    make_article(quality=None)  # nor a pinned heat
    item = client.get("/api/news/").json()["value"][0]
    assert item["ampWebUrl"] is None and item["cdnAmpWebUrl"] is None and item["heat"] is None


def test_paging_newest_first_twenty_a_page_without_a_page_cap(client):
    for n in range(205):
        make_article(f"Story {n:03d}", published_at=hours_ago(n + 1), images=0)
    first = client.get("/api/news/").json()
    assert [i["title"] for i in first["value"]] == [f"Story {n:03d}" for n in range(20)]
    assert first["nextPage"] == "2"
    tenth = client.get("/api/news/?page=10").json()
    assert tenth["page"] == 10 and tenth["nextPage"] == "11"
    last = client.get("/api/news/?page=11").json()
    assert [i["title"] for i in last["value"]] == [f"Story {n:03d}" for n in range(200, 205)]
    assert last["nextPage"] is None
    past = client.get("/api/news/?page=12")
    assert past.status_code == 404 and "error" in past.json()


def test_empty_site_answers_an_empty_first_page(client):
    body = client.get("/api/news/").json()
    assert body["value"] == [] and body["nextPage"] is None


def test_only_published_stories_are_served(client):
    topic = make_topic("AI", slug="ai")
    make_article("Public", topics=[topic])
    make_article("Waiting", topics=[topic], status=Article.Status.REVIEW)
    make_article("Refused", topics=[topic], status=Article.Status.REJECTED)
    for url in ("/api/news/", "/api/news/ai/"):
        assert [i["title"] for i in client.get(url).json()["value"]] == ["Public"], url


def test_topic_endpoint(client):
    autos = make_topic("AI in Autos", slug="ai-in-autos")
    make_article("Car news", topics=[autos])
    make_article("Other news")
    body = client.get("/api/news/ai-in-autos/").json()
    assert [i["title"] for i in body["value"]] == ["Car news"]
    assert body["title"] == "AI in Autos News" and body["path"] == "/api/news/ai-in-autos/"
    missing = client.get("/api/news/no-such-topic/")
    assert missing.status_code == 404 and "error" in missing.json()


def test_minimum_heat(client):
    make_article("Hot", heat=150)
    make_article("Exactly", heat=100)
    make_article("Cool", heat=20)
    make_article("Unknown", heat=None)
    titles = {i["title"] for i in client.get("/api/news/?minimum_heat=100").json()["value"]}
    assert titles == {"Hot", "Exactly"}


@pytest.mark.parametrize(
    "query",
    [
        "page=abc",
        "page=0",
        "page=-3",
        "page=1.5",
        "page=%EF%BC%92",  # a full-width 2: int() would take it
        "page=%2B1",
        "minimum_heat=" + "1" * 5000,  # past int()'s own digit limit
        "page=99999999999999999999999999",
        "minimum_heat=hot",
        "minimum_heat=99999999999999999999999999",
        "minimum_heat=-5",
    ],
)
def test_bad_parameters_are_400_with_a_json_error(client, query):
    """Each says which parameter and what it takes, in our words."""
    make_article()
    response = client.get(f"/api/news/?{query}")
    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    name = query.split("=")[0]
    assert response.json()["error"].startswith(f"{name} must be a whole number from ")


def test_queries_do_not_grow_with_the_page(client):
    topic = make_topic()
    for n in range(3):
        make_article(topics=[topic], published_at=hours_ago(n))
    with CaptureQueriesContext(connection) as few:
        client.get("/api/news/")
    for n in range(40):
        make_article(topics=[topic, make_topic()], images=2, published_at=hours_ago(10 + n))
    with CaptureQueriesContext(connection) as many:
        client.get("/api/news/")
    assert len(many) == len(few) <= 4


def test_headers_cors_etag_and_304(client):
    make_article()
    response = client.get("/api/news/")
    assert response["Access-Control-Allow-Origin"] == "*"
    assert response.has_header("ETag") and "public" in response["Cache-Control"]
    again = client.get("/api/news/", headers={"if-none-match": response["ETag"]})
    assert again.status_code == 304
