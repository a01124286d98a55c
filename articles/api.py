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


# The columns an item is made from (`public.row_page` adds its topics and images).
ITEM_FIELDS = (
    "title",
    "slug",
    "excerpt",
    "category",
    "type",
    "web_url",
    "amp_web_url",
    "cdn_amp_web_url",
    "published_at",
    "updated_at",
    "heat",
    "source_path",
    "provider__name",
    "provider__domain",
    "provider__logos",
)


def serialize(row, request):
    """One story (a `public.row_page` row) as the original API wrote it."""
    file_name = posixpath.basename(row["source_path"].replace("\\", "/"))
    logos = row["provider__logos"]
    return {
        "path": f"_news/{file_name or row['slug'] + '.md'}",
        "title": row["title"],
        "type": row["type"],
        "heat": row["heat"],
        "sourceUrl": request.build_absolute_uri(
            public.article_address(row["slug"], row["published_at"])
        ),
        "webUrl": _http_or_none(row["web_url"]),
        "ampWebUrl": _http_or_none(row["amp_web_url"]),
        "cdnAmpWebUrl": _http_or_none(row["cdn_amp_web_url"]),
        "excerpt": strip_tags(row["excerpt"]),
        "publishedDateTime": iso_datetime(row["published_at"]),
        "updatedDateTime": iso_datetime(row["updated_at"]),
        "provider": {
            "domain": row["provider__domain"],
            "images": _images(
                # Logos are never cached copies (the original API said false too).
                {**logo, "is_cached": False}
                for logo in (logos if isinstance(logos, list) else [])
                if isinstance(logo, dict)
            ),
            "name": row["provider__name"],
        },
        "images": _images(image._asdict() for image in row["image_refs"]),
        "locale": settings.LANGUAGE_CODE,
        "categories": [row["category"]] if row["category"] else [],
        "topics": [topic.name for topic in row["topic_refs"]],
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

    title, topic_id = "AI News", None
    if slug is not None:
        topic = Topic.objects.filter(slug=slug).first()
        if topic is None:
            return _error(404, f"No topic {slug[:100]!r}.")
        title, topic_id = f"{topic.name} News", topic.pk
    stories = public.StoryList(ranking.LATEST, topic_id=topic_id, minimum_heat=minimum_heat)
    page = public.row_page(stories, number, ITEM_FIELDS)
    if not page.items and number > 1:
        return _error(404, f"Page {number} is past the last page.")
    response = JsonResponse(
        {
            "title": title,
            "path": request.path,
            "page": page.number,
            "value": [serialize(row, request) for row in page.items],
            "nextPage": str(page.next_number) if page.has_next else None,
        },
        json_dumps_params={"ensure_ascii": False},
    )
    # Public, read-only data without credentials: any site may read it.
    response["Access-Control-Allow-Origin"] = "*"
    return response
