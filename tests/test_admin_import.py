"""Importing from the admin: upload, preview, confirm, the background task, permissions.

The worker's tasks are run here by `run_queued_tasks()`, in this process, with the
arguments the views queued them with.
"""

import datetime as dt
import functools
import hashlib
import zipfile

import pytest
from django.contrib.auth.models import Group
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import OperationalError, connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django_tasks import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from articles import tasks
from articles.ingest import itemfile, uploads
from articles.ingest.importer import Importer
from articles.ingest.snapshot import values_of
from articles.models import Article, ImportRun, ImportUpload, ImportUploadFile
from tests.admin_support import make_staff, run_queued_tasks
from tests.factories import news_file, zip_of
from tests.test_importer import make_item

pytestmark = pytest.mark.django_db

ADD_URL = reverse("admin:articles_importupload_add")


def upload(client, *files, name="news.zip"):
    """POST `files` ((name, bytes) pairs) zipped as `name`, or as they are when name is None."""
    if name is None:
        chosen = [SimpleUploadedFile(n, data) for n, data in files]
    else:
        chosen = [SimpleUploadedFile(name, zip_of(files), content_type="application/zip")]
    return client.post(ADD_URL, {"files": chosen})


def previewed(client, *files, name="news.zip") -> ImportUpload:
    response = upload(client, *files, name=name)
    assert response.status_code == 302, response.content.decode()[:2000]
    run_queued_tasks()
    return ImportUpload.objects.latest("pk")


def confirm(client, the_upload):
    response = client.post(reverse("admin:articles_importupload_confirm", args=[the_upload.pk]))
    assert response.status_code == 302
    run_queued_tasks()
    the_upload.refresh_from_db()
    return the_upload


def outcomes(the_upload) -> dict[str, tuple[str, dict]]:
    return {f.name: (f.outcome, f.detail) for f in the_upload.files.all()}


def page(client, the_upload, query=""):
    url = reverse("admin:articles_importupload_change", args=[the_upload.pk])
    response = client.get(url + query)
    assert response.status_code == 200
    return response.content.decode()


@pytest.fixture
def imported(client, editor):
    """Items 1-4 imported through an upload (so their articles know their files)."""
    the_upload = previewed(client, *(news_file(n) for n in range(1, 5)))
    return confirm(client, the_upload)


# -- permissions ---------------------------------------------------------------------------


def test_the_migration_gives_editors_the_import_permission_and_contributors_not():
    editors, contributors = (
        Group.objects.get(name="Editors"),
        Group.objects.get(name="Contributors"),
    )
    assert editors.permissions.filter(codename="import_articles").exists()
    assert not contributors.permissions.filter(codename="import_articles").exists()


def test_a_contributor_gets_403_on_every_import_view(client, editor):
    the_upload = previewed(client, news_file(1))
    client.force_login(make_staff("connie", group="Contributors"))
    pk = [the_upload.pk]
    views = [
        ("get", ADD_URL),
        ("post", ADD_URL),
        ("get", reverse("admin:articles_importupload_changelist")),
        ("get", reverse("admin:articles_importupload_change", args=pk)),
        ("get", reverse("admin:articles_importupload_progress", args=pk)),
        ("post", reverse("admin:articles_importupload_confirm", args=pk)),
        ("post", reverse("admin:articles_importupload_cancel", args=pk)),
    ]
    for method, url in views:
        data = {"files": [SimpleUploadedFile("a.md", news_file(2)[1])]} if url == ADD_URL else {}
        response = getattr(client, method)(url, data)
        assert response.status_code == 403, (method, url, response.status_code)
    assert ImportUpload.objects.get().status == ImportUpload.Status.PREVIEWED
    assert ImportUpload.objects.count() == 1 and not DBTaskResult.objects.exists()


def test_an_editor_sees_and_confirms_only_their_own_uploads(client, editor):
    the_upload = previewed(client, news_file(1))
    client.force_login(make_staff("other", group="Editors"))
    pk = [the_upload.pk]
    assert client.get(reverse("admin:articles_importupload_change", args=pk)).status_code == 404
    assert client.get(reverse("admin:articles_importupload_progress", args=pk)).status_code == 404
    assert client.post(reverse("admin:articles_importupload_confirm", args=pk)).status_code == 404
    assert client.post(reverse("admin:articles_importupload_cancel", args=pk)).status_code == 404
    listing = client.get(reverse("admin:articles_importupload_changelist")).content.decode()
    assert str(the_upload) not in listing
    assert ImportUpload.objects.get().status == ImportUpload.Status.PREVIEWED


# -- refused uploads -----------------------------------------------------------------------


def raw_zip(*members) -> bytes:
    """A zip whose member names are written as given (zipfile would not refuse them)."""
    return zip_of(members)


@pytest.mark.parametrize(
    "files, expected",
    [
        ([("../escape.md", b"x")], "member '../escape.md' points outside the zip with '..'"),
        ([("news/../../x.md", b"x")], "points outside the zip with '..'"),
        ([("/etc/evil.md", b"x")], "member '/etc/evil.md' has an absolute name"),
        ([("C:/evil.md", b"x")], "has an absolute name"),
        ([("bomb.md", b"a" * 2_000_000)], "times its size (expected at most 50 times"),
    ],
)
def test_a_dangerous_zip_is_refused_whole_with_one_line(client, editor, files, expected):
    response = client.post(
        ADD_URL, {"files": [SimpleUploadedFile("news.zip", raw_zip(*files), "application/zip")]}
    )
    assert response.status_code == 200
    errors = response.context["form"].errors["files"]
    assert len(errors) == 1 and expected in errors[0] and errors[0].startswith("news.zip: ")
    assert "Traceback" not in response.content.decode()
    assert not ImportUpload.objects.exists() and not DBTaskResult.objects.exists()


def test_too_many_files_are_refused(client, editor, settings):
    settings.NEWSROOM_UPLOAD_MAX_FILES = 3
    response = upload(client, *(news_file(n) for n in range(1, 5)))
    assert response.context["form"].errors["files"] == [
        "more than 3 files (expected at most that many, NEWSROOM_UPLOAD_MAX_FILES; import in parts)"
    ]
    response = upload(client, *(news_file(n) for n in range(1, 5)), name=None)
    assert "more than 3 files" in response.context["form"].errors["files"][0]
    assert not ImportUpload.objects.exists()


def test_more_bytes_than_allowed_in_all_are_refused(client, editor, settings):
    settings.NEWSROOM_UPLOAD_MAX_BYTES = 5000
    files = [news_file(n, body="word " * 300) for n in range(1, 5)]  # about 2,000 bytes each
    for name in ("news.zip", None):
        errors = upload(client, *files, name=name).context["form"].errors["files"]
        assert errors == [
            "more than 5,000 bytes in all "
            "(expected at most that many, NEWSROOM_UPLOAD_MAX_BYTES; import in parts)"
        ]
    assert not ImportUpload.objects.exists()


def test_an_oversized_file_fails_alone_with_the_command_lines_line(client, editor, settings):
    settings.NEWSROOM_IMPORT_MAX_BYTES = 3000
    big = news_file(2, body="word " * 1000)
    the_upload = previewed(client, news_file(1), big)
    assert outcomes(the_upload)[big[0]] == (
        "failed",
        {"error": str(itemfile.too_large_error(big[0], len(big[1]), 3000))},
    )
    assert outcomes(the_upload)["news/001.md"][0] == "created"
    confirm(client, the_upload)
    assert Article.objects.count() == 1
    assert the_upload.import_run.failures[0]["path"] == big[0]


def test_bad_names_and_files_get_the_command_lines_errors(client, editor):
    the_upload = previewed(
        client, news_file(1), ("notes.txt", b"hello"), ("news/bad.md", b"no front matter")
    )
    found = outcomes(the_upload)
    assert found["notes.txt"] == (
        "failed",
        {
            "error": "notes.txt: not a news item or taxonomy file "
            "(expected a .md, .markdown, .yaml or .yml file)"
        },
    )
    assert found["news/bad.md"][0] == "failed"
    assert found["news/bad.md"][1]["error"].startswith("news/bad.md")
    assert found["news/001.md"][0] == "created"


# -- the preview is what gets applied ------------------------------------------------------


def test_preview_lists_every_outcome_and_equals_the_applied_result(client, editor, imported):
    # An editor's change to item 3's title; the file changes it too: a conflict.
    Article.objects.filter(web_url=make_item(3).web_url).update(title="The editor's title")
    Article.objects.filter(web_url=make_item(3).web_url).set_quality(99, user=editor)
    files = [
        news_file(2, quality=77, title="A new title for 2"),  # updated
        news_file(1),  # unchanged (same bytes)
        news_file(3, title="The file's title", excerpt="New excerpt 3."),  # conflict
        news_file(5),  # created
        ("news/broken.md", b"---\ntitle: [\n---\n"),  # failed
    ]
    the_upload = previewed(client, *files)
    found = outcomes(the_upload)
    assert {name: outcome for name, (outcome, _) in found.items()} == {
        "news/001.md": "unchanged",
        "news/002.md": "updated",
        "news/003.md": "conflict",
        "news/005.md": "created",
        "news/broken.md": "failed",
    }
    assert found["news/002.md"][1]["changes"] == [
        {"field": "title", "old": "Story number 2", "new": "A new title for 2"},
        {"field": "quality", "old": 42, "new": 77},
    ]
    conflict = found["news/003.md"][1]
    assert {"field": "title", "ours": "The editor's title", "theirs": "The file's title"} in (
        conflict["conflicts"]
    )
    assert {"field": "excerpt", "old": "Excerpt 3.", "new": "New excerpt 3."} in conflict["changes"]
    assert "\n" not in found["news/broken.md"][1]["error"]
    # Nothing was written by the preview.
    assert Article.objects.count() == 4
    assert Article.objects.get(web_url=make_item(2).web_url).quality == 42

    text = page(client, the_upload)
    for snippet in ("1 created", "1 updated", "1 unchanged", "1 conflict", "1 failed",
                    "A new title for 2", "The editor&#x27;s title", "Confirm the import"):  # fmt: skip
        assert snippet in text

    done = confirm(client, the_upload)
    run = done.import_run
    assert done.status == ImportUpload.Status.DONE and run.status == "finished"
    assert (run.created, run.updated, run.unchanged, run.conflicts, run.failed) == (1, 2, 1, 1, 1)
    # Field by field, each article now holds what the preview said it would.
    for name in ("news/002.md", "news/003.md"):
        n = int(name[5:8])
        article = Article.objects.get(web_url=make_item(n).web_url)
        values = values_of(article)
        for change in found[name][1]["changes"]:
            assert values[change["field"]] == change["new"], (name, change)
        for kept in found[name][1].get("conflicts", ()):
            assert values[kept["field"]] == kept["ours"]
    new = Article.objects.get(web_url=make_item(5).web_url)
    assert values_of(new)["title"] == make_item(5).title


def test_a_file_whose_bytes_changed_after_the_preview_is_refused(client, editor, imported):
    the_upload = previewed(client, news_file(1, quality=80), news_file(2, quality=81))
    ImportUploadFile.objects.filter(upload=the_upload, name="news/002.md").update(
        data=news_file(2, quality=5)[1]
    )
    done = confirm(client, the_upload)
    assert done.import_run.failures == [
        {
            "path": "news/002.md",
            "line": None,
            "column": None,
            "error": "news/002.md: its bytes changed since the preview (its SHA-256 is not the "
            "one taken at upload) (expected the file as previewed: upload it again)",
        }
    ]
    assert Article.objects.get(web_url=make_item(2).web_url).quality == 42
    assert Article.objects.get(web_url=make_item(1).web_url).quality == 80


def test_an_article_edited_between_preview_and_confirm_is_a_conflict_not_overwritten(
    client, editor, imported
):
    the_upload = previewed(client, news_file(1, quality=80), news_file(2, title="New title 2"))
    assert outcomes(the_upload)["news/002.md"][0] == "updated"
    two = Article.objects.filter(web_url=make_item(2).web_url)
    two.set_quality(12, user=editor)  # through the write path: updated_at moves on

    done = confirm(client, the_upload)
    article = two.get()
    assert (article.quality, article.title) == (12, "Story number 2")
    run = done.import_run
    assert run.conflicts == 1 and run.updated == 1
    [conflict] = run.conflict_details
    assert (conflict["path"], conflict["field"]) == ("news/002.md", "article")
    assert conflict["ours"].startswith(f"changed since the preview: #{article.pk} at ")
    assert conflict["theirs"].startswith(f"as previewed: #{article.pk} at ")
    assert Article.objects.get(web_url=make_item(1).web_url).quality == 80


def test_an_article_created_by_someone_else_after_the_preview_is_a_conflict(client, editor):
    the_upload = previewed(client, news_file(1, quality=80))
    assert outcomes(the_upload)["news/001.md"][0] == "created"
    Importer().run_sources(uploads.uploaded([news_file(1)])[0])  # another import made it
    done = confirm(client, the_upload)
    assert done.import_run.conflict_details[0]["ours"].startswith("created since the preview")
    assert Article.objects.get().quality == make_item(1).quality


# -- cancel, the task and its progress -----------------------------------------------------


def test_cancel_deletes_the_upload_and_its_files(client, editor):
    the_upload = previewed(client, news_file(1), news_file(2))
    response = client.post(reverse("admin:articles_importupload_cancel", args=[the_upload.pk]))
    assert response.status_code == 302
    assert not ImportUpload.objects.exists() and not ImportUploadFile.objects.exists()
    assert not Article.objects.exists()


def test_a_confirmed_upload_cannot_be_cancelled_or_confirmed_again(client, editor):
    the_upload = previewed(client, news_file(1))
    client.post(reverse("admin:articles_importupload_confirm", args=[the_upload.pk]))
    client.post(reverse("admin:articles_importupload_cancel", args=[the_upload.pk]))
    client.post(reverse("admin:articles_importupload_confirm", args=[the_upload.pk]))
    assert ImportUpload.objects.get().status == ImportUpload.Status.APPLYING
    assert DBTaskResult.objects.filter(task_path=tasks.apply_upload.module_path).count() == 1


def test_the_confirm_task_applies_the_plan_and_ends_the_run(client, editor):
    the_upload = previewed(client, news_file(1), news_file(2), news_file(3))
    progress_url = reverse("admin:articles_importupload_progress", args=[the_upload.pk])
    assert client.get(progress_url).json()["status"] == "previewed"
    client.post(reverse("admin:articles_importupload_confirm", args=[the_upload.pk]))
    assert client.get(progress_url).json() == {
        "status": "applying",
        "status_display": "Importing",
        "running": True,
        "done": 0,
        "total": 3,
        "percent": 0,
        "run_url": "",
    }
    assert "import_progress.js" in page(client, the_upload)
    [summary] = run_queued_tasks()
    run = ImportRun.objects.get()
    assert summary.startswith(f"import {run.pk}: 3 created")
    assert (run.status, run.command, run.paths) == (
        "finished",
        "uploaded by eddie: 3 files",
        ["news.zip"],
    )
    progress = client.get(progress_url).json()
    assert (progress["status"], progress["done"], progress["percent"]) == ("done", 3, 100)
    assert progress["run_url"] == reverse("admin:articles_importrun_change", args=[run.pk])
    assert progress["run_url"] in page(client, the_upload)
    assert Article.objects.count() == 3


def test_a_failure_mid_import_leaves_the_run_and_the_upload_failed(client, editor, monkeypatch):
    the_upload = previewed(client, *(news_file(n) for n in range(1, 7)))
    monkeypatch.setattr(uploads, "Importer", functools.partial(Importer, batch_size=2, workers=1))
    tick, calls = Importer._tick, []

    def failing(self, done, total):
        # The moment the second batch has committed: two batches' articles stay.
        calls.append(done)
        if len(calls) == 2:
            raise OperationalError("the database went away")
        tick(self, done, total)

    monkeypatch.setattr(Importer, "_tick", failing)
    client.post(reverse("admin:articles_importupload_confirm", args=[the_upload.pk]))
    [result] = DBTaskResult.objects.filter(status=TaskResultStatus.READY)
    with pytest.raises(OperationalError):
        tasks.apply_upload.call(*result.args_kwargs["args"])
    run = ImportRun.objects.get()
    assert (run.status, run.failure_reason) == (
        "failed",
        "OperationalError: the database went away",
    )
    assert run.created == 4 and Article.objects.count() == 4
    the_upload.refresh_from_db()
    assert (the_upload.status, the_upload.import_run) == ("failed", run)
    assert the_upload.failure_reason == run.failure_reason
    assert "OperationalError: the database went away" in page(client, the_upload)


def test_a_preview_that_fails_says_why(client, editor, monkeypatch):
    def broken(self, batch):
        raise OperationalError("no database")

    monkeypatch.setattr(Importer, "_prefilter", broken)
    upload(client, news_file(1))
    with pytest.raises(OperationalError):
        run_queued_tasks()
    the_upload = ImportUpload.objects.get()
    assert (the_upload.status, the_upload.failure_reason) == (
        "failed",
        "OperationalError: no database",
    )
    assert not ImportRun.objects.exists()  # a dry run leaves no run behind


def test_the_bytes_are_kept_in_the_database_with_their_digests(client, editor):
    files = [news_file(1), news_file(2)]
    upload(client, *files)
    rows = list(ImportUploadFile.objects.order_by("position"))
    assert [(r.name, bytes(r.data), r.sha256) for r in rows] == [
        (name, data, hashlib.sha256(data).hexdigest()) for name, data in files
    ]
    # ...and previewed by the queued task, not in the request.
    assert ImportUpload.objects.get().status == ImportUpload.Status.PREVIEWING
    assert DBTaskResult.objects.get().task_path == tasks.preview_upload.module_path


def test_plain_files_upload_as_well_as_a_zip(client, editor):
    the_upload = previewed(
        client, ("a.md", news_file(1)[1]), ("b.markdown", news_file(2)[1]), name=None
    )
    assert outcomes(the_upload) == {
        "a.md": ("created", {"seen": "none"}),
        "b.markdown": ("created", {"seen": "none"}),
    }
    assert the_upload.name == "2 files"


# -- the preview page ----------------------------------------------------------------------


def test_the_preview_page_is_paginated_filtered_and_its_queries_constant(client, editor):
    small = previewed(client, *(news_file(n) for n in range(1, 4)))
    files = [news_file(n) for n in range(1, 61)] + [(f"bad{n}.md", b"nothing") for n in range(5)]
    large = previewed(client, *files)

    def queries(the_upload, query=""):
        with CaptureQueriesContext(connection) as captured:
            page(client, the_upload, query)
        return len(captured)

    assert queries(small) == queries(large) == queries(large, "?outcome=failed&page=1")
    text = page(client, large)
    assert "60 created" in text and "5 failed" in text and "Page 1 of 2" in text
    failed_only = page(client, large, "?outcome=failed")
    assert "bad0.md" in failed_only and "news/001.md" not in failed_only
    assert "news/060.md" in page(client, large, "?page=2")


def test_the_admin_index_lists_the_last_runs_by_origin(client, editor, imported, tmp_path):
    ImportRun.objects.create(command="import_yaml news/", status="finished")
    ImportRun.objects.create(command=ImportRun.WATCH_COMMAND, status="failed", failure_reason="x")
    text = client.get(reverse("admin:index")).content.decode()
    assert ", command line:" in text and ", watched folder:" in text and ", upload:" in text
    assert "Failed: x" in text and "Import files…" in text
    client.force_login(make_staff("connie", group="Contributors"))
    assert "Import files…" not in client.get(reverse("admin:index")).content.decode()


def test_zip_members_are_read_no_further_than_declared(client, editor):
    """A zip whose directory understates a member's size is refused, not unpacked."""
    data = bytearray(zip_of([news_file(1)], compression=zipfile.ZIP_STORED))
    size = len(news_file(1)[1])
    # The central directory's uncompressed size of the only member, made smaller.
    central = data.rindex(b"PK\x01\x02")
    data[central + 24 : central + 28] = (size - 10).to_bytes(4, "little")
    local = data.index(b"PK\x03\x04")
    data[local + 22 : local + 26] = (size - 10).to_bytes(4, "little")
    response = client.post(ADD_URL, {"files": [SimpleUploadedFile("news.zip", bytes(data))]})
    [error] = response.context["form"].errors["files"]
    assert error.startswith("news.zip: member 'news/001.md'")
    assert not ImportUpload.objects.exists()


def test_the_sweep_forgets_old_uploads_but_not_one_being_imported(client, editor, settings):
    old, applying = previewed(client, news_file(1)), previewed(client, news_file(2))
    ImportUpload.objects.filter(pk=applying.pk).update(status=ImportUpload.Status.APPLYING)
    fresh = previewed(client, news_file(3))
    long_ago = fresh.created_at - dt.timedelta(days=settings.NEWSROOM_TASK_RESULTS_KEEP_DAYS + 1)
    ImportUpload.objects.exclude(pk=fresh.pk).update(created_at=long_ago)
    tasks.forget_old_records(fresh.created_at)
    assert set(ImportUpload.objects.values_list("pk", flat=True)) == {applying.pk, fresh.pk}
    assert not ImportUploadFile.objects.filter(upload=old.pk).exists()


def test_an_upload_whose_worker_was_lost_is_marked_failed_by_the_sweep(client, editor):
    the_upload = previewed(client, news_file(1))
    client.post(reverse("admin:articles_importupload_confirm", args=[the_upload.pk]))
    the_upload.refresh_from_db()
    task = DBTaskResult.objects.get(pk=the_upload.task_id)
    assert task.task_path == tasks.apply_upload.module_path
    assert tasks.fail_uploads_of_failed_tasks(None) == 0  # still waiting: left alone
    DBTaskResult.objects.filter(pk=task.pk).update(
        status=TaskResultStatus.FAILED, exception_class_path="articles.tasks.WorkerLost"
    )
    assert tasks.fail_uploads_of_failed_tasks(None) == 1
    the_upload.refresh_from_db()
    assert (the_upload.status, the_upload.failure_reason) == (
        "failed",
        "its task failed (WorkerLost)",
    )
    progress = reverse("admin:articles_importupload_progress", args=[the_upload.pk])
    assert client.get(progress).json()["running"] is False


def test_a_file_uploaded_twice_fails_the_second_time_only(client, editor):
    the_upload = previewed(client, ("a.md", news_file(1)[1]), ("a.md", news_file(2)[1]), name=None)
    first, second = the_upload.files.order_by("position")
    assert (first.outcome, second.outcome) == ("created", "failed")
    assert second.detail["error"] == "a.md: uploaded twice (expected each file once)"
    confirm(client, the_upload)
    assert Article.objects.get().web_url.endswith("/story-1")


def test_a_small_zip_that_compressed_very_well_is_not_a_bomb(client, editor):
    """60 KB of repetitive text zips to a few hundred bytes: more than 50 times, but
    what it unpacks to is small, so the ratio is not judged."""
    name, data = news_file(1)
    data = data.replace(b"\n---\n", b"\n---\n" + b"Again and again. " * 3500 + b"\n", 1)
    the_upload = previewed(client, (name, data))
    assert outcomes(the_upload)[name][0] == "created"


def test_the_upload_form_states_the_limits(client, editor, settings):
    settings.NEWSROOM_UPLOAD_MAX_FILES, settings.NEWSROOM_UPLOAD_MAX_ZIP_RATIO = 1234, 7
    text = client.get(ADD_URL).content.decode()
    assert "At most 1234 files" in text and "more than 7 times its size" in text
    assert f"Choose at most {settings.DATA_UPLOAD_MAX_NUMBER_FILES} files one by one" in text


def test_more_files_than_a_request_may_carry_get_the_400_page_that_says_zip_them(
    client, editor, settings
):
    settings.DATA_UPLOAD_MAX_NUMBER_FILES = 3
    response = upload(client, *[news_file(n) for n in range(4)], name=None)
    assert response.status_code == 400
    assert "put them in one zip" in response.content.decode()
    assert not ImportUpload.objects.exists()
    page = client.get(ADD_URL).content.decode()
    assert 'data-max-chosen="3"' in page and "Choose at most 3 files one by one" in page


def test_a_changed_image_list_reads_as_the_images_not_as_python(client, imported):
    from articles.ingest.itemfile import Image

    images = [
        Image(url="https://img.example/1.jpg", width=800, height=450, is_cached=True),
        Image(url="https://img.example/added.jpg", width=10, height=10, title="A chart"),
    ]
    the_upload = previewed(client, news_file(1, images=images))
    shown = page(client, the_upload)
    assert "A chart (https://img.example/added.jpg)" in shown
    assert "{&#x27;url&#x27;" not in shown and "{'url'" not in shown


# -- two web servers, one database ------------------------------------------------------------

# One step of an editor's visit, run by `manage.py shell` as a web server of its own would
# serve it (its own process, media folder and temporary folder); prints what it saw.
SERVER_STEP = """
import json, os, pathlib
from django.contrib.auth.models import Group, User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.test.utils import setup_test_environment
from django.urls import reverse
from articles.models import Article, ImportUpload
setup_test_environment()  # the test client's host
editor, _ = User.objects.get_or_create(username="edna", defaults={"is_staff": True})
editor.groups.add(Group.objects.get(name="Editors"))
client = Client()
client.force_login(editor)
step = os.environ["STEP"]
if step == "upload":
    data = pathlib.Path(os.environ["ZIP"]).read_bytes()
    chosen = SimpleUploadedFile("news.zip", data, content_type="application/zip")
    seen = client.post(reverse("admin:articles_importupload_add"), {"files": [chosen]}).status_code
else:
    the_upload = ImportUpload.objects.get()
    view = "confirm" if step == "confirm" else "change"
    url = reverse(f"admin:articles_importupload_{view}", args=[the_upload.pk])
    response = client.post(url) if step == "confirm" else client.get(url)
    seen = response.status_code, response.content.decode() if step == "preview" else ""
print(json.dumps({"seen": seen, "articles": Article.objects.count()}))
"""


@pytest.mark.django_db(transaction=True)
def test_two_web_servers_sharing_the_database_preview_on_one_and_confirm_on_the_other(
    tmp_path,
):
    import json
    import shutil

    from tests.test_concurrency import manage, process_env, shared_database_url

    url = shared_database_url(tmp_path)
    archive = tmp_path / "news.zip"
    archive.write_bytes(zip_of([news_file(n) for n in range(1, 4)]))

    def server(name):
        folders = {key: tmp_path / name / key for key in ("media", "tmp")}
        for folder in folders.values():
            folder.mkdir(parents=True, exist_ok=True)
        env = process_env(url) | {
            "DJANGO_MEDIA_ROOT": str(folders["media"]),
            "TMPDIR": str(folders["tmp"]),
            "ZIP": str(archive),
        }
        return env, folders

    def step(env, name):
        out = manage("shell", "-c", SERVER_STEP, env=env | {"STEP": name}).stdout
        return json.loads(out.strip().splitlines()[-1])

    first, first_folders = server("first")
    assert step(first, "upload")["seen"] == 302
    for folder in first_folders.values():  # the first server is gone, with its disk
        shutil.rmtree(folder)

    second, _ = server("second")
    manage("worker", "--batch", "--no-startup-delay", env=second)  # the preview
    status, html = step(second, "preview")["seen"]
    assert status == 200 and "3 created" in html
    assert step(second, "confirm")["seen"][0] == 302
    manage("worker", "--batch", "--no-startup-delay", env=second)  # the import
    assert step(second, "preview")["articles"] == 3
