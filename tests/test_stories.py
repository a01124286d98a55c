"""Stories: grouping at import time, URL keys, editors' decisions, outlets, the command."""

import io
import json
from pathlib import Path

import pytest
from django.contrib.admin.models import LogEntry
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from articles import stories
from articles.models import Article, Story, StoryApart, StoryMention, StoryProposal
from articles.stories import grouping, text
from articles.stories.evaluation import evaluate
from tests.factories import make_coverage
from tests.stories_support import ACQUISITION, PRESS_RELEASE, article, at, group, story_of

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parent.parent
LABELS = ROOT / "tests" / "data" / "stories" / "labels.json"


# -- forming stories ------------------------------------------------------------------


def test_syndicated_copies_form_one_story_with_the_copy_signal():
    one = article(*PRESS_RELEASE, domain="businesswire.example")
    other = article(*PRESS_RELEASE, hours=3, domain="morningstar.example")
    group(one, other)
    assert story_of(one) is not None and story_of(one) == story_of(other)
    joined = StoryMention.objects.get(article=other, kind="article")
    assert joined.signals.get("copy") is True and joined.score >= grouping.JOIN


def test_the_same_event_in_other_words_forms_one_story():
    articles = [article(t, e, hours=5 * n) for n, (t, e) in enumerate(ACQUISITION)]
    group(*articles)
    assert len({story_of(a) for a in articles}) == 1 and story_of(articles[0]) is not None
    signals = StoryMention.objects.get(article=articles[1], kind="article").signals
    assert {"veltrano", "quillmark"} <= set(signals["shared"])


def test_an_article_joins_an_existing_story_in_a_later_batch():
    first = [article(t, e, hours=n) for n, (t, e) in enumerate(ACQUISITION[:2])]
    group(*first)
    late = article(*ACQUISITION[2], hours=30)
    group(late)
    assert story_of(late) == story_of(first[0]) is not None


def test_an_earlier_article_a_later_one_pulls_in_gets_its_score_and_the_storys_dates():
    """The earlier article's mention is a window row the later batch moves: its story,
    score and signals are written, and the story spans both dates."""
    earlier = article(*PRESS_RELEASE, domain="businesswire.example")
    group(earlier)
    assert story_of(earlier) is None
    later = article(*PRESS_RELEASE, hours=3, domain="morningstar.example")
    group(later)
    moved = StoryMention.objects.get(article=earlier, kind="article")
    assert moved.story_id == story_of(later) is not None
    assert moved.score >= grouping.JOIN and moved.signals.get("copy") is True
    story = Story.objects.get(pk=moved.story_id)
    assert (story.first_seen, story.last_seen) == (earlier.published_at, later.published_at)


def test_same_company_different_announcement_stays_apart():
    a2i = article(
        "Nimbus Cloud Announces General Availability of Nimbus Ledger Vault",
        "Nimbus Cloud today made Ledger Vault, its managed ledger database for banks, "
        "generally available in nine regions.",
    )
    keys = article(
        "Nimbus Cloud Announces General Availability of Nimbus Keyspan for Cassandra",
        "Nimbus Cloud today made Keyspan, a managed Apache Cassandra service for gaming "
        "companies, generally available.",
        hours=4,
    )
    group(a2i, keys)
    assert story_of(a2i) is None or story_of(a2i) != story_of(keys)


def test_same_market_report_template_different_market_stays_apart():
    robots = article(
        "How Will Service Robotics Market Deal with the COVID-19 Crisis?",
        "The global service robotics market is expected to rise with an impressive CAGR and "
        "generate the highest revenue by 2026.",
    )
    speech = article(
        "How Will Speech Recognition Market Deal with the COVID-19 Crisis?",
        "The global speech recognition market is expected to rise with an impressive CAGR and "
        "generate the highest revenue by 2026.",
        hours=1,
    )
    group(robots, speech)
    assert story_of(robots) is None or story_of(robots) != story_of(speech)


def test_the_same_person_in_two_stories_weeks_apart_stays_apart():
    one = article(
        "Marta Kessler says the new copyright law ends open research",
        "The artist Marta Kessler told reporters in Berlin the law would end open research.",
    )
    other = article(
        "Marta Kessler opens her robot sculpture show in Lisbon",
        "Marta Kessler's robot sculptures open in Lisbon this week.",
        hours=24 * 40,
    )
    group(one, other)
    assert story_of(one) is None or story_of(one) != story_of(other)


def test_copies_further_apart_than_the_window_are_not_compared():
    one = article(*PRESS_RELEASE)
    other = article(*PRESS_RELEASE, hours=24 * 30)
    group(one, other)
    assert story_of(one) is None or story_of(one) != story_of(other)


def test_on_topic_coverage_joins_its_article_and_off_topic_coverage_stays_out():
    lead = article(*ACQUISITION[0], domain="wire.example")
    on_topic = make_coverage(
        lead,
        url="https://chips.example/veltrano-quillmark",
        title=ACQUISITION[1][0],
        excerpt=ACQUISITION[1][1],
        provider_domain="chips.example",
        published_at=at(2),
    )
    off_topic = make_coverage(
        lead,
        url="https://lending.example/ml-risk",
        title="Consumer lenders ride machine learning platforms to manage risk",
        excerpt="Payment defaults prompt lenders to build risk models.",
        provider_domain="lending.example",
        published_at=at(1),
    )
    group(lead)
    story = story_of(lead)
    assert story is not None
    placed = dict(
        StoryMention.objects.filter(kind="coverage").values_list("coverage_id", "story_id")
    )
    assert placed[on_topic.pk] == story
    assert placed[off_topic.pk] is None


def test_a_coverage_entry_naming_a_story_article_by_another_url_is_that_article():
    copy = article(*PRESS_RELEASE, web_url="https://www.wire.example/orbisense-tallow/")
    other = article(*PRESS_RELEASE, hours=2)
    entry = make_coverage(
        other,
        url="http://wire.example/orbisense-tallow?utm_source=feed",
        title="Another title altogether",
        published_at=at(1),
    )
    group(copy, other)
    mention = StoryMention.objects.get(coverage_id=entry.pk)
    assert mention.story_id == story_of(copy) is not None
    assert mention.key == StoryMention.objects.get(article=copy, kind="article").key


def test_borderline_matches_become_proposals_not_memberships(monkeypatch):
    monkeypatch.setattr(grouping, "JOIN", 0.99)
    articles = [article(t, e, hours=n) for n, (t, e) in enumerate(ACQUISITION[:2])]
    group(*articles)
    assert story_of(articles[1]) is None
    proposal = StoryProposal.objects.get()
    assert {proposal.article_id, proposal.match_id} == {a.pk for a in articles}
    assert proposal.status == "open" and grouping.PROPOSE <= proposal.score < 0.99
    assert proposal.signals["shared"]


def test_candidates_are_blocked_not_all_pairs(monkeypatch):
    """Thirty articles that share one word, Brennhall, and nothing else: one shared word
    found in more than three mentions is no reason to compare, so no pair is scored."""
    calls = []
    original = text.Scorer.score

    def counted(self, one, other, **kwargs):
        calls.append(1)
        return original(self, one, other, **kwargs)

    monkeypatch.setattr(text.Scorer, "score", counted)
    articles = [
        article(f"Zorvath{n} Quellmar{n} Brennhall", f"Istrovane{n} Pelmark{n}.", hours=n)
        for n in range(30)
    ]
    group(*articles)
    assert len(calls) < 30  # all pairs would be 435
    assert not Story.objects.exists()


def test_queries_do_not_grow_with_the_batch():
    def queries(count, offset):
        made = [
            article(f"Brandel{offset + n} ships robot arm {offset + n}", "An arm.", hours=n)
            for n in range(count)
        ]
        with CaptureQueriesContext(connection) as captured:
            group(*made)
        return len(captured.captured_queries)

    assert queries(40, 1000) <= queries(4, 0) + 2


@pytest.mark.parametrize("kind", [StoryMention.Kind.ARTICLE, StoryMention.Kind.COVERAGE])
def test_the_time_window_is_read_through_the_dates_index(kind):
    """Every batch reads its window: a table scan would make each batch cost as much as
    the whole table."""
    query = grouping.published_between(kind, at(0), at(24)).values_list("id").query
    sql, params = query.get_compiler(connection.alias).as_sql()
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET LOCAL enable_seqscan = off")  # the table is empty here
            cursor.execute(f"EXPLAIN {sql}", params)
        else:
            cursor.execute(f"EXPLAIN QUERY PLAN {sql}", params)
        plan = "\n".join(str(row[-1]) for row in cursor.fetchall())
    if connection.vendor == "postgresql":
        assert "Seq Scan" not in plan, plan  # (on an empty table it may pick another index)
    else:
        assert "USING INDEX mention_published" in plan, plan


# -- URL keys -------------------------------------------------------------------------------


def test_articles_are_found_by_any_variant_of_their_urls():
    found = article(
        "One",
        "x",
        web_url="https://www.example.com/2026/story/",
        amp_web_url="https://example.com/2026/story/amp",
    )
    group(found)
    lookups = stories.articles_by_url_keys(
        [
            "http://example.com/2026/story?utm_source=rss",
            "https://example-com.cdn.ampproject.org/c/s/example.com/2026/story/amp",
            "https://example.com/2026/other",
        ]
    )
    assert lookups == {
        "http://example.com/2026/story?utm_source=rss": found.pk,
        "https://example-com.cdn.ampproject.org/c/s/example.com/2026/story/amp": found.pk,
    }


def test_coverage_naming_an_article_by_a_variant_url_links_the_two():
    target = article("Target", "x", web_url="https://news.example/target/")
    holder = article("Holder", "y", hours=1)
    entry = make_coverage(holder, url="http://www.news.example/target?fbclid=abc")
    group(target, holder)
    assert stories.link_coverage([holder.pk]) == 1
    entry.refresh_from_db()
    assert entry.linked_article_id == target.pk
    assert list(holder.related_stories.all()) == [target]
    assert list(target.related_stories.all()) == [holder]
    assert entry.url == "http://www.news.example/target?fbclid=abc"  # stored as imported


def test_older_coverage_is_linked_to_a_new_article_through_the_key():
    holder = article("Holder", "y")
    entry = make_coverage(holder, url="https://new.example/arrives-later/?utm_medium=x")
    group(holder)
    newcomer = article("Newcomer", "z", web_url="http://new.example/arrives-later", hours=2)
    group(newcomer)
    stories.link_coverage([newcomer.pk])
    entry.refresh_from_db()
    assert entry.linked_article_id == newcomer.pk


# -- editors' decisions ---------------------------------------------------------------------


@pytest.fixture
def acquisition():
    articles = [article(t, e, hours=5 * n) for n, (t, e) in enumerate(ACQUISITION)]
    group(*articles)
    assert len({story_of(a) for a in articles} - {None}) == 1
    return articles


@pytest.fixture
def desk(django_user_model):
    return django_user_model.objects.create_user("desk", is_staff=True)


def test_a_split_stays_split_across_reimports_and_rebuilds(acquisition, desk):
    story = Story.objects.get(pk=story_of(acquisition[0]))
    stories.split(story, acquisition[2], user=desk)
    assert story_of(acquisition[2]) != story_of(acquisition[0])
    group(*acquisition)  # the files are imported again
    assert story_of(acquisition[2]) is None or story_of(acquisition[2]) != story_of(acquisition[0])
    stories.rebuild()
    assert story_of(acquisition[2]) is None or story_of(acquisition[2]) != story_of(acquisition[0])
    assert story_of(acquisition[0]) == story_of(acquisition[1]) is not None
    assert StoryApart.objects.filter(reason="split").count() == 2
    assert not StoryProposal.objects.filter(article=acquisition[2], status="open").exists()
    history = LogEntry.objects.filter(object_id=str(acquisition[2].pk)).get()
    assert "Split" in history.change_message and history.user == desk


def test_a_dismissed_proposal_is_not_proposed_again(monkeypatch, desk):
    monkeypatch.setattr(grouping, "JOIN", 0.99)
    articles = [article(t, e, hours=n) for n, (t, e) in enumerate(ACQUISITION[:2])]
    group(*articles)
    proposal = StoryProposal.objects.get()
    stories.dismiss(proposal, user=desk)
    group(*articles)
    stories.rebuild()
    assert list(StoryProposal.objects.values_list("status", flat=True)) == ["dismissed"]
    monkeypatch.setattr(grouping, "JOIN", 0.42)
    stories.rebuild()  # not even a confident match puts them together now
    assert story_of(articles[0]) is None or story_of(articles[0]) != story_of(articles[1])


def test_an_accepted_proposal_makes_one_story_that_reimports_keep(monkeypatch, desk):
    monkeypatch.setattr(grouping, "JOIN", 0.99)
    articles = [article(t, e, hours=n) for n, (t, e) in enumerate(ACQUISITION[:2])]
    group(*articles)
    story = stories.accept(StoryProposal.objects.get(), user=desk)
    assert story_of(articles[0]) == story_of(articles[1]) == story.pk
    group(*articles)
    stories.rebuild()
    assert story_of(articles[0]) == story_of(articles[1]) == story.pk
    assert StoryProposal.objects.get().status == "accepted"


def test_a_merge_pins_both_stories_members(desk):
    copies = [article(*PRESS_RELEASE, hours=n) for n in range(2)]
    event = [article(t, e, hours=n) for n, (t, e) in enumerate(ACQUISITION)]
    group(*copies, *event)
    one, other = Story.objects.get(pk=story_of(copies[0])), Story.objects.get(pk=story_of(event[0]))
    stories.merge(one, other, user=desk)
    assert {story_of(a) for a in [*copies, *event]} == {one.pk}
    assert not Story.objects.filter(pk=other.pk).exists()
    stories.rebuild()
    assert {story_of(a) for a in [*copies, *event]} == {one.pk}
    assert LogEntry.objects.filter(
        object_id=str(one.pk), change_message__startswith="Merged"
    ).exists()


def test_the_lead_an_editor_chose_stays(acquisition, desk):
    story = Story.objects.get(pk=story_of(acquisition[0]))
    stories.set_lead(story, acquisition[2], user=desk)
    group(*acquisition)
    stories.rebuild()
    story = Story.objects.get(pk=story_of(acquisition[0]))
    assert story.lead_id == acquisition[2].pk and story.lead_chosen
    lead_flags = StoryMention.objects.filter(story=story, is_lead=True)
    assert list(lead_flags.values_list("article_id", flat=True)) == [acquisition[2].pk]


def test_the_automatic_lead_is_a_published_article(acquisition):
    Article.objects.filter(pk=acquisition[0].pk).update(status="review")
    Article.objects.filter(pk=acquisition[1].pk).update(quality=99)
    group(*acquisition)
    story = Story.objects.get(pk=story_of(acquisition[0]))
    assert story.lead_id == acquisition[1].pk


# -- outlets --------------------------------------------------------------------------------


def test_distinct_outlets_counts_a_syndicated_copy_and_an_outlet_once():
    wire = article(*PRESS_RELEASE, domain="wire.example")
    copy = article(*PRESS_RELEASE, hours=1, domain="paper.example")  # the same text
    own = article(*ACQUISITION[0], hours=2, domain="chips.example")
    make_coverage(own, url="https://chips.example/again", title=ACQUISITION[1][0],
                  excerpt=ACQUISITION[1][1], provider_domain="chips.example", published_at=at(3))  # fmt: skip
    make_coverage(own, url="https://analysis.example/why", title=ACQUISITION[2][0],
                  excerpt=ACQUISITION[2][1], provider_domain="analysis.example", published_at=at(4))  # fmt: skip
    alone = article("Nothing like the others", "Plain.", hours=5)
    group(wire, copy, own, alone)
    counts = stories.distinct_outlets([wire.pk, copy.pk, own.pk, alone.pk])
    assert counts[wire.pk] == counts[copy.pk] == 1  # two outlets, one text
    assert counts[own.pk] == 2  # chips.example twice, analysis.example
    assert counts[alone.pk] == 1


# -- the command ----------------------------------------------------------------------------


def test_stories_json_prints_every_story_of_two_articles():
    articles = [article(t, e, hours=n) for n, (t, e) in enumerate(ACQUISITION)]
    lone = article(*PRESS_RELEASE, hours=9)
    make_coverage(lone, url="https://copy.example/tallow", title=PRESS_RELEASE[0],
                  excerpt=PRESS_RELEASE[1], published_at=at(10))  # fmt: skip
    group(*articles, lone)
    out = io.StringIO()
    call_command("stories", "--json", stdout=out)
    listed = json.loads(out.getvalue())
    assert len(listed) == 1  # the article with one copy in its coverage is a story of one
    (story,) = listed
    assert set(story) == {"id", "lead", "articles", "coverage", "signals"}
    assert sorted(story["articles"]) == sorted(a.web_url for a in articles)
    assert story["lead"] in story["articles"] and story["id"] == story_of(articles[0])
    assert all("score" in s for s in story["signals"].values())


def test_stories_rebuild_recomputes_and_reports(acquisition, desk):
    Story.objects.all().delete()  # as if the rules had changed
    out = io.StringIO()
    call_command("stories", "--rebuild", stdout=out)
    assert "Rebuilt the stories of 3 articles: 1 stories" in out.getvalue()
    assert len({story_of(a) for a in acquisition} - {None}) == 1


# -- quality on the real corpus -------------------------------------------------------------


def test_pairwise_quality_on_the_labelled_corpus(corpus):
    from articles.ingest.importer import Importer

    Importer().run([str(corpus / "news")])
    figures = evaluate(LABELS, corpus / "news")
    assert figures.precision >= 0.9, figures.false_positive_pairs
    assert figures.recall >= 0.7, figures.false_negative_pairs


def test_the_labels_name_only_urls_of_the_corpus(corpus):
    from articles.stories.evaluation import corpus_items
    from articles.urlkeys import url_key

    files, _ = corpus_items(corpus / "news")
    labels = json.loads(LABELS.read_text())
    urls = [u for s in labels["stories"] for u in s["urls"]]
    urls += [p[k] for p in labels["apart"] for k in ("a", "b")]
    assert [u for u in urls if url_key(u) not in files] == []
    assert all(p["reason"] for p in labels["apart"])


def test_an_import_computes_each_texts_words_once_in_its_parse_step(monkeypatch):
    # The parse step (a worker process for big runs) describes each item for the
    # grouping; the batch's write must use that, not read the words again.
    from articles.ingest.importer import Importer
    from articles.ingest.sources import uploaded
    from tests.factories import news_file

    computed = []
    real = text.features

    def counting(title, excerpt=""):
        computed.append(title)
        return real(title, excerpt)

    monkeypatch.setattr(text, "features", counting)
    files = [news_file(n) for n in range(1, 6)]  # five items, one coverage entry each
    report = Importer(workers=1).run_sources(uploaded(files)[0])
    assert report.created == 5
    assert sorted(computed) == sorted(
        [f"Story number {n}" for n in range(1, 6)] + [f"Other take {n}" for n in range(1, 6)]
    )
    assert StoryMention.objects.filter(kind=StoryMention.Kind.COVERAGE).count() == 5
