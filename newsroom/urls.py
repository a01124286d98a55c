import os
import re

from django.conf import settings
from django.contrib import admin
from django.contrib.sitemaps import views as sitemap_views
from django.urls import include, path, re_path
from django.views.static import serve

from articles.site import views as article_views
from articles.site.caching import public_page
from articles.site.sitemaps import SITEMAPS, news_sitemap
from newsroom import health

# JSON under /api/, the 404 page elsewhere.
handler400 = "articles.site.api.bad_request"
handler404 = "articles.site.api.page_not_found"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("healthz", health.healthz, name="healthz"),
    path("robots.txt", article_views.robots_txt, name="robots_txt"),
    path(
        "sitemap.xml",
        public_page(sitemap_views.index),
        {"sitemaps": SITEMAPS, "sitemap_url_name": "sitemap_section"},
        name="sitemap",
    ),
    # Before sitemap-<section>.xml, which would take "news" for a section.
    path("sitemap-news.xml", news_sitemap, name="sitemap_news"),
    path(
        "sitemap-<section>.xml",
        public_page(sitemap_views.sitemap),
        {"sitemaps": SITEMAPS},
        name="sitemap_section",
    ),
    path("", include("articles.urls")),
]
if os.environ.get("NEWSROOM_BENCH") == "1":
    # The benchmark's baseline (bench/public_site.py): a constant response.
    urlpatterns.insert(0, path("bench/trivial/", article_views.bench_trivial))
if settings.NEWSROOM_SERVE_MEDIA:
    # static() adds nothing with DEBUG off, so the view is named here (settings).
    urlpatterns.append(
        re_path(
            rf"^{re.escape(settings.MEDIA_URL.lstrip('/'))}(?P<path>.*)$",
            serve,
            {"document_root": settings.MEDIA_ROOT},
        )
    )
