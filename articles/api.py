"""The JSON API, in the shape of the site this one replaces.

    GET /api/news/                 every published story, newest first
    GET /api/news/<topic-slug>/    the stories of one topic
        ?page=N                    20 a page (1 by default)
        ?minimum_heat=H            only stories whose heat is known and at least H

    {"title": ..., "path": ..., "page": 1, "value": [item, ...], "nextPage": "2" | null}

Items carry the original field names (publishedDateTime, webUrl, ...); a value this
site does not know (an AMP URL, an unknown heat) is null, and only http(s) URLs are
ever given out. Unlike the original there is no nine-page cap. A bad parameter is a
400 with {"error": ...}; an unknown topic or a page past the end is a 404.
"""

import posixpath

from django.conf import settings
from django.http import JsonResponse
from django.utils.html import strip_tags
from django.views.decorators.http import require_safe

from . import public, ranking
from .caching import public_page
from .itemfile import iso_datetime
from .links import is_http_url
from .models import Topic


def _error(status, message):
    return JsonResponse({"error": message}, status=status)


# Bounds keep a silly number from overflowing the database's integers.
HEAT_RANGE = (-1, 1_000_000_000)


def _int_param(request, name, low, high):
    value = request.GET.get(name, "")
    if value == "":
        return None
    try:
        number = int(value)
    except ValueError:
        number = None
    if number is None or not low <= number <= high:
        raise ValueError(f"{name} must be a whole number from {low} to {high}.")
    return number


def _images(entries):
    return [
        {
            "url": entry["url"],
            "width": entry.get("width"),
            "height": entry.get("height"),
            "isCached": entry.get("is_cached"),
        }
        for entry in entries
        if is_http_url(entry.get("url"))
    ]


def _http_or_none(url):
    return url if is_http_url(url) else None


def serialize(article, request):
    """One story as the original API wrote it."""
    provider = article.provider
    file_name = posixpath.basename(article.source_path.replace("\\", "/"))
    return {
        "path": f"_news/{file_name or article.slug + '.md'}",
        "title": article.title,
        "type": article.type,
        "heat": article.heat,
        "sourceUrl": request.build_absolute_uri(public.article_url(article)),
        "webUrl": _http_or_none(article.web_url),
        "ampWebUrl": _http_or_none(article.amp_web_url),
        "cdnAmpWebUrl": _http_or_none(article.cdn_amp_web_url),
        "excerpt": strip_tags(article.excerpt),
        "publishedDateTime": iso_datetime(article.published_at),
        "updatedDateTime": iso_datetime(article.updated_at),
        "provider": {
            "domain": provider.domain,
            "images": _images(
                # Logos are never cached copies (the original API said false too).
                {**logo, "is_cached": False}
                for logo in provider.logos
                if isinstance(logo, dict)
            ),
            "name": provider.name,
        },
        "images": _images(image._asdict() for image in article.image_refs),
        "locale": settings.LANGUAGE_CODE,
        "categories": [article.category] if article.category else [],
        "topics": [topic.name for topic in article.topic_refs],
    }


@require_safe
@public_page
def news(request, slug=None):
    try:
        number = public.page_number(request.GET.get("page"))
    except ValueError:
        return _error(400, f"page must be a whole number from 1 to {public.MAX_PAGE}.")
    try:
        minimum_heat = _int_param(request, "minimum_heat", *HEAT_RANGE)
    except ValueError as error:
        return _error(400, str(error))

    articles = public.published()
    title = "AI News"
    if slug is not None:
        topic = Topic.objects.filter(slug=slug).first()
        if topic is None:
            return _error(404, f"No topic {slug[:100]!r}.")
        articles = public.in_topic(articles, topic)
        title = f"{topic.name} News"
    if minimum_heat is not None:
        articles = articles.filter(heat__gte=minimum_heat)

    page = public.paginate(public.listing(ranking.latest(articles)), number)
    if not page.items and number > 1:
        return _error(404, f"Page {number} is past the last page.")
    response = JsonResponse(
        {
            "title": title,
            "path": request.path,
            "page": page.number,
            "value": [serialize(article, request) for article in page.items],
            "nextPage": str(page.next_number) if page.has_next else None,
        },
        json_dumps_params={"ensure_ascii": False},
    )
    # Public, read-only data without credentials: any site may read it.
    response["Access-Control-Allow-Origin"] = "*"
    return response
