"""Journey 5: a re-import meets an editor's change; the editor's value is kept and shown."""

import shutil

import pytest

from articles.models import Article
from tests.conftest import FIXTURES

from .stories import CHIP, import_files
from .support import expect, log_in, record_problems, save_screenshots

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

SOURCE = (
    FIXTURES
    / "news"
    / "2025-09-22-startup-tapes-out-a-3nm-inference-chip-built-around-on-die-sram.md"
)
EDITORS_TITLE = "Startup tapes out 3nm AI chip that keeps model weights in on-die SRAM"
SOURCES_TITLE = "Startup tapes out 3nm inference chip and ships first samples"


def test_reimport_keeps_the_editors_title_and_shows_the_conflict(page, editor, tmp_path):
    item = tmp_path / "news" / SOURCE.name
    item.parent.mkdir()
    shutil.copy(SOURCE, item)
    import_files(item)
    article = Article.objects.get(title=CHIP)
    assert article.quality == 61

    problems = record_problems(page)
    log_in(page, editor)
    page.goto(f"/admin/articles/article/{article.pk}/change/")
    title = page.get_by_role("group", name="Content", exact=True).get_by_label("Title:")
    title.fill(EDITORS_TITLE)
    page.get_by_role("button", name="Save", exact=True).first.click()
    expect(page.locator(".messagelist")).to_contain_text("was changed successfully")

    # The source changes the title too, and the quality, which nobody edited here.
    text = item.read_text(encoding="utf-8")
    assert f'title: "{CHIP}"' in text and "quality: 61\n" in text
    item.write_text(
        text.replace(f'title: "{CHIP}"', f'title: "{SOURCES_TITLE}"').replace(
            "quality: 61\n", "quality: 74\n"
        ),
        encoding="utf-8",
    )
    output = import_files(item)
    assert "conflict:" in output

    page.goto(f"/admin/articles/article/{article.pk}/change/")
    conflicts = page.get_by_role("group", name="Import conflicts")
    expect(conflicts).to_be_visible()
    row = conflicts.get_by_role("row").filter(has_text="title")
    expect(row.get_by_role("cell")).to_have_text(
        ["title", EDITORS_TITLE, SOURCES_TITLE, "Keep mine Take the file's value"]
    )
    # The editor's title stays; the untouched quality follows the file.
    expect(title).to_have_value(EDITORS_TITLE)
    editorial = page.get_by_role("group", name="Editorial", exact=True)
    expect(editorial.get_by_label("Quality:")).to_have_value("74")
    # Conflicts come first on the page: they need a decision.
    assert page.locator("fieldset h2").first.inner_text() == "Import conflicts"
    save_screenshots(page, "admin-import-conflict")

    # One click takes the file's title; the conflict is gone and the history says so.
    row.get_by_role("button", name="Take the file's value").click()
    expect(page.locator(".messagelist")).to_have_text("Took the file's value of “title”.")
    expect(title).to_have_value(SOURCES_TITLE)
    expect(page.get_by_role("group", name="Import conflicts")).to_have_count(0)
    assert problems == []
