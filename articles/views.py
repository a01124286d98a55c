"""Public pages: home, topics, providers, article pages, search, robots.txt.

Thin on purpose: what readers may see and how it is fetched lives in `public`, the
order of "Top" and "Latest" in `ranking`, the page cache and conditional GET in
`caching`. A view picks the rows, and the template shows them.
"""

from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.html import strip_tags
from django.utils.http import http_date
from django.views.decorators.http import require_safe

from . import public, ranking
from .caching import public_page
from .links import is_http_url
from .models import Provider, Topic
from .search import search_articles


def _view_param(request):
    """`?view=latest` or the default "top"; anything else is treated as the default."""
    view = request.GET.get("view")
    return view if view in ranking.ORDERINGS else ranking.TOP


def _list_context(request, topic_id=None, provider_id=None, **context):
    view = _view_param(request)
    stories = public.StoryList(view, topic_id=topic_id, provider_id=provider_id)
    page = public.card_page(stories, request.GET.get("page"))
    return {"page": page, "view": view, "views": ranking.VIEWS, **context}


@require_safe
@public_page
def home(request):
    return render(request, "articles/home.html", _list_context(request))


@require_safe
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


@require_safe
@public_page
def topic(request, slug):
    topic = get_object_or_404(Topic.objects.select_related("parent"), slug=slug)
    children = public.child_topics(topic)
    context = _list_context(request, topic_id=topic.pk, topic=topic, children=children)
    return render(request, "articles/topic.html", context)


@require_safe
@public_page
def provider(request, domain):
    provider = get_object_or_404(Provider, domain=domain)
    context = _list_context(request, provider_id=provider.pk)
    if not context["page"].items:
        # An outlet with nothing published is nobody's business yet (its only
        # stories may still be in review).
        return render(request, "404.html", status=404)
    return render(request, "articles/provider.html", {**context, "provider": provider})


@require_safe
@public_page
def detail(request, year, month, day, slug):
    article = public.detail(public.published(), slug=slug)
    date = timezone.localtime(article.published_at)
    if (date.year, date.month, date.day) != (year, month, day):
        return redirect(article, permanent=True)
    topics = article.topic_refs
    picture = public.lead_picture(article)
    context = {
        "article": article,
        "card": public.card(article),
        "topics": topics,
        "picture": picture,
        "picture_url": request.build_absolute_uri(picture.url) if picture else "",
        "structured_data": _news_article_data(request, article, picture, topics),
    }
    response = render(request, "articles/article_detail.html", context)
    response["Last-Modified"] = http_date(article.updated_at.timestamp())
    return response


def _news_article_data(request, article, picture, topics):
    """schema.org NewsArticle for search engines (rendered as JSON-LD, escaped)."""
    url = request.build_absolute_uri(article.get_absolute_url())
    provider = article.provider
    publisher = {
        "@type": "Organization",
        "name": str(provider),
        "url": f"https://{provider.domain}/",
    }
    logo = provider.logo
    if logo and is_http_url(logo.get("url")):
        publisher["logo"] = {"@type": "ImageObject", "url": logo["url"]}
    data = {
        "@context": "https://schema.org",
        "@type": "NewsArticle",
        "headline": article.title[:110],
        "description": strip_tags(article.excerpt),
        "datePublished": article.published_at,
        "dateModified": article.updated_at,
        "url": url,
        "mainEntityOfPage": url,
        "publisher": publisher,
        "keywords": [t.name for t in topics],
    }
    if picture:
        data["image"] = [request.build_absolute_uri(picture.url)]
    if is_http_url(article.web_url):
        data["isBasedOn"] = article.web_url
    return data


@require_safe
@public_page
def search(request):
    query = " ".join(request.GET.get("q", "").split())
    page = None
    if query:
        found = search_articles(public.published(), query)
        page = public.card_page(found, request.GET.get("page"))
    return render(request, "articles/search.html", {"query": query, "page": page})


@require_safe
def robots_txt(request):
    sitemap = request.build_absolute_uri(reverse("sitemap"))
    lines = [
        "User-agent: *",
        "Disallow: /admin/",
        "Disallow: /search/",
        f"Sitemap: {sitemap}",
    ]
    response = HttpResponse("\n".join(lines) + "\n", content_type="text/plain; charset=utf-8")
    response["Cache-Control"] = "public, max-age=86400"
    return response


def bench_trivial(request):
    """A constant response through the full middleware stack: the benchmark's baseline.

    Routed only when NEWSROOM_BENCH=1 (see newsroom/urls.py).
    """
    return HttpResponse("ok", content_type="text/plain")
