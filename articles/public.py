"""What readers may see, shaped for the public pages, feeds and the API.

Every list starts from `Article.objects.published()` (a StoryList builds its query
from it, and the other helpers are handed a queryset that did), so a draft can never
reach a reader by a side door. The shapes fetch what a page shows in a fixed number
of queries, whatever the page size, and paging never counts rows: a COUNT over the
whole table would make every page slower as the site grows.

Without a page cache, building and compiling queries through the ORM cost more than
running them, so the hot paths avoid it: a StoryList keeps the SQL text it compiled
per page, and the small fixed-shape reads (topics and images of a page's articles,
coverage, related stories, the masthead's topics) are written once in SQL
(`fixed_query`). Where SQL says what readers may see, it is `published()` compiled
(`visible_condition()`), with its parameters taken afresh on every call: the rule may
depend on the moment (scheduled publishing), so none of its values is ever kept.
Rows come back as plain tuples and dicts, not model instances. docs/benchmarks.md
has the measurements.
"""

import datetime
import json
from dataclasses import dataclass
from functools import lru_cache
from typing import NamedTuple

from django.conf import settings
from django.core.exceptions import EmptyResultSet, FullResultSet
from django.db import connections, models, router
from django.db.models import Exists, OuterRef
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.html import format_html

from . import ranking
from .addresses import article_address, article_path, provider_url, topic_url
from .links import is_http_url
from .models import Article, ArticleImage, Provider, RelatedCoverage, TaggedTopic, Topic

PAGE_SIZE = 20
# Deeper pages are refused: nobody reads page 100,000, and a huge number would
# overflow the database's OFFSET.
MAX_PAGE = 10_000

# Columns a feed item reads (as model instances; see `listing()`). Everything else (the
# Markdown, the import bookkeeping, the search vector) stays in the database.
LISTING_FIELDS = (
    "title",
    "slug",
    "excerpt",
    "published_at",
    "updated_at",
    "provider__name",
    "provider__domain",
)


def published():
    """What readers may see: `Article.objects.published()`, the one rule."""
    return Article.objects.published()


def listing(queryset):
    """Feed items: the article and its provider, nothing else.

    Topics and images come from `attach_topics_and_images()`, as plain tuples: model
    instances and prefetch managers for 80-odd small related rows cost more than the
    rest of the feed. (Cards and API items are plain rows: see `row_page()`.)
    """
    return queryset.select_related("provider").only(*LISTING_FIELDS)


class TopicRef(NamedTuple):
    name: str
    slug: str

    @property
    def url(self):
        return topic_url(self.slug)


class ImageRef(NamedTuple):
    url: str
    width: int | None
    height: int | None
    is_cached: bool | None
    title: str


def attach_topics_and_images(articles):
    """Set `article.topic_refs` and `article.image_refs` (file order): two queries."""
    topics, images = topics_and_images([article.pk for article in articles])
    for article in articles:
        article.topic_refs = topics.get(article.pk, [])
        article.image_refs = images.get(article.pk, [])
    return articles


def topics_and_images(ids):
    """{article id: [TopicRef]} and {article id: [ImageRef]}, in file order: two queries."""
    topics, images = {}, {}
    if not ids:
        return topics, images
    for article_id, name, slug in fixed_query(TaggedTopic, _TOPIC_LINKS_SQL, ids):
        topics.setdefault(article_id, []).append(TopicRef(name, slug))
    for article_id, url, width, height, is_cached, title in fixed_query(
        ArticleImage, _IMAGES_SQL, ids
    ):
        images.setdefault(article_id, []).append(ImageRef(url, width, height, is_cached, title))
    return topics, images


# -- Fixed-shape reads in plain SQL -----------------------------------------------------
# Every public page runs a few of these small queries. Building and compiling one
# through the ORM costs 0.5-1 ms, several times what the database takes to answer it,
# and without a page cache that was half of a page's time. So they are written out
# once here, with the tables' names from the models. None of them spells out what
# readers may see: they read what belongs to articles a published() query returned
# (topics, images, coverage) and the topic tree, and the related stories query embeds
# published() itself, compiled (`visible_condition()`). The rest stays in the ORM,
# where filters and orderings are composed. `{ids}` stands for one placeholder per id
# (see fixed_query()).

_TOPIC_LINKS_SQL = (
    "SELECT link.content_object_id, topic.name, topic.slug"
    f" FROM {TaggedTopic._meta.db_table} link"
    f" JOIN {Topic._meta.db_table} topic ON topic.id = link.tag_id"
    " WHERE link.content_object_id IN ({ids})"
    " ORDER BY link.id"
)
_IMAGES_SQL = (
    "SELECT article_id, url, width, height, is_cached, title"
    f" FROM {ArticleImage._meta.db_table}"
    " WHERE article_id IN ({ids})"
    " ORDER BY position, id"
)
_NAV_TOPICS_SQL = (
    "SELECT topic.name, topic.short_name, topic.slug"
    f" FROM {Topic._meta.db_table} topic"
    f" JOIN {Topic._meta.db_table} parent ON parent.id = topic.parent_id"
    " WHERE topic.kind = %s AND parent.parent_id IS NULL"
    " ORDER BY topic.name, topic.id"
    " LIMIT %s"
)
_CHILD_TOPICS_SQL = (
    f"SELECT name, slug FROM {Topic._meta.db_table} WHERE parent_id IN ({{ids}}) ORDER BY name, id"
)
_related = Article._meta.get_field("related_stories")
_COVERAGE_SQL = (
    "SELECT title, url, provider_name, provider_domain, published_at, images"
    f" FROM {RelatedCoverage._meta.db_table}"
    " WHERE article_id IN ({ids})"
    " ORDER BY position, id"
)
_ARTICLES = Article._meta.db_table
# An article's related stories that readers may see, newest first. The link rows lead
# (CROSS JOIN fixes that order on SQLite, which has no statistics and otherwise walked
# every published article looking for the two linked ones). The story table keeps its
# own name, as in the ORM's SQL, so that `{visible}` (published(), compiled afresh per
# call) and `{order}` (ranking.LATEST_ORDER, compiled once) name its columns.
_RELATED_SQL = (
    f"SELECT {_ARTICLES}.title, {_ARTICLES}.slug, {_ARTICLES}.published_at,"
    " provider.name, provider.domain"
    f" FROM {_related.m2m_db_table()} link"
    f" CROSS JOIN {_ARTICLES}"
    f" CROSS JOIN {Provider._meta.db_table} provider"
    f" WHERE link.{_related.m2m_column_name()} IN ({{ids}})"
    f" AND {_ARTICLES}.id = link.{_related.m2m_reverse_name()}"
    f" AND provider.id = {_ARTICLES}.provider_id"
    " AND ({visible})"
    " ORDER BY {order}"
)


def visible_condition(alias):
    """`published()` as an SQL condition on the article table (by its own name, not
    an alias) and its parameters, compiled now for database `alias`.

    Compiled on every call, never kept: what readers may see can depend on the
    moment. About 0.1 ms; the rule must be a condition on the article row alone.
    """
    query = published().query
    if any(name != _ARTICLES for name in query.alias_map):
        raise NotImplementedError(
            "published() must be a condition on the article row itself: "
            "the related stories' SQL embeds it without its joins"
        )
    return _where_sql(query, alias)


def _where_sql(query, alias):
    """The WHERE clause of `query` as (SQL, parameters), compiled for `alias`."""
    try:
        sql, params = query.get_compiler(alias).compile(query.where)
    except FullResultSet:  # no condition at all
        return "1 = 1", ()
    except EmptyResultSet:  # .none()
        return "1 = 0", ()
    return sql, tuple(params)


@lru_cache(maxsize=16)
def _order_sql(alias, ordering):
    """`ordering` (a ranking order) on the article table, as SQL for database `alias`."""
    query = Article.objects.all().query
    compiler = query.get_compiler(alias)
    parts = []
    for expression in ordering:
        sql, params = compiler.compile(expression.resolve_expression(query))
        if params:
            raise NotImplementedError("ranking orders by columns, without parameters")
        parts.append(sql)
    return ", ".join(parts)


def related_stories(article_ids):
    """The related stories readers may see of the articles `article_ids`, newest
    first, as (title, slug, published_at, provider name, provider domain) rows."""
    alias = router.db_for_read(Article)
    visible, params = visible_condition(alias)
    sql = _RELATED_SQL.replace("{order}", _order_sql(alias, ranking.LATEST_ORDER))
    return fixed_query(Article, sql.replace("{visible}", visible), article_ids, params)


def _db_datetime(value):
    """A datetime read outside the ORM, aware: SQLite hands back naive UTC values."""
    if value is not None and settings.USE_TZ and timezone.is_naive(value):
        return timezone.make_aware(value, datetime.UTC)
    return value


def fixed_query(model, sql, ids=(), params=()):
    """The rows of `sql` (`{ids}` stands for one placeholder per id, followed by
    `params`), read from the database the router reads `model` from."""
    if "{ids}" in sql:
        sql = sql.replace("{ids}", ", ".join(["%s"] * len(ids)))
    with connections[router.db_for_read(model)].cursor() as cursor:
        cursor.execute(sql, [*ids, *params])
        return cursor.fetchall()


# The columns the article page (and the admin's preview of it) reads: not the
# Markdown source, the import bookkeeping or the search vector.
DETAIL_FIELDS = (
    "title",
    "slug",
    "excerpt",
    "body_html",
    "web_url",
    "original_url",
    "published_at",
    "updated_at",
    "status",
    "lead_image",
    "lead_thumbnail",
    "provider__name",
    "provider__domain",
    "provider__logos",
)


class RelatedStory(NamedTuple):
    title: str
    url: str
    provider_name: str
    published_at: object  # datetime


class CoverageEntry(NamedTuple):
    """Another outlet's article on the story (a RelatedCoverage row, as the page shows it)."""

    title: str
    url: str
    provider_name: str
    provider_domain: str
    published_at: object  # datetime or None
    image: dict | None  # the first of its images: {url, width, height, ...}


def detail(queryset, **lookup):
    """The article page's article (404 unless `queryset` has it), with `topic_refs`,
    `image_refs`, `coverage_list` (CoverageEntry tuples) and `related_list` (its
    published related stories, as RelatedStory tuples) attached: five queries.
    """
    article = get_object_or_404(queryset.select_related("provider").only(*DETAIL_FIELDS), **lookup)
    attach_topics_and_images([article])
    article.coverage_list = [
        CoverageEntry(title, url, name, domain, _db_datetime(published_at), _first_image(images))
        for title, url, name, domain, published_at, images in fixed_query(
            RelatedCoverage, _COVERAGE_SQL, [article.pk]
        )
    ]
    article.related_list = []
    for title, slug, published_at, name, domain in related_stories([article.pk]):
        published_at = _db_datetime(published_at)
        story = RelatedStory(
            title, article_address(slug, published_at), name or domain, published_at
        )
        article.related_list.append(story)
    return article


def _first_image(images_json):
    """The first of a coverage item's images (a JSON list of {url, width, ...}), or None."""
    images = _db_json(images_json)
    if isinstance(images, list) and images and isinstance(images[0], dict):
        return images[0]
    return None


@dataclass(frozen=True)
class Picture:
    url: str
    width: int | None
    height: int | None
    alt: str = ""

    @property
    def size_attrs(self):
        """` width="…" height="…"` when both are known (so the layout never jumps)."""
        if self.width and self.height:
            return format_html(' width="{}" height="{}"', self.width, self.height)
        return ""


def _uploaded(field_file):
    """An editor's upload: our own storage's URL (no http check needed), and its size."""
    try:
        return Picture(field_file.url, field_file.width, field_file.height)
    except (OSError, ValueError):  # the file went missing or is unreadable
        return None


def _picture(uploads, image_refs):
    """The first readable upload of `uploads`, else the first imported image.

    Imported image URLs pass `is_http_url`, like every URL from a file.
    """
    for field_file in uploads:
        if field_file:
            picture = _uploaded(field_file)
            if picture:
                return picture
    record = image_refs[0] if image_refs else None
    if record is None or not is_http_url(record.url):
        return None
    return Picture(record.url, record.width, record.height, record.title)


def lead_picture(article):
    """The uploaded lead image if an editor set one, else the first imported image."""
    return _picture((article.lead_image, article.lead_thumbnail), article.image_refs)


def _stored_file(field_name, name):
    """What `article.<field_name>` would be, for a file name read with values()."""
    field = Article._meta.get_field(field_name)
    return field.attr_class(None, field, name)


@dataclass
class Card:
    """What a story card (and the article page's byline) shows, computed once in Python.

    Templates get ready strings: no lookups, method calls or date formatting per card.
    """

    url: str
    title: str
    excerpt: str
    provider_name: str
    provider_url: str
    logo: Picture | None
    published_iso: str
    published_display: str
    picture: Picture | None
    topics: list  # [(name, url)], in file order


EXCERPT_LENGTH = 240

# The columns a card reads. Cards are built from plain rows (values()): model
# instances for a page of articles and their providers cost more than the query.
CARD_FIELDS = (
    "id",
    "title",
    "slug",
    "excerpt",
    "published_at",
    "lead_image",
    "lead_thumbnail",
    "provider__name",
    "provider__domain",
    "provider__logos",
)


def _row_card(row) -> Card:
    # A card prefers the smaller uploaded thumbnail; uploads are rare, so the
    # FieldFile is only made when there is a file name.
    uploads = [
        _stored_file(name, row[name]) for name in ("lead_thumbnail", "lead_image") if row[name]
    ]
    return _card(
        title=row["title"],
        slug=row["slug"],
        excerpt=row["excerpt"],
        published_at=row["published_at"],
        provider_name=row["provider__name"] or row["provider__domain"],  # as str(provider)
        provider_domain=row["provider__domain"],
        logos=row["provider__logos"],
        picture=_picture(uploads, row["image_refs"]),
        topic_refs=row["topic_refs"],
    )


def card(article) -> Card:
    """The article page's byline and topics (`article` with topics and images attached)."""
    provider = article.provider
    return _card(
        title=article.title,
        slug=article.slug,
        excerpt=article.excerpt,
        published_at=article.published_at,
        provider_name=str(provider),
        provider_domain=provider.domain,
        logos=provider.logos,
        picture=_picture((article.lead_thumbnail, article.lead_image), article.image_refs),
        topic_refs=article.topic_refs,
    )


def _card(
    *,
    title,
    slug,
    excerpt,
    published_at,
    provider_name,
    provider_domain,
    logos,
    picture,
    topic_refs,
) -> Card:
    logo = logos[0] if isinstance(logos, list) and logos else None
    if not isinstance(logo, dict) or not is_http_url(logo.get("url")):
        logo = None
    date = timezone.localtime(published_at)
    if len(excerpt) > EXCERPT_LENGTH:
        excerpt = excerpt[: EXCERPT_LENGTH - 1].rstrip() + "…"
    return Card(
        url=article_path(date.year, date.month, date.day, slug),
        title=title,
        excerpt=excerpt,
        provider_name=provider_name,
        provider_url=provider_url(provider_domain),
        logo=Picture(logo["url"], logo.get("width") or 50, logo.get("height") or 50)
        if logo
        else None,
        published_iso=date.isoformat(),
        published_display=f"{date.day} {date:%b %Y}",
        picture=picture,
        topics=[(topic.name, topic.url) for topic in topic_refs],
    )


def in_topic(queryset, topic):
    """Articles tagged with `topic`.

    Written as EXISTS rather than a join so the database can walk the articles in
    page order and stop after one page, instead of sorting every tagged row first.
    """
    tagged = TaggedTopic.objects.filter(content_object=OuterRef("pk"), tag=topic)
    return queryset.filter(Exists(tagged))


def nav_topics(limit=8):
    """The masthead's topics: the first level under the root topic(s), by name.

    As TopicRefs named by their short name ("Autos" for "AI in Autos"); a topic whose
    slug cannot be in a URL is left out (it would be a link to nowhere).
    """
    rows = fixed_query(Topic, _NAV_TOPICS_SQL, params=(Topic.Kind.TOPIC.value, limit))
    topics = [TopicRef(short_name or name, slug) for name, short_name, slug in rows]
    return [topic for topic in topics if topic.url]


def child_topics(topic):
    """The topics directly under `topic`, by name, as TopicRefs."""
    rows = fixed_query(Topic, _CHILD_TOPICS_SQL, [topic.pk])
    return [TopicRef(name, slug) for name, slug in rows]


@dataclass
class Page:
    """One page of a list, without a total: it knows only whether there is a next one."""

    items: list
    number: int
    has_next: bool

    @property
    def has_previous(self):
        return self.number > 1

    @property
    def next_number(self):
        return self.number + 1

    @property
    def previous_number(self):
        return self.number - 1


def page_number(value) -> int:
    """The page asked for in `?page=`; ValueError unless a whole number in 1..MAX_PAGE."""
    if value in (None, ""):
        return 1
    number = int(value)
    if not 1 <= number <= MAX_PAGE:
        raise ValueError(f"page must be between 1 and {MAX_PAGE}")
    return number


def row_page(stories, number, fields) -> Page:
    """Page `number` of `stories` as {field: value} rows (`values(*fields)`, "id" always
    included), each with its `topic_refs` and `image_refs` lists: three queries.

    `stories` is a StoryList, or a queryset of articles (search results).
    """
    fields = ("id", *[name for name in fields if name != "id"])
    start = (number - 1) * PAGE_SIZE
    stop = start + PAGE_SIZE + 1  # one more than a page tells whether there is a next
    if isinstance(stories, StoryList):
        rows = stories.rows(fields, start, stop)
    else:
        rows = list(stories.values(*fields)[start:stop])
    rows, has_next = rows[:PAGE_SIZE], len(rows) > PAGE_SIZE
    topics, images = topics_and_images([row["id"] for row in rows])
    for row in rows:
        row["topic_refs"] = topics.get(row["id"], [])
        row["image_refs"] = images.get(row["id"], [])
    return Page(items=rows, number=number, has_next=has_next)


def card_page(stories, value) -> Page:
    """Page `value` (a `?page=` string) of `stories` (see `row_page`) as Cards.

    For HTML pages: a bad number or a page past the end is a 404, not a 500.
    """
    try:
        number = page_number(value)
    except ValueError:
        raise Http404("No such page.") from None
    page = row_page(stories, number, CARD_FIELDS)
    if not page.items and number > 1:
        raise Http404("No such page.")
    page.items = [_row_card(row) for row in page.items]
    return page


@dataclass(frozen=True)
class StoryList:
    """Which published stories a list shows (all, a topic's, an outlet's), in which order.

    `queryset()` builds it with the ORM, from the same rules as everything else
    (`published()`, `in_topic()`, `ranking`). `rows()` runs it with its SQL text
    compiled once per process for each page: building and compiling this query
    through the ORM took longer than running it, on every request.

    Like a prepared statement, only the SQL text is kept, with the parameters of the
    list's own parts (topic, outlet, minimum heat), which its fields fix (a StoryList
    is hashable: it is part of the key). The visibility rule's parameters come from
    `published()` on every call, since they can depend on the moment (an article
    scheduled for 9:00 is in the list from 9:00), and the rows always come fresh from
    the database. A list whose compiled parameters do not have that shape (none
    today; see `_compiled_rows_query`) is compiled on every call instead: slower,
    never stale.
    """

    view: str = ranking.TOP
    topic_id: int | None = None
    provider_id: int | None = None
    minimum_heat: int | None = None

    def queryset(self, articles=None):
        """The list as a queryset, built from `articles` (a fresh `published()` if None)."""
        if articles is None:
            articles = published()
        if self.topic_id is not None:
            articles = in_topic(articles, self.topic_id)
        if self.provider_id is not None:
            articles = articles.filter(provider_id=self.provider_id)
        if self.minimum_heat is not None:
            articles = articles.filter(heat__gte=self.minimum_heat)
        return ranking.order(articles, self.view)

    def rows(self, fields, start, stop):
        """Rows `start:stop` of the list as {field: value} dicts, like `values(*fields)`."""
        fields = tuple(fields)
        alias = router.db_for_read(Article)
        visible, params = _where_sql(published().query, alias)
        compiled = _compiled_rows_query(self, fields, start, stop, alias, visible)
        if compiled is None:
            sql, params = _rows_sql(self.queryset(), fields, start, stop, alias)
        else:
            sql, own_params = compiled
            params = (*params, *own_params)
        with connections[alias].cursor() as cursor:
            cursor.execute(sql, params)
            found = cursor.fetchall()
        columns = list(zip(fields, _row_converters(fields), strict=True))
        return [
            {name: to_python(value) for (name, to_python), value in zip(columns, row, strict=True)}
            for row in found
        ]


def _rows_sql(queryset, fields, start, stop, alias):
    # values_list() selects the columns in the order of `fields` (a test holds rows()
    # equal to the ORM's values()).
    return queryset.values_list(*fields)[start:stop].query.get_compiler(alias).as_sql()


@lru_cache(maxsize=1024)
def _compiled_rows_query(stories, fields, start, stop, alias, visible):
    """(SQL text, the list's own parameters) of rows `start:stop` of `stories`, or None.

    `visible` is published()'s condition as SQL (its text is part of the key, in case
    the rule changes shape). The compiled parameters must begin with the visibility
    rule's, as they do when the ORM puts published()'s filter first in the WHERE
    clause, and the rest must come out the same from two compilations (nothing but
    the visibility may change with the moment); otherwise None: not kept.
    """
    compiled = []
    for _ in range(2):
        base = published()
        condition, condition_params = _where_sql(base.query, alias)
        sql, params = _rows_sql(stories.queryset(base), fields, start, stop, alias)
        count = len(condition_params)
        if condition != visible or tuple(params[:count]) != condition_params:
            return None
        compiled.append((sql, tuple(params[count:])))
    return compiled[0] if compiled[0] == compiled[1] else None


@lru_cache(maxsize=64)
def _row_converters(fields):
    """What the ORM would do to each column read outside it: make datetimes aware and
    decode JSON; everything else comes from the database driver as it is."""
    converters = []
    for name in fields:
        model, *path, last = [Article, *name.split("__")]
        for step in path:
            model = model._meta.get_field(step).related_model
        field = model._meta.get_field(last)
        if isinstance(field, models.DateTimeField):
            converters.append(_db_datetime)
        elif isinstance(field, models.JSONField):
            converters.append(_db_json)
        else:
            converters.append(_as_is)
    return converters


def _as_is(value):
    return value


def _db_json(value):
    return json.loads(value) if isinstance(value, str) else value
