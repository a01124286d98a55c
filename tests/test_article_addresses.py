"""Article addresses name the date once, and every older address redirects there."""

import datetime as dt
import xml.etree.ElementTree as ET

import pytest

from articles.models import Article
from articles.site.addresses import path_slug

from .factories import make_article

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("page_cache_off")]

WHEN = dt.datetime(2026, 10, 14, 9, 30, tzinfo=dt.UTC)


@pytest.fixture
def story():
    return make_article(
        "Training costs fall", published_at=WHEN, slug="2026-10-14-training-costs-fall"
    )


def test_the_path_names_the_date_once(story, client):
    assert story.get_absolute_url() == "/2026/10/14/training-costs-fall/"
    response = client.get("/2026/10/14/training-costs-fall/")
    assert response.status_code == 200
    assert b"Training costs fall</h1>" in response.content
    assert b'<link rel="canonical" href="http://testserver/2026/10/14/training-costs-fall/">' in (
        response.content
    )


@pytest.mark.parametrize(
    "old",
    [
        "/2026/10/14/2026-10-14-training-costs-fall/",  # the address until now
        "/2026/10/15/2026-10-14-training-costs-fall/",  # the file name's date, a day later
        "/2025/01/01/2026-10-14-training-costs-fall/",  # any date: the full slug decides
    ],
)
def test_every_older_address_redirects_permanently(story, client, old):
    response = client.get(old)
    assert response.status_code == 301
    assert response["Location"] == "/2026/10/14/training-costs-fall/"


def test_the_short_form_needs_the_right_day(story, client):
    assert client.get("/2026/10/13/training-costs-fall/").status_code == 404
    assert client.get("/2026/02/30/training-costs-fall/").status_code == 404
    assert client.get("/2026/10/14/costs-fall/").status_code == 404  # the end of a slug only


def test_a_slug_without_a_date_and_one_whose_words_begin_with_one(client):
    plain = make_article("Plain", published_at=WHEN, slug="editors-pick")
    dated = make_article("Review of a day", published_at=WHEN, slug="2026-10-14-2025-01-01-review")
    assert plain.get_absolute_url() == "/2026/10/14/editors-pick/"
    assert dated.get_absolute_url() == "/2026/10/14/2025-01-01-review/"
    assert client.get(plain.get_absolute_url()).status_code == 200
    assert client.get(dated.get_absolute_url()).status_code == 200
    assert path_slug("2026-10-14") == "2026-10-14"  # nothing follows: kept


def test_drafts_have_no_address_in_any_form(client):
    draft = make_article("Draft", published_at=WHEN, status=Article.Status.REVIEW)
    assert client.get(draft.get_absolute_url()).status_code == 404
    assert client.get(f"/2026/10/14/{draft.slug}/").status_code == 404


def test_feeds_sitemap_and_apis_give_the_new_address(story, client):
    address = "http://testserver/2026/10/14/training-costs-fall/"
    rss = ET.fromstring(client.get("/feed/").content)
    assert rss.findtext("channel/item/link") == address
    sitemap = client.get("/sitemap-articles.xml").content.decode()
    assert f"<loc>{address}</loc>" in sitemap
    assert client.get("/api/news/").json()["value"][0]["sourceUrl"] == address
    home = client.get("/").content.decode()
    assert 'href="/2026/10/14/training-costs-fall/"' in home
    assert "2026-10-14-training-costs-fall/" not in home


def test_the_day_lookup_takes_the_slug_literally_and_the_newest_of_a_day(client):
    # The lookup's LIKE is only a first sieve: '_' and '%' are no wildcards, and a
    # slug that merely ends like the path's is not the article.
    make_article("Under score", published_at=WHEN, slug="2026-10-14-gpu_prices")
    assert client.get("/2026/10/14/gpuxprices/").status_code == 404
    assert client.get("/2026/10/14/gpu%25prices/").status_code == 404
    assert client.get("/2026/10/14/gpu_prices/").status_code == 200
    older = make_article("Older take", published_at=WHEN, slug="chip-deal")
    newer = make_article(
        "Newer take", published_at=WHEN + dt.timedelta(hours=2), slug="2026-10-14-chip-deal"
    )
    response = client.get("/2026/10/14/chip-deal/")
    assert response.status_code == 200
    assert b"Newer take</h1>" in response.content, (older, newer)
    assert client.get("/2026/10/14/deal/").status_code == 404


def test_an_article_going_live_later_has_no_page_until_then(client, frozen_clock):
    # The page's own SQL embeds the visibility rule with "now" a parameter: it moves.
    soon = make_article("Soon", go_live_at=frozen_clock.now + dt.timedelta(minutes=10))
    assert client.get(soon.get_absolute_url()).status_code == 404
    frozen_clock.advance(minutes=11)
    assert client.get(soon.get_absolute_url()).status_code == 200
