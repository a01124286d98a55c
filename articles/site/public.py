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
import mimetypes
import re
from collections import namedtuple
from dataclasses import dataclass, replace
from functools import lru_cache, partial
from typing import NamedTuple

from django.conf import settings
from django.core.exceptions import EmptyResultSet, FullResultSet
from django.db import connections, models, router
from django.db.models import Exists, F, OuterRef, Q
from django.http import Http404
from django.utils import timezone
from django.utils.html import format_html

from .. import clock, ranking
from ..imagecache import pictures
from ..links import is_http_url
from ..models import (
    IMAGE_DATA_FIELDS,
    Article,
    ArticleImage,
    ImageSource,
    Provider,
    RelatedCoverage,
    StoredImage,
    StoryMention,
    TaggedTopic,
    Topic,
)
from .addresses import SLUG_DATE, article_address, article_path, path_slug, provider_url, topic_url

PAGE_SIZE = 20

# This site as a publisher: in the article pages' structured data and the news sitemap.
SITE_NAME = "Newsroom"
# Its logo (a static file): Google asks a publisher's logo for at least 112 pixels.
SITE_LOGO = ("img/newsroom-logo.png", 512, 512)
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
    "lead_image",
    "provider__name",
    "provider__domain",
)


def published(now=None):
    """What readers may see at `now` (clock.now() if None): `Article.objects.published()`,
    the one rule."""
    return Article.objects.published(now)


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
    # The root of a topic tree ("AI", with no parent and topics under it): on an AI-news
    # site every story has it, so cards leave it out of their chips.
    root: bool = False

    @property
    def url(self):
        return topic_url(self.slug)


# An image as the pages and the API read it: url, width, height, ... (the model's columns).
ImageRef = namedtuple("ImageRef", IMAGE_DATA_FIELDS)


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
    for article_id, name, slug, root in fixed_query(TaggedTopic, _TOPIC_LINKS_SQL, ids):
        topics.setdefault(article_id, []).append(TopicRef(name, slug, bool(root)))
    for article_id, *image in fixed_query(ArticleImage, _IMAGES_SQL, ids):
        images.setdefault(article_id, []).append(ImageRef(*image))
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
    "SELECT link.content_object_id, topic.name, topic.slug,"
    " CASE WHEN topic.parent_id IS NULL"
    f" AND topic.kind = '{Topic.Kind.TOPIC.value}'"
    f" AND EXISTS (SELECT 1 FROM {Topic._meta.db_table} child WHERE child.parent_id = topic.id)"
    " THEN 1 ELSE 0 END"
    f" FROM {TaggedTopic._meta.db_table} link"
    f" JOIN {Topic._meta.db_table} topic ON topic.id = link.tag_id"
    " WHERE link.content_object_id IN ({ids})"
    " ORDER BY link.id"
)
_IMAGES_SQL = (
    f"SELECT article_id, {', '.join(IMAGE_DATA_FIELDS)}"
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
    an alias) and its parameters, for database `alias` and this moment.

    The rule depends on the moment: its SQL is compiled once (at the probe moments,
    as the lists are, see _compiled_rows_query) and "now" is put in its parameters on
    every call. The rule must be a condition on the article row alone.
    """
    sql, params, moments = _visible_template(alias)
    now = _db_moment(clock.now(), alias)
    return sql, tuple(now if i in moments else value for i, value in enumerate(params))


@lru_cache(maxsize=8)
def _visible_template(alias):
    """(SQL, parameters, the indexes of the parameters that are "now") of published()."""
    (sql, params), (other_sql, other_params) = (
        _visible_sql(published(now=moment).query, alias) for moment in _PROBE_MOMENTS
    )
    first, second = (_db_moment(moment, alias) for moment in _PROBE_MOMENTS)
    moments = frozenset(
        i for i, (a, b) in enumerate(zip(params, other_params, strict=True)) if a != b
    )
    if sql != other_sql or any(params[i] != first or other_params[i] != second for i in moments):
        raise NotImplementedError("published() must depend on the moment through `now` only")
    return sql, params, moments


def _visible_sql(query, alias):
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
    if value is not None and value.tzinfo is None and settings.USE_TZ:
        return value.replace(tzinfo=datetime.UTC)
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
    # Its first image: the file's {url, width, height, ...} while detail() gathers the
    # list, then as shown: a pictures.Rendition or Placeholder, or None.
    image: object


def article_at(year, month, day, slug):
    """The published article an article page's path names (404 if none), as `detail()`
    gives it: the article whose slug, less its leading date, is `slug` and which was
    published on that day (this site's time zone), the newest if two are.

    An older path repeated the date (`/2026/10/14/2026-10-14-training-costs/`) or had
    another day: a slug that begins with a date is first looked up as it is (slugs are
    unique), whatever the day; the view redirects to the article's address.
    """
    if path_slug(slug) != slug:
        try:
            return detail(published(), slug=slug)
        except Http404:
            pass  # a slug whose own words begin with a date ("2025-01-01-review")
    zone = timezone.get_default_timezone()  # the zone clock.local() builds addresses in
    try:
        start = timezone.make_aware(datetime.datetime(year, month, day), zone)
    except ValueError:  # no such day
        raise Http404("No such article.") from None
    end = timezone.make_aware(
        datetime.datetime.combine(start.date() + datetime.timedelta(days=1), datetime.time()),
        zone,
    )
    article = _published_on(start, end, slug)
    if article is None:
        raise Http404("No such article.")
    return _completed(article)


def detail(queryset, **lookup):
    """The article page's article (404 unless `queryset` has one that matches `lookup`;
    the first in its order if several do), with `topic_refs`, `image_refs`,
    `coverage_list` (CoverageEntry tuples) and `related_list` (its published related
    stories, as RelatedStory tuples) attached: five queries.
    """
    found = queryset.filter(**lookup).select_related("provider").only(*DETAIL_FIELDS)[:1]
    article = next(iter(found), None)
    if article is None:
        raise Http404("No such article.")
    return _completed(article)


def _published_on(start, end, slug):
    """The newest published article of [start, end) whose slug, less a leading date, is
    `slug`, read as `detail()` reads it (DETAIL_FIELDS, its provider attached), or None.

    The busiest page's lookup, so its SQL is written once (`_ARTICLE_READ`) instead of
    built by the ORM on every request (the ORM took three quarters of the lookup's
    time). Candidates are found with LIKE '%slug' (cheap, native, within the day's index
    range); which of them the slug really names, by the regular expression here.
    """
    alias = router.db_for_read(Article)
    select, table = _ARTICLE_READ.select(alias)
    quote = connections[alias].ops.quote_name
    published_at, slug_column = (f"{table}.{quote(name)}" for name in ("published_at", "slug"))
    visible, visible_params = visible_condition(alias)
    sql = (
        f"{select} WHERE ({visible}) AND {published_at} >= %s AND {published_at} < %s"
        f" AND {slug_column} LIKE %s ESCAPE '\\'"
        f" ORDER BY {published_at} DESC, {table}.id DESC"
    )
    pattern = "%" + re.sub(r"([\\%_])", r"\\\1", slug)
    params = [*visible_params, _db_moment(start, alias), _db_moment(end, alias), pattern]
    names = re.compile(rf"^({SLUG_DATE})?{re.escape(slug)}$")
    slug_at = _ARTICLE_READ.position(alias, "slug")
    rows = fixed_query(Article, sql, params=params)
    row = next((row for row in rows if names.match(row[slug_at])), None)
    return _ARTICLE_READ.instance(alias, row) if row is not None else None


def topic_at(slug):
    """The topic with `slug`, its parent attached (404 if none): one query, its SQL
    written once (`_TOPIC_READ`), as the article page's."""
    alias = router.db_for_read(Topic)
    select, table = _TOPIC_READ.select(alias)
    sql = f"{select} WHERE {table}.{connections[alias].ops.quote_name('slug')} = %s"
    rows = fixed_query(Topic, sql, params=[slug])
    if not rows:
        raise Http404("No such topic.")
    return _TOPIC_READ.instance(alias, rows[0])


@dataclass(frozen=True)
class _JoinedRead:
    """A `model` instance and the one it points to through the foreign key `via`, read
    from a row of SQL written once per database instead of built by the ORM on every
    request (for the busiest pages' lookups, where building the query cost more than
    running it). `select()` gives the SELECT ... FROM ... JOIN part; the caller adds
    its WHERE and ORDER BY. Values are converted as the ORM's compiler converts them
    and the instances made with from_db(), so they are what a queryset would give (the
    columns not read are deferred). `names`/`related_names`: the fields read (None:
    all); a nullable `via` is a LEFT JOIN, and a row without one has None there."""

    model: type
    names: tuple | None
    via: str
    related_names: tuple | None = None

    def select(self, alias) -> tuple[str, str]:
        """(the SELECT ... FROM ... JOIN SQL, the model's table as it names it)."""
        return _read_plan(self, alias)[0], connections[alias].ops.quote_name(
            self.model._meta.db_table
        )

    def position(self, alias, name) -> int:
        """Where field `name` of the model is in a row."""
        return [field.name for field in _read_plan(self, alias)[1]].index(name)

    def instance(self, alias, row):
        _, fields, related_fields = _read_plan(self, alias)
        converters = _converters(self, connections[alias])
        values = [convert(value) for convert, value in zip(converters, row, strict=True)]
        split = len(fields)
        found = self.model.from_db(alias, [f.attname for f in fields], values[:split])
        foreign_key = self.model._meta.get_field(self.via)
        related = None
        if values[split] is not None:  # the related row's id: none through a LEFT JOIN
            related_model = foreign_key.related_model
            related = related_model.from_db(
                alias, [f.attname for f in related_fields], values[split:]
            )
        foreign_key.set_cached_value(found, related)
        return found


@lru_cache(maxsize=16)
def _read_plan(read: _JoinedRead, alias):
    """(SELECT SQL, the model's fields read, the related model's) of `read` for
    database `alias`."""
    connection = connections[alias]
    quote = connection.ops.quote_name
    foreign_key = read.model._meta.get_field(read.via)
    related_model = foreign_key.related_model

    def fields_of(model, names):
        # In the model's field order, the primary key first: from_db() reads a partial
        # row in that order.
        wanted = None if names is None else {model._meta.pk.name, *names}
        return [f for f in model._meta.concrete_fields if wanted is None or f.name in wanted]

    own = fields_of(read.model, None if read.names is None else (*read.names, read.via))
    related = fields_of(related_model, read.related_names)
    table = quote(read.model._meta.db_table)
    columns = [f"{table}.{quote(f.column)}" for f in own]
    columns += [f"related.{quote(f.column)}" for f in related]
    join = "LEFT OUTER JOIN" if foreign_key.null else "INNER JOIN"
    sql = (
        f"SELECT {', '.join(columns)} FROM {table}"
        f" {join} {quote(related_model._meta.db_table)} related"
        f" ON related.{quote(related_model._meta.pk.column)} = {table}.{quote(foreign_key.column)}"
    )
    return sql, own, related


@lru_cache(maxsize=64)
def _converters(read: _JoinedRead, connection):
    """One function per column of `read`'s rows turning the database's value into the
    model's, as the ORM's compiler does (the backend's converters, then the field's),
    bound to `connection`: this thread's (each thread has its own)."""
    _, own, related = _read_plan(read, connection.alias)
    converters = []
    for field in own + related:
        column = field.get_col(field.model._meta.db_table)
        steps = connection.ops.get_db_converters(column) + column.get_db_converters(connection)
        converters.append(partial(_convert, steps, column, connection))
    return converters


def _convert(steps, column, connection, value):
    for step in steps:
        value = step(value, column, connection)
    return value


_ARTICLE_READ = _JoinedRead(
    Article,
    tuple(name for name in DETAIL_FIELDS if "__" not in name),
    "provider",
    tuple(name.split("__", 1)[1] for name in DETAIL_FIELDS if name.startswith("provider__")),
)
_TOPIC_READ = _JoinedRead(Topic, None, "parent")


def _completed(article):
    """`article` with what the article page shows besides its own columns attached."""
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
    attach_story(article)
    # The page's pictures we hold (its story's coverage included), in one query; then
    # each coverage thumbnail as shown.
    article.hosted_pictures = hosted_pictures(
        [
            *_lead_urls([article.image_refs]),
            *_logo_urls([article.provider.logos]),
            *(entry.image["url"] for entry in article.coverage_list if entry.image),
        ]
    )
    article.coverage_list = [
        entry._replace(
            image=_coverage_picture(
                entry.image,
                entry.provider_name or entry.provider_domain,
                entry.provider_domain,
                article.hosted_pictures,
            )
        )
        for entry in article.coverage_list
    ]
    return article


def _first_image(images_json):
    """The first of a coverage item's images (a JSON list of {url, width, ...}), or None."""
    images = _db_json(images_json)
    if isinstance(images, list) and images and isinstance(images[0], dict):
        return images[0]
    return None


@dataclass(frozen=True)
class Picture:
    """An editor's upload, served from our media storage as it is."""

    url: str
    width: int | None
    height: int | None
    alt: str = ""

    kind = "upload"

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


def _picture(uploads, image_refs, hosted, name, colour_key):
    """The first readable upload of `uploads`, else the first imported image as we host
    it (`hosted`: see hosted_pictures()), else a placeholder with the initials of `name`
    on the colour of `colour_key`; None when there is no image at all.

    Imported image URLs pass `is_http_url`, like every URL from a file; the page never
    shows them, only our renditions of them.
    """
    for field_file in uploads:
        if field_file:
            picture = _uploaded(field_file)
            if picture:
                return picture
    record = image_refs[0] if image_refs else None
    if record is None or not is_http_url(record.url):
        return None
    return hosted.get(record.url) or pictures.placeholder(
        name, colour_key, record.width, record.height
    )


def lead_picture(article):
    """The uploaded lead image if an editor set one, else the first imported image (our
    rendition, or its placeholder). `article` comes from detail().

    An imported picture's alt text is the image's own title, unless that only repeats
    the headline (as every imported image title does): then "" (the headline is right
    beside it, and a screen reader would read it twice). An upload has none.
    """
    picture = _picture(
        (article.lead_image, article.lead_thumbnail),
        article.image_refs,
        article.hosted_pictures,
        str(article.provider),
        _colour_key(article.topic_refs, article.provider.domain),
    )
    if picture is None or picture.kind == "upload":
        return picture
    title = article.image_refs[0].title or ""
    if " ".join(title.split()).casefold() == " ".join(article.title.split()).casefold():
        title = ""
    return replace(picture, alt=title)


# -- Pictures we host (articles/imagecache) ---------------------------------------------
# Pages show our renditions of the images they link to, never the outlet's URL: one
# query per page finds which of the page's images we hold (lead images, logos,
# coverage thumbnails); the others get a placeholder (imagecache.pictures).

_HOSTED_SQL = (
    "SELECT source.url, picture.sha256, picture.width, picture.height, picture.widths,"
    " picture.fallback, picture.served_bytes"
    f" FROM {ImageSource._meta.db_table} source"
    f" JOIN {StoredImage._meta.db_table} picture ON picture.id = source.picture_id"
    " WHERE source.url IN ({ids}) AND source.status = %s"
)


def hosted_pictures(urls) -> dict:
    """{image URL: pictures.Rendition} for those of `urls` we hold a copy of: one query."""
    urls = sorted({url for url in urls if url})
    if not urls:
        return {}
    rows = fixed_query(ImageSource, _HOSTED_SQL, urls, [ImageSource.Status.CACHED.value])
    return {
        url: pictures.rendition(sha256, width, height, widths, fallback, sizes)
        for url, sha256, width, height, widths, fallback, sizes in rows
    }


def _lead_urls(image_refs_lists):
    return [refs[0].url for refs in image_refs_lists if refs]


def _logo_urls(logos_lists):
    return [logo.get("url") for logo in map(_first_of, logos_lists) if isinstance(logo, dict)]


def _first_of(items):
    return items[0] if isinstance(items, list) and items else None


def _colour_key(topic_refs, domain):
    """What a placeholder takes its colour from: the first topic, else the outlet."""
    return topic_refs[0].slug if topic_refs else domain


def _coverage_picture(image, name, domain, hosted):
    """A coverage entry's thumbnail as shown: our rendition, or the outlet's initials."""
    if not image or not is_http_url(image.get("url")):
        return None
    return hosted.get(image["url"]) or pictures.placeholder(
        name, domain, image.get("width"), image.get("height")
    )


def share_url(request, picture):
    """The absolute URL of `picture` for share cards (og:image), "" for a placeholder."""
    return request.build_absolute_uri(picture.url) if picture and picture.url else ""


def attach_shared_pictures(articles):
    """Set `article.shared_picture` on feed items (with their images attached): the one
    file a feed names for the lead image, a pictures.RenditionFile. An editor's upload,
    else our rendition; None while there is neither (never the outlet's URL). One query."""
    hosted = hosted_pictures(_lead_urls(article.image_refs for article in articles))
    for article in articles:
        shared = _uploaded_file(article.lead_image) if article.lead_image else None
        if shared is None and article.image_refs:
            rendition = hosted.get(article.image_refs[0].url)
            shared = rendition.share if rendition else None
        article.shared_picture = shared
    return articles


def _uploaded_file(field_file):
    try:
        kind = mimetypes.guess_type(field_file.name)[0] or "application/octet-stream"
        return pictures.RenditionFile(
            field_file.url, field_file.width, field_file.height, field_file.size, kind
        )
    except (OSError, ValueError):  # the file went missing or is unreadable
        return None


def logo_picture(name, domain, logos, hosted):
    """An outlet's logo as shown: our rendition, or its initials; None without a logo."""
    logo = _first_of(logos)
    if not isinstance(logo, dict) or not is_http_url(logo.get("url")):
        return None
    return hosted.get(logo["url"]) or pictures.placeholder(
        name, domain, logo.get("width") or 50, logo.get("height") or 50
    )


def _stored_file(field_name, name):
    """What `article.<field_name>` would be, for a file name read with values()."""
    field = Article._meta.get_field(field_name)
    return field.attr_class(None, field, name)


@dataclass(frozen=True)
class Card:
    """What a story card (and the article page's byline) shows, computed once in Python.

    Templates get ready strings: no lookups, method calls or date formatting per card.
    An immutable value, so that a card's HTML can be kept for it (templating.show_card).
    """

    url: str
    title: str
    excerpt: str
    provider_name: str
    provider_url: str
    logo: object  # a pictures.Rendition or Placeholder, or None
    published_iso: str
    published_display: str  # how long ago ("3 h ago"), or the date once a week has passed
    published_exact: str  # "14 Oct 2026, 09:30 UTC", for the title of the <time>
    picture: object  # a Picture (an upload), a pictures.Rendition or Placeholder, or None
    topics: tuple  # ((name, url), ...) in file order; in a list, without the tree's root topics
    outlets: int = 0  # outlets telling its story ("N outlets"), 0 when in no story


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


def reading_moment():
    """(the site's time zone, now): what every card of a page reads its dates with,
    taken once per page; the zone is the one `clock.local()` shows dates in."""
    return timezone.get_default_timezone(), clock.now()


def _row_card(row, hosted, moment, outlets) -> Card:
    # A card prefers the smaller uploaded thumbnail; uploads are rare, so the
    # FieldFile is only made when there is a file name.
    uploads = [
        _stored_file(name, row[name]) for name in ("lead_thumbnail", "lead_image") if row[name]
    ]
    provider_name = row["provider__name"] or row["provider__domain"]  # as str(provider)
    colour_key = _colour_key(row["topic_refs"], row["provider__domain"])
    return _card(
        title=row["title"],
        slug=row["slug"],
        excerpt=row["excerpt"],
        published_at=row["published_at"],
        provider_name=provider_name,
        provider_domain=row["provider__domain"],
        logos=row["provider__logos"],
        picture=_picture(uploads, row["image_refs"], hosted, provider_name, colour_key),
        topic_refs=row["topic_refs"],
        hosted=hosted,
        moment=moment,
        outlets=outlets,
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
        picture=_picture(
            (article.lead_thumbnail, article.lead_image),
            article.image_refs,
            article.hosted_pictures,
            str(provider),
            _colour_key(article.topic_refs, provider.domain),
        ),
        topic_refs=article.topic_refs,
        with_root=True,  # one page, not a list: its topics are all named
        hosted=article.hosted_pictures,
        moment=reading_moment(),
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
    hosted,
    moment,
    outlets=0,
    with_root=False,
) -> Card:
    zone, now = moment
    date = published_at.astimezone(zone)
    if len(excerpt) > EXCERPT_LENGTH:
        excerpt = excerpt[: EXCERPT_LENGTH - 1].rstrip() + "…"
    return Card(
        url=article_path(date.year, date.month, date.day, slug),
        title=title,
        excerpt=excerpt,
        provider_name=provider_name,
        provider_url=provider_url(provider_domain),
        logo=logo_picture(provider_name, provider_domain, logos, hosted),
        published_iso=date.isoformat(),
        published_display=time_ago(date, now),
        published_exact=f"{date.day} {date:%b %Y, %H:%M} {date.tzname()}",
        picture=picture,
        topics=tuple(
            (topic.name, topic.url) for topic in topic_refs if with_root or not topic.root
        ),
        outlets=outlets,
    )


def time_ago(moment, now):
    """When `moment` was, for a card: "just now", "25 min ago", "3 h ago", "2 days ago",
    then the date ("14 Oct 2026") once a week has passed or if it is still to come."""
    seconds = (now - moment).total_seconds()
    if -300 <= seconds < 60:  # a clock a little ahead is "just now" too
        return "just now"
    if 0 < seconds < 3600:
        return f"{int(seconds // 60)} min ago"
    if 0 < seconds < 86400:
        return f"{int(seconds // 3600)} h ago"
    if 0 < seconds < 7 * 86400:
        days = int(seconds // 86400)
        return f"{days} day ago" if days == 1 else f"{days} days ago"
    return f"{moment.day} {moment:%b %Y}"


def in_topic(queryset, topic):
    """Articles tagged with `topic`.

    Written as EXISTS rather than a join so the database can walk the articles in
    page order and stop after one page, instead of sorting every tagged row first.
    """
    tagged = TaggedTopic.objects.filter(content_object=OuterRef("pk"), tag=topic)
    return queryset.filter(Exists(tagged))


# Where a topic's link keeps each sort key of its article (see topic_sort_keys).
_LINK_SORT_KEYS = {"score": "score", "published_at": "published_at", "id": "content_object_id"}


def by_topic_links(ordering):
    """A ranking order (articles' columns) on the copies of those columns that a
    topic's links carry, so a topic's list is read from the links' own index in page
    order: the articles' index would be walked past every article of other topics."""
    result = []
    for term in ordering:
        term = term.copy()
        term.expression = F(f"tagged_topics__{_LINK_SORT_KEYS[term.expression.name]}")
        result.append(term)
    return result


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


# What a number in an address is: ASCII digits, an optional minus sign before them, and
# few enough for any bound here (Python's int() refuses more than 4,300 with its own words).
WHOLE_NUMBER = re.compile(r"-?[0-9]{1,18}")


def page_number(value) -> int:
    """The page asked for in `?page=`; ValueError unless a whole number in 1..MAX_PAGE."""
    if value in (None, ""):
        return 1
    if not WHOLE_NUMBER.fullmatch(value):  # int() would also take " 2", "+2" and "２"
        raise ValueError("page must be a whole number")
    number = int(value)
    if not 1 <= number <= MAX_PAGE:
        raise ValueError(f"page must be between 1 and {MAX_PAGE}")
    return number


def row_page(stories, number, fields, size=PAGE_SIZE) -> Page:
    """Page `number` (of `size` rows) of `stories` as {field: value} rows
    (`values(*fields)`, "id" always included), each with its `topic_refs` and
    `image_refs` lists: three queries.

    `stories` is a StoryList, or a queryset of articles (search results).
    """
    fields = ("id", *[name for name in fields if name != "id"])
    start = (number - 1) * size
    stop = start + size + 1  # one more than a page tells whether there is a next
    if isinstance(stories, StoryList):
        rows = stories.rows(fields, start, stop)
    else:
        rows = list(stories.values(*fields)[start:stop])
    rows, has_next = rows[:size], len(rows) > size
    attach_row_topics_and_images(rows)
    return Page(items=rows, number=number, has_next=has_next)


def attach_row_topics_and_images(rows):
    """Set each row's `topic_refs` and `image_refs` (see `topics_and_images`): two queries."""
    topics, images = topics_and_images([row["id"] for row in rows])
    for row in rows:
        row["topic_refs"] = topics.get(row["id"], [])
        row["image_refs"] = images.get(row["id"], [])
    return rows


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
    page.hosted_pictures = hosted_pictures(
        [
            *_lead_urls(row["image_refs"] for row in page.items),
            *_logo_urls(row["provider__logos"] for row in page.items),
        ]
    )
    outlets = story_outlets([row["id"] for row in page.items])
    moment = reading_moment()
    page.items = [
        _row_card(row, page.hosted_pictures, moment, outlets.get(row["id"], 0))
        for row in page.items
    ]
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
    is hashable: it is part of the key). The visibility rule depends on the moment (an
    article scheduled for 9:00 is in the list from 9:00): "now" is a parameter, put
    in afresh on every call wherever the rule appears in the SQL, and the rows always
    come fresh from the database. A list whose compiled parameters do not have that
    shape (none today; see `_compiled_rows_query`) is compiled on every call instead:
    slower, never stale.
    """

    view: str = ranking.TOP
    topic_id: int | None = None
    provider_id: int | None = None
    minimum_heat: int | None = None
    one_per_story: bool = True

    def queryset(self, articles=None, now=None):
        """The list as a queryset, built from `articles` (a fresh `published(now)` if
        None); `now` (clock.now() if None) is the moment whose visibility the story
        grouping's candidates follow."""
        if articles is None:
            articles = published(now)
        listed = self._filtered(articles, join_topic=True)
        if self.one_per_story:
            listed = one_per_story(listed, self._filtered(published(now)))
        ordering = ranking.ORDERINGS[self.view]
        if self.topic_id is not None:
            ordering = by_topic_links(ordering)
        return listed.order_by(*ordering)

    def _filtered(self, articles, join_topic=False):
        """`articles` cut to the list's topic, outlet and heat. A topic's articles are
        joined to their links (`join_topic`, for the list itself, read in their order:
        see by_topic_links) or tested with EXISTS (for the story grouping's candidates)."""
        if self.topic_id is not None:
            if join_topic:  # one link per article and topic: the join repeats no row
                articles = articles.filter(tagged_topics__tag_id=self.topic_id)
            else:
                articles = in_topic(articles, self.topic_id)
        if self.provider_id is not None:
            articles = articles.filter(provider_id=self.provider_id)
        if self.minimum_heat is not None:
            articles = articles.filter(heat__gte=self.minimum_heat)
        return articles

    def rows(self, fields, start, stop):
        """Rows `start:stop` of the list as {field: value} dicts, like `values(*fields)`."""
        fields = tuple(fields)
        alias = router.db_for_read(Article)
        now = clock.now()
        compiled = _compiled_rows_query(self, fields, start, stop, alias)
        if compiled is None:
            sql, params = _rows_sql(self.queryset(now=now), fields, start, stop, alias)
        else:
            sql, params, moments = compiled
            moment = _db_moment(now, alias)
            params = [moment if index in moments else value for index, value in enumerate(params)]
        with connections[alias].cursor() as cursor:
            cursor.execute(sql, params)
            found = cursor.fetchall()
        rows = [dict(zip(fields, row, strict=True)) for row in found]
        for name, to_python in _row_converters(fields):
            for row in rows:
                row[name] = to_python(row[name])
        return rows


def _rows_sql(queryset, fields, start, stop, alias):
    # values_list() selects the columns in the order of `fields` (a test holds rows()
    # equal to the ORM's values()).
    return queryset.values_list(*fields)[start:stop].query.get_compiler(alias).as_sql()


# Two moments no real request is at: the list's SQL is compiled at both, and the
# parameters that differ are where "now" goes (see _compiled_rows_query).
_PROBE_MOMENTS = (
    datetime.datetime(2000, 1, 1, 0, 0, 0, 1, tzinfo=datetime.UTC),
    datetime.datetime(2000, 1, 1, 0, 0, 0, 2, tzinfo=datetime.UTC),
)


def _db_moment(moment, alias):
    """`moment` as the ORM hands a datetime parameter to database `alias`."""
    return Article._meta.get_field("published_at").get_db_prep_value(
        moment, connections[alias], prepared=False
    )


@lru_cache(maxsize=1024)
def _compiled_rows_query(stories, fields, start, stop, alias):
    """(SQL text, parameters, the indexes of the parameters that are "now") of rows
    `start:stop` of `stories`, or None.

    The visibility rule depends on the moment, wherever the ORM puts it (the list's
    own filter, the story grouping's candidates): the list is compiled at two probe
    moments, and a parameter that differs must be that moment, as the database gets
    it; rows() puts the real one there on every call. Anything else that differs
    (nothing today) leaves the list uncached: compiled on every call, slower, never
    stale.
    """
    (sql, params), (other_sql, other_params) = (
        _rows_sql(stories.queryset(now=moment), fields, start, stop, alias)
        for moment in _PROBE_MOMENTS
    )
    if sql != other_sql or len(params) != len(other_params):
        return None
    first, second = (_db_moment(moment, alias) for moment in _PROBE_MOMENTS)
    moments = frozenset(
        i for i, (a, b) in enumerate(zip(params, other_params, strict=True)) if a != b
    )
    if any(params[i] != first or other_params[i] != second for i in moments):
        return None
    return sql, tuple(params), moments


@lru_cache(maxsize=64)
def _row_converters(fields):
    """(field, converter) for the columns the ORM would convert when read outside it:
    datetimes made aware, JSON decoded; the rest come from the driver as they are."""
    converters = []
    for name in fields:
        model, *path, last = [Article, *name.split("__")]
        for step in path:
            model = model._meta.get_field(step).related_model
        field = model._meta.get_field(last)
        if isinstance(field, models.DateTimeField):
            converters.append((name, _db_datetime))
        elif isinstance(field, models.JSONField):
            converters.append((name, _db_json))
    return tuple(converters)


def _db_json(value):
    return json.loads(value) if isinstance(value, str) else value


# -- Stories (issue 19): one story, many outlets -------------------------------------
# A list shows one article per story (the lead stands for it), the article page every
# outlet's coverage of its story, a card how many outlets tell it. The grouping itself
# is articles/stories/; these read what it wrote (StoryMention rows), and only through
# articles readers may see: a mention counts when its article passes published().

_MENTIONS = StoryMention._meta.db_table
_ARTICLE_MENTION = StoryMention.Kind.ARTICLE.value
_COVERAGE_MENTION = StoryMention.Kind.COVERAGE.value
# The mentions of an article's story whose articles readers may see, oldest first,
# with what the page shows of each: the coverage row, or the article and its outlet.
_STORY_SQL = (
    "SELECT m.kind, m.key, m.outlet, m.article_id,"
    " cov.id, cov.title, cov.url, cov.provider_name, cov.provider_domain, cov.published_at,"
    f" cov.images, {_ARTICLES}.title, {_ARTICLES}.web_url, {_ARTICLES}.original_url,"
    f" {_ARTICLES}.slug, {_ARTICLES}.published_at, provider.name, provider.domain"
    f" FROM {_MENTIONS} own"
    f" CROSS JOIN {_MENTIONS} m"
    f" CROSS JOIN {_ARTICLES}"
    f" CROSS JOIN {Provider._meta.db_table} provider"
    f" LEFT JOIN {RelatedCoverage._meta.db_table} cov ON cov.id = m.coverage_id"
    f" WHERE own.article_id = %s AND own.kind = '{_ARTICLE_MENTION}'"
    " AND own.story_id IS NOT NULL AND m.story_id = own.story_id"
    f" AND m.kind IN ('{_ARTICLE_MENTION}', '{_COVERAGE_MENTION}')"
    f" AND {_ARTICLES}.id = m.article_id AND provider.id = {_ARTICLES}.provider_id"
    " AND ({visible})"
    " ORDER BY m.published_at, m.id"
)
# How many outlets tell the story of each of these articles (readers' articles only).
_STORY_OUTLETS_SQL = (
    "SELECT own.article_id, COUNT(DISTINCT m.outlet)"
    f" FROM {_MENTIONS} own"
    f" CROSS JOIN {_MENTIONS} m"
    f" CROSS JOIN {_ARTICLES}"
    f" WHERE own.article_id IN ({{ids}}) AND own.kind = '{_ARTICLE_MENTION}'"
    " AND own.story_id IS NOT NULL AND m.story_id = own.story_id"
    f" AND m.kind IN ('{_ARTICLE_MENTION}', '{_COVERAGE_MENTION}')"
    f" AND {_ARTICLES}.id = m.article_id"
    " AND ({visible})"
    " GROUP BY own.article_id"
)


def one_per_story(articles, candidates):
    """`articles` without those another article of their story stands for: the
    story's lead if it is among `candidates` (what the list could show), else its
    member with the lowest id there. A filter in the list's SQL (NOT EXISTS), so
    paging stays right; an article in no story is never hidden.

    Written from the mentions' side (the article's own mention, its story, the other
    members' mentions through the story index, then each member looked up by id):
    written from the members' side, SQLite walked every visible article for each
    article in a story (80 ms a list at 20,000 articles and 5,000 stories).
    """
    Kind = StoryMention.Kind
    listed = OuterRef("pk")
    stands_for = StoryMention.objects.filter(
        Exists(candidates.filter(pk=OuterRef("article"))),
        ~Q(article=listed),
        Q(is_lead=True) | Q(article__lt=listed, story__mentions__is_lead=False),
        kind=Kind.ARTICLE,
        story__mentions__article=listed,
        story__mentions__kind=Kind.ARTICLE,
    )
    return articles.exclude(Exists(stands_for))


def attach_story(article):
    """Add the story's coverage to `article.coverage_list` (every outlet once, each URL
    once) and set `article.story_articles` (its other articles readers may see, as
    RelatedStory tuples). An article in no story keeps its own list as it is."""
    article.story_articles = []
    alias = router.db_for_read(Article)
    visible, params = visible_condition(alias)
    rows = fixed_query(StoryMention, _STORY_SQL.replace("{visible}", visible), [article.pk], params)
    if not rows:
        return
    from ..stories.grouping import outlet  # only for articles in a story
    from ..urlkeys import url_key

    own = next((r for r in rows if r[3] == article.pk and r[0] == _ARTICLE_MENTION), None)
    seen_keys = {own[1]} if own else set()
    seen_outlets = {article.provider.domain}
    entries = []
    for entry in article.coverage_list:
        key, source = url_key(entry.url), outlet(entry.provider_domain, entry.url)
        if key in seen_keys or source in seen_outlets:
            continue
        seen_keys.add(key)
        seen_outlets.add(source)
        entries.append(entry)
    for row in rows:
        kind, key, source, owner = row[:4]
        if kind == _ARTICLE_MENTION and owner != article.pk:
            title, web_url, original_url, slug, published_at, name, domain = row[11:]
            published_at = _db_datetime(published_at)
            article.story_articles.append(
                RelatedStory(
                    title, article_address(slug, published_at), name or domain, published_at
                )
            )
        if key in seen_keys or source in seen_outlets:
            continue
        if kind == _COVERAGE_MENTION:
            coverage_id, title, url, name, domain, published_at, images = row[4:11]
            if coverage_id is None:
                continue  # its coverage list was rewritten since; the grouping catches up
            entry = CoverageEntry(
                title, url, name, domain, _db_datetime(published_at), _first_image(images)
            )
        else:
            entry = CoverageEntry(
                title, original_url or web_url, name or domain, domain, published_at, None
            )
        seen_keys.add(key)
        seen_outlets.add(source)
        entries.append(entry)
    article.coverage_list = entries


def story_outlets(article_ids) -> dict:
    """{article id: how many outlets tell its story} for those in a story of two
    outlets or more, counting only articles readers may see: one query."""
    if not article_ids:
        return {}
    alias = router.db_for_read(Article)
    visible, params = visible_condition(alias)
    sql = _STORY_OUTLETS_SQL.replace("{visible}", visible)
    return {
        pk: count for pk, count in fixed_query(StoryMention, sql, article_ids, params) if count > 1
    }
