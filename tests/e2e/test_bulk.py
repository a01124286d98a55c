"""Journey 4: an editor publishes 20 items from the review queue in one action."""

import re

import pytest

from articles.models import Article
from tests.factories import make_article

from .support import card_titles, expect, log_in, record_problems

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def batch(demo_content):
    """25 new items waiting in the queue, beside the demo content."""
    return [
        make_article(f"Bulk story {n:02d}: lab robots learn task {n}", status=Article.Status.REVIEW)
        for n in range(1, 26)
    ]


def test_editor_publishes_twenty_items_in_one_action(page, browser_profile, editor, batch):
    chosen = [a.title for n, a in enumerate(batch, 1) if n % 5]  # all but 05, 10, 15, ...
    left_out = [a.title for n, a in enumerate(batch, 1) if not n % 5]
    assert len(chosen) == 20

    problems = record_problems(page)
    log_in(page, editor)
    waiting = Article.objects.in_review().count()
    page.get_by_role("link", name=f"{waiting} in the review queue", exact=True).click()
    page.locator("#searchbar").fill("Bulk story")
    page.get_by_role("button", name="Search").click()
    rows = page.locator("#result_list tbody tr")
    expect(rows).to_have_count(25)

    for title in chosen:
        rows.filter(has=page.get_by_role("link", name=title)).get_by_role("checkbox").check()
    expect(page.locator(".action-counter")).to_have_text("20 of 25 selected")
    page.locator("select[name=action]").select_option(label="Publish selected articles")
    page.get_by_role("button", name="Go").click()

    expect(page.locator(".messagelist")).to_have_text("Published 20 articles.")
    expect(rows).to_have_count(5)  # the queue (still searched) keeps the other five
    assert set(
        Article.objects.published().filter(title__in=chosen).values_list("title", flat=True)
    ) == set(chosen)

    # A reader (another browser profile, not signed in) walks the whole site list.
    reader = browser_profile().new_page()
    reader.goto("/?view=latest")
    seen = card_titles(reader)
    page_number = 1
    while reader.get_by_role("link", name="Next →").count():
        reader.get_by_role("link", name="Next →").click()
        page_number += 1
        expect(reader).to_have_url(re.compile(rf"[?&]page={page_number}$"))
        seen += card_titles(reader)
    assert len(seen) == len(set(seen)) == Article.objects.published().count()
    assert set(chosen) <= set(seen)
    assert set(left_out).isdisjoint(seen)
    assert problems == []
