"""/sitemap.xml: an index of sections (articles, topics, pages), each with lastmod;
/sitemap-news.xml: the Google News sitemap of the stories that went live lately.

Both are listed in robots.txt.
"""

import datetime as dt

from django.conf import settings
from django.contrib.sitemaps import Sitemap
from django.db.models import Max, OuterRef, Subquery
from django.db.models.functions import Coalesce
from django.shortcuts import render
from django.urls import reverse

from .. import clock, ranking
from ..models import Topic
from . import public
from .caching import public_page


class ArticleSitemap(Sitemap):
    changefreq = "weekly"
    # Well under the protocol's 50,000 so a section page renders quickly.
    limit = 10_000

    def items(self):
        return ranking.latest(public.published().only("slug", "published_at", "updated_at"))

    def lastmod(self, article):
        return article.updated_at

    def get_latest_lastmod(self):
        # One aggregate instead of Django's default, which walks every item.
        return public.published().aggregate(latest=Max("updated_at"))["latest"]


class TopicSitemap(Sitemap):
    """The topics that have published stories, each with its newest story's change."""

    changefreq = "daily"

    def items(self):
        # OuterRef twice: from the tag links, through the stories, out to the topic.
        newest = public.in_topic(public.published(), OuterRef(OuterRef("pk")))
        newest = newest.order_by("-updated_at")
        topics = (
            Topic.objects.annotate(lastmod=Subquery(newest.values("updated_at")[:1]))
            .filter(lastmod__isnull=False)
            .order_by("name")
            .only("slug")
        )
        # A topic whose stored slug no URL can hold has no page to list (see
        # Topic.get_absolute_url). Topics are a few hundred at most: filtered here.
        return [topic for topic in topics if topic.get_absolute_url()]

    def lastmod(self, topic):
        return topic.lastmod


class PageSitemap(Sitemap):
    changefreq = "hourly"
    priority = 1.0

    def items(self):
        return ["articles:home", "articles:topics", "articles:how_top_works"]

    def location(self, name):
        return reverse(name)

    def lastmod(self, name):
        if name == "articles:how_top_works":  # changes with the formula only
            _, date, _ = ranking.CHANGELOG[-1]
            return dt.datetime.combine(date, dt.time(), tzinfo=dt.UTC)
        return public.published().aggregate(latest=Max("updated_at"))["latest"]


SITEMAPS = {"articles": ArticleSitemap, "topics": TopicSitemap, "pages": PageSitemap}


# Google News takes the stories of the last two days, at most 1,000 a sitemap.
NEWS_DAYS = 2
NEWS_LIMIT = 1000


def news_stories():
    """The published stories that went live on this site in the last NEWS_DAYS days,
    the newest first (at most NEWS_LIMIT), each with its `live_at`."""
    now = clock.now()
    # A scheduled story is live from its "go live at" on, before the sweep records it
    # in went_live_at (within the minute): the one of the two that is set.
    stories = public.published(now).annotate(live_at=Coalesce("went_live_at", "go_live_at"))
    stories = stories.filter(live_at__gte=now - dt.timedelta(days=NEWS_DAYS))
    stories = stories.order_by("-live_at", "-id")
    return stories.only("title", "slug", "published_at")[:NEWS_LIMIT]


@public_page
def news_sitemap(request):
    """/sitemap-news.xml: the stories `news_stories()` gives, with the publication's
    name and language, each story's going-live date and its title."""
    context = {
        "stories": [
            (request.build_absolute_uri(article.get_absolute_url()), article)
            for article in news_stories()
        ],
        "publication": public.SITE_NAME,
        "language": settings.LANGUAGE_CODE.split("-")[0],
    }
    return render(request, "sitemaps/news.xml", context, content_type="application/xml")
