"""The editor's desk: the review queue's page (`?status=review`: two orders, rows made
for the decision, no whole-table filters), walking it from the change form ("Publish
and next", "Reject and next", "Save and next", the place in the list that the keys
of static/admin/desk.js follow), the review screen's suggestions (topics from the
taxonomy, related stories from the story grouping), and the related-story
autocomplete (who, when, which status; best match first).

Each button saves the form as "Save" does (same validation, stale-edit guard,
permissions, one change through the write path), the first two with the status set
as they say, then opens the next article of the list the editor came from: the
change list's own filters, search and ordering (the `_changelist_filters` Django
keeps in the change form's URL), or the review queue when they came from elsewhere.
The next article is taken before the save, since publishing takes the current one
out of a "review" list. After the last one, the list itself.
"""

import copy
from collections import defaultdict
from typing import NamedTuple
from urllib.parse import urlencode

from django.contrib import admin, messages
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.templatetags.admin_urls import add_preserved_filters
from django.contrib.admin.views.autocomplete import AutocompleteJsonView
from django.db.models import Case, F, Value, When
from django.http import HttpResponseRedirect, QueryDict
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from .. import clock, suggestions
from ..models import Article, RelatedCoverage, Topic, embargo_refusal
from ..stories.reading import distinct_outlets, story_mates


class ListPlace(NamedTuple):
    previous: int | None  # the article before, by id
    following: int | None  # the article after (or the list's first, when not in it)
    position: int | None  # 1-based, None when not in the list
    total: int


# Submit button name -> the status it sets (None: the status as the form has it).
WALK_BUTTONS = {
    "_publish_next": Article.Status.PUBLISHED,
    "_reject_next": Article.Status.REJECTED,
    "_save_next": None,
}
# The review queue's two orders (`?order=`), switched on its page.
QUEUE_ORDER = "order"
QUEUE_ORDERS = {
    "oldest": ("Oldest waiting first", ("created_at", "pk")),
    "best": ("Best first", (F("score").desc(nulls_last=True), "-published_at", "-pk")),
}
DEFAULT_QUEUE = "status=review&order=oldest"
# The queue's rows: what a decision needs, in a table that fits 1280 px.
QUEUE_COLUMNS = [
    "thumbnail",
    "headline",
    "quality",
    "heat_pin",
    "heat",
    "top_worth",
    "for_the_decision",
]
# Filters the queue leaves out: their choices read the whole table, or mean nothing there.
QUEUE_UNFILTERED = {"type", "category", "went_live_at"}


def in_queue(request) -> bool:
    return request.GET.get("status") == "review"


def queue_ordering(request):
    """The queue's order (oldest waiting first unless `?order=best`); None outside it."""
    if not in_queue(request):
        return None
    return QUEUE_ORDERS.get(request.GET.get(QUEUE_ORDER, ""), QUEUE_ORDERS["oldest"])[1]


class QueueWalkMixin:
    """For ArticleAdmin: the review queue's page and orders, the walk buttons, and no
    "Save and add another" (nobody adds articles by hand one after another)."""

    def changelist_view(self, request, extra_context=None):
        if in_queue(request):
            extra_context = {
                **(extra_context or {}),
                "title": "Review queue",
                "queue_orders": self._queue_orders(request),
                # The table needs the width more than the model list does.
                "is_nav_sidebar_enabled": False,
            }
        return super().changelist_view(request, extra_context)

    def get_list_filter(self, request):
        filters = super().get_list_filter(request)
        if not in_queue(request):
            return filters
        return [f for f in filters if (f[0] if isinstance(f, tuple) else f) not in QUEUE_UNFILTERED]

    def get_list_display(self, request):
        return QUEUE_COLUMNS if in_queue(request) else super().get_list_display(request)

    def get_list_display_links(self, request, list_display):
        if in_queue(request):
            return ["headline"]
        return super().get_list_display_links(request, list_display)

    def get_ordering(self, request):
        # A column header's `o` still wins: the ChangeList applies it over this.
        return queue_ordering(request) or super().get_ordering(request)

    @admin.display(description="Article", ordering="published_at")
    def headline(self, article):
        published = f"{timezone.localtime(article.published_at):%-d %b %Y, %H:%M}"
        return format_html(
            '{}<span class="headline-source">{} · {}</span>',
            article.title,
            article.provider,
            published,
        )

    @admin.display(description="For the decision")
    def for_the_decision(self, article):
        """Suggested topics, the topics it has, the story's size, import conflicts and
        the excerpt on demand (a <details>: no script needed)."""
        notes = []
        suggested = getattr(article, "desk_suggestions", [])
        if suggested:
            names = ", ".join(suggestion.topic for suggestion in suggested)
            notes.append(format_html('<div class="desk-suggested">Suggested: {}</div>', names))
        topics = ", ".join(topic.name for topic in article.topics.all())
        if topics:
            notes.append(format_html("<div>Topics: {}</div>", topics))
        outlets = getattr(article, "desk_outlets", 1)
        if outlets > 1:
            notes.append(format_html("<div>Story told by {} outlets</div>", outlets))
        if article.import_conflicts:
            count = len(article.import_conflicts)
            notes.append(
                format_html(
                    '<div class="desk-conflicts">{} import conflict{}</div>',
                    count,
                    "" if count == 1 else "s",
                )
            )
        if article.excerpt:
            notes.append(
                format_html("<details><summary>Excerpt</summary>{}</details>", article.excerpt)
            )
        return format_html_join("", "{}", ((note,) for note in notes))

    @staticmethod
    def _queue_orders(request) -> list[dict]:
        """The switch's links: this list, sorted the other way (no column sort)."""
        current = request.GET.get(QUEUE_ORDER) or "oldest" if "o" not in request.GET else ""
        links = []
        for key, (label, _) in QUEUE_ORDERS.items():
            params = request.GET.copy()
            params.pop("o", None)
            params.pop("p", None)
            params[QUEUE_ORDER] = key
            links.append(
                {"label": label, "url": f"?{params.urlencode()}", "current": key == current}
            )
        return links

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = {**(extra_context or {}), "show_save_and_add_another": False}
        extra_context["walk_buttons"] = True
        extra_context["may_publish"] = self.has_publish_permission(request)
        if request.method == "POST" and self._walk_button(request):
            request.desk_next = self._place_in_list(request, object_id).following
        elif request.method == "GET":
            extra_context["queue_place"] = self._queue_place(request, object_id)
        return super().change_view(request, object_id, form_url, extra_context)

    def save_form(self, request, form, change):
        article = super().save_form(request, form, change)
        button = self._walk_button(request)
        status = WALK_BUTTONS.get(button)
        if status is not None and article.status != status:
            refusal = embargo_refusal(article, status, clock.now())
            if refusal:  # the rest of the edit is saved; the page says why not published
                request.desk_refusal = refusal
                return article
            # As if chosen in the form: the permission check, history and went_live_at
            # treat it like any status change.
            article.status = status
            form.changed_data.append("status")
        return article

    def response_change(self, request, obj):
        button = self._walk_button(request)
        if not button:
            return super().response_change(request, obj)
        refusal = getattr(request, "desk_refusal", None)
        if refusal:
            self.message_user(request, f"Saved, but not published: {refusal}", messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())
        done = {"_publish_next": "Published", "_reject_next": "Rejected"}.get(button, "Saved")
        if obj.is_published:
            self.message_user(
                request,
                format_html(
                    '{} “{}”. <a href="{}">See it live</a>.', done, obj, obj.get_absolute_url()
                ),
                messages.SUCCESS,
            )
        else:
            self.message_user(request, f"{done} “{obj}”.", messages.SUCCESS)
        filters = urlencode({"_changelist_filters": self._list_filters(request).urlencode()})
        context = {"preserved_filters": filters, "opts": self.model._meta}
        following = getattr(request, "desk_next", None)
        if following is None:
            self.message_user(request, "That was the last article of the list.", messages.INFO)
            url = reverse("admin:articles_article_changelist")
        else:
            url = reverse("admin:articles_article_change", args=[following])
        return HttpResponseRedirect(add_preserved_filters(context, url))

    # -- helpers ---------------------------------------------------------------------

    @staticmethod
    def _walk_button(request):
        return next((name for name in WALK_BUTTONS if name in request.POST), None)

    @staticmethod
    def _list_filters(request) -> QueryDict:
        return QueryDict(request.GET.get("_changelist_filters") or DEFAULT_QUEUE)

    def _place_in_list(self, request, object_id) -> ListPlace:
        """Where `object_id` stands in the list the editor came from (its filters, search
        and order). When it is not in it (just published out of a "review" list), the
        list's first article comes next. One query for the list's ids."""
        listing = copy.copy(request)
        listing.method = "GET"
        listing.GET = self._list_filters(request)
        listing.POST = QueryDict()
        listing.desk_ids_only = True  # no row decorations: only the ids are read
        try:
            changelist = self.get_changelist_instance(listing)
        except IncorrectLookupParameters:
            return ListPlace(None, None, None, 0)
        ids = list(changelist.queryset.values_list("pk", flat=True))
        current = int(object_id) if str(object_id).isdigit() else None
        if current not in ids:
            return ListPlace(None, ids[0] if ids else None, None, len(ids))
        index = ids.index(current)
        return ListPlace(
            ids[index - 1] if index else None,
            ids[index + 1] if index + 1 < len(ids) else None,
            index + 1,
            len(ids),
        )

    def _queue_place(self, request, object_id) -> dict:
        """The change form's "3 of 41" line with its previous and next links, which the
        keyboard's j and k follow (static/admin/desk.js)."""
        place = self._place_in_list(request, object_id)
        filters = urlencode({"_changelist_filters": self._list_filters(request).urlencode()})
        context = {"preserved_filters": filters, "opts": self.model._meta}

        def link(pk):
            url = reverse("admin:articles_article_change", args=[pk])
            return add_preserved_filters(context, url) if pk else None

        return {
            "position": place.position,
            "total": place.total,
            "previous": link(place.previous),
            "next": link(place.following),
            "list": add_preserved_filters(context, reverse("admin:articles_article_changelist")),
        }


# -- related-story choices --------------------------------------------------------------


class ArticleChoicesView(AutocompleteJsonView):
    """The admin's autocomplete, saying of each article its outlet, date and status
    ("Chips get faster — Wire, 30 Nov 2026, in review"): titles alone do not tell a
    story from last year's of the same name. Other models answer as Django's does."""

    def serialize_result(self, obj, to_field_name):
        result = super().serialize_result(obj, to_field_name)
        if isinstance(obj, Article):
            result["text"] = choice_label(obj)
        return result


def choice_label(article) -> str:
    status = article.get_status_display().lower()
    return f"{article.title} — {article.provider}, {article.published_at:%-d %b %Y}, {status}"


def best_matches_first(queryset, term):
    """Autocomplete order: titles starting with the term, then containing it as a word
    start, then the rest; newest first within each."""
    if not term:
        return queryset.order_by("-published_at", "-pk")
    rank = Case(
        When(title__istartswith=term, then=Value(0)),
        When(title__icontains=f" {term}", then=Value(1)),
        default=Value(2),
    )
    return queryset.alias(match_rank=rank).order_by("match_rank", "-published_at", "-pk")


# -- topic suggestions ------------------------------------------------------------------


def topic_suggestions(article) -> list[suggestions.Suggestion]:
    """The topics the taxonomy suggests for `article` (articles/suggestions.py), best
    first, without those it has already. Three queries: the taxonomy, the article's
    topics and its coverage, whatever the size of either."""
    coverage = article.coverage.values_list("title", "excerpt")
    return _suggested(
        taxonomy(),
        article,
        has=set(article.topics.values_list("name", flat=True)),
        coverage=[f"{title} . {excerpt}" for title, excerpt in coverage],
    )


def related_suggestions(article) -> list[Article]:
    """The articles its story groups with `article` (articles/stories/) that it does not
    link as related yet, newest first. Three queries."""
    mates = story_mates([article.pk]) - {article.pk}
    if not mates:
        return []
    linked = set(article.related_stories.values_list("pk", flat=True))
    return list(
        Article.objects.filter(pk__in=mates - linked)
        .select_related("provider")
        .order_by("-published_at", "-pk")
    )


def taxonomy() -> list[suggestions.TopicTerms]:
    return suggestions.vocabulary(Topic.objects.select_related("parent"))


def _suggested(vocabulary, article, *, has, coverage) -> list[suggestions.Suggestion]:
    found = suggestions.suggest(
        vocabulary, title=article.title, excerpt=article.excerpt, coverage=coverage
    )
    return [suggestion for suggestion in found if suggestion.topic not in has]


def attach_decision_notes(articles):
    """What the review queue's rows show beside the scores: each article's strong topic
    suggestions (`desk_suggestions`) and how many outlets tell its story
    (`desk_outlets`). A constant number of queries for the page: the taxonomy, the
    page's coverage, the story counts (the topics are prefetched by the list)."""
    ids = [article.pk for article in articles]
    if not ids:
        return
    vocabulary = taxonomy()
    coverage = defaultdict(list)
    for article_id, title, excerpt in RelatedCoverage.objects.filter(
        article_id__in=ids
    ).values_list("article_id", "title", "excerpt"):
        coverage[article_id].append(f"{title} . {excerpt}")
    outlets = distinct_outlets(ids)
    for article in articles:
        found = _suggested(
            vocabulary,
            article,
            has={topic.name for topic in article.topics.all()},
            coverage=coverage[article.pk],
        )
        article.desk_suggestions = [suggestion for suggestion in found if suggestion.offered]
        article.desk_outlets = outlets.get(article.pk, 1)


def suggestion_label(suggestion: suggestions.Suggestion) -> str:
    """ "Robotics — “robot”, “humanoid”" or "Machine Learning — parent of Deep Learning":
    why the desk suggests it."""
    if suggestion.parent_of and not suggestion.matched:
        return f"{suggestion.topic} — parent of {suggestion.parent_of}"
    words = ", ".join(f"“{word}”" for word in suggestion.matched)
    # Weak: below the offer score. One that scores well but trails the leading topic
    # is unticked without being weak.
    weak = not suggestion.offered and suggestion.score < suggestions.OFFER_SCORE
    strength = " (weak)" if weak else ""
    return f"{suggestion.topic} — {words}{strength}"
