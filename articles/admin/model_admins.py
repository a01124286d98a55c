"""The editorial admin: review queue, article form, actions, imports.

Presentation only. Every change an action makes goes through an ArticleQuerySet
method (publish, set_quality, add_topic, ...), the same ones the importer and the
tests use. The change form and the list's editable rows save through Django's admin
and report the save with `changes.record()` (save_related below), once per form
save and once per list save. Either way the history entry (one per article changed),
the `updated_at` bump and the page cache come from the receivers of that event
(articles/receivers.py), so Django's own log_addition/log_change write nothing here.

Rights: changing an article's status in any way (publish, reject, return to review)
needs the `articles.publish_article` permission. Contributors can edit everything
else but never the status; see docs/admin.md.
"""

import datetime as dt
import json
import re
from functools import partial
from urllib.parse import urlencode

from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.contrib.admin.views.main import ChangeList
from django.contrib.humanize.templatetags.humanize import ordinal
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import router, transaction
from django.db.models import Count, Exists, F, OuterRef, Q
from django.http import Http404, HttpResponseNotAllowed
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe
from django.utils.text import Truncator
from django.utils.timesince import timesince, timeuntil
from taggit.models import Tag

from .. import changes, clock, ranking, revisions
from ..ingest import conflicts
from ..ingest.snapshot import changed_since_import
from ..links import is_http_url
from ..models import (
    ID_BATCH_SIZE,
    OVERDUE_AFTER,
    Article,
    ArticleImage,
    Embargoed,
    ImageSource,
    ImportRun,
    Provider,
    RelatedCoverage,
    TaggedTopic,
    Topic,
    local_text,
)
from ..site import public, share
from . import forms
from .desk import (
    DEFAULT_QUEUE,
    QUEUE_ORDER,
    QueueWalkMixin,
    attach_decision_notes,
    best_matches_first,
    in_queue,
)
from .forms import (
    ActionValues,
    ArticleActionForm,
    ArticleAdminForm,
    ArticleChangeListForm,
    ProviderAdminForm,
    TopicAdminForm,
)
from .image_cache import hosted_previews, image_preview, source_link
from .images import refresh_lead_thumbnail
from .revisions import RevisionsMixin, record_label, short_secured
from .share_links import ShareLinksMixin

PREVIEW_TEMPLATE = "admin/articles/article/preview.html"
# The id inputs of the article list's editable rows.
EDITED_ROW_ID = re.compile(r"form-\d+-id")
# Text and bookkeeping that can weigh kilobytes per row and that no list column reads.
LIST_DEFERRED = ["body", "body_html", "imported", "import_conflicts", "secured", "search_vector"]


def plural(count, word="article"):
    return f"{count} {word}{'' if count == 1 else 's'}"


# How many import runs the admin index lists (command line, watched folder or upload).
LAST_RUNS_SHOWN = 5


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
        "scheduled": Article.objects.scheduled().count(),
        "overdue": ScheduledFilter.overdue(Article.objects.all()).count(),
        "scheduled_url": f"{changelist}?{urlencode({ScheduledFilter.parameter_name: 'all'})}",
        "overdue_url": f"{changelist}?{urlencode({ScheduledFilter.parameter_name: 'overdue'})}",
        "queue_url": f"{changelist}?{DEFAULT_QUEUE}",
        "published_today": went_live_today.count(),
        "published_today_url": f"{changelist}?{today_query}",
        "last_runs": [],
        "may_import": user.has_perm("articles.import_articles"),
    }
    if user.has_perm("articles.view_importrun"):
        ImportRun.objects.mark_abandoned()
        summary["last_runs"] = list(ImportRun.objects.all()[:LAST_RUNS_SHOWN])
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


class ScheduledFilter(admin.SimpleListFilter):
    """Articles with a time set: to go live, to come down, under embargo, or overdue
    (a time passed a while ago and no sweep acted on it: no worker is running)."""

    title = "schedule"
    parameter_name = "scheduled"

    def lookups(self, request, model_admin):
        return [
            ("all", "Scheduled (to go live or come down)"),
            ("go_live", "To go live"),
            ("take_down", "To come down"),
            ("embargo", "Under embargo"),
            ("overdue", "Overdue: no worker ran"),
        ]

    @staticmethod
    def overdue(queryset):
        late = clock.now() - OVERDUE_AFTER
        return queryset.filter(status=Article.Status.PUBLISHED).filter(
            Q(go_live_at__lte=late) | Q(take_down_at__lte=late)
        )

    def queryset(self, request, queryset):
        now = clock.now()
        if self.value() == "all":
            return queryset.scheduled()
        if self.value() == "go_live":
            return queryset.filter(go_live_at__isnull=False)
        if self.value() == "take_down":
            return queryset.filter(take_down_at__isnull=False)
        if self.value() == "embargo":
            return queryset.filter(embargo_until__gt=now)
        if self.value() == "overdue":
            return self.overdue(queryset)
        return queryset


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


class HasConflictsFilter(admin.SimpleListFilter):
    title = "import conflicts"
    parameter_name = "conflicts"

    def lookups(self, request, model_admin):
        return [("yes", "Has conflicts"), ("no", "No conflicts")]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.exclude(import_conflicts=[])
        if self.value() == "no":
            return queryset.filter(import_conflicts=[])
        return queryset


class ArticleImageInline(admin.TabularInline):
    model = ArticleImage
    form = forms.LabelledInlineForm
    formset = forms.LabelledInlineFormSet
    extra = 0
    fields = ["position", "preview", "url", "width", "height", "title", "is_cached"]
    readonly_fields = ["preview"]

    @admin.display(description="Image")
    def preview(self, image):
        # Our copy (or the placeholder readers see) and its status, linked to the page
        # where an editor retries or replaces it. One lookup for all the article's rows.
        if not (image.pk and is_http_url(image.url)):
            return "—"
        hosted, sources = self._cached_images(image.article_id)
        size = (image.width or 16, image.height or 9)
        preview = image_preview(image.url, hosted, size=size, width=100)
        return format_html("{}<br>{}", preview, source_link(image.url, sources))

    def _cached_images(self, article_id):
        """({URL: Rendition}, {URL: ImageSource}) of the article's images, read once."""
        found = getattr(self, "_cached", None)
        if found is None or found[0] != article_id:
            urls = list(
                ArticleImage.objects.filter(article_id=article_id).values_list("url", flat=True)
            )
            sources = {source.url: source for source in ImageSource.objects.filter(url__in=urls)}
            found = self._cached = (article_id, hosted_previews(urls), sources)
        return found[1], found[2]


class RelatedCoverageInline(admin.StackedInline):
    model = RelatedCoverage
    fk_name = "article"  # (linked_article also points at Article)
    form = forms.SplitLabelledInlineForm
    formset = forms.LabelledInlineFormSet
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
        if in_queue(request):  # its rows count the conflicts
            return queryset.defer(*(name for name in LIST_DEFERRED if name != "import_conflicts"))
        return queryset.defer(*LIST_DEFERRED)

    def __init__(self, request, model, list_display, list_display_links, list_filter,
                 date_hierarchy, *rest):  # fmt: skip
        # The queue has no date drill-down: its dates query reads every waiting row.
        if in_queue(request):
            date_hierarchy = None
        super().__init__(
            request, model, list_display, list_display_links, list_filter, date_hierarchy, *rest
        )

    def get_filters_params(self, params=None):
        # The review queue's order is no filter (desk.QueueWalkMixin.get_ordering).
        params = super().get_filters_params(params)
        params.pop(QUEUE_ORDER, None)
        return params

    def get_results(self, request):
        super().get_results(request)
        if getattr(request, "desk_ids_only", False):  # desk.QueueWalkMixin._place_in_list
            return
        # The "Top" column's explanations, for the whole page in two queries.
        attach_rankings(self.result_list)
        # The page's image previews (our copies) from one query.
        leads = [article.lead_image_record for article in self.result_list]
        hosted = hosted_previews(image.url for image in leads if image)
        for article in self.result_list:
            article.hosted_pictures = hosted
        if in_queue(request):
            attach_decision_notes(self.result_list)


@admin.register(Article)
class ArticleAdmin(RevisionsMixin, QueueWalkMixin, ShareLinksMixin, admin.ModelAdmin):
    form = ArticleAdminForm
    action_form = ArticleActionForm
    inlines = [ArticleImageInline, RelatedCoverageInline]

    list_display = [
        "thumbnail",
        "title",
        "provider",
        "status",
        "quality",
        "heat_pin",
        "heat",
        "top_worth",
        "published_at",
        "topic_names",
        "schedule",
    ]
    list_display_links = ["title"]
    list_editable = ["quality", "heat_pin"]
    list_select_related = ["provider"]
    list_filter = [
        ReviewQueueFilter,
        ScheduledFilter,
        TopicFilter,
        ("provider", admin.RelatedOnlyFieldListFilter),
        "type",
        "category",
        QualityBandFilter,
        HeatKnownFilter,
        HasCoverageFilter,
        HasConflictsFilter,
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
        "schedule",
        "thumbnail_preview",
        "secured_summary",
        "changed_fields",
        "conflicts_table",
        "imported_table",
        "import_run_link",
        "source_path",
        "created_at",
        "updated_at",
        "why_this_rank",
    ]

    def get_queryset(self, request):
        # Topics and images for the list's columns: a constant number of queries per page.
        return super().get_queryset(request).with_listing_data()

    def get_search_results(self, request, queryset, search_term):
        queryset, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        match = getattr(request, "resolver_match", None)
        if match is not None and match.url_name == "autocomplete":
            queryset = best_matches_first(queryset.select_related("provider"), search_term)
        return queryset, may_have_duplicates

    def get_changelist(self, request, **kwargs):
        return ArticleChangeList

    def get_fieldsets(self, request, obj=None):
        # The decision first (what a review changes), the content below it.
        fieldsets = [
            (
                "Editorial",
                {
                    "fields": [
                        ("status", "went_live_at"),
                        ("go_live_at", "take_down_at"),
                        ("embargo_until", "schedule"),
                        ("quality", "heat_pin"),
                        ("boost_hours", "boost_reason"),
                        "topics",
                        "related_stories",
                        ("lead_image", "thumbnail_preview"),
                        "version",
                    ]
                },
            ),
            ("Content", {"fields": ["title", "slug", "excerpt", "body", ("type", "category")]}),
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
        editorial = fieldsets[0][1]["fields"]
        editorial.insert(editorial.index("topics") + 1, "suggested_topics")
        editorial.insert(editorial.index("related_stories") + 1, "suggested_related")
        fieldsets.insert(1, ("Why this rank", {"fields": ["why_this_rank"]}))
        fieldsets[3][1]["fields"].append("secured_summary")
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
            conflict_set = (
                "Import conflicts",
                {
                    "fields": ["conflicts_table"],
                    "description": "The last import left these fields alone because an "
                    "editor had changed them and the file brought a different new value. "
                    "Keep yours or take the file's, field by field: each button decides "
                    "at once (unsaved edits elsewhere on this page are not saved) and goes "
                    "into the history. The next import redoes this list.",
                },
            )
            return [conflict_set, *fieldsets, last_import]
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
        # Belt and braces: the form already locks these fields for such users.
        if not self.has_publish_permission(request):
            locked = forms.PUBLISHING_RIGHT_FIELDS
            stored = Article.objects.filter(pk=obj.pk).values(*locked).first() or {
                "status": Article.Status.REVIEW
            }
            if any(getattr(obj, name) != stored.get(name) for name in locked):
                raise PermissionDenied(
                    "Changing the status, the schedule or the embargo needs the publishing right."
                )
        if "lead_image" in form.changed_data:
            refresh_lead_thumbnail(obj)
        super().save_model(request, obj, form, change)

    def save_related(self, request, form, formsets, change):
        """Save the topics, related stories and inlines, then record the whole save once.

        The m2m managers record their own changes (articles/receivers.py): the batch
        makes them part of this one change, with this editor's name on it.
        """
        with changes.batch(source=changes.Source.EDITOR, user=request.user):
            super().save_related(request, form, formsets, change)
            edited = [*form.changed_data, *(f.prefix for f in formsets if f.has_changed())]
            changes.record(
                [form.instance.pk],
                edited,
                source=changes.Source.EDITOR,
                user=request.user,
                message=self.construct_change_message(request, form, formsets, add=not change),
                created=not change,
            )

    # The history entry of a save is written by the receivers of changes.record().
    def log_addition(self, request, obj, message):
        return None

    def log_change(self, request, obj, message):
        return None

    # The stale-edit guard (forms.ArticleScoresForm) compares the version the editor's
    # page was built from with the stored article. To be race-free, the article it
    # compares with is read under a row lock held until the save commits: an import's
    # batch (or a bulk action) then either commits before it, and the save is refused
    # as stale, or waits for the save and merges it. Django saves a change form in one
    # transaction already; list edits are validated outside theirs, so here both run
    # in one.

    def get_object(self, request, object_id, from_field=None):
        obj = self._read_object(request, object_id, from_field)
        if obj is not None:
            # What the form's own buttons may offer (the conflicts' "take the file's
            # status"); the views that act check the right again.
            obj.may_publish = self.has_publish_permission(request)
        return obj

    def _read_object(self, request, object_id, from_field):
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
        with (
            transaction.atomic(using=router.db_for_write(Article)),
            # The saved rows (save_related records each) are recorded as one change.
            changes.batch(source=changes.Source.EDITOR, user=request.user),
        ):
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
        # Like a public card: the uploaded thumbnail, else our copy of the first imported
        # image (prefetched), else the placeholder readers see.
        if article.lead_thumbnail:
            url = article.lead_thumbnail.url
            return format_html('<img src="{}" alt="" width="80" loading="lazy">', url)
        image = article.lead_image_record
        if not image or not is_http_url(image.url):
            return ""
        name = article.provider.name or article.provider.domain
        hosted = getattr(article, "hosted_pictures", {})
        return image_preview(
            image.url, hosted, name=name, colour_key=article.provider.domain, width=80
        )

    @admin.display(description="Topics")
    def topic_names(self, article):
        return ", ".join(topic.name for topic in article.topics.all())

    @admin.display(description="schedule")
    def schedule(self, article):
        """The article's times in the site's time zone, an embargo, and a warning when
        a time passed with nothing done (no worker ran the sweep)."""
        now = clock.now()
        parts = []
        if article.embargo_until is not None and article.embargo_until > now:
            parts.append(
                format_html("<strong>Embargo until {}</strong>", local_text(article.embargo_until))
            )
        if article.go_live_at is not None:
            parts.append(format_html("Goes live {}", local_text(article.go_live_at)))
        if article.take_down_at is not None:
            parts.append(format_html("Comes down {}", local_text(article.take_down_at)))
        if article.schedule_overdue:
            parts.append(
                mark_safe(
                    '<strong class="errornote">Overdue: its time passed and no worker has '
                    "run the sweep (readers see it as scheduled all the same)</strong>"
                )
            )
        if not parts:
            return "—"
        return format_html_join(mark_safe("<br>"), "{}", ((part,) for part in parts))

    # Unknown scores as the lowest, both ways, on every database (as in Top itself).
    @admin.display(description="Top", ordering=F("score").asc(nulls_first=True))
    def top_worth(self, article):
        """The hours the article's heat, boost and topics add to its date, with the
        parts in a tooltip."""
        explanation = article_ranking(article)
        if explanation.score is None:
            return format_html('<span title="{}">unranked</span>', UNRANKED)
        now = timezone.now()
        parts = [f"{part.what} {signed_hours(part.hours, 0)}" for part in explanation.parts]
        parts.append(f"published {_age(article.published_at, now)}")
        shown = signed_hours(explanation.hours, 0).removeprefix("≈ ")
        if explanation.score != article.score:
            parts.append(STALE)
            shown += "*"
        return format_html('<span title="{}">{}</span>', " · ".join(parts), shown)

    @admin.display(description="Why this rank")
    def why_this_rank(self, article):
        # A form sent back with errors holds the refused values: nothing to rank yet.
        for name in ("quality", "heat_pin", "boost_hours"):
            try:
                article._meta.get_field(name).run_validators(getattr(article, name))
            except ValidationError:
                return "Shown once the values above are valid."
        return rank_explanation(article)

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
        return ", ".join(changed_since_import(article, revisions.held_of(article))) or "Nothing"

    @admin.display(description="Conflicts")
    def conflicts_table(self, article):
        # The buttons post the change form (with its CSRF token) to the resolve view
        # instead (formaction): one click, no script, nothing else of the form saved.
        return _value_table(
            ("Field", "Kept (editor's value)", "File's value", "Decide"),
            [(*_conflict_row(c), _resolve_buttons(article, c)) for c in article.import_conflicts],
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
        try:
            changed = queryset.publish(user=request.user)
        except Embargoed as error:  # nothing changed: the whole action is refused
            self._refuse(request, error)
            return
        self._report(request, queryset, changed, "Published")

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
        resolve = path(
            "<path:object_id>/conflict/<str:field>/<str:choice>/",
            self.admin_site.admin_view(self.resolve_conflict_view),
            name="articles_article_resolve_conflict",
        )
        return [preview, resolve, *super().get_urls()]

    def resolve_conflict_view(self, request, object_id, field, choice):
        """Keep the editor's value or take the file's, for one import conflict (POST)."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        article = self.get_object(request, unquote(object_id))
        if article is None or choice not in (conflicts.KEEP, conflicts.TAKE):
            raise Http404("No such article or choice.")
        if not self.has_change_permission(request, article):
            raise PermissionDenied
        try:
            conflicts.resolve(
                article.pk,
                field,
                choice,
                user=request.user,
                may_publish=self.has_publish_permission(request),
            )
        except conflicts.ConflictGone:
            self.message_user(
                request, f"“{field}” has no open import conflict any more.", messages.WARNING
            )
        except Embargoed as error:  # taking the file's "published" under embargo
            self._refuse(request, error)
        else:
            kept = "Kept your value" if choice == conflicts.KEEP else "Took the file's value"
            self.message_user(request, f"{kept} of “{field}”.", messages.SUCCESS)
        change = reverse("admin:articles_article_change", args=[article.pk])
        preserved = request.GET.get("_changelist_filters")
        return redirect(
            f"{change}?{urlencode({'_changelist_filters': preserved})}" if preserved else change
        )

    def preview_view(self, request, object_id):
        """The public article page for any article, behind the admin login, with a banner."""
        article = self.get_object(request, unquote(object_id))
        if article is None:
            raise Http404("No such article.")
        if not self.has_view_permission(request, article):
            raise PermissionDenied
        context = share.article_page_context(request, article.pk)
        response = TemplateResponse(request, PREVIEW_TEMPLATE, context)
        response["X-Robots-Tag"] = "noindex, nofollow"
        return response


def _conflict_row(conflict):
    field, ours, theirs = conflict.get("field"), conflict.get("ours"), conflict.get("theirs")
    if field == "secured":
        ours, theirs = short_secured(ours), short_secured(theirs)
    return field, ours, theirs


def _resolve_buttons(article, conflict):
    field = conflict.get("field")
    url = partial(reverse, "admin:articles_article_resolve_conflict")
    if field == "status" and not getattr(article, "may_publish", False):
        return format_html(
            '<button type="submit" class="button" formaction="{}" formnovalidate>Keep mine'
            "</button> (taking the file's status needs the publishing right)",
            url(args=[article.pk, field, conflicts.KEEP]),
        )
    return format_html(
        '<button type="submit" class="button" formaction="{}" formnovalidate>Keep mine</button> '
        '<button type="submit" class="button" formaction="{}" formnovalidate>'
        "Take the file's value</button>",
        url(args=[article.pk, field, conflicts.KEEP]),
        url(args=[article.pk, field, conflicts.TAKE]),
    )


def _value_table(headers, rows):
    """A small HTML table of imported values, every cell escaped and long text cut."""
    if not rows:
        return "None"

    def cell(value):
        if isinstance(value, SafeString):  # built with format_html: escaped already
            return value
        if isinstance(value, list):  # names, or image and coverage records
            value = ", ".join(record_label(v) if isinstance(v, dict) else str(v) for v in value)
        elif isinstance(value, dict):
            value = json.dumps(value, ensure_ascii=False)
        return Truncator("" if value is None else str(value)).chars(300)

    head = format_html_join("", "<th>{}</th>", ((h,) for h in headers))
    body = format_html_join(
        "",
        "<tr>{}</tr>",
        ((format_html_join("", "<td>{}</td>", ((cell(v),) for v in row)),) for row in rows),
    )
    return format_html("<table><thead><tr>{}</tr></thead><tbody>{}</tbody></table>", head, body)


# "Why this rank" -------------------------------------------------------------------

UNRANKED = "Heat unknown (no quality and no pinned heat): after every ranked story, newest first."
STALE = "not recomputed yet: Top still uses the stored score"


def signed_hours(hours, digits=1):
    """ "+6 h", "≈ +93.8 h": hours of freshness as the explanations show them, with "≈"
    where they are rounded."""
    rounded = round(hours, digits)
    shown = f"{int(rounded):+d} h" if rounded == int(rounded) else f"{rounded:+.{digits}f} h"
    return shown if rounded == hours else f"≈ {shown}"


def _age(moment, now):
    if moment <= now:
        return f"{timesince(moment, now, depth=1)} ago"
    return f"in {timeuntil(moment, now, depth=1)}"


def attach_rankings(articles):
    """Set `article.ranking` (a ranking.Explanation) on each of `articles`: two queries."""
    inputs = ranking.inputs_for(articles)
    for article in articles:
        article.ranking = ranking.explain(inputs[article.pk])


def article_ranking(article):
    if getattr(article, "ranking", None) is None:
        attach_rankings([article])
    return article.ranking


def rank_explanation(article):
    """The change form's "Why this rank": where the article stands in Top and in its
    topics, and what each part of its score is worth. Computed from the inputs as they
    are now; says so when the stored score (what Top sorts by) differs."""
    explanation = article_ranking(article)
    now = timezone.now()
    where = ", ".join(f"{ordinal(number)} in {name}" for name, number in _places(article))
    where = f"Ranks {where}" if article.is_published else f"Would rank {where}, if published"
    if explanation.heat is None:
        heat = "Heat unknown (no quality and no pinned heat)."
    elif explanation.pinned:
        computed = explanation.computed_heat
        heat = f"Heat {explanation.heat}, pinned by an editor (computed: {computed})."
    else:
        heat = f"Heat {explanation.heat}, computed from quality and coverage."
    rows = [
        (
            f"published {timezone.localtime(article.published_at):%Y-%m-%d %H:%M}",
            _age(article.published_at, now),
        )
    ]
    rows += [(part.what, signed_hours(part.hours)) for part in explanation.parts]
    notes = []
    if explanation.score is None:
        notes.append(UNRANKED)
    else:
        as_if = timezone.localtime(explanation.ranks_as_if_published)
        rows.append(
            ("in all", f"{signed_hours(explanation.hours)}: as if published {as_if:%Y-%m-%d %H:%M}")
        )
    if explanation.score != article.score:
        notes.append(f"The stored score is {STALE}; it is recomputed when its inputs are saved.")
    notes.append(f"Formula version {ranking.VERSION}:")
    return format_html(
        '<p class="why-this-rank"><strong>{}.</strong> {}</p>'
        '<table><tbody>{}</tbody></table><p>{} <a href="{}">how Top works</a>.</p>',
        where,
        heat,
        format_html_join("", "<tr><td>{}</td><td>{}</td></tr>", rows),
        " ".join(notes),
        reverse("articles:how_top_works"),
    )


def _places(article):
    """[(list name, place)] in Top and in each of the article's topics, by the score
    computed now: a query each."""
    key = (article_ranking(article).score, article.published_at, article.pk)
    stories = public.published()  # (ahead_of() is strict: never the article itself)
    places = [("Top", ranking.place(stories, *key))]
    for topic in article.topics.all():
        places.append((topic.name, ranking.place(public.in_topic(stories, topic), *key)))
    return places


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
        "rank_hours",
    ]

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if change and "rank_hours" in form.changed_data:
            # In the form's transaction: the topic's stories move in Top with it.
            ids = TaggedTopic.objects.filter(tag=obj).values_list("content_object_id", flat=True)
            ids = list(ids)
            moved = ranking.recompute(ids)
            self.message_user(
                request,
                f"Top recomputed for the {plural(len(ids))} in “{obj.name}”: {moved} moved.",
            )

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
        "outcome",
        "__str__",
        "origin",
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

    @admin.display(description="Outcome")
    def outcome(self, run):
        """Clean, or what needs a look: the counts that the wide table hides first."""
        return run.outcome

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
        details = run.conflict_details
        articles = dict(
            Article.objects.filter(web_url__in={c.get("web_url") for c in details}).values_list(
                "web_url", "pk"
            )
        )

        def article_link(conflict):
            pk = articles.get(conflict.get("web_url"))
            if pk is None:
                return conflict.get("path")
            url = reverse("admin:articles_article_change", args=[pk])
            return format_html('<a href="{}">{}</a>', url, conflict.get("path"))

        return _value_table(
            ("File", "Field", "Kept (editor's value)", "File's value"),
            [(article_link(c), *_conflict_row(c)) for c in details],
        )

    @admin.display(description="Warnings")
    def warning_list(self, run):
        return format_html_join(mark_safe("<br>"), "{}", ((w,) for w in run.warnings)) or "None"
