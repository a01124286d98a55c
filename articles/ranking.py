"""How the public site orders stories: "Top" and "Latest", and the heat and score
behind "Top". docs/ranking.md says the same for people who do not read Python.

Heat
    How much a story is talked about. The upstream pipeline's rule, which gives the
    heat of every corpus file that has one (79 of 79): the quality, plus 10 for each
    coverage article (another outlet's article on the story, `related:` in the files)
    once the quality is 50 or more; below 50, the quality alone (`computed_heat`). An
    editor may pin a heat instead (`Article.heat_pin`). Without a quality or a pin the
    heat is unknown. The file's own heat is kept apart and verbatim
    (`Article.source_heat`, for the export); nothing here reads it.

    Coverage counts distinct coverage URLs, not the article's own. Distinct outlets
    would be closer to what coverage means, but upstream counts articles: two press
    releases on one wire site count twice, and counting outlets would miss the
    file's heat in 2 of the 79 files. So the heat (what the API and the admin show)
    keeps upstream's count, and the score counts outlets instead (below).

Score, formula version 2 (VERSION; the changelog is CHANGELOG, and docs/ranking.md)
    score = hours from EPOCH to the publication
            + WINDOW_HOURS x log10(1 + story heat)
            + the editor's boost or penalty, in hours
            + the modifiers of the article's topics, in hours

    The story heat is the heat with the coverage counted as the other outlets that
    tell the article's story (stories.distinct_outlets: every article of ours in the
    story and the coverage found to be about it, each outlet once, a syndicated copy
    of one text once), so a story reported by six outlets outranks one whose single
    file happens to list six links from one wire. An article whose mentions are not
    recorded yet (never grouped) counts its coverage URLs, as the heat does. A pinned
    heat is the story heat too.

    Every part is worth hours of freshness: a story ranks as if it had been published
    that much later. This is the shape of Reddit's and Lobsters' "hot" (log of the
    points plus the date over a window): anchored to dates, so a score depends on its
    inputs alone and never on the clock. It is computed when an input changes and
    stored in an indexed column (`Article.score`), and "Top" is an index scan; stories
    grow old because newer ones arrive with later times, not because anything is
    rewritten on a timer.

    WINDOW_HOURS = 48, tenfold heat worth two days, about 14.4 hours per doubling.
    Lobsters uses 22 hours and Reddit 12.5 for tenfold votes, but their votes span
    several powers of ten; our published heats span half of one (74 to 247 in the
    corpus, median 87). With 48 hours the corpus's hottest published story (247)
    stays ahead of a median one (87) published up to 21.6 hours after it: the day a
    big story stays big. A 22-hour window would give it 10 hours, and Top would
    barely differ from Latest. Five coverage articles on a quality-89 story are
    worth 9.2 hours.

    log10(1 + heat) rather than log10(heat): heat 0 is worth nothing, and any heat
    ranks above a lower one of the same moment.

    Boosts (Article.boost_hours, +6 for an exclusive, -12 for a paywall) and topic
    modifiers (Topic.rank_hours) are hours already, so an editor can say what they
    are worth without knowing the formula.

    An unknown heat has no score: such stories come after every scored one, newest
    first. Equal scores go newest first, then by id.

Recomputing
    `recompute(ids)` rereads the inputs of those articles and writes heat and score
    where they moved, in a fixed number of queries per ID_BATCH_SIZE articles. The
    write path calls it, in the writer's transaction, for every change to one of the
    inputs (receivers.recompute_ranking); `manage.py rerank` calls it for every
    article after a formula change.
"""

import datetime as dt
import math
from dataclasses import dataclass

from django.db import transaction
from django.db.models import Count, F, Q

from . import stories
from .ingest.bulk import update_rows
from .models import ID_BATCH_SIZE, Article, RelatedCoverage, TaggedTopic

VERSION = 2
# (version, date, what changed): shown on the public "How Top works" page; docs/ranking.md
# repeats it (a test holds them equal).
CHANGELOG = (
    (
        1,
        dt.date(2026, 12, 2),
        "Top mixes heat with age: a date-anchored score (48 hours per tenfold heat) "
        "replaces heat, then quality, then date. Heat is computed from quality and "
        "coverage unless an editor pins it; editors can add or take off hours.",
    ),
    (
        2,
        dt.date(2026, 12, 2),
        "Coverage in the score counts the outlets telling the whole story, each outlet "
        "and each syndicated copy once, instead of one file's coverage links. The heat "
        "shown keeps the upstream rule.",
    ),
)

EPOCH = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)
WINDOW_HOURS = 48
COVERAGE_POINTS = 10
COVERAGE_FROM_QUALITY = 50

TOP = "top"
LATEST = "latest"
# The source's own date, newest first; the id keeps equal dates in a stable order.
LATEST_ORDER = (F("published_at").desc(), F("id").desc())
ORDERINGS = {
    # Unknown scores last on every database (SQLite and PostgreSQL disagree about
    # where NULLs go unless told); the index matching it is in migration 0010.
    TOP: (F("score").desc(nulls_last=True), *LATEST_ORDER),
    LATEST: LATEST_ORDER,
}
VIEWS = ((TOP, "Top"), (LATEST, "Latest"))


def order(queryset, view=TOP):
    """`queryset` in the order of `view` ("top" or "latest")."""
    return queryset.order_by(*ORDERINGS[view])


def latest(queryset):
    """`queryset`, newest first."""
    return queryset.order_by(*LATEST_ORDER)


# -- the formula -----------------------------------------------------------------------


def computed_heat(quality, coverage):
    """The upstream pipeline's heat: quality, plus COVERAGE_POINTS per coverage article
    from quality COVERAGE_FROM_QUALITY on; None when the quality is unknown."""
    if quality is None:
        return None
    if quality >= COVERAGE_FROM_QUALITY:
        return quality + COVERAGE_POINTS * coverage
    return quality


def heat_hours(heat):
    """What a heat is worth, in hours of freshness."""
    return WINDOW_HOURS * math.log10(1 + heat)


def hours_since_epoch(moment):
    return (moment - EPOCH).total_seconds() / 3600


@dataclass(frozen=True)
class Inputs:
    """Everything one article's heat and score are computed from."""

    published_at: dt.datetime
    quality: int | None = None
    coverage: int = 0
    # Other outlets telling the story (stories.distinct_outlets minus the article's
    # own); None while the article is not grouped: the score then counts `coverage`.
    outlets: int | None = None
    heat_pin: int | None = None
    boost_hours: int = 0
    boost_reason: str = ""
    # (name, hours) of the article's topics that carry a modifier, in tagging order.
    topic_hours: tuple = ()


@dataclass(frozen=True)
class Worth:
    """One part of a score: what it is ("quality 89") and how many hours it adds."""

    what: str
    hours: float


@dataclass(frozen=True)
class Explanation:
    """An article's heat and score, and the parts the score adds up from."""

    inputs: Inputs
    heat: int | None
    computed_heat: int | None
    parts: tuple  # of Worth
    score: float | None

    @property
    def pinned(self):
        return self.inputs.heat_pin is not None

    @property
    def hours(self):
        """The hours all parts add to the publication time."""
        return math.fsum(part.hours for part in self.parts)

    @property
    def ranks_as_if_published(self):
        """The moment a story without heat, boost or topic modifier would need to have
        been published to rank level with this one; None when unranked."""
        if self.score is None:
            return None
        return self.inputs.published_at + dt.timedelta(hours=self.hours)


def explain(inputs: Inputs) -> Explanation:
    """The heat and score of `inputs`, part by part: the one place both are computed."""
    computed = computed_heat(inputs.quality, inputs.coverage)
    heat = computed if inputs.heat_pin is None else inputs.heat_pin
    if heat is None:
        return Explanation(inputs, None, computed, (), None)
    if inputs.heat_pin is not None:
        parts = [Worth(f"heat pinned at {heat}", heat_hours(heat))]
    else:
        parts = [Worth(f"quality {inputs.quality}", heat_hours(inputs.quality))]
        if inputs.outlets is None:
            others, noun = inputs.coverage, "coverage article"
        else:
            others, noun = inputs.outlets, "other outlet"
        if others:
            what = f"{others} {noun}{'' if others == 1 else 's'}"
            if inputs.quality < COVERAGE_FROM_QUALITY:
                what += f" (counted from quality {COVERAGE_FROM_QUALITY})"
            story_heat = computed_heat(inputs.quality, others)
            parts.append(Worth(what, heat_hours(story_heat) - heat_hours(inputs.quality)))
    if inputs.boost_hours:
        what = "editor boost" if inputs.boost_hours > 0 else "editor penalty"
        if inputs.boost_reason:
            what += f" ({inputs.boost_reason})"
        parts.append(Worth(what, float(inputs.boost_hours)))
    parts += [Worth(f"topic {name}", float(hours)) for name, hours in inputs.topic_hours]
    score = hours_since_epoch(inputs.published_at) + math.fsum(part.hours for part in parts)
    return Explanation(inputs, heat, computed, tuple(parts), score)


# -- reading and writing ---------------------------------------------------------------

# The article columns the inputs are read from (and heat and score, to compare).
INPUT_COLUMNS = ("published_at", "quality", "heat_pin", "boost_hours", "boost_reason")


def inputs_for(articles):
    """{article id: Inputs} of `articles` (instances with INPUT_COLUMNS loaded; at most
    ID_BATCH_SIZE of them): two queries, for the coverage and the topic modifiers, and
    those of stories.distinct_outlets (one to three)."""
    ids = [article.pk for article in articles]
    coverage = dict(
        RelatedCoverage.objects.filter(article_id__in=ids)
        .exclude(url=F("article__web_url"))
        .order_by()
        .values("article_id")
        .annotate(count=Count("url", distinct=True))
        .values_list("article_id", "count")
    )
    modifiers = {}
    rows = (
        TaggedTopic.objects.filter(content_object_id__in=ids)
        .exclude(tag__rank_hours=0)
        .order_by("id")
        .values_list("content_object_id", "tag__name", "tag__rank_hours")
    )
    for article_id, name, hours in rows:
        modifiers.setdefault(article_id, []).append((name, hours))
    outlets = stories.distinct_outlets(ids)
    return {
        article.pk: Inputs(
            published_at=article.published_at,
            quality=article.quality,
            coverage=coverage.get(article.pk, 0),
            outlets=outlets[article.pk] - 1 if article.pk in outlets else None,
            heat_pin=article.heat_pin,
            boost_hours=article.boost_hours,
            boost_reason=article.boost_reason,
            topic_hours=tuple(modifiers.get(article.pk, ())),
        )
        for article in articles
    }


def recompute(article_ids, *, dry_run=False) -> int:
    """Recompute the heat and score of the articles `article_ids`; returns how many
    moved (heat or score differs from the stored one), which are written unless
    `dry_run`.

    In slices of ID_BATCH_SIZE, each read under the articles' row lock (as every
    write that depends on what it read) and written in its own transaction, or in
    the caller's: three reads and a bulk update per slice, whatever moved.
    """
    ids = sorted(set(article_ids))
    moved = 0
    for start in range(0, len(ids), ID_BATCH_SIZE):
        with transaction.atomic():
            articles = list(
                Article.objects.filter(pk__in=ids[start : start + ID_BATCH_SIZE])
                .locked()
                .only(*INPUT_COLUMNS, "heat", "score")
            )
            inputs = inputs_for(articles)
            changed = []
            for article in articles:
                result = explain(inputs[article.pk])
                if (article.heat, article.score) != (result.heat, result.score):
                    article.heat, article.score = result.heat, result.score
                    changed.append(article)
            if not dry_run:
                update_rows(Article, {a.pk: {"heat": a.heat, "score": a.score} for a in changed})
            moved += len(changed)
    # The page cache is the caller's: the write path forgets the changed articles' pages
    # after commit, a topic's save forgets them too, and `rerank` does it itself.
    return moved


# -- places in Top -----------------------------------------------------------------------


def ahead_of(score, published_at, pk):
    """The condition on articles that "Top" puts before one with this score, date and id."""
    if score is None:
        newer = Q(published_at__gt=published_at) | Q(published_at=published_at, pk__gt=pk)
        return Q(score__isnull=False) | (Q(score__isnull=True) & newer)
    return (
        Q(score__gt=score)
        | Q(score=score, published_at__gt=published_at)
        | Q(score=score, published_at=published_at, pk__gt=pk)
    )


def place(stories, score, published_at, pk) -> int:
    """Where a story with this score, date and id stands (1 = first) among `stories`
    (a queryset), whether or not it is one of them: one COUNT query."""
    return stories.filter(ahead_of(score, published_at, pk)).count() + 1


def sort_key(score, published_at, pk):
    """The "Top" order as a Python key (larger first), for rows already read."""
    return (score is not None, score or 0.0, published_at, pk)
