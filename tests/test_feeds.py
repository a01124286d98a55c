"""RSS and Atom feeds: well-formed XML, published stories only, newest first, per topic."""

import xml.etree.ElementTree as ET

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from articles.models import Article

from .factories import hours_ago, make_article, make_topic

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("page_cache_off")]

ATOM = {"atom": "http://www.w3.org/2005/Atom"}


def _rss_items(client, url):
    response = client.get(url)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/rss+xml")
    channel = ET.fromstring(response.content).find("channel")
    return channel, channel.findall("item")


def _atom_entries(client, url):
    response = client.get(url)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/atom+xml")
    feed = ET.fromstring(response.content)
    return feed, feed.findall("atom:entry", ATOM)


def test_rss_feed_has_published_stories_newest_first(client):
    topic = make_topic("Robotics")
    make_article("Older", published_at=hours_ago(5), topics=[topic])
    newest = make_article("Newest", published_at=hours_ago(1))
    make_article("In review", status=Article.Status.REVIEW, published_at=hours_ago(0))
    make_article("Rejected", status=Article.Status.REJECTED, published_at=hours_ago(0))
    channel, items = _rss_items(client, "/feed/")
    assert channel.findtext("title").startswith("Newsroom")
    assert [item.findtext("title") for item in items] == ["Newest", "Older"]
    assert items[0].findtext("link") == f"http://testserver{newest.get_absolute_url()}"
    assert items[0].findtext("pubDate")
    assert [c.text for c in items[1].findall("category")] == ["Robotics"]


def test_atom_feed_has_published_stories(client):
    make_article("Visible", published_at=hours_ago(2))
    make_article("Hidden", status=Article.Status.REVIEW)
    feed, entries = _atom_entries(client, "/feed/atom/")
    assert feed.findtext("atom:title", namespaces=ATOM).startswith("Newsroom")
    assert [e.findtext("atom:title", namespaces=ATOM) for e in entries] == ["Visible"]
    assert entries[0].findtext("atom:updated", namespaces=ATOM)


def test_topic_feeds_have_only_that_topics_stories(client):
    vision = make_topic("Computer Vision", slug="computer-vision")
    other = make_topic("Finance", slug="finance")
    make_article("Seeing", topics=[vision], published_at=hours_ago(1))
    make_article("Money", topics=[other], published_at=hours_ago(2))
    make_article("Unseen draft", topics=[vision], status=Article.Status.REVIEW)
    channel, items = _rss_items(client, "/topics/computer-vision/feed/")
    assert "Computer Vision" in channel.findtext("title")
    assert [item.findtext("title") for item in items] == ["Seeing"]
    _, entries = _atom_entries(client, "/topics/computer-vision/feed/atom/")
    assert [e.findtext("atom:title", namespaces=ATOM) for e in entries] == ["Seeing"]
    assert client.get("/topics/nope/feed/").status_code == 404


def test_feeds_are_advertised_in_the_page_head(client):
    make_topic("Robotics", slug="robotics")
    home = client.get("/").content.decode()
    assert '<link rel="alternate" type="application/rss+xml"' in home and 'href="/feed/"' in home
    assert 'type="application/atom+xml"' in home and 'href="/feed/atom/"' in home
    topic = client.get("/topics/robotics/").content.decode()
    assert 'href="/topics/robotics/feed/"' in topic
    assert 'href="/topics/robotics/feed/atom/"' in topic


def test_hostile_text_stays_text_in_feeds(client):
    make_article("<script>alert(1)</script> & more", excerpt='<img src=x onerror="alert(1)">')
    channel, items = _rss_items(client, "/feed/")
    assert items[0].findtext("title") == "<script>alert(1)</script> & more"
    # The description is HTML to feed readers: the excerpt arrives as escaped text.
    assert items[0].findtext("description") == "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;"


def test_feed_queries_do_not_grow_with_items(client):
    topic = make_topic()
    for n in range(3):
        make_article(topics=[topic], published_at=hours_ago(n))
    with CaptureQueriesContext(connection) as few:
        client.get("/feed/")
    for n in range(30):
        make_article(topics=[topic, make_topic()], published_at=hours_ago(10 + n))
    with CaptureQueriesContext(connection) as many:
        client.get("/feed/")
    assert len(many) == len(few) <= 4


def test_feeds_carry_validators(client):
    make_article()
    response = client.get("/feed/")
    assert response.has_header("ETag") and "max-age" in response["Cache-Control"]
    assert client.get("/feed/", headers={"if-none-match": response["ETag"]}).status_code == 304
