"""Compressed public responses (Brotli or gzip), and nothing that could leak a secret.

`CompressionMiddleware` compresses a response only when all of these hold:

- it is public: `Cache-Control: public` (what `articles.site.caching.public_page`
  gives every reader page, feed, sitemap and API answer), sets no cookie, does not
  vary by cookie and used no CSRF token. Compressing a response that mixes a secret
  (a CSRF token, a session's data) with text an attacker can choose lets the
  compressed length give the secret away (BREACH); the admin's pages, the login form
  and anything per-user are therefore sent as they are;
- its type is text: HTML, JSON, XML (sitemaps), RSS/Atom feeds or plain text;
- it is a complete 200 of at least `MIN_LENGTH` bytes, not already encoded (the
  static files come from whitenoise, compressed ahead of time, Brotli included);
- the client accepts Brotli or gzip: the one it ranks higher by `q`, Brotli on a tie.

Every response of such a type gets `Vary: Accept-Encoding`, compressed or not, so a
shared cache keeps the versions apart; for a client that takes a coding the public
ETag is weak (RFC 9110 §8.8.1: a compressed body is not the same bytes), compressed
or too short to be, so that a 304 can give the same validator as the 200 without
knowing the page's length, and conditional requests still match. The public pages
are the same for
every reader, so the compressed bodies are kept in a small per-process LRU keyed by
the uncompressed body's ETag: a page served from the page cache is compressed once.

Also here, because it is about what goes on the wire: a 304 Not Modified leaves
without `Content-Length` (CommonMiddleware would add `Content-Length: 0`, which RFC
9110 §8.6 forbids unless it equals the 200's), and a public page's 304 (marked
`compressible` by `articles.site.caching`) with the `Vary` and ETag its 200 would
have carried (§15.4.5).
"""

import gzip
from collections import OrderedDict
from threading import Lock

import brotli
from django.utils.cache import patch_vary_headers

MIN_LENGTH = 200
COMPRESSIBLE_TYPES = {
    "text/html",
    "text/plain",
    "text/xml",
    "application/xml",
    "application/json",
    "application/yaml",
    "application/rss+xml",
    "application/atom+xml",
}
# Brotli's quality 5 compresses a page in about a millisecond, and smaller than gzip -9.
BROTLI_QUALITY = 5
GZIP_LEVEL = 6
MEMO_SIZE = 256


def _qualities(header):
    """{coding: q} of an Accept-Encoding header (a q that is not a number: left out)."""
    qualities = {}
    for part in header.lower().split(","):
        coding, _, params = part.partition(";")
        quality = params.strip().removeprefix("q=").strip() if params else "1"
        try:
            qualities[coding.strip()] = float(quality)
        except ValueError:
            continue
    return qualities


def chosen_coding(header):
    """ "br", "gzip" or None for an Accept-Encoding header: the one the client ranks
    higher (Brotli on a tie, it is smaller), never one given q=0; "*" stands for
    either when not named."""
    qualities = _qualities(header)
    ranked = [
        (qualities.get(coding, qualities.get("*", 0)), coding == "br", coding)
        for coding in ("br", "gzip")
    ]
    quality, _, coding = max(ranked)
    return coding if quality > 0 else None


def _is_public(request, response):
    cache_control = {
        part.strip().split("=")[0].lower() for part in response.get("Cache-Control", "").split(",")
    }
    vary = {part.strip().lower() for part in response.get("Vary", "").split(",")}
    return (
        "public" in cache_control
        and "private" not in cache_control
        and not response.cookies
        and "cookie" not in vary
        and not request.META.get("CSRF_COOKIE_NEEDS_UPDATE")
    )


class _Memo:
    """A small thread-safe LRU of compressed bodies."""

    def __init__(self, size):
        self.size = size
        self.items = OrderedDict()
        self.lock = Lock()

    def get(self, key):
        with self.lock:
            value = self.items.get(key)
            if value is not None:
                self.items.move_to_end(key)
            return value

    def put(self, key, value):
        with self.lock:
            self.items[key] = value
            self.items.move_to_end(key)
            while len(self.items) > self.size:
                self.items.popitem(last=False)


def compress(coding, content):
    if coding == "br":
        return brotli.compress(content, quality=BROTLI_QUALITY)
    return gzip.compress(content, compresslevel=GZIP_LEVEL, mtime=0)


class CompressionMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response
        self.memo = _Memo(MEMO_SIZE)

    def __call__(self, request):
        response = self.get_response(request)
        if response.status_code == 304:
            del response.headers["Content-Length"]
            if getattr(response, "compressible", False) and _is_public(request, response):
                # What the 200 would have carried (RFC 9110 15.4.5): its Vary and its
                # ETag, weak for a client that takes a coding (below).
                patch_vary_headers(response, ("Accept-Encoding",))
                if _coding_for(request):
                    _weaken_etag(response)
            return response
        content_type = response.get("Content-Type", "").split(";")[0].strip().lower()
        if (
            content_type not in COMPRESSIBLE_TYPES
            or response.streaming
            or response.has_header("Content-Encoding")
        ):
            return response
        patch_vary_headers(response, ("Accept-Encoding",))
        if response.status_code != 200 or not _is_public(request, response):
            return response
        coding = _coding_for(request)
        if coding is None:
            return response
        etag = response.get("ETag", "")
        # Weak whether or not this body is worth compressing: the validator a client
        # that takes a coding gets does not depend on the page's length, so a 304 can
        # give the same one without knowing it.
        _weaken_etag(response)
        if len(response.content) < MIN_LENGTH:
            return response
        key = (coding, etag, len(response.content)) if etag else None
        body = self.memo.get(key) if key else None
        if body is None:
            body = compress(coding, response.content)
            if key:
                self.memo.put(key, body)
        response.content = body
        response.headers["Content-Length"] = str(len(body))
        response.headers["Content-Encoding"] = coding
        return response


def _coding_for(request):
    return chosen_coding(request.headers.get("Accept-Encoding", ""))


def _weaken_etag(response):
    """A compressed body is not byte-for-byte the uncompressed one: its ETag is weak."""
    etag = response.get("ETag", "")
    if etag.startswith('"'):
        response.headers["ETag"] = "W/" + etag
