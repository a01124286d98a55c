"""The original site's JSON API, served at its own paths and in its own shape.

The site this one replaces published static files, and clients were written against
them:

    GET /api/news/index.json                           page 1 of every published story
    GET /api/news/page/<N>/index.json                  page N
    GET /api/news/<topic-slug>/page/<N>/index.json     page N of one topic's stories
    GET /api/news/<name>/index.json                    one story ("<name>.md" is its file)

A list page is {"page": N, "value": [entry, ...], "nextPage": N + 1 or null}, 25
entries a full page, newest first. An item has the original's 19 keys in the
original's order, with null for every value this site does not have (never a missing
key); a list entry adds "highlight" (null) and "content" ("\\r\\n") where the
original files had them, and its "sourceUrl" is null. Dates are the same instants in
America/Los_Angeles time with their offset, as the original wrote them. List pages
are indented like the original files, an item's file is one minified line.
docs/api.md describes every key; the first version's /api/news/?page=N (api.py) is
another API and keeps its own shape.

An item's name is the file name it was imported from, without ".md"
(`Article.source_path`); an article created in the admin has no file and is named by
its slug, which has the same form (date, then title). Only published stories are
served, from the same read model as every public page (`public`); unlike the reader's
lists, the lists hold every published item, the other articles of a story too (the
original had no stories, and its clients count on finding each item there).
"""

import datetime
import json
import posixpath
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import Q
from django.http import HttpResponse
from django.urls import reverse
from django.utils.html import strip_tags

from .. import ranking
from ..links import is_http_url
from ..models import Topic
from . import public
from .api import _error, api_page, heat_of

PAGE_SIZE = 25
# The original wrote every date in the time of the site's owners, with its offset.
ORIGINAL_TIME_ZONE = ZoneInfo("America/Los_Angeles")
# A file name's date is the story's publishing day or, in the original files, a day
# later: an item is looked for among the stories published around it.
NAME_DATE_SLACK = datetime.timedelta(days=2)

ITEM_FIELDS = (
    "title",
    "slug",
    "excerpt",
    "category",
    "type",
    "web_url",
    "original_url",
    "amp_web_url",
    "cdn_amp_web_url",
    "published_at",
    "heat",
    "source_path",
    "provider__name",
    "provider__domain",
    "provider__logos",
)


def item_name(row):
    """The story's name in its item URL: its file's name without ".md", else its slug."""
    file_name = posixpath.basename((row["source_path"] or "").replace("\\", "/"))
    if file_name.endswith(".md") and len(file_name) > 3:
        return file_name[:-3]
    return row["slug"]


def original_datetime(value):
    """`2020-05-19T14:00:00-07:00`: the instant in the original's time zone, seconds kept."""
    return value.astimezone(ORIGINAL_TIME_ZONE).isoformat(timespec="seconds")


def _url_or_none(value):
    return value if is_http_url(value) else None


def _item_images(image_refs):
    images = [
        {
            "url": image.url,
            "width": image.width,
            "height": image.height,
            "title": image.title or None,
            "attribution": None,
            "isCached": True,
        }
        for image in image_refs
        if is_http_url(image.url)
    ]
    return images or None


def _provider_images(logos):
    images = [
        {
            "url": logo["url"],
            "width": logo.get("width"),
            "height": logo.get("height"),
            "title": None,
            "attribution": None,
            "isCached": False,
        }
        for logo in (logos if isinstance(logos, list) else [])
        if isinstance(logo, dict) and is_http_url(logo.get("url"))
    ]
    return images or None


ITEM_KEYS = (
    "path",
    "title",
    "excerpt",
    "sourceUrl",
    "webUrl",
    "originalUrl",
    "featuredContent",
    "heat",
    "tags",
    "images",
    "type",
    "ampWebUrl",
    "cdnAmpWebUrl",
    "publishedDateTime",
    "updatedDateTime",
    "provider",
    "locale",
    "categories",
    "topics",
)
# A list entry's two keys more, where the original's list files had them.
_ENTRY_EXTRAS = {"highlight": None, "content": "\r\n"}
ENTRY_KEYS = (*ITEM_KEYS[:7], "highlight", *ITEM_KEYS[7:10], "content", *ITEM_KEYS[10:])


def item(row, source_url, *, entry=False):
    """One story (a `public` row with topics and images) as the original wrote it: an
    item file's object, or with `entry` a list page's entry."""
    name = item_name(row)
    images = _item_images(row["image_refs"])
    data = {
        "path": f"_news/{name}.md",
        "title": row["title"],
        "excerpt": strip_tags(row["excerpt"]),
        "sourceUrl": None if entry else source_url,
        "webUrl": _url_or_none(row["web_url"]),
        "originalUrl": _url_or_none(row["original_url"]),
        "featuredContent": None,
        "heat": heat_of(row),
        "tags": None,
        "images": images,
        "type": row["type"] or None,
        "ampWebUrl": _url_or_none(row["amp_web_url"]),
        "cdnAmpWebUrl": _url_or_none(row["cdn_amp_web_url"]),
        "publishedDateTime": original_datetime(row["published_at"]),
        "updatedDateTime": None,
        "provider": {
            "name": row["provider__name"] or row["provider__domain"],
            "domain": row["provider__domain"],
            "images": _provider_images(row["provider__logos"]),
            "publishers": None,
            "authors": None,
        },
        "locale": settings.LANGUAGE_CODE,
        "categories": [row["category"]] if row["category"] else None,
        "topics": [topic.name for topic in row["topic_refs"]],
    }
    if entry:
        return {key: data.get(key, _ENTRY_EXTRAS.get(key)) for key in ENTRY_KEYS}
    return data


def _not_found(message):
    return _error(404, message)


def _json(data, **dumps):
    return HttpResponse(
        json.dumps(data, ensure_ascii=False, **dumps), content_type="application/json"
    )


def _list_page(request, number, topic_id=None):
    if not 1 <= number <= public.MAX_PAGE:
        return _not_found(f"No page {number}.")
    # Every published item, each story's other articles too: the original had no
    # stories, and its clients count on finding each item in the lists.
    stories = public.StoryList(ranking.LATEST, topic_id=topic_id, one_per_story=False)
    page = public.row_page(stories, number, ITEM_FIELDS, size=PAGE_SIZE)
    if not page.items and number > 1:
        return _not_found(f"Page {number} is past the last page.")
    body = {
        "page": page.number,
        "value": [item(row, None, entry=True) for row in page.items],
        "nextPage": page.next_number if page.has_next else None,
    }
    return _json(body, indent=2)


@api_page
def news_index(request):
    return _list_page(request, 1)


@api_page
def news_page(request, number):
    return _list_page(request, number)


@api_page
def topic_page(request, slug, number):
    topic = Topic.objects.filter(slug=slug).only("pk").first()
    if topic is None:
        return _not_found(f"No topic {slug[:100]!r}.")
    return _list_page(request, number, topic.pk)


@api_page
def news_item(request, name):
    row = find_item(name)
    if row is None:
        return _not_found(f"No story {name[:200]!r}.")
    source_url = request.build_absolute_uri(reverse("articles:original_item", args=[name]))
    return _json(item(row, source_url), separators=(",", ":"))


def find_item(name):
    """The published story named `name` (see `item_name`) as a row, or None.

    By slug first (the unique index; most names are the slug), then among the stories
    published around the date the name begins with, by file name.
    """
    published = public.published()
    candidates = list(published.filter(slug=name).values("id", *ITEM_FIELDS))
    if not any(item_name(row) == name for row in candidates):
        day = _leading_date(name)
        if day is None:
            return None
        start = datetime.datetime.combine(day, datetime.time(), datetime.UTC)
        file_name = f"{name}.md"
        candidates = list(
            published.filter(
                Q(source_path=file_name)
                | Q(source_path__endswith=f"/{file_name}")
                | Q(source_path__endswith=f"\\{file_name}"),
                published_at__gte=start - NAME_DATE_SLACK,
                published_at__lt=start + NAME_DATE_SLACK,
            ).values("id", *ITEM_FIELDS)
        )
    for row in candidates:
        if item_name(row) == name:
            return public.attach_row_topics_and_images([row])[0]
    return None


def _leading_date(name):
    try:
        return datetime.date.fromisoformat(name[:10])
    except ValueError:
        return None
