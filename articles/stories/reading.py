"""What other parts ask of stories: URL keys, outlets, the JSON listing, a rebuild.

- `articles_by_url_keys(urls)`: which existing article each URL names, through the
  URL keys (the importer asks before it decides between create and update).
- `link_coverage(article_ids)`: coverage entries that are articles of ours point at
  them (`linked_article`), and the two become related stories, through the keys.
- `distinct_outlets(article_ids)`: how many outlets tell each article's story, a
  syndicated copy counted once (for the ranking's coverage component).
- `story_json()`: every story of two articles or more, for `manage.py stories --json`.
- `rebuild()`: the grouping redone from scratch, editors' decisions kept.
"""

from __future__ import annotations

from collections import defaultdict

from django.db import transaction

from ..ingest.bulk import update_rows
from ..models import ID_BATCH_SIZE, Article, RelatedCoverage, Story, StoryMention, StoryProposal
from ..urlkeys import url_key
from . import text
from .grouping import assign_stories, refresh_stories

Kind = StoryMention.Kind
ARTICLE_KINDS = (Kind.ARTICLE, Kind.ALIAS)


def _chunks(values):
    values = list(values)
    return [values[i : i + ID_BATCH_SIZE] for i in range(0, len(values), ID_BATCH_SIZE)]


def articles_by_url_keys(urls) -> dict[str, int]:
    """{url: id of the article known by that URL's key} for the URLs that name one
    (any of its web, original or AMP URLs); the oldest article wins a tie."""
    keys = {url: url_key(url) for url in urls}  # once each: the import's hot path
    by_key = _articles_by_keys(set(keys.values()) - {""})
    return {url: by_key[key] for url, key in keys.items() if key in by_key}


def _articles_by_keys(keys) -> dict[str, int]:
    found = {}
    for chunk in _chunks(sorted(keys)):
        for key, article_id in (
            StoryMention.objects.filter(key__in=chunk, kind__in=ARTICLE_KINDS)
            .order_by("article_id")
            .values_list("key", "article_id")
        ):
            found.setdefault(key, article_id)
    return found


def link_coverage(article_ids) -> int:
    """Point the coverage of `article_ids`, and older coverage naming them, at the
    articles of ours their URL keys name; link each such pair as related stories.
    Returns how many coverage entries it pointed. Needs the mentions recorded
    (`assign_stories`)."""
    ids = set(article_ids)
    if not ids:
        return 0
    pairs = {}  # coverage id -> article id it names
    for chunk in _chunks(sorted(ids)):
        own = StoryMention.objects.filter(article_id__in=chunk, kind=Kind.COVERAGE).values_list(
            "coverage_id", "key", "article_id"
        )
        own = list(own)
        targets = _articles_by_keys({key for _, key, _ in own})
        for coverage_id, key, owner in own:
            target = targets.get(key)
            if target is not None and target != owner:
                pairs[coverage_id] = (owner, target)
        their_keys = StoryMention.objects.filter(article_id__in=chunk, kind__in=ARTICLE_KINDS)
        keys = dict(their_keys.values_list("key", "article_id"))
        for coverage_id, key, owner in StoryMention.objects.filter(
            key__in=list(keys), kind=Kind.COVERAGE
        ).values_list("coverage_id", "key", "article_id"):
            if keys[key] != owner:
                pairs.setdefault(coverage_id, (owner, keys[key]))
    if not pairs:
        return 0
    linked = RelatedCoverage.objects.filter(pk__in=list(pairs)).values_list("id", "linked_article")
    changed = {
        pk: {"linked_article": pairs[pk][1]}
        for pk, linked_article in linked
        if linked_article != pairs[pk][1]
    }
    update_rows(RelatedCoverage, changed)
    through = Article.related_stories.through
    links = {(a, b) for a, b in pairs.values()} | {(b, a) for a, b in pairs.values()}
    through.objects.bulk_create(
        [through(from_article_id=a, to_article_id=b) for a, b in links],
        ignore_conflicts=True,
        batch_size=1000,
    )
    return len(changed)


def distinct_outlets(article_ids) -> dict[int, int]:
    """{article id: how many outlets tell its story}: the story's articles and the
    coverage entries found to be about it, each outlet once and a syndicated copy
    (the same headline under another outlet's name) once. An article in no story
    counts itself and its own coverage list. At least 1. Articles whose mentions are
    not recorded (never grouped) are left out."""
    ids = sorted(set(article_ids))
    story_of = {}
    for chunk in _chunks(ids):
        story_of.update(
            StoryMention.objects.filter(article_id__in=chunk, kind=Kind.ARTICLE).values_list(
                "article_id", "story_id"
            )
        )
    story_ids = sorted({s for s in story_of.values() if s is not None})
    loners = [pk for pk in ids if pk in story_of and story_of[pk] is None]
    by_story, by_article = defaultdict(list), defaultdict(list)
    for chunk in _chunks(story_ids):
        for story_id, outlet, features in (
            StoryMention.objects.filter(story_id__in=chunk)
            .exclude(kind=Kind.ALIAS)
            .values_list("story_id", "outlet", "features")
        ):
            by_story[story_id].append((outlet, features))
    for chunk in _chunks(loners):
        for article_id, outlet, features in (
            StoryMention.objects.filter(article_id__in=chunk)
            .exclude(kind=Kind.ALIAS)
            .values_list("article_id", "outlet", "features")
        ):
            by_article[article_id].append((outlet, features))
    counts = {}
    for pk in ids:
        if pk not in story_of:
            continue
        story_id = story_of.get(pk)
        mentions = by_story[story_id] if story_id is not None else by_article[pk]
        counts[pk] = max(1, independent_outlets(mentions))
    return counts


def story_mates(article_ids) -> set[int]:
    """`article_ids` and every article in a story with one of them: whose outlet count
    (distinct_outlets) may move when they join or leave it. One query per chunk."""
    ids = set(article_ids)
    for chunk in _chunks(sorted(ids)):
        stories = StoryMention.objects.filter(
            article_id__in=chunk, kind=Kind.ARTICLE, story__isnull=False
        ).values("story_id")
        ids.update(
            StoryMention.objects.filter(story_id__in=stories, kind=Kind.ARTICLE).values_list(
                "article_id", flat=True
            )
        )
    return ids


def independent_outlets(mentions) -> int:
    """How many groups (outlet, features) mentions make when one outlet, or copies of
    one text, count once (union-find over the pairs)."""
    parent = list(range(len(mentions)))

    def root(i):
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    decoded = [text.decode(features) for _, features in mentions]
    first_of_outlet = {}
    for i, (outlet, _) in enumerate(mentions):
        if outlet in first_of_outlet:
            parent[root(i)] = root(first_of_outlet[outlet])
        else:
            first_of_outlet[outlet] = i
    for i in range(len(mentions)):
        for j in range(i + 1, len(mentions)):
            if root(i) != root(j) and text.copies(decoded[i], decoded[j]):
                parent[root(j)] = root(i)
    return len({root(i) for i in range(len(mentions))})


def story_json(minimum_articles=2):
    """Every story with at least `minimum_articles` member articles, oldest first:
    {"id", "lead", "articles": [web_url, ...], "coverage": [url, ...], "signals"}."""
    stories = []
    rows = defaultdict(list)
    for story_id, kind, article_id, coverage_id, score, signals in (
        StoryMention.objects.filter(story__isnull=False)
        .exclude(kind=Kind.ALIAS)
        .order_by("story_id", "published_at", "id")
        .values_list("story_id", "kind", "article_id", "coverage_id", "score", "signals")
    ):
        rows[story_id].append((kind, article_id, coverage_id, score, signals))
    article_urls = dict(Article.objects.values_list("id", "web_url"))
    coverage_urls = dict(
        RelatedCoverage.objects.filter(
            pk__in=[r[2] for mentions in rows.values() for r in mentions if r[2]]
        ).values_list("id", "url")
    )
    leads = dict(Story.objects.values_list("id", "lead_id"))
    for story_id in sorted(rows):
        mentions = rows[story_id]
        articles = [r for r in mentions if r[0] == Kind.ARTICLE]
        if len(articles) < minimum_articles:
            continue
        coverage = []
        for _, _, coverage_id, _, _ in (r for r in mentions if r[0] == Kind.COVERAGE):
            url = coverage_urls.get(coverage_id)
            if url and url not in coverage:
                coverage.append(url)
        stories.append(
            {
                "id": story_id,
                "lead": article_urls.get(leads.get(story_id)),
                "articles": [article_urls[r[1]] for r in articles if r[1] in article_urls],
                "coverage": coverage,
                "signals": {
                    article_urls.get(r[1], str(r[1])): {"score": r[3], **(r[4] or {})}
                    for r in articles
                    if r[3] is not None
                },
            }
        )
    return stories


def rebuild(*, batch_size=250, progress=None) -> dict:
    """Redo the grouping of every article, oldest first, as successive imports would:
    open proposals and automatic placements are recomputed with the current rules (an
    article stays in its story only while it still matches it); pinned members,
    chosen leads, apart pairs and decided proposals (the editors' decisions) stay."""
    StoryProposal.objects.filter(status=StoryProposal.Status.OPEN).delete()
    ids = list(Article.objects.order_by("published_at", "id").values_list("id", flat=True))
    totals = {"articles": len(ids), "joined": 0, "stories": 0, "proposals": 0}
    for start in range(0, len(ids), batch_size):
        counts = assign_stories(ids[start : start + batch_size])
        for name in ("joined", "stories", "proposals"):
            totals[name] += counts[name]
        if progress:
            progress(min(start + batch_size, len(ids)), len(ids))
    with transaction.atomic():
        refresh_stories(Story.objects.values_list("pk", flat=True))
    return totals
