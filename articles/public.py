"""What readers may see, shaped for the public pages, feeds and the API.

Every query here starts from `Article.objects.published()` (or is handed a queryset
that did), so a draft can never reach a reader by a side door. The shapes fetch what
a page shows in a fixed number of queries, whatever the page size, and paging never
counts rows: a COUNT over the whole table would make every page slower as the site
grows.
"""

from dataclasses import dataclass

from django.db.models import Exists, OuterRef, Prefetch
from django.http import Http404

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
    """Cards: the article, its provider, its topics (in file order) and its images."""
    return (
        queryset.select_related("provider")
        .only(*LISTING_FIELDS)
        .prefetch_related(
            Prefetch("tagged_topics", queryset=TaggedTopic.objects.select_related("tag")),
            Prefetch("images", queryset=ArticleImage.objects.order_by("position", "id")),
        )
    )


def detail(queryset):
    """One article page: the card data plus body, coverage and published related stories."""
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
            Prefetch("tagged_topics", queryset=TaggedTopic.objects.select_related("tag")),
            Prefetch("images", queryset=ArticleImage.objects.order_by("position", "id")),
            Prefetch("coverage", queryset=RelatedCoverage.objects.order_by("position", "id")),
            Prefetch("related_stories", queryset=related),
        )
    )


@dataclass(frozen=True)
class Picture:
    url: str
    width: int | None
    height: int | None
    alt: str = ""


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
    record = article.lead_image_record
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


def in_topic(queryset, topic):
    """Articles tagged with `topic`.

    Written as EXISTS rather than a join so the database can walk the articles in
    page order and stop after one page, instead of sorting every tagged row first.
    """
    tagged = TaggedTopic.objects.filter(content_object=OuterRef("pk"), tag=topic)
    return queryset.filter(Exists(tagged))


def nav_topics(limit=8):
    """The masthead's topics: the first level under the root topic(s), by name."""
    return list(
        Topic.objects.filter(
            kind=Topic.Kind.TOPIC, parent__isnull=False, parent__parent__isnull=True
        ).only("name", "slug", "short_name")[:limit]
    )


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
    """Page `number` of `queryset`: one query for the rows (plus the prefetches)."""
    start = (number - 1) * per_page
    rows = list(queryset[start : start + per_page + 1])
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
