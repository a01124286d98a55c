"""How the public site orders stories: the one home of the "Top" and "Latest" rules.

"Top" puts the hottest stories first, then the best ones, then the newest. Heat and
quality may be unknown (NULL); unknown always sorts after every known score, on every
database (SQLite and PostgreSQL disagree about where NULLs go unless told).

"Latest" (`LATEST_ORDER`) is the newest first: the lists' Latest tab, the feeds, the
API, the sitemap, search results of equal rank and an article's related stories.
"""

from django.db.models import F

TOP = "top"
LATEST = "latest"
# The source's own date, newest first; the id keeps equal dates in a stable order.
LATEST_ORDER = (F("published_at").desc(), F("id").desc())
ORDERINGS = {
    TOP: (
        F("heat").desc(nulls_last=True),
        F("quality").desc(nulls_last=True),
        *LATEST_ORDER,
    ),
    LATEST: LATEST_ORDER,
}
VIEWS = ((TOP, "Top"), (LATEST, "Latest"))


def order(queryset, view=TOP):
    """`queryset` in the order of `view` ("top" or "latest")."""
    return queryset.order_by(*ORDERINGS[view])


def latest(queryset):
    """`queryset`, newest first."""
    return queryset.order_by(*LATEST_ORDER)
