"""The write contract: every way of changing an article x every side effect of a change.

Each write path in PATHS changes some of the same few articles and says which ones
changed, in which fields, by whom. Each side effect is one test, run for every path:

- `articles_changed` is sent once per batch, after commit, with those ids, fields,
  source, user and import run; and not at all when the transaction rolls back;
- the cached public pages are forgotten, after commit;
- `updated_at` is bumped for every changed article, and only for those;
- one history entry per changed article when a user is known, none otherwise;
- `went_live_at` is set the first time an article goes public and never moved;
- one revision per changed article, with its source, user and import run, holding the
  fields that moved with their values before and after (articles/revisions.py).

The writes run inside the test's transaction; `django_capture_on_commit_callbacks`
plays the commit (what `transaction.on_commit` would run).
"""

import datetime as dt
from dataclasses import dataclass, field

import pytest
from django.contrib.admin.models import ADDITION, CHANGE, LogEntry
from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from articles import changes, clock, revisions, tasks
from articles.models import Article, ImportRun, Revision
from tests.admin_support import change_url, changelist_row_prefix, changelist_url, form_data
from tests.factories import hours_ago, make_article, make_provider, make_topic, run_import
from tests.test_importer import make_item, write

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("page_cache_off")]

LIVE_BEFORE = hours_ago(48)
LONG_AGO = hours_ago(5)


@dataclass
class World:
    """The articles every path writes to, and the editor who may."""

    editor: object
    client: Client
    tmp_path: object
    fresh: Article  # in review, never live
    returning: Article  # in review, was live (taken down), tagged, related to `live`
    live: Article  # published, tagged
    spare: Article  # published; no path touches it
    topic: object  # on no article
    tagged: object  # the topic of `returning` and `live`
    imported: dict = field(default_factory=dict)  # the import path's own articles


@dataclass(frozen=True)
class Expected:
    """What a write changed, as articles_changed should say it."""

    articles: tuple
    fields: frozenset
    source: changes.Source
    by_editor: bool
    import_run: ImportRun | None = None
    created: bool = False

    @property
    def ids(self):
        return tuple(sorted(a.pk for a in self.articles))


@pytest.fixture
def world(editor, client, tmp_path):
    tagged = make_topic("Tagged", slug="tagged")
    world = World(
        editor=editor,
        client=client,
        tmp_path=tmp_path,
        fresh=make_article("Fresh", status=Article.Status.REVIEW, quality=10, heat=10),
        returning=make_article("Returning", status=Article.Status.REVIEW, topics=[tagged]),
        live=make_article("Live", status=Article.Status.PUBLISHED, topics=[tagged]),
        spare=make_article("Spare", status=Article.Status.PUBLISHED),
        topic=make_topic("Untagged", slug="untagged"),
        tagged=tagged,
    )
    world.returning.related_stories.add(world.live)
    Article.objects.filter(pk=world.returning.pk).update(went_live_at=LIVE_BEFORE)
    Article.objects.filter(pk=world.live.pk).update(went_live_at=LIVE_BEFORE)
    Article.objects.update(updated_at=LONG_AGO)
    # The factories write around changes.record(): take the articles' values as known.
    revisions.baseline(Article.objects.values_list("pk", flat=True))
    return world


# -- the write paths -------------------------------------------------------------------


def post_action(w, action, articles, **values):
    data = {"action": action, "_selected_action": [a.pk for a in articles], "index": 0}
    data.update({name: str(value) for name, value in values.items()})
    assert w.client.post(changelist_url(), data).status_code == 302


def by_editor(articles, fields):
    return Expected(tuple(articles), frozenset(fields), changes.Source.EDITOR, by_editor=True)


def by_system(articles, fields, source=changes.Source.SYSTEM):
    return Expected(tuple(articles), frozenset(fields), source, by_editor=False)


def admin_change_form(w):
    data = form_data(w.client.get(change_url(w.fresh)), "article_form")
    data.update(quality="77", topics=[str(w.topic.pk)], related_stories=[str(w.live.pk)])
    response = w.client.post(change_url(w.fresh), data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    # The related story links both ways: `live` changed too.
    return by_editor([w.fresh, w.live], {"quality", "topics", "related_stories"})


def admin_change_form_publish(w):
    data = form_data(w.client.get(change_url(w.returning)), "article_form")
    data["status"] = Article.Status.PUBLISHED  # live before: went_live_at stays
    assert w.client.post(change_url(w.returning), data).status_code == 302
    return by_editor([w.returning], {"status"})


def admin_add_form(w):
    url = reverse("admin:articles_article_add")
    data = form_data(w.client.get(url), "article_form")
    data.update(
        title="Added by hand",
        web_url="https://example.com/added",
        provider=str(w.spare.provider_id),
        published_at_0="2026-01-02",
        published_at_1="10:00:00",
        status=Article.Status.PUBLISHED,
    )
    response = w.client.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    added = Article.objects.get(web_url="https://example.com/added")
    fields = {"title", "web_url", "provider", "published_at", "status"}
    return Expected((added,), frozenset(fields), changes.Source.EDITOR, True, created=True)


def admin_list_edit(w):
    data = form_data(w.client.get(changelist_url()), "changelist-form")
    data[f"{changelist_row_prefix(data, w.fresh)}-quality"] = "11"
    data[f"{changelist_row_prefix(data, w.live)}-heat_pin"] = "70"
    data["_save"] = "Save"
    assert w.client.post(changelist_url(), data).status_code == 302
    return by_editor([w.fresh, w.live], {"quality", "heat_pin"})


def action_publish(w):
    post_action(w, "publish", [w.fresh, w.returning, w.live])  # `live` already is
    return by_editor([w.fresh, w.returning], {"status"})


def action_return_to_review(w):
    post_action(w, "return_to_review", [w.live, w.fresh])  # `fresh` already is
    return by_editor([w.live], {"status"})


def action_reject(w):
    post_action(w, "reject", [w.fresh, w.live])
    return by_editor([w.fresh, w.live], {"status"})


def action_set_quality(w):
    post_action(w, "set_quality", [w.fresh, w.live], value=99)
    return by_editor([w.fresh, w.live], {"quality"})


def action_set_heat(w):
    post_action(w, "set_heat", [w.fresh, w.live], value=150)  # pins
    return by_editor([w.fresh, w.live], {"heat_pin"})


def action_add_topic(w):
    post_action(w, "add_topic", [w.fresh, w.live], topic=w.tagged.pk)  # `live` has it
    return by_editor([w.fresh], {"topics"})


def action_remove_topic(w):
    post_action(w, "remove_topic", [w.live, w.returning, w.fresh], topic=w.tagged.pk)
    return by_editor([w.live, w.returning], {"topics"})


def queryset(*articles):
    return Article.objects.filter(pk__in=[a.pk for a in articles])


def queryset_publish(w):
    queryset(w.fresh, w.returning, w.live).publish()
    return by_system([w.fresh, w.returning], {"status"})


def queryset_return_to_review(w):
    queryset(w.live, w.fresh).return_to_review()
    return by_system([w.live], {"status"})


def queryset_reject(w):
    queryset(w.fresh, w.live).reject()
    return by_system([w.fresh, w.live], {"status"})


def queryset_scheduled_publish(w):
    queryset(w.returning).set_status(Article.Status.PUBLISHED, source=changes.Source.SCHEDULE)
    return by_system([w.returning], {"status"}, source=changes.Source.SCHEDULE)


def sweep_apply_schedules(w):
    """The scheduled publishing sweep's job, on a live article whose time has come."""
    now = clock.now()
    Article.objects.filter(pk=w.spare.pk).update(go_live_at=now - dt.timedelta(minutes=1))
    revisions.baseline([w.spare.pk])  # as an editor's scheduling would have left it
    assert tasks.apply_schedules(now) == 1
    return by_system([w.spare], {"go_live_at", "went_live_at"}, source=changes.Source.SCHEDULE)


def queryset_set_quality(w):
    queryset(w.fresh, w.live).set_quality(None)
    return by_system([w.fresh, w.live], {"quality"})


def queryset_set_heat(w):
    queryset(w.fresh, w.live).set_heat(7)
    return by_system([w.fresh, w.live], {"heat_pin"})


def queryset_add_topic(w):
    queryset(w.fresh, w.spare).add_topic(w.topic, user=w.editor)
    return by_editor([w.fresh, w.spare], {"topics"})


def queryset_remove_topic(w):
    queryset(w.live, w.fresh).remove_topic(w.tagged)
    return by_system([w.live], {"topics"})


def topics_add(w):
    w.fresh.topics.add(w.topic, w.tagged)
    return by_system([w.fresh], {"topics"})


def topics_remove(w):
    w.live.topics.remove(w.tagged)
    return by_system([w.live], {"topics"})


def topics_clear(w):
    w.returning.topics.clear()
    return by_system([w.returning], {"topics"})


def related_stories_add(w):
    w.fresh.related_stories.add(w.live)
    return by_system([w.fresh, w.live], {"related_stories"})


def related_stories_remove(w):
    w.live.related_stories.remove(w.returning)
    return by_system([w.live, w.returning], {"related_stories"})


def related_stories_clear(w):
    w.returning.related_stories.clear()
    return by_system([w.returning, w.live], {"related_stories"})


def prepare_import(w, django_capture_on_commit_callbacks):
    folder = w.tmp_path / "news"
    write(folder, make_item(1), name="one.md")
    write(folder, make_item(2, published=True), name="two.md")
    with django_capture_on_commit_callbacks(execute=True):
        assert run_import(folder)[0] == 0
    write(folder, make_item(1, title="Story number 1, retold"), name="one.md")  # changed
    write(folder, make_item(3, published=True), name="three.md")  # new
    Article.objects.update(updated_at=LONG_AGO)
    w.imported = {n: f"https://wire.example/story-{n}" for n in (1, 2, 3)}


def import_yaml(w):
    code, out, err = run_import(w.tmp_path / "news")
    assert code == 0, err
    assert "1 created, 1 updated, 1 unchanged" in out
    changed = Article.objects.filter(web_url__in=[w.imported[1], w.imported[3]])
    run = ImportRun.objects.latest("started_at")
    # A created article changes every field the file describes (its values snapshot).
    fields = frozenset(changed.get(web_url=w.imported[1]).imported)
    return Expected(tuple(changed), fields, changes.Source.IMPORT, False, run)


PATHS = [
    admin_change_form,
    admin_change_form_publish,
    admin_add_form,
    admin_list_edit,
    action_publish,
    action_return_to_review,
    action_reject,
    action_set_quality,
    action_set_heat,
    action_add_topic,
    action_remove_topic,
    queryset_publish,
    queryset_return_to_review,
    queryset_reject,
    queryset_scheduled_publish,
    sweep_apply_schedules,
    queryset_set_quality,
    queryset_set_heat,
    queryset_add_topic,
    queryset_remove_topic,
    topics_add,
    topics_remove,
    topics_clear,
    related_stories_add,
    related_stories_remove,
    related_stories_clear,
    import_yaml,
]
each_path = pytest.mark.parametrize("path", PATHS, ids=[p.__name__ for p in PATHS])


@pytest.fixture
def w(path, world, django_capture_on_commit_callbacks):
    """The world `path` writes to (for import_yaml, after its first import)."""
    if path is import_yaml:
        prepare_import(world, django_capture_on_commit_callbacks)
    return world


@pytest.fixture
def heard():
    """Every articles_changed sent while the test runs."""
    sent = []

    def listen(sender, **kwargs):
        sent.append({"sender": sender, **kwargs})

    changes.articles_changed.connect(listen, dispatch_uid="contract-test")
    yield sent
    changes.articles_changed.disconnect(dispatch_uid="contract-test")


def write_and_commit(path, w, django_capture_on_commit_callbacks, during=None):
    """Run `path`, call `during()` before its commit, then commit; returns its Expected."""
    with django_capture_on_commit_callbacks(execute=False) as on_commit:
        expected = path(w)
    if during:
        during()
    for callback in on_commit:
        callback()
    return expected


def snapshot():
    return {
        pk: (updated_at, went_live_at, status)
        for pk, updated_at, went_live_at, status in Article.objects.values_list(
            "pk", "updated_at", "went_live_at", "status"
        )
    }


class Rollback(Exception):
    pass


# -- the side effects --------------------------------------------------------------------


@each_path
def test_articles_changed_is_sent_once_per_batch_after_commit(
    path, w, heard, django_capture_on_commit_callbacks
):
    before_commit = []

    expected = write_and_commit(
        path, w, django_capture_on_commit_callbacks, during=lambda: before_commit.extend(heard)
    )

    assert before_commit == []
    assert heard == [
        {
            "sender": expected.source,
            "signal": changes.articles_changed,
            "ids": expected.ids,
            "fields": expected.fields,
            "source": expected.source,
            "user": w.editor if expected.by_editor else None,
            "import_run": expected.import_run,
        }
    ]


@each_path
def test_nothing_is_sent_or_kept_when_the_transaction_rolls_back(
    path, w, heard, django_capture_on_commit_callbacks
):
    before, history, revised = snapshot(), LogEntry.objects.count(), Revision.objects.count()

    with (
        django_capture_on_commit_callbacks(execute=True) as on_commit,
        pytest.raises(Rollback),
        transaction.atomic(),
    ):
        path(w)
        raise Rollback

    assert on_commit == [] and heard == []
    assert snapshot() == before and LogEntry.objects.count() == history
    assert Revision.objects.count() == revised


@each_path
def test_the_cached_pages_are_forgotten_after_commit(
    path, w, settings, django_capture_on_commit_callbacks
):
    settings.NEWSROOM_PAGE_CACHE = True
    reader = Client()
    reader.get("/")  # now cached

    def served_from_cache():
        with CaptureQueriesContext(connection) as queries:
            assert reader.get("/").status_code == 200
        return len(queries) == 0

    cached_before_commit = []
    write_and_commit(
        path,
        w,
        django_capture_on_commit_callbacks,
        during=lambda: cached_before_commit.append(served_from_cache()),
    )

    assert cached_before_commit == [True]
    assert not served_from_cache()  # rendered afresh: the change is seen


@each_path
def test_updated_at_is_bumped_for_the_changed_articles_only(
    path, w, django_capture_on_commit_callbacks
):
    expected = write_and_commit(path, w, django_capture_on_commit_callbacks)

    bumped = {pk for pk, (updated_at, *_) in snapshot().items() if updated_at > LONG_AGO}
    assert bumped == set(expected.ids)


@each_path
def test_one_history_entry_per_changed_article_when_a_user_is_known(
    path, w, django_capture_on_commit_callbacks
):
    expected = write_and_commit(path, w, django_capture_on_commit_callbacks)

    entries = list(LogEntry.objects.values_list("object_id", "user_id", "action_flag"))
    if expected.by_editor:
        flag = ADDITION if expected.created else CHANGE
        assert sorted(entries) == sorted((str(pk), w.editor.pk, flag) for pk in expected.ids)
    elif expected.source == changes.Source.SCHEDULE:  # signed by the schedule's own user
        schedule = get_user_model().objects.get(username="schedule", is_active=False)
        assert sorted(entries) == sorted((str(pk), schedule.pk, CHANGE) for pk in expected.ids)
    else:
        assert entries == []


@each_path
def test_one_revision_per_changed_article_with_what_moved(
    path, w, django_capture_on_commit_callbacks
):
    existing = set(Article.objects.values_list("pk", flat=True))
    earlier = set(Revision.objects.values_list("pk", flat=True))

    expected = write_and_commit(path, w, django_capture_on_commit_callbacks)

    new = Revision.objects.exclude(pk__in=earlier).select_related("user", "import_run")
    assert sorted(r.article_id for r in new) == list(expected.ids)  # one per article
    moved = set()
    for revision in new:
        assert revision.source == expected.source
        assert revision.user == (w.editor if expected.by_editor else None)
        assert revision.import_run == expected.import_run
        assert revision.created == (revision.article_id not in existing)
        if revision.created:
            assert revision.changes == {}  # its values are the article's state
            continue
        assert revision.changes, revision.article_id  # something moved, and is named
        now = revisions.current_values([revision.article_id])[revision.article_id]
        for name, (before, after) in revision.changes.items():
            assert before != after and after == now[name], name
        moved |= set(revision.changes)
    assert moved <= expected.fields


@each_path
def test_went_live_at_is_set_once_and_never_moved(path, w, django_capture_on_commit_callbacks):
    before = snapshot()

    write_and_commit(path, w, django_capture_on_commit_callbacks)

    for pk, (_, went_live_at, status) in snapshot().items():
        was_live_at = before[pk][1] if pk in before else None
        if was_live_at is not None:
            assert went_live_at == was_live_at, pk  # a later publish keeps the first time
        elif status == Article.Status.PUBLISHED:
            assert went_live_at is not None and went_live_at > LONG_AGO, pk
        else:
            assert went_live_at is None, pk


# -- the parts of the contract that are not per path ------------------------------------


def test_list_rows_keep_their_own_history_message(world, django_capture_on_commit_callbacks):
    write_and_commit(admin_list_edit, world, django_capture_on_commit_callbacks)
    messages = {
        int(entry.object_id): entry.get_change_message() for entry in LogEntry.objects.all()
    }
    assert messages == {world.fresh.pk: "Changed quality.", world.live.pk: "Changed Pinned heat."}


def test_the_change_form_writes_its_message_and_the_other_end_of_a_related_story(
    world, django_capture_on_commit_callbacks
):
    write_and_commit(admin_change_form, world, django_capture_on_commit_callbacks)
    messages = {int(e.object_id): e.get_change_message() for e in LogEntry.objects.all()}
    assert messages == {
        world.fresh.pk: "Changed quality, topics and Related stories.",
        world.live.pk: "Changed related stories.",
    }


def test_went_live_at_keeps_the_first_publication_through_a_takedown(world, editor):
    queryset(world.fresh).publish(user=editor)
    first = Article.objects.get(pk=world.fresh.pk).went_live_at
    queryset(world.fresh).return_to_review(user=editor)
    assert Article.objects.get(pk=world.fresh.pk).went_live_at == first  # not cleared
    queryset(world.fresh).publish(user=editor)
    assert Article.objects.get(pk=world.fresh.pk).went_live_at == first  # not moved


@pytest.mark.parametrize(
    "method",
    [
        lambda qs, w: qs.publish(user=w.editor),
        lambda qs, w: qs.set_quality(3, user=w.editor),
        lambda qs, w: qs.set_heat(150, user=w.editor),
        lambda qs, w: qs.add_topic(w.topic, user=w.editor),
        lambda qs, w: qs.remove_topic(w.tagged, user=w.editor),
    ],
    ids=["publish", "set_quality", "set_heat", "add_topic", "remove_topic"],
)
def test_bulk_writes_take_the_same_queries_for_2_or_20_articles(world, method):
    def queries_for(count):
        articles = [
            make_article(status=Article.Status.REVIEW, topics=[world.tagged]) for _ in range(count)
        ]
        with CaptureQueriesContext(connection) as queries:
            assert method(queryset(*articles), world) == count
        return len(queries)

    assert queries_for(2) == queries_for(20)


def test_a_failing_receiver_after_commit_is_logged_and_the_others_still_run(
    world, heard, caplog, django_capture_on_commit_callbacks
):
    def broken(sender, **kwargs):
        raise RuntimeError("notification service down")

    changes.articles_changed.connect(broken, dispatch_uid="contract-broken")
    try:
        with django_capture_on_commit_callbacks(execute=True):
            queryset(world.fresh).set_quality(1)
    finally:
        changes.articles_changed.disconnect(dispatch_uid="contract-broken")

    assert [message["ids"] for message in heard] == [(world.fresh.pk,)]
    assert "notification service down" in caplog.text
    assert Article.objects.get(pk=world.fresh.pk).quality == 1  # committed all the same


def test_a_failing_receiver_inside_the_transaction_rolls_the_change_back(world):
    def broken(sender, **kwargs):
        raise RuntimeError("revision store full")

    changes.articles_changing.connect(broken, dispatch_uid="contract-broken")
    try:
        with pytest.raises(RuntimeError, match="revision store full"):
            queryset(world.fresh).set_quality(1, user=world.editor)
    finally:
        changes.articles_changing.disconnect(dispatch_uid="contract-broken")

    assert Article.objects.get(pk=world.fresh.pk).quality == 10
    assert not LogEntry.objects.exists()


def test_a_batch_records_its_writes_once(world, heard, django_capture_on_commit_callbacks):
    with (
        django_capture_on_commit_callbacks(execute=True),
        transaction.atomic(),
        changes.batch(source=changes.Source.EDITOR, user=world.editor),
    ):
        queryset(world.fresh).set_quality(1)
        world.fresh.topics.add(world.topic)
        with changes.batch(source=changes.Source.SYSTEM):  # joins the outer one
            queryset(world.live).set_heat(2)

    assert [(m["ids"], m["fields"], m["source"], m["user"]) for m in heard] == [
        (
            tuple(sorted([world.fresh.pk, world.live.pk])),
            frozenset({"quality", "topics", "heat_pin"}),
            changes.Source.EDITOR,
            world.editor,
        )
    ]
    # One entry per article; the last message given for an article is its entry's.
    assert sorted(LogEntry.objects.values_list("object_id", "change_message")) == sorted(
        [(str(world.fresh.pk), "Changed topics."), (str(world.live.pk), "Set pinned heat to 2.")]
    )


def test_nothing_changed_records_nothing(world, heard, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as on_commit:
        assert queryset(world.fresh).return_to_review() == 0
        assert queryset(world.live).add_topic(world.tagged) == 0
        world.fresh.topics.remove(world.tagged)  # not tagged
        world.spare.related_stories.clear()  # none
        changes.record([], {"title"}, source=changes.Source.SYSTEM)
    assert on_commit == [] and heard == []


@pytest.mark.django_db(transaction=True)
def test_articles_changed_waits_for_a_real_commit(heard):
    article = make_article(status=Article.Status.REVIEW, provider=make_provider())
    seen_in_transaction = []

    with transaction.atomic():
        queryset(article).publish()
        seen_in_transaction.extend(heard)
    assert seen_in_transaction == [] and [m["ids"] for m in heard] == [(article.pk,)]

    with pytest.raises(Rollback), transaction.atomic():
        queryset(article).reject()
        raise Rollback
    assert len(heard) == 1  # the rolled-back reject announced nothing
    assert Article.objects.get(pk=article.pk).status == Article.Status.PUBLISHED
