"""URL rules shared by the file format, the models and the templates.

Pure Python (no Django imports) so the file parser can use it in worker processes.
Only http(s) URLs ever become links; anything else (javascript:, data:, mailto:,
relative paths that cannot be resolved) is refused.
"""

import html
import re
from functools import lru_cache
from urllib.parse import quote, urljoin, urlsplit

ALLOWED_SCHEMES = ("http", "https")
# An http(s) URL that needs no decoding or escaping: the common case, checked in one go.
# (No brackets in the host and a port below 10000, so urlsplit() can only accept it.)
_PLAIN_HTTP_URL = re.compile(
    r"https?://[A-Za-z0-9.-]+(?::[0-9]{1,4})?(?:[/?#][A-Za-z0-9:/?#\[\]@!$'()*+,;=%~._-]*)?"
)


def is_http_url(value) -> bool:
    """True for an absolute http(s) URL with a host and no credentials; False for
    anything else, never raises."""
    if not isinstance(value, str) or not value:
        return False
    return _is_http_url(value)


@lru_cache(maxsize=8192)  # pages ask again for the same logos and images on every view
def _is_http_url(value: str) -> bool:
    if any(ch in value for ch in "\x00\r\n\t") or " " in value:
        return False
    try:
        parts = urlsplit(value)
        host = parts.hostname  # parses the host part: a bracket or port that is off raises
        parts.port  # noqa: B018 - only checked
    except ValueError:  # "https://[::1", a port of "x" or 99999
        return False
    # A user name or password before the host ("https://bank.example@evil.example/")
    # makes a link read as a site it does not go to: never a link here.
    credentials = parts.username is not None or parts.password is not None
    return parts.scheme.lower() in ALLOWED_SCHEMES and bool(host) and not credentials


def clean_url(value: str, base_url: str = "") -> str | None:
    """Normalise a URL as found in a file, or return None when it cannot be a safe link.

    - HTML entities that leaked into URLs (`&#038;`) are decoded;
    - spaces and other characters browsers would escape are percent-encoded;
    - a relative path is resolved against `base_url` (the site the files came from).
    """
    if not isinstance(value, str):
        return None
    if _PLAIN_HTTP_URL.fullmatch(value):
        return value
    value = html.unescape(value.strip())
    if not value:
        return None
    if "://" not in value and value.startswith("/") and not value.startswith("//") and base_url:
        try:
            value = urljoin(base_url, value.lstrip("/"))
        except ValueError:
            return None
    # Percent-encode whitespace and non-ASCII without touching existing escapes.
    value = quote(value, safe=":/?#[]@!$&'()*+,;=%~-._")
    return value if is_http_url(value) else None


# A host name as the provider pages' URLs take it: dot-separated labels of lower-case
# ASCII letters, digits and inner hyphens, each at most 63 characters, 253 in all (an
# international name in its xn-- form). The importer and the admin's form both use it.
HOST_NAME = re.compile(
    r"(?=.{1,253}\Z)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*"
)
