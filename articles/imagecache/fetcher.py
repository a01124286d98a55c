"""Fetching an image from another site, politely and safely.

`fetch(url)` returns the bytes of one image, or raises `FetchFailed` with a one-line
reason and whether trying again later could help. What it guarantees:

- http(s) only, no user name or password in the URL;
- every host name is resolved here, each of its addresses checked, and the connection
  made to the address that was checked (a second lookup could answer differently):
  private, loopback, link-local, multicast and reserved addresses are refused unless
  NEWSROOM_IMAGE_ALLOW_PRIVATE_ADDRESSES is on (tests only);
- at most NEWSROOM_IMAGE_MAX_REDIRECTS redirects, each target checked like the first
  URL (scheme, address), and a loop ends at that limit;
- connect and read timeouts, and a deadline for the whole fetch however slowly the
  server drips its bytes;
- at most NEWSROOM_IMAGE_MAX_BYTES, refused from Content-Length when it says more, and
  counted while reading in chunks when it does not (or lies);
- a descriptive User-Agent and an Accept header for images.

What the bytes are is not this module's business: `renditions.inspect()` checks them
with Pillow whatever the Content-Type said.

URL prefixes in NEWSROOM_IMAGE_SOURCES are answered from a local folder instead (the
demo content's made-up image host, `make run`): same limits, no network.
"""

import contextlib
import http.client
import ipaddress
import socket
import ssl
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, unquote, urljoin, urlsplit

from django.conf import settings

from ..links import is_http_url

CHUNK = 64 * 1024
# What stays as it is in a request's path and query (RFC 3986's reserved and unreserved
# characters, and "%" for what is already encoded).
URL_SAFE = "/%:@!$&'()*+,;=-._~?"
ACCEPT = "image/webp,image/png,image/jpeg,image/gif;q=0.9,*/*;q=0.1"


class FetchFailed(Exception):
    """The image could not be fetched: `reason` says why in one line; `retry` whether
    the same request could succeed later (a timeout or a 503, not a 404)."""

    def __init__(self, reason: str, *, retry: bool = False):
        super().__init__(reason)
        self.reason = reason
        self.retry = retry


@dataclass(frozen=True)
class Fetched:
    data: bytes
    content_type: str  # as the server said; not trusted
    url: str  # after redirects


@dataclass(frozen=True)
class Limits:
    max_bytes: int
    connect_timeout: float
    read_timeout: float
    total_timeout: float
    max_redirects: int
    allow_private: bool
    user_agent: str

    @classmethod
    def from_settings(cls):
        return cls(
            max_bytes=settings.NEWSROOM_IMAGE_MAX_BYTES,
            connect_timeout=settings.NEWSROOM_IMAGE_CONNECT_TIMEOUT,
            read_timeout=settings.NEWSROOM_IMAGE_READ_TIMEOUT,
            total_timeout=settings.NEWSROOM_IMAGE_TOTAL_TIMEOUT,
            max_redirects=settings.NEWSROOM_IMAGE_MAX_REDIRECTS,
            allow_private=settings.NEWSROOM_IMAGE_ALLOW_PRIVATE_ADDRESSES,
            user_agent=settings.NEWSROOM_IMAGE_USER_AGENT,
        )


def fetch(url: str, limits: Limits | None = None) -> Fetched:
    """The bytes at `url` (following a few checked redirects); raises FetchFailed."""
    limits = limits or Limits.from_settings()
    local = _local_file(url)
    if local is not None:
        return _read_local(url, local, limits)
    deadline = time.monotonic() + limits.total_timeout
    for _ in range(limits.max_redirects + 1):
        response = _get(url, limits, deadline)
        if response.location is None:
            return Fetched(response.data, response.content_type, url)
        url = response.location
    raise FetchFailed(f"more than {limits.max_redirects} redirects (the last to {url})")


@dataclass
class _Response:
    data: bytes = b""
    content_type: str = ""
    location: str | None = None


def _get(url, limits, deadline) -> _Response:
    parts = _checked_url(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    address = _public_address(parts.hostname, port, limits.allow_private)
    # Letters beyond ASCII, as some files have them, percent-encoded for the request line.
    path = quote(parts.path or "/", safe=URL_SAFE)
    if parts.query:
        path += "?" + quote(parts.query, safe=URL_SAFE)
    connection = _connection(parts.scheme, parts.hostname, port, address, limits)
    # The deadline holds for every step, a server that drips its headers too: at the
    # deadline the socket is shut, which ends any read waiting on it.
    watchdog = threading.Timer(max(0.0, deadline - time.monotonic()), _shut, [connection])
    watchdog.daemon = True
    watchdog.start()
    try:
        connection.request(
            "GET",
            path,
            headers={
                "User-Agent": limits.user_agent,
                "Accept": ACCEPT,
                "Accept-Encoding": "identity",
            },
        )
        response = connection.getresponse()
        if response.status in (301, 302, 303, 307, 308):
            location = response.getheader("Location")
            if not location:
                raise FetchFailed(f"HTTP {response.status} without a Location")
            return _Response(location=urljoin(url, location.strip()))
        if response.status != 200:
            raise FetchFailed(
                f"HTTP {response.status} {response.reason}".strip(),
                retry=response.status in (408, 425, 429) or response.status >= 500,
            )
        data = _read_capped(response, limits, deadline)
        return _Response(data=data, content_type=response.getheader("Content-Type", ""))
    except (OSError, http.client.HTTPException, ValueError) as error:
        # ValueError: what http.client raises for a request it cannot send.
        if time.monotonic() >= deadline:
            raise _too_slow(limits) from error
        raise _failure(error) from error
    finally:
        watchdog.cancel()
        connection.close()


def _too_slow(limits):
    return FetchFailed(f"took longer than {limits.total_timeout:g} seconds in all", retry=True)


def _failure(error) -> FetchFailed:
    """The FetchFailed that says what went wrong with the connection."""
    if isinstance(error, TimeoutError):
        return FetchFailed(f"timed out ({error or 'no answer'})", retry=True)
    if isinstance(error, ssl.SSLError):
        return FetchFailed(f"TLS error: {error.reason or error}")
    reason = f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
    if isinstance(error, ValueError):
        return FetchFailed(f"a request that cannot be sent ({reason})")
    return FetchFailed(f"connection failed ({reason})", retry=True)


def _shut(connection):
    sock = connection.sock
    if sock is not None:
        with contextlib.suppress(OSError):  # closed meanwhile
            sock.shutdown(socket.SHUT_RDWR)


def _checked_url(url):
    if not is_http_url(url):
        raise FetchFailed("not an http(s) URL")
    parts = urlsplit(url)
    if parts.username is not None or parts.password is not None:
        raise FetchFailed("a URL with a user name or password")
    try:
        parts.port  # noqa: B018 - raises for a port that is not a number in range
    except ValueError as error:
        raise FetchFailed(f"a bad port in the URL ({error})") from error
    if not parts.hostname:
        raise FetchFailed("a URL without a host")
    return parts


def _public_address(host, port, allow_private) -> str:
    """An address `host` resolves to, refusing the name if any of them is not public."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as error:
        raise FetchFailed(f"cannot resolve {host} ({error})", retry=True) from error
    addresses = [info[4][0] for info in infos]
    if not addresses:
        raise FetchFailed(f"{host} has no address", retry=True)
    if not allow_private:
        for address in addresses:
            if not is_public_address(address):
                raise FetchFailed(f"{host} resolves to a non-public address ({address})")
    return addresses[0]


def is_public_address(address: str) -> bool:
    """Whether `address` is on the public internet: not private, loopback, link-local,
    multicast, reserved or unspecified (an IPv4 address inside IPv6 is judged as IPv4)."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def _connection(scheme, host, port, address, limits):
    if scheme == "https":
        return _PinnedHTTPSConnection(host, port, address, limits)
    return _PinnedHTTPConnection(host, port, address, limits)


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """An HTTP connection to an address checked in advance (never resolved again), with
    the host name in the Host header; connect and read timeouts apart."""

    def __init__(self, host, port, address, limits):
        super().__init__(host, port, timeout=limits.connect_timeout)
        self._address = address
        self._read_timeout = limits.read_timeout

    def _open_socket(self):
        sock = socket.create_connection((self._address, self.port), self.timeout)
        sock.settimeout(self._read_timeout)
        return sock

    def connect(self):
        self.sock = self._open_socket()


class _PinnedHTTPSConnection(_PinnedHTTPConnection):
    default_port = 443

    def __init__(self, host, port, address, limits):
        super().__init__(host, port, address, limits)
        self._context = ssl.create_default_context()

    def connect(self):
        # The certificate is checked against the host name, as for any HTTPS request.
        self.sock = self._context.wrap_socket(self._open_socket(), server_hostname=self.host)


def _read_capped(response, limits, deadline) -> bytes:
    declared = response.getheader("Content-Length")
    if declared and declared.strip().isdigit() and int(declared) > limits.max_bytes:
        raise FetchFailed(f"{int(declared):,} bytes, over the limit of {limits.max_bytes:,}")
    chunks, size = [], 0
    while True:
        if time.monotonic() > deadline:
            raise _too_slow(limits)
        chunk = response.read1(CHUNK)
        if not chunk:
            break
        size += len(chunk)
        if size > limits.max_bytes:
            raise FetchFailed(f"over the limit of {limits.max_bytes:,} bytes")
        chunks.append(chunk)
    if time.monotonic() >= deadline:  # the watchdog shut the socket: not the whole file
        raise _too_slow(limits)
    if declared and declared.strip().isdigit() and size < int(declared):
        raise FetchFailed(
            f"the connection closed after {size:,} of {int(declared):,} bytes", retry=True
        )
    return b"".join(chunks)


# -- Local sources (NEWSROOM_IMAGE_SOURCES) ------------------------------------------------


def _local_file(url) -> Path | None:
    """The file a URL maps to under NEWSROOM_IMAGE_SOURCES, or None when no prefix matches."""
    for prefix, folder in settings.NEWSROOM_IMAGE_SOURCES.items():
        if url.startswith(prefix):
            relative = unquote(urlsplit(url[len(prefix) :]).path).lstrip("/")
            path = (Path(folder) / relative).resolve()
            if not path.is_relative_to(Path(folder).resolve()):
                raise FetchFailed("outside the local image folder")
            return path
    return None


def _read_local(url, path, limits) -> Fetched:
    try:
        with path.open("rb") as file:
            data = file.read(limits.max_bytes + 1)
    except FileNotFoundError as error:
        raise FetchFailed("HTTP 404 (no such file in the local image folder)") from error
    except OSError as error:
        raise FetchFailed(f"cannot read the local file ({error.strerror})") from error
    if len(data) > limits.max_bytes:
        raise FetchFailed(f"over the limit of {limits.max_bytes:,} bytes")
    return Fetched(data, "", url)
