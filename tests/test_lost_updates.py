"""No lost updates: editors and a re-import writing the same articles at the same moment.

An import's batch reads the articles it merges under a row lock held until it
commits (articles/importer.py, _lock_articles); the editors' writes (bulk actions,
the change form, the list's editable rows) take the same lock, so one waits for the
other and nothing is overwritten unseen. On SQLite there are no row locks: every
write transaction, the import's batches included, holds the database's write lock
from its start (transaction_mode IMMEDIATE), and these tests check that it does.

The processes are real and share a committed database (tests/race_support.py). The
import stops at a chosen point while the test lets the editor act.

An article that has been live and that an editor took down is never published again
by an import, whatever the file and the merge say: a conflict on "status" says so.
"""

import pytest

from articles.ingest.importer import Importer
from articles.models import Article
from tests.race_support import Editor, PausedImport, no_process_left, state  # noqa: F401 - fixture
from tests.test_concurrency import manage, process_env, shared_database_url
from tests.test_importer import make_item, write

# A test that fails while a child process is paused must not leave it holding locks.
pytestmark = pytest.mark.usefixtures("no_process_left")

A = "https://wire.example/story-1"  # the file changes its quality: 50, then 70, then 75
B = "https://wire.example/story-2"  # published by the file; an editor takes it down
QUALITY = {1: 50, 2: 70, 3: 75}


def write_version(folder, version):
    """The items at `version`: A, B and an unrelated one, first in file order."""
    write(folder, make_item(3, title=f"Other v{version}"), "0-other.md")
    write(
        folder,
        make_item(1, title=f"A v{version}", quality=QUALITY[version], published=True),
        "1-a.md",
    )
    write(folder, make_item(2, title=f"B v{version}", quality=30, published=True), "2-b.md")


def imported_then_changed(tmp_path):
    """A shared database holding version 1, and the files now at version 2."""
    env = process_env(shared_database_url(tmp_path))
    news = tmp_path / "news"
    write_version(news, 1)
    manage("import_yaml", str(news), env=env)
    write_version(news, 2)
    return env, news


def editor_env(env, action):
    # The admin's editors use the test client, which the test settings are made for.
    return (
        {**env, "DJANGO_SETTINGS_MODULE": "tests.settings"} if action.startswith("admin") else env
    )


def conflicts_of(run, web_url):
    return [
        {key: c[key] for key in ("field", "ours", "theirs")}
        for c in run["conflict_details"]
        if c["web_url"] == web_url
    ]


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("action", ["set_quality", "return_to_review", "admin_form", "admin_list"])
def test_an_editors_write_while_an_import_holds_the_batch_waits_and_is_not_lost(tmp_path, action):
    env, news = imported_then_changed(tmp_path)
    target = B if action == "return_to_review" else A
    editor = Editor(tmp_path, editor_env(env, action), action, target)
    editor.wait_loaded()  # the admin's editors have opened their page, before the import
    importing = PausedImport(tmp_path, env, "locked", news)
    importing.wait_paused()  # inside the batch: A and B are read, the merge is next

    editor.act_now()
    assert editor.waits(), "the editor's write went through while the import held the batch"
    importing.go_on()
    code, out, err = importing.finish()
    assert code == 0, out + err
    editor.wait_done()
    assert editor.finish()[0] == 0

    after = state(env)
    a, b = after["articles"][A], after["articles"][B]
    # The import's changes are all there...
    assert (a["title"], b["title"]) == ("A v2", "B v2")
    # ...and so is the editor's, which came after it.
    if action == "set_quality":
        assert a["quality"] == 90
    elif action == "return_to_review":
        assert (b["status"], b["went_live"]) == ("review", True)
    else:
        # The editor's page predates the import: the save is refused as stale (the
        # editor is told), instead of writing the page's old title and quality back.
        assert editor.result() == {"status": 200, "refused_as_stale": True}
        assert a["quality"] == 70
        return

    # The next changed file: the editor's value stays, reported as a conflict.
    write_version(news, 3)
    code = manage("import_yaml", str(news), env=env, check=False).returncode
    after = state(env)
    run = after["runs"][-1]
    assert code == 0 and run["status"] == "finished"
    if action == "set_quality":
        assert after["articles"][A]["quality"] == 90
        assert conflicts_of(run, A) == [{"field": "quality", "ours": 90, "theirs": 75}]
    else:
        assert after["articles"][B]["status"] == "review"
        assert conflicts_of(run, B) == [
            {"field": "status", "ours": "review", "theirs": "published"}
        ]


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("action", ["set_quality", "return_to_review"])
def test_an_editors_write_committed_during_an_import_is_kept_and_reported(tmp_path, action):
    env, news = imported_then_changed(tmp_path)
    editor = Editor(tmp_path, env, action, B if action == "return_to_review" else A)
    editor.wait_loaded()
    # One file a batch: the run has committed its first batch, A and B are still to come.
    importing = PausedImport(tmp_path, env, "between", news, "--batch-size", "1")
    importing.wait_paused()

    editor.act_now()
    editor.wait_done()  # nothing holds A or B between two batches: it goes through at once
    assert editor.result() == {"changed": 1}
    importing.go_on()
    code, out, err = importing.finish()
    assert code == 0, out + err

    after = state(env)
    run = after["runs"][-1]
    a, b = after["articles"][A], after["articles"][B]
    assert (a["title"], b["title"]) == ("A v2", "B v2")
    if action == "set_quality":
        assert a["quality"] == 90
        expected = [{"field": "quality", "ours": 90, "theirs": 70}]
        assert conflicts_of(run, A) == a["conflicts"] == expected
        assert "conflict:" in out and "quality" in out
    else:
        # The file still says published and the merge would keep the editor's value
        # silently; a takedown is reported all the same.
        assert (b["status"], b["went_live"]) == ("review", True)
        expected = [{"field": "status", "ours": "review", "theirs": "published"}]
        assert conflicts_of(run, B) == b["conflicts"] == expected


# The takedown rule, in one process -----------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("takedown", "status"), [("return_to_review", "review"), ("reject", "rejected")]
)
def test_an_import_never_republishes_what_an_editor_took_down(tmp_path, takedown, status):
    write(tmp_path, make_item(1, published=False), "a.md")
    Importer(workers=1).run([tmp_path])
    articles = Article.objects.filter(web_url=A)
    articles.publish()
    getattr(articles, takedown)()
    # The source now publishes it. Back in review, the article's status is the one the
    # last import wrote, so the three-way merge alone would take the file's value;
    # rejected, the merge reports a conflict of its own (and only that one is kept).
    assert articles.get().imported["status"] == "review"
    write(tmp_path, make_item(1, published=True, title="Retitled"), "a.md")

    report = Importer(workers=1).run([tmp_path])

    article = articles.get()
    assert (article.status, article.title) == (status, "Retitled")
    assert article.went_live_at is not None
    expected = [{"field": "status", "ours": status, "theirs": "published"}]
    assert article.import_conflicts == expected
    assert [{k: c[k] for k in ("field", "ours", "theirs")} for c in report.conflicts] == expected
    assert report.run.conflicts == 1


@pytest.mark.django_db
def test_an_import_still_publishes_what_was_never_live(tmp_path):
    write(tmp_path, make_item(1, published=False), "a.md")
    Importer(workers=1).run([tmp_path])
    write(tmp_path, make_item(1, published=True), "a.md")
    report = Importer(workers=1).run([tmp_path])
    article = Article.objects.get(web_url=A)
    assert article.status == Article.Status.PUBLISHED and article.went_live_at is not None
    assert report.conflicts == []
