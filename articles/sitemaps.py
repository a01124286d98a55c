"""/sitemap.xml: an index of sections (articles, topics, pages), each with lastmod."""

from django.contrib.sitemaps import Sitemap
from django.db.models import Max
from django.urls import reverse

from . import public, ranking
from .models import Topic


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
    changefreq = "daily"

    def items(self):
        # A topic whose stored slug no URL can hold has no page to list (see
        # Topic.get_absolute_url). Topics are a few hundred at most: filtered here.
        topics = Topic.objects.order_by("name").only("slug")
        return [topic for topic in topics if topic.get_absolute_url()]


class PageSitemap(Sitemap):
    changefreq = "hourly"
    priority = 1.0

    def items(self):
        return ["articles:home", "articles:topics"]

    def location(self, name):
        return reverse(name)

    def lastmod(self, name):
        return public.published().aggregate(latest=Max("updated_at"))["latest"]


SITEMAPS = {"articles": ArticleSitemap, "topics": TopicSitemap, "pages": PageSitemap}
