"""Story grouping at import time: mentions, candidate search, placing, proposals.

`assign_stories(article_ids)` is called once per import batch, after the batch's
articles and coverage are written, in the batch's transaction. It

1. rewrites the mentions of those articles (`StoryMention`: the article itself, its
   other URL keys, each coverage entry), with their URL keys and text features;
2. fetches the mentions of the time window around the batch (`WINDOW` days each way:
   one indexed range read, "token blocking by time window") and the mentions that
   share a URL key with the batch (another index);
3. blocks candidates in memory: two mentions are compared only when they share a
   rare word of their headlines or names (a word in more than `BLOCK_SHARE` of the
   window is no block key), or a URL key, or one lists the other - never all pairs;
4. places each new mention, articles first and oldest first: it joins the story of
   its best match when the score reaches `JOIN` (or founds one with an unplaced
   match), unless an editor said the two articles are apart; between `PROPOSE` and
   `JOIN` the match becomes a proposal for editors;
5. writes it all back, and recomputes first/last seen and the lead of the stories it
   touched.

Editors' decisions are constraints here: a mention an editor placed (`pinned`) never
moves, two articles an editor set apart (`StoryApart`) are never put together or
proposed again, a lead an editor chose stays.

Queries: a fixed number per call (about twenty), whatever the number of articles
(tests/test_stories.py holds it).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from dataclasses import dataclass, field

from django.db import transaction
from django.db.models.functions import Length

from ..ingest.bulk import insert_rows, update_rows
from ..models import (
    ID_BATCH_SIZE,
    Article,
    RelatedCoverage,
    Story,
    StoryApart,
    StoryMention,
    StoryProposal,
)
from ..site.caching import invalidate_public_pages
from ..urlkeys import url_key
from . import text

# How far apart (published dates) two mentions may be and still be compared: an
# article with anything; two coverage entries (five times as many) less far.
WINDOW = dt.timedelta(days=14)
COVERAGE_WINDOW = dt.timedelta(days=7)
JOIN = 0.42  # from this score a mention joins its match's story
PROPOSE = 0.33  # from this score (below JOIN) editors are asked
MERGE = 0.7  # a mention this close to two stories makes them one
# A word found in more than this share of the window's mentions is no block key.
BLOCK_SHARE = 0.01
BLOCK_MIN = 40  # ... but any word in fewer mentions than this is one
# At most this many proposals are kept for one article.
PROPOSALS_PER_ARTICLE = 3

Kind = StoryMention.Kind


@dataclass(eq=False)
class _Story:
    """A story while a batch is placed: an existing row (`pk`) or one to create."""

    pk: int | None = None
    members: set = field(default_factory=set)  # article ids
    mentions: list = field(default_factory=list)  # of this batch's pool
    into: _Story | None = None  # merged into that one


@dataclass(eq=False)
class _Mention:
    kind: str
    article_id: int
    key: str
    outlet: str
    published_at: dt.datetime | None
    features: text.Features
    coverage_id: int | None = None
    pk: int | None = None  # None: written by this call
    story: _Story | None = None
    pinned: bool = False
    is_lead: bool = False
    score: float | None = None
    signals: dict = field(default_factory=dict)
    previous: int | None = None  # the story a re-imported article was in
    placed: bool = False
    moved: bool = False  # an existing (window) mention whose story this call changed


def assign_stories(article_ids) -> dict:
    """Record the mentions of `article_ids` and place them in stories (see the module
    docstring); returns counts: {"mentions", "joined", "stories", "proposals"}."""
    ids = sorted(set(article_ids))
    if not ids:
        return {"mentions": 0, "joined": 0, "stories": 0, "proposals": 0}
    try:
        with transaction.atomic():
            return _Batch(ids).run()
    finally:
        _KNOWN_KEYS.clear()
        _KNOWN_FEATURES.clear()


class _Batch:
    def __init__(self, ids):
        self.ids = ids
        self.id_set = set(ids)
        self.stories: dict[int, _Story] = {}
        self.touched_story_pks: set[int] = set()
        self.proposals: list[StoryProposal] = []
        self.merged: dict[int, _Story] = {}  # story pk -> the story it went into
        self.scores: dict[tuple, text.Match] = {}
        self.joined = 0

    # -- 1. the batch's own mentions ------------------------------------------------

    def run(self) -> dict:
        fresh = self._fresh_mentions()
        window = self._window(fresh)
        pool = fresh + window
        self.scorer = text.Scorer(m.features for m in pool if m.kind != Kind.ALIAS)
        in_sight = {m.article_id for m in pool}
        for story in self.stories.values():
            in_sight |= story.members
        self._apart = self._apart_pairs(in_sight)
        self.open_the_other_way = set(
            StoryProposal.objects.filter(
                match_id__in=self.ids, status=StoryProposal.Status.OPEN
            ).values_list("article_id", "match_id")
        )
        self._index(pool)
        articles = sorted(
            (m for m in fresh if m.kind == Kind.ARTICLE),
            key=lambda m: (m.published_at, m.article_id),
        )
        coverage = sorted(
            (m for m in fresh if m.kind == Kind.COVERAGE),
            key=lambda m: (m.published_at or dt.datetime.max.replace(tzinfo=dt.UTC), m.article_id),
        )
        for mention in articles:
            if not mention.pinned:
                self._place(mention)
            elif mention.story is not None:
                self._pull(mention)
        for mention in coverage:
            if not mention.placed:
                self._place(mention)
        created = self._write(fresh, window)
        return {
            "mentions": len(fresh),
            "joined": self.joined,
            "stories": created,
            "proposals": len(self.proposals),
        }

    def _fresh_mentions(self) -> list[_Mention]:
        """The mentions of the batch's articles, computed from their rows now; an
        article's own row keeps its story, pin and lead flag from before."""
        previous = {
            article_id: (story_id, pinned, is_lead)
            for article_id, story_id, pinned, is_lead in StoryMention.objects.filter(
                article_id__in=self.ids, kind=Kind.ARTICLE
            ).values_list("article_id", "story_id", "pinned", "is_lead")
        }
        self.previous_story_pks = {s for s, _, _ in previous.values() if s is not None}
        mentions = []
        rows = Article.objects.filter(pk__in=self.ids).values_list(
            "id", "title", "excerpt", "published_at", "web_url", "original_url",
            "amp_web_url", "cdn_amp_web_url", "provider__domain",
        )  # fmt: skip
        self.listed: dict[int, set[str]] = defaultdict(set)  # article id -> keys it lists
        keys = _KeyCache()
        url_key, url_keys = keys.key, keys.keys
        for pk, title, excerpt, published_at, web, original, amp, cdn_amp, domain in rows:
            key = url_key(web)
            story_id, pinned, is_lead = previous.get(pk, (None, False, False))
            own = _Mention(
                Kind.ARTICLE, pk, key, outlet(domain, web), published_at,
                _features(title, excerpt), pinned=pinned,
            )  # fmt: skip
            if pinned and story_id is not None:
                own.story = self._story(story_id)
                own.is_lead = is_lead
            elif story_id is not None:
                own.previous = story_id
                self._story(story_id)
            mentions.append(own)
            for alias in sorted(url_keys(original, amp, cdn_amp) - {key}):
                mentions.append(
                    _Mention(Kind.ALIAS, pk, alias, own.outlet, None, text.EMPTY, placed=True)
                )
        for (
            cid,
            article_id,
            title,
            excerpt,
            published_at,
            url,
            domain,
        ) in RelatedCoverage.objects.filter(article_id__in=self.ids).values_list(
            "id", "article_id", "title", "excerpt", "published_at", "url", "provider_domain"
        ):
            key = url_key(url)
            if not key:
                continue
            self.listed[article_id].add(key)
            mentions.append(
                _Mention(
                    Kind.COVERAGE, article_id, key, outlet(domain, url), published_at,
                    _features(title, excerpt), coverage_id=cid,
                )
            )  # fmt: skip
        return mentions

    # -- 2. what the batch is compared with --------------------------------------------

    def _window(self, fresh) -> list[_Mention]:
        """The mentions the batch is compared with: those of the time window, and those
        that share a URL key with the batch. What never changes in a mention row (its
        URL key, date, words) is read once per process (`_SEEN`); its story every time."""
        dates = [m.published_at for m in fresh if m.published_at is not None]
        queries = []
        if dates:
            for kind, window in ((Kind.ARTICLE, WINDOW), (Kind.COVERAGE, COVERAGE_WINDOW)):
                queries.append(published_between(kind, min(dates) - window, max(dates) + window))
        keys = sorted({m.key for m in fresh})
        for start in range(0, len(keys), ID_BATCH_SIZE):
            queries.append(StoryMention.objects.filter(key__in=keys[start : start + ID_BATCH_SIZE]))
        state, known = {}, {}
        for query in queries:
            for pk, article_id, story_id, pinned, is_lead, key, size in query.annotate(
                size=Length("features")
            ).values_list("id", "article_id", "story_id", "pinned", "is_lead", "key", "size"):
                if article_id not in self.id_set:
                    state[pk] = (story_id, pinned, is_lead)
                    known[pk] = (key, size)
        # (A rolled-back transaction can give an id out again: the key and the size of
        # the words tell a cached row from a new one.)
        for pk in [pk for pk in _SEEN if pk not in state]:
            del _SEEN[pk]  # out of the window now: memory stays that of one window
        missing = sorted(pk for pk in state if _SEEN.get(pk, (None,))[0] != known[pk])
        for start in range(0, len(missing), ID_BATCH_SIZE):
            for pk, kind, article_id, coverage_id, key, outlet, published_at, feats in (
                StoryMention.objects.filter(
                    pk__in=missing[start : start + ID_BATCH_SIZE]
                ).values_list(
                    "id",
                    "kind",
                    "article_id",
                    "coverage_id",
                    "key",
                    "outlet",
                    "published_at",
                    "features",
                )  # fmt: skip
            ):
                row = (kind, article_id, coverage_id, key, outlet, published_at, text.decode(feats))
                _SEEN[pk] = ((key, len(feats)), row)
        found: dict[int, _Mention] = {}
        for pk, (story_id, pinned, is_lead) in state.items():
            kind, article_id, coverage_id, key, outlet, published_at, feats = _SEEN[pk][1]
            mention = _Mention(
                kind, article_id, key, outlet, published_at, feats, coverage_id=coverage_id,
                pk=pk, pinned=pinned, is_lead=is_lead, placed=True,
            )  # fmt: skip
            if story_id is not None:
                mention.story = self._story(story_id)
            found[pk] = mention
        window = list(found.values())
        # The member articles of every story in sight (some lie outside the window).
        story_pks = sorted(self.stories)
        for start in range(0, len(story_pks), ID_BATCH_SIZE):
            for story_id, article_id in StoryMention.objects.filter(
                story_id__in=story_pks[start : start + ID_BATCH_SIZE], kind=Kind.ARTICLE
            ).values_list("story_id", "article_id"):
                if article_id not in self.id_set:
                    self.stories[story_id].members.add(article_id)
        for mention in window:
            if mention.story is not None:
                mention.story.mentions.append(mention)
            if mention.kind == Kind.COVERAGE:
                self.listed[mention.article_id].add(mention.key)
        return window

    def _story(self, pk) -> _Story:
        story = self.stories.get(pk)
        if story is None:
            story = self.stories[pk] = _Story(pk)
        return story

    def _apart_pairs(self, article_ids) -> set[tuple[int, int]]:
        """The (lower id, higher id) pairs editors set apart among `article_ids` (the
        pool's articles and their stories' members): one query over the ids' range,
        kept if both ends are among them (editors set few pairs apart; IN lists of the
        window's thousands of ids cost more than all the rest of this step)."""
        if not article_ids:
            return set()
        low, high = min(article_ids), max(article_ids)
        return {
            pair
            for pair in StoryApart.objects.filter(
                article_id__gte=low, article_id__lte=high, other_id__gte=low, other_id__lte=high
            ).values_list("article_id", "other_id")
            if pair[0] in article_ids and pair[1] in article_ids
        }

    # -- 3. blocking ----------------------------------------------------------------------

    def _index(self, pool):
        """Inverted indexes of the pool: block word -> mentions, URL key -> mentions."""
        comparable = [m for m in pool if m.kind != Kind.ALIAS]
        frequency = Counter()
        for mention in comparable:
            frequency.update(mention.features.blocks)
        self.block_frequency = frequency
        limit = max(BLOCK_MIN, BLOCK_SHARE * len(comparable))
        self.by_word = defaultdict(list)
        for mention in comparable:
            for word in mention.features.blocks:
                if frequency[word] <= limit:
                    self.by_word[word].append(mention)
        self.by_key = defaultdict(list)
        for mention in pool:
            self.by_key[mention.key].append(mention)
        self.article_mention = {m.article_id: m for m in pool if m.kind == Kind.ARTICLE}
        self.own_coverage = defaultdict(list)
        for mention in comparable:
            if mention.kind == Kind.COVERAGE:
                self.own_coverage[mention.article_id].append(mention)

    def _candidates(self, mention):
        """Mentions worth scoring against `mention`: (other, listed) pairs.

        Those sharing two block words, or one found in at most three mentions; and
        the ones the upstream put with it (`listed`): an article's own coverage
        entries and a coverage entry's article, and an article another one lists.
        """
        counts: dict[int, list] = {}
        for word in mention.features.blocks:
            for other in self.by_word.get(word, ()):
                entry = counts.get(id(other))
                if entry is None:
                    counts[id(other)] = [other, 1, word]
                else:
                    entry[1] += 1
        found = {}
        for other, count, word in counts.values():
            if other is mention or not _close(mention, other):
                continue
            if count >= 2 or self.block_frequency[word] <= 3:
                found[id(other)] = (other, False)
        related = []
        if mention.kind == Kind.ARTICLE:
            related += self.own_coverage.get(mention.article_id, ())
            for key in self.listed.get(mention.article_id, ()):
                related += [m for m in self.by_key.get(key, ()) if m.kind == Kind.ARTICLE]
            related += [
                self.article_mention[m.article_id]
                for m in self.by_key.get(mention.key, ())
                if m.kind == Kind.COVERAGE and m.article_id in self.article_mention
            ]
        elif mention.article_id in self.article_mention:
            related.append(self.article_mention[mention.article_id])
        for other in related:
            if (
                other is not mention
                and other.article_id != mention.article_id
                or (other.kind != mention.kind)
            ):
                found[id(other)] = (other, True)
        return list(found.values())

    # -- 4. placing ------------------------------------------------------------------------

    def _place(self, mention: _Mention):
        mention.placed = True
        same_url = [
            m for m in self.by_key.get(mention.key, ()) if m is not mention and m.kind != Kind.ALIAS
        ]
        # A coverage entry that is one of our articles (or another copy of one already
        # placed) goes where that one is: the same URL is the same article.
        for other in same_url:
            if other.story is not None and mention.kind == Kind.COVERAGE:
                self._join(mention, other.story, 1.0, {"same_url": True})
                return
        scored = []
        for other, listed in self._candidates(mention):
            match = self.scorer.score(mention.features, other.features, listed=listed, keep=PROPOSE)
            if match.score >= PROPOSE:
                scored.append((match.score, other, match))
        for other in same_url:
            scored.append((1.0, other, text.Match(1.0, {"same_url": True})))
        scored.sort(key=lambda item: -item[0])
        target, best, story = None, None, None
        for score, other, match in scored:
            if score < JOIN:
                break
            if not self._allowed(mention, other):
                continue
            if target is None:
                target, best = other, match
            if mention.previous is not None and mention.previous in (
                other.previous,
                other.story.pk if other.story is not None else None,
            ):
                # Still matched by its story: a re-imported article stays where it was,
                # so the story keeps its number, its lead and its editors' choices.
                target, best, story = other, match, self._story(mention.previous)
                break
        if target is not None:
            story = story or target.story
            if story is None:
                story = _Story()
                self._join(target, story, best.score, best.signals)
            self._join(mention, story, best.score, best.signals)
            # Unplaced strong matches come along (an older article nobody matched yet,
            # the coverage entries that tell the same story).
            for score, other, match in scored:
                if score < JOIN:
                    break
                if not self._allowed(mention, other):
                    continue
                if other.story is None and not other.pinned:
                    self._join(other, story, score, match.signals)
                elif other.story is not None and score >= MERGE:
                    self._merge(story, other.story)
        if mention.kind == Kind.ARTICLE:
            self._propose(mention, scored)

    def _score(self, one: _Mention, other: _Mention, listed: bool) -> text.Match:
        """The Match of two mentions, computed once per pair and batch."""
        pair = (id(one), id(other)) if id(one) < id(other) else (id(other), id(one))
        match = self.scores.get(pair)
        if match is None:
            match = self.scores[pair] = self.scorer.score(
                one.features, other.features, listed=listed, keep=PROPOSE
            )
        return match

    def _pull(self, mention: _Mention):
        """A pinned article keeps its story; its own coverage may still join it."""
        for other, listed in self._candidates(mention):
            if other.story is None and not other.pinned and other.kind == Kind.COVERAGE:
                match = self._score(mention, other, listed)
                if match.score >= JOIN:
                    self._join(other, mention.story, match.score, match.signals)

    def _allowed(self, mention: _Mention, other: _Mention) -> bool:
        """Whether `mention` may go into `other`'s story (or found one with it)."""
        if other.pinned and other.story is None:
            return False
        if mention.kind != Kind.ARTICLE:
            return True
        members = set(other.story.members) if other.story is not None else set()
        if other.kind == Kind.ARTICLE:
            members.add(other.article_id)
        a = mention.article_id
        return not any((min(a, b), max(a, b)) in self._apart for b in members if b != a)

    def _join(self, mention: _Mention, story: _Story, score, signals):
        """Put `mention` in `story`; its twins (the same URL elsewhere) come along,
        and a story holding one of them is merged in: one article is one story."""
        if mention.story is story:
            return
        if mention.story is not None and mention.story.pk is not None:
            self.touched_story_pks.add(mention.story.pk)
        if story.pk is not None:
            self.touched_story_pks.add(story.pk)
        if mention.story is not None:
            mention.story.mentions.remove(mention)
        mention.story = story
        mention.score = score
        mention.signals = signals
        mention.placed = True
        mention.moved = mention.pk is not None
        story.mentions.append(mention)
        if mention.kind == Kind.ARTICLE:
            story.members.add(mention.article_id)
            self.joined += 1
        for twin in self.by_key.get(mention.key, ()):
            if twin is mention or twin.kind == Kind.ALIAS or twin.story is story:
                continue
            if twin.story is None and not twin.pinned:
                self._join(twin, story, 1.0, {"same_url": True})
            elif twin.story is not None:
                self._merge(story, twin.story)

    def _merge(self, story: _Story, other: _Story):
        """Move `other`'s mentions into `story`, unless an editor's decision says no
        (a pinned member, two members set apart)."""
        if other is story or any(m.pinned for m in other.mentions):
            return
        if any(
            (min(a, b), max(a, b)) in self._apart
            for a in story.members
            for b in other.members
            if a != b
        ):
            return
        for mention in list(other.mentions):
            self._join(mention, story, mention.score, mention.signals)
        story.members |= other.members
        if other.pk is not None:
            self.merged[other.pk] = story
        other.into = story
        other.mentions.clear()

    def _propose(self, mention: _Mention, scored):
        """Borderline matches with articles of other stories become proposals."""
        seen = set()
        for score, other, match in scored:
            if len(seen) >= PROPOSALS_PER_ARTICLE:
                break
            if mention.story is not None and other.story is mention.story:
                continue
            if score >= JOIN and other.story is None:
                continue  # it was allowed to come along, or an editor said no
            group = other.story or other
            if id(group) in seen or not other.placed:
                continue  # (an unplaced one proposes itself when its turn comes)
            candidates = [other] if other.kind == Kind.ARTICLE else []
            if other.story is not None:
                candidates += [m for m in other.story.mentions if m.kind == Kind.ARTICLE]
            target = next((m for m in candidates if m.article_id != mention.article_id), None)
            if target is None or not self._allowed(mention, target):
                continue
            if (target.article_id, mention.article_id) in self.open_the_other_way:
                continue
            seen.add(id(group))
            self.proposals.append(
                StoryProposal(
                    article_id=mention.article_id,
                    match_id=target.article_id,
                    score=score,
                    signals=match.signals,
                )
            )

    # -- 5. writing ----------------------------------------------------------------------------

    def _write(self, fresh, window) -> int:
        new_stories = {
            id(m.story): m.story
            for m in [*fresh, *window]
            if m.story is not None and m.story.pk is None
        }
        if new_stories:
            rows = Story.objects.bulk_create([Story() for _ in new_stories])
            for story, row in zip(new_stories.values(), rows, strict=True):
                story.pk = row.pk
                self.touched_story_pks.add(row.pk)
        for pk, story in self.merged.items():
            while story.into is not None:
                story = story.into
            StoryMention.objects.filter(story_id=pk).update(story_id=story.pk)
        StoryMention.objects.filter(article_id__in=self.ids).delete()
        _insert_mentions(fresh)
        update_rows(
            StoryMention,
            {
                m.pk: {"story": m.story.pk, "score": m.score, "signals": m.signals}
                for m in window
                if m.moved
            },
        )
        StoryProposal.objects.filter(
            article_id__in=self.ids, status=StoryProposal.Status.OPEN
        ).delete()
        StoryProposal.objects.bulk_create(self.proposals, ignore_conflicts=True)
        refresh_stories(self.touched_story_pks | self.previous_story_pks)
        transaction.on_commit(invalidate_public_pages)  # once committed: see caching
        return len(new_stories)


# The unchanging part of the window's mention rows, by id (rows are never updated in
# those columns: a rewritten mention is a new row), kept for the next batch.
_SEEN: dict = {}

# What the parse workers computed for the batch being written (see `describe`):
# {url: key} and {(title, excerpt): Features}; used, then forgotten, by the batch.
_KNOWN_KEYS: dict = {}
_KNOWN_FEATURES: dict = {}


def describe(item):
    """The URL keys and text features of a parsed item and its coverage entries: the
    part of the grouping that needs no database, for the import's parse workers to
    compute in parallel (an `ingest.itemfile.Item`; the result pickles)."""
    urls = [item.web_url, item.original_url, item.amp_web_url, item.cdn_amp_web_url]
    urls += [entry.url for entry in item.related]
    texts = [(item.title, item.excerpt)] + [(e.title, e.excerpt) for e in item.related]
    return (
        {url: url_key(url) for url in urls if url},
        {pair: _described(*pair) for pair in texts},
    )


def remember(descriptions):
    """Keep what `describe` computed in the workers for a batch for the batch's
    `assign_stories` call (what an earlier batch left is forgotten first)."""
    _KNOWN_KEYS.clear()
    _KNOWN_FEATURES.clear()
    for description in descriptions:
        if description:
            keys, features = description
            _KNOWN_KEYS.update(keys)
            _KNOWN_FEATURES.update(features)


def _described(title, excerpt) -> text.Features:
    features = text.features(title, excerpt)
    features.encoded  # noqa: B018 - computed here, in the worker, and sent along
    return features


def _features(title, excerpt) -> text.Features:
    known = _KNOWN_FEATURES.get((title, excerpt))
    return known if known is not None else text.features(title, excerpt)


def _insert_mentions(mentions):
    insert_rows(
        StoryMention,
        [
            {
                "kind": m.kind,
                "article": m.article_id,
                "coverage": m.coverage_id,
                "key": m.key,
                "outlet": m.outlet,
                "published_at": m.published_at,
                "features": m.features.encoded if m.kind != Kind.ALIAS else "",
                "story": m.story.pk if m.story is not None else None,
                "is_lead": False,
                "pinned": m.pinned,
                "score": m.score,
                "signals": m.signals,
            }
            for m in mentions
        ],
    )


def refresh_stories(story_pks):
    """Recompute first/last seen and the lead of these stories; delete the ones left
    with fewer than two mentions. A fixed number of queries."""
    pks = sorted(story_pks)
    if not pks:
        return
    from django.db.models import Count, Max, Min

    for start in range(0, len(pks), ID_BATCH_SIZE):
        chunk = pks[start : start + ID_BATCH_SIZE]
        seen = {
            row["story"]: row
            for row in StoryMention.objects.filter(story_id__in=chunk)
            .exclude(kind=Kind.ALIAS)
            .values("story")
            .annotate(first=Min("published_at"), last=Max("published_at"), count=Count("id"))
        }
        empty = [pk for pk in chunk if seen.get(pk, {}).get("count", 0) < 2]
        if empty:
            StoryMention.objects.filter(story_id__in=empty).update(
                story=None, is_lead=False, pinned=False
            )
            Story.objects.filter(pk__in=empty).delete()
        alive = [pk for pk in chunk if pk not in set(empty)]
        if not alive:
            continue
        stories = {s.pk: s for s in Story.objects.filter(pk__in=alive)}
        members = defaultdict(list)
        for story_id, article_id, status, quality, published_at in StoryMention.objects.filter(
            story_id__in=alive, kind=Kind.ARTICLE
        ).values_list(
            "story_id", "article_id", "article__status", "article__quality", "article__published_at"
        ):
            members[story_id].append((article_id, status, quality, published_at))
        for pk, story in stories.items():
            story.first_seen = seen[pk]["first"]
            story.last_seen = seen[pk]["last"]
            ids = {m[0] for m in members[pk]}
            if not (story.lead_chosen and story.lead_id in ids):
                story.lead_chosen = False
                story.lead_id = min(members[pk], key=_lead_order)[0] if members[pk] else None
        update_rows(
            Story,
            {
                s.pk: {
                    "first_seen": s.first_seen,
                    "last_seen": s.last_seen,
                    "lead": s.lead_id,
                    "lead_chosen": s.lead_chosen,
                }
                for s in stories.values()
            },
        )
        StoryMention.objects.filter(story_id__in=alive, is_lead=True).update(is_lead=False)
        leads = [s.lead_id for s in stories.values() if s.lead_id]
        StoryMention.objects.filter(article_id__in=leads, kind=Kind.ARTICLE).update(is_lead=True)


def _lead_order(member):
    """Which member article leads: a published one, the best quality, the earliest."""
    article_id, status, quality, published_at = member
    return (
        status != Article.Status.PUBLISHED,
        -(quality if quality is not None else -1),
        published_at,
        article_id,
    )


class _KeyCache(dict):
    """URL keys computed once per batch (an article's web and original URL are often
    the same string, and so are coverage URLs listed by several files)."""

    def key(self, url):
        found = self.get(url)
        if found is None:
            found = _KNOWN_KEYS.get(url)
            if found is None:
                found = url_key(url)
            self[url] = found
        return found

    def keys(self, *urls):
        return {key for key in map(self.key, urls) if key}


def _close(one: _Mention, other: _Mention) -> bool:
    if one.published_at is None or other.published_at is None:
        return True
    both_coverage = one.kind == other.kind == Kind.COVERAGE
    return abs(one.published_at - other.published_at) <= (
        COVERAGE_WINDOW if both_coverage else WINDOW
    )


def published_between(kind, earliest, latest):
    """The mentions of `kind` published from `earliest` to `latest`, read through the
    dates' index."""
    return StoryMention.objects.filter(
        kind=kind, published_at__gte=earliest, published_at__lte=latest
    ).exclude(
        # Implied by `kind`, but SQLite uses the partial index (mention_published) only
        # when the query spells out its condition: else it reads the whole table.
        kind=Kind.ALIAS
    )


def outlet(domain: str, url: str) -> str:
    """The outlet of a mention: its provider's domain, else its URL's host (no www.)."""
    outlet = (domain or "").strip().lower()
    if not outlet:
        key = url_key(url)
        outlet = key.split("/", 1)[0].split(":", 1)[0] if key else ""
    return outlet[4:] if outlet.startswith("www.") else outlet
