"""RSS 2.0 and Atom feeds of the newest published stories, overall and per topic.

Imported text (titles, excerpts, provider and topic names) reaches feed readers as
text. Django's feed generator escapes everything for XML; on top of that, what a
reader shows as HTML is escaped as HTML too: every RSS <description> (readers render
the channel's like the items'), and the Atom <summary type="html">. Titles,
categories and Atom's <subtitle> (a "text" construct) are plain text already.
"""

from django.contrib.syndication.views import Feed
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.feedgenerator import Atom1Feed
from django.utils.html import escape

from . import public, ranking
from .addresses import article_url
from .models import Topic

FEED_SIZE = 30


class LatestFeed(Feed):
    title = "Newsroom: the latest AI news"
    description = "New AI stories from around the web, picked and checked by the Newsroom editors."

    def link(self):
        return reverse("articles:home")

    def feed_url(self):
        return reverse("articles:feed")

    def items(self):
        articles = public.listing(ranking.latest(public.published()))[:FEED_SIZE]
        return public.attach_topics_and_images(list(articles))

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
    feed_type = Atom1Feed
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
        articles = public.listing(ranking.latest(public.in_topic(public.published(), topic)))
        return public.attach_topics_and_images(list(articles[:FEED_SIZE]))


class TopicAtomFeed(TopicFeed):
    feed_type = Atom1Feed

    def subtitle(self, topic):
        # A text construct: readers show it as written, so no HTML escaping.
        return self.about(topic)

    def feed_url(self, topic):
        return reverse("articles:topic_feed_atom", kwargs={"slug": topic.slug})
