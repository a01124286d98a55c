import os

from django.conf import settings
from django.conf.urls.static import static
from django.contrib import admin
from django.contrib.sitemaps import views as sitemap_views
from django.urls import include, path

from articles import views as article_views
from articles.caching import public_page
from articles.sitemaps import SITEMAPS
from newsroom import health

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
if settings.DEBUG:
    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)
