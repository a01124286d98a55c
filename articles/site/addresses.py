"""The public addresses (paths) of articles, topics and outlets: built here only.

`Article.get_absolute_url()` and the public pages, feeds, sitemaps and API all take
an article's path from `article_address()`, so they cannot disagree. This module
knows the URL patterns and nothing of the models (models.py imports it).

Stored slugs and domains are not trusted to fit the URL patterns: only the admin's
forms check them, and old imports or direct edits can leave a topic slug like
"ai agents" or an empty domain. Such a topic or outlet has no page, so
`topic_url()` and `provider_url()` give "" and the templates show its name without
a link (the masthead leaves it out), instead of every page that mentions it failing
with NoReverseMatch.

An article's path names its date once: `/2026/10/14/training-costs-fall/` for the
slug `2026-10-14-training-costs-fall` (slugs begin with a date, like the imported file
names). `path_slug()` drops that leading date; the article page finds the article
again from the path's date and that rest (`public.article_at`), and older paths that
repeated the date redirect there.

Memoised: a page shows the same few topics and outlets many times, and reverse() is
half the cost of building a card.
"""

import re
from functools import lru_cache

from django.urls import NoReverseMatch, reverse

from .. import clock


def article_address(slug, published_at):
    """The article page's path for an article's slug and date (the date as shown
    on this site, in its time zone)."""
    date = clock.local(published_at)
    return article_path(date.year, date.month, date.day, slug)


def article_url(article):
    """`article.get_absolute_url()` for anything with a slug and a `published_at`."""
    return article_address(article.slug, article.published_at)


@lru_cache(maxsize=8192)
def article_path(year, month, day, slug):
    """The article page's path from the parts of its local date and its slug."""
    return reverse(
        "articles:detail",
        kwargs={"year": year, "month": month, "day": day, "slug": path_slug(slug)},
    )


# A slug's leading date ("2026-10-14-"), as a regular expression both databases read;
# dropped only when something follows it.
SLUG_DATE = "[0-9]{4}-[0-9]{2}-[0-9]{2}-"
_LEADING_DATE = re.compile(SLUG_DATE + "(?=.)")


def path_slug(slug):
    """The part of `slug` an article's path shows: without its leading date, if any
    (the path has the date already)."""
    match = _LEADING_DATE.match(slug)
    return slug[match.end() :] if match else slug


@lru_cache(maxsize=4096)
def topic_url(slug):
    """The topic page's path, or "" when `slug` cannot be part of a URL."""
    try:
        return reverse("articles:topic", kwargs={"slug": slug})
    except NoReverseMatch:
        return ""


@lru_cache(maxsize=4096)
def provider_url(domain):
    """The outlet page's path, or "" when `domain` cannot be part of a URL."""
    try:
        return reverse("articles:provider", kwargs={"domain": domain})
    except NoReverseMatch:
        return ""
