"""Fixtures for the browser tests: Debian's Chromium, the live server, users and content.

Nothing here imports Playwright, so this file loads (and the rest of the suite runs)
on machines without it; `support.py` decides whether the browser tests run at all.
"""

import hashlib
import os

import pytest
from django.core.cache import cache

from articles.models import Article, Topic
from tests.admin_support import make_staff
from tests.conftest import FIXTURES

from . import stories
from .environment import CHROMIUM, CHROMIUM_FLAGS, PASSWORD

# Playwright's sync API keeps an asyncio loop running in this thread for the whole
# session, and Django refuses ORM calls when it sees a running loop. The tests call
# the ORM between browser steps on purpose, so tell Django that this is fine (the
# standard workaround; it is process-wide, like the loop).
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"


# Browser and server ------------------------------------------------------------------


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    """Debian's Chromium: Playwright's own browser download cannot work offline."""
    return {
        **browser_type_launch_args,
        "executable_path": str(CHROMIUM),
        "args": CHROMIUM_FLAGS,
    }


@pytest.fixture(scope="session")
def base_url(live_server):
    """`page.goto("/")` opens the live server (one per xdist worker)."""
    return live_server.url


@pytest.fixture
def browser_profile(new_context, base_url):
    """`browser_profile()` opens a fresh browser profile (its own cookies), sealed off
    from the internet.

    The demo content points its images at made-up hosts (images.example.org): those
    requests get a generated picture instead, so pages look like pages in the
    screenshots; any other request that leaves the live server is refused.
    Routing also turns off the browser's HTTP cache, so every visit asks the server.
    """

    def open_profile():
        profile = new_context(viewport={"width": 1280, "height": 900}, locale="en-GB")
        profile.route(lambda url: not url.startswith(base_url), _offline)
        return profile

    return open_profile


@pytest.fixture
def context(browser_profile):
    """The profile behind pytest-playwright's `page` fixture."""
    return browser_profile()


def _offline(route):
    if route.request.resource_type == "image":
        route.fulfill(
            status=200, content_type="image/svg+xml", body=_placeholder(route.request.url)
        )
    else:
        route.abort("blockedbyclient")


def _placeholder(url):
    """A soft two-colour gradient whose hue depends on the URL, so cards differ."""
    hue = int(hashlib.sha1(url.encode()).hexdigest()[:4], 16) % 360
    return (
        '<svg xmlns="http://www.w3.org/2000/svg" width="1600" height="900" viewBox="0 0 16 9">'
        '<defs><linearGradient id="g" x2="1" y2="1">'
        f'<stop offset="0" stop-color="hsl({hue},45%,62%)"/>'
        f'<stop offset="1" stop-color="hsl({(hue + 50) % 360},40%,34%)"/>'
        '</linearGradient></defs><rect width="16" height="9" fill="url(#g)"/></svg>'
    )


@pytest.fixture(autouse=True)
def _e2e_environment(settings):
    """What every browser test starts from.

    - The page cache lives in this process (locmem) and survives the database flush
      between tests, so a page cached by the previous test must not be served.
    - django-axes is switched on (tests/settings.py turns it off for the test client),
      so logging in goes through the real lock-out backend like in production.
    """
    cache.clear()
    settings.AXES_ENABLED = True


# People ------------------------------------------------------------------------------


@pytest.fixture
def make_user(transactional_db):
    """`make_user("edna", "Editors")`: a staff account in one of the editorial groups."""

    def make(username, group):
        return make_staff(username, group=group, password=PASSWORD, first_name=username.title())

    return make


@pytest.fixture
def editor(make_user):
    return make_user("edna", "Editors")


@pytest.fixture
def contributor(make_user):
    return make_user("carl", "Contributors")


# Content -----------------------------------------------------------------------------


@pytest.fixture
def demo_content(transactional_db):
    """The project's demo content: 10 topics and 48 items, 29 of them published."""
    stories.import_files(FIXTURES)


@pytest.fixture
def published_story(demo_content, editor):
    """The demo content after journey 1: the editor's changes to CHIP, made through the
    same QuerySet methods the admin actions use. Returns the article."""
    chip = Article.objects.filter(title=stories.CHIP)
    chip.set_quality(stories.CHIP_QUALITY, user=editor)
    chip.set_heat(stories.CHIP_HEAT, user=editor)
    chip.add_topic(Topic.objects.get(name=stories.CHIP_NEW_TOPIC), user=editor)
    chip.publish(user=editor)
    article = chip.get()
    article.related_stories.add(Article.objects.get(title=stories.RACKS))
    return article
