"""articles.site.search.search_articles on both engines.

Tests marked `postgres_only` check the full-text machinery (trigger, weights, GIN
index, stemming); `sqlite_only` ones check the fallback's exact rules. The rest must
hold on both, which `make test` and `make test-postgres` check between them.
"""

import shutil
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import connection

from articles.models import Article
from articles.site.search import MAX_TERMS, search, search_articles
from tests.factories import make_article

pytestmark = pytest.mark.django_db

FIXTURE_NEWS = Path(__file__).resolve().parent.parent / "fixtures" / "news"

postgres_only = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="full-text search (trigger, weights, GIN index) exists on PostgreSQL only",
)
sqlite_only = pytest.mark.skipif(
    connection.vendor != "sqlite", reason="checks the SQLite fallback's exact rules"
)


def titles(queryset):
    return [article.title for article in queryset]


# -- on both engines -----------------------------------------------------------------


def test_matches_title_excerpt_and_body():
    in_title = make_article("Quantum annealer ships", excerpt="Hardware news.")
    in_excerpt = make_article("Chip news", excerpt="A quantum leap for chips.")
    in_body = make_article("Lab notes", excerpt="Notes.", body="The quantum lab opened today.")
    make_article("Unrelated story", excerpt="Nothing to see.", body="Weather report.")

    found = search_articles(Article.objects.all(), "quantum")

    assert set(found) == {in_title, in_excerpt, in_body}


def test_every_word_must_match():
    both = make_article("Robot surgeon approved", excerpt="Regulators approve a robot.")
    make_article("Robot vacuum review", excerpt="It cleans floors.")
    make_article("Surgeon shortage", excerpt="Hospitals look for staff.")

    assert list(search_articles(Article.objects.all(), "robot surgeon")) == [both]


def test_case_does_not_matter():
    article = make_article("OpenVoice launches", excerpt="Speech synthesis.")

    assert list(search_articles(Article.objects.all(), "OPENVOICE")) == [article]


def test_only_searches_the_given_queryset():
    published = make_article("Fusion reactor milestone", status=Article.Status.PUBLISHED)
    make_article("Fusion reactor draft", status=Article.Status.REVIEW)
    make_article("Fusion reactor rejected", status=Article.Status.REJECTED)

    assert list(search_articles(Article.objects.published(), "fusion")) == [published]


@pytest.mark.parametrize("query", ["", "   ", None, '""', '" "'])
def test_an_empty_query_matches_nothing(query):
    make_article("Anything at all")

    assert list(search_articles(Article.objects.all(), query)) == []


def test_query_text_is_data_not_syntax():
    """Quotes, operators and SQL-ish text never raise; they just find nothing."""
    make_article("Plain title")

    for query in ["'; DROP TABLE articles_article; --", "a & | ! ( ) :* <->", "%_\\", '"unclosed']:
        assert list(search_articles(Article.objects.all(), query)) == []
    assert Article.objects.count() == 1


def test_long_queries_are_cut_to_a_bounded_number_of_terms():
    make_article("Alpha", excerpt="alpha")
    query = " ".join(["alpha"] * (MAX_TERMS * 5))

    assert len(search_articles(Article.objects.all(), query)) == 1


def test_long_words_are_cut_between_words():
    make_article("Alpha", excerpt="alpha")
    query = "alpha " + "x" * 300

    # The over-long second word is dropped rather than cut into a new word.
    assert len(search_articles(Article.objects.all(), query)) == 1


def test_results_and_listing_data_in_constant_queries(django_assert_num_queries):
    for n in range(5):
        make_article(f"Satellite imaging story {n}", images=2)
    found = search_articles(Article.objects.published().with_listing_data(), "satellite")

    # articles, providers joined, then one query each for topics and images
    with django_assert_num_queries(3):
        rows = list(found)
        for article in rows:
            list(article.topics.all())
            list(article.images.all())
            assert article.provider.domain
    assert len(rows) == 5


def test_imported_articles_are_searchable_and_stay_current_on_reimport(tmp_path):
    source = next(FIXTURE_NEWS.glob("*lumen-3*"))
    copy = tmp_path / source.name
    shutil.copy(source, copy)
    call_command("import_yaml", str(copy), verbosity=0)

    assert titles(search_articles(Article.objects.all(), "Lumen-3")) == [
        "Open-weight model family Lumen-3 tops reasoning benchmarks at a fraction of the compute"
    ]
    assert list(search_articles(Article.objects.all(), "zeppelin")) == []

    # A changed file goes through bulk_update, which bypasses save().
    text = copy.read_text()
    copy.write_text(text.replace("tops reasoning benchmarks", "tops zeppelin benchmarks", 1))
    call_command("import_yaml", str(copy), verbosity=0)

    assert len(search_articles(Article.objects.all(), "zeppelin")) == 1


# -- PostgreSQL: the stored vector, its trigger and index ------------------------------


@postgres_only
def test_title_outranks_excerpt_outranks_body():
    newest_body = make_article("Weekly roundup", excerpt="Many things.", body="Neuromorphic chips.")
    excerpt = make_article("Chip news", excerpt="Neuromorphic designs return.")
    title = make_article("Neuromorphic computing gets a boost", excerpt="Hardware.")
    # Make recency point the other way, so the order can only come from the rank.
    Article.objects.filter(pk=newest_body.pk).update(published_at=title.published_at)

    assert list(search_articles(Article.objects.all(), "neuromorphic")) == [
        title,
        excerpt,
        newest_body,
    ]


@postgres_only
def test_words_match_by_their_stem():
    article = make_article("Researchers are training larger models")

    assert list(search_articles(Article.objects.all(), "trained model")) == [article]


@postgres_only
def test_websearch_phrases_and_exclusions():
    phrase = make_article("Open source licence debate", excerpt="Who can use it.")
    make_article("Source code leak", excerpt="Open questions remain.")

    assert list(search_articles(Article.objects.all(), '"open source"')) == [phrase]
    assert list(search_articles(Article.objects.all(), "source -leak")) == [phrase]


@postgres_only
def test_vector_is_filled_on_insert_and_recomputed_on_every_kind_of_update():
    article = make_article("Glacier melt", excerpt="Climate.")
    assert article.__class__.objects.filter(pk=article.pk, search_vector__isnull=False).exists()

    Article.objects.filter(pk=article.pk).update(title="Volcano eruption")
    assert list(search_articles(Article.objects.all(), "volcano")) == [article]
    assert list(search_articles(Article.objects.all(), "glacier")) == []

    article.refresh_from_db()
    article.excerpt = "Tsunami warning."
    Article.objects.bulk_update([article], ["excerpt"])
    assert list(search_articles(Article.objects.all(), "tsunami")) == [article]

    article.body = "Seismograph readings."
    article.save()
    assert list(search_articles(Article.objects.all(), "seismograph")) == [article]

    # Fields outside the vector leave it alone (and do not fire the trigger).
    Article.objects.filter(pk=article.pk).update(quality=99)
    assert list(search_articles(Article.objects.all(), "volcano")) == [article]


@postgres_only
def test_search_vector_has_a_gin_index_the_planner_uses():
    constraints = connection.introspection.get_constraints(
        connection.cursor(), Article._meta.db_table
    )
    gin = constraints["article_search_vector_gin"]
    assert gin["columns"] == ["search_vector"]
    assert gin["type"] == "gin"

    make_article("Indexed word")
    query = search_articles(Article.objects.all(), "indexed")
    with connection.cursor() as cursor:
        # With sequential scans priced out, a usable index must show up in the plan.
        cursor.execute("SET LOCAL enable_seqscan = off")
        sql, params = query.query.sql_with_params()
        cursor.execute(f"EXPLAIN {sql}", params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "article_search_vector_gin" in plan


# -- SQLite: the fallback -----------------------------------------------------------------


@sqlite_only
def test_fallback_orders_newest_first():
    older = make_article("Drone delivery trial")
    newer = make_article("Drone delivery expands")
    Article.objects.filter(pk=newer.pk).update(published_at=older.published_at.replace(year=2099))

    assert list(search_articles(Article.objects.all(), "drone")) == [newer, older]


@sqlite_only
def test_fallback_matches_substrings_and_ignores_quotes():
    article = make_article("Autonomous trucking", excerpt="Self-driving lorries.")

    assert list(search_articles(Article.objects.all(), "autonom")) == [article]
    assert list(search_articles(Article.objects.all(), '"self-driving"')) == [article]


# -- Typos, stems, counts: what the search page asks (both engines) ------------------------


@pytest.fixture
def robot_stories():
    return [
        make_article("Robot folds laundry", excerpt="A household robot."),
        make_article("Robots learn to walk", excerpt="Legged machines."),
        make_article("Warehouse robotics startup raises money", excerpt="Funding news."),
    ]


def test_a_plural_finds_what_the_singular_finds(robot_stories):
    published = Article.objects.published()
    singular = set(search_articles(published, "robot"))
    assert set(search_articles(published, "robots")) >= singular - {robot_stories[2]}
    assert {robot_stories[0], robot_stories[1]} <= set(search_articles(published, "robots"))


def test_a_typo_gets_a_suggestion_and_its_stories(robot_stories):
    result = search(Article.objects.published(), "robto")
    assert result.suggestion == "robot"
    assert result.count == len(result.stories) >= 2
    assert {robot_stories[0], robot_stories[1]} <= set(result.stories)
    # Only the word that finds nothing is replaced.
    result = search(Article.objects.published(), "robto laundry")
    assert (result.suggestion, list(result.stories)) == ("robot laundry", [robot_stories[0]])


@pytest.mark.parametrize("query", ["robot?", "robot.", "Robot,", "(robot)", "#robot"])
def test_punctuation_around_a_word_is_not_part_of_it(robot_stories, query):
    result = search(Article.objects.published(), query)
    assert {robot_stories[0], robot_stories[1]} <= set(result.stories)


@pytest.mark.parametrize("query", ["(", ")", "'", "?!", "a", "- a"])
def test_a_query_without_words_finds_nothing(robot_stories, query):
    make_article("Q&A (part 1): what's a robot - and what isn't?")
    assert search(Article.objects.published(), query).count == 0


def test_a_word_that_matches_gets_a_count_and_no_suggestion(robot_stories):
    result = search(Article.objects.published(), "laundry")
    assert (result.count, result.suggestion, list(result.stories)) == (1, "", [robot_stories[0]])


def test_nothing_close_means_no_suggestion(robot_stories):
    result = search(Article.objects.published(), "xqzvwk")
    assert (result.count, result.suggestion, list(result.stories)) == (0, "", [])


def test_suggestions_never_come_from_drafts():
    make_article("Crop blight spotted by drones", status=Article.Status.REVIEW)
    make_article("Weather report")
    result = search(Article.objects.published(), "bligth")
    assert (result.count, result.suggestion) == (0, "")
    assert search(Article.objects.all(), "bligth").suggestion == "blight"


def test_the_search_page_counts_and_suggests(client, robot_stories, settings):
    settings.NEWSROOM_PAGE_CACHE = False
    html = client.get("/search/?q=laundry").content.decode()
    assert "1 story matches “laundry”." in html
    html = client.get("/search/?q=robto").content.decode()
    assert "No published story matches “robto”. Did you mean" in html
    assert '<a href="/search/?q=robot">robot</a>?' in html
    assert "stories match “robot”." in html and "Robot folds laundry" in html
    html = client.get("/search/?q=xqzvwk").content.decode()
    assert "No published story matches “xqzvwk”." in html
    assert "match “" not in html and "matching" not in html  # no heading over nothing


@postgres_only
def test_suggestions_read_titles_through_the_trigram_index(robot_stories):
    from django.contrib.postgres.lookups import TrigramWordSimilar
    from django.db.models import F, Value

    # The operator alone: on a table this small the planner would rather walk the status index.
    candidates = Article.objects.filter(TrigramWordSimilar(F("title"), Value("robto")))
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        sql, params = candidates.values("title").query.sql_with_params()
        cursor.execute(f"EXPLAIN {sql}", params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "article_title_trigram" in plan


def test_a_word_that_finds_something_is_kept_as_it_is():
    # "learn" is in no title ("learns" is), but the excerpt has it: only "robto" changes.
    make_article("Robot learns to walk", excerpt="Watch it learn.")
    assert search(Article.objects.published(), "learn robto").suggestion == "learn robot"
