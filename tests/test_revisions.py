"""Revisions (issue 15): one per change and article, readable diffs, revert, re-import
after a revert, retention. The per-write-path matrix is in tests/test_write_contract.py."""

import datetime as dt
import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from articles import changes, revisions
from articles.admin.forms import version_of
from articles.admin.revisions import render_change, text_diff
from articles.ingest.merge import merge, merge_field
from articles.models import Article, ImportRun, RevisedState, Revision
from tests.admin_support import make_staff
from tests.factories import make_article, make_provider, make_topic, run_import
from tests.test_importer import make_item, write

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("page_cache_off")]


def history_url(article):
    return reverse("admin:articles_article_history", args=[article.pk])


def revert_url(article, number):
    return reverse("admin:articles_article_revert", args=[article.pk, number])


def known(*articles):
    """Articles made by the factories (around changes.record()), with their state taken."""
    revisions.baseline([a.pk for a in articles])
    return articles[0] if len(articles) == 1 else articles


def latest(article):
    return Revision.objects.filter(article=article).order_by("-number").first()


def edit(article, user=None, **values):
    """An editor's write of plain columns, as a writer does it: update, then record."""
    Article.objects.filter(pk=article.pk).update(**values)
    changes.record(
        [article.pk], set(values), source=changes.Source.EDITOR, user=user, message="Edited."
    )


# -- one revision per change, compactly --------------------------------------------------


def test_a_change_stores_only_the_moved_fields_with_before_and_after(editor):
    article = known(make_article("Old title", quality=5))
    Article.objects.filter(pk=article.pk).update(title="New title", quality=5)
    changes.record([article.pk], {"title", "quality"}, source=changes.Source.EDITOR, user=editor)

    revision = latest(article)
    assert revision.changes == {"title": ["Old title", "New title"]}  # quality did not move
    assert (revision.number, revision.source, revision.user) == (1, "editor", editor)


def test_a_bulk_action_over_1000_articles_writes_1000_revisions_in_bounded_queries(
    editor, django_assert_max_num_queries
):
    provider = make_provider()
    now = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    Article.objects.bulk_create(
        Article(
            title=f"Bulk {n}",
            slug=f"bulk-{n}",
            web_url=f"https://bulk.example/{n}",
            published_at=now,
            provider=provider,
        )
        for n in range(1000)
    )
    ids = list(Article.objects.values_list("pk", flat=True))
    revisions.baseline(ids)

    # Two slices of 900 ids: each a fixed set of queries (the action's, the receivers').
    with django_assert_max_num_queries(60):
        assert Article.objects.filter(pk__in=ids).publish(user=editor) == 1000

    assert Revision.objects.count() == 1000
    assert all(
        r.changes == {"status": ["review", "published"]} and r.user_id == editor.pk
        for r in Revision.objects.all()
    )


def test_an_import_of_1000_files_writes_one_revision_each_linked_to_its_run(tmp_path):
    for n in range(1, 1001):
        write(tmp_path, make_item(n), name=f"{n}.md")

    with CaptureQueriesContext(connection) as queries:
        code, _, err = run_import(tmp_path, workers=1)

    assert code == 0, err
    run = ImportRun.objects.get()
    assert Revision.objects.filter(import_run=run, created=True, source="import").count() == 1000
    # Per batch of 250 files, never per file: the import's reads and writes, then the
    # receivers'. The revisions' own: read the states, insert the revisions, upsert the
    # states (SQLite's cap on parameters splits an insert of 250 rows into a few).
    assert len(queries) < 300
    revision_queries = [q for q in queries if "articles_revis" in q["sql"]]
    assert len(revision_queries) <= 6 * 4
    # The new articles' states were taken from the files' values, not read back: the same.
    sample = list(Article.objects.order_by("pk").values_list("pk", flat=True)[:300])
    states = dict(RevisedState.objects.filter(pk__in=sample).values_list("pk", "values"))
    assert states == revisions.current_values(sample)
    # A re-import that changes one file: one revision, its before and after.
    write(tmp_path, make_item(7, title="Story number 7, retold"), name="7.md")
    assert run_import(tmp_path)[0] == 0
    changed = Revision.objects.get(created=False)
    assert changed.changes == {"title": ["Story number 7", "Story number 7, retold"]}
    assert changed.import_run == ImportRun.objects.latest("pk")


def test_lists_are_compared_as_the_importer_sees_them(editor):
    ai, robots = make_topic("AI", slug="ai"), make_topic("Robots", slug="robots")
    article = known(make_article(topics=[ai]))
    with changes.batch(source=changes.Source.EDITOR, user=editor):
        article.topics.add(robots)
        article.images.all().delete()
        changes.record([article.pk], {"images"}, source=changes.Source.EDITOR, user=editor)

    moved = latest(article).changes
    assert moved["topics"] == [["AI"], ["AI", "Robots"]]
    assert len(moved["images"][0]) == 1 and moved["images"][1] == []


# -- diffs ----------------------------------------------------------------------------------


def test_text_changes_are_marked_inside_the_text_and_escaped():
    html = text_diff("The <b>quick</b> fox", "The <b>slow</b> fox & co")
    assert html == (
        "The &lt;b&gt;<del>quick</del><ins>slow</ins>&lt;/b&gt; fox<ins> &amp; co</ins>"
    )


@pytest.mark.parametrize(
    "name, pair, shown",
    [
        ("title", ["A title", "A new title"], "A <ins>new </ins>title"),
        (
            "web_url",
            ["https://a.example/x", "https://a.example/y"],
            "https://a.example/<del>x</del><ins>y</ins>",
        ),
        ("quality", [5, None], "<del>5</del> → <ins>(empty)</ins>"),
        (
            "published_at",
            ["2026-01-01T00:00:00Z", "2026-01-02T00:00:00Z"],
            "<del>2026-01-01T00:00:00Z</del> → <ins>2026-01-02T00:00:00Z</ins>",
        ),
        (
            "topics",
            [["AI", "Old"], ["AI", "<New>"]],
            "Added: <ins>&lt;New&gt;</ins><br>Removed: <del>Old</del>",
        ),
        (
            "images",
            [[{"url": "https://i.example/1.jpg"}], []],
            "Removed: <del>https://i.example/1.jpg</del>",
        ),
        (
            "coverage",
            [[], [{"title": "Take", "url": "https://o.example/1"}]],
            "Added: <ins>Take (https://o.example/1)</ins>",
        ),
        ("related_stories", [[], [7]], "Added: <ins>Seven (#7)</ins>"),
        ("heat_pin", [None, 70], "<del>(empty)</del> → <ins>70</ins>"),
        ("boost_reason", [""], "(not recorded before) → (empty)"),
        (  # opaque and sensitive: never shown whole
            "secured",
            ["opaque-secret-value-1", "opaque-secret-value-2"],
            "<del>opaque-secre… (21 characters)</del> → <ins>opaque-secre… (21 characters)</ins>",
        ),
    ],
)
def test_every_kind_of_field_has_a_diff(name, pair, shown):
    assert render_change(name, pair, {7: "Seven"}) == shown


def test_the_history_page_shows_diffs_filtered_by_source_with_user_and_run_linked(
    client, editor, tmp_path
):
    write(tmp_path, make_item(1), name="one.md")
    assert run_import(tmp_path)[0] == 0
    article = Article.objects.get()
    edit(article, editor, title="Story number <1>")

    page = client.get(history_url(article)).content.decode()
    assert "Revision 2" in page and "Revision 1" in page
    assert "<del>1</del>" not in page and "&lt;" in page  # escaped
    assert reverse("admin:auth_user_change", args=[editor.pk]) in page
    run = ImportRun.objects.get()
    assert reverse("admin:articles_importrun_change", args=[run.pk]) in page

    imports_only = client.get(history_url(article), {"source": "import"}).content.decode()
    assert "Revision 1" in imports_only and "Revision 2" not in imports_only


# -- revert -----------------------------------------------------------------------------------


def test_revert_whole_restores_every_field_as_a_new_revision(client, editor):
    ai = make_topic("AI", slug="ai")
    article = known(make_article("First", quality=5, status=Article.Status.REVIEW))
    edit(article, editor, title="Second", quality=6)  # revision 1
    article.topics.add(ai)  # revision 2
    edit(article, editor, title="Third", status=Article.Status.PUBLISHED)  # revision 3
    article.refresh_from_db()

    response = client.post(revert_url(article, 1), {"whole": "1", "version": version_of(article)})

    assert response.status_code == 302
    article.refresh_from_db()
    assert (article.title, article.quality, article.status) == ("Second", 6, "review")
    assert list(article.topics.names()) == []
    revert = latest(article)
    assert (revert.number, revert.source, revert.user, revert.message) == (
        4,
        "editor",
        editor,
        "Reverted to revision 1.",
    )
    assert revert.changes["title"] == ["Third", "Second"]
    assert revert.changes["topics"] == [["AI"], []]


def test_revert_per_field_restores_only_the_ticked_fields(client, editor):
    article = known(make_article("First", quality=5))
    edit(article, editor, title="Second", quality=6)
    article.refresh_from_db()

    edit(article, editor, title="Third", quality=7)
    article.refresh_from_db()
    client.post(revert_url(article, 1), {"field": ["quality"], "version": version_of(article)})

    article.refresh_from_db()
    assert (article.title, article.quality) == ("Third", 6)
    assert set(latest(article).changes) == {"quality"}


def test_a_contributor_s_revert_cannot_change_the_status(client):
    contributor = make_staff("connie", group="Contributors")
    client.force_login(contributor)
    article = known(make_article("First", status=Article.Status.REVIEW))
    edit(article, None, title="Second")  # revision 1
    edit(article, None, title="Third", status=Article.Status.PUBLISHED)  # revision 2
    article.refresh_from_db()

    client.post(revert_url(article, 1), {"whole": "1", "version": version_of(article)})
    article.refresh_from_db()
    assert (article.title, article.status) == ("Second", "published")  # title only

    response = client.post(
        revert_url(article, 1), {"field": ["status"], "version": version_of(article)}, follow=True
    )
    article.refresh_from_db()
    assert article.status == "published"
    assert "needs the publishing right" in response.content.decode()


def test_a_contributor_s_revert_cannot_change_the_schedule_or_the_embargo(client):
    """Reverting a "go live at" away would publish a scheduled item at once; the
    schedule and the embargo, like the status, need the publishing right."""
    client.force_login(make_staff("connie", group="Contributors"))
    soon = timezone.now() + dt.timedelta(days=1)
    article = known(make_article("First", status=Article.Status.REVIEW))
    edit(article, None, title="Second")  # revision 1: nothing scheduled
    edit(
        article,
        None,
        title="Third",
        status=Article.Status.PUBLISHED,
        go_live_at=soon,
        take_down_at=soon + dt.timedelta(days=1),
    )
    article.refresh_from_db()

    response = client.post(
        revert_url(article, 1), {"whole": "1", "version": version_of(article)}, follow=True
    )

    article.refresh_from_db()
    assert (article.title, article.go_live_at) == ("Second", soon)
    assert article.take_down_at == soon + dt.timedelta(days=1)
    assert not Article.objects.published().filter(pk=article.pk).exists()
    assert "go_live_at, status, take_down_at (changing them needs the publishing right)" in (
        response.content.decode()
    )
    # Ticked alone, those fields are refused, whether or not they differ from then.
    for ticked in (["go_live_at"], ["status", "embargo_until"]):
        refused = client.post(
            revert_url(article, 1), {"field": ticked, "version": version_of(article)}, follow=True
        )
        said = f"Changing {', '.join(sorted(ticked))} needs the publishing right."
        assert said in refused.content.decode(), ticked
    article.refresh_from_db()
    assert article.go_live_at == soon


def test_a_status_reverted_into_an_embargo_is_refused_with_a_message(client, editor):
    article = known(make_article("First"))  # published
    later = timezone.now() + dt.timedelta(days=2)
    edit(article, editor, title="Second")  # revision 1: published
    edit(article, editor, status=Article.Status.REVIEW, embargo_until=later)
    article.refresh_from_db()

    response = client.post(
        revert_url(article, 1), {"field": ["status"], "version": version_of(article)}, follow=True
    )

    assert response.status_code == 200
    assert "under embargo until" in response.content.decode()
    article.refresh_from_db()
    assert (article.status, article.embargo_until) == (Article.Status.REVIEW, later)


def test_a_revert_from_a_stale_page_is_refused(client, editor):
    article = known(make_article("First"))
    edit(article, editor, title="Second")
    article.refresh_from_db()
    stale = version_of(article)
    edit(article, editor, title="Third")  # someone else, after the page was loaded

    response = client.post(revert_url(article, 1), {"whole": "1", "version": stale}, follow=True)

    article.refresh_from_db()
    assert article.title == "Third"
    assert "changed after this page was loaded" in response.content.decode()


def test_revert_needs_a_post_and_the_change_permission(client, editor):
    article = known(make_article("First"))
    edit(article, editor, title="Second")
    assert client.get(revert_url(article, 1)).status_code == 405
    viewer = make_staff("vic")  # staff without any article permission
    client.force_login(viewer)
    assert client.post(revert_url(article, 1), {"whole": "1"}).status_code == 403


# -- re-import after a revert --------------------------------------------------------------


def test_a_re_import_keeps_a_reverted_field_and_reports_the_conflict(tmp_path, editor):
    write(tmp_path, make_item(1), name="one.md")  # title "Story number 1"
    assert run_import(tmp_path)[0] == 0
    article = Article.objects.get()
    edit(article, editor, title="An editor's title")  # revision 2
    article.refresh_from_db()
    revisions.revert(article.pk, 1, user=editor, fields=["title"], can_publish=True)
    article.refresh_from_db()
    assert article.title == "Story number 1" == article.imported["title"]  # back to the base

    write(tmp_path, make_item(1, title="The file's new title"), name="one.md")
    code, out, _ = run_import(tmp_path)

    assert code == 0 and "1 conflicts" in out
    article.refresh_from_db()
    assert article.title == "Story number 1"  # the editor's (reverted) value
    assert article.import_conflicts == [
        {"field": "title", "ours": "Story number 1", "theirs": "The file's new title"}
    ]


def test_a_held_field_counts_as_the_editor_s_in_the_merge():
    assert merge_field("A", "A", "C") == ("C", False)
    assert merge_field("A", "A", "C", held=True) == ("A", True)
    assert merge_field("A", "A", "A", held=True) == ("A", False)
    merged, conflicts = merge({"t": "A"}, {"t": "A"}, {"t": "C"}, {"t": "B"})  # held another value
    assert merged == {"t": "C"} and conflicts == []


# -- retention ---------------------------------------------------------------------------------


def prune(*args):
    out = io.StringIO()
    call_command("prune_revisions", *args, stdout=out)
    return out.getvalue()


def test_pruning_keeps_the_last_n_and_what_is_kept_still_reverts(editor):
    article = known(make_article("Title 0"))
    for n in range(1, 6):
        edit(article, editor, title=f"Title {n}")  # revisions 1..5
    recent = known(make_article("Recent"))
    edit(recent, editor, title="Recent 1")
    Revision.objects.filter(article=article).update(
        created_at=dt.datetime(2020, 1, 1, tzinfo=dt.UTC)
    )

    assert prune("--keep", "2", "--older-than", "30") == "Deleted 3 revisions older than 30 days.\n"

    assert sorted(Revision.objects.filter(article=article).values_list("number", flat=True)) == [
        4,
        5,
    ]
    assert Revision.objects.filter(article=recent).count() == 1  # newer than 30 days
    assert Revision.objects.get(article=article, number=4).changes == {
        "title": ["Title 3", "Title 4"]
    }
    revisions.revert(article.pk, 4, user=editor, can_publish=True)
    article.refresh_from_db()
    assert article.title == "Title 4"
    with pytest.raises(revisions.RevertError, match="does not exist"):
        revisions.revert(article.pk, 2, user=editor)


@pytest.mark.parametrize(
    "args, error",
    [
        (["--keep", "0", "--older-than", "30"], "--keep must be at least 1"),
        (["--keep", "x", "--older-than", "30"], "not a whole number"),
    ],
)
def test_pruning_refuses_bad_input_in_one_line(args, error):
    with pytest.raises(CommandError, match=error):
        call_command("prune_revisions", *args)


def test_the_migration_takes_the_state_of_existing_articles():
    import importlib

    from django.db.migrations.loader import MigrationLoader

    from tests.factories import make_coverage

    migration = importlib.import_module("articles.migrations.0016_revisions")
    state = MigrationLoader(connection).project_state(("articles", "0016_revisions"))
    article = make_article("Before revisions", topics=[make_topic("AI", slug="ai")])
    make_coverage(article)
    other = make_article("Other")
    article.related_stories.add(other)
    RevisedState.objects.all().delete()  # as before the migration

    migration.baseline(state.apps, None)  # with the models as they were then

    now = revisions.current_values([article.pk, other.pk])
    assert article.revised_state.values == now[article.pk]
    assert now[article.pk]["topics"] == ["AI"] and now[article.pk]["coverage"]
    assert other.revised_state.values["related_stories"] == [article.pk]
