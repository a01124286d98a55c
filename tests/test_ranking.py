"""Heat and "Top" (articles/ranking.py): the upstream rule, the date-anchored score and its
parts, recomputing, `manage.py rerank`, and the index that keeps Top an index scan."""

import datetime as dt
import importlib
import io
import math
import re
from pathlib import Path

import pytest
from django.core.cache import cache
from django.core.management import call_command
from django.db import connection
from django.db.models import F
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from articles import ranking
from articles.ingest import itemfile
from articles.models import Article
from articles.site import public

from .factories import make_article, make_coverage, make_topic, run_import

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parent.parent
NOW = dt.datetime(2026, 12, 1, 12, 0, tzinfo=dt.UTC)


def at(hours_before):
    """The moment `hours_before` hours before NOW."""
    return NOW - dt.timedelta(hours=hours_before)


@pytest.fixture
def frozen(monkeypatch):
    """The clock stands still at NOW: articles are made relative to it, and the
    explanations' "published 14 hours ago" read it (the scores never do)."""
    monkeypatch.setattr(timezone, "now", lambda: NOW)
    return NOW


def top_titles(**list_options):
    stories = public.StoryList(**list_options)
    return [row["title"] for row in stories.rows(("title",), 0, 100)]


# -- heat: the upstream rule ------------------------------------------------------------


@pytest.mark.parametrize(
    ("quality", "coverage", "heat"),
    [
        (84, 2, 104),  # 2020-04-22-how-will-service-robotics-market...: two on one outlet
        (167, 8, 247),  # the Neuralink demo, the corpus's hottest
        (89, 0, 89),
        (50, 1, 60),  # coverage counts from quality 50 on...
        (49, 3, 49),  # ...and not below
        (0, 0, 0),
        (None, 4, None),  # no quality, no heat
    ],
)
def test_computed_heat_is_the_upstream_rule(quality, coverage, heat):
    assert ranking.computed_heat(quality, coverage) == heat


@pytest.mark.corpus
def test_computed_heat_reproduces_every_corpus_file_with_a_known_heat(corpus):
    """Imported, then computed from the stored quality and coverage rows: the file's
    heat, in every file that has one (-1 means never computed; 30 files have none)."""
    news = corpus / "news"
    known = {}
    for path in sorted(news.glob("*.md")):
        item = itemfile.read(path)
        if isinstance(item, itemfile.Item) and item.heat is not None:
            known[item.web_url] = item.heat
    assert len(known) == 79

    code, _, err = run_import(news)
    assert code == 1 and err.count("\n") <= 1  # the one broken file, as SCHEMA.md says
    ranking.recompute(Article.objects.values_list("pk", flat=True))
    computed = dict(Article.objects.filter(web_url__in=known).values_list("web_url", "heat"))
    assert computed == known


def test_coverage_counts_each_other_article_once(frozen):
    article = make_article(quality=80, web_url="https://news.example/own")
    make_coverage(article, url="https://a.example/1", provider_domain="a.example")
    make_coverage(article, url="https://a.example/2", provider_domain="a.example")
    make_coverage(article, url="https://a.example/2", provider_domain="a.example")  # twice
    make_coverage(article, url="https://news.example/own")  # the article itself
    article.refresh_from_db()
    assert article.heat == 80 + 2 * 10


# -- the score and its parts ----------------------------------------------------------------


def _inputs(**values):
    return ranking.Inputs(**{"published_at": at(14), **values})


@pytest.mark.parametrize(
    "inputs",
    [
        _inputs(quality=89),
        _inputs(quality=89, coverage=5, boost_hours=6, boost_reason="exclusive"),
        _inputs(quality=40, coverage=3, boost_hours=-12, topic_hours=(("Crypto", -12),)),
        _inputs(quality=0),
        _inputs(quality=89, coverage=5, heat_pin=150, topic_hours=(("Chips", 4), ("AI", 2))),
    ],
)
def test_the_parts_add_up_to_the_score(inputs):
    explanation = ranking.explain(inputs)
    published = ranking.hours_since_epoch(inputs.published_at)
    assert explanation.score == pytest.approx(published + sum(p.hours for p in explanation.parts))
    assert explanation.score == pytest.approx(
        published
        + ranking.WINDOW_HOURS * math.log10(1 + explanation.heat)
        + inputs.boost_hours
        + sum(hours for _, hours in inputs.topic_hours)
    )
    as_if = explanation.ranks_as_if_published
    assert ranking.hours_since_epoch(as_if) == pytest.approx(explanation.score)


def test_the_parts_say_what_they_are_worth():
    explanation = ranking.explain(
        _inputs(quality=89, coverage=5, boost_hours=6, boost_reason="exclusive")
    )
    assert [(p.what, round(p.hours, 1)) for p in explanation.parts] == [
        ("quality 89", 93.8),
        ("5 coverage articles", 9.2),
        ("editor boost (exclusive)", 6.0),
    ]
    assert (explanation.heat, explanation.pinned) == (139, False)

    below = ranking.explain(_inputs(quality=40, coverage=3, boost_hours=-12))
    assert [(p.what, p.hours) for p in below.parts[1:]] == [
        ("3 coverage articles (counted from quality 50)", 0.0),
        ("editor penalty", -12.0),
    ]

    pinned = ranking.explain(_inputs(quality=89, coverage=5, heat_pin=150))
    assert (pinned.heat, pinned.computed_heat, pinned.pinned) == (150, 139, True)
    assert [p.what for p in pinned.parts] == ["heat pinned at 150"]


def test_no_quality_and_no_pin_means_no_score():
    explanation = ranking.explain(_inputs(quality=None, coverage=3, boost_hours=6))
    assert (explanation.heat, explanation.score, explanation.parts) == (None, None, ())
    assert explanation.ranks_as_if_published is None


# -- "Top", with the clock frozen ----------------------------------------------------------


def test_a_hot_story_three_days_old_ranks_below_a_warm_one_two_hours_old(frozen):
    make_article("hot, three days old", heat=150, published_at=at(72))
    make_article("warm, two hours old", heat=100, published_at=at(2))
    assert top_titles() == ["warm, two hours old", "hot, three days old"]


def test_within_the_same_hour_the_hotter_story_ranks_first(frozen):
    make_article("cooler, newer", heat=90, published_at=at(1))
    make_article("hotter, older", heat=110, published_at=at(1.9))
    make_article("tied, older", heat=100, published_at=at(1.5))
    make_article("tied, newer", heat=100, published_at=at(1.2))
    assert top_titles() == ["hotter, older", "tied, newer", "tied, older", "cooler, newer"]


def test_equal_scores_go_newest_first_then_by_id(frozen):
    first = make_article("first made", heat=100, published_at=at(3))
    second = make_article("second made", heat=100, published_at=at(3))
    assert first.score == second.score
    assert top_titles() == ["second made", "first made"]
    # ranking.place (the admin's "ranks 2nd") counts ties the same way.
    published = public.published()
    assert ranking.place(published, first.score, first.published_at, first.pk) == 2
    assert ranking.place(published, second.score, second.published_at, second.pk) == 1


def test_a_boost_or_penalty_is_worth_its_hours(frozen):
    make_article("boosted 6 h, published 10 h ago", heat=100, published_at=at(10), boost_hours=6)
    make_article("published 5 h ago", heat=100, published_at=at(5))
    make_article("published 3 h ago", heat=100, published_at=at(3))
    make_article("paywall -12 h, published 1 h ago", heat=100, published_at=at(1), boost_hours=-12)
    assert top_titles() == [
        "published 3 h ago",
        "boosted 6 h, published 10 h ago",  # ranks as if published 4 h ago
        "published 5 h ago",
        "paywall -12 h, published 1 h ago",  # as if published 13 h ago
    ]


def test_a_topic_modifier_moves_every_story_in_it(frozen):
    crypto = make_topic("Crypto", rank_hours=-24)
    make_article("in crypto", heat=100, published_at=at(1), topics=[crypto])
    make_article("elsewhere", heat=100, published_at=at(20))
    assert top_titles() == ["elsewhere", "in crypto"]
    assert top_titles(topic_id=crypto.pk) == ["in crypto"]


def test_a_pinned_heat_replaces_the_computed_one(frozen):
    make_article("computed 50", quality=50, published_at=at(1))
    make_article("pinned 500", quality=10, heat=500, published_at=at(48))
    assert top_titles() == ["pinned 500", "computed 50"]
    assert Article.objects.get(title="pinned 500").heat == 500


def test_unknown_heat_comes_last_newest_first(frozen):
    make_article("unknown, newest", quality=None, published_at=at(0))
    make_article("known, oldest", quality=1, published_at=at(24 * 30))
    make_article("unknown, older", quality=None, published_at=at(5))
    assert top_titles() == ["known, oldest", "unknown, newest", "unknown, older"]


def test_scores_depend_on_their_inputs_never_on_the_clock(frozen, monkeypatch):
    for hours in (1, 30, 300):
        make_article(heat=100 + hours, published_at=at(hours))
    before = list(Article.objects.order_by("pk").values_list("score", flat=True))
    monkeypatch.setattr(timezone, "now", lambda: NOW + dt.timedelta(days=400))
    assert ranking.recompute(Article.objects.values_list("pk", flat=True)) == 0
    assert list(Article.objects.order_by("pk").values_list("score", flat=True)) == before


# -- recomputing ----------------------------------------------------------------------------


def test_recompute_writes_and_counts_only_what_moved(frozen):
    articles = [make_article(quality=60 + n) for n in range(4)]
    Article.objects.filter(pk__in=[articles[0].pk, articles[1].pk]).update(quality=120)
    Article.objects.filter(pk=articles[2].pk).update(boost_hours=3)
    ids = [a.pk for a in articles]
    assert ranking.recompute(ids, dry_run=True) == 3
    assert ranking.recompute(ids) == 3
    assert ranking.recompute(ids) == 0
    moved = Article.objects.get(pk=articles[0].pk)
    assert moved.heat == 120
    assert (
        moved.score
        == ranking.explain(ranking.Inputs(published_at=moved.published_at, quality=120)).score
    )


def test_recompute_takes_a_fixed_number_of_queries_per_slice(frozen, monkeypatch):
    articles = [make_article(quality=60, topics=[make_topic(rank_hours=1)]) for _ in range(12)]
    for article in articles:
        make_coverage(article)
    ids = [a.pk for a in articles]

    def queries(slice_size):
        Article.objects.update(quality=F("quality") + 1)  # every heat and score moves
        monkeypatch.setattr(ranking, "ID_BATCH_SIZE", slice_size)
        with CaptureQueriesContext(connection) as captured:
            assert ranking.recompute(ids) == len(ids)
        return [q["sql"] for q in captured if not q["sql"].startswith(("SAVEPOINT", "RELEASE"))]

    one_slice = queries(900)
    # articles, coverage, topic modifiers, story mentions (none: not grouped), one update
    assert len(one_slice) == 5
    if connection.vendor == "postgresql":  # read under the row lock, as every writer
        assert one_slice[0].endswith('FOR NO KEY UPDATE OF "articles_article"')
    assert len(queries(5)) == 3 * 5  # the same for each slice of 5
    assert set(Article.objects.values_list("quality", "heat")) == {(62, 72)}


def test_rerank_recomputes_everything_and_reports_how_many_moved(frozen):
    articles = [make_article(quality=60) for _ in range(5)]
    Article.objects.filter(pk__in=[a.pk for a in articles[:2]]).update(quality=90)

    out = io.StringIO()
    call_command("rerank", "--dry-run", stdout=out)
    assert (
        out.getvalue().strip() == f"Formula version {ranking.VERSION}: 2 of 5 articles would move."
    )
    assert set(Article.objects.values_list("heat", flat=True)) == {60}

    out = io.StringIO()
    call_command("rerank", stdout=out)
    assert out.getvalue().strip() == f"Formula version {ranking.VERSION}: 2 of 5 articles moved."
    assert sorted(Article.objects.values_list("heat", flat=True)) == [60, 60, 60, 90, 90]


def test_recomputed_scores_reach_cached_pages(frozen, client, settings):
    settings.NEWSROOM_PAGE_CACHE = True
    cache.clear()
    make_article("falls", quality=150, published_at=at(2))
    rises = make_article("rises", quality=60, published_at=at(1))
    assert _card_titles(client.get("/")) == ["falls", "rises"]
    Article.objects.filter(pk=rises.pk).update(quality=300)  # no signal, no cache purge
    call_command("rerank", stdout=io.StringIO())
    assert _card_titles(client.get("/")) == ["rises", "falls"]


def _card_titles(response):
    return re.findall(r'<h2 class="card__title"><a [^>]*>(.*?)</a>', response.content.decode())


# -- the formula's version --------------------------------------------------------------------


def test_the_version_and_changelog_are_the_same_in_the_code_and_the_docs():
    assert ranking.CHANGELOG[-1][0] == ranking.VERSION
    assert [number for number, _, _ in ranking.CHANGELOG] == list(range(1, ranking.VERSION + 1))
    docs = " ".join((ROOT / "docs" / "ranking.md").read_text(encoding="utf-8").split())
    for number, date, change in ranking.CHANGELOG:
        assert f"**Version {number}** ({date.isoformat()}): {change}" in docs


# -- "Top" stays an index scan --------------------------------------------------------------


def test_top_is_read_through_its_index(frozen):
    topic = make_topic("Chips")
    for n in range(30):
        make_article(quality=n * 5, topics=[topic] if n % 2 else [], published_at=at(n))
    # A topic's list is read from its links' copies of the keys (tests/test_topic_sort_keys.py).
    for stories, index in (
        (public.StoryList(), "article_top_score"),
        (public.StoryList(topic_id=topic.pk), "topic_top"),
    ):
        query = stories.queryset().values_list("title")[:21].query
        sql, params = query.get_compiler(connection.alias).as_sql()
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                # On a table this small a sort is cheaper: ask whether the index can serve.
                cursor.execute("SET LOCAL enable_sort = off")
                cursor.execute("SET LOCAL enable_seqscan = off")
                cursor.execute(f"EXPLAIN {sql}", params)
                plan = "\n".join(row[0] for row in cursor.fetchall())
                assert f"{index}_nulls_last" in plan, plan
                assert "Sort" not in plan, plan
            else:
                cursor.execute(f"EXPLAIN QUERY PLAN {sql}", params)
                plan = "\n".join(str(row[-1]) for row in cursor.fetchall())
                assert f"INDEX {index}" in plan, plan
                assert "TEMP B-TREE" not in plan, plan


# -- migration 0010: existing rows ------------------------------------------------------------


def test_the_migration_moves_todays_heat_to_the_source_and_editors_heats_to_pins(frozen):
    from django.apps import apps

    migration = importlib.import_module("articles.migrations.0012_ranking")
    rows = {
        # name: (what the last import wrote, today's heat)
        "file heat kept": ({"heat": 104, "quality": 84}, 104),
        "file said -1": ({"heat": None, "quality": 67}, None),
        "editor changed it": ({"heat": 90, "quality": 84}, 150),
        "typed in the admin": ({}, 70),
        "no scores in the file": ({"heat": None, "quality": None}, None),
    }
    for title, (imported, heat) in rows.items():
        article = make_article(title, quality=imported.get("quality", 50))
        Article.objects.filter(pk=article.pk).update(
            imported=imported, heat=heat, heat_pin=None, source_heat=None, score=None
        )

    migration.compute_scores(apps, None)
    found = {
        a.title: (a.source_heat, a.heat_pin, a.heat, a.score is not None)
        for a in Article.objects.all()
    }
    assert found == {
        "file heat kept": (104, None, 84, True),  # computed: no coverage here
        "file said -1": (-1, None, 67, True),
        "editor changed it": (90, 150, 150, True),
        "typed in the admin": (None, 70, 70, True),
        "no scores in the file": (None, None, None, False),
    }
    for article in Article.objects.all():
        assert article.score == ranking.explain(ranking.inputs_for([article])[article.pk]).score

    migration.restore_heat(apps, None)  # and back
    assert dict(Article.objects.values_list("title", "heat")) == {
        "file heat kept": 104,
        "file said -1": None,
        "editor changed it": 150,
        "typed in the admin": 70,
        "no scores in the file": None,
    }
