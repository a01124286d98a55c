"""Journey 1: an editor's review of one imported item, from login to its history."""

import re

import pytest

from articles.models import Article

from .stories import ALREADY_LIVE, CHIP, CHIP_HEAT, CHIP_NEW_TOPIC, CHIP_QUALITY, RACKS
from .support import expect, log_in, record_problems, save_screenshots

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_editor_reviews_and_publishes_an_imported_item(page, editor, demo_content):
    problems = record_problems(page)
    log_in(page, editor)

    # The admin home says how long the queue is and links to it.
    waiting = Article.objects.in_review().count()
    page.get_by_role("link", name=f"{waiting} in the review queue", exact=True).click()
    queue = page.locator("#result_list")
    expect(queue.locator("tbody tr")).to_have_count(waiting)
    expect(queue.get_by_role("link", name=ALREADY_LIVE)).to_have_count(0)
    save_screenshots(page, "admin-review-queue")

    queue.get_by_role("link", name=CHIP).click()
    content = page.get_by_role("group", name="Content", exact=True)
    editorial = page.get_by_role("group", name="Editorial", exact=True)
    expect(content.get_by_label("Title:")).to_have_value(CHIP)

    editorial.get_by_label("Quality:").fill(str(CHIP_QUALITY))
    editorial.get_by_label("Pinned heat:").fill(str(CHIP_HEAT))

    # Related story: the admin's autocomplete searches as the editor types.
    page.locator(".field-related_stories .select2-selection").click()
    page.locator(".select2-search__field").fill("liquid-cooled")
    page.locator(".select2-results__option", has_text=RACKS).click()
    # Each choice says its outlet, date and status after the title.
    chosen = page.locator("#id_related_stories option:checked")
    expect(chosen).to_have_text([re.compile(rf"^{re.escape(RACKS)} — .+, \d+ \w+ \d{{4}}, \w+")])

    # Topic: pick it in the "available" box and move it across.
    page.locator("#id_topics_from").select_option(label=CHIP_NEW_TOPIC)
    page.get_by_role("button", name="Choose selected topics").click()
    expect(page.locator("#id_topics_to option")).to_contain_text([CHIP_NEW_TOPIC])

    editorial.get_by_label("Status:").select_option(label="Published")
    save_screenshots(page, "admin-article-form")
    page.get_by_role("button", name="Save", exact=True).first.click()

    expect(page.locator(".messagelist")).to_contain_text("was changed successfully")
    article = Article.objects.get(title=CHIP)
    assert (article.status, article.quality) == ("published", CHIP_QUALITY)
    assert (article.heat_pin, article.heat) == (CHIP_HEAT, CHIP_HEAT)
    assert article.went_live_at is not None
    assert [a.title for a in article.related_stories.all()] == [RACKS]
    assert CHIP_NEW_TOPIC in article.topics.names()

    # The history shows who changed what (the success message links back to the item).
    page.locator(".messagelist").get_by_role("link", name=CHIP).click()
    page.get_by_role("link", name="History").click()
    entry = page.locator(".revision").first  # the newest revision: this save
    expect(entry).to_contain_text("edna")
    for field in ("status", "quality", "heat", "related stories", "topics"):
        expect(entry).to_contain_text(re.compile(field, re.IGNORECASE))

    # Published items have a public page, reachable from the admin.
    page.go_back()
    page.get_by_role("link", name="View on site").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(CHIP)
    assert problems == []
