"""Public pages: home, topics, providers, article pages, search, robots.txt.

Thin on purpose: what readers may see and how it is fetched lives in `public`, the
order of "Top" and "Latest" in `ranking`, the page cache and conditional GET in
`caching`. A view picks the rows, and the template shows them.
"""

from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.templatetags.static import static
from django.urls import reverse
from django.utils.html import strip_tags

from .. import clock, ranking
from ..links import is_http_url
from ..models import BOOST_LIMIT_HOURS, Provider, Topic
from . import public
from .addresses import path_slug
from .caching import public_page
from .search import search as search_stories


def _view_param(request):
    """`?view=latest` or the default "top"; anything else is treated as the default."""
    view = request.GET.get("view")
    return view if view in ranking.ORDERINGS else ranking.TOP


def _list_context(request, topic_id=None, provider_id=None, **context):
    view = _view_param(request)
    stories = public.StoryList(view, topic_id=topic_id, provider_id=provider_id)
    page = public.card_page(stories, request.GET.get("page"))
    return {"page": page, "view": view, "views": ranking.VIEWS, **context}


@public_page
def home(request):
    return render(request, "articles/home.html", _list_context(request))


@public_page
def topic_index(request):
    topics = list(Topic.objects.select_related("parent").order_by("name"))
    roots = [t for t in topics if t.parent is None and t.kind == Topic.Kind.TOPIC]
    children = {}
    for t in topics:
        if t.parent_id:
            children.setdefault(t.parent_id, []).append(t)
    # Two levels under each root ("AI" > "Natural Language Processing" > "LLMs").
    tree = [
        (root, [(child, children.get(child.pk, [])) for child in children.get(root.pk, [])])
        for root in roots
    ]
    tags = [t for t in topics if t.kind == Topic.Kind.TAG]
    return render(request, "articles/topic_index.html", {"tree": tree, "tags": tags})


@public_page
def topic(request, slug):
    topic = public.topic_at(slug)
    children = public.child_topics(topic)
    context = _list_context(request, topic_id=topic.pk, topic=topic, children=children)
    return render(request, "articles/topic.html", context)


@public_page
def provider(request, domain):
    provider = get_object_or_404(Provider, domain=domain)
    context = _list_context(request, provider_id=provider.pk)
    if not context["page"].items:
        # An outlet with nothing published is nobody's business yet (its only
        # stories may still be in review).
        return render(request, "404.html", status=404)
    # The outlet's logo as shown on its cards (found with them: no query of its own).
    logo = public.logo_picture(
        str(provider), provider.domain, provider.logos, context["page"].hosted_pictures
    )
    context = {**context, "provider": provider, "logo": logo}
    return render(request, "articles/provider.html", context)


@public_page
def detail(request, year, month, day, slug):
    article = public.article_at(year, month, day, slug)
    date = clock.local(article.published_at)
    if (date.year, date.month, date.day, path_slug(article.slug)) != (year, month, day, slug):
        return redirect(article, permanent=True)  # an older address of the article
    topics = article.topic_refs
    picture = public.lead_picture(article)
    context = {
        "article": article,
        "card": public.card(article),
        "topics": topics,
        "picture": picture,
        "picture_url": public.share_url(request, picture),
        "structured_data": _news_article_data(request, article, picture, topics),
    }
    return render(request, "articles/article_detail.html", context)


HEADLINE_LENGTH = 110  # Google's limit for an article's headline


def headline(title, limit=HEADLINE_LENGTH):
    """`title`, or as much of it as fits in `limit` characters cut between words, with
    an ellipsis."""
    if len(title) <= limit:
        return title
    cut = title[: limit - 1]
    if not title[limit - 1].isspace() and " " in cut:
        cut = cut.rsplit(" ", 1)[0]
    return cut.rstrip(" ,;:.-–—") + "…"


def _news_article_data(request, article, picture, topics):
    """schema.org NewsArticle for search engines (rendered as JSON-LD, escaped).

    This site publishes the page (`publisher`, with its own logo); the outlet wrote
    the story: it is the `author` (bylines are not known, so the organisation) and
    the `sourceOrganization`, and its article is what the page `isBasedOn`.
    """
    url = request.build_absolute_uri(article.get_absolute_url())
    provider = article.provider
    outlet = {"@type": "Organization", "name": str(provider)}
    if is_http_url(f"https://{provider.domain}/"):
        outlet["url"] = f"https://{provider.domain}/"
    logo, width, height = public.SITE_LOGO
    data = {
        "@context": "https://schema.org",
        "@type": "NewsArticle",
        "headline": headline(article.title),
        "description": strip_tags(article.excerpt),
        "datePublished": article.published_at,
        "dateModified": article.updated_at,
        "url": url,
        "mainEntityOfPage": url,
        "author": [outlet],
        "sourceOrganization": outlet,
        "publisher": {
            "@type": "Organization",
            "name": public.SITE_NAME,
            "url": request.build_absolute_uri(reverse("articles:home")),
            "logo": {
                "@type": "ImageObject",
                "url": request.build_absolute_uri(static(logo)),
                "width": width,
                "height": height,
            },
        },
        "keywords": [t.name for t in topics],
    }
    if picture and picture.url:  # not a placeholder
        data["image"] = [request.build_absolute_uri(picture.url)]
    based_on = article.original_url if is_http_url(article.original_url) else article.web_url
    if is_http_url(based_on):
        data["isBasedOn"] = based_on
    return data


@public_page
def how_top_works(request):
    """How "Top" is ordered, in words, with the numbers from `ranking` itself."""
    plain, twice = 100, 200
    context = {
        "version": ranking.VERSION,
        "changelog": ranking.CHANGELOG,
        "window_hours": ranking.WINDOW_HOURS,
        "coverage_points": ranking.COVERAGE_POINTS,
        "coverage_from_quality": ranking.COVERAGE_FROM_QUALITY,
        "boost_limit_hours": BOOST_LIMIT_HOURS,
        # "a story with heat 200 ranks level with one of heat 100 published N hours later"
        "example_heats": (plain, twice),
        "example_hours": ranking.heat_hours(twice) - ranking.heat_hours(plain),
    }
    return render(request, "articles/how_top_works.html", context)


@public_page
def search(request):
    query = " ".join(request.GET.get("q", "").split())
    result = page = None
    if query:
        result = search_stories(public.published(), query)
        page = public.card_page(result.stories, request.GET.get("page"))
    context = {"query": query, "page": page, "result": result}
    return render(request, "articles/search.html", context)


# The sitemaps robots.txt names: the index of sections, and the Google News sitemap.
SITEMAP_NAMES = ("sitemap", "sitemap_news")


@public_page
def robots_txt(request):
    lines = [
        "User-agent: *",
        "Disallow: /admin/",
        "Disallow: /search/",
        "Disallow: /preview/",
        *(f"Sitemap: {request.build_absolute_uri(reverse(name))}" for name in SITEMAP_NAMES),
    ]
    response = HttpResponse("\n".join(lines) + "\n", content_type="text/plain; charset=utf-8")
    response["Cache-Control"] = "public, max-age=86400"
    return response


def bench_trivial(request):
    """A constant response through the full middleware stack: the benchmark's baseline.

    Routed only when NEWSROOM_BENCH=1 (see newsroom/urls.py).
    """
    return HttpResponse("ok", content_type="text/plain")
