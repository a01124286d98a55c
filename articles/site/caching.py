"""The public page cache, and the conditional-GET headers every public response carries.

Public pages are the same for every visitor (they never show who is signed in), so a
rendered page can be kept and served to the next reader. Each stored page is tagged
with the cache "generation"; anything that could change what readers see bumps the
generation once it has committed (articles/receivers.py: every change to articles,
reported through articles.changes, and the other rows readers see), and a page from
an older generation is simply ignored.

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
import's own bookkeeping (ImportRun) does not.

What readers see also changes with no write at all: a scheduled item appears at its
"go live at" time, and goes at its "take down at" (models.visible_at), before the
sweep makes it the status. So a stored page is also valid only until the next such
moment (`valid_until`, asked of the articles once per generation and moment), and
neither this cache nor a browser keeps it past then.
"""

import hashlib
import math
import time
from functools import partial, wraps

from django.conf import settings
from django.core.cache import cache
from django.http import HttpResponse
from django.utils.cache import get_conditional_response, patch_cache_control
from django.utils.http import quote_etag
from django.views.decorators.csrf import csrf_exempt

from articles import clock

GENERATION_KEY = "public-pages:generation"
KEY_PREFIX = "public-page:"
# (generation, the next moment readers' articles change by the clock alone, or None).
BOUNDARY_KEY = "public-pages:boundary"


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


def invalidate_public_pages():
    """Forget every cached public page: call once a change readers see has committed.

    Once after commit is enough: a request stores its page under the generation it
    read *before* reading any rows (public_page below). A request that read the old
    rows, before the commit, holds an older generation than the bump gives, so its
    page is never served; one that read the generation before the bump but the rows
    after the commit stores fresh rows under the old generation, which is only ignored.
    """
    try:
        cache.incr(GENERATION_KEY)
    except ValueError:  # not set (yet, or evicted)
        cache.set(GENERATION_KEY, time.time_ns(), timeout=None)


def valid_until(generation, now):
    """The next moment after `now` when what readers see changes by the clock alone
    (a scheduled time), or None: what pages of `generation` stored at `now` are valid
    until. Three small indexed queries the first time it is asked per generation and
    moment (a write bumps the generation: every schedule change is one); then a cache
    read.
    """
    from articles import models  # this module is loaded before the models are

    found = cache.get(BOUNDARY_KEY)
    if found is not None and found[0] == generation and (found[1] is None or now < found[1]):
        return found[1]
    boundary = models.Article.objects.next_visibility_change(now)
    cache.set(BOUNDARY_KEY, (generation, boundary), timeout=None)
    return boundary


def _seconds_until(moment, now):
    return max(0, math.ceil((moment - now).total_seconds()))


def page_key(request) -> str:
    # Scheme and host are part of the key: canonical links and feeds are absolute.
    raw = f"{request.scheme}://{request.get_host()}{request.get_full_path()}"
    return KEY_PREFIX + hashlib.md5(raw.encode(), usedforsecurity=False).hexdigest()


READ_METHODS = ("GET", "HEAD")
ALLOW = "GET, HEAD, OPTIONS"


def not_allowed_message(request):
    return f"{request.method[:20]} is not allowed here: this address answers {ALLOW}."


def not_allowed_text(request):
    """405 for a method a public page does not take (see `public_page`)."""
    return HttpResponse(
        not_allowed_message(request) + "\n", status=405, content_type="text/plain; charset=utf-8"
    )


def read_only(view, *, not_allowed=not_allowed_text):
    """Decorate a view that only reads: GET and HEAD go to it, OPTIONS says so (200,
    `Allow`, no body), any other method is a 405 with `Allow` (`not_allowed(request)`
    makes it, e.g. JSON for the API). CSRF is not checked: there is nothing to post
    to, so a POST gets that 405 instead of the CSRF failure page."""

    @csrf_exempt
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if request.method in READ_METHODS:
            return view(request, *args, **kwargs)
        options = request.method == "OPTIONS"
        response = HttpResponse(status=200) if options else not_allowed(request)
        response["Allow"] = ALLOW
        return response

    return wrapper


def allow_cross_origin(response, *, preflight=False):
    """Public, read-only data without credentials: any site's scripts may read it, and
    revalidate it with its ETag (CORS). `preflight`: the answer to a browser's OPTIONS
    before such a request, which names what the request may carry."""
    response["Access-Control-Allow-Origin"] = "*"
    response["Access-Control-Expose-Headers"] = "ETag"
    if preflight:
        response["Access-Control-Allow-Methods"] = ALLOW
        response["Access-Control-Allow-Headers"] = "If-None-Match"
        response["Access-Control-Max-Age"] = "86400"
    return response


def public_page(view, *, not_allowed=not_allowed_text, timeless=False, cross_origin=False):
    """Decorate a public view: read-only methods (`read_only`), page cache, ETag,
    Cache-Control and 304 answers.

    Only complete 200 responses that set no cookie are stored; errors and redirects
    always go to the view. `timeless`: the page shows no articles (the OpenAPI file),
    so no scheduled time can change it and its horizon is not asked (nor the database).
    `cross_origin`: every answer (304s, errors and OPTIONS included) allows other
    sites' scripts (`allow_cross_origin`), as the JSON APIs do.
    """

    @csrf_exempt
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        response = answer(request, *args, **kwargs)
        if cross_origin:
            allow_cross_origin(response, preflight=request.method == "OPTIONS")
        return response

    @partial(read_only, not_allowed=not_allowed)
    def answer(request, *args, **kwargs):
        use_cache = cache_enabled()
        generation = until = None
        if use_cache:
            key = page_key(request)
            now = clock.now()
            # The generation is read before the view reads any rows: what makes one
            # bump after commit enough (invalidate_public_pages).
            found = cache.get_many([GENERATION_KEY, key])
            generation = found.get(GENERATION_KEY)
            stored = found.get(key)
            # (A page stored before scheduling existed, without its horizon, is not served.)
            if stored is not None and len(stored) == 4 and stored[0] == generation is not None:
                _, content, headers, until = stored
                if until is None or now < until:
                    return _conditional(request, HttpResponse(content, headers=headers))
            if generation is None:
                generation = current_generation()
            until = None if timeless else valid_until(generation, now)

        response = view(request, *args, **kwargs)
        if response.status_code != 200 or response.streaming:
            return response
        if hasattr(response, "render"):  # a TemplateResponse (the sitemap views)
            response.render()
        # The ETag is the only validator. A page shows many rows, and no date says when
        # one of them went away (a related story taken down leaves every date shown as
        # it was), so a Last-Modified (the feeds' and sitemaps' newest item) would let a
        # client revalidate a changed page into a 304.
        del response.headers["Last-Modified"]
        if not response.has_header("ETag"):
            set_content_etag(response)
        keep_for, max_age = page_cache_seconds(), browser_max_age()
        if until is not None:  # nobody keeps the page past the next scheduled moment
            keep_for = min(keep_for, _seconds_until(until, now))
            max_age = min(max_age, keep_for)
        if not response.has_header("Cache-Control"):
            patch_cache_control(response, public=True, max_age=max_age)
        if use_cache and not response.cookies and keep_for > 0:
            entry = (generation, response.content, dict(response.items()), until)
            cache.set(key, entry, keep_for)
        return _conditional(request, response)

    return wrapper


def set_content_etag(response):
    """A strong ETag from the body, as Django's set_response_etag() but with BLAKE2b
    cut to MD5's 128 bits: faster than MD5 on every CPU (45 against 71 us for a 60 KB
    page here), and every uncached page is hashed."""
    if response.content:
        digest = hashlib.blake2b(response.content, digest_size=16).hexdigest()
        response.headers["ETag"] = quote_etag(digest)


def _conditional(request, response):
    """A 304 Not Modified when the client already holds this version."""
    answer = get_conditional_response(request, etag=response.get("ETag"), response=response)
    if answer.status_code == 304:
        # newsroom.compression gives it the Vary and the ETag form of this page's 200
        # (a 304 of whitenoise's, say, whose 200 is never compressed there, keeps its own).
        answer.compressible = True
    return answer
