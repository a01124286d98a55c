"""The editors' pages fit the screen: no sideways scrolling of the whole page at 1280
and 390 px (the admin index, an article with images and coverage, the queue, import
runs). A wide table inside may scroll on its own."""

import pytest
from django.db.models import Count

from articles.models import Article

from .support import (
    DESKTOP,
    PHONE,
    axe_violations,
    log_in,
    record_problems,
    save_screenshots,
    with_axe,
)

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


WIDER_THAN_THE_WINDOW = """() => {
  const width = document.documentElement.clientWidth;
  return [...document.querySelectorAll("body *")]
    .filter((el) => el.getBoundingClientRect().right > width + 1)
    .map((el) => `${el.tagName.toLowerCase()}#${el.id}.${el.className}`)
    .slice(0, 8);
}"""


def too_wide(page, size):
    """[] when the page fits `size`, else the elements that stick out (for the report)."""
    page.set_viewport_size(size)
    if page.evaluate("document.documentElement.scrollWidth") <= size["width"]:
        return []
    return page.evaluate(WIDER_THAN_THE_WINDOW) or ["(text overflowing its box)"]


@pytest.fixture
def desk_pages(demo_content):
    busiest = (
        Article.objects.annotate(
            n=Count("images", distinct=True) + Count("coverage", distinct=True)
        )
        .order_by("-n")
        .first()
    )
    return {
        "admin-index": "/admin/",
        "admin-article": f"/admin/articles/article/{busiest.pk}/change/",
        "admin-queue": "/admin/articles/article/?status=review&order=oldest",
        "admin-import-runs": "/admin/articles/importrun/",
    }


@pytest.mark.parametrize(
    "name", ["admin-index", "admin-article", "admin-queue", "admin-import-runs"]
)
def test_the_desk_fits_desktop_and_phone_screens(page, editor, desk_pages, name):
    log_in(page, editor)
    page.goto(desk_pages[name])
    save_screenshots(page, name)
    assert {size["width"]: too_wide(page, size) for size in (DESKTOP, PHONE)} == {1280: [], 390: []}


@pytest.mark.parametrize("name", ["admin-queue", "admin-article"])
def test_no_serious_or_critical_axe_violation_on_the_queue_and_review_screen(
    browser_profile, editor, desk_pages, name
):
    page = with_axe(browser_profile()).new_page()
    problems = record_problems(page)
    log_in(page, editor)
    page.goto(desk_pages[name])
    for size in (DESKTOP, PHONE):
        page.set_viewport_size(size)
        found = axe_violations(page)
        assert not found, f"{name} at {size['width']}px:\n" + "\n".join(found)
    assert problems == []
