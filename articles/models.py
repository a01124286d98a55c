"""The news items and everything hanging off them.

Rules live on the QuerySets (`Article.objects.published()`, `.publish()`, ...): the
admin, the public site, the API and the importer all call them, so they cannot
disagree about what "published" means. Two rules are plain functions, because the
importer applies them to rows it writes in bulk: `went_live_at_for()` (when an article
first went public) and `stored_heat()` (heat -1 means unknown).

Every QuerySet write method reports what it changed through `changes.record()`, once
per call and inside its transaction; the side effects (updated_at, history, page
cache) are receivers of that event (articles/receivers.py), not calls made here.
Saving an Article instance is not such a write by itself: its writer (the admin's
form) records.
"""

import datetime as dt
import os
import socket

from django.conf import settings
from django.contrib.postgres.search import SearchVectorField
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.text import slugify
from taggit.managers import TaggableManager
from taggit.models import TagBase, TaggedItemBase

from . import changes, clock
from .ingest.schema import MAX_INT  # the integer columns hold 32 bits on PostgreSQL
from .links import is_http_url
from .rendering import RenderError, render_markdown
from .site.addresses import article_address, provider_url, topic_url

SLUG_MAX_LENGTH = 200

# The largest editor boost or penalty, and topic modifier, in hours: beyond a week,
# publishing, rejecting or pinning a heat says it better.
BOOST_LIMIT_HOURS = 168

# Bulk editor actions touch rows by id in slices of this many: one statement can carry
# only so many parameters (SQLite builds may allow just 999; PostgreSQL 65,535 with the
# server-side binding newsroom/settings.py turns on), and "select all" in the admin can
# pick every article.
ID_BATCH_SIZE = 900


def id_batches(ids):
    """`ids` in lists of at most ID_BATCH_SIZE."""
    ids = list(ids)
    return [ids[start : start + ID_BATCH_SIZE] for start in range(0, len(ids), ID_BATCH_SIZE)]


def validate_http_url(value):
    if value and not is_http_url(value):
        raise ValidationError(
            "Only http:// and https:// URLs, without a user name or password, are allowed.",
            code="scheme",
        )


class HttpURLField(models.URLField):
    """A URL column that only ever holds http(s) URLs (never javascript:, data:, ...)."""

    default_validators = [validate_http_url]

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("max_length", 2000)
        super().__init__(*args, **kwargs)

    def formfield(self, **kwargs):
        kwargs.setdefault("assume_scheme", "https")
        return super().formfield(**kwargs)


class Topic(TagBase):
    """A topic from the taxonomy files, used as a django-taggit tag on articles.

    `name` is what news files list under `topics:`; `slug` is the taxonomy `_id`.
    """

    class Kind(models.TextChoices):
        TOPIC = "topic", "Topic"
        TAG = "tag", "Tag"

    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.TOPIC)
    short_name = models.CharField(max_length=100, blank=True)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="children"
    )
    description = models.TextField(blank=True)
    keywords = models.JSONField(default=list, blank=True)
    hashtags = models.JSONField(default=list, blank=True)
    images = models.JSONField(default=list, blank=True, help_text="Image URLs, first is the lead.")
    services = models.JSONField(default=dict, blank=True)
    rank_hours = models.IntegerField(
        default=0,
        verbose_name="Top modifier (hours)",
        validators=[
            MinValueValidator(-BOOST_LIMIT_HOURS, f"At most {BOOST_LIMIT_HOURS} hours less."),
            MaxValueValidator(BOOST_LIMIT_HOURS, f"At most {BOOST_LIMIT_HOURS} hours more."),
        ],
        help_text="Hours of freshness every story in this topic gets in Top (negative holds "
        "them back). Usually 0.",
    )
    # The taxonomy file's own fields, kept to export and re-import faithfully.
    taxonomy_data = models.JSONField(default=dict, blank=True, editable=False)

    class Meta:
        ordering = ("name",)
        verbose_name = "topic"
        verbose_name_plural = "topics"
        constraints = [
            models.CheckConstraint(
                condition=Q(rank_hours__gte=-BOOST_LIMIT_HOURS)
                & Q(rank_hours__lte=BOOST_LIMIT_HOURS),
                name="topic_rank_hours_range",
            ),
        ]

    def get_absolute_url(self):
        """The topic's page, or None when the stored slug cannot be part of a URL.

        Only the admin's form checks slugs; rows from old imports or direct edits may
        hold one the URL pattern refuses ("ai agents"), and pages then show the topic
        without a link instead of failing.
        """
        return topic_url(self.slug) or None

    @property
    def image_url(self):
        return self.images[0] if self.images else ""


class TaggedTopic(TaggedItemBase):
    """The link between an article and one of its topics (ordered as in the file)."""

    content_object = models.ForeignKey(
        "Article", on_delete=models.CASCADE, related_name="tagged_topics"
    )
    tag = models.ForeignKey(Topic, on_delete=models.CASCADE, related_name="tagged_articles")
    # The article's Top and Latest sort keys, copied by database triggers
    # (articles/topic_sort_keys.py) so a topic's list reads the topic's own index.
    score = models.FloatField(null=True, editable=False)
    published_at = models.DateTimeField(null=True, editable=False)

    class Meta:
        ordering = ("id",)
        constraints = [
            models.UniqueConstraint(
                fields=["content_object", "tag"], name="taggedtopic_unique_article_topic"
            )
        ]
        # PostgreSQL's Top index needs NULLS LAST, which SQLite refuses: migration 0019.
        indexes = [
            models.Index(
                fields=["tag", "-score", "-published_at", "-content_object"], name="topic_top"
            ),
            models.Index(fields=["tag", "-published_at", "-content_object"], name="topic_latest"),
        ]


class Provider(models.Model):
    """The outlet an article comes from, identified by its bare domain."""

    name = models.CharField(max_length=200)
    domain = models.CharField(max_length=253)
    logos = models.JSONField(
        default=list, blank=True, help_text="Logo images: a list of {url, width, height}."
    )

    class Meta:
        ordering = ("name",)
        constraints = [models.UniqueConstraint(fields=["domain"], name="provider_unique_domain")]

    def __str__(self):
        return self.name or self.domain

    def get_absolute_url(self):
        """The outlet's page, or None when the stored domain cannot be part of a URL
        (empty, or with a "/"), like Topic.get_absolute_url."""
        return provider_url(self.domain) or None

    @property
    def logo(self):
        return self.logos[0] if self.logos else None


# Heat -1 means "unknown" (in files, the admin's form and its Set heat action) and is
# stored as empty.
UNKNOWN_HEAT = -1


def stored_heat(heat):
    """The heat to store for `heat` as given: None (unknown) for -1."""
    return None if heat == UNKNOWN_HEAT else heat


class Embargoed(ValidationError):
    """A write that would publish an article before its embargo lifts."""


def embargo_refusal(article, new_status, now):
    """Why `article` may not take `new_status` at `now` (a one-line message), or None.

    The one embargo rule: nobody makes an article under embargo public before it
    lifts, by any path. "Published" with a "go live at" no earlier than the embargo
    is allowed: that is scheduling it for then. Every status change asks it:
    Article.clean() and save() (the admin's form and list rows),
    ArticleQuerySet.set_status() (the actions and the scheduled sweep) and the
    importer, per article.
    """
    embargo = article.embargo_until
    if new_status != Article.Status.PUBLISHED or embargo is None or embargo <= now:
        return None
    if article.go_live_at is not None and article.go_live_at >= embargo:
        return None
    return (
        f"“{article.title}” is under embargo until {local_text(embargo)}: "
        "it cannot be published before then."
    )


def local_text(moment):
    """`moment` as editors read it: the site's time zone, to the minute, zone named."""
    return f"{timezone.localtime(moment):%Y-%m-%d %H:%M %Z}"


def visible_at(now):
    """The condition readers' articles meet at `now`: the one visibility rule.

    Published, and neither waiting for its "go live at" (a scheduled item is
    "published" with a time still to come), nor past its "take down at", nor under
    embargo. The sweep turns each time into the article's status and history within
    the minute; until then this rule shows and hides the item on time by itself. One
    condition on the article row, with `now` as a parameter: site/public.py embeds
    it in its SQL, and "Top" still walks its (status, score) index in order.
    """
    return (
        Q(status=Article.Status.PUBLISHED)
        & ~Q(go_live_at__gt=now)
        & ~Q(take_down_at__lte=now)
        & ~Q(embargo_until__gt=now)
    )


def status_change(article, old_status, new_status, now):
    """The columns that follow when `article` goes from `old_status` to `new_status` at
    `now`, as {column: new value} (only those that change).

    `went_live_at` follows went_live_at_for(). A schedule is used up by what it
    announces, so that no time left behind can later show or hide the item by itself:
    a "go live at" that has come is cleared once the article is published (it went
    live), and so is a "take down at" already past when it is published again; leaving
    "published" (a takedown, by hand or by the schedule) and rejecting clear both.
    """
    went_live_at = went_live_at_for(article, new_status, now)
    go_live_at, take_down_at = article.go_live_at, article.take_down_at
    if new_status == Article.Status.PUBLISHED:
        if go_live_at is not None and go_live_at <= now:
            go_live_at = None
        if old_status != new_status and take_down_at is not None and take_down_at <= now:
            take_down_at = None
    elif new_status == Article.Status.REJECTED or old_status == Article.Status.PUBLISHED:
        go_live_at = take_down_at = None
    after = {"went_live_at": went_live_at, "go_live_at": go_live_at, "take_down_at": take_down_at}
    return {name: value for name, value in after.items() if value != getattr(article, name)}


def went_live_at_for(article, new_status, now):
    """The article's `went_live_at` once it takes `new_status` at `now`.

    The one status-transition rule: an article goes live the first time it is
    published, and that moment is never moved (a later publish) nor cleared (a
    takedown). A scheduled article goes live at its "go live at" time (not when the
    sweep or an editor catches up with it), and not before. Every status change goes
    through it: Article.save() (the admin's form), ArticleQuerySet.set_status() (the
    actions), the scheduled publishing sweep and the importer, per article.
    """
    if article.went_live_at is not None or new_status != Article.Status.PUBLISHED:
        return article.went_live_at
    go_live_at = article.go_live_at
    if go_live_at is None:
        return now
    return go_live_at if go_live_at <= now else None


# Upstream clocks drift a little: only a date further ahead is a story still to come.
FUTURE_DATE_SLACK = dt.timedelta(minutes=10)


def go_live_for_future_date(article, now):
    """The "go live at" that a published article dated after `now` waits for, or None.

    A story is not news before its date: an item dated ahead (a wrong clock upstream,
    a date typed ahead) would otherwise head "Latest" and "Top" until then, and its
    feed would claim to change in the future. One that never went live is scheduled
    for its date instead, as WordPress and Ghost treat a future date; the sweep
    publishes it then. One already live stays live. The importer asks it per article.
    """
    if (
        article.status != Article.Status.PUBLISHED
        or article.went_live_at is not None
        or article.go_live_at is not None
        or article.published_at is None
        or article.published_at <= now + FUTURE_DATE_SLACK
    ):
        return None
    return article.published_at


class ArticleQuerySet(models.QuerySet):
    def published(self, now=None):
        """What readers may see at `now` (clock.now() if None): `visible_at()`."""
        return self.filter(visible_at(clock.now() if now is None else now))

    def scheduled(self):
        """Articles with a "go live at" or "take down at" time (to come, or overdue)."""
        return self.filter(Q(go_live_at__isnull=False) | Q(take_down_at__isnull=False))

    def next_visibility_change(self, now):
        """The next moment after `now` at which visible_at() changes its answer for one
        of these articles by the clock alone, or None: the page cache's horizon.

        Any schedule or embargo time still to come counts (a superset costs only an
        earlier expiry). Three look-ups on the partial indexes.
        """
        moments = [
            self.filter(go_live_at__gt=now).aggregate(at=models.Min("go_live_at"))["at"],
            self.filter(take_down_at__gt=now).aggregate(at=models.Min("take_down_at"))["at"],
            # An embargo still to come on a published item: only a scheduled one.
            self.filter(go_live_at__isnull=False, embargo_until__gt=now).aggregate(
                at=models.Min("embargo_until")
            )["at"],
        ]
        return min((moment for moment in moments if moment is not None), default=None)

    def due_to_go_live(self, now):
        """Scheduled articles whose "go live at" has come (and not held back): the sweep's."""
        return self.filter(status=Article.Status.PUBLISHED, go_live_at__lte=now).exclude(
            Q(take_down_at__lte=now) | Q(embargo_until__gt=now)
        )

    def due_to_come_down(self, now):
        """Published with a "take down at" that has come: the sweep returns them to review."""
        return self.filter(status=Article.Status.PUBLISHED, take_down_at__lte=now)

    def in_review(self):
        return self.filter(status=Article.Status.REVIEW)

    def rejected(self):
        return self.filter(status=Article.Status.REJECTED)

    def with_listing_data(self):
        """Everything a list of cards shows, in a constant number of queries."""
        return self.select_related("provider").prefetch_related("topics", "images")

    # Writes. Each locks the rows it changes, writes, and records the change once
    # (changes.record: one history entry per article when a user is given); `source`
    # defaults to an editor's change when there is a user, the system's otherwise.

    def publish(self, *, user=None, source=None):
        """Publish every article in the queryset; returns how many changed."""
        return self.set_status(Article.Status.PUBLISHED, user=user, source=source)

    def return_to_review(self, *, user=None, source=None):
        return self.set_status(Article.Status.REVIEW, user=user, source=source)

    def reject(self, *, user=None, source=None):
        return self.set_status(Article.Status.REJECTED, user=user, source=source)

    def set_status(self, status, *, user=None, source=None):
        """Move every article to `status`; `went_live_at` follows went_live_at_for()."""
        return self._set_fields({"status": status}, user=user, source=source)

    def go_live(self, now, *, source=changes.Source.SCHEDULE):
        """Record that the scheduled articles whose time has come went live; returns how
        many. Readers have seen them since their time (visible_at): this sets
        went_live_at to it (status_change) and uses the "go live at" up, with history."""
        with transaction.atomic():
            changed = self.due_to_go_live(now)._changing(Q())
            with changes.batch(source=source):
                _update(changed, {}, Article.Status.PUBLISHED, now)
                for article in changed:
                    message = f"Went live at {local_text(article.go_live_at)}, as scheduled."
                    changes.record(
                        [article.pk], {"go_live_at", "went_live_at"}, source=source, message=message
                    )
        return len(changed)

    def set_quality(self, quality, *, user=None, source=None):
        if quality is not None:
            self.model._meta.get_field("quality").run_validators(quality)
        return self._set_fields({"quality": quality}, user=user, source=source)

    def set_heat(self, heat, *, user=None, source=None):
        if heat is not None and heat < UNKNOWN_HEAT:
            raise ValidationError("Heat must be -1 (unknown) or more.")
        # An editor's heat is a pin (ranking.py); -1 or None unpins: the computed heat.
        pin = stored_heat(heat)
        if pin is not None:
            self.model._meta.get_field("heat_pin").run_validators(pin)
        return self._set_fields({"heat_pin": pin}, user=user, source=source)

    def add_topic(self, topic, *, user=None, source=None):
        """Tag every article that lacks `topic`; returns how many changed."""
        with transaction.atomic():
            changed = [article.pk for article in self._changing(~Q(topics=topic))]
            TaggedTopic.objects.bulk_create(
                [TaggedTopic(content_object_id=pk, tag=topic) for pk in changed],
                ignore_conflicts=True,
            )
            _record(changed, {"topics"}, user, source, f"Added topic “{topic.name}”.")
        return len(changed)

    def remove_topic(self, topic, *, user=None, source=None):
        """Untag every article that has `topic`; returns how many changed."""
        with transaction.atomic():
            changed = [article.pk for article in self._changing(Q(topics=topic))]
            for ids in id_batches(changed):
                TaggedTopic.objects.filter(content_object__in=ids, tag=topic).delete()
            _record(changed, {"topics"}, user, source, f"Removed topic “{topic.name}”.")
        return len(changed)

    def locked(self):
        """These articles, locked until the end of the transaction (on PostgreSQL).

        Every write to articles that depends on what it read takes this lock first,
        as the importer's batches do (importer._lock_articles): in id order, so that
        two writers never wait for each other; FOR NO KEY UPDATE, the lock an UPDATE
        takes, so that rows which only point at an article are not blocked; only the
        article rows, not the joined ones. SQLite ignores it: there every write
        transaction holds the database's write lock from its start.
        """
        return self.order_by("pk").select_for_update(no_key=True, of=("self",))

    def _changing(self, condition):
        """The articles matching `condition`, locked; only what a write needs is read."""
        bare = self.filter(condition).select_related(None).prefetch_related(None)
        return list(bare.locked().only("pk", "title", "status", *SCHEDULE_COLUMNS))

    def _set_fields(self, values, *, user=None, source=None):
        """Update the rows that differ; returns how many changed."""
        differs = Q()
        for field, value in values.items():
            if value is None:
                differs |= Q(**{f"{field}__isnull": False})
            else:
                differs |= Q(**{f"{field}__isnull": True}) | ~Q(**{field: value})
        with transaction.atomic():
            # Under the lock, so that an import's batch cannot write these rows between
            # this read and the update (nor this update land inside its batch).
            changed = self._changing(differs)
            if not changed:
                return 0
            now = clock.now()
            status = values.get("status")
            if status is not None:
                refusals = [r for a in changed if (r := embargo_refusal(a, status, now))]
                if refusals:
                    raise Embargoed(refusals)
            _update(changed, values, status, now)
            described = ", ".join(
                f"{Article._meta.get_field(name).verbose_name} to {value}"
                for name, value in values.items()
            )
            _record([a.pk for a in changed], set(values), user, source, f"Set {described}.")
        return len(changed)


def _update(articles, values, new_status, now):
    """Write `values` to `articles` (read by _changing()), each with the columns that
    follow its move to `new_status` (status_change(); none if None): one UPDATE per
    kind of change, not per article."""
    groups = {}
    for article in articles:
        follows = {}
        if new_status is not None:
            follows = status_change(article, article.status, new_status, now)
        groups.setdefault(tuple(sorted(follows.items())), []).append(article.pk)
    for follows, pks in groups.items():
        for ids in id_batches(pks):
            Article.objects.filter(pk__in=ids).update(**values, **dict(follows))


# What a status change reads and may rewrite besides the status (status_change()).
SCHEDULE_COLUMNS = ("went_live_at", "go_live_at", "take_down_at", "embargo_until")


# A schedule's time this long past with nothing done: the sweep (every minute) did not
# run. Two minutes leave room for a sweep that is on its way.
OVERDUE_AFTER = dt.timedelta(minutes=2)


def _record(ids, fields, user, source, message):
    """changes.record() for a QuerySet write: an editor's change when there is a user."""
    if source is None:
        source = changes.Source.EDITOR if user is not None else changes.Source.SYSTEM
    changes.record(ids, fields, source=source, user=user, message=message)


class Article(models.Model):
    """A news item found on the web, reviewed by editors, then published to readers."""

    class Status(models.TextChoices):
        REVIEW = "review", "In review"
        PUBLISHED = "published", "Published"
        REJECTED = "rejected", "Rejected"

    title = models.CharField(max_length=500)
    slug = models.SlugField(
        max_length=SLUG_MAX_LENGTH,
        help_text="Date plus title, like the source file names. Part of the public URL.",
    )
    excerpt = models.TextField(blank=True)
    body = models.TextField(blank=True, help_text="Markdown.")
    body_html = models.TextField(blank=True, editable=False)
    category = models.CharField(max_length=100, blank=True, default="news")
    type = models.CharField(max_length=50, blank=True, default="article")

    web_url = HttpURLField(help_text="The article on the web: its identity across imports.")
    original_url = HttpURLField(blank=True)
    amp_web_url = HttpURLField(blank=True)
    cdn_amp_web_url = HttpURLField(blank=True)

    published_at = models.DateTimeField(help_text="When the source published it.")
    quality = models.IntegerField(
        null=True,
        blank=True,
        validators=[
            MinValueValidator(0, "Quality must be 0 or more."),
            MaxValueValidator(MAX_INT, f"Quality must be at most {MAX_INT:,}."),
        ],
        help_text="Editorial score, 0 or more. Empty if unknown.",
    )
    heat = models.IntegerField(
        null=True,
        blank=True,
        editable=False,
        validators=[MinValueValidator(UNKNOWN_HEAT, "Heat must be -1 (unknown) or more.")],
        help_text="The heat readers and the API see: computed from quality and coverage, "
        "or the pinned heat (articles/ranking.py). Empty when unknown.",
    )
    # Ranking ("Top"): articles/ranking.py computes `heat` and `score` from the quality,
    # the coverage, the topics, the date and these editor inputs (docs/ranking.md).
    source_heat = models.IntegerField(
        null=True,
        blank=True,
        editable=False,
        help_text="The file's heat as it came (-1: never computed upstream; empty: the file "
        "had none). Exported unchanged; Top does not read it.",
    )
    heat_pin = models.IntegerField(
        null=True,
        blank=True,
        verbose_name="pinned heat",
        validators=[
            MinValueValidator(0, "A pinned heat must be 0 or more."),
            MaxValueValidator(MAX_INT, f"A pinned heat must be at most {MAX_INT:,}."),
        ],
        help_text="Empty: the computed heat. A number here replaces it, and the article "
        "shows it as pinned.",
    )
    boost_hours = models.IntegerField(
        default=0,
        verbose_name="Top boost (hours)",
        validators=[
            MinValueValidator(-BOOST_LIMIT_HOURS, f"At most {BOOST_LIMIT_HOURS} hours of penalty."),
            MaxValueValidator(BOOST_LIMIT_HOURS, f"At most {BOOST_LIMIT_HOURS} hours of boost."),
        ],
        help_text="Hours of freshness in Top, for example +6 for an exclusive, -12 for a "
        f"paywall (from -{BOOST_LIMIT_HOURS} to {BOOST_LIMIT_HOURS}).",
    )
    boost_reason = models.CharField(
        max_length=100, blank=True, help_text="Why, in a few words: shown with the boost."
    )
    score = models.FloatField(
        null=True,
        blank=True,
        editable=False,
        help_text="Top's sort key, from ranking.py; empty when the heat is unknown.",
    )
    status = models.CharField(
        max_length=10,
        choices=Status.choices,
        default=Status.REVIEW,
        help_text="Only published items are shown to readers.",
    )
    went_live_at = models.DateTimeField(
        null=True, blank=True, help_text="When it was first published on this site."
    )
    # Scheduling and embargo (docs/admin.md "Scheduling and embargoes"): stored in UTC,
    # entered and shown in the site's time zone. The rules: visible_at(),
    # status_change(), embargo_refusal().
    go_live_at = models.DateTimeField(
        null=True,
        blank=True,
        verbose_name="go live at",
        help_text="Leave it in review and set a time: readers see it from then on.",
    )
    take_down_at = models.DateTimeField(
        null=True,
        blank=True,
        verbose_name="take down at",
        help_text="Readers stop seeing it at this time; it returns to review.",
    )
    embargo_until = models.DateTimeField(
        null=True,
        blank=True,
        verbose_name="embargo until",
        help_text="Nobody can publish it, nor schedule it, before this time.",
    )

    provider = models.ForeignKey(Provider, on_delete=models.PROTECT, related_name="articles")
    topics = TaggableManager(through=TaggedTopic, blank=True, related_name="articles")
    related_stories = models.ManyToManyField(
        "self",
        blank=True,
        help_text="Other articles on this site about the same story (links run both ways).",
    )
    secured = models.TextField(blank=True, editable=False, help_text="Opaque; kept verbatim.")

    lead_image = models.ImageField(upload_to="lead-images/%Y/%m/", blank=True)
    lead_thumbnail = models.ImageField(upload_to="lead-images/thumbs/%Y/%m/", blank=True)

    # What the last import wrote, to tell an editor's change from a source change.
    imported = models.JSONField(default=dict, blank=True, editable=False)
    import_hash = models.CharField(max_length=64, blank=True, editable=False, db_index=True)
    source_path = models.CharField(max_length=1000, blank=True, editable=False)
    last_import_run = models.ForeignKey(
        "ImportRun", null=True, blank=True, on_delete=models.SET_NULL, editable=False
    )
    import_conflicts = models.JSONField(
        default=list,
        blank=True,
        editable=False,
        help_text="Fields the last import left alone because an editor had changed them.",
    )

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    # Full-text search (articles/search.py). On PostgreSQL a trigger fills it on every
    # write, bulk ones included, and a GIN index covers it (migration 0003); the index
    # is not declared here because SQLite could not build it. Unused on SQLite.
    search_vector = SearchVectorField(null=True, editable=False)

    objects = ArticleQuerySet.as_manager()

    class Meta:
        ordering = ("-published_at", "-id")
        get_latest_by = "published_at"
        permissions = [("publish_article", "Can publish articles")]
        constraints = [
            models.UniqueConstraint(fields=["web_url"], name="article_unique_web_url"),
            models.UniqueConstraint(fields=["slug"], name="article_unique_slug"),
            models.CheckConstraint(
                condition=Q(quality__isnull=True) | Q(quality__gte=0),
                name="article_quality_non_negative",
            ),
            models.CheckConstraint(
                condition=Q(heat__isnull=True) | Q(heat__gte=UNKNOWN_HEAT),
                name="article_heat_min_minus_one",
            ),
            models.CheckConstraint(
                condition=Q(status__in=["review", "published", "rejected"]),
                name="article_status_valid",
            ),
            models.CheckConstraint(
                condition=Q(source_heat__isnull=True) | Q(source_heat__gte=-1),
                name="article_source_heat_min_minus_one",
            ),
            models.CheckConstraint(
                condition=Q(heat_pin__isnull=True) | Q(heat_pin__gte=0),
                name="article_heat_pin_non_negative",
            ),
            models.CheckConstraint(
                condition=Q(boost_hours__gte=-BOOST_LIMIT_HOURS)
                & Q(boost_hours__lte=BOOST_LIMIT_HOURS),
                name="article_boost_hours_range",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "-published_at"], name="article_status_date"),
            # "Top" (ranking.ORDERINGS). SQLite puts NULLs last in DESC order already;
            # PostgreSQL puts them first, so it has its own index (migration 0010).
            models.Index(
                fields=["status", "-score", "-published_at", "-id"], name="article_top_score"
            ),
            models.Index(fields=["provider", "status", "-published_at"], name="article_provider"),
            # The sweep's and the admin's "Scheduled" look-ups, among the few scheduled rows.
            models.Index(
                fields=["go_live_at"], condition=Q(go_live_at__isnull=False), name="article_go_live"
            ),
            models.Index(
                fields=["take_down_at"],
                condition=Q(take_down_at__isnull=False),
                name="article_take_down",
            ),
        ]

    def __str__(self):
        return self.title

    def save(self, *args, **kwargs):
        self.heat = stored_heat(self.heat)
        if not self.slug:
            self.slug = make_slug(self.published_at, self.title)
        self.body_html = self._rendered_body()
        now = clock.now()
        refusal = embargo_refusal(self, self.status, now)
        if refusal:
            raise Embargoed(refusal, code="embargo")
        for name, value in status_change(self, self._stored[0], self.status, now).items():
            setattr(self, name, value)
        super().save(*args, **kwargs)
        self._stored = (self.status, self.go_live_at)

    def get_absolute_url(self):
        return article_address(self.slug, self.published_at)

    # (status, go_live_at) as read from the database ((None, None) for a new article):
    # status_change() and the form's checks need to know what the article leaves.
    _stored = (None, None)

    @classmethod
    def from_db(cls, db, field_names, values):
        article = super().from_db(db, field_names, values)
        loaded = article.__dict__  # a deferred field is not read for this
        article._stored = (loaded.get("status"), loaded.get("go_live_at"))
        return article

    def clean(self):
        # Quality, heat and the URLs are checked by their fields' validators.
        errors = {}
        size = len(self.body.encode("utf-8"))
        if size > settings.NEWSROOM_IMPORT_MAX_BODY_BYTES:
            errors["body"] = (
                f"The body is {size:,} bytes; at most "
                f"{settings.NEWSROOM_IMPORT_MAX_BODY_BYTES:,} are allowed."
            )
        else:
            try:
                self._rendered_body()
            except RenderError as exc:
                errors["body"] = f"This Markdown cannot be shown: {exc}."
        errors.update(self._schedule_errors(clock.now()))
        if errors:
            raise ValidationError(errors)

    def _schedule_errors(self, now):
        """{field: message} for a schedule or embargo that cannot hold (the form's)."""
        errors = {}
        published = self.status == self.Status.PUBLISHED
        stored_status, stored_go_live_at = self._stored
        was_live = stored_status == self.Status.PUBLISHED and (
            stored_go_live_at is None or stored_go_live_at <= now
        )
        if embargo_refusal(self, self.status, now):
            embargo = local_text(self.embargo_until)
            if self.go_live_at is not None:
                errors["go_live_at"] = (
                    f"It is under embargo until {embargo}: schedule it for then or later."
                )
            elif was_live:
                errors["embargo_until"] = (
                    "It is live: return it to review before putting it under embargo."
                )
            else:
                errors["status"] = embargo_refusal(self, self.status, now)
        if self.go_live_at is not None and "go_live_at" not in errors:
            if not published:
                errors["go_live_at"] = (
                    "To schedule it, choose “Published” as the status too: readers see it "
                    "from this time on."
                )
            elif was_live and self.go_live_at > now:
                errors["go_live_at"] = (
                    "It is live already: return it to review first to schedule it again."
                )
        if self.take_down_at is not None:
            if not published:
                errors["take_down_at"] = (
                    "Only a published or scheduled item is taken down: choose “Published”, "
                    "or leave this empty."
                )
            elif self.go_live_at is not None and self.take_down_at <= self.go_live_at:
                errors["take_down_at"] = "Take it down after it goes live."
        return errors

    def _rendered_body(self) -> str:
        """The body as HTML, rendered once for clean() and save() alike."""
        cached = getattr(self, "_body_rendering", None)
        if cached is None or cached[0] != self.body:
            cached = (self.body, render_body(self.body))
            self._body_rendering = cached
        return cached[1]

    @property
    def is_published(self):
        """Whether readers see it now: visible_at(), for one article in memory."""
        now = clock.now()
        return (
            self.status == self.Status.PUBLISHED
            and not (self.go_live_at is not None and self.go_live_at > now)
            and not (self.take_down_at is not None and self.take_down_at <= now)
            and not (self.embargo_until is not None and self.embargo_until > now)
        )

    @property
    def schedule_overdue(self):
        """A time of its schedule passed a while ago and no sweep acted on it: no worker
        ran. Readers saw the change on time all the same (visible_at)."""
        if self.status != self.Status.PUBLISHED:
            return False
        late = clock.now() - OVERDUE_AFTER
        return any(moment is not None and moment <= late for moment in self.schedule_times)

    @property
    def schedule_times(self):
        return (self.go_live_at, self.take_down_at)

    @property
    def lead_image_record(self):
        """The first imported image (uses the prefetch cache when present)."""
        images = list(self.images.all())
        return images[0] if images else None


class ArticleImage(models.Model):
    """An image of an article, in file order (the first is the lead image)."""

    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="images")
    position = models.PositiveSmallIntegerField(default=0)
    url = HttpURLField()
    width = models.PositiveIntegerField(null=True, blank=True)
    height = models.PositiveIntegerField(null=True, blank=True)
    is_cached = models.BooleanField(null=True, blank=True)
    title = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ("article", "position", "id")

    def __str__(self):
        return self.url


class RelatedCoverage(models.Model):
    """Another outlet's article on the same story, as listed in the file's `related:`.

    The provider is kept as written in the file (names vary per mention); when the
    URL is an article on this site, `linked_article` points at it.
    """

    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="coverage")
    position = models.PositiveSmallIntegerField(default=0)
    title = models.CharField(max_length=500)
    excerpt = models.TextField(blank=True)
    published_at = models.DateTimeField(null=True, blank=True)
    url = HttpURLField()
    amp_web_url = HttpURLField(blank=True)
    cdn_amp_web_url = HttpURLField(blank=True)
    type = models.CharField(max_length=50, blank=True, default="article")
    provider_name = models.CharField(max_length=200, blank=True)
    provider_domain = models.CharField(max_length=253, blank=True)
    quality = models.IntegerField(
        null=True, blank=True, validators=[MinValueValidator(0, "Quality must be 0 or more.")]
    )
    images = models.JSONField(
        default=list, blank=True, help_text="A list of {url, width, height, isCached}."
    )
    linked_article = models.ForeignKey(
        Article, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ("article", "position", "id")
        verbose_name_plural = "related coverage"
        indexes = [
            # The importer looks coverage up by URL to link stories already on the site.
            models.Index(fields=["url"], name="coverage_url"),
        ]

    def __str__(self):
        return self.title

    @property
    def image(self):
        return self.images[0] if self.images else None


def _data_fields(model, *, besides=()) -> tuple[str, ...]:
    """The model's own columns, in declaration order: not its id, nor `besides`."""
    return tuple(
        f.attname
        for f in model._meta.concrete_fields
        if not f.primary_key and f.name not in besides
    )


# What an image holds, without where it hangs (its article and position): the columns
# the public pages and the API read.
IMAGE_DATA_FIELDS = _data_fields(ArticleImage, besides=("article", "position"))


ABANDONED_REASON = "the import process ended without finishing (killed?)"


def process_alive(pid) -> bool:
    """Whether process `pid` of this machine still runs (a zombie counts as ended)."""
    if not pid or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # PermissionError: someone else's process, so it exists
        return True
    try:  # Linux: a killed process stays a zombie until its parent reaps it
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


class ImportRunQuerySet(models.QuerySet):
    def mark_abandoned(self) -> int:
        """Mark failed the runs still "running" whose process is gone; returns how many.

        Gone: it ran on this machine and its pid is not alive any more, or it gave no
        sign of life (a committed batch) for NEWSROOM_IMPORT_STALE_MINUTES. A run
        killed with SIGKILL (or whose machine died) can record nothing itself: the
        next import, and the admin's list of runs, call this.
        """
        running = self.filter(status=ImportRun.Status.RUNNING)
        here = socket.gethostname()
        dead = [
            pk
            for pk, pid in running.filter(hostname=here, pid__isnull=False).values_list("pk", "pid")
            if not process_alive(pid)
        ]
        stale_before = timezone.now() - dt.timedelta(minutes=settings.NEWSROOM_IMPORT_STALE_MINUTES)
        silent = Q(heartbeat_at__lt=stale_before) | Q(
            heartbeat_at__isnull=True, started_at__lt=stale_before
        )
        return running.filter(Q(pk__in=dead) | silent).update(
            status=ImportRun.Status.FAILED, failure_reason=ABANDONED_REASON
        )


class ImportRun(models.Model):
    """One run of `manage.py import_yaml`: what it was asked to do and what happened.

    The importer creates it "running", saves the counts in the transaction of every
    batch it commits (so they are true even if the run dies later) and ends it
    "finished" or "failed" with a one-line reason. A run that could not say so itself
    (SIGKILL, a lost machine) is marked failed later by `mark_abandoned()`.
    """

    class Status(models.TextChoices):
        RUNNING = "running", "Running"
        FINISHED = "finished", "Finished"
        FAILED = "failed", "Failed"

    status = models.CharField(max_length=10, choices=Status.choices, default=Status.RUNNING)
    failure_reason = models.TextField(blank=True, help_text="Why the run failed, in one line.")
    hostname = models.CharField(max_length=255, blank=True, help_text="The machine it ran on.")
    pid = models.PositiveIntegerField(null=True, blank=True, help_text="Its process id there.")
    heartbeat_at = models.DateTimeField(
        null=True, blank=True, help_text="Its last sign of life: when it last saved its counts."
    )
    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    command = models.TextField(blank=True)
    paths = models.JSONField(default=list, blank=True)
    dry_run = models.BooleanField(default=False)
    files = models.PositiveIntegerField(default=0)
    created = models.PositiveIntegerField(default=0)
    updated = models.PositiveIntegerField(default=0)
    unchanged = models.PositiveIntegerField(default=0)
    conflicts = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    topics = models.PositiveIntegerField(default=0)
    failures = models.JSONField(default=list, blank=True)
    conflict_details = models.JSONField(default=list, blank=True)
    warnings = models.JSONField(default=list, blank=True)

    # The command of the watched folders' runs (how the sweep finds the last one), and
    # of uploads' (upload_command): what `origin` tells apart.
    WATCH_COMMAND = "watched folders (worker sweep)"
    UPLOAD_PREFIX = "uploaded by "

    objects = ImportRunQuerySet.as_manager()

    class Meta:
        ordering = ("-started_at", "-id")
        indexes = [
            # mark_abandoned() looks for the (few) running ones among thousands of runs.
            models.Index(
                fields=["status"], condition=Q(status="running"), name="importrun_running"
            ),
        ]

    def __str__(self):
        return f"Import #{self.pk} at {self.started_at:%Y-%m-%d %H:%M}"

    @property
    def summary(self):
        return (
            f"{self.created} created, {self.updated} updated, {self.unchanged} unchanged, "
            f"{self.conflicts} conflicts, {self.failed} failed"
        )

    @classmethod
    def upload_command(cls, username: str, files: int) -> str:
        return f"{cls.UPLOAD_PREFIX}{username}: {files} file{'' if files == 1 else 's'}"

    @property
    def origin(self) -> str:
        """What started it: "command line", "watched folder" or "upload"."""
        if self.command == self.WATCH_COMMAND:
            return "watched folder"
        return "upload" if self.command.startswith(self.UPLOAD_PREFIX) else "command line"

    @property
    def outcome(self) -> str:
        """Clean, or what needs a look: its failures and conflicts."""
        counts = ((self.failed, "failure"), (self.conflicts, "conflict"))
        needs = [f"{n} {word}{'' if n == 1 else 's'}" for n, word in counts if n]
        return ", ".join(needs) or "clean"


class ImportUpload(models.Model):
    """Files an editor uploaded to import from the admin, kept until confirmed or cancelled.

    The bytes live in the database (ImportUploadFile), not on a web server's disk, so
    the preview, the confirmation and the worker that applies it may each run on a
    different machine. A preview is a dry run of the Importer (articles/ingest/uploads.py)
    whose outcome per file is stored on the file's row; confirming runs the same files
    for real, checking that their bytes and articles are still those the preview saw.
    """

    class Status(models.TextChoices):
        PREVIEWING = "previewing", "Preparing the preview"
        PREVIEWED = "previewed", "Previewed: waiting for confirmation"
        APPLYING = "applying", "Importing"
        DONE = "done", "Imported"
        FAILED = "failed", "Failed"

    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    name = models.CharField(max_length=255, help_text="What was uploaded, as the editor named it.")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PREVIEWING)
    failure_reason = models.TextField(blank=True)
    total = models.PositiveIntegerField(default=0, help_text="Files uploaded.")
    done = models.PositiveIntegerField(default=0, help_text="Files imported so far.")
    import_run = models.ForeignKey(
        ImportRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # The queued task that previews or applies it: the sweep marks the upload failed
    # when that task failed without saying so itself (its worker was lost).
    task_id = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ("-created_at", "-id")
        permissions = [("import_articles", "Can import articles from uploaded files")]

    def __str__(self):
        return f"Upload #{self.pk}: {self.name}"


class ImportUploadFile(models.Model):
    """One uploaded file: its name, bytes and SHA-256, and what the preview said of it."""

    upload = models.ForeignKey(ImportUpload, on_delete=models.CASCADE, related_name="files")
    position = models.PositiveIntegerField()
    name = models.CharField(max_length=1000)
    data = models.BinaryField()
    sha256 = models.CharField(max_length=64)
    outcome = models.CharField(max_length=10, blank=True, help_text="The preview's outcome.")
    # The preview's details: changes [{field, old, new}], conflicts, error, warnings,
    # and `seen` (the article as the preview found it, checked again at confirmation).
    detail = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ("position",)
        constraints = [
            models.UniqueConstraint(fields=["upload", "position"], name="upload_file_position")
        ]
        indexes = [models.Index(fields=["upload", "outcome"], name="upload_file_outcome")]

    def __str__(self):
        return self.name


def make_slug(published_at, title):
    """`2020-12-10-facial-recognition-is-running-amok...`, like the corpus file names."""
    date = published_at.date().isoformat() if published_at else timezone.now().date().isoformat()
    return f"{date}-{slugify(title)}"[:SLUG_MAX_LENGTH].rstrip("-") or date


def render_body(markdown_text):
    """Sanitised HTML of a body; raises RenderError where Markdown would recurse or run long."""
    return render_markdown(markdown_text, time_limit=settings.NEWSROOM_RENDER_TIME_LIMIT)


class ShareLinkQuerySet(models.QuerySet):
    def live(self):
        """Links that still open their article: neither revoked nor expired."""
        return self.filter(revoked_at__isnull=True, expires_at__gt=timezone.now())


class ShareLink(models.Model):
    """A private link that shows one unpublished article to someone without an account.

    The address carries `token` signed with the site's secret (articles/sharing.py);
    the row lets an editor list, count and revoke it. It grants reading that one
    article and nothing else.
    """

    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="share_links")
    token = models.CharField(max_length=64, unique=True, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    views = models.PositiveIntegerField(default=0, help_text="Opened by people (not crawlers).")
    last_viewed_at = models.DateTimeField(null=True, blank=True)

    objects = ShareLinkQuerySet.as_manager()

    class Meta:
        ordering = ("-created_at", "-id")

    def __str__(self):
        return f"Share link for “{self.article}” until {self.expires_at:%Y-%m-%d %H:%M}"

    @property
    def is_expired(self):
        return self.expires_at <= timezone.now()

    @property
    def is_live(self):
        return self.revoked_at is None and not self.is_expired


# -- The task queue's own records (articles/tasks.py, manage.py worker) -----------------


def lost_after() -> dt.timedelta:
    """How long a worker may go without a heartbeat before it counts as lost."""
    return dt.timedelta(seconds=settings.NEWSROOM_WORKER_LOST_SECONDS)


class WorkerHeartbeatQuerySet(models.QuerySet):
    def silent(self, now):
        """Workers that have sent no heartbeat for NEWSROOM_WORKER_LOST_SECONDS: lost."""
        return self.filter(last_seen_at__lt=now - lost_after())


class WorkerHeartbeat(models.Model):
    """A `manage.py worker` process, as it last reported itself.

    The worker writes its row before it claims a task, refreshes `last_seen_at` every
    NEWSROOM_WORKER_HEARTBEAT_SECONDS and deletes the row when it stops cleanly. A row
    that stops moving belongs to a worker that was killed or lost its machine: the
    sweep marks the task it was running failed (articles.tasks.fail_tasks_of_lost_workers).
    """

    # The id django-tasks-db records on each task result the worker claims (worker_ids).
    worker_id = models.CharField(max_length=64, unique=True)
    hostname = models.CharField(max_length=255)
    pid = models.PositiveIntegerField()
    queues = models.CharField(max_length=255, help_text="The queues it takes tasks from.")
    started_at = models.DateTimeField()
    last_seen_at = models.DateTimeField()

    objects = WorkerHeartbeatQuerySet.as_manager()

    class Meta:
        ordering = ("started_at", "worker_id")

    def __str__(self):
        return f"worker {self.worker_id} on {self.hostname} (pid {self.pid})"

    def is_silent(self, now) -> bool:
        return self.last_seen_at < now - lost_after()


class Sweep(models.Model):
    """One minute's sweep, put on the queue by the first worker to see that minute begin.

    `minute` is unique, and the row is inserted in the same transaction as the sweep's
    task (articles.tasks.schedule_sweep): however many workers try, one row and one
    task exist for each minute.
    """

    minute = models.DateTimeField(unique=True)
    result_id = models.UUIDField(help_text="The sweep's task result (django-tasks-db).")
    scheduled_by = models.CharField(max_length=64, help_text="The worker that enqueued it.")

    class Meta:
        ordering = ("-minute",)

    def __str__(self):
        return f"sweep of {self.minute:%Y-%m-%d %H:%M}"


# Stories (issue 19): one event, many outlets. The rules (URL keys, candidate search,
# scoring, editors' decisions) are in articles/stories/; these are only the rows.


class Story(models.Model):
    """Articles (and coverage entries) that report the same specific event.

    Its mentions (`StoryMention`, `mentions`) are the member articles and the coverage
    entries found to be about it. The lead stands for the story in lists; an editor
    may choose it (`lead_chosen`), otherwise the grouping picks one.
    """

    lead = models.ForeignKey(
        Article, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    lead_chosen = models.BooleanField(
        default=False, help_text="An editor chose the lead; the grouping keeps it."
    )
    first_seen = models.DateTimeField(null=True, blank=True)
    last_seen = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ("-last_seen", "-id")
        verbose_name_plural = "stories"
        indexes = [models.Index(fields=["-last_seen", "-id"], name="story_last_seen")]

    def __str__(self):
        title = self.lead.title if self.lead_id and self.lead else "(no lead)"
        return f"Story #{self.pk}: {title}"


class StoryMention(models.Model):
    """One article or coverage entry as the story grouping sees it.

    Each article has one `article` row (its story, whether it leads it, whether an
    editor placed it there), one `alias` row per other URL key it is known by
    (original, AMP), and one `coverage` row per entry of its coverage list. `key` is
    the URL's equivalence key (articles/urlkeys.py): the stored URLs stay as imported.
    `features` are the words the matching compares (articles/stories/text.py).
    Written only by articles/stories/.
    """

    class Kind(models.TextChoices):
        ARTICLE = "article", "Article"
        ALIAS = "alias", "Another URL of the article"
        COVERAGE = "coverage", "Coverage entry"

    kind = models.CharField(max_length=10, choices=Kind.choices)
    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="story_mentions")
    # The coverage row, without a database constraint: coverage lists are rewritten
    # whole by imports, and their mentions with them (stories.record_mentions).
    coverage = models.ForeignKey(
        RelatedCoverage,
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        db_index=False,
        related_name="+",
    )
    key = models.CharField(max_length=2000)
    outlet = models.CharField(max_length=253, blank=True)
    published_at = models.DateTimeField(null=True, blank=True)
    features = models.TextField(blank=True)
    story = models.ForeignKey(
        Story,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        db_index=False,  # the partial index below
        related_name="mentions",
    )
    is_lead = models.BooleanField(default=False)
    pinned = models.BooleanField(
        default=False, help_text="Placed by an editor: the automatic grouping never moves it."
    )
    score = models.FloatField(null=True, blank=True)
    signals = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ("id",)
        constraints = [
            models.UniqueConstraint(
                fields=["article"], condition=Q(kind="article"), name="mention_one_per_article"
            ),
        ]
        indexes = [
            models.Index(fields=["key"], name="mention_key"),
            models.Index(
                fields=["published_at"], condition=~Q(kind="alias"), name="mention_published"
            ),
            models.Index(fields=["story"], condition=Q(story__isnull=False), name="mention_story"),
        ]

    def __str__(self):
        return f"{self.kind} {self.key}"


class StoryProposal(models.Model):
    """A borderline match the grouping did not make on its own: an editor decides."""

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        ACCEPTED = "accepted", "Accepted"
        DISMISSED = "dismissed", "Dismissed"

    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="+")
    match = models.ForeignKey(
        Article,
        on_delete=models.CASCADE,
        related_name="+",
        help_text="The article of the story it resembles most.",
    )
    score = models.FloatField()
    signals = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    created_at = models.DateTimeField(auto_now_add=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ("-score", "-id")
        constraints = [
            models.UniqueConstraint(
                fields=["article", "match"],
                condition=Q(status="open"),
                name="proposal_one_open_per_pair",
            ),
        ]
        indexes = [models.Index(fields=["status", "-score"], name="proposal_status")]

    def __str__(self):
        return f"Proposal #{self.pk} ({self.status}, {self.score:.2f})"


class StoryApart(models.Model):
    """Two articles an editor said are not one story (a split or a dismissed proposal):
    the grouping never puts them together again, nor proposes it."""

    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="+")
    other = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="+")
    reason = models.CharField(max_length=20)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["article", "other"], name="apart_unique_pair"),
            models.CheckConstraint(
                condition=Q(article__lt=models.F("other")), name="apart_ordered"
            ),
        ]

    def __str__(self):
        return f"{self.article_id} apart from {self.other_id}"


# -- The image cache (articles/imagecache/, README "Images") ----------------------------


class StoredImage(models.Model):
    """One picture we host, stored once by the SHA-256 of its bytes, with its renditions.

    The files live in the media storage under `images/<hash[:2]>/<hash>/`: the original
    as fetched (or uploaded) and one rendition per width in `widths`, each as WebP and
    as `fallback` (JPEG, or PNG for pictures with transparency). Several URLs (and so
    several articles) showing the same bytes share one row and one set of files.
    """

    sha256 = models.CharField(max_length=64, unique=True, help_text="Of the original bytes.")
    format = models.CharField(max_length=10, help_text="The original's real format (Pillow's).")
    width = models.PositiveIntegerField(help_text="The original's width in pixels.")
    height = models.PositiveIntegerField(help_text="The original's height in pixels.")
    bytes = models.PositiveIntegerField(help_text="The original's size.")
    original_name = models.CharField(
        max_length=200, help_text="The original's name in the media storage."
    )
    fallback = models.CharField(max_length=4, help_text="jpg or png: the renditions besides WebP.")
    widths = models.JSONField(default=list, help_text="The renditions' widths, smallest first.")
    served_bytes = models.JSONField(
        default=dict, help_text='Each rendition\'s size: {"800.webp": 31234, ...}.'
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = "stored image"

    def __str__(self):
        return f"{self.width}×{self.height} {self.format} {self.sha256[:12]}"


class ImageSource(models.Model):
    """An image URL the pages show (a lead image, an outlet's logo, a coverage thumbnail),
    and what became of fetching it.

    Pending until the fetcher first tries it, then cached (`picture` set) or failed with
    `failure_reason`. `next_attempt_at` is when the sweep should (re)try it: set for a
    new URL and after a failure worth retrying (back-off), empty once it is cached or
    failed for good. An editor can retry it or replace it with a file (`replaced`:
    the fetcher then leaves it alone).
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        CACHED = "cached", "Cached"
        FAILED = "failed", "Failed"

    # The URL as the article, provider or coverage row holds it: pages look it up by it.
    url = models.CharField(max_length=2000, unique=True)
    host = models.CharField(max_length=253, db_index=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    failure_reason = models.TextField(blank=True)
    picture = models.ForeignKey(
        StoredImage, null=True, blank=True, on_delete=models.PROTECT, related_name="sources"
    )
    replaced = models.BooleanField(
        default=False, help_text="An editor replaced it with a file: never fetched again."
    )
    attempts = models.PositiveIntegerField(default=0, help_text="Fetches since the last success.")
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    leased_until = models.DateTimeField(
        null=True, blank=True, help_text="A worker is fetching it until then."
    )
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    fetched_at = models.DateTimeField(null=True, blank=True, help_text="When it was last cached.")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ("-created_at", "-id")
        verbose_name = "cached image"
        indexes = [
            # The sweep's question: what is due now?
            models.Index(
                fields=["next_attempt_at"],
                condition=Q(next_attempt_at__isnull=False),
                name="imagesource_due",
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=["pending", "cached", "failed"]),
                name="imagesource_status_valid",
            ),
            models.CheckConstraint(
                condition=~Q(status="cached") | Q(picture__isnull=False),
                name="imagesource_cached_has_picture",
            ),
        ]

    def __str__(self):
        return self.url


class ImageHost(models.Model):
    """A host we fetch images from: the row that per-host concurrency locks on."""

    name = models.CharField(max_length=253, unique=True)

    def __str__(self):
        return self.name


# Revisions (issue 15): what every change did to an article, written by the receiver of
# changes.articles_changing (articles/revisions.py says how); only the rows are here.


class Revision(models.Model):
    """One recorded change of one article: who, when, how, and each changed field's
    value before and after (`changes`: {field: [before, after]}, or [after] alone when
    the value before was never recorded). Numbered 1, 2, ... per article."""

    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="revisions")
    number = models.PositiveIntegerField()
    created_at = models.DateTimeField()
    source = models.CharField(
        max_length=10, choices=[(s.value, s.name.title()) for s in changes.Source]
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    import_run = models.ForeignKey(
        "ImportRun", null=True, blank=True, on_delete=models.SET_NULL, related_name="revisions"
    )
    message = models.TextField(blank=True)
    created = models.BooleanField(default=False, help_text="The change that created the article.")
    changes = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ("article", "-number")
        constraints = [
            models.UniqueConstraint(fields=["article", "number"], name="revision_unique_number")
        ]
        indexes = [models.Index(fields=["created_at"], name="revision_created_at")]

    def __str__(self):
        return f"Revision {self.number} of article {self.article_id}"


class RevisedState(models.Model):
    """An article's values as of its last revision: the next revision's "before".

    `number` is its last revision's; `held` ({field: value}) are the fields an editor
    reverted, which the importer's merge counts as the editor's while they keep that
    value (docs/revisions.md).
    """

    article = models.OneToOneField(
        Article, primary_key=True, on_delete=models.CASCADE, related_name="revised_state"
    )
    number = models.PositiveIntegerField(default=0)
    values = models.JSONField(default=dict)
    held = models.JSONField(default=dict, blank=True)

    def __str__(self):
        return f"State of article {self.article_id} at revision {self.number}"
