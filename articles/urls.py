from django.urls import path, register_converter

from .site import api, feeds, original_api, share, views
from .site.caching import public_page


class TwoDigits:
    regex = "[0-9]{2}"

    def to_python(self, value):
        return int(value)

    def to_url(self, value):
        return f"{int(value):02d}"


register_converter(TwoDigits, "dd")

app_name = "articles"

urlpatterns = [
    path("", views.home, name="home"),
    path("search/", views.search, name="search"),
    path("topics/", views.topic_index, name="topics"),
    path("how-top-works/", views.how_top_works, name="how_top_works"),
    path("topics/<slug:slug>/", views.topic, name="topic"),
    path("topics/<slug:slug>/feed/", public_page(feeds.TopicFeed()), name="topic_feed"),
    path(
        "topics/<slug:slug>/feed/atom/",
        public_page(feeds.TopicAtomFeed()),
        name="topic_feed_atom",
    ),
    path("providers/<str:domain>/", views.provider, name="provider"),
    path("providers/<str:domain>/feed/", public_page(feeds.ProviderFeed()), name="provider_feed"),
    path(
        "providers/<str:domain>/feed/atom/",
        public_page(feeds.ProviderAtomFeed()),
        name="provider_feed_atom",
    ),
    path("feed/", public_page(feeds.LatestFeed()), name="feed"),
    path("feed/atom/", public_page(feeds.LatestAtomFeed()), name="feed_atom"),
    path("api/openapi.yaml", api.openapi, name="api_openapi"),
    # The original site's static API files, at their own paths (original_api.py).
    path("api/news/index.json", original_api.news_index, name="original_index"),
    path("api/news/page/<int:number>/index.json", original_api.news_page, name="original_page"),
    path(
        "api/news/<slug:slug>/page/<int:number>/index.json",
        original_api.topic_page,
        name="original_topic_page",
    ),
    path("api/news/<slug:name>/index.json", original_api.news_item, name="original_item"),
    path("api/news/", api.news, name="api_news"),
    # Never cached: see articles/site/share.py.
    path("preview/<str:token>/", share.shared_article, name="shared_article"),
    path("api/news/<slug:slug>/", api.news, name="api_topic_news"),
    path("<int:year>/<dd:month>/<dd:day>/<slug:slug>/", views.detail, name="detail"),
]
