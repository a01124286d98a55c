"""Journey: an editor reviews 20 queued items with the keyboard only (static/admin/desk.js).

Each item's suggested topics are right, so publishing it is one keystroke (`p`: publish
and next) and one page load; one item also gets a quality (`q`, the digits, Esc, `p`).
The figures (keystrokes and page loads per item, wall time) are written to
test-results/keyboard-desk.json for docs/desk.md.
"""

import datetime as dt
import json
import re
import time

import pytest
from django.utils import timezone

from articles.models import Article
from tests.factories import make_article, make_topic

from .environment import ROOT
from .support import expect, log_in, record_problems, save_screenshots

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

ITEMS = 20


@pytest.fixture
def queue(transactional_db):
    robotics = make_topic("Robotics", keywords=["humanoid"])
    start = timezone.now() - dt.timedelta(days=1)
    return [
        make_article(f"Humanoid robot number {n} walks", excerpt="", images=0, status=Article.Status.REVIEW, published_at=start + dt.timedelta(minutes=n))
        for n in range(ITEMS)
    ], robotics  # fmt: skip


def test_twenty_items_reviewed_with_the_keyboard_alone(page, editor, queue):
    articles, robotics = queue
    problems = record_problems(page)
    log_in(page, editor)
    # Pages opened, counted by their DOMContentLoaded: an editor moves on once the
    # form works, before a slow machine fires `load` (images, styles), so a count of
    # load events came up short under CI's load.
    loads = []
    page.on("domcontentloaded", lambda _: loads.append(page.url))
    # The queue, oldest waiting first, opened at its first item.
    page.goto("/admin/articles/article/?status=review&order=oldest")
    page.get_by_role("link", name=re.compile("^" + re.escape(articles[0].title))).click()
    expect(page.locator(".desk-place")).to_contain_text(f"1 of {ITEMS}")
    save_screenshots(page, "admin-review-screen")

    # `?` shows the keys; `?` again hides them.
    help_list = page.locator("#desk-keys dl")
    page.keyboard.press("?")
    expect(help_list).to_be_visible()
    page.keyboard.press("?")
    expect(help_list).to_be_hidden()
    page.locator("body").focus()

    keystrokes, started, loads_before = 0, time.monotonic(), len(loads)
    for n, article in enumerate(articles):
        expect(page.locator("#id_title")).to_have_value(article.title)
        page.wait_for_selector("html[data-desk-keys=on]", state="attached")
        # The suggestion is ticked already: `p` alone publishes with it (`a` would keep it).
        expect(
            page.get_by_role("checkbox", name=re.compile("^Robotics — .*“Humanoid”"))
        ).to_be_checked()
        if n == 0:
            page.keyboard.press("q")
            page.keyboard.type("80")
            page.keyboard.press("Escape")
            keystrokes += 4
        page.keyboard.press("p")
        keystrokes += 1
        message = page.locator(".messagelist")
        expect(message).to_contain_text(f"Published “{article.title}”")
    page.wait_for_load_state("domcontentloaded")
    wall = time.monotonic() - started
    # The events reach this process a moment after the page shows the message.
    waited = time.monotonic()
    while len(loads) - loads_before < ITEMS and time.monotonic() - waited < 5:
        page.wait_for_timeout(50)
    page_loads = len(loads) - loads_before

    # After the last one, the list says so.
    expect(page.locator(".messagelist")).to_contain_text("That was the last article")
    published = Article.objects.filter(pk__in=[a.pk for a in articles])
    assert set(published.values_list("status", flat=True)) == {Article.Status.PUBLISHED}
    assert all(robotics.name in a.topics.names() for a in published)
    assert published.get(pk=articles[0].pk).quality == 80
    # A publish is a POST answered by a redirect: one page load per item.
    assert page_loads == ITEMS
    assert keystrokes == ITEMS + 4
    assert problems == []
    results = ROOT / "test-results"
    results.mkdir(exist_ok=True)
    (results / "keyboard-desk.json").write_text(
        json.dumps(
            {
                "items": ITEMS,
                "keystrokes": keystrokes,
                "keystrokes_per_item": keystrokes / ITEMS,
                "page_loads_per_item": page_loads / ITEMS,
                "wall_seconds": round(wall, 2),
            },
            indent=2,
        )
    )


def test_keys_do_nothing_while_the_editor_types(page, editor, queue):
    articles, _ = queue
    log_in(page, editor)
    oldest_first = "?_changelist_filters=status%3Dreview%26order%3Doldest"
    page.goto(f"/admin/articles/article/{articles[0].pk}/change/{oldest_first}")
    title = page.locator("#id_title")
    page.wait_for_selector("html[data-desk-keys=on]", state="attached")
    title.click()
    page.keyboard.type(" p")  # typed into the title, not a publish
    expect(title).to_have_value(articles[0].title + " p")
    assert Article.objects.get(pk=articles[0].pk).status == Article.Status.REVIEW
    # Outside a field `a` ticks every suggestion, again and again (it accepts, never
    # takes back); `A` unticks them; `j` opens the next without saving.
    page.keyboard.press("Escape")
    boxes = page.locator(".desk-suggestions input")
    for _ in range(2):
        page.keyboard.press("a")
        expect(page.locator(".desk-suggestions input:checked")).to_have_count(boxes.count())
    page.keyboard.press("A")
    expect(page.locator(".desk-suggestions input:checked")).to_have_count(0)
    page.keyboard.press("j")
    expect(page.locator("#id_title")).to_have_value(articles[1].title)
    assert Article.objects.get(pk=articles[0].pk).title == articles[0].title
