"""Which URLs name the same article: a canonical form and an equivalence key.

Outlets and the upstream pipeline spell one article's address many ways: with
tracking parameters (`?utm_source=...`), `&#038;` or `&amp;` for `&` (WordPress
writes entities into attributes), http or https, with or without `www.`, with a
trailing slash or `index.html`, and through Google's AMP cache
(`https://<host-with-dashes>.cdn.ampproject.org/c/s/<host>/<path>`). The stored URLs
stay exactly as imported (the export must give the files back); this module only
says which of them are the same.

- `canonical_url(url)`: the URL as one should link it: scheme and host lower-case,
  default port dropped, entities decoded, fragment dropped, tracking parameters
  removed, the remaining parameters sorted.
- `url_key(url)`: the equivalence key built on that: also http = https, `www.` =
  bare host, a trailing `/` or `index.html` ignored, an AMP-cache URL read as its
  origin. Two URLs with the same key are taken to be one article. It is not a URL
  (it has no scheme), only a key to compare and index.

Pure Python and total: any string gives a key (a string that is no http(s) URL
gives "", which matches nothing).
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

from .links import HOST_NAME

# Parameters that say who sent the reader, never which page: dropped. Kept short on
# purpose: a parameter that does select content (`?p=123`, `?id=`) must survive.
TRACKING_PARAMETERS = frozenset(
    {
        "fbclid",  # Facebook
        "gclid",  # Google Ads
        "dclid",  # Google display ads
        "gbraid",
        "wbraid",
        "msclkid",  # Microsoft Ads
        "yclid",  # Yandex
        "twclid",  # X / Twitter
        "igshid",  # Instagram
        "mkt_tok",  # Marketo
        "_hsenc",  # HubSpot
        "_hsmi",
        "ocid",  # Microsoft Start / MSN
        "cmpid",
        "ncid",  # Yahoo and AOL syndication
        "sr_share",
        "ref_src",
        "ref_url",
        "smid",  # New York Times share links
    }
)
# ... and every parameter starting with one of these.
TRACKING_PREFIXES = ("utm_", "mc_", "pk_", "hsa_", "vero_", "oly_")

DEFAULT_PORTS = {"http": "80", "https": "443"}
AMP_CACHE_SUFFIX = ".cdn.ampproject.org"
# /c/s/<host>/<path> is an https origin, /c/<host>/<path> an http one; /v/ (the
# viewer) and /wp/ (web packages) carry the origin the same way.
AMP_CACHE_PATH = re.compile(r"^/(?:c|v|wp)/(s/)?([^/?#]+)(/[^?#]*)?$")
_ENTITY_AMPERSAND = re.compile(r"&(?:#0*38|amp);", re.IGNORECASE)
_PERCENT = re.compile(r"%([0-9A-Fa-f]{2})")
_UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
# What may stay as it is in a path or query (RFC 3986 pchar plus "/" and "?"), and "%"
# because escapes are normalised separately.
_SAFE = "/:@!$&'()*+,;=-._~%"


def canonical_url(url: str) -> str:
    """`url` as one should link it (see the module docstring); "" if not http(s)."""
    parts = _split(url)
    if parts is None:
        return ""
    scheme, host, port, path, query = parts
    netloc = host if port in ("", DEFAULT_PORTS[scheme]) else f"{host}:{port}"
    return urlunsplit((scheme, netloc, path or "/", query, ""))


def url_key(url: str) -> str:
    """The key two URLs share when they name the same article; "" if not http(s)."""
    parts = _split(url)
    if parts is None:
        return ""
    scheme, host, port, path, query = parts
    origin = _amp_cache_origin(host, path)
    if origin is not None:
        scheme, host, port, path = origin
    if host.startswith("www."):
        host = host[4:]
    if path.endswith("/index.html"):
        path = path[: -len("index.html")]
    path = path.rstrip("/")
    netloc = host if port in ("", DEFAULT_PORTS[scheme]) else f"{host}:{port}"
    return f"{netloc}{path}" + (f"?{query}" if query else "")


def url_keys(*urls: str) -> set[str]:
    """The keys of every non-empty URL given (an article's web, original and AMP URLs)."""
    return {key for key in map(url_key, urls) if key}


def _split(url: str):
    """(scheme, host, port, path, query) normalised, or None for anything not http(s)."""
    if not isinstance(url, str):
        return None
    url = _ENTITY_AMPERSAND.sub("&", url.strip())
    try:
        parts = urlsplit(url)
        port = parts.port  # raises on a port that is no number or out of range
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").rstrip(".")
    if scheme not in DEFAULT_PORTS or not host:
        return None
    if host.isascii():
        host = host.lower()
    else:
        try:
            host = host.encode("idna").decode("ascii").lower()
        except UnicodeError:
            return None
    if not HOST_NAME.fullmatch(host):
        return None
    port = "" if port is None else str(port)
    return scheme, host, port, _escape(parts.path), _query(parts.query)


def _query(query: str) -> str:
    kept = [
        (name, value)
        for name, value in parse_qsl(query, keep_blank_values=True)
        if not _is_tracking(name)
    ]
    return urlencode(sorted(kept), quote_via=quote, safe=_SAFE.replace("&", "").replace("=", ""))


def _is_tracking(name: str) -> bool:
    name = name.lower()
    return name in TRACKING_PARAMETERS or name.startswith(TRACKING_PREFIXES)


def _escape(path: str) -> str:
    """One spelling per path: escapes of unreserved characters decoded, other escapes
    upper-case, spaces and non-ASCII characters escaped (as UTF-8)."""

    def unescape(match):
        char = chr(int(match.group(1), 16))
        return char if char in _UNRESERVED else f"%{match.group(1).upper()}"

    return quote(_PERCENT.sub(unescape, path), safe=_SAFE)


def _amp_cache_origin(host: str, path: str):
    """(scheme, host, port, path) of the page an AMP-cache URL serves, or None."""
    if not host.endswith(AMP_CACHE_SUFFIX):
        return None
    match = AMP_CACHE_PATH.match(path)
    if match is None:
        return None
    secure, origin_host, origin_path = match.groups()
    origin = _split(f"{'https' if secure else 'http'}://{origin_host}{origin_path or '/'}")
    if origin is None:
        return None
    scheme, host, port, path, _ = origin
    return scheme, host, port, path
