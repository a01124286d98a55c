"""Full-text search over articles: one function, two database engines, and typos.

On PostgreSQL, `Article.search_vector` holds a weighted tsvector (title A, excerpt B,
body C) that a database trigger keeps current on every insert and update, including
the importer's bulk writes (migration 0003). A GIN index makes the match fast and
SearchRank orders by relevance; words match by their English stem.

On SQLite there is no full-text index worth the setup, so the fallback is plain and
predictable: the stem of every word of the query (Snowball's English stemmer:
"robots" and "robot" both look for "robot") must appear in the title, excerpt or
body (case-insensitive), newest first: `ranking.LATEST_ORDER`, which on PostgreSQL
orders the matches of equal rank.

`search()` is what the search page asks: the matches and how many there are, and
when nothing matches, "did you mean": each word that finds nothing replaced by the
closest word of a story's title, if one is close enough, and the stories of that.
On PostgreSQL "closest" is pg_trgm's trigram similarity, the candidate titles found
through a trigram index (migration 0012); on SQLite it is difflib's ratio over the
titles' words, read in Python (a cost that grows with the number of stories, paid
only by a search that found nothing).
"""

import difflib
import os
import re
from dataclasses import dataclass

import snowballstemmer
from django.contrib.postgres.lookups import TrigramWordSimilar
from django.contrib.postgres.search import SearchQuery, SearchRank
from django.db import connections, transaction
from django.db.models import F, Q, QuerySet, Value

from .. import ranking
from .public import one_per_story

# The text search configuration the trigger uses to build the vector; a query must
# be parsed with the same one or stemmed words would not match.
SEARCH_CONFIG = "english"
# Longer queries are cut, so that a pasted essay cannot make one search expensive.
MAX_QUERY_LENGTH = 200
MAX_TERMS = 10


def search_articles(queryset: QuerySet, query: str) -> QuerySet:
    """Articles of `queryset` that match `query`, best match first.

    `queryset` carries the caller's rules (the public site passes `published()`); an
    empty query matches nothing.
    """
    query = _bounded(query)
    if not query:
        return queryset.none()
    if connections[queryset.db].vendor == "postgresql":
        return _postgres_search(queryset, query)
    return _fallback_search(queryset, query)


def _bounded(query: str | None) -> str:
    """At most MAX_TERMS words and MAX_QUERY_LENGTH characters, cut between words."""
    query = " ".join((query or "").split()[:MAX_TERMS])
    if len(query) > MAX_QUERY_LENGTH:
        query = query[:MAX_QUERY_LENGTH].rsplit(" ", 1)[0]
    return query


def _postgres_search(queryset: QuerySet, query: str) -> QuerySet:
    # websearch syntax: words are ANDed, "quoted phrases" and -exclusions work, and
    # no user input can make it a syntax error.
    ts_query = SearchQuery(query, search_type="websearch", config=SEARCH_CONFIG)
    return (
        queryset.filter(search_vector=ts_query)
        .annotate(rank=SearchRank(F("search_vector"), ts_query))
        .order_by(F("rank").desc(), *ranking.LATEST_ORDER)
    )


_STEMMER = snowballstemmer.stemmer("english")


def _stem(term: str) -> str:
    """What the fallback looks for in the text for `term`: the part its English stem
    shares with it ("robots" -> "robot"), less a final "i" that stands for "y" or
    "ie" ("stories" and "story": "stor"), unless that leaves too little."""
    word = term.lower()
    stem = os.path.commonprefix([word, _STEMMER.stemWord(word)])
    if stem.endswith("i") and not word.endswith("i"):
        stem = stem[:-1]
    return stem if len(stem) >= 3 else term


def _fallback_search(queryset: QuerySet, query: str) -> QuerySet:
    # Words only, as suggest() reads them: "robot?" looks for "robot", "(" for nothing;
    # a single letter would be found inside nearly every text.
    terms = [_stem(term) for term in _WORD.findall(query) if len(term) > 1]
    if not terms:
        return queryset.none()
    condition = Q()
    for term in terms:
        condition &= Q(title__icontains=term) | Q(excerpt__icontains=term) | Q(body__icontains=term)
    return ranking.latest(queryset.filter(condition))


# -- What the search page shows --------------------------------------------------------

# How close a title's word must be to stand in for a word that finds nothing: pg_trgm's
# similarity (shared trigrams over all trigrams; "robto" and "robot" share a third),
# difflib's ratio on SQLite ("robto" and "robot": 0.8).
TRIGRAM_SIMILARITY = 0.3
CLOSE_RATIO = 0.75
# pg_trgm's word similarity a title needs to be read as a candidate (its default, 0.6,
# misses a swapped pair of letters in a short word).
CANDIDATE_WORD_SIMILARITY = 0.4
CANDIDATE_TITLES = 200
_WORD = re.compile(r"[^\W_]+")


@dataclass
class SearchResult:
    """What the search page shows for `query`: `stories` (a queryset to page through)
    and `count`; `suggestion` is the corrected query when `query` found nothing and
    these are the suggestion's stories ("" otherwise)."""

    query: str
    stories: QuerySet
    count: int
    suggestion: str = ""


def search(queryset: QuerySet, query: str) -> SearchResult:
    """The stories of `queryset` matching `query`, counted, or a suggestion's."""
    query = _bounded(query)
    stories = _stories(search_articles(queryset, query))
    count = stories.count() if query else 0
    if count:
        return SearchResult(query, stories, count)
    suggestion = suggest(queryset, query)
    if suggestion:
        stories = _stories(search_articles(queryset, suggestion))
        count = stories.count()
        if count:
            return SearchResult(query, stories, count, suggestion)
    return SearchResult(query, queryset.none(), 0)


def _stories(matches: QuerySet) -> QuerySet:
    """`matches`, a story once, like every list (public.one_per_story): its lead if the
    lead matches too, else its first matching member (the lead may not say the words)."""
    return one_per_story(matches, matches)


def suggest(queryset: QuerySet, query: str) -> str:
    """`query` with each word that finds nothing in `queryset` replaced by the closest
    word of its stories' titles; "" when no word changed."""
    words = _WORD.findall(_bounded(query))
    closest = _trigram_closest if connections[queryset.db].vendor == "postgresql" else _close
    corrected = []
    for word in words:
        found = search_articles(queryset, word).exists()
        corrected.append(word if found else (closest(queryset, word.lower()) or word))
    suggestion = " ".join(corrected)
    return suggestion if suggestion.lower() != " ".join(words).lower() else ""


def _trigram_closest(queryset: QuerySet, word: str) -> str | None:
    """The word of a title in `queryset` most similar to `word` by pg_trgm, if any is
    similar enough. The candidate titles come through the trigram index (`%>`)."""
    # The lookup itself: `title__trigram_word_similar` needs django.contrib.postgres installed.
    candidates = queryset.filter(TrigramWordSimilar(F("title"), Value(word))).order_by()
    query = candidates.values("title")[:CANDIDATE_TITLES].query
    sql, params = query.get_compiler(queryset.db).as_sql()
    with transaction.atomic(using=queryset.db), connections[queryset.db].cursor() as cursor:
        cursor.execute(
            "SELECT set_config('pg_trgm.word_similarity_threshold', %s, true)",
            [str(CANDIDATE_WORD_SIMILARITY)],
        )
        cursor.execute(
            "SELECT word FROM ("
            " SELECT DISTINCT lower(regexp_split_to_table(title, '[^[:alnum:]]+')) AS word"
            f" FROM ({sql}) candidates"
            ") words WHERE similarity(word, %s) >= %s"
            " ORDER BY similarity(word, %s) DESC, word LIMIT 1",
            [*params, word, TRIGRAM_SIMILARITY, word],
        )
        row = cursor.fetchone()
    return row[0] if row else None


def _close(queryset: QuerySet, word: str) -> str | None:
    """The word of a title in `queryset` closest to `word` by difflib, if close enough."""
    vocabulary = {
        found.lower()
        for title in queryset.order_by().values_list("title", flat=True).iterator()
        for found in _WORD.findall(title)
        if len(found) > 2
    }
    matches = difflib.get_close_matches(word, sorted(vocabulary), n=1, cutoff=CLOSE_RATIO)
    return matches[0] if matches else None
