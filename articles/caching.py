"""The public page cache, and the conditional-GET headers every public response carries.

Public pages are the same for every visitor (they never show who is signed in), so a
rendered page can be kept and served to the next reader. Each stored page is tagged
with the cache "generation"; anything that could change what readers see bumps the
generation (signals on the models, plus `invalidate_public_pages()` called by the
QuerySet bulk methods), and a page from an older generation is simply ignored.

The generation lives in the Django cache. With a shared cache (CACHE_URL/REDIS_URL)
a change is seen by every worker at once; with the default per-process memory cache,
other processes notice only when their copy expires (PAGE_CACHE_SECONDS), so run
production with Redis.

Switches (environment, or the Django setting of the same name, which wins):
NEWSROOM_PAGE_CACHE=0 turns the page cache off; NEWSROOM_PAGE_CACHE_SECONDS and
NEWSROOM_PAGE_MAX_AGE set how long a page is kept here and in browsers/proxies.
"""

import hashlib
import os
import time
from functools import wraps

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.http import HttpResponse
from django.utils.cache import get_conditional_response, patch_cache_control, set_response_etag
from django.utils.http import parse_http_date_safe

GENERATION_KEY = "public-pages:generation"
KEY_PREFIX = "public-page:"


def _setting(name, default):
    value = getattr(settings, name, None)
    if value is None:
        value = os.environ.get(name) or default
    return value


def cache_enabled() -> bool:
    return str(_setting("NEWSROOM_PAGE_CACHE", "1")).lower() not in {"0", "false", "no", "off"}


def page_cache_seconds() -> int:
    return int(_setting("NEWSROOM_PAGE_CACHE_SECONDS", 300))


def browser_max_age() -> int:
    return int(_setting("NEWSROOM_PAGE_MAX_AGE", 60))


def current_generation():
    generation = cache.get(GENERATION_KEY)
    if generation is None:
        # A fresh (or evicted) counter starts from the clock, never from a number
        # an older generation could already have used.
        cache.add(GENERATION_KEY, time.time_ns(), timeout=None)
        generation = cache.get(GENERATION_KEY)
    return generation


def _bump_generation():
    try:
        cache.incr(GENERATION_KEY)
    except ValueError:  # not set (yet, or evicted)
        cache.set(GENERATION_KEY, time.time_ns(), timeout=None)


def invalidate_public_pages():
    """Forget every cached public page: call after changing what readers may see.

    Bumps now, and again when the surrounding transaction commits, so a request that
    read the old rows in between cannot leave a stale page behind.
    """
    _bump_generation()
    transaction.on_commit(_bump_generation)


def page_key(request) -> str:
    # Scheme and host are part of the key: canonical links and feeds are absolute.
    raw = f"{request.scheme}://{request.get_host()}{request.get_full_path()}"
    return KEY_PREFIX + hashlib.md5(raw.encode(), usedforsecurity=False).hexdigest()


def public_page(view):
    """Decorate a public GET view: page cache, ETag, Cache-Control and 304 answers.

    Only complete 200 responses that set no cookie are stored; errors and redirects
    always go to the view.
    """

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        use_cache = cache_enabled() and request.method in ("GET", "HEAD")
        generation = None
        if use_cache:
            key = page_key(request)
            found = cache.get_many([GENERATION_KEY, key])
            generation = found.get(GENERATION_KEY)
            stored = found.get(key)
            if stored is not None and generation is not None and stored[0] == generation:
                _, content, headers = stored
                return _conditional(request, HttpResponse(content, headers=headers))
            if generation is None:
                generation = current_generation()

        response = view(request, *args, **kwargs)
        if response.status_code != 200 or response.streaming:
            return response
        if hasattr(response, "render"):  # a TemplateResponse (the sitemap views)
            response.render()
        if not response.has_header("ETag"):
            set_response_etag(response)
        if not response.has_header("Cache-Control"):
            patch_cache_control(response, public=True, max_age=browser_max_age())
        if use_cache and not response.cookies:
            entry = (generation, response.content, dict(response.items()))
            cache.set(key, entry, page_cache_seconds())
        return _conditional(request, response)

    return wrapper


def _conditional(request, response):
    """A 304 Not Modified when the client already holds this version."""
    return get_conditional_response(
        request,
        etag=response.get("ETag"),
        last_modified=parse_http_date_safe(response.get("Last-Modified", "")),
        response=response,
    )


def connect_signals():
    """Invalidate on every change to what the public pages show (called from apps.py)."""
    from django.db.models.signals import m2m_changed, post_delete, post_save

    from .models import (
        Article,
        ArticleImage,
        ImportRun,
        Provider,
        RelatedCoverage,
        TaggedTopic,
        Topic,
    )

    for model in (Article, ArticleImage, RelatedCoverage, Provider, Topic, TaggedTopic, ImportRun):
        post_save.connect(_on_change, sender=model, dispatch_uid=f"pages-save-{model.__name__}")
        post_delete.connect(_on_change, sender=model, dispatch_uid=f"pages-del-{model.__name__}")
    # taggit's add()/remove()/clear() write TaggedTopic rows in bulk and send m2m_changed.
    for through in (TaggedTopic, Article.related_stories.through):
        m2m_changed.connect(_on_m2m, sender=through, dispatch_uid=f"pages-m2m-{through.__name__}")


def _on_change(sender, **kwargs):
    invalidate_public_pages()


def _on_m2m(sender, action, **kwargs):
    if action.startswith("post_"):
        invalidate_public_pages()
