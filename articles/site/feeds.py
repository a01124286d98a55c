"""RSS 2.0 and Atom feeds of the newest published stories, overall and per topic.

Imported text (titles, excerpts, provider and topic names) reaches feed readers as
text. Django's feed generator escapes everything for XML; on top of that, what a
reader shows as HTML is escaped as HTML too: every RSS <description> (readers render
the channel's like the items'), and the Atom <summary type="html">. Titles,
categories and Atom's <subtitle> (a "text" construct) are plain text already.

Each item carries its lead image as we host it (an editor's upload, else our
rendition; nothing while neither exists, never the outlet's URL): an RSS <enclosure>
or an Atom <link rel="enclosure"> (URL, length, type), and a Media RSS
<media:content> with its width and height. Feeds exist overall, per topic and per
outlet (advertised on the outlet's page). Like every list, a feed shows a story once
(`public.StoryList`: its lead stands for the other articles of the story).
"""

import dataclasses

from django.contrib.syndication.views import Feed
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.feedgenerator import Atom1Feed, Enclosure, Rss201rev2Feed
from django.utils.html import escape

from .. import ranking
from ..models import Provider, Topic
from . import public
from .addresses import article_url

FEED_SIZE = 30
MEDIA_RSS = "http://search.yahoo.com/mrss/"


class _MediaElements:
    """Adds the Media RSS namespace and each item's <media:content> (item["media"])."""

    def add_media_namespace(self, attributes):
        attributes["xmlns:media"] = MEDIA_RSS
        return attributes

    def add_item_elements(self, handler, item):
        super().add_item_elements(handler, item)
        media = item.get("media")
        if media:
            attributes = {"url": media.url, "type": media.content_type, "medium": "image"}
            attributes.update(width=str(media.width), height=str(media.height))
            if media.bytes:
                attributes["fileSize"] = str(media.bytes)
            handler.addQuickElement("media:content", "", attributes)


class MediaRssFeed(_MediaElements, Rss201rev2Feed):
    def rss_attributes(self):
        return self.add_media_namespace(super().rss_attributes())


class MediaAtomFeed(_MediaElements, Atom1Feed):
    def root_attributes(self):
        return self.add_media_namespace(super().root_attributes())


class LatestFeed(Feed):
    feed_type = MediaRssFeed

    title = "Newsroom: the latest AI news"
    description = "New AI stories from around the web, picked and checked by the Newsroom editors."

    def link(self):
        return reverse("articles:home")

    def feed_url(self):
        return reverse("articles:feed")

    def items(self):
        articles = public.listing(public.StoryList(ranking.LATEST).queryset())[:FEED_SIZE]
        return _with_pictures(articles)

    def get_feed(self, obj, request):
        feed = super().get_feed(obj, request)
        # Our files' URLs are paths (or the media storage's own absolute URLs).
        for item in feed.items:
            item["enclosures"] = [
                Enclosure(request.build_absolute_uri(e.url), e.length, e.mime_type)
                for e in item["enclosures"]
            ]
            if item.get("media"):
                item["media"] = _absolute(request, item["media"])
        return feed

    def item_enclosures(self, item):
        picture = item.shared_picture
        if picture is None:
            return []
        return [Enclosure(picture.url, str(picture.bytes), picture.content_type)]

    def item_extra_kwargs(self, item):
        return {"media": item.shared_picture}

    def item_title(self, item):
        return item.title

    def item_description(self, item):
        # Feed readers treat descriptions as HTML: escape the excerpt so that
        # markup in an imported file arrives as text.
        return escape(item.excerpt)

    def item_link(self, item):
        return article_url(item)

    def item_pubdate(self, item):
        return item.published_at

    def item_updateddate(self, item):
        return item.updated_at

    def item_author_name(self, item):
        return str(item.provider)

    def item_categories(self, item):
        return [topic.name for topic in item.topic_refs]


class LatestAtomFeed(LatestFeed):
    feed_type = MediaAtomFeed
    subtitle = LatestFeed.description

    def feed_url(self):
        return reverse("articles:feed_atom")


class TopicFeed(LatestFeed):
    def get_object(self, request, slug):
        return get_object_or_404(Topic, slug=slug)

    def title(self, topic):
        return f"Newsroom: {topic.name}"

    def about(self, topic):
        return f"The latest stories about {topic.name}, picked by the Newsroom editors."

    def description(self, topic):
        # The RSS channel's <description>, shown as HTML: the topic name as text.
        return escape(self.about(topic))

    def link(self, topic):
        return topic.get_absolute_url()

    def feed_url(self, topic):
        return reverse("articles:topic_feed", kwargs={"slug": topic.slug})

    def items(self, topic):
        articles = public.listing(public.StoryList(ranking.LATEST, topic_id=topic.pk).queryset())
        return _with_pictures(articles[:FEED_SIZE])


class TopicAtomFeed(TopicFeed):
    feed_type = MediaAtomFeed

    def subtitle(self, topic):
        # A text construct: readers show it as written, so no HTML escaping.
        return self.about(topic)

    def feed_url(self, topic):
        return reverse("articles:topic_feed_atom", kwargs={"slug": topic.slug})


class ProviderFeed(LatestFeed):
    """The newest published stories of one outlet."""

    def get_object(self, request, domain):
        provider = get_object_or_404(Provider, domain=domain)
        # As the outlet's page: one with nothing published has no feed (that would say
        # which outlet an item still in review or under embargo comes from).
        if not public.published().filter(provider=provider).exists():
            raise Http404("No such outlet.")
        return provider

    def title(self, provider):
        return f"Newsroom: stories from {provider}"

    def about(self, provider):
        return f"The latest stories from {provider}, picked by the Newsroom editors."

    def description(self, provider):
        return escape(self.about(provider))  # shown as HTML, like the topic's

    def link(self, provider):
        return provider.get_absolute_url()

    def feed_url(self, provider):
        return reverse("articles:provider_feed", kwargs={"domain": provider.domain})

    def items(self, provider):
        stories = public.StoryList(ranking.LATEST, provider_id=provider.pk)
        articles = public.listing(stories.queryset())
        return _with_pictures(articles[:FEED_SIZE])


class ProviderAtomFeed(ProviderFeed):
    feed_type = MediaAtomFeed

    def subtitle(self, provider):
        return self.about(provider)

    def feed_url(self, provider):
        return reverse("articles:provider_feed_atom", kwargs={"domain": provider.domain})


def _with_pictures(articles):
    """Feed items with their topics, images and shared picture attached: three queries."""
    return public.attach_shared_pictures(public.attach_topics_and_images(list(articles)))


def _absolute(request, picture):
    return dataclasses.replace(picture, url=request.build_absolute_uri(picture.url))
