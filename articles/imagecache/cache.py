"""The image cache's write side: which URLs we cache, fetching them, retry and replace.

A URL becomes an `ImageSource` when a page could show it (`urls_shown`): the first
image of an article, the first logo of an outlet, the first image of a coverage entry.
The sweep registers new ones every minute (`discover`), and puts those due on the
queue (`enqueue_due`); `enqueue_for_articles(ids)` does both at once for articles just
written (articles/receivers.py calls it on the write path's `articles_changed`). Each
`fetch_image` task (`articles.imagecache.tasks`) runs `cache_source()`:

1. claim the image, under a lock on its host's row: at most
   NEWSROOM_IMAGE_HOST_CONCURRENCY fetches per host at once across every worker
   (a busy host's image is tried again by the next sweep);
2. fetch it (`fetcher`, no transaction open), check and store it (`renditions`);
3. record the outcome: cached, or failed with the reason, and when to try again
   (NEWSROOM_IMAGE_RETRY_MINUTES, doubled each time) if trying again could help.

Nothing here raises into its caller for a bad image or an unreachable server: it is
recorded on the ImageSource, which the admin shows.
"""

import datetime as dt
import logging
from urllib.parse import urlsplit

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, F, OuterRef, Q
from django.db.models.fields.json import KT

from .. import clock
from ..ingest.bulk import insert_rows
from ..links import is_http_url
from ..models import ArticleImage, ImageHost, ImageSource, Provider, RelatedCoverage
from ..site.caching import invalidate_public_pages
from . import fetcher, renditions

logger = logging.getLogger("newsroom.images")

# How long a claimed fetch may take before its host slot counts as free again (a
# worker killed mid-fetch), and how long a queued image waits before the sweep
# queues it again (its task lost).
LEASE = dt.timedelta(minutes=2)
REQUEUE_AFTER = dt.timedelta(minutes=10)
BUSY_HOST_DELAY = dt.timedelta(seconds=30)
# The unique index on the URL holds at most this many bytes of it (PostgreSQL's B-tree
# entries are limited); a longer URL is not cached and keeps its placeholder.
MAX_URL_BYTES = 2000
REGISTER_BATCH = 500


def cacheable(url) -> bool:
    return is_http_url(url) and len(url.encode("utf-8")) <= MAX_URL_BYTES


# -- Which URLs ----------------------------------------------------------------------------


def _lead_images():
    """The first image (position, then id) of each article, as ArticleImage rows."""
    before = Q(position__lt=OuterRef("position"))
    before |= Q(position=OuterRef("position"), id__lt=OuterRef("id"))
    earlier = ArticleImage.objects.filter(before, article_id=OuterRef("article_id"))
    return ArticleImage.objects.exclude(Exists(earlier))


def urls_shown(article_ids=None, *, unregistered=False):
    """The image URLs pages show: of the articles `article_ids` (every article if None),
    their outlets and coverage. `unregistered`: only those without an ImageSource."""
    leads = _lead_images().annotate(image_url=F("url"))
    logos = Provider.objects.annotate(image_url=KT("logos__0__url"))
    coverage = RelatedCoverage.objects.annotate(image_url=KT("images__0__url"))
    if article_ids is not None:
        leads = leads.filter(article_id__in=article_ids)
        logos = logos.filter(articles__in=article_ids)
        coverage = coverage.filter(article_id__in=article_ids)
    urls = set()
    for rows in (leads, logos, coverage):
        rows = rows.filter(image_url__isnull=False)
        if unregistered:
            rows = rows.exclude(Exists(ImageSource.objects.filter(url=OuterRef("image_url"))))
        urls.update(rows.values_list("image_url", flat=True).distinct())
    return urls  # (register() leaves out those it cannot cache)


def register(urls, now=None) -> int:
    """Make a pending ImageSource, due now, for each URL not known yet; how many new.
    Plain rows (the import registers thousands a batch: model instances and the ORM's
    INSERT cost more than the rest of the image bookkeeping)."""
    now = now or clock.now()
    urls = sorted({url for url in urls if cacheable(url)})
    known = set()
    for start in range(0, len(urls), REGISTER_BATCH):
        batch = urls[start : start + REGISTER_BATCH]
        known.update(ImageSource.objects.filter(url__in=batch).values_list("url", flat=True))
    new = [url for url in urls if url not in known]
    defaults = {f.name: f.get_default() for f in ImageSource._meta.concrete_fields}
    del defaults["id"]
    rows = [
        {**defaults, "url": url, "host": host_of(url), "next_attempt_at": now, "created_at": now}
        for url in new
    ]
    # ignore_conflicts: registered by someone else meanwhile.
    insert_rows(ImageSource, rows, ignore_conflicts=True)
    return len(new)


def host_of(url) -> str:
    return (urlsplit(url).hostname or "")[:253]


def discover(now) -> int:
    """Sweep job: register the URLs pages show that have no ImageSource yet."""
    return register(urls_shown(unregistered=True), now)


def room_on_the_queue() -> int:
    """How many more image fetches may be queued: the queue holds at most
    NEWSROOM_IMAGE_SWEEP_BATCH of them waiting for a worker (an import of thousands of
    articles, or a sweep while the workers are slow, queues no pile of them: the
    others stay due, for a later sweep). A soft bound: a sweep and a write that count
    at the same moment may both fill the same room."""
    from django_tasks.base import TaskResultStatus
    from django_tasks_db.models import DBTaskResult

    from .tasks import fetch_image

    waiting = DBTaskResult.objects.filter(
        task_path=fetch_image.module_path, status=TaskResultStatus.READY
    ).count()
    return max(0, settings.NEWSROOM_IMAGE_SWEEP_BATCH - waiting)


def enqueue_due(now) -> int:
    """Sweep job: put the images due for a fetch on the queue (as many as it has room
    for); each waits REQUEUE_AFTER before it is queued again."""
    room = room_on_the_queue()
    if not room:
        return 0
    due = list(
        ImageSource.objects.filter(next_attempt_at__lte=now, replaced=False)
        .order_by("next_attempt_at", "id")
        .values_list("pk", flat=True)[:room]
    )
    if due:
        ImageSource.objects.filter(pk__in=due).update(next_attempt_at=now + REQUEUE_AFTER)
        _enqueue(due)
    return len(due)


def enqueue_for_articles(article_ids, limit=None) -> int:
    """Register the images of these articles (their lead images, outlets' logos and
    coverage thumbnails) and queue a fetch of those not cached yet (at most `limit`;
    the sweep queues the others, due already), once the current transaction commits;
    how many were queued. Never raises for a bad URL."""
    urls = urls_shown(list(article_ids))
    if not urls:
        return 0
    now = clock.now()
    register(urls, now)
    due = list(
        ImageSource.objects.filter(url__in=list(urls), next_attempt_at__lte=now, replaced=False)
        .exclude(status=ImageSource.Status.CACHED)
        .order_by("id")
        .values_list("pk", flat=True)[:limit]
    )
    if due:
        ImageSource.objects.filter(pk__in=due).update(next_attempt_at=now + REQUEUE_AFTER)
        transaction.on_commit(lambda: _enqueue(due))
    return len(due)


def _enqueue(source_ids, *, force=False):
    from .tasks import fetch_image

    with transaction.atomic():  # one commit for the lot, not one per task row
        for source_id in source_ids:
            fetch_image.enqueue(source_id, force=force)


# -- Fetching one --------------------------------------------------------------------------


def cache_source(source_id, *, force=False) -> str:
    """Fetch, check and store the image of ImageSource `source_id`; returns what
    happened ("cached", "failed", "busy" (its host has enough fetches running),
    "skipped" (cached or replaced already, unless `force`), "gone")."""
    now = clock.now()
    source = _claim(source_id, now, force)
    if isinstance(source, str):
        return source
    try:
        fetched = fetcher.fetch(source.url)
        picture = renditions.store(fetched.data)
    except fetcher.FetchFailed as failure:
        return _record_failure(source, failure.reason, retry=failure.retry)
    except renditions.ImageRejected as rejected:
        return _record_failure(source, str(rejected), retry=False)
    except Exception as error:  # noqa: BLE001 - recorded, never raised into the queue's caller
        logger.exception("caching image %s failed", source.url)
        return _record_failure(source, f"{type(error).__name__}: {error}", retry=True)
    with transaction.atomic():
        updated = ImageSource.objects.filter(pk=source.pk, replaced=False).update(
            **_cached(picture)
        )
        invalidate_public_pages()
    return "cached" if updated else "skipped"


def _claim(source_id, now, force):
    ImageHost.objects.get_or_create(
        name=ImageSource.objects.filter(pk=source_id).values_list("host", flat=True).first() or ""
    )
    with transaction.atomic():
        source = ImageSource.objects.select_for_update().filter(pk=source_id).first()
        if source is None:
            return "gone"
        if source.replaced or (source.status == ImageSource.Status.CACHED and not force):
            return "skipped"
        # Every claim on this host waits here for the others: count, then lease.
        ImageHost.objects.select_for_update().filter(name=source.host).first()
        busy = (
            ImageSource.objects.filter(host=source.host, leased_until__gt=now)
            .exclude(pk=source.pk)
            .count()
        )
        if busy >= settings.NEWSROOM_IMAGE_HOST_CONCURRENCY:
            source.next_attempt_at = now + BUSY_HOST_DELAY
            source.save(update_fields=["next_attempt_at"])
            return "busy"
        source.leased_until = now + LEASE
        source.attempts += 1
        source.last_attempt_at = now
        source.save(update_fields=["leased_until", "attempts", "last_attempt_at"])
    return source


def retry_delay(attempts) -> dt.timedelta:
    """The wait after the `attempts`-th failed fetch in a row: 5, 10, 20, 40 minutes..."""
    return dt.timedelta(minutes=settings.NEWSROOM_IMAGE_RETRY_MINUTES * 2 ** (attempts - 1))


def _record_failure(source, reason, *, retry) -> str:
    now = clock.now()
    again = retry and source.attempts < settings.NEWSROOM_IMAGE_MAX_ATTEMPTS
    reason = reason[:1000]
    if again:
        reason += f" (try {source.attempts} of {settings.NEWSROOM_IMAGE_MAX_ATTEMPTS})"
    changes = {
        "failure_reason": reason,
        "next_attempt_at": now + retry_delay(source.attempts) if again else None,
        "leased_until": None,
    }
    if source.picture_id is None:  # a re-fetch that fails keeps the copy we have
        changes["status"] = ImageSource.Status.FAILED
    ImageSource.objects.filter(pk=source.pk).update(**changes)
    logger.info("image %s: %s", source.url, reason)
    return "failed"


# -- Editors: retry, replace ---------------------------------------------------------------


def retry(sources) -> int:
    """Fetch these images again now (a fresh count of attempts; a replaced image goes
    back to its URL), once the current transaction commits; how many."""
    ids = list(sources.values_list("pk", flat=True))
    now = clock.now()
    ImageSource.objects.filter(pk__in=ids).update(
        attempts=0, replaced=False, next_attempt_at=now + REQUEUE_AFTER
    )
    transaction.on_commit(lambda: _enqueue(ids, force=True))
    return len(ids)


def replace(source, data: bytes):
    """Serve `data` (an editor's file, already checked) for `source` from now on; the
    fetcher leaves it alone until someone retries it. Raises ImageRejected."""
    picture = renditions.store(data)
    with transaction.atomic():
        ImageSource.objects.filter(pk=source.pk).update(**_cached(picture), replaced=True)
        invalidate_public_pages()
    source.refresh_from_db()
    return source


def _cached(picture) -> dict:
    """The columns of an image source that now shows `picture`: nothing left to retry."""
    return {
        "status": ImageSource.Status.CACHED,
        "picture": picture,
        "failure_reason": "",
        "attempts": 0,
        "next_attempt_at": None,
        "leased_until": None,
        "fetched_at": clock.now(),
    }
