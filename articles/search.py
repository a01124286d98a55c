"""Full-text search over articles: one function, two database engines.

On PostgreSQL, `Article.search_vector` holds a weighted tsvector (title A, excerpt B,
body C) that a database trigger keeps current on every insert and update, including
the importer's bulk writes (migration 0003). A GIN index makes the match fast and
SearchRank orders by relevance.

On SQLite there is no full-text index worth the setup, so the fallback is plain and
predictable: every word of the query must appear in the title, excerpt or body
(case-insensitive), newest first: `ranking.LATEST_ORDER`, which on PostgreSQL orders
the matches of equal rank.
"""

from django.contrib.postgres.search import SearchQuery, SearchRank
from django.db import connections
from django.db.models import F, Q, QuerySet

from . import ranking

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


def _fallback_search(queryset: QuerySet, query: str) -> QuerySet:
    terms = [term.strip('"') for term in query.split()]
    terms = [term for term in terms if term]
    if not terms:
        return queryset.none()
    condition = Q()
    for term in terms:
        condition &= Q(title__icontains=term) | Q(excerpt__icontains=term) | Q(body__icontains=term)
    return ranking.latest(queryset.filter(condition))
