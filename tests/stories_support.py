"""Hand-written news for the story tests: syndicated copies, one event told in other
words, and look-alikes that must stay apart (written for these tests)."""

import datetime as dt
import itertools

from django.utils import timezone
from django.utils.text import slugify

from articles import stories
from articles.models import StoryMention
from tests.factories import make_article, make_provider

START = timezone.make_aware(dt.datetime(2026, 3, 2, 9, 0))
_numbers = itertools.count(1)


def at(hours):
    return START + dt.timedelta(hours=hours)


def article(title, excerpt, *, hours=0, domain=None, **fields):
    provider = make_provider(domain=domain) if domain else None
    fields.setdefault("slug", f"{slugify(title)[:150]}-{next(_numbers)}")
    return make_article(title, excerpt=excerpt, published_at=at(hours), provider=provider, **fields)


def story_of(article):
    """The story id of an article (None when it is in none)."""
    return (
        StoryMention.objects.filter(article=article, kind=StoryMention.Kind.ARTICLE)
        .values_list("story_id", flat=True)
        .first()
    )


def group(*articles):
    stories.assign_stories([a.pk for a in articles])


# A wire story about a (made-up) acquisition, as three outlets ran it.
ACQUISITION = [
    (
        "Veltrano to acquire Quillmark in $3.2 billion chip deal",
        "Veltrano said on Monday it will acquire the British chip designer Quillmark from "
        "Hollis Capital for $3.2 billion in cash and stock, its largest purchase yet.",
    ),
    (
        "Veltrano agrees $3.2bn takeover of Quillmark",
        "The chipmaker Veltrano is buying Quillmark, the Cambridge designer owned by Hollis "
        "Capital, in a $3.2 billion deal that regulators are expected to examine.",
    ),
    (
        "Why Veltrano is paying $3.2 billion for Quillmark",
        "Analysts say Quillmark's low-power designs give Veltrano a way into phones; Hollis "
        "Capital keeps a minority stake after the $3.2 billion sale.",
    ),
]
# The same press release, picked up word for word by two outlets.
PRESS_RELEASE = (
    "Orbisense Launches Tallow Vision Kit for Warehouse Robots",
    "SAN JOSE, Calif. -- Orbisense today announced Tallow, a vision kit that lets warehouse "
    "robots recognise damaged parcels, available from April.",
)
