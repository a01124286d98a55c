"""The admin index's review gate: stories still in review whose score would put them
among the first GATE_PLACES of "Top", or of one of their topics, so that a hot story
waiting in the queue is seen (templates/admin/articles/review_gate.html).

A waiting story's score is computed like any other (ranking.recompute runs whatever
the status), so "would rank" is the place it takes the moment it is published. Equal
places go to the published story, as Top's order gives them.
"""

from dataclasses import dataclass
from urllib.parse import urlencode

from django.contrib.humanize.templatetags.humanize import ordinal
from django.db.models import Exists, OuterRef, Q
from django.urls import reverse

from .. import ranking
from ..models import Article, TaggedTopic, Topic
from ..site import public

GATE_PLACES = 5
GATE_SHOWN = 10
KEY = ("score", "published_at", "id")


@dataclass(frozen=True)
class Waiting:
    """A story in review and where it would rank: [(list name, place)], Top first."""

    article: Article
    places: list

    @property
    def places_text(self):
        return ", ".join(f"{ordinal(place)} in {name}" for name, place in self.places)


@dataclass(frozen=True)
class Gate:
    waiting: list  # of Waiting, hottest first, at most GATE_SHOWN
    total: int
    queue_url: str

    @property
    def more(self):
        return self.total - len(self.waiting)


def review_gate(user):
    """The gate for `user`, or None when it is empty or they cannot see articles.

    A fixed number of queries plus one per topic that has a scored story in review.
    """
    if not user.has_perm("articles.view_article"):
        return None
    in_review = Article.objects.in_review().filter(score__isnull=False)
    overall = _leaders(public.StoryList())
    links = TaggedTopic.objects.filter(tag=OuterRef("pk"), content_object__in=in_review)
    topics = dict(Topic.objects.filter(Exists(links)).values_list("pk", "name"))
    leaders = {pk: _leaders(public.StoryList(topic_id=pk)) for pk in topics}

    condition = _would_join(overall)
    for pk, rows in leaders.items():
        tagged = TaggedTopic.objects.filter(content_object=OuterRef("pk"), tag_id=pk)
        condition |= Exists(tagged) & _would_join(rows)
    found = ranking.order(in_review.filter(condition))
    total = found.count()
    if not total:
        return None
    articles = list(found.only("title", "status", *KEY)[:GATE_SHOWN])
    tags = {}
    for article_id, tag_id in TaggedTopic.objects.filter(
        content_object__in=[a.pk for a in articles]
    ).values_list("content_object_id", "tag_id"):
        tags.setdefault(article_id, []).append(tag_id)

    waiting = []
    for article in articles:
        key = ranking.sort_key(*(getattr(article, name) for name in KEY))
        places = [("Top", _place(key, overall))]
        places += [(topics[pk], _place(key, leaders[pk])) for pk in tags.get(article.pk, [])]
        waiting.append(Waiting(article, [(name, at) for name, at in places if at]))
    changelist = reverse("admin:articles_article_changelist")
    return Gate(waiting, total, f"{changelist}?{urlencode({'status': 'review'})}")


def _leaders(stories):
    """The (score, published_at, id) of the first GATE_PLACES stories of a StoryList."""
    return list(stories.queryset().values_list(*KEY)[:GATE_PLACES])


def _would_join(leaders):
    """The condition on a story that puts it among `leaders` (the first GATE_PLACES)."""
    if len(leaders) < GATE_PLACES:
        return Q(pk__isnull=False)  # a list with room left: any scored story joins it
    return ranking.ahead_of(*leaders[-1])


def _place(key, leaders):
    """Where a story with sort key `key` would stand among `leaders`, or None if below."""
    place = 1 + sum(ranking.sort_key(*row) > key for row in leaders)
    return place if place <= GATE_PLACES else None
