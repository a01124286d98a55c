"""What a card shows: how long ago (with the exact time), topics without the tree's root,
images whose alt text is not the headline again; and the footer at the page's foot."""

import datetime as dt
import re

import pytest
from django.utils import timezone

from articles.models import ArticleImage
from articles.site.public import time_ago

from .conftest import ROOT
from .factories import hours_ago, make_article, make_coverage, make_topic
from .image_support import host_image

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("page_cache_off")]

NOW = dt.datetime(2026, 10, 14, 12, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("before", "shown"),
    [
        (dt.timedelta(seconds=20), "just now"),
        (dt.timedelta(minutes=-2), "just now"),  # a source clock a little ahead
        (dt.timedelta(minutes=25), "25 min ago"),
        (dt.timedelta(hours=3, minutes=59), "3 h ago"),
        (dt.timedelta(hours=30), "1 day ago"),
        (dt.timedelta(days=6, hours=23), "6 days ago"),
        (dt.timedelta(days=7), "7 Oct 2026"),
        (dt.timedelta(days=-2), "16 Oct 2026"),  # still to come: the date
    ],
)
def test_time_ago(before, shown):
    assert time_ago(NOW - before, NOW) == shown


def byline_times(html):
    return re.findall(r'<time datetime="([^"]+)" title="([^"]+)">([^<]+)</time>', html)


def test_cards_say_how_long_ago_with_the_exact_time_beside(client):
    article = make_article("Fresh story", published_at=hours_ago(3.2))
    html = client.get("/?view=latest").content.decode()
    [(iso, exact, shown)] = byline_times(html)
    when = timezone.localtime(article.published_at)
    assert shown == "3 h ago"
    assert iso == when.isoformat()
    assert exact == f"{when.day} {when:%b %Y, %H:%M} UTC"


def test_the_root_topic_is_not_a_chip_on_every_card(client):
    ai = make_topic("AI", slug="ai")
    robots = make_topic("AI in Robotics", slug="ai-in-robotics", parent=ai)
    lonely = make_topic("Quantum", slug="quantum")  # no parent, but no tree under it either
    story = make_article("Robot story", topics=[ai, robots])
    make_article("Quantum story", topics=[lonely, ai])
    html = client.get("/").content.decode()
    chips = re.findall(r'<a class="chip" href="([^"]+)">', html)
    assert sorted(chips) == ["/topics/ai-in-robotics/", "/topics/quantum/"]
    # The story's own page, one page and not a list, names all its topics.
    page = client.get(story.get_absolute_url()).content.decode()
    chips = re.findall(r'<a class="chip" href="([^"]+)">', page)
    assert chips == ["/topics/ai/", "/topics/ai-in-robotics/"]


def test_image_alt_text_is_never_the_headline_again(client):
    article = make_article("Microsoft builds a supercomputer", images=0)
    image = ArticleImage.objects.create(
        article=article, url="https://img.example/a.jpg", title="Microsoft builds a  supercomputer"
    )
    host_image(image.url)
    page = client.get(article.get_absolute_url()).content.decode()
    figure = re.search(
        r'<figure class="story__figure">\s*<picture><source [^>]*><img ([^>]*)>', page
    ).group(1)
    assert 'alt=""' in figure
    home = client.get("/").content.decode()
    assert 'alt="Microsoft builds' not in home

    image.title = "The Sierra supercomputer at Lawrence Livermore"
    image.save()
    page = client.get(article.get_absolute_url()).content.decode()
    assert 'alt="The Sierra supercomputer at Lawrence Livermore"' in page


def test_the_footer_sits_at_the_foot_of_a_short_page():
    """The page is a column at least as tall as the window whose main part takes the
    free space (a browser's layout is checked by the e2e tests' screenshots)."""
    css = (ROOT / "static" / "css" / "site.css").read_text()
    body = re.search(r"\nbody \{([^}]*)\}", css).group(1)
    assert "display: flex;" in body and "flex-direction: column;" in body
    assert "min-height: 100vh;" in body
    assert re.search(r"\nbody > main \{ flex: 1 0 auto; \}", css)


def _card_on_home(title):
    article = make_article(title, published_at=hours_ago(3))
    return "/", article


def _coverage_on_its_article(title):
    article = make_article("Robots at work", published_at=hours_ago(3))
    return article.get_absolute_url(), make_coverage(article, title=title)


@pytest.mark.parametrize(
    ("macro", "shown_on"), [("card", _card_on_home), ("coverage_entry", _coverage_on_its_article)]
)
def test_a_pieces_html_is_kept_for_its_value_and_changes_with_it(
    client, monkeypatch, macro, shown_on
):
    # show_card and show_coverage keep each piece's HTML: a second view renders it not
    # again, and a piece that reads otherwise (its headline edited) is rendered afresh.
    from jinja2.runtime import Macro

    url, row = shown_on("Robots learn to fold laundry")
    rendered = []
    real = Macro.__call__

    def counting(self, *args, **kwargs):
        if self.name == macro:
            rendered.append(args[0].title)
        return real(self, *args, **kwargs)

    monkeypatch.setattr(Macro, "__call__", counting)
    assert "Robots learn to fold laundry" in client.get(url).text
    assert "Robots learn to fold laundry" in client.get(url).text
    assert rendered.count("Robots learn to fold laundry") <= 1  # (0: kept by a test before)
    row.title = "Robots learn to fold shirts"
    row.save()
    page = client.get(url).text
    assert "Robots learn to fold shirts" in page and "fold laundry" not in page
    assert rendered[-1] == "Robots learn to fold shirts"
