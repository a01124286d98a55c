"""The public pages in a real browser: axe-core, keyboard-only use, phone and desktop layout.

Each test saves what it looked at under test-results/screenshots/.
"""

import pytest

from .support import (
    DESKTOP,
    PHONE,
    axe_violations,
    record_problems,
    save_screenshots,
    tab_stops,
    with_axe,
)

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PAGES = ["home", "topic", "article", "search", "how-top-works"]


@pytest.fixture
def public_url(published_story):
    """The URL of one of the main public pages, by name."""
    urls = {
        "home": "/",
        "topic": published_story.topics.get(name="AI").get_absolute_url(),
        "article": published_story.get_absolute_url(),
        "search": "/search/?q=chip",
        "how-top-works": "/how-top-works/",
        "topics": "/topics/",
    }
    return urls.__getitem__


@pytest.mark.parametrize("name", PAGES)
def test_no_serious_or_critical_axe_violation(browser_profile, public_url, name):
    page = with_axe(browser_profile()).new_page()
    problems = record_problems(page)
    page.goto(public_url(name))
    for size in (DESKTOP, PHONE):
        page.set_viewport_size(size)
        assert axe_violations(page) == [], f"{name} at {size['width']}px"
    assert problems == []


@pytest.mark.parametrize("name", [*PAGES, "topics"])
def test_page_fits_desktop_and_phone_screens(page, public_url, name):
    page.goto(public_url(name))
    save_screenshots(page, name)
    for size in (DESKTOP, PHONE):
        page.set_viewport_size(size)
        # Sideways scrolling of the whole page is the classic phone-layout failure
        # (a wide element inside may scroll on its own, like the topic bar).
        assert page.evaluate("document.documentElement.scrollWidth") <= size["width"]


def test_keyboard_reaches_the_main_links_in_a_sensible_order(page, published_story):
    page.goto("/")

    # First the skip link, shown when focused, which jumps over the masthead.
    stops = tab_stops(page, 1)
    assert (stops[0]["text"], stops[0]["href"]) == ("Skip to the stories", "#main")
    skip_link = page.get_by_role("link", name="Skip to the stories")
    assert skip_link.is_visible()
    assert skip_link.bounding_box()["y"] >= 0
    stops += tab_stops(page, 200)

    # Then masthead, then the stories, then the footer, never going back up.
    regions = [s["landmark"] for s in stops[1:]]
    order = [r for i, r in enumerate(regions) if i == 0 or regions[i - 1] != r]
    assert order == ["header", "main", "footer"]
    header = [s["text"] for s in stops if s["landmark"] == "header"]
    assert header[:3] == ["Newsroom", "Search stories", "Search"]  # brand, search box, button
    assert "All topics" in header
    # In the stories: the Top/Latest tabs, then every card's title in page order.
    main = [s["text"] for s in stops if s["landmark"] == "main"]
    assert main[:2] == ["Top", "Latest"]
    card_links = page.locator("main article h2 a").evaluate_all(
        "links => links.map(a => a.getAttribute('href'))"
    )
    hrefs = [s["href"] for s in stops]
    positions = [hrefs.index(href) for href in card_links]
    assert positions == sorted(positions)
    assert "Next →" in main
    # Every stop shows where the focus is.
    assert [s["text"] for s in stops if not (s["outline"] or s["shadow"])] == []

    # Following the skip link puts the next Tab on the first story control.
    page.goto("/")
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent.trim()") == "Top"


def test_the_footer_sits_at_the_bottom_of_a_short_page(page, published_story):
    """A page shorter than the window (the 404 page on a desktop screen) keeps its
    footer at the bottom instead of floating mid-window."""
    page.set_viewport_size(DESKTOP)
    page.goto("/no-such-page/")
    assert page.evaluate("document.documentElement.scrollHeight") <= DESKTOP["height"]
    box = page.get_by_role("contentinfo").bounding_box()
    assert abs(box["y"] + box["height"] - DESKTOP["height"]) <= 1
