"""Importing from the admin: upload, preview, confirm or cancel, watch it run.

Editors with `articles.import_articles` (the Editors group, migration 0017; never
Contributors) upload Markdown/YAML files or a zip of them. The upload is refused as a
whole, one line per reason, when archive.unpack() says so; otherwise it is stored and
previewed by a worker (articles/ingest/uploads.py). The preview lists every file's
outcome, paginated and filtered by outcome; confirming queues the import of exactly
those files, and the page follows it (static/admin/import_progress.js polls the
progress view; without JavaScript, a refresh link) to its ImportRun.

Every view checks the permission itself, and sees only the user's own uploads
(superusers see all): another editor's upload is a 404, a Contributor gets 403.
"""

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Count
from django.http import Http404, HttpResponseNotAllowed, HttpResponseRedirect, JsonResponse
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from ..ingest import archive, uploads
from ..ingest.importer import Outcome
from ..models import ImportUpload
from .model_admins import _conflict_row, _value_table

IMPORT_PERMISSION = "articles.import_articles"
PER_PAGE = 50
OUTCOMES = [outcome.value for outcome in Outcome]
RUNNING = {ImportUpload.Status.PREVIEWING, ImportUpload.Status.APPLYING}


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several files in one input (Django's recipe): cleaned into a list."""

    def clean(self, data, initial=None):
        chosen = data if isinstance(data, list | tuple) else [data]
        return [super(MultipleFileField, self).clean(one, initial) for one in chosen]


class UploadForm(forms.Form):
    files = MultipleFileField(
        widget=MultipleFileInput(attrs={"accept": ".md,.markdown,.yaml,.yml,.zip"}),
        help_text="Markdown or YAML files (.md, .markdown, .yaml, .yml), or a .zip of them.",
    )

    def clean_files(self):
        files = self.cleaned_data["files"]
        try:
            self.unpacked = archive.unpack(files)
        except archive.Refused as refused:
            raise forms.ValidationError(refused.lines) from None
        if not self.unpacked:
            raise forms.ValidationError("The upload holds no file (expected at least one).")
        return files


@admin.register(ImportUpload)
class ImportUploadAdmin(admin.ModelAdmin):
    list_display = ["__str__", "status", "created_at", "uploaded_by", "total", "run_link"]
    list_filter = ["status"]

    # -- who may do what: the permission, and one's own uploads only -----------------

    def has_import_permission(self, request, upload=None):
        user = request.user
        if not (user.is_active and user.is_staff and user.has_perm(IMPORT_PERMISSION)):
            return False
        return upload is None or user.is_superuser or upload.uploaded_by_id == user.pk

    def has_module_permission(self, request):
        return self.has_import_permission(request)

    def has_view_permission(self, request, obj=None):
        return self.has_import_permission(request, obj)

    def has_add_permission(self, request):
        return self.has_import_permission(request)

    def has_change_permission(self, request, obj=None):
        return False  # an upload is previewed, confirmed or cancelled, never edited

    def has_delete_permission(self, request, obj=None):
        return False  # cancelled through cancel_view, which says what it does

    def get_queryset(self, request):
        queryset = super().get_queryset(request).select_related("uploaded_by", "import_run")
        return queryset if request.user.is_superuser else queryset.filter(uploaded_by=request.user)

    @admin.display(description="Import run")
    def run_link(self, upload):
        if upload.import_run_id is None:
            return "—"
        url = reverse("admin:articles_importrun_change", args=[upload.import_run_id])
        return format_html('<a href="{}">{}</a>', url, upload.import_run)

    # -- the views --------------------------------------------------------------------

    def get_urls(self):
        own = [
            path(
                "<path:object_id>/confirm/",
                self.admin_site.admin_view(self.confirm_view),
                name="articles_importupload_confirm",
            ),
            path(
                "<path:object_id>/cancel/",
                self.admin_site.admin_view(self.cancel_view),
                name="articles_importupload_cancel",
            ),
            path(
                "<path:object_id>/progress/",
                self.admin_site.admin_view(self.progress_view),
                name="articles_importupload_progress",
            ),
        ]
        return [*own, *super().get_urls()]

    def _own_upload(self, request, object_id) -> ImportUpload:
        if not self.has_import_permission(request):
            raise PermissionDenied
        upload = self.get_queryset(request).filter(pk=unquote(object_id)).first()
        if upload is None:
            raise Http404("No such upload.")
        return upload

    def add_view(self, request, form_url="", extra_context=None):
        """The upload form; a valid upload is stored and its preview queued."""
        if not self.has_import_permission(request):
            raise PermissionDenied
        form = UploadForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            chosen = form.cleaned_data["files"]
            name = chosen[0].name if len(chosen) == 1 else f"{len(chosen)} files"
            upload = uploads.store(request.user, name, form.unpacked)
            return HttpResponseRedirect(self._page_url(upload))
        context = {
            **self.admin_site.each_context(request),
            "title": "Import files",
            "opts": self.model._meta,
            "form": form,
            "limits": archive.Limits.from_settings(),
            # Django refuses a request with more (400, before any view runs).
            "max_chosen": settings.DATA_UPLOAD_MAX_NUMBER_FILES,
        }
        return TemplateResponse(request, "admin/articles/importupload/upload.html", context)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        """The upload's page: progress while a worker runs it, then the preview."""
        upload = self._own_upload(request, object_id)
        outcome = request.GET.get("outcome", "")
        outcome = outcome if outcome in OUTCOMES else ""
        counts = dict(
            upload.files.values_list("outcome").annotate(n=Count("pk")).values_list("outcome", "n")
        )
        files = upload.files.defer("data")
        if outcome:
            files = files.filter(outcome=outcome)
        page = Paginator(files, PER_PAGE).get_page(request.GET.get("page"))
        context = {
            **self.admin_site.each_context(request),
            "title": str(upload),
            "opts": self.model._meta,
            "upload": upload,
            "running": upload.status in RUNNING,
            "previewed": upload.status == ImportUpload.Status.PREVIEWED,
            "percent": _percent(upload),
            "counts": [(name, counts.get(name, 0)) for name in OUTCOMES],
            "outcome": outcome,
            "page": page,
            "rows": [_row(file) for file in page.object_list],
            "progress_url": reverse("admin:articles_importupload_progress", args=[upload.pk]),
            "run_url": _run_url(upload),
        }
        return TemplateResponse(request, "admin/articles/importupload/preview.html", context)

    def confirm_view(self, request, object_id):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        upload = self._own_upload(request, object_id)
        if uploads.confirm(upload):
            self.message_user(request, f"Importing {upload.name}: a worker runs it.")
        else:
            self.message_user(
                request,
                f"{upload} is {upload.get_status_display().lower()}: there is nothing to confirm.",
                messages.ERROR,
            )
        return HttpResponseRedirect(self._page_url(upload))

    def cancel_view(self, request, object_id):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        upload = self._own_upload(request, object_id)
        cancellable = (
            self.get_queryset(request)
            .filter(pk=upload.pk)
            .exclude(status__in=[ImportUpload.Status.APPLYING, ImportUpload.Status.DONE])
        )
        if cancellable.delete()[0]:
            self.message_user(request, f"Cancelled {upload}: its files are deleted.")
            return HttpResponseRedirect(reverse("admin:articles_importupload_changelist"))
        self.message_user(
            request, f"{upload} was confirmed already: it cannot be cancelled.", messages.ERROR
        )
        return HttpResponseRedirect(self._page_url(upload))

    def progress_view(self, request, object_id):
        """What import_progress.js shows: the status and how many files are done (never
        cached: admin_view adds the headers)."""
        upload = self._own_upload(request, object_id)
        return JsonResponse(
            {
                "status": upload.status,
                "status_display": upload.get_status_display(),
                "running": upload.status in RUNNING,
                "done": upload.done,
                "total": upload.total,
                "percent": _percent(upload),
                "run_url": _run_url(upload),
            }
        )

    @staticmethod
    def _page_url(upload):
        return reverse("admin:articles_importupload_change", args=[upload.pk])


def _percent(upload) -> int:
    return 100 * upload.done // upload.total if upload.total else 100


def _run_url(upload) -> str:
    if upload.import_run_id is None:
        return ""
    return reverse("admin:articles_importrun_change", args=[upload.import_run_id])


def _row(file) -> dict:
    """A preview row: the file, its outcome and what it changes, as small tables."""
    detail = file.detail
    changes = [
        _conflict_row({"field": c["field"], "ours": c["old"], "theirs": c["new"]})
        for c in detail.get("changes", ())
    ]
    conflicts = [_conflict_row(c) for c in detail.get("conflicts", ())]
    return {
        "name": file.name,
        "outcome": file.outcome,
        "changes": _value_table(("Field", "Old", "New"), changes) if changes else "",
        "conflicts": _value_table(("Field", "Editor's value (kept)", "File's value"), conflicts)
        if conflicts
        else "",
        "error": detail.get("error", ""),
        "warnings": detail.get("warnings", ()),
    }
