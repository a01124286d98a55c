"""System checks for deployment (`manage.py check --deploy`), registered in apps.py."""

from django.conf import settings
from django.core.cache import caches
from django.core.cache.backends.locmem import LocMemCache
from django.core.checks import Tags, Warning, register

from .site import caching

LOCAL_PAGE_CACHE = "articles.W001"


@register(Tags.caches, deploy=True)
def page_cache_is_shared(app_configs, **kwargs):
    """Warn when the public page cache lives in each process's memory.

    gunicorn runs several workers (gunicorn.conf.py: 2 x cores + 1), usually on
    several servers, and each would keep its own copy of every page and of the
    generation counter that invalidates them: an article taken down on one worker
    stays on the others' cached pages for up to NEWSROOM_PAGE_CACHE_SECONDS. A shared
    Redis (REDIS_URL/CACHE_URL) or no page cache at all (NEWSROOM_PAGE_CACHE=0) is
    fine, and so is DummyCache, which keeps nothing. Off with DEBUG (development).
    """
    if settings.DEBUG or not caching.cache_enabled():
        return []
    if not isinstance(caches["default"], LocMemCache):
        return []
    return [
        Warning(
            "The public page cache is kept in each process's memory (LocMemCache): with "
            "several gunicorn workers or app servers, a page changed or taken down in one "
            "stays cached in the others for up to NEWSROOM_PAGE_CACHE_SECONDS.",
            hint="Set REDIS_URL (or CACHE_URL) to a Redis that every process shares, or "
            "turn the page cache off with NEWSROOM_PAGE_CACHE=0 (docs/deploy.md).",
            id=LOCAL_PAGE_CACHE,
        )
    ]
