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

Settings (read from the environment once, by newsroom/settings.py, which refuses a
bad value at start-up): NEWSROOM_PAGE_CACHE=0 turns the page cache off;
NEWSROOM_PAGE_CACHE_SECONDS and NEWSROOM_PAGE_MAX_AGE set how long a page is kept
here and in browsers/proxies.

Only changes to what readers see invalidate: the articles and the rows shown with
them (images, coverage, topic links, related stories), topics and outlets. The
import's own bookkeeping (ImportRun) does not; the importer invalidates once for
the rows it writes in bulk.
"""

import hashlib
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


def cache_enabled() -> bool:
    enabled = settings.NEWSROOM_PAGE_CACHE
    if isinstance(enabled, str):  # as a test or a settings file may set it: "0" is off
        return enabled.strip().lower() not in {"0", "false", "no", "off"}
    return bool(enabled)


def page_cache_seconds() -> int:
    return settings.NEWSROOM_PAGE_CACHE_SECONDS


def browser_max_age() -> int:
    return settings.NEWSROOM_PAGE_MAX_AGE


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


def shown_models():
    """The models whose rows the public pages show: a change to one invalidates."""
    from .models import Article, ArticleImage, Provider, RelatedCoverage, TaggedTopic, Topic

    return (Article, ArticleImage, RelatedCoverage, Provider, Topic, TaggedTopic)


def connect_signals():
    """Invalidate on every change to what the public pages show (called from apps.py)."""
    from django.db.models.signals import m2m_changed, post_delete, post_save

    from .models import Article, TaggedTopic

    for model in shown_models():
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
