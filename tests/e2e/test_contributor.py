"""Journey 3: a contributor edits an item but finds no way to publish it."""

import re

import pytest

from articles.models import Article

from .stories import CHIP
from .support import expect, log_in, record_problems

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

STATUS_ACTIONS = re.compile(r"publish|reject|return", re.IGNORECASE)
NEW_EXCERPT = "Samples ship next quarter; the company says the chip needs no external DRAM."


def test_contributor_edits_an_item_but_cannot_publish_it(page, contributor, demo_content):
    problems = record_problems(page)
    log_in(page, contributor)
    waiting = Article.objects.in_review().count()
    page.get_by_role("link", name=f"{waiting} in the review queue", exact=True).click()

    expect(page.locator("#result_list")).to_be_visible()
    page.wait_for_load_state("domcontentloaded")

    # The list's action menu has the editing actions but none that change the status.
    actions = page.locator("select[name=action] option").all_text_contents()
    assert "Set quality (type it in Value)" in actions
    assert [a for a in actions if STATUS_ACTIONS.search(a)] == []

    # The item: every field can be edited, the status cannot.
    page.locator("#result_list").get_by_role("link", name=CHIP).click()
    status = page.get_by_role("group", name="Editorial", exact=True).get_by_label("Status:")
    expect(status).to_be_disabled()
    expect(status.locator("option")).to_have_text(["In review"])
    expect(page.get_by_role("link", name="Preview (not public)")).to_be_visible()
    expect(page.get_by_role("link", name="View on site")).to_have_count(0)

    page.get_by_role("group", name="Content", exact=True).get_by_label("Excerpt:").fill(NEW_EXCERPT)
    # Even a page tampered with in the browser cannot publish: the server ignores a
    # status sent for a field it locked.
    status.evaluate(
        """select => {
            select.disabled = false;
            select.add(new Option('Published', 'published', true, true));
        }"""
    )
    page.get_by_role("button", name="Save", exact=True).first.click()

    expect(page.locator(".messagelist")).to_contain_text("was changed successfully")
    article = Article.objects.get(title=CHIP)
    assert article.excerpt == NEW_EXCERPT
    assert article.status == Article.Status.REVIEW
    assert article.went_live_at is None

    # And the public page is still not there, even for this signed-in contributor.
    assert page.request.get(article.get_absolute_url()).status == 404
    assert problems == []
