"""What the browser tests need from this machine: where Chromium is, how it is
launched, where screenshots go, and whether the tests can run here at all.

Plain Python (no Playwright import), so conftest.py can read it on any machine.
"""

import importlib.util
import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# Debian's package (`apt-get install chromium`). Playwright's own browser download
# needs internet access that CI does not have, so `playwright install` is never used.
CHROMIUM = Path(os.environ.get("NEWSROOM_E2E_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_FLAGS = [
    "--no-sandbox",  # we run as root, where Chromium's sandbox refuses to start
    "--disable-gpu",
    # Without these Chromium keeps trying to reach Google's servers and gets refused.
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

# Every test user's password (the tests log in through the real login form).
PASSWORD = "correct horse battery staple 42"

# Gitignored; the best ones are copied by hand to docs/screenshots/.
SCREENSHOTS = ROOT / "test-results" / "screenshots"

ENABLE_HINT = (
    "run `apt-get install -y chromium && .venv/bin/pip install -e '.[dev,e2e]'` "
    "to enable the browser tests"
)


def missing() -> str | None:
    """Why the browser tests cannot run on this machine, or None when they can."""
    if importlib.util.find_spec("pytest_playwright") is None:
        return f"e2e: the playwright packages are not installed — {ENABLE_HINT}"
    if not CHROMIUM.exists():
        return f"e2e: Chromium not found at {CHROMIUM} — {ENABLE_HINT}"
    return None


def required() -> bool:
    """CI sets NEWSROOM_E2E=require: there a missing browser is a failure, not a skip."""
    return os.environ.get("NEWSROOM_E2E", "").lower() == "require"
