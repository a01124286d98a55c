"""The sort keys a topic's links copy from their article (articles/topic_sort_keys.py).

The database keeps them, whichever writer changes an article or its topics; the
topic pages read a topic's list from the links' own index in page order.
"""

import datetime as dt

import pytest
from django.db import connection, models, transaction
from django.db.models import Max

from articles import ranking, topic_sort_keys
from articles.ingest.bulk import insert_rows
from articles.models import Article, TaggedTopic, Topic
from articles.site import public

from .factories import make_article, make_provider

pytestmark = pytest.mark.django_db


def _copies_differ():
    """The links whose copies differ from their article's keys."""
    return [
        (
            link.pk,
            link.score,
            link.published_at,
            link.content_object.score,
            link.content_object.published_at,
        )
        for link in TaggedTopic.objects.select_related("content_object")
        if (link.score, link.published_at)
        != (link.content_object.score, link.content_object.published_at)
    ]


def test_every_writer_keeps_the_links_copies():
    chips, robots = (
        Topic.objects.create(name="Chips", slug="chips"),
        Topic.objects.create(name="Robots", slug="robots"),
    )
    first = make_article(topics=[chips])  # taggit's add(), then the score computed
    second = make_article(topics=[chips, robots])
    assert TaggedTopic.objects.filter(score__isnull=False).count() == 3
    assert _copies_differ() == []

    first.quality = 90  # save(): the score follows through ranking
    first.save()
    ranking.recompute([first.pk])
    Article.objects.filter(pk=second.pk).update(  # update()
        published_at=dt.datetime(2026, 3, 1, 12, tzinfo=dt.UTC), score=None
    )
    second.refresh_from_db()
    second.score = 5.5
    Article.objects.bulk_update([second], ["score"])  # bulk_update()
    third = make_article()
    insert_rows(TaggedTopic, [{"content_object": third.pk, "tag": robots.pk}])  # the importer's
    first.topics.add(robots)
    assert _copies_differ() == []
    assert TaggedTopic.objects.get(content_object=second, tag=robots).score == 5.5


def test_an_article_inserted_after_its_links_gives_them_its_keys():
    topic = Topic.objects.create(name="Chips", slug="chips")
    pk = (Article.objects.aggregate(last=Max("id"))["last"] or 0) + 100
    moment = dt.datetime(2026, 11, 2, 9, tzinfo=dt.UTC)
    with transaction.atomic():  # foreign keys are checked at commit
        TaggedTopic.objects.create(content_object_id=pk, tag=topic)
        Article.objects.create(
            id=pk,
            title="Late",
            web_url="https://news.example/late",
            published_at=moment,
            provider=make_provider(),
            score=3.5,
        )
    assert TaggedTopic.objects.values_list("score", "published_at").get() == (3.5, moment)


def test_migrate_puts_back_a_lost_trigger_and_repairs_the_copies():
    topic = Topic.objects.create(name="Chips", slug="chips")
    article = make_article(topics=[topic])
    on = "" if connection.vendor == "sqlite" else " ON articles_article"
    with connection.cursor() as cursor:  # as SQLite does when a migration remakes a table
        cursor.execute(f"DROP TRIGGER article_sort_keys_to_topics{on}")
    Article.objects.filter(pk=article.pk).update(score=123.0)
    assert len(_copies_differ()) == 1

    topic_sort_keys._after_migrate(using=connection.alias)

    assert _copies_differ() == []
    Article.objects.filter(pk=article.pk).update(score=7.0)
    assert TaggedTopic.objects.get().score == 7.0


@pytest.mark.parametrize("view", [ranking.TOP, ranking.LATEST])
def test_a_topic_list_is_in_its_articles_order(view):
    topic, other = (
        Topic.objects.create(name="Chips", slug="chips"),
        Topic.objects.create(name="Robots", slug="robots"),
    )
    moment = dt.datetime(2026, 11, 2, 9, tzinfo=dt.UTC)
    for n in range(12):  # ties on score and date, unknown scores, other topics between
        make_article(topics=[topic] if n % 3 else [other], published_at=moment, quality=n % 4 * 30)
    Article.objects.filter(quality=0).update(score=None)
    Article.objects.filter(quality=30).update(published_at=moment - dt.timedelta(hours=1))
    make_article(topics=[topic], status=Article.Status.REVIEW)

    listed = public.StoryList(view, topic_id=topic.pk, one_per_story=False)
    rows = [row["id"] for row in listed.rows(("id",), 0, 50)]

    expected = ranking.order(public.in_topic(public.published(), topic), view)
    assert rows == list(expected.values_list("id", flat=True))
    assert len(rows) == 8 and len({*rows}) == 8


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's query plan")
def test_a_topic_list_reads_the_topics_own_index_in_page_order():
    topic = Topic.objects.create(name="Chips", slug="chips")
    make_article(topics=[topic])
    for view in ranking.ORDERINGS:
        query = public.StoryList(view, topic_id=topic.pk).queryset().values_list("id")[:21].query
        sql, params = query.get_compiler(connection.alias).as_sql()
        with connection.cursor() as cursor:
            cursor.execute(f"EXPLAIN QUERY PLAN {sql}", params)
            plan = [str(row[-1]) for row in cursor.fetchall()]
        index = "topic_top" if view == ranking.TOP else "topic_latest"
        assert f"SEARCH articles_taggedtopic USING COVERING INDEX {index} (tag_id=?)" in plan[0], (
            plan
        )
        assert not any("TEMP B-TREE" in step for step in plan), plan


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite rebuilds tables to alter them")
@pytest.mark.django_db(transaction=True)
def test_a_migration_that_rebuilds_the_articles_table_runs_and_the_copies_follow():
    from django.core.management.sql import emit_post_migrate_signal, emit_pre_migrate_signal

    topic = Topic.objects.create(name="Chips", slug="chips")
    article = make_article(topics=[topic])
    title = Article._meta.get_field("title")
    longer = models.CharField(max_length=title.max_length + 1)
    longer.set_attributes_from_name("title")
    longer.model = Article

    emit_pre_migrate_signal(verbosity=0, interactive=False, db=connection.alias)
    # An AlterField as a migration would run it: SQLite copies the table to a new one.
    # A trigger naming the table would fail it ("no such table: main.articles_article").
    with connection.schema_editor() as editor:
        editor.alter_field(Article, title, longer)
    with connection.schema_editor() as editor:
        editor.alter_field(Article, longer, title)
    Article.objects.filter(pk=article.pk).update(score=42.0)  # while no trigger runs
    emit_post_migrate_signal(verbosity=0, interactive=False, db=connection.alias)

    assert TaggedTopic.objects.get().score == 42.0  # repaired
    Article.objects.filter(pk=article.pk).update(score=43.0)
    assert TaggedTopic.objects.get().score == 43.0  # and kept again
