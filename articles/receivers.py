"""Everything that reacts to a change, in one place; `connect()` is called by
ArticlesConfig.ready().

A change to articles is reported by its writer through `changes.record()`
(articles/changes.py says who calls it and when). Its receivers:

- inside the writer's transaction (`articles_changing`), in this order: bump
  `updated_at` (the admin's stale-edit guard reads it), then write the admin log,
  one LogEntry per article when a user is known (the schedule's changes are signed by
  the inactive user "schedule", SCHEDULE_USERNAME), then one revision per article
  (articles/revisions.py: the values each change moved, the article's history page);
- after commit (`articles_changed`): forget the cached public pages; queue a fetch
  of the images a changed article shows (articles/imagecache), without waiting for
  the sweep.

Two more kinds of write are heard here:

- the other rows the public pages show (outlets, topics, images, coverage, topic
  link rows), written by their admin forms, the article form's inlines or the
  importer, and deleted articles: their post_save/post_delete forget the cached pages
  after commit. The import's own bookkeeping (ImportRun) does not.
- an article's topics and related stories changed through their managers
  (`article.topics.add()/remove()/clear()`, taggit; `related_stories`, Django's m2m):
  m2m_changed is turned into `changes.record()` with the field "topics" or
  "related_stories", once per call. A related story links both ways, so the articles
  at both ends changed. Inside a `changes.batch()` (the admin's form) these join the
  form's change.
"""

import json

from django.contrib.admin.models import ADDITION, CHANGE, LogEntry
from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.db.models.signals import m2m_changed, post_delete, post_save
from django.utils import timezone

from . import changes, ranking, revisions, stories
from .imagecache import cache as image_cache
from .models import (
    Article,
    ArticleImage,
    Provider,
    RelatedCoverage,
    TaggedTopic,
    Topic,
    id_batches,
)
from .site.caching import invalidate_public_pages

# Rows the public pages show beside the articles: a save or delete forgets the pages.
SHOWN_ROWS = (ArticleImage, RelatedCoverage, Provider, Topic, TaggedTopic)
# The article fields written through an m2m manager, by the manager's through model.
M2M_FIELDS = {TaggedTopic: "topics", Article.related_stories.through: "related_stories"}


def connect():
    changes.articles_changing.connect(bump_updated_at, dispatch_uid="changes-updated-at")
    changes.articles_changing.connect(write_history, dispatch_uid="changes-history")
    changes.articles_changing.connect(revisions.record_revisions, dispatch_uid="changes-revisions")
    changes.articles_changing.connect(group_into_stories, dispatch_uid="changes-stories")
    changes.articles_changing.connect(recompute_ranking, dispatch_uid="changes-ranking")
    changes.articles_changed.connect(forget_cached_pages, dispatch_uid="changes-page-cache")
    changes.articles_changed.connect(fetch_new_images, dispatch_uid="changes-images")
    for model in SHOWN_ROWS:
        name = model.__name__
        post_save.connect(forget_pages_on_commit, sender=model, dispatch_uid=f"pages-save-{name}")
        post_delete.connect(forget_pages_on_commit, sender=model, dispatch_uid=f"pages-del-{name}")
    post_delete.connect(forget_pages_on_commit, sender=Article, dispatch_uid="pages-del-Article")
    for through, name in M2M_FIELDS.items():
        m2m_changed.connect(record_m2m_change, sender=through, dispatch_uid=f"changes-m2m-{name}")


# -- inside the writer's transaction --------------------------------------------------


def bump_updated_at(sender, *, ids, **kwargs):
    now = timezone.now()
    for batch in id_batches(ids):
        Article.objects.filter(pk__in=batch).update(updated_at=now)


# The fields whose change can move an article's heat or Top score: ranking's inputs,
# plus the lists it counts (coverage) and reads modifiers from (topics), and the
# file's heat (an import's change of it is a change of the source heat).
RANKING_FIELDS = frozenset({*ranking.INPUT_COLUMNS, "coverage", "topics", "heat"})


# The fields story grouping reads (articles/stories: words, URL keys, dates, coverage).
STORY_FIELDS = frozenset(
    {"title", "excerpt", "web_url", "original_url", "amp_web_url", "cdn_amp_web_url",
     "published_at", "coverage"}
)  # fmt: skip


def group_into_stories(sender, *, ids, fields, **kwargs):
    """Changed articles find their story, and coverage naming an article of ours links
    the two, in the writer's transaction (docs/stories.md: a few indexed reads per batch)."""
    if fields & STORY_FIELDS:
        stories.assign_stories(ids)
        stories.link_coverage(ids)


def recompute_ranking(sender, *, ids, fields, **kwargs):
    """Heat and score follow their inputs, in the same transaction (ranking.recompute:
    a few queries per slice of ids, whatever moved). Runs after group_into_stories."""
    if fields & STORY_FIELDS or "story" in fields:
        # The score counts the outlets of the whole story: an article joining it (or an
        # editor's story decision) moves its other articles too.
        ranking.recompute(stories.story_mates(ids))
    elif fields & RANKING_FIELDS:
        ranking.recompute(ids)


# Who the scheduled publishing sweep's history entries are by: a user no one can sign
# in as (inactive, no password), made the first time the schedule changes something.
SCHEDULE_USERNAME = "schedule"


def schedule_user():
    user, _ = get_user_model().objects.get_or_create(
        username=SCHEDULE_USERNAME, defaults={"is_active": False, "password": "!"}
    )
    return user


def write_history(sender, *, ids, user, messages, created, **kwargs):
    """One admin history entry per article, written in bulk."""
    if user is None and sender == changes.Source.SCHEDULE:
        user = schedule_user()
    if user is None or not getattr(user, "pk", None):
        return
    content_type = ContentType.objects.get_for_model(Article)
    for batch in id_batches(ids):
        titles = dict(Article.objects.filter(pk__in=batch).values_list("pk", "title"))
        LogEntry.objects.bulk_create(
            LogEntry(
                user_id=user.pk,
                content_type_id=content_type.pk,
                object_id=str(pk),
                object_repr=titles[pk][:200],
                action_flag=ADDITION if pk in created else CHANGE,
                change_message=_message_text(messages[pk]),
            )
            for pk in batch
            if pk in titles
        )


def _message_text(message):
    # The admin's own messages are lists, which LogEntry stores as JSON (see
    # LogEntry.get_change_message); ours are plain sentences.
    return json.dumps(message) if isinstance(message, list) else message


# -- after commit ---------------------------------------------------------------------


def forget_cached_pages(sender, **kwargs):
    # Already after commit (articles_changed): see caching.invalidate_public_pages for
    # why that alone is enough.
    invalidate_public_pages()


# The fields whose change can put a new image on a page: the lead image (images), the
# outlet's logo (provider) and the coverage thumbnails.
IMAGE_FIELDS = frozenset({"images", "provider", "coverage"})


def fetch_new_images(sender, *, ids, fields, **kwargs):
    """The images changed articles show are registered and queued at once (the sweep's
    discover_images would find them within a minute): a few queries per slice of ids.
    No more are queued than the queue has room for; with the queue full nothing is
    done (an import's later batches: the sweep registers and queues their images as
    the workers free room, which is as soon as they could be fetched anyway)."""
    if fields & IMAGE_FIELDS:
        with transaction.atomic():  # after the writer's commit: one more, not one a row
            room = image_cache.room_on_the_queue()
            for batch in id_batches(ids):
                if room <= 0:
                    break
                room -= image_cache.enqueue_for_articles(batch, limit=room)


def forget_pages_on_commit(sender, **kwargs):
    transaction.on_commit(invalidate_public_pages)


# -- m2m managers -> changes.record() ---------------------------------------------------


def record_m2m_change(sender, instance, action, model, pk_set, **kwargs):
    """An article's topics or related stories changed through their manager."""
    field = M2M_FIELDS[sender]
    linked_articles = model is Article  # related stories: the other ends change too
    if action == "pre_clear":
        # What a clear removes can only be read before it.
        before = instance.__dict__.setdefault("_linked_before_clear", {})
        before[field] = set(getattr(instance, field).values_list("pk", flat=True))
        return
    if action == "post_clear":
        touched = instance.__dict__.get("_linked_before_clear", {}).pop(field, set())
    elif action in ("post_add", "post_remove"):
        touched = set(pk_set or ())
    else:
        return  # the pre_add and pre_remove signals
    if not touched:
        return  # a call that changed nothing
    others = sorted(touched) if linked_articles else []
    changes.record(
        [instance.pk, *others],
        {field},
        source=changes.Source.SYSTEM,
        message=f"Changed {field.replace('_', ' ')}.",
    )
