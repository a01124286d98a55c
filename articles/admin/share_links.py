"""Share links on the article's change form: create, list (expiry, views) and revoke.

The links' rules are in articles/sharing.py, the page they open in
articles/site/share.py. Whoever may change an article may share it while it is
unpublished (Contributors included: a link only lets someone read that one article).
The buttons sit inside the change form and post to their own URLs (`formaction`), so
the form needs no nested forms and the page no script.
"""

from django.contrib import messages
from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseNotAllowed, HttpResponseRedirect
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from .. import sharing
from ..models import ShareLink

SHARE_HEADING = "Share a preview"
SHARE_HELP = (
    "A private link shows this unpublished story, read-only, to someone without an "
    "account (a source, a lawyer, a colleague). It stops working when it expires or is "
    "revoked, and leads to the public page once the story is published."
)


class ShareLinksMixin:
    """Mixed into ArticleAdmin: the change form's share panel and its two POST views."""

    def get_urls(self):
        share = [
            path(
                "<path:object_id>/share/",
                self.admin_site.admin_view(self.create_share_link_view),
                name="articles_article_share",
            ),
            path(
                "<path:object_id>/share/<int:link_id>/revoke/",
                self.admin_site.admin_view(self.revoke_share_link_view),
                name="articles_article_share_revoke",
            ),
        ]
        return [*share, *super().get_urls()]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        article = self.get_object(request, unquote(object_id))
        if article is not None:
            extra_context = {**(extra_context or {}), "share_panel": share_panel(request, article)}
        return super().change_view(request, object_id, form_url, extra_context)

    def _shareable(self, request, object_id):
        if request.method != "POST":
            raise _NotAllowed
        article = self.get_object(request, unquote(object_id))
        if article is None:
            raise Http404("No such article.")
        if not self.has_change_permission(request, article):
            raise PermissionDenied
        return article

    def create_share_link_view(self, request, object_id):
        try:
            article = self._shareable(request, object_id)
        except _NotAllowed:
            return HttpResponseNotAllowed(["POST"])
        back = HttpResponseRedirect(reverse("admin:articles_article_change", args=[article.pk]))
        if article.is_published:
            self.message_user(request, "Published stories need no share link.", messages.WARNING)
            return back
        validity = request.POST.get("share_validity", sharing.DEFAULT_VALIDITY)
        if validity not in sharing.VALIDITIES:
            self.message_user(request, "Choose how long the link is valid.", messages.ERROR)
            return back
        link = sharing.create(article, validity=validity, user=request.user)
        _history(request, article, f"Created a share link valid until {link.expires_at}.")
        self.message_user(
            request,
            format_html("Share link created: <a href='{0}'>{0}</a>", _share_url(request, link)),
            messages.SUCCESS,
        )
        return back

    def revoke_share_link_view(self, request, object_id, link_id):
        try:
            article = self._shareable(request, object_id)
        except _NotAllowed:
            return HttpResponseNotAllowed(["POST"])
        link = ShareLink.objects.filter(pk=link_id, article=article).first()
        if link is None:
            raise Http404("No such share link.")
        if sharing.revoke(link):
            _history(request, article, "Revoked a share link.")
            self.message_user(request, "Share link revoked.", messages.SUCCESS)
        return HttpResponseRedirect(reverse("admin:articles_article_change", args=[article.pk]))


def share_panel(request, article):
    """The change form's "Share a preview" box: the links, and a button to make one."""
    if article.is_published:
        return format_html(
            "<fieldset class='module aligned'><h2>{}</h2><p class='help'>{}</p></fieldset>",
            SHARE_HEADING,
            "Published: the public page can be shared as it is.",
        )
    links = list(article.share_links.all())
    rows = format_html_join(
        "",
        "<tr><td><a href='{0}'>{0}</a></td><td>{1}</td><td>{2}</td><td>{3}</td><td>{4}</td></tr>",
        (
            (
                _share_url(request, link),
                _state(link),
                timezone.localtime(link.expires_at).strftime("%Y-%m-%d %H:%M"),
                link.views,
                _button("admin:articles_article_share_revoke", [article.pk, link.pk], "Revoke")
                if link.is_live
                else "",
            )
            for link in links
        ),
    )
    table = (
        format_html(
            "<table><thead><tr><th>Link</th><th>State</th><th>Expires</th><th>Views</th>"
            "<th></th></tr></thead><tbody>{}</tbody></table>",
            rows,
        )
        if links
        else format_html("<p>{}</p>", "No links yet.")
    )
    choices = format_html_join(
        "",
        "<option value='{}'{}>{}</option>",
        (
            (key, " selected" if key == sharing.DEFAULT_VALIDITY else "", label)
            for key, label, _ in sharing.VALIDITY_CHOICES
        ),
    )
    return format_html(
        "<fieldset class='module aligned' id='share-links'><h2>{}</h2>"
        "<div class='description'>{}</div>{}"
        "<p><label for='id_share_validity'>Valid for</label> "
        "<select id='id_share_validity' name='share_validity'>{}</select> {}</p></fieldset>",
        SHARE_HEADING,
        SHARE_HELP,
        table,
        choices,
        _button("admin:articles_article_share", [article.pk], "Create a share link"),
    )


def _history(request, article, message):
    # A share link changes no field of the article, so it goes through no
    # changes.record(); its line in the article's history is written here (ArticleAdmin
    # turns its own log_change off: the write path logs the articles' changes).
    LogEntry.objects.log_actions(
        user_id=request.user.pk,
        queryset=[article],
        action_flag=CHANGE,
        change_message=message,
        single_object=True,
    )


def _share_url(request, link):
    return request.build_absolute_uri(
        reverse("articles:shared_article", args=[sharing.signed_token(link)])
    )


def _button(url_name, args, label):
    # Inside the change form: posts the form (and its CSRF token) to its own URL.
    return format_html(
        "<button type='submit' class='button' formaction='{}' formnovalidate>{}</button>",
        reverse(url_name, args=args),
        label,
    )


class _NotAllowed(Exception):
    pass


def _state(link):
    if link.revoked_at:
        return "revoked"
    return "expired" if link.is_expired else "live"
