"""How the public site orders stories: the one home of the "Top" and "Latest" rules.

"Top" puts the hottest stories first, then the best ones, then the newest. Heat and
quality may be unknown (NULL); unknown always sorts after every known score, on every
database (SQLite and PostgreSQL disagree about where NULLs go unless told).
"""

from django.db.models import F

TOP = "top"
LATEST = "latest"
ORDERINGS = {
    TOP: (
        F("heat").desc(nulls_last=True),
        F("quality").desc(nulls_last=True),
        F("published_at").desc(),
        F("id").desc(),
    ),
    # The source's own date, newest first; the id keeps equal dates in a stable order.
    LATEST: (F("published_at").desc(), F("id").desc()),
}
VIEWS = ((TOP, "Top"), (LATEST, "Latest"))


def order(queryset, view=TOP):
    """`queryset` in the order of `view` ("top" or "latest")."""
    return queryset.order_by(*ORDERINGS[view])


def top(queryset):
    return order(queryset, TOP)


def latest(queryset):
    return order(queryset, LATEST)
