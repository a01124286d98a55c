"""/preview/<token>/: an unpublished article for whoever holds a share link.

The rules (which answer for which link) are in articles/sharing.py. Served as the
public article page with a banner, but never through the page cache (the view is not
wrapped in `public_page`), `Cache-Control: no-store` so that no proxy or browser keeps
it, `noindex`, and `Referrer-Policy: no-referrer` so that following a link out of the
page does not hand the secret address to another site.
"""

from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.cache import add_never_cache_headers

from .. import sharing
from ..models import Article
from . import public
from .caching import read_only

TEMPLATE = "articles/share_preview.html"
GONE_TEMPLATE = "articles/share_gone.html"


def article_page_context(request, article_id) -> dict:
    """What the article template needs for any article, whatever its status, minus the
    search engines' structured data: for previews (this view, the admin's preview)."""
    article = public.detail(Article.objects.all(), pk=article_id)
    picture = public.lead_picture(article)
    return {
        "article": article,
        "card": public.card(article),
        "topics": article.topic_refs,
        "picture": picture,
        "picture_url": public.share_url(request, picture),
        "structured_data": {},
    }


@read_only
def shared_article(request, token):
    try:
        link = sharing.find(token)
    except sharing.LinkGone:
        return _private(render(request, GONE_TEMPLATE, status=410))
    if link is None:
        raise Http404("No such preview link.")
    if link.article.is_published:
        return redirect(link.article.get_absolute_url())
    sharing.count_view(link, request.headers.get("User-Agent", ""))
    context = {
        **article_page_context(request, link.article_id),
        "share_link": link,
        "expires_time": timezone.localtime(link.expires_at).strftime("%H:%M %Z"),
    }
    return _private(render(request, TEMPLATE, context))


def _private(response):
    add_never_cache_headers(response)  # no-store, private
    response["X-Robots-Tag"] = "noindex, nofollow"
    response["Referrer-Policy"] = "no-referrer"
    return response
