"""The article's history page: its revisions as field-by-field diffs, and revert.

The revisions are written by articles/revisions.py for every change, whoever made it;
this page only reads them. Text is compared word by word (difflib) and marked with
<ins>/<del> inside it, lists show what was added and removed; every value is escaped
(imported text is not ours). Reverting (whole, or the fields ticked) needs the change
permission, keeps the status without the publishing right, and is refused when the
article changed after the page was loaded (the change form's stale-edit guard).
"""

import difflib
import json
import re

from django.contrib import messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpResponseNotAllowed, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import escape, format_html, format_html_join
from django.utils.safestring import mark_safe

from .. import revisions
from ..changes import Source
from ..ingest import schema
from ..models import Article
from .forms import version_of

HISTORY_TEMPLATE = "admin/articles/article/revisions.html"
PER_PAGE = 50
SOURCES = {source.value for source in Source}
SECURED_SHOWN_CHARS = 12
# Words, runs of blanks and single other characters: the units a text diff marks.
TOKENS = re.compile(r"\w+|\s+|[^\w\s]")


class RevisionsMixin:
    """Mixed into ArticleAdmin: the history page shows revisions; one POST view reverts."""

    def get_urls(self):
        revert = path(
            "<path:object_id>/history/<int:number>/revert/",
            self.admin_site.admin_view(self.revert_view),
            name="articles_article_revert",
        )
        return [revert, *super().get_urls()]

    def history_view(self, request, object_id, extra_context=None):
        article = self.get_object(request, unquote(object_id))
        if article is None:
            raise Http404("No such article.")
        if not self.has_view_or_change_permission(request, article):
            raise PermissionDenied
        source = request.GET.get("source", "")
        if source not in SOURCES:
            source = ""
        shown = article.revisions.select_related("user", "import_run").order_by("-number")
        if source:
            shown = shown.filter(source=source)
        page = Paginator(shown, PER_PAGE).get_page(request.GET.get("page"))
        titles = _titles_of_related(page.object_list)
        context = {
            **self.admin_site.each_context(request),
            "title": f"History: {article}",
            "subtitle": None,
            "opts": self.model._meta,
            "original": article,
            "article": article,
            "page": page,
            "entries": [_entry(revision, titles) for revision in page.object_list],
            "sources": [(s.value, s.name.title()) for s in Source],
            "source": source,
            "can_revert": self.has_change_permission(request, article),
            "can_publish": self.has_publish_permission(request),
            "version": version_of(article),
            **(extra_context or {}),
        }
        return TemplateResponse(request, HISTORY_TEMPLATE, context)

    def revert_view(self, request, object_id, number):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        article = self.get_object(request, unquote(object_id))
        if article is None:
            raise Http404("No such article.")
        if not self.has_change_permission(request, article):
            raise PermissionDenied
        back = HttpResponseRedirect(reverse("admin:articles_article_history", args=[article.pk]))
        fields = None if "whole" in request.POST else request.POST.getlist("field")
        if fields == []:
            self.message_user(request, "Tick the fields to revert.", messages.WARNING)
            return back
        try:
            changed, kept = revisions.revert(
                article.pk,
                number,
                user=request.user,
                fields=fields,
                can_publish=self.has_publish_permission(request),
                version=request.POST.get("version", ""),
            )
        except revisions.RevertError as error:
            self.message_user(request, str(error), messages.ERROR)
            return back
        if changed:
            self.message_user(
                request, f"Reverted to revision {number}: {', '.join(changed)}.", messages.SUCCESS
            )
        else:
            self.message_user(
                request, f"Nothing to revert: already as in revision {number}.", messages.WARNING
            )
        if kept:
            self.message_user(
                request,
                f"Kept as they are: {', '.join(kept)} (changing them needs the publishing right).",
                messages.WARNING,
            )
        return back


def _titles_of_related(shown) -> dict[int, str]:
    """Titles of the articles the page's related-stories changes name (one query)."""
    ids = set()
    for revision in shown:
        for value in revision.changes.get("related_stories", []):
            ids.update(value or ())
    return dict(Article.objects.filter(pk__in=ids).values_list("pk", "title")) if ids else {}


def _entry(revision, titles):
    user = revision.user
    run = revision.import_run
    return {
        "revision": revision,
        "user_link": _link("admin:auth_user_change", user.pk, user.get_username()) if user else "",
        "run_link": _link("admin:articles_importrun_change", run.pk, str(run)) if run else "",
        "rows": [
            (name, name.replace("_", " "), render_change(name, pair, titles))
            for name, pair in sorted(revision.changes.items())
        ],
    }


def _link(view, pk, text):
    return format_html('<a href="{}">{}</a>', reverse(view, args=[pk]), text)


def render_change(name, pair, titles=None):
    """The HTML of one field's change: [before, after], or [after] when before is unknown."""
    kind = revisions.KINDS.get(name, schema.TEXT)
    if len(pair) == 1:
        shown = short_secured(pair[0]) if name == "secured" else _plain(name, pair[0], titles)
        return format_html("(not recorded before) → {}", shown)
    before, after = pair
    if name == "secured":  # never shown whole (short_secured)
        return format_html(
            "<del>{}</del> → <ins>{}</ins>", short_secured(before), short_secured(after)
        )
    if kind in (schema.TEXT, schema.URL):
        return text_diff(before or "", after or "")
    if kind == revisions.NAMES:
        return _added_removed(
            [_plain(name, [v], titles) for v in after or () if v not in (before or ())],
            [_plain(name, [v], titles) for v in before or () if v not in (after or ())],
        )
    if kind == revisions.RECORDS:
        return _added_removed(
            [record_label(v) for v in after or () if v not in (before or ())],
            [record_label(v) for v in before or () if v not in (after or ())],
        )
    return format_html("<del>{}</del> → <ins>{}</ins>", _plain(name, before), _plain(name, after))


def short_secured(value):
    """`secured` is opaque and sensitive: enough to recognise it, never the whole value."""
    if not value:
        return "—"
    return f"{value[:SECURED_SHOWN_CHARS]}… ({len(value)} characters)"


def text_diff(before: str, after: str):
    """`after` with the words removed since `before` in <del> and those added in <ins>."""
    old, new = TOKENS.findall(before), TOKENS.findall(after)
    parts = []
    matcher = difflib.SequenceMatcher(None, old, new, autojunk=False)
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "equal":
            parts.append(escape("".join(old[i1:i2])))
            continue
        if i2 > i1:
            parts.append(f"<del>{escape(''.join(old[i1:i2]))}</del>")
        if j2 > j1:
            parts.append(f"<ins>{escape(''.join(new[j1:j2]))}</ins>")
    return mark_safe("".join(parts))  # every piece escaped above


def _added_removed(added, removed):
    parts = []
    if added:
        parts.append(
            format_html("Added: {}", format_html_join(", ", "<ins>{}</ins>", ((a,) for a in added)))
        )
    if removed:
        parts.append(
            format_html(
                "Removed: {}", format_html_join(", ", "<del>{}</del>", ((r,) for r in removed))
            )
        )
    return format_html_join(mark_safe("<br>"), "{}", ((p,) for p in parts)) or "Reordered"


def _plain(name, value, titles=None):
    """A value as text (escaped by the caller's format_html)."""
    if name == "related_stories" and isinstance(value, list):
        return ", ".join(f"{(titles or {}).get(pk, 'deleted article')} (#{pk})" for pk in value)
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    if value is None or value == "":
        return "(empty)"
    return str(value)


def record_label(value):
    """An image or coverage entry, by its URL (and title)."""
    if not isinstance(value, dict):
        return json.dumps(value)
    label = value.get("url", "")
    return f"{value['title']} ({label})" if value.get("title") else label
