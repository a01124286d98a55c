"""Structured data Google's article guidelines accept, read with extruct; the Google News
sitemap and the topic sitemap, parsed as XML."""

import datetime as dt
import xml.etree.ElementTree as ET

import extruct
import pytest
from django.contrib.staticfiles import finders
from PIL import Image

from articles.models import Article
from articles.site.views import headline

from .factories import hours_ago, make_article, make_provider, make_topic, run_import

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("page_cache_off")]

SITEMAP = "{http://www.sitemaps.org/schemas/sitemap/0.9}"
NEWS = "{http://www.google.com/schemas/sitemap-news/0.9}"


def news_article(client, article):
    response = client.get(article.get_absolute_url())
    assert response.status_code == 200
    found = extruct.extract(response.content.decode(), syntaxes=["json-ld"], uniform=True)
    [data] = [item for item in found["json-ld"] if item["@type"] == "NewsArticle"]
    return data


def check_article_data(data, article):
    """What Google's article guidelines ask of one page's NewsArticle."""
    assert data["headline"] == headline(article.title)
    assert len(data["headline"]) <= 110
    publisher = data["publisher"]
    assert publisher["@type"] == "Organization" and publisher["name"] == "Newsroom"
    logo = publisher["logo"]
    assert logo["width"] >= 112 and logo["height"] >= 112
    path = finders.find(logo["url"].removeprefix("http://testserver/static/"))
    with Image.open(path) as image:  # the logo is there, as large as it says
        assert image.size == (logo["width"], logo["height"])
    outlet = {"@type": "Organization", "name": str(article.provider)}
    assert {key: data["author"][0][key] for key in outlet} == outlet
    assert data["sourceOrganization"] == data["author"][0]
    assert data["isBasedOn"] in (article.original_url, article.web_url)
    assert data["isBasedOn"].startswith(("https://", "http://"))
    assert data["dateModified"] and data["datePublished"]


def test_the_page_names_this_site_as_publisher_and_the_outlet_as_author(client):
    provider = make_provider(
        domain="cnet.com",
        name="CNET",
        logos=[{"url": "https://logos.example/cnet.jpg", "width": 50, "height": 50}],
    )
    article = make_article("Cameras learn to see", provider=provider)
    data = news_article(client, article)
    check_article_data(data, article)
    assert data["author"] == [{"@type": "Organization", "name": "CNET", "url": "https://cnet.com/"}]
    assert data["isBasedOn"] == article.web_url
    assert "logos.example" not in str(data["publisher"])  # the outlet's 50x50 logo is not ours


def test_headlines_are_cut_between_words_within_110_characters():
    words = "Microsoft builds a massive supercomputer for OpenAI to train enormous language models in Azure"
    title = f"{words}, and the world takes notice of it"
    assert len(title) > 110
    cut = headline(title)
    assert cut.endswith("…") and len(cut) <= 110
    assert title.startswith(cut[:-1]) and title[len(cut) - 1] == " "  # a whole word
    assert headline("x" * 200) == "x" * 109 + "…"  # one endless word: cut where it must
    assert headline(title[:110]) == title[:110]


@pytest.mark.corpus
def test_every_article_page_of_the_corpus(client, corpus):
    run_import(corpus / "news")
    Article.objects.update(status=Article.Status.PUBLISHED)
    articles = list(Article.objects.select_related("provider"))
    assert len(articles) == 144
    for article in articles:
        check_article_data(news_article(client, article), article)


def test_the_news_sitemap_lists_what_went_live_in_two_days(client):
    fresh = make_article("Fresh <story> & more", went_live_at=hours_ago(5))
    make_article("Went live three days ago", went_live_at=hours_ago(72))
    make_article("A draft", status=Article.Status.REVIEW, went_live_at=hours_ago(1))
    response = client.get("/sitemap-news.xml")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/xml")
    urls = ET.fromstring(response.content).findall(f"{SITEMAP}url")
    assert len(urls) == 1
    [url] = urls
    assert url.findtext(f"{SITEMAP}loc") == f"http://testserver{fresh.get_absolute_url()}"
    news = url.find(f"{NEWS}news")
    assert news.findtext(f"{NEWS}publication/{NEWS}name") == "Newsroom"
    assert news.findtext(f"{NEWS}publication/{NEWS}language") == "en"
    assert news.findtext(f"{NEWS}title") == "Fresh <story> & more"
    published = dt.datetime.fromisoformat(news.findtext(f"{NEWS}publication_date"))
    assert published == fresh.went_live_at


def test_the_news_sitemap_stops_at_1000(client, monkeypatch):
    from articles.site import sitemaps

    monkeypatch.setattr(sitemaps, "NEWS_LIMIT", 3)
    for n in range(5):
        make_article(f"Story {n}", went_live_at=hours_ago(n))
    urls = ET.fromstring(client.get("/sitemap-news.xml").content).findall(f"{SITEMAP}url")
    titles = [url.findtext(f"{NEWS}news/{NEWS}title") for url in urls]
    assert titles == ["Story 0", "Story 1", "Story 2"]  # newest first


def test_topic_entries_have_lastmod_and_empty_topics_are_left_out(client):
    busy, empty = make_topic("Robots", slug="robots"), make_topic("Quantum", slug="quantum")
    drafts_only = make_topic("Drafts only", slug="drafts-only")
    old = make_article("Old", topics=[busy])
    new = make_article("New", topics=[busy])
    make_article("Draft", topics=[drafts_only], status=Article.Status.REVIEW)
    Article.objects.filter(pk=old.pk).update(updated_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
    Article.objects.filter(pk=new.pk).update(updated_at=dt.datetime(2026, 3, 4, tzinfo=dt.UTC))
    root = ET.fromstring(client.get("/sitemap-topics.xml").content)
    entries = {
        url.findtext(f"{SITEMAP}loc"): url.findtext(f"{SITEMAP}lastmod")
        for url in root.findall(f"{SITEMAP}url")
    }
    assert entries == {"http://testserver/topics/robots/": "2026-03-04"}
    assert empty.get_absolute_url() not in str(entries)
