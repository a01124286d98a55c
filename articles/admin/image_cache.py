"""The image cache in the admin: each image's status, and an editor's retry or replacement.

"Cached images" lists every image URL pages show, with our copy (or the placeholder
readers see), its status, why it failed and when it will be tried again. An editor can
fetch images again now (the list's action, or the change form's checkbox) or replace
one with a file of their own (checked like a lead-image upload), which the fetcher then
leaves alone. `image_preview()` is the one way the admin shows an imported image: the
article list and the article's image rows use it too.
"""

from django import forms
from django.contrib import admin, messages
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.html import format_html

from ..imagecache import cache, pictures, renditions
from ..models import ImageSource
from ..site import public
from .images import validate_image_upload

STATUS_COLOURS = {"pending": "#8a6d1d", "cached": "#2f6b3a", "failed": "#a02c1c"}


def hosted_previews(urls) -> dict:
    """{URL: our Rendition} for the images an admin page shows: one query."""
    return public.hosted_pictures(urls)


def image_preview(url, hosted, *, name="", colour_key="", size=(16, 9), width=120):
    """Our copy of the image at `url` (from `hosted`), else the placeholder readers see,
    `width` pixels wide; "" when there is no URL."""
    if not url:
        return ""
    picture = hosted.get(url) or pictures.placeholder(name or url, colour_key or url, *size)
    return render_to_string(
        "admin/articles/image_preview.html", {"picture": picture, "width": width}
    )


def status_badge(source):
    if source is None:
        return format_html('<span title="{}">not registered yet</span>', "The sweep registers it")
    return format_html(
        '<strong style="color: {}">{}</strong>',
        STATUS_COLOURS.get(source.status, "inherit"),
        source.get_status_display() + (" (replaced)" if source.replaced else ""),
    )


def source_link(url, sources):
    """The status of `url` linked to its "cached image" page (`sources`: {URL: ImageSource})."""
    source = sources.get(url)
    badge = status_badge(source)
    if source is None:
        return badge
    href = reverse("admin:articles_imagesource_change", args=[source.pk])
    return format_html('<a href="{}">{}</a>', href, badge)


class ImageSourceForm(forms.ModelForm):
    replacement = forms.FileField(
        required=False,
        label="Replace with a file",
        help_text="A JPEG, PNG, WebP or GIF of your own, served instead of the outlet's image "
        "(it is not fetched again until someone fetches it again).",
        widget=forms.ClearableFileInput(
            attrs={"accept": "image/jpeg,image/png,image/webp,image/gif"}
        ),
    )
    fetch_again = forms.BooleanField(
        required=False,
        label="Fetch again now",
        help_text="Fetch it from its URL again (a replacement is dropped when it succeeds).",
    )

    class Meta:
        model = ImageSource
        fields = []

    def clean_replacement(self):
        upload = self.cleaned_data.get("replacement")
        if upload:
            validate_image_upload(upload)
        return upload

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("replacement") and cleaned.get("fetch_again"):
            raise forms.ValidationError("Replace it or fetch it again, not both at once.")
        return cleaned


@admin.register(ImageSource)
class ImageSourceAdmin(admin.ModelAdmin):
    form = ImageSourceForm
    list_display = [
        "preview",
        "url",
        "status_column",
        "failure_reason",
        "attempts",
        "fetched_at",
        "next_attempt_at",
    ]
    list_display_links = ["url"]
    list_filter = ["status", "replaced"]
    search_fields = ["url", "host"]
    list_per_page = 50
    actions = ["fetch_again"]
    fieldsets = [
        (
            None,
            {
                "fields": [
                    "large_preview",
                    "url",
                    "host",
                    "status_column",
                    "failure_reason",
                    "picture_summary",
                ]
            },
        ),
        (
            "Fetching",
            {"fields": ["attempts", "last_attempt_at", "next_attempt_at", "fetched_at"]},
        ),
        ("What an editor can do", {"fields": ["fetch_again", "replacement"]}),
    ]
    readonly_fields = [
        "large_preview",
        "url",
        "host",
        "status_column",
        "failure_reason",
        "picture_summary",
        "attempts",
        "last_attempt_at",
        "next_attempt_at",
        "fetched_at",
    ]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("picture")

    def has_add_permission(self, request):
        return False  # registered from what the pages show, never by hand

    def get_changelist(self, request, **kwargs):
        from django.contrib.admin.views.main import ChangeList

        class WithPreviews(ChangeList):
            def get_results(self, request):
                super().get_results(request)
                # Every preview of the page from one query.
                hosted = hosted_previews(source.url for source in self.result_list)
                for source in self.result_list:
                    source.hosted = hosted

        return WithPreviews

    @admin.display(description="Image")
    def preview(self, source):
        return image_preview(source.url, getattr(source, "hosted", {}), colour_key=source.host)

    @admin.display(description="Our copy")
    def large_preview(self, source):
        return image_preview(
            source.url, hosted_previews([source.url]), colour_key=source.host, width=400
        )

    @admin.display(description="Status", ordering="status")
    def status_column(self, source):
        return status_badge(source)

    @admin.display(description="Stored")
    def picture_summary(self, source):
        picture = source.picture
        if picture is None:
            return "—"
        served = sum(picture.served_bytes.values())
        return (
            f"{picture.width}×{picture.height} {picture.format}, {picture.bytes:,} bytes; "
            f"renditions {', '.join(map(str, picture.widths))} px wide as WebP and "
            f"{picture.fallback.upper()} ({served:,} bytes in all); SHA-256 {picture.sha256}"
        )

    @admin.action(description="Fetch the selected images again now", permissions=["change"])
    def fetch_again(self, request, queryset):
        count = cache.retry(queryset)
        self.message_user(
            request,
            f"{count} image(s) will be fetched again by the next worker free.",
            messages.SUCCESS,
        )

    def save_model(self, request, obj, form, change):
        upload = form.cleaned_data.get("replacement")
        if upload:
            upload.seek(0)
            try:
                cache.replace(obj, upload.read())
            except renditions.ImageRejected as rejected:
                self.message_user(request, f"Not replaced: {rejected}.", messages.ERROR)
            else:
                self.message_user(request, "Replaced: readers now see your file.")
        elif form.cleaned_data.get("fetch_again"):
            cache.retry(ImageSource.objects.filter(pk=obj.pk))
            self.message_user(request, "It will be fetched again by the next worker free.")

    def log_change(self, request, obj, message):
        form_message = []
        if request.FILES.get("replacement"):
            form_message.append("Replaced with a file.")
        if request.POST.get("fetch_again"):
            form_message.append("Asked to fetch it again.")
        return super().log_change(request, obj, " ".join(form_message) or message)
