"""Journey: an editor imports a zip of 30 files from the admin, one bad and one in conflict.

Upload, read the preview (counts, the conflict, the failure), confirm, watch the
progress bar move without a reload, land on the import run. The worker's tasks run in
this test's thread (`run_queued_tasks`), between the browser's steps, as a worker
beside the server would.
"""

import re

import pytest

from articles.ingest.importer import Importer
from articles.ingest.sources import uploaded
from articles.models import Article
from tests.admin_support import run_queued_tasks
from tests.factories import news_file, zip_of

from .support import axe_violations, expect, log_in, record_problems, save_screenshots, with_axe

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

EDITORS_TITLE = "The editor's better title"


def test_an_editor_imports_a_zip_through_preview_and_confirm(context, page, editor):
    # Item 1 is on the site already, and an editor has retitled it since.
    Importer(workers=1).run_sources(uploaded([news_file(1)])[0])
    Article.objects.filter(web_url__endswith="/story-1").update(title=EDITORS_TITLE)
    files = [news_file(1, title="The file's new title")]  # the conflict
    files += [news_file(n) for n in range(2, 30)]  # 28 new items
    files += [("news/broken.md", b"---\ntitle: [unclosed\n---\nbody\n")]  # the bad file

    with_axe(context)
    problems = record_problems(page)
    log_in(page, editor)
    page.get_by_role("link", name="Import files…").click()
    expect(page.get_by_label("Files:")).to_be_visible()  # the form has loaded
    assert axe_violations(page) == [], "the upload form"
    page.get_by_label("Files:").set_input_files(
        {"name": "news.zip", "mimeType": "application/zip", "buffer": zip_of(files)}
    )
    page.get_by_role("button", name="Upload and preview").click()
    expect(page.locator("#upload-status")).to_contain_text("Preparing the preview")
    expect(page.locator("#import-progress progress")).to_be_visible()

    run_queued_tasks()  # the worker prepares the preview; the page notices by itself
    counts = page.locator("#upload-counts")
    expect(counts).to_contain_text("all 30")
    for text in ("28 created", "0 updated", "0 unchanged", "1 conflict", "1 failed"):
        expect(counts).to_contain_text(text)
    assert axe_violations(page) == [], "the preview"
    save_screenshots(page, "admin-import-preview")

    counts.get_by_role("link", name="1 conflict").click()
    row = page.locator("#upload-files > tbody > tr")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("news/001.md")
    conflict = row.locator("tr").filter(has_text=EDITORS_TITLE)
    expect(conflict.locator("td")).to_have_text(["title", EDITORS_TITLE, "The file's new title"])
    page.locator("#upload-counts").get_by_role("link", name="1 failed").click()
    expect(page.locator("#upload-files > tbody > tr")).to_contain_text("news/broken.md:")

    page.get_by_role("button", name="Confirm the import").click()
    expect(page.locator(".messagelist")).to_contain_text("a worker runs it")
    bar = page.locator("#import-progress progress")
    expect(bar).to_have_attribute("value", "0")
    assert Article.objects.count() == 1  # nothing is written before the worker runs it

    run_queued_tasks()  # the worker imports; the page moves on without a reload by hand
    run_link = page.locator("#upload-run a")
    expect(run_link).to_contain_text("Import #")
    expect(page.locator("#upload-status")).to_contain_text("Imported")
    run_link.click()
    expect(page.locator("body")).to_contain_text("uploaded by edna: 30 files")
    expect(page.locator("body")).to_contain_text("news/broken.md")
    assert Article.objects.count() == 29
    assert Article.objects.get(web_url__endswith="/story-1").title == EDITORS_TITLE
    assert problems == []


def test_more_files_than_a_request_carries_are_refused_in_the_form(page, editor, settings):
    """Django answers a request with more files than DATA_UPLOAD_MAX_NUMBER_FILES with a
    bare 400 before any view runs; the form says so first, in one line, and sends nothing."""
    most = settings.DATA_UPLOAD_MAX_NUMBER_FILES
    log_in(page, editor)
    page.goto("/admin/articles/importupload/add/")
    files = [
        {"name": f"{n:03d}.md", "mimeType": "text/markdown", "buffer": news_file(n)[1]}
        for n in range(most + 1)
    ]
    field = page.get_by_label("Files:")
    field.set_input_files(files)
    message = field.evaluate("input => input.validationMessage")
    assert message == f"At most {most} files one by one: put more in a zip."
    page.get_by_role("button", name="Upload and preview").click()
    expect(page).to_have_url(re.compile(r"/admin/articles/importupload/add/$"))  # not sent
    field.set_input_files(files[:2])
    assert field.evaluate("input => input.validationMessage") == ""
