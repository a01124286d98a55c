"""What readers may see, shaped for the public pages, feeds and the API.

Every query here starts from `Article.objects.published()` (or is handed a queryset
that did), so a draft can never reach a reader by a side door. The shapes fetch what
a page shows in a fixed number of queries, whatever the page size, and paging never
counts rows: a COUNT over the whole table would make every page slower as the site
grows.
"""

from dataclasses import dataclass
from functools import lru_cache
from typing import NamedTuple

from django.db.models import Exists, OuterRef, Prefetch
from django.http import Http404
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html

from .links import is_http_url
from .models import Article, ArticleImage, RelatedCoverage, TaggedTopic, Topic

PAGE_SIZE = 20
# Deeper pages are refused: nobody reads page 100,000, and a huge number would
# overflow the database's OFFSET.
MAX_PAGE = 10_000

# Columns a card, a feed item or an API item reads. Everything else (the Markdown,
# the import bookkeeping, the search vector) stays in the database.
LISTING_FIELDS = (
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
    "quality",
    "heat",
    "status",
    "updated_at",
    "source_path",
    "lead_image",
    "lead_thumbnail",
    "provider__name",
    "provider__domain",
    "provider__logos",
)


def published():
    return Article.objects.published()


def listing(queryset):
    """Cards, feed and API items: the article and its provider, nothing else.

    Topics and images come from `attach_topics_and_images()` (which `paginate()`
    calls), as plain tuples: Django model instances and prefetch managers for 80-odd
    small related rows cost more than rendering the page.
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


@lru_cache(maxsize=4096)
def topic_url(slug):
    # Memoised: a page shows the same few topics many times, and reverse() is slow.
    return reverse("articles:topic", kwargs={"slug": slug})


@lru_cache(maxsize=4096)
def provider_url(domain):
    return reverse("articles:provider", kwargs={"domain": domain})


def article_url(article):
    """`article.get_absolute_url()`, memoised."""
    date = timezone.localtime(article.published_at)
    return _article_url(date.year, date.month, date.day, article.slug)


@lru_cache(maxsize=8192)
def _article_url(year, month, day, slug):
    # The same address as Article.get_absolute_url() (a test holds them equal),
    # memoised like the others: reverse() is half the cost of building a card.
    return reverse(
        "articles:detail", kwargs={"year": year, "month": month, "day": day, "slug": slug}
    )


def attach_topics_and_images(articles):
    """Set `article.topic_refs` and `article.image_refs` (file order): two queries."""
    by_id = {article.pk: article for article in articles}
    for article in articles:
        article.topic_refs, article.image_refs = [], []
    if not by_id:
        return articles
    links = (
        TaggedTopic.objects.filter(content_object_id__in=by_id)
        .order_by("id")
        .values_list("content_object_id", "tag__name", "tag__slug")
    )
    for article_id, name, slug in links:
        by_id[article_id].topic_refs.append(TopicRef(name, slug))
    images = (
        ArticleImage.objects.filter(article_id__in=by_id)
        .order_by("position", "id")
        .values_list("article_id", "url", "width", "height", "is_cached", "title")
    )
    for article_id, *fields in images:
        by_id[article_id].image_refs.append(ImageRef(*fields))
    return articles


def detail(queryset):
    """One article page: the article with its body, provider, `article.coverage_list`
    and `article.related_list` (published related stories only). Attach its topics
    and images with `attach_topics_and_images([article])`."""
    related = (
        published()
        .select_related("provider")
        .only("title", "slug", "published_at", "provider__name", "provider__domain")
        .order_by("-published_at", "-id")
    )
    return (
        queryset.select_related("provider")
        .defer("imported", "import_conflicts", "secured", "search_vector")
        .prefetch_related(
            Prefetch(
                "coverage",
                queryset=RelatedCoverage.objects.order_by("position", "id"),
                to_attr="coverage_list",
            ),
            Prefetch("related_stories", queryset=related, to_attr="related_list"),
        )
    )


class _TemplateFriendly:
    """Lets Django templates find attributes on the first try.

    A template lookup tries `obj[name]` before `getattr(obj, name)`; on a plain
    object that first try raises and catches a TypeError, for every variable.
    """

    def __getitem__(self, name):
        return getattr(self, name)


@dataclass(frozen=True)
class Picture(_TemplateFriendly):
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


def lead_picture(article):
    """The uploaded lead image if an editor set one, else the first imported image.

    Imported image URLs pass `is_http_url`, like every URL from a file.
    """
    for field_file in (article.lead_image, article.lead_thumbnail):
        if field_file:
            picture = _uploaded(field_file)
            if picture:
                return picture
    record = article.image_refs[0] if article.image_refs else None
    if record is None or not is_http_url(record.url):
        return None
    return Picture(record.url, record.width, record.height, record.title)


def card_picture(article):
    """A card prefers the smaller uploaded thumbnail, then the same as `lead_picture`."""
    if article.lead_thumbnail:
        picture = _uploaded(article.lead_thumbnail)
        if picture:
            return picture
    return lead_picture(article)


@dataclass
class Card(_TemplateFriendly):
    """What a story card (and the article page's byline) shows, computed once in Python.

    Django templates are slow at resolving lookups, calling methods and formatting
    dates; handing them ready strings keeps a 20-card page fast without a cache.
    """

    article: Article
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


def cards(articles) -> list[Card]:
    """Cards for `articles` (from `listing()`, with topics and images attached)."""
    return [card(article) for article in articles]


def card(article) -> Card:
    provider = article.provider
    logo = provider.logo if isinstance(provider.logo, dict) else None
    date = timezone.localtime(article.published_at)
    excerpt = article.excerpt
    if len(excerpt) > EXCERPT_LENGTH:
        excerpt = excerpt[: EXCERPT_LENGTH - 1].rstrip() + "…"
    return Card(
        article=article,
        url=_article_url(date.year, date.month, date.day, article.slug),
        title=article.title,
        excerpt=excerpt,
        provider_name=str(provider),
        provider_url=provider_url(provider.domain),
        logo=(
            Picture(logo["url"], logo.get("width") or 50, logo.get("height") or 50)
            if logo and is_http_url(logo.get("url"))
            else None
        ),
        published_iso=date.isoformat(),
        published_display=f"{date.day} {date:%b %Y}",
        picture=card_picture(article),
        topics=[(topic.name, topic.url) for topic in article.topic_refs],
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

    As TopicRefs named by their short name ("Autos" for "AI in Autos").
    """
    rows = Topic.objects.filter(
        kind=Topic.Kind.TOPIC, parent__isnull=False, parent__parent__isnull=True
    ).values_list("name", "short_name", "slug")[:limit]
    return [TopicRef(short_name or name, slug) for name, short_name, slug in rows]


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


def paginate(queryset, number, per_page=PAGE_SIZE) -> Page:
    """Page `number` of `queryset` (of articles), topics and images attached: 3 queries."""
    start = (number - 1) * per_page
    rows = list(queryset[start : start + per_page + 1])
    attach_topics_and_images(rows[:per_page])
    return Page(items=rows[:per_page], number=number, has_next=len(rows) > per_page)


def paginate_or_404(queryset, value, per_page=PAGE_SIZE) -> Page:
    """For HTML pages: a bad `?page=` or a page past the end is a 404, not a 500."""
    try:
        number = page_number(value)
    except ValueError:
        raise Http404("No such page.") from None
    page = paginate(queryset, number, per_page)
    if not page.items and number > 1:
        raise Http404("No such page.")
    return page
