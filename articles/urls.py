from django.urls import path, register_converter

from . import api, feeds, views
from .caching import public_page


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
    path("topics/<slug:slug>/", views.topic, name="topic"),
    path("topics/<slug:slug>/feed/", public_page(feeds.TopicFeed()), name="topic_feed"),
    path(
        "topics/<slug:slug>/feed/atom/",
        public_page(feeds.TopicAtomFeed()),
        name="topic_feed_atom",
    ),
    path("providers/<str:domain>/", views.provider, name="provider"),
    path("feed/", public_page(feeds.LatestFeed()), name="feed"),
    path("feed/atom/", public_page(feeds.LatestAtomFeed()), name="feed_atom"),
    path("api/news/", api.news, name="api_news"),
    path("api/news/<slug:slug>/", api.news, name="api_topic_news"),
    path("<int:year>/<dd:month>/<dd:day>/<slug:slug>/", views.detail, name="detail"),
]
