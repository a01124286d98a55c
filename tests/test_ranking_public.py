"""What readers see of the ranking: the "How Top works" page, its links, and the API's heat."""

import math
import re
import xml.etree.ElementTree as ET
from html import unescape

import pytest

from articles import ranking

from .factories import hours_ago, make_article, make_coverage

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("page_cache_off")]

SITEMAP_NS = {"sm": "http://www.sitemaps.org/schemas/sitemap/0.9"}


def _text(response):
    html = response.content.decode()
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())


def test_how_top_works_gives_the_formula_its_version_and_changelog(client):
    response = client.get("/how-top-works/")
    assert response.status_code == 200
    text = _text(response)
    assert "48 hours for every tenfold of heat" in text
    # Heat 200 against heat 100, from the formula written out here.
    hours = 48 * (math.log10(201) - math.log10(101))
    assert f"ranks level with one of heat 100 published {hours:.1f} hours after it" in text
    assert "plus 10 for every other article covering the same story" in text
    assert "once the quality is 50 or more" in text
    assert "score = publication time + 48 h × log 10 (1 + heat)" in text
    assert "at most 168 either way" in text
    assert "Version 1" in text
    for number, date, change in ranking.CHANGELOG:
        assert f"Version {number} , {date.day} {date:%B %Y}: {change}" in text


def test_the_home_page_links_to_it_from_top_and_the_sitemap_lists_it(client):
    make_article()
    assert 'href="/how-top-works/"' in client.get("/").content.decode()
    assert 'href="/how-top-works/"' not in client.get("/?view=latest").content.decode()

    pages = ET.fromstring(client.get("/sitemap-pages.xml").content)
    urls = {
        u.find("sm:loc", SITEMAP_NS).text: u.find("sm:lastmod", SITEMAP_NS).text
        for u in pages.findall("sm:url", SITEMAP_NS)
    }
    assert urls["http://testserver/how-top-works/"].startswith(ranking.CHANGELOG[-1][1].isoformat())


def test_the_api_heat_is_the_computed_heat_or_the_pin(client):
    covered = make_article("Covered", quality=84, published_at=hours_ago(1))
    for _ in range(2):
        make_coverage(covered)
    make_article("Below fifty", quality=44, published_at=hours_ago(2))
    make_coverage(make_article("Pinned", quality=60, heat=250, published_at=hours_ago(3)))
    items = client.get("/api/news/").json()["value"]
    assert [(i["title"], i["heat"]) for i in items] == [
        ("Covered", 104),
        ("Below fifty", 44),
        ("Pinned", 250),
    ]
    hot = client.get("/api/news/?minimum_heat=100").json()["value"]
    assert [i["title"] for i in hot] == ["Covered", "Pinned"]
