"""The one clock: everything that depends on the time asks `clock.now()`.

Call it through the module (`from articles import clock` ... `clock.now()`), never
`from articles.clock import now`, so that a test can freeze or speed up time for
all of it by replacing this one function (`tests/conftest.py`'s `frozen_clock`; the
worker tests replace it in each worker process).

Code outside the task queue still calls `django.utils.timezone.now()` directly and
moves here as it is next touched. Third-party code (the task results' own
timestamps in django-tasks-db) keeps the real time.
"""

import datetime as dt

from django.utils import timezone


def now() -> dt.datetime:
    """The current time, timezone-aware (UTC)."""
    return timezone.now()


def local(moment: dt.datetime) -> dt.datetime:
    """`moment` in the site's time zone (TIME_ZONE), as the public pages show dates
    and build article addresses. The reader site never activates another zone, so
    this skips `timezone.localtime()`'s context-local lookup of the active one: a
    story page shows about sixty dates, and that lookup was a tenth of its time."""
    return moment.astimezone(timezone.get_default_timezone())


def minute(moment: dt.datetime) -> dt.datetime:
    """The start of the minute `moment` falls in."""
    return moment.replace(second=0, microsecond=0)
