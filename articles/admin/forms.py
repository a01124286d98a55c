"""Forms behind the editorial admin: the article form, the list's editable row, the action
bar, and the topic and provider forms (their slug and domain are part of public URLs).

Rules that must hold whatever the page looks like live here (and in the model),
not in templates: who may change the status, the score limits, the upload checks
and the stale-edit guard.
"""

from django import forms
from django.contrib.admin.helpers import ActionForm
from django.contrib.admin.widgets import FilteredSelectMultiple
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db.models import Q
from django.forms.models import BaseInlineFormSet
from django.forms.utils import pretty_name
from django.utils import timezone
from django.utils.html import format_html
from django.utils.text import Truncator

from .. import revisions
from ..ingest.schema import MAX_INT
from ..ingest.snapshot import changed_since_import
from ..links import HOST_NAME
from ..models import Article, Provider, Topic, make_slug
from .desk import choice_label, related_suggestions, suggestion_label, topic_suggestions
from .images import validate_image_upload

QUALITY_ERRORS = {
    "min_value": "Quality must be 0 or more.",
    "max_value": f"Quality must be at most {MAX_INT:,}.",
}
UPLOAD_CONTENT_TYPES = ["image/jpeg", "image/png", "image/webp", "image/gif"]
URL_FIELDS = ["web_url", "original_url", "amp_web_url", "cdn_amp_web_url"]
WIDE = "width: 100%; max-width: 48em"
# Scheduling and embargo: like the status, only for editors with the publishing right.
PUBLISHING_FIELDS = ("go_live_at", "take_down_at", "embargo_until")
PUBLISHING_RIGHT_FIELDS = ("status", *PUBLISHING_FIELDS)
HEAT_PIN_ERRORS = {
    "min_value": "A pinned heat must be 0 or more (leave it empty for the computed one).",
    "max_value": f"A pinned heat must be at most {MAX_INT:,}.",
}


class VersionField(forms.CharField):
    """The `updated_at` the editor's page was built from, sent back in a hidden input.

    It never counts as a change of its own: only the editor's real edits do.
    """

    widget = forms.HiddenInput

    def __init__(self, **kwargs):
        super().__init__(required=False, **kwargs)

    def has_changed(self, initial, data):
        return False


def version_of(article) -> str:
    return article.updated_at.isoformat() if article.updated_at else ""


class TopicsWidget(FilteredSelectMultiple):
    """The admin's two-box topic picker, laid out like filter_horizontal on a real M2M.

    The admin's JavaScript builds the boxes in the select's parent element; the
    wrapper keeps them from pushing the field's label aside.
    """

    def render(self, name, value, attrs=None, renderer=None):
        html = super().render(name, value, attrs, renderer)
        return format_html('<div class="related-widget-wrapper">{}</div>', html)


def name_the_inputs(form, of="", *, split_only=False):
    """Give each input an accessible name where the page shows none: list rows and
    inline rows have only a column header, split date/time fields one label for two
    boxes. `of` says whose row it is ("Quality of “Chips get faster”")."""
    for name, field in form.fields.items():
        widget = getattr(field.widget, "widget", field.widget)  # the admin's wrapper
        label = str(field.label or pretty_name(name))
        if isinstance(widget, forms.MultiWidget):
            parts = ["date", "time"] if len(widget.widgets) == 2 else range(len(widget.widgets))
            for part, sub in zip(parts, widget.widgets, strict=True):
                sub.attrs.setdefault("aria-label", f"{label} ({part})")
        elif label and not split_only:
            widget.attrs.setdefault("aria-label", f"{label} of “{of}”" if of else label)


class LabelledInlineForm(forms.ModelForm):
    """An inline row whose inputs say what they are (a tabular inline has no labels)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        name_the_inputs(self)


class SplitLabelledInlineForm(forms.ModelForm):
    """A stacked inline row: labels shown, but one label for a date and a time box."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        name_the_inputs(self, split_only=True)


class LabelledInlineFormSet(BaseInlineFormSet):
    """Names the "Delete" box that the formset adds to each row after the form is built."""

    def add_fields(self, form, index):
        super().add_fields(form, index)
        if "DELETE" in form.fields:
            form.fields["DELETE"].widget.attrs.setdefault("aria-label", "Delete this row")


class ArticleScoresForm(forms.ModelForm):
    """Quality, pinned heat and the stale-edit guard: shared by the list rows and the full form.

    Django's admin saves last-write-wins. Each form carries the version (updated_at)
    it was built from; when the stored article is newer and this form would change
    something, it is refused instead of silently undoing the other editor's work
    (or an import's). Race-free only if the instance was read under a row lock in
    the transaction that saves it, as the admin does (ArticleAdmin.get_object and
    changelist_view): nothing can then change the row between this check and the save.
    """

    quality = forms.IntegerField(
        required=False,
        min_value=0,
        max_value=MAX_INT,
        error_messages=QUALITY_ERRORS,
        widget=forms.NumberInput(attrs={"min": 0, "style": "width: 6em"}),
        help_text=Article._meta.get_field("quality").help_text,
    )
    heat_pin = forms.IntegerField(
        required=False,
        min_value=0,
        max_value=MAX_INT,
        label="Pinned heat",
        error_messages=HEAT_PIN_ERRORS,
        widget=forms.NumberInput(attrs={"min": 0, "style": "width: 6em"}),
        help_text=Article._meta.get_field("heat_pin").help_text,
    )
    version = VersionField()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["version"].initial = version_of(self.instance)

    def clean(self):
        cleaned = super().clean()
        sent = self.data.get(self.add_prefix("version"), "")
        if self.instance.pk and self.has_changed() and sent != version_of(self.instance):
            changed_at = timezone.localtime(self.instance.updated_at)
            raise ValidationError(
                "Not saved: someone else changed “%(title)s” at %(time)s, after you opened "
                "this page. Reload the page to see their change, then make yours again.",
                code="stale",
                params={"title": self.instance.title, "time": f"{changed_at:%Y-%m-%d %H:%M:%S}"},
            )
        return cleaned


class ArticleChangeListForm(ArticleScoresForm):
    """One editable row of the article list (quality and pinned heat)."""

    class Meta:
        model = Article
        fields = ["quality", "heat_pin"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        name_the_inputs(self, of=self.instance.title)


class ArticleAdminForm(ArticleScoresForm):
    """The full article form.

    `can_change_status` is set by the admin from the `publish_article` permission:
    without it the status field is locked to its current value. A disabled field
    ignores whatever a (crafted) POST sends for it, so it cannot be used to publish.
    """

    can_change_status = False

    # Existing topics only: taggit's default text box would create a new topic for
    # every typo, bypassing the taxonomy.
    topics = forms.ModelMultipleChoiceField(
        queryset=Topic.objects.all(),
        required=False,
        widget=TopicsWidget("topics", is_stacked=False),
    )
    # The taxonomy's suggestions, added to the topics on save when ticked (the strong
    # ones come ticked while the article waits for review; `a` ticks them all).
    suggested_topics = forms.MultipleChoiceField(
        required=False,
        widget=forms.CheckboxSelectMultiple(attrs={"class": "desk-suggestions"}),
        label="Suggested topics",
        help_text="Ticked ones are added to the topics when you save. The words that "
        "matched are quoted.",
    )
    # Articles of the same story (articles/stories/), linked as related when ticked.
    suggested_related = forms.TypedMultipleChoiceField(
        coerce=int,
        required=False,
        widget=forms.CheckboxSelectMultiple(attrs={"class": "desk-suggestions"}),
        label="Same story",
        help_text="Other articles the story grouping put with this one. Ticked ones are "
        "linked as related stories when you save.",
    )
    lead_image = forms.FileField(
        required=False,
        widget=forms.ClearableFileInput(attrs={"accept": ",".join(UPLOAD_CONTENT_TYPES)}),
        help_text="JPEG, PNG, WebP or GIF, up to 10 MB and 40 megapixels. "
        "A 400-pixel-wide thumbnail is made from it for lists and cards.",
    )
    slug = forms.SlugField(
        required=False,
        max_length=Article._meta.get_field("slug").max_length,
        help_text="Part of the public URL. Leave empty to make it from the date and title.",
        widget=forms.TextInput(attrs={"class": "vTextField", "style": WIDE}),
    )

    class Meta:
        model = Article
        fields = [
            "title",
            "slug",
            "excerpt",
            "body",
            "type",
            "category",
            "topics",
            "status",
            "go_live_at",
            "take_down_at",
            "embargo_until",
            "quality",
            "heat_pin",
            "boost_hours",
            "boost_reason",
            "related_stories",
            "lead_image",
            "web_url",
            "original_url",
            "amp_web_url",
            "cdn_amp_web_url",
            "provider",
            "published_at",
        ]
        widgets = {"title": forms.TextInput(attrs={"class": "vTextField", "style": WIDE})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "status" in self.fields and not self.can_change_status:
            status = self.fields["status"]
            current = self.instance.status if self.instance.pk else Article.Status.REVIEW
            status.disabled = True
            status.choices = [(value, label) for value, label in status.choices if value == current]
            status.help_text = "Only editors with the publishing right change the status."
            for name in PUBLISHING_FIELDS:
                if name in self.fields:
                    self.fields[name].disabled = True
                    self.fields[
                        name
                    ].help_text = "Only editors with the publishing right schedule and embargo."
        zone = timezone.get_current_timezone_name()
        for name in PUBLISHING_FIELDS:
            if name in self.fields and not self.fields[name].disabled:
                self.fields[name].help_text += f" In the site's time zone ({zone})."
        for name in URL_FIELDS:
            if name in self.fields:
                self.fields[name].error_messages["invalid"] = (
                    "Enter a valid http:// or https:// URL."
                )
        if self.instance.pk:
            self._mark_changed_since_import()
        if "suggested_topics" in self.fields:
            self._offer_suggestions()
        name_the_inputs(self, split_only=True)  # the other fields have visible labels

    def _offer_suggestions(self):
        self._offer_related()
        field = self.fields["suggested_topics"]
        found = topic_suggestions(self.instance) if self.instance.pk else []
        field.choices = [(suggestion.topic, suggestion_label(suggestion)) for suggestion in found]
        if self.instance.status == Article.Status.REVIEW:
            self.initial["suggested_topics"] = [s.topic for s in found if s.offered]
        if not found:
            field.help_text = (
                "None: no topic's name, keyword or hashtag appears in the title, excerpt "
                "or coverage, but for the topics it has."
            )

    def _mark_changed_since_import(self):
        """Tell editors which fields differ from what the last import wrote.

        The admin renders help_text unescaped, so the imported value is escaped here.
        """
        for name in changed_since_import(self.instance, revisions.held_of(self.instance)):
            if name not in self.fields:
                continue
            field = self.fields[name]
            imported = self.instance.imported.get(name)
            if isinstance(imported, list):
                imported = ", ".join(str(value) for value in imported)
            shown = Truncator("" if imported is None else str(imported)).chars(200) or "(empty)"
            field.help_text = format_html(
                '{}<div class="changed-since-import"><strong>Edited since the last import.'
                "</strong> Imported value: {}</div>",
                field.help_text,
                shown,
            )

    def _offer_related(self):
        field = self.fields.get("suggested_related")
        if field is None:
            return
        found = related_suggestions(self.instance) if self.instance.pk else []
        field.choices = [(article.pk, choice_label(article)) for article in found]
        if self.instance.status == Article.Status.REVIEW:
            self.initial["suggested_related"] = [article.pk for article in found]
        if not found:
            field.help_text = "None: the story grouping found no other article of this story."

    def clean_lead_image(self):
        upload = self.cleaned_data.get("lead_image")
        if isinstance(upload, UploadedFile):  # a new upload, not the stored file
            extension = validate_image_upload(upload)
            # Store it under the extension of what it really is, whatever it was called.
            stem = upload.name.rsplit(".", 1)[0] if "." in upload.name else upload.name
            upload.name = f"{stem or 'image'}.{extension}"
        return upload

    def clean(self):
        cleaned = super().clean()
        if not cleaned.get("slug") and cleaned.get("title") and cleaned.get("published_at"):
            cleaned["slug"] = make_slug(cleaned["published_at"], cleaned["title"])
        # The ticks are a way to pick topics and links, not fields of the history.
        for name in ("suggested_topics", "suggested_related"):
            if name in self.changed_data:
                self.changed_data.remove(name)
        linked = cleaned.get("suggested_related")
        if linked and "related_stories" in cleaned:
            chosen = [article.pk for article in cleaned["related_stories"]]
            cleaned["related_stories"] = Article.objects.filter(pk__in={*chosen, *linked})
            if "related_stories" not in self.changed_data:
                self.changed_data.append("related_stories")
        accepted = cleaned.get("suggested_topics")
        if accepted and "topics" in cleaned:
            chosen = [topic.pk for topic in cleaned["topics"]]
            cleaned["topics"] = Topic.objects.filter(Q(pk__in=chosen) | Q(name__in=accepted))
            if "topics" not in self.changed_data:
                self.changed_data.append("topics")  # for the history, like a picked topic
        return cleaned


class ArticleActionForm(ActionForm):
    """The admin action bar, with the value some actions need.

    "Set quality" and "Set heat" read Value; "Add topic" and "Remove topic" read Topic.
    Django's admin answers "No action selected" when any field of this bar is invalid,
    so the bar only carries the raw text; the action parses it with ActionValues,
    which says what is wrong.
    """

    value = forms.CharField(
        required=False,
        label="Value (for set quality/heat):",
        widget=forms.NumberInput(attrs={"style": "width: 5em", "min": "-1"}),
    )
    topic = forms.CharField(required=False, label="Topic (for add/remove topic):")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        choices = [("", "---------"), *Topic.objects.values_list("pk", "name")]
        self.fields["topic"].widget = forms.Select(choices=choices)


class ActionValues(forms.Form):
    """The action bar's Value and Topic, parsed with messages an editor can act on."""

    value = forms.IntegerField(
        required=False,
        min_value=-MAX_INT,
        max_value=MAX_INT,
        error_messages={"max_value": f"Value must be at most {MAX_INT:,}."},
    )
    topic = forms.ModelChoiceField(queryset=Topic.objects.all(), required=False)


class TopicAdminForm(forms.ModelForm):
    """A topic's slug is its page's address (/topics/<slug>/): ASCII letters, digits,
    hyphens and underscores only, as the URL pattern takes it. (taggit's model field
    allows any Unicode letter, which no topic URL could hold.)"""

    slug = forms.SlugField(
        max_length=Topic._meta.get_field("slug").max_length,
        help_text="Part of the topic page's address: letters, digits, hyphens and "
        "underscores (no spaces or accents).",
    )

    class Meta:
        model = Topic
        fields = [
            "name",
            "slug",
            "kind",
            "short_name",
            "parent",
            "description",
            "keywords",
            "hashtags",
            "images",
            "services",
        ]


class ProviderAdminForm(forms.ModelForm):
    """An outlet's domain is its page's address (/providers/<domain>/): a bare host name."""

    class Meta:
        model = Provider
        fields = ["name", "domain", "logos"]
        help_texts = {
            "domain": "The outlet's bare host name, like news.example.com: lower-case "
            "letters, digits, hyphens and dots (no https://, path or port)."
        }

    def clean_domain(self):
        domain = self.cleaned_data["domain"].lower()
        if not HOST_NAME.fullmatch(domain):
            raise ValidationError(
                "Enter a bare host name such as news.example.com: letters, digits, "
                "hyphens and dots only, no https://, path or port.",
                code="invalid",
            )
        return domain
