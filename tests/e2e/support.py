"""Steps the browser journeys share: logging in, reading cards, axe, focus order, screenshots.

Every test module imports this first. Without Playwright or Chromium the import
skips the module, always from the same line, so pytest prints one line for all of
them (`SKIPPED [n] tests/e2e/support.py:…: e2e: … to enable the browser tests`).
"""

from pathlib import Path

import pytest

from .environment import PASSWORD, SCREENSHOTS, missing, required

_why_not = missing()
if _why_not and required():
    pytest.fail(f"{_why_not} (NEWSROOM_E2E=require: CI must run them)", pytrace=False)
if _why_not:
    pytest.skip(_why_not, allow_module_level=True)

from playwright.sync_api import Page, expect  # noqa: E402

AXE_JS = Path(__file__).parent / "vendor" / "axe.min.js"
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}


def log_in(page: Page, user, password=PASSWORD):
    """Sign in through the admin's real login form (django-axes is on)."""
    page.goto("/admin/login/?next=/admin/")
    page.get_by_label("Username").fill(user.get_username())
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("button", name="Log out")).to_be_visible()


def card_titles(page: Page) -> list[str]:
    """The story titles on a public list page, top to bottom.

    A click that navigates returns once the next page starts loading: wait until it
    is all there before reading it.
    """
    page.wait_for_load_state("domcontentloaded")
    return [t.strip() for t in page.locator("main article h2").all_inner_texts()]


def record_problems(page: Page) -> list[str]:
    """Collect script errors, console errors (CSP violations among them) and failed
    same-site requests from now on; the test asserts the list stays empty."""
    problems = []
    page.on("pageerror", lambda error: problems.append(f"script error: {error}"))
    page.on(
        "console",
        lambda message: message.type == "error" and problems.append(f"console: {message.text}"),
    )
    page.on(
        "response",
        lambda response: (
            response.status >= 400 and problems.append(f"HTTP {response.status}: {response.url}")
        ),
    )
    return problems


def axe_violations(page: Page, impacts=("serious", "critical")) -> list[str]:
    """Run axe-core on the current page; one readable line per violation of `impacts`.

    axe is added as an init script of the context (see `with_axe`), because the
    site's Content-Security-Policy rightly refuses injected inline scripts.
    """
    page.wait_for_load_state()  # a page still navigating has no document to check
    results = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    return [
        f"{v['impact']}: {v['id']} — {v['help']} — "
        + "; ".join(" ".join(node["target"]) for node in v["nodes"][:5])
        for v in results["violations"]
        if v["impact"] in impacts
    ]


def with_axe(context):
    """Make axe-core available on every page this browser context opens."""
    context.add_init_script(path=str(AXE_JS))
    return context


# What a keyboard user has reached: its name (label text for form fields), link
# target, which part of the page it is in, and whether the focus is drawn.
_DESCRIBE_FOCUS = """() => {
  const el = document.activeElement;
  if (!el || el === document.body) return null;
  const label = el.labels && el.labels.length ? el.labels[0].innerText : '';
  const style = getComputedStyle(el);
  return {
    text: (label || el.innerText || el.getAttribute('aria-label') || '').trim(),
    href: el.getAttribute('href'),
    landmark: el.closest('footer') ? 'footer' : el.closest('main') ? 'main'
            : el.closest('header') ? 'header' : 'other',
    outline: style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) > 0,
    shadow: style.boxShadow !== 'none',
  };
}"""


def tab_stops(page: Page, count: int) -> list[dict]:
    """Press Tab `count` times from the top of the page; describe each focused element."""
    stops = []
    for _ in range(count):
        page.keyboard.press("Tab")
        stop = page.evaluate(_DESCRIBE_FOCUS)
        if stop is None:  # focus left the document: the end of the page was reached
            break
        stops.append(stop)
    return stops


def save_screenshots(page: Page, name: str):
    """`test-results/screenshots/<name>-desktop.png` and `-phone.png` (1280 and 390 wide)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for label, size in (("desktop", DESKTOP), ("phone", PHONE)):
        page.set_viewport_size(size)
        page.screenshot(path=SCREENSHOTS / f"{name}-{label}.png", animations="disabled")
    page.set_viewport_size(DESKTOP)
