import datetime as dt
from pathlib import Path

import pytest
from django.core.cache import cache

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT.parent / "shared" / "corpus"
FIXTURES = ROOT / "fixtures"


@pytest.fixture
def corpus():
    """The real news files beside the project; tests using it skip where it is absent."""
    if not (CORPUS / "news").is_dir():
        pytest.skip(f"corpus folder not found at {CORPUS} (it lives beside the project checkout)")
    return CORPUS


@pytest.fixture(autouse=True)
def _media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def page_cache_off(settings):
    """Fresh renders: the public page cache off, and emptied. Modules about pages use
    it for every test (`pytest.mark.usefixtures`); the cache's own tests turn it on."""
    settings.NEWSROOM_PAGE_CACHE = False
    cache.clear()


@pytest.fixture
def editor(client):
    """A member of the Editors group, signed in to the admin through `client`."""
    from tests.admin_support import make_staff

    user = make_staff("eddie", group="Editors")
    client.force_login(user)
    return user


def pytest_configure(config):
    # pytest-playwright (installed for the browser tests) empties its --output folder
    # at the start of every run, whatever is being tested: give it a folder of its
    # own, so the screenshots in test-results/screenshots/ outlive other test runs.
    if getattr(config.option, "output", None) == "test-results":
        config.option.output = "test-results/playwright"


class FrozenClock:
    """articles.clock stopped at `now`; `advance(minutes=1)` moves it on."""

    def __init__(self, now):
        self.now = now

    def __call__(self):
        return self.now

    def advance(self, **delta):
        self.now += dt.timedelta(**delta)
        return self.now


@pytest.fixture
def frozen_clock(monkeypatch):
    """Freezes articles.clock.now(), the time every time-dependent rule reads, at a fixed
    moment (2026-03-02 10:00:30 UTC) for the test."""
    from articles import clock

    frozen = FrozenClock(dt.datetime(2026, 3, 2, 10, 0, 30, tzinfo=dt.UTC))
    monkeypatch.setattr(clock, "now", frozen)
    return frozen
