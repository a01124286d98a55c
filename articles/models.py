"""The news items and everything hanging off them.

Rules live on the QuerySets (`Article.objects.published()`, `.publish()`, ...): the
admin, the public site, the API and the importer all call them, so they cannot
disagree about what "published" means.
"""

import datetime as dt
import os
import socket

from django.conf import settings
from django.contrib.postgres.search import SearchVectorField
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.text import slugify
from taggit.managers import TaggableManager
from taggit.models import TagBase, TaggedItemBase

from .addresses import article_address, provider_url, topic_url
from .caching import invalidate_public_pages
from .itemfile import COVERAGE_FIELDS, IMAGE_FIELDS, PLAIN_FIELDS, iso_datetime, plain_values
from .links import is_http_url
from .rendering import RenderError, render_markdown

SLUG_MAX_LENGTH = 200

# Bulk editor actions touch rows by id in slices of this many: one statement can carry
# only so many parameters (SQLite builds may allow just 999; PostgreSQL 65,535 with the
# server-side binding newsroom/settings.py turns on), and "select all" in the admin can
# pick every article.
ID_BATCH_SIZE = 900


def _id_batches(objects):
    """The primary keys of `objects`, in lists of at most ID_BATCH_SIZE."""
    ids = [obj.pk for obj in objects]
    return [ids[start : start + ID_BATCH_SIZE] for start in range(0, len(ids), ID_BATCH_SIZE)]


def validate_http_url(value):
    if value and not is_http_url(value):
        raise ValidationError("Only http:// and https:// URLs are allowed.", code="scheme")


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
    # The taxonomy file's own fields, kept to export and re-import faithfully.
    taxonomy_data = models.JSONField(default=dict, blank=True, editable=False)

    class Meta:
        ordering = ("name",)
        verbose_name = "topic"
        verbose_name_plural = "topics"

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

    class Meta:
        ordering = ("id",)
        constraints = [
            models.UniqueConstraint(
                fields=["content_object", "tag"], name="taggedtopic_unique_article_topic"
            )
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


class ArticleQuerySet(models.QuerySet):
    def published(self):
        return self.filter(status=Article.Status.PUBLISHED)

    def in_review(self):
        return self.filter(status=Article.Status.REVIEW)

    def rejected(self):
        return self.filter(status=Article.Status.REJECTED)

    def with_listing_data(self):
        """Everything a list of cards shows, in a constant number of queries."""
        return self.select_related("provider").prefetch_related("topics", "images")

    def publish(self, *, user=None):
        """Publish every article in the queryset; returns how many changed."""
        return self._set_status(Article.Status.PUBLISHED, user=user)

    def return_to_review(self, *, user=None):
        return self._set_status(Article.Status.REVIEW, user=user)

    def reject(self, *, user=None):
        return self._set_status(Article.Status.REJECTED, user=user)

    def set_quality(self, quality, *, user=None):
        if quality is not None and quality < 0:
            raise ValidationError("Quality must be 0 or more.")
        return self._set_fields({"quality": quality}, user=user)

    def set_heat(self, heat, *, user=None):
        if heat is not None and heat < -1:
            raise ValidationError("Heat must be -1 (unknown) or more.")
        if heat == -1:
            heat = None
        return self._set_fields({"heat": heat}, user=user)

    def add_topic(self, topic, *, user=None):
        """Tag every article that lacks `topic`; returns how many changed."""
        with transaction.atomic():
            changed = list(self.exclude(topics=topic).locked())
            TaggedTopic.objects.bulk_create(
                [TaggedTopic(content_object=article, tag=topic) for article in changed],
                ignore_conflicts=True,
            )
            self._touched(changed, user, f"Added topic “{topic.name}”.")
        return len(changed)

    def remove_topic(self, topic, *, user=None):
        """Untag every article that has `topic`; returns how many changed."""
        with transaction.atomic():
            changed = list(self.filter(topics=topic).locked())
            for ids in _id_batches(changed):
                TaggedTopic.objects.filter(content_object__in=ids, tag=topic).delete()
            self._touched(changed, user, f"Removed topic “{topic.name}”.")
        return len(changed)

    def _touched(self, articles, user, message):
        """Bump updated_at (the admin's stale-edit guard reads it) and log each article."""
        if not articles:
            return
        now = timezone.now()
        for ids in _id_batches(articles):
            Article.objects.filter(pk__in=ids).update(updated_at=now)
        invalidate_public_pages()  # bulk writes send no signals for the page cache
        for article in articles:
            article.log_change(user, message)

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

    def _set_status(self, status, *, user=None):
        return self._set_fields({"status": status}, user=user)

    def _set_fields(self, values, *, user=None):
        """Update the rows that differ, write one history entry per changed article."""
        differs = Q()
        for field, value in values.items():
            if value is None:
                differs |= Q(**{f"{field}__isnull": False})
            else:
                differs |= Q(**{f"{field}__isnull": True}) | ~Q(**{field: value})
        with transaction.atomic():
            # Under the lock, so that an import's batch cannot write these rows between
            # this read and the update (nor this update land inside its batch).
            changed = list(self.filter(differs).locked())
            if not changed:
                return 0
            now = timezone.now()
            for ids in _id_batches(changed):
                if values.get("status") == Article.Status.PUBLISHED:
                    # went_live_at is set once, the first time an item goes public.
                    Article.objects.filter(pk__in=ids, went_live_at__isnull=True).update(
                        went_live_at=now
                    )
                Article.objects.filter(pk__in=ids).update(**values, updated_at=now)
            invalidate_public_pages()  # .update() sends no signal for the page cache to hear
            described = ", ".join(f"{name} to {value}" for name, value in values.items())
            for article in changed:
                article.log_change(user, f"Set {described}.")
        return len(changed)


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
        validators=[MinValueValidator(0, "Quality must be 0 or more.")],
        help_text="Editorial score, 0 or more (no upper limit). Empty if unknown.",
    )
    heat = models.IntegerField(
        null=True,
        blank=True,
        validators=[MinValueValidator(-1, "Heat must be -1 (unknown) or more.")],
        help_text="Trending score. Empty (or -1 in files) means unknown.",
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
                condition=Q(heat__isnull=True) | Q(heat__gte=-1), name="article_heat_min_minus_one"
            ),
            models.CheckConstraint(
                condition=Q(status__in=["review", "published", "rejected"]),
                name="article_status_valid",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "-published_at"], name="article_status_date"),
            models.Index(
                fields=["status", "-heat", "-quality", "-published_at"], name="article_status_top"
            ),
            models.Index(fields=["provider", "status", "-published_at"], name="article_provider"),
        ]

    def __str__(self):
        return self.title

    def save(self, *args, **kwargs):
        if self.heat == -1:
            self.heat = None
        if not self.slug:
            self.slug = make_slug(self.published_at, self.title)
        self.body_html = self._rendered_body()
        if self.status == self.Status.PUBLISHED and self.went_live_at is None:
            self.went_live_at = timezone.now()
        super().save(*args, **kwargs)

    def get_absolute_url(self):
        return article_address(self.slug, self.published_at)

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
        if errors:
            raise ValidationError(errors)

    def _rendered_body(self) -> str:
        """The body as HTML, rendered once for clean() and save() alike."""
        cached = getattr(self, "_body_rendering", None)
        if cached is None or cached[0] != self.body:
            cached = (self.body, render_body(self.body))
            self._body_rendering = cached
        return cached[1]

    def current_values(self) -> dict:
        """The article as `itemfile.Item.field_values()` would describe it.

        The three-way merge compares this with what the last import wrote, the admin
        uses it to mark fields an editor changed, and the exporter writes it out.
        Uses prefetched topics, images and coverage when they are there.
        """
        return {
            **plain_values(self, PLAIN_FIELDS),
            "published_at": iso_datetime(self.published_at),
            "status": self.status,
            "provider": self.provider.domain,
            "topics": [link.tag.name for link in self.tagged_topics.all()],
            "images": [image.to_dict() for image in self.images.all()],
            "coverage": [entry.to_dict() for entry in self.coverage.all()],
        }

    def changed_since_import(self) -> list[str]:
        """Names of the fields an editor changed since the last import wrote them."""
        if not self.imported:
            return []
        current = self.current_values()
        return [name for name, value in self.imported.items() if current.get(name) != value]

    @property
    def is_published(self):
        return self.status == self.Status.PUBLISHED

    @property
    def lead_image_record(self):
        """The first imported image (uses the prefetch cache when present)."""
        images = list(self.images.all())
        return images[0] if images else None

    def log_change(self, user, message):
        """One entry in the admin history for this article (skipped without a user)."""
        from django.contrib.admin.models import CHANGE, LogEntry

        if user is None or not getattr(user, "pk", None):
            return
        LogEntry.objects.log_actions(
            user_id=user.pk,
            queryset=[self],
            action_flag=CHANGE,
            change_message=message,
            single_object=True,
        )


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

    def to_dict(self) -> dict:
        return plain_values(self, IMAGE_FIELDS)


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

    def to_dict(self) -> dict:
        return {
            **plain_values(self, COVERAGE_FIELDS),
            "published_at": iso_datetime(self.published_at),
            "images": list(self.images),
        }

    @property
    def image(self):
        return self.images[0] if self.images else None


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


def make_slug(published_at, title):
    """`2020-12-10-facial-recognition-is-running-amok...`, like the corpus file names."""
    date = published_at.date().isoformat() if published_at else timezone.now().date().isoformat()
    return f"{date}-{slugify(title)}"[:SLUG_MAX_LENGTH].rstrip("-") or date


def render_body(markdown_text):
    """Sanitised HTML of a body; raises RenderError where Markdown would recurse or run long."""
    return render_markdown(markdown_text, time_limit=settings.NEWSROOM_RENDER_TIME_LIMIT)
