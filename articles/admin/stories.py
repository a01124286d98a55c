"""The editors' Stories view and the proposals queue (issue 19).

Stories: each row is a story (its lead, how many articles and outlets, first and last
seen). A story's page lists its articles and coverage with the score and the signals
that put each there; the editor chooses the lead, splits an article out, or merges
another story in. Proposals: the borderline matches the grouping did not make on its
own; the editor accepts or dismisses them (actions).

Presentation only: every decision is a function of articles/stories/decisions.py,
which keeps it across imports and writes it to the history. Deciding needs the
change permission of stories (or of proposals), checked here on the server.
"""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.text import Truncator

from .. import stories
from ..links import is_http_url
from ..models import Article, Story, StoryMention, StoryProposal

Kind = StoryMention.Kind


class StoryAdminForm(forms.ModelForm):
    merge_with = forms.IntegerField(
        required=False,
        min_value=1,
        label="Merge in story #",
        help_text="The number of another story: its articles and coverage join this one.",
    )

    class Meta:
        model = Story
        fields = []

    def clean_merge_with(self):
        number = self.cleaned_data.get("merge_with")
        if number is None:
            return None
        other = Story.objects.filter(pk=number).first()
        if other is None:
            raise forms.ValidationError(f"There is no story #{number}.")
        if other.pk == self.instance.pk:
            raise forms.ValidationError("A story cannot be merged with itself.")
        return other


def _signals(signals):
    if not signals:
        return "—"
    parts = [
        f"{name} {value}" if not isinstance(value, bool | list) else name
        for name, value in signals.items()
        if name != "shared"
    ]
    if signals.get("shared"):
        parts.append("shared: " + ", ".join(map(str, signals["shared"])))
    return "; ".join(parts)


@admin.register(Story)
class StoryAdmin(admin.ModelAdmin):
    form = StoryAdminForm
    list_display = ["__str__", "articles", "outlets", "first_seen", "last_seen"]
    list_display_links = ["__str__"]
    list_select_related = ["lead"]
    date_hierarchy = "last_seen"
    search_fields = ["lead__title", "mentions__article__title"]
    search_help_text = "Searches the titles of the stories' articles."
    fields = [
        "lead",
        "lead_chosen",
        ("first_seen", "last_seen"),
        "members",
        "coverage",
        "merge_with",
    ]
    readonly_fields = ["lead", "lead_chosen", "first_seen", "last_seen", "members", "coverage"]
    actions = ["merge_selected"]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(
                article_count=Count("mentions", filter=Q(mentions__kind=Kind.ARTICLE)),
                outlet_count=Count(
                    "mentions__outlet", filter=~Q(mentions__kind=Kind.ALIAS), distinct=True
                ),
            )
        )

    def has_add_permission(self, request):
        return False  # stories come from the grouping, merges and accepted proposals

    @admin.display(description="Articles", ordering="article_count")
    def articles(self, story):
        return story.article_count

    @admin.display(description="Outlets", ordering="outlet_count")
    def outlets(self, story):
        return story.outlet_count

    def get_fields(self, request, obj=None):
        fields = list(super().get_fields(request, obj))
        if not self.has_change_permission(request, obj):
            fields = [
                "members_readonly" if f == "members" else f for f in fields if f != "merge_with"
            ]
        return fields

    def get_readonly_fields(self, request, obj=None):
        return [*self.readonly_fields, "members_readonly"]

    @admin.display(description="Articles of the story")
    def members(self, story):
        return self._members(story, buttons=True)

    @admin.display(description="Articles of the story")
    def members_readonly(self, story):
        return self._members(story, buttons=False)

    def _members(self, story, *, buttons):
        rows = (
            StoryMention.objects.filter(story=story, kind=Kind.ARTICLE)
            .select_related("article", "article__provider")
            .order_by("article__published_at", "article_id")
        )
        return _table(
            ("Article", "Outlet", "Status", "Published", "Score", "Why", ""),
            [
                (
                    format_html(
                        '<a href="{}">{}</a>{}',
                        reverse("admin:articles_article_change", args=[m.article_id]),
                        m.article.title,
                        " (lead)" if m.is_lead else "",
                    ),
                    m.outlet,
                    m.article.get_status_display(),
                    m.article.published_at,
                    "editor" if m.pinned else (m.score if m.score is not None else "—"),
                    _signals(m.signals),
                    _buttons(m) if buttons else "",
                )
                for m in rows
            ],
        )

    @admin.display(description="Coverage")
    def coverage(self, story):
        rows = StoryMention.objects.filter(story=story, kind=Kind.COVERAGE).order_by(
            "published_at", "id"
        )
        return _table(
            ("Outlet", "Address", "Published", "Score", "Why"),
            [
                (
                    m.outlet,
                    format_html(
                        '<a href="https://{}" rel="noopener noreferrer">{}</a>', m.key, m.key
                    )
                    if is_http_url(f"https://{m.key}")
                    else m.key,
                    m.published_at,
                    m.score if m.score is not None else "—",
                    _signals(m.signals),
                )
                for m in rows
            ],
        )

    def change_view(self, request, object_id, form_url="", extra_context=None):
        decision = next((name for name in ("_lead", "_split") if name in request.POST), None)
        if request.method != "POST" or decision is None:
            return super().change_view(request, object_id, form_url, extra_context)
        if not self.has_change_permission(request):
            raise PermissionDenied
        story = self.get_object(request, object_id)
        article = Article.objects.filter(pk=request.POST.get(decision) or 0).first()
        if story is None or article is None:
            self.message_user(request, "Nothing changed: no such story or article.", messages.ERROR)
            return HttpResponseRedirect(request.path)
        try:
            if decision == "_lead":
                stories.set_lead(story, article, user=request.user)
                self.message_user(request, f"“{article}” now leads the story.")
            else:
                stories.split(story, article, user=request.user)
                self.message_user(request, f"Split “{article}” out of the story; it stays out.")
        except stories.DecisionError as error:
            self.message_user(request, f"Nothing changed: {error}", messages.ERROR)
        if not Story.objects.filter(pk=story.pk).exists():
            return HttpResponseRedirect(reverse("admin:articles_story_changelist"))
        return HttpResponseRedirect(request.path)

    def save_model(self, request, obj, form, change):
        other = form.cleaned_data.get("merge_with")
        if other is not None:
            stories.merge(obj, other, user=request.user)
            self.message_user(request, f"Merged story #{other.pk} into this one.")

    def log_change(self, request, obj, message):
        pass  # decisions write their own history entries (stories.decisions)

    @admin.action(description="Merge the selected stories into one", permissions=["change"])
    def merge_selected(self, request, queryset):
        chosen = list(queryset.order_by("pk"))
        if len(chosen) < 2:
            self.message_user(request, "Choose two stories or more to merge.", messages.WARNING)
            return
        into = chosen[0]
        for other in chosen[1:]:
            stories.merge(into, other, user=request.user)
        self.message_user(request, f"Merged {len(chosen) - 1} stories into story #{into.pk}.")


def _buttons(mention):
    """Buttons of the change form: they submit it with the decision's name."""
    lead = (
        ""
        if mention.is_lead
        else format_html(
            '<button type="submit" name="_lead" value="{}" class="button">Make lead</button> ',
            mention.article_id,
        )
    )
    return format_html(
        '{}<button type="submit" name="_split" value="{}" class="button">Split out</button>',
        lead,
        mention.article_id,
    )


def _table(headers, rows):
    if not rows:
        return "None"
    head = format_html_join("", "<th>{}</th>", ((h,) for h in headers))
    body = format_html_join(
        "",
        "<tr>{}</tr>",
        ((format_html_join("", "<td>{}</td>", ((cell,) for cell in row)),) for row in rows),
    )
    return format_html("<table><thead><tr>{}</tr></thead><tbody>{}</tbody></table>", head, body)


class OpenFilter(admin.SimpleListFilter):
    """Open proposals by default: they are the queue."""

    title = "status"
    parameter_name = "status"

    def lookups(self, request, model_admin):
        return [
            (None, "Open"),
            *[(s, label) for s, label in StoryProposal.Status.choices if s != "open"],
            ("all", "All"),
        ]

    def choices(self, changelist):
        for value, label in self.lookup_choices:
            yield {
                "selected": self.value() == value,
                "query_string": changelist.get_query_string({self.parameter_name: value})
                if value
                else changelist.get_query_string(remove=[self.parameter_name]),
                "display": label,
            }

    def queryset(self, request, queryset):
        value = self.value()
        if value == "all":
            return queryset
        return queryset.filter(status=value or StoryProposal.Status.OPEN)


@admin.register(StoryProposal)
class StoryProposalAdmin(admin.ModelAdmin):
    list_display = ["article_title", "match_title", "score", "why", "status", "created_at"]
    list_filter = [OpenFilter]
    list_select_related = ["article", "match"]
    actions = ["accept", "dismiss"]
    readonly_fields = ["article", "match", "score", "signals", "status", "decided_at", "decided_by"]
    fields = readonly_fields

    def has_add_permission(self, request):
        return False

    @admin.display(description="Article")
    def article_title(self, proposal):
        return Truncator(proposal.article.title).chars(90)

    @admin.display(description="Resembles (its story)")
    def match_title(self, proposal):
        return Truncator(proposal.match.title).chars(90)

    @admin.display(description="Why")
    def why(self, proposal):
        return _signals(proposal.signals)

    @admin.action(description="Accept: same story", permissions=["change"])
    def accept(self, request, queryset):
        self._decide(request, queryset, stories.accept, "Accepted")

    @admin.action(
        description="Dismiss: not the same story (never proposed again)", permissions=["change"]
    )
    def dismiss(self, request, queryset):
        self._decide(request, queryset, stories.dismiss, "Dismissed")

    def _decide(self, request, queryset, decide, done):
        count = 0
        for proposal in queryset.filter(status=StoryProposal.Status.OPEN).order_by("pk"):
            try:
                decide(proposal, user=request.user)
                count += 1
            except stories.DecisionError:
                continue  # decided meanwhile (by another editor, or by an earlier one here)
        self.message_user(request, f"{done} {count} proposal{'s' if count != 1 else ''}.")
