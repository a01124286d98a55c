"""The first version's JSON API, with the original site's field names in a shape of its
own (original_api.py serves the original's files at their paths; docs/api.md).

    GET /api/openapi.yaml          the OpenAPI description of this API and the original's
    GET /api/news/                 every published story, newest first
    GET /api/news/<topic-slug>/    the stories of one topic
        ?page=N                    20 a page (1 by default)
        ?minimum_heat=H            only stories whose heat is known and at least H

`heat` is the computed heat, as in the original API: the quality, plus 10 for each
coverage article once the quality is 50 or more, or the heat an editor pinned; null
when unknown (articles/ranking.py, docs/ranking.md). The heat an imported file gave
is not shown.

    {"title": ..., "path": ..., "page": 1, "value": [item, ...], "nextPage": "2" | null}

Items carry the original field names (publishedDateTime, webUrl, ...); a value this
site does not know (an AMP URL, an unknown heat) is null, and only http(s) URLs are
ever given out. Image URLs are the originals, as imported; each image (the item's and
the provider's) also has `renditionUrl`, our own copy (a JPEG or PNG up to 800 pixels
wide, see README "Images"), or null while we hold none. Unlike the original there is
no nine-page cap. A bad parameter is a 400 with {"error": ...}; an unknown topic or a
page past the end is a 404, and so is any address under /api/ that leads nowhere
(`page_not_found`).
"""

import posixpath
from functools import partial
from pathlib import Path

from django.conf import settings
from django.core.exceptions import BadRequest
from django.http import HttpResponse, JsonResponse
from django.utils.html import strip_tags
from django.views import defaults

from .. import ranking
from ..links import is_http_url
from ..models import Topic
from ..timestamps import iso_datetime
from . import public
from .caching import allow_cross_origin, not_allowed_message, public_page


def _error(status, message):
    # The 404 handler's answers too (page_not_found) allow other sites, as api_page's.
    return allow_cross_origin(JsonResponse({"error": message}, status=status))


def page_not_found(request, exception):
    """The site's 404 (newsroom/urls.py handler404): JSON at an address under /api/,
    whose clients read JSON, Django's (the 404.html page) everywhere else."""
    if request.path.startswith("/api/"):
        return _error(404, "No such address.")
    return defaults.page_not_found(request, exception)


def bad_request(request, exception):
    """The site's 400 (handler400): JSON under /api/ (what the request did wrong, when it
    is ours to say: a BadRequest), the 400.html page everywhere else."""
    if request.path.startswith("/api/"):
        said = isinstance(exception, BadRequest) and str(exception)
        return _error(400, said or "Bad request.")
    return defaults.bad_request(request, exception)


# Bounds keep a silly number from overflowing the database's integers.
HEAT_RANGE = (-1, 1_000_000_000)


def _int_param(request, name, low, high):
    value = request.GET.get(name, "")
    if value == "":
        return None
    number = int(value) if public.WHOLE_NUMBER.fullmatch(value) else None
    if number is None or not low <= number <= high:
        raise ValueError(f"{name} must be a whole number from {low} to {high}.")
    return number


def _images(entries, renditions=None):
    """The images as the API gives them; with `renditions` ({URL: absolute URL of our
    copy}), each also names our copy under "renditionUrl" (null if we hold none)."""
    images = []
    for entry in entries:
        if not is_http_url(entry.get("url")):
            continue
        image = {
            "url": entry["url"],
            "width": entry.get("width"),
            "height": entry.get("height"),
            "isCached": entry.get("is_cached"),
        }
        if renditions is not None:
            image["renditionUrl"] = renditions.get(entry["url"])
        images.append(image)
    return images


def rendition_urls(request, rows):
    """{original URL: absolute URL of our copy} for the images of `rows` we hold: one query."""
    urls = [image.url for row in rows for image in row["image_refs"]]
    for row in rows:
        logos = row["provider__logos"] if isinstance(row["provider__logos"], list) else []
        urls += [logo.get("url") for logo in logos if isinstance(logo, dict)]
    hosted = public.hosted_pictures(url for url in urls if isinstance(url, str))
    return {url: request.build_absolute_uri(picture.url) for url, picture in hosted.items()}


def heat_of(row):
    """The heat an API gives for a story (a row with its "heat" column): both APIs
    take it from here."""
    return row["heat"]


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


def serialize(row, request, renditions=None):
    """One story (a `public.row_page` row) as the original API wrote it, plus our copies'
    URLs when `renditions` is given (see `rendition_urls`)."""
    file_name = posixpath.basename(row["source_path"].replace("\\", "/"))
    logos = row["provider__logos"]
    return {
        "path": f"_news/{file_name or row['slug'] + '.md'}",
        "title": row["title"],
        "type": row["type"],
        "heat": heat_of(row),
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
                (
                    # isCached stays false for logos, as the original API said (our copy,
                    # if any, is under renditionUrl).
                    {**logo, "is_cached": False}
                    for logo in (logos if isinstance(logos, list) else [])
                    if isinstance(logo, dict)
                ),
                renditions,
            ),
            "name": row["provider__name"],
        },
        "images": _images((image._asdict() for image in row["image_refs"]), renditions),
        "locale": settings.LANGUAGE_CODE,
        "categories": [row["category"]] if row["category"] else [],
        "topics": [topic.name for topic in row["topic_refs"]],
    }


def not_allowed_json(request):
    """The API's 405 (see caching.public_page): JSON like its other errors."""
    return _error(405, not_allowed_message(request))


# The API's views: public_page, with JSON 405s.
api_page = partial(public_page, not_allowed=not_allowed_json, cross_origin=True)


# The OpenAPI description of both APIs (this one and original_api's), served as it is.
OPENAPI = Path(__file__).with_name("openapi.yaml")


@partial(api_page, timeless=True)
def openapi(request):
    return HttpResponse(OPENAPI.read_bytes(), content_type="application/yaml")


@api_page
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
    renditions = rendition_urls(request, page.items)
    return JsonResponse(
        {
            "title": title,
            "path": request.path,
            "page": page.number,
            "value": [serialize(row, request, renditions) for row in page.items],
            "nextPage": str(page.next_number) if page.has_next else None,
        },
        json_dumps_params={"ensure_ascii": False},
    )
