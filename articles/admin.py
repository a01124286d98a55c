"""The editorial admin: review queue, article form, actions, imports.

Presentation only. Every change an action makes goes through an ArticleQuerySet
method (publish, set_quality, add_topic, ...), the same ones the importer and the
tests use, and each writes one history entry per article it changed.

Rights: changing an article's status in any way (publish, reject, return to review)
needs the `articles.publish_article` permission. Contributors can edit everything
else but never the status; see docs/admin.md.
"""

import datetime as dt
import re
from urllib.parse import urlencode

from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.contrib.admin.views.main import ChangeList
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import router, transaction
from django.db.models import Count, Exists, OuterRef
from django.http import Http404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe
from django.utils.text import Truncator
from taggit.models import Tag

from . import public
from .forms import (
    ActionValues,
    ArticleActionForm,
    ArticleAdminForm,
    ArticleChangeListForm,
    ProviderAdminForm,
    TopicAdminForm,
)
from .images import refresh_lead_thumbnail
from .links import is_http_url
from .models import (
    ID_BATCH_SIZE,
    Article,
    ArticleImage,
    ImportRun,
    Provider,
    RelatedCoverage,
    Topic,
)

PREVIEW_TEMPLATE = "admin/articles/article/preview.html"
SECURED_SHOWN_CHARS = 12
# The id inputs of the article list's editable rows.
EDITED_ROW_ID = re.compile(r"form-\d+-id")
# Text and bookkeeping that can weigh kilobytes per row and that no list column reads.
LIST_DEFERRED = ["body", "body_html", "imported", "import_conflicts", "secured", "search_vector"]


def plural(count, word="article"):
    return f"{count} {word}{'' if count == 1 else 's'}"


def editorial_summary(user):
    """The admin index's at-a-glance numbers, or None for users who cannot see articles."""
    if not user.has_perm("articles.view_article"):
        return None
    changelist = reverse("admin:articles_article_changelist")
    today = timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0)
    tomorrow = today + dt.timedelta(days=1)
    went_live_today = Article.objects.published().filter(
        went_live_at__gte=today, went_live_at__lt=tomorrow
    )
    # These parameters are those of the "went live" date filter's "Today" choice.
    today_query = urlencode({"went_live_at__gte": str(today), "went_live_at__lt": str(tomorrow)})
    summary = {
        "in_review": Article.objects.in_review().count(),
        "queue_url": f"{changelist}?{urlencode({ReviewQueueFilter.parameter_name: 'review'})}",
        "published_today": went_live_today.count(),
        "published_today_url": f"{changelist}?{today_query}",
        "last_run": None,
    }
    if user.has_perm("articles.view_importrun"):
        ImportRun.objects.mark_abandoned()
        summary["last_run"] = ImportRun.objects.first()
    return summary


# List filters -------------------------------------------------------------------


class ReviewQueueFilter(admin.SimpleListFilter):
    title = "status (review queue)"
    parameter_name = "status"

    def lookups(self, request, model_admin):
        return [
            ("review", "In review — the queue"),
            ("published", "Published"),
            ("rejected", "Rejected"),
        ]

    def queryset(self, request, queryset):
        by_value = {
            "review": queryset.in_review,
            "published": queryset.published,
            "rejected": queryset.rejected,
        }
        return by_value[self.value()]() if self.value() in by_value else queryset


class TopicFilter(admin.SimpleListFilter):
    title = "topic"
    parameter_name = "topic"

    def lookups(self, request, model_admin):
        return list(Topic.objects.values_list("slug", "name"))

    def queryset(self, request, queryset):
        return queryset.filter(topics__slug=self.value()) if self.value() else queryset


class QualityBandFilter(admin.SimpleListFilter):
    title = "quality"
    parameter_name = "quality_band"
    BANDS = {
        "unknown": ("Unknown", {"quality__isnull": True}),
        "0-49": ("0–49", {"quality__lt": 50}),
        "50-79": ("50–79", {"quality__gte": 50, "quality__lt": 80}),
        "80-99": ("80–99", {"quality__gte": 80, "quality__lt": 100}),
        "100+": ("100 and more", {"quality__gte": 100}),
    }

    def lookups(self, request, model_admin):
        return [(key, label) for key, (label, _) in self.BANDS.items()]

    def queryset(self, request, queryset):
        if self.value() in self.BANDS:
            return queryset.filter(**self.BANDS[self.value()][1])
        return queryset


class HeatKnownFilter(admin.SimpleListFilter):
    title = "heat"
    parameter_name = "heat_known"

    def lookups(self, request, model_admin):
        return [("unknown", "Unknown"), ("known", "Known")]

    def queryset(self, request, queryset):
        if self.value() in ("unknown", "known"):
            return queryset.filter(heat__isnull=self.value() == "unknown")
        return queryset


class HasCoverageFilter(admin.SimpleListFilter):
    title = "related coverage"
    parameter_name = "has_coverage"

    def lookups(self, request, model_admin):
        return [("yes", "Has related coverage"), ("no", "No related coverage")]

    def queryset(self, request, queryset):
        if self.value() not in ("yes", "no"):
            return queryset
        has_coverage = Exists(RelatedCoverage.objects.filter(article=OuterRef("pk")))
        return queryset.filter(has_coverage if self.value() == "yes" else ~has_coverage)


# Article ----------------------------------------------------------------------------


class ArticleImageInline(admin.TabularInline):
    model = ArticleImage
    extra = 0
    fields = ["position", "preview", "url", "width", "height", "title", "is_cached"]
    readonly_fields = ["preview"]

    @admin.display(description="Image")
    def preview(self, image):
        if image.pk and is_http_url(image.url):
            return format_html('<img src="{}" alt="" style="max-height: 60px">', image.url)
        return "—"


class RelatedCoverageInline(admin.StackedInline):
    model = RelatedCoverage
    fk_name = "article"  # (linked_article also points at Article)
    extra = 0
    fields = [
        ("position", "type", "quality"),
        "title",
        "url",
        ("provider_name", "provider_domain", "published_at"),
        "excerpt",
        "linked_article",
    ]
    autocomplete_fields = ["linked_article"]


class ArticleChangeList(ChangeList):
    """The article list, without the big columns no list cell shows."""

    def get_queryset(self, request, exclude_parameters=None):
        queryset = super().get_queryset(request, exclude_parameters)
        return queryset.defer(*LIST_DEFERRED)


@admin.register(Article)
class ArticleAdmin(admin.ModelAdmin):
    form = ArticleAdminForm
    action_form = ArticleActionForm
    inlines = [ArticleImageInline, RelatedCoverageInline]

    list_display = [
        "thumbnail",
        "title",
        "provider",
        "status",
        "quality",
        "heat",
        "published_at",
        "topic_names",
    ]
    list_display_links = ["title"]
    list_editable = ["quality", "heat"]
    list_select_related = ["provider"]
    list_filter = [
        ReviewQueueFilter,
        TopicFilter,
        ("provider", admin.RelatedOnlyFieldListFilter),
        "type",
        "category",
        QualityBandFilter,
        HeatKnownFilter,
        HasCoverageFilter,
        ("went_live_at", admin.DateFieldListFilter),
    ]
    date_hierarchy = "published_at"
    search_fields = ["title", "excerpt", "provider__name", "provider__domain", "web_url"]
    search_help_text = "Searches titles, excerpts, provider names and domains, and web URLs."
    autocomplete_fields = ["provider", "related_stories"]
    save_on_top = True
    actions = [
        "publish",
        "return_to_review",
        "reject",
        "set_quality",
        "set_heat",
        "add_topic",
        "remove_topic",
    ]

    readonly_fields = [
        "went_live_at",
        "thumbnail_preview",
        "secured_summary",
        "changed_fields",
        "conflicts_table",
        "imported_table",
        "import_run_link",
        "source_path",
        "created_at",
        "updated_at",
    ]

    def get_queryset(self, request):
        # Topics and images for the list's columns: a constant number of queries per page.
        return super().get_queryset(request).with_listing_data()

    def get_changelist(self, request, **kwargs):
        return ArticleChangeList

    def get_fieldsets(self, request, obj=None):
        fieldsets = [
            (
                "Content",
                {"fields": ["title", "slug", "excerpt", "body", ("type", "category"), "topics"]},
            ),
            (
                "Editorial",
                {
                    "fields": [
                        ("status", "went_live_at"),
                        ("quality", "heat"),
                        "related_stories",
                        ("lead_image", "thumbnail_preview"),
                        "version",
                    ]
                },
            ),
            (
                "Source",
                {
                    "fields": [
                        "web_url",
                        "original_url",
                        "amp_web_url",
                        "cdn_amp_web_url",
                        "provider",
                        "published_at",
                    ]
                },
            ),
        ]
        if obj is None:
            return fieldsets
        fieldsets[2][1]["fields"].append("secured_summary")
        last_import = (
            "Last import",
            {
                "classes": ["collapse"],
                "fields": [
                    "import_run_link",
                    "source_path",
                    "changed_fields",
                    "imported_table",
                    ("created_at", "updated_at"),
                ],
                "description": "What the last import wrote. Read-only.",
            },
        )
        if obj.import_conflicts:
            # Conflicts need a decision, so they come first.
            conflicts = (
                "Import conflicts",
                {
                    "fields": ["conflicts_table"],
                    "description": "The last import left these fields alone because an "
                    "editor had changed them and the file brought a different new value. "
                    "To take the file's value, copy it into the field and save. This list "
                    "is redone by the next import.",
                },
            )
            return [conflicts, *fieldsets, last_import]
        return [*fieldsets, last_import]

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        form.can_change_status = self.has_publish_permission(request)
        return form

    def get_changelist_form(self, request, **kwargs):
        return super().get_changelist_form(request, form=ArticleChangeListForm, **kwargs)

    def has_publish_permission(self, request):
        return request.user.has_perm("articles.publish_article")

    def save_model(self, request, obj, form, change):
        # Belt and braces: the form already locks the status for these users.
        if not self.has_publish_permission(request):
            stored = Article.objects.filter(pk=obj.pk).values_list("status", flat=True).first()
            if obj.status != (stored or Article.Status.REVIEW):
                raise PermissionDenied("Changing the status needs the publishing right.")
        if "lead_image" in form.changed_data:
            refresh_lead_thumbnail(obj)
        super().save_model(request, obj, form, change)

    # The stale-edit guard (forms.ArticleScoresForm) compares the version the editor's
    # page was built from with the stored article. To be race-free, the article it
    # compares with is read under a row lock held until the save commits: an import's
    # batch (or a bulk action) then either commits before it, and the save is refused
    # as stale, or waits for the save and merges it. Django saves a change form in one
    # transaction already; list edits are validated outside theirs, so here both run
    # in one.

    def get_object(self, request, object_id, from_field=None):
        obj = super().get_object(request, object_id, from_field)
        if obj is None or request.method != "POST":
            return obj
        db = router.db_for_write(Article)
        if not transaction.get_connection(db).in_atomic_block:
            return obj
        return Article.objects.using(db).filter(pk=obj.pk).locked().first()

    def changelist_view(self, request, extra_context=None):
        if not (
            request.method == "POST"
            and "_save" in request.POST
            and self.has_change_permission(request)
        ):
            return super().changelist_view(request, extra_context)
        ids = sorted(
            {
                int(value)
                for key, value in request.POST.items()
                if EDITED_ROW_ID.fullmatch(key) and value.isdigit()
            }
        )
        with transaction.atomic(using=router.db_for_write(Article)):
            # The page's rows, locked (in id order) before Django reads them for its forms.
            for start in range(0, len(ids), ID_BATCH_SIZE):
                batch = ids[start : start + ID_BATCH_SIZE]
                list(Article.objects.filter(pk__in=batch).locked().values_list("pk"))
            return super().changelist_view(request, extra_context)

    def view_on_site(self, obj):
        # Only published items have a public page; the others get the preview instead.
        return obj.get_absolute_url() if obj.is_published else None

    # Columns and read-only fields.

    @admin.display(description="Image")
    def thumbnail(self, article):
        # Like a public card: our thumbnail, else the first imported image (prefetched),
        # and an imported URL only if it is http(s).
        if article.lead_thumbnail:
            url = article.lead_thumbnail.url
        else:
            image = article.lead_image_record
            url = image.url if image and is_http_url(image.url) else ""
        return format_html('<img src="{}" alt="" width="80" loading="lazy">', url) if url else ""

    @admin.display(description="Topics")
    def topic_names(self, article):
        return ", ".join(topic.name for topic in article.topics.all())

    @admin.display(description="Thumbnail")
    def thumbnail_preview(self, article):
        if article.lead_thumbnail:
            return format_html('<img src="{}" alt="" width="200">', article.lead_thumbnail.url)
        return "None yet: made when a lead image is uploaded."

    @admin.display(description="Secured")
    def secured_summary(self, article):
        return short_secured(article.secured)

    @admin.display(description="Edited since import")
    def changed_fields(self, article):
        return ", ".join(article.changed_since_import()) or "Nothing"

    @admin.display(description="Conflicts")
    def conflicts_table(self, article):
        return _value_table(
            ("Field", "Kept (editor's value)", "File's value"),
            [_conflict_row(c) for c in article.import_conflicts],
        )

    @admin.display(description="Imported values")
    def imported_table(self, article):
        imported = {**article.imported, "secured": short_secured(article.imported.get("secured"))}
        return _value_table(("Field", "Value"), list(imported.items()))

    @admin.display(description="Import run")
    def import_run_link(self, article):
        run = article.last_import_run
        if run is None:
            return "—"
        url = reverse("admin:articles_importrun_change", args=[run.pk])
        return format_html('<a href="{}">{}</a> — {}', url, run, run.summary)

    # Actions: one QuerySet call each, reporting how many articles changed.

    @admin.action(description="Publish selected articles", permissions=["publish"])
    def publish(self, request, queryset):
        self._report(request, queryset, queryset.publish(user=request.user), "Published")

    @admin.action(description="Return selected articles to review", permissions=["publish"])
    def return_to_review(self, request, queryset):
        changed = queryset.return_to_review(user=request.user)
        self._report(request, queryset, changed, "Returned to review")

    @admin.action(description="Reject selected articles", permissions=["publish"])
    def reject(self, request, queryset):
        self._report(request, queryset, queryset.reject(user=request.user), "Rejected")

    @admin.action(description="Set quality (type it in Value)", permissions=["change"])
    def set_quality(self, request, queryset):
        value = self._action_value(request, "value", "a quality (0 or more) in the Value box")
        if value is not None:
            self._run(request, queryset, f"Set quality to {value} on", queryset.set_quality, value)

    @admin.action(description="Set heat (type it in Value; -1 = unknown)", permissions=["change"])
    def set_heat(self, request, queryset):
        value = self._action_value(request, "value", "a heat (-1 for unknown, or more) in Value")
        if value is not None:
            shown = "unknown" if value == -1 else value
            self._run(request, queryset, f"Set heat to {shown} on", queryset.set_heat, value)

    @admin.action(description="Add topic (choose it in Topic)", permissions=["change"])
    def add_topic(self, request, queryset):
        topic = self._action_value(request, "topic", "a topic in the Topic menu")
        if topic is not None:
            self._run(request, queryset, f"Added “{topic.name}” to", queryset.add_topic, topic)

    @admin.action(description="Remove topic (choose it in Topic)", permissions=["change"])
    def remove_topic(self, request, queryset):
        topic = self._action_value(request, "topic", "a topic in the Topic menu")
        if topic is not None:
            self._run(
                request, queryset, f"Removed “{topic.name}” from", queryset.remove_topic, topic
            )

    def _action_value(self, request, name, what):
        """The action bar's Value or Topic, or None after telling the editor what is wrong."""
        values = ActionValues(request.POST)
        if name in values.errors:
            self._refuse(request, ValidationError(values.errors[name]))
            return None
        value = values.cleaned_data[name]
        if value is None:
            self.message_user(
                request, f"Nothing changed: choose {what}, then click Go.", messages.ERROR
            )
        return value

    def _run(self, request, queryset, done, method, value):
        try:
            changed = method(value, user=request.user)
        except ValidationError as error:
            self._refuse(request, error)
            return
        self._report(request, queryset, changed, done)

    def _refuse(self, request, error):
        self.message_user(request, f"Nothing changed: {' '.join(error.messages)}", messages.ERROR)

    def _report(self, request, queryset, changed, done):
        selected = queryset.count()
        message = f"{done} {plural(changed)}."
        if changed < selected:
            message += f" {plural(selected - changed)} already had that value."
        self.message_user(request, message, messages.SUCCESS if changed else messages.WARNING)

    # The staff-only preview of unpublished items.

    def get_urls(self):
        preview = path(
            "<path:object_id>/preview/",
            self.admin_site.admin_view(self.preview_view),  # staff only, never cached
            name="articles_article_preview",
        )
        return [preview, *super().get_urls()]

    def preview_view(self, request, object_id):
        """The public article page for any article, behind the admin login, with a banner."""
        article = self.get_object(request, unquote(object_id))
        if article is None:
            raise Http404("No such article.")
        if not self.has_view_permission(request, article):
            raise PermissionDenied
        # The same data the public article view (articles.views.detail) gives its
        # template, minus the search engines' structured data; tests keep them in step.
        article = public.detail(Article.objects.all(), pk=article.pk)
        picture = public.lead_picture(article)
        context = {
            "article": article,
            "card": public.card(article),
            "topics": article.topic_refs,
            "picture": picture,
            "picture_url": request.build_absolute_uri(picture.url) if picture else "",
            "structured_data": {},
        }
        response = TemplateResponse(request, PREVIEW_TEMPLATE, context)
        response["X-Robots-Tag"] = "noindex, nofollow"
        return response


def short_secured(value):
    """`secured` is opaque and sensitive: enough to recognise it, never the whole value."""
    if not value:
        return "—"
    return f"{value[:SECURED_SHOWN_CHARS]}… ({len(value)} characters)"


def _conflict_row(conflict):
    field, ours, theirs = conflict.get("field"), conflict.get("ours"), conflict.get("theirs")
    if field == "secured":
        ours, theirs = short_secured(ours), short_secured(theirs)
    return field, ours, theirs


def _value_table(headers, rows):
    """A small HTML table of imported values, every cell escaped and long text cut."""
    if not rows:
        return "None"

    def cell(value):
        if isinstance(value, list | dict):
            value = ", ".join(map(str, value)) if isinstance(value, list) else str(value)
        return Truncator("" if value is None else str(value)).chars(300)

    head = format_html_join("", "<th>{}</th>", ((h,) for h in headers))
    body = format_html_join(
        "",
        "<tr>{}</tr>",
        ((format_html_join("", "<td>{}</td>", ((cell(v),) for v in row)),) for row in rows),
    )
    return format_html("<table><thead><tr>{}</tr></thead><tbody>{}</tbody></table>", head, body)


# Provider, Topic, ImportRun --------------------------------------------------------

# Topics are our tags (articles.Topic); taggit's own Tag model is unused, so its
# admin page would only confuse editors.
if admin.site.is_registered(Tag):
    admin.site.unregister(Tag)


@admin.register(Provider)
class ProviderAdmin(admin.ModelAdmin):
    form = ProviderAdminForm
    list_display = ["name", "domain", "article_count"]
    search_fields = ["name", "domain"]

    def view_on_site(self, provider):
        # No "View on site" for a stored domain no URL can hold (None hides the button).
        return provider.get_absolute_url()

    def get_queryset(self, request):
        # An aggregate drops Meta.ordering; keep it so paging is stable.
        return (
            super().get_queryset(request).annotate(article_count=Count("articles")).order_by("name")
        )

    @admin.display(description="Articles", ordering="article_count")
    def article_count(self, provider):
        return provider.article_count


@admin.register(Topic)
class TopicAdmin(admin.ModelAdmin):
    form = TopicAdminForm
    list_display = ["name", "kind", "parent", "keyword_list", "hashtag_list", "article_count"]
    list_select_related = ["parent"]
    list_filter = ["kind"]
    search_fields = ["name", "slug", "short_name"]
    autocomplete_fields = ["parent"]
    prepopulated_fields = {"slug": ["name"]}
    fields = [
        ("name", "slug"),
        ("kind", "short_name"),
        "parent",
        "description",
        "keywords",
        "hashtags",
        "images",
        "services",
    ]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(article_count=Count("tagged_articles"))
            .order_by("name")
        )

    def view_on_site(self, topic):
        # No "View on site" for a stored slug no URL can hold (None hides the button).
        return topic.get_absolute_url()

    @admin.display(description="Articles", ordering="article_count")
    def article_count(self, topic):
        return topic.article_count

    @admin.display(description="Keywords")
    def keyword_list(self, topic):
        return Truncator(", ".join(map(str, topic.keywords))).chars(80)

    @admin.display(description="Hashtags")
    def hashtag_list(self, topic):
        return " ".join(map(str, topic.hashtags))


@admin.register(ImportRun)
class ImportRunAdmin(admin.ModelAdmin):
    """Read-only history of `import_yaml` runs, newest first (the model's ordering).

    Listing them first marks failed the runs whose process is gone (killed before it
    could say so, see ImportRun.objects.mark_abandoned).
    """

    list_display = [
        "status",
        "__str__",
        "finished_at",
        "dry_run",
        "files",
        "created",
        "updated",
        "unchanged",
        "conflicts",
        "failed",
        "short_reason",
    ]
    list_display_links = ["__str__"]
    list_filter = ["status", "dry_run"]
    date_hierarchy = "started_at"
    fieldsets = [
        (
            None,
            {
                "fields": [
                    ("status", "failure_reason"),
                    ("started_at", "finished_at", "heartbeat_at"),
                    ("hostname", "pid"),
                    "command",
                    "path_list",
                    "dry_run",
                ]
            },
        ),
        (
            "Counts",
            {
                "fields": [
                    ("files", "topics"),
                    ("created", "updated", "unchanged", "conflicts", "failed"),
                ]
            },
        ),
        ("Failures", {"fields": ["failure_table"]}),
        ("Conflicts", {"fields": ["conflict_table"]}),
        ("Warnings", {"fields": ["warning_list"]}),
    ]
    readonly_fields = [
        "status",
        "failure_reason",
        "heartbeat_at",
        "hostname",
        "pid",
        "started_at",
        "finished_at",
        "command",
        "path_list",
        "dry_run",
        "files",
        "created",
        "updated",
        "unchanged",
        "conflicts",
        "failed",
        "topics",
        "failure_table",
        "conflict_table",
        "warning_list",
    ]

    # Runs are written by the importer only: nobody adds, edits or deletes them here.
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def changelist_view(self, request, extra_context=None):
        ImportRun.objects.mark_abandoned()
        return super().changelist_view(request, extra_context)

    @admin.display(description="Why it failed")
    def short_reason(self, run):
        return Truncator(run.failure_reason).chars(100) or ""

    @admin.display(description="Paths")
    def path_list(self, run):
        return format_html_join(mark_safe("<br>"), "{}", ((p,) for p in run.paths)) or "—"

    @admin.display(description="Failures")
    def failure_table(self, run):
        # Each error is one line that already names the file and the line.
        return _value_table(("Error",), [(f.get("error"),) for f in run.failures])

    @admin.display(description="Conflicts")
    def conflict_table(self, run):
        return _value_table(
            ("File", "Field", "Kept (editor's value)", "File's value"),
            [(c.get("path"), *_conflict_row(c)) for c in run.conflict_details],
        )

    @admin.display(description="Warnings")
    def warning_list(self, run):
        return format_html_join(mark_safe("<br>"), "{}", ((w,) for w in run.warnings)) or "None"
