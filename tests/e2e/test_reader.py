"""Journey 2: a reader's visit, from the home page to the feed, after journey 1."""

import math
import re
from xml.etree import ElementTree

import pytest
from django.utils import timezone

from articles import ranking
from articles.models import Article

from .stories import (
    BOLD_EXCERPT_TITLE,
    CHIP,
    CHIP_NEW_TOPIC,
    DRAFT,
    DRAFT_WORD,
    HOSTILE_TITLE,
    RACKS,
)
from .support import card_titles, expect, log_in, record_problems

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PAGE_SIZE = 20


def top_order(articles):
    """The order readers are promised for "Top" (/how-top-works/), written out
    independently of the site's code: the publication time in hours, plus 48 hours
    per tenfold heat, plus the editor's and the topics' hours, highest first; unknown
    heat last, newest first; equal scores newest first."""

    def hours(a):
        topics = sum(topic.rank_hours for topic in a.topics.all())
        return (
            a.published_at.timestamp() / 3600 + 48 * math.log10(1 + a.heat) + a.boost_hours + topics
        )

    return [
        a.title
        for a in sorted(
            articles,
            key=lambda a: (
                a.heat is None,
                0 if a.heat is None else -hours(a),
                -a.published_at.timestamp(),
                -a.id,
            ),
        )
    ]


def test_reader_finds_the_new_story_and_follows_it_around(page, published_story):
    problems = record_problems(page)
    published = Article.objects.published()

    # Home: "Top" is the default, and the story sits in its place.
    page.goto("/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Top stories")
    order = top_order(published)
    assert card_titles(page) == order[:PAGE_SIZE]
    place = order.index(CHIP)
    if place >= PAGE_SIZE:
        page.goto(f"/?page={place // PAGE_SIZE + 1}")
    assert card_titles(page).index(CHIP) == place % PAGE_SIZE

    # The story page, with the related story the editor linked.
    page.get_by_role("main").get_by_role("link", name=CHIP).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(CHIP)
    expect(page.get_by_role("region", name="Related on Newsroom").get_by_role("link")).to_have_text(
        [RACKS]
    )
    story_topics = page.locator(".story__topics").get_by_role("link")
    expect(story_topics).to_have_text(["AI", "AI Hardware", CHIP_NEW_TOPIC])

    # A topic with more than one page of stories (29 from the files, plus this one).
    story_topics.get_by_text("AI", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("AI")
    in_topic = top_order(published.filter(topics__name="AI"))
    assert len(in_topic) > PAGE_SIZE
    first_page = card_titles(page)
    page.get_by_role("link", name="Next →").click()
    expect(page).to_have_url(re.compile(r"\?page=2$"))
    assert first_page + card_titles(page) == in_topic
    expect(page.get_by_role("link", name="Next →")).to_have_count(0)
    page.get_by_role("link", name="← Previous").click()
    # Page 1 has one address: no ?page=, and no bare trailing "?".
    expect(page).to_have_url(re.compile(r"/topics/ai/$"))
    assert card_titles(page) == first_page

    # Search from the masthead: a word of the title finds it...
    search = page.get_by_role("banner").get_by_role("searchbox", name="Search stories")
    search.fill("SRAM")
    search.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("Search")
    assert CHIP in card_titles(page)
    # ...and a word only a story still in review has finds nothing.
    search = page.get_by_role("banner").get_by_role("searchbox", name="Search stories")
    search.fill(DRAFT_WORD)
    search.press("Enter")
    expect(page.get_by_role("main")).to_contain_text("No published story matches")

    # The feed link in the footer: RSS of the published stories, drafts left out.
    feed = page.get_by_role("contentinfo").get_by_role("link", name="RSS")
    response = page.request.get(feed.get_attribute("href"))
    assert response.ok
    assert response.headers["content-type"].startswith("application/rss+xml")
    channel = ElementTree.fromstring(response.body()).find("channel")
    titles = [item.findtext("title") for item in channel.iter("item")]
    assert CHIP in titles
    assert DRAFT not in titles
    assert set(titles) <= set(published.values_list("title", flat=True))
    assert problems == []


def injected_scripts(page):
    """Executable script elements carrying the file's `alert(1)` (JSON-LD is data)."""
    return page.locator('script:not([type="application/ld+json"])').evaluate_all(
        "scripts => scripts.filter(s => s.textContent.includes('alert(1)')).length"
    )


def test_markup_in_imported_text_reaches_readers_and_editors_as_text(page, editor, demo_content):
    hostile = Article.objects.filter(title__in=[HOSTILE_TITLE, BOLD_EXCERPT_TITLE])
    hostile.update(heat_pin=500, published_at=timezone.now())  # first in "Top"...
    ranking.recompute(hostile.values_list("pk", flat=True))  # ...once recomputed
    hostile.publish(user=editor)
    problems = record_problems(page)
    dialogs = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))

    page.goto("/")
    expect(page.get_by_role("main").get_by_role("heading", name=HOSTILE_TITLE)).to_be_visible()
    card = page.get_by_role("article").filter(has_text=BOLD_EXCERPT_TITLE)
    expect(card).to_contain_text("metrics <b>and</b> human ratings")
    assert injected_scripts(page) == 0
    page.get_by_role("main").get_by_role("link", name=HOSTILE_TITLE).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(HOSTILE_TITLE)
    assert injected_scripts(page) == 0
    search = page.get_by_role("banner").get_by_role("searchbox", name="Search stories")
    search.fill("<script>")
    search.press("Enter")
    expect(page.get_by_role("main")).to_contain_text("<script>")

    log_in(page, editor)
    page.goto("/admin/articles/article/?q=Prompt-injection")
    page.get_by_role("link", name=HOSTILE_TITLE).click()
    title = page.get_by_role("group", name="Content", exact=True).get_by_label("Title:")
    expect(title).to_have_value(HOSTILE_TITLE)
    assert injected_scripts(page) == 0
    assert dialogs == []
    assert problems == []
