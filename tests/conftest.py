from pathlib import Path

import pytest

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
