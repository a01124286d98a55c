"""The image fetcher against a local HTTP server: what it accepts, what it refuses, and why."""

import socket
import time

import pytest

from articles.imagecache import fetcher, renditions
from articles.imagecache.fetcher import FetchFailed
from tests.image_support import ImageServer, Route, image_bytes, png_bomb

JPEG = image_bytes("JPEG")


@pytest.fixture
def server(settings):
    settings.NEWSROOM_IMAGE_ALLOW_PRIVATE_ADDRESSES = True  # the test server is on 127.0.0.1
    settings.NEWSROOM_IMAGE_CONNECT_TIMEOUT = 2
    settings.NEWSROOM_IMAGE_READ_TIMEOUT = 0.5
    settings.NEWSROOM_IMAGE_TOTAL_TIMEOUT = 3
    with ImageServer() as running:
        yield running


def fetched(server, path):
    return fetcher.fetch(server.url(path))


def failure(server, path) -> FetchFailed:
    with pytest.raises(FetchFailed) as caught:
        fetched(server, path)
    return caught.value


@pytest.mark.parametrize(
    ("kind", "content_type"),
    [("JPEG", "image/jpeg"), ("PNG", "image/png"), ("WEBP", "image/webp")],
)
def test_good_images_are_fetched_and_recognised(server, kind, content_type):
    data = image_bytes(kind, size=(640, 360))
    server.routes["/picture"] = Route(data, content_type=content_type)
    result = fetched(server, "/picture")
    assert result.data == data
    assert renditions.inspect(result.data).format == kind


def test_requests_say_who_we_are_and_what_we_accept(server, settings):
    settings.NEWSROOM_IMAGE_USER_AGENT = "NewsroomImageCache/1.0 (test)"
    server.routes["/a.jpg"] = Route(JPEG)
    fetched(server, "/a.jpg")
    (_, headers), *_ = server.requests
    assert headers["User-Agent"] == "NewsroomImageCache/1.0 (test)"
    assert headers["Accept"].startswith("image/")


def test_html_served_as_jpeg_is_fetched_but_refused_by_the_check(server):
    server.routes["/fake.jpg"] = Route(
        b"<!doctype html><title>Gotcha</title>", content_type="image/jpeg"
    )
    data = fetched(server, "/fake.jpg").data
    with pytest.raises(renditions.ImageRejected, match="not an image"):
        renditions.inspect(data)


@pytest.mark.parametrize(
    ("side", "message"),
    [
        (40_000, "far too many pixels to open safely"),  # past Pillow's own limit
        (10_000, "far too many pixels to open safely"),  # past Pillow's warning
        (8_000, "8,000×8,000 pixels, over the limit of 40,000,000"),  # past ours
    ],
)
def test_a_decompression_bomb_is_refused_from_its_header(server, side, message):
    bomb = png_bomb(side, side)
    assert len(bomb) < 1_000_000  # a small file...
    server.routes["/bomb.png"] = Route(bomb, content_type="image/png")
    data = fetched(server, "/bomb.png").data
    with pytest.raises(renditions.ImageRejected, match=message):
        renditions.inspect(data)  # ...refused before a pixel is decoded


def test_a_file_over_the_byte_cap_is_refused_from_content_length(server, settings):
    settings.NEWSROOM_IMAGE_MAX_BYTES = 10_000
    server.routes["/big.jpg"] = Route(b"x" * 20_000)
    assert "20,000 bytes, over the limit of 10,000" in failure(server, "/big.jpg").reason


def test_a_file_over_the_byte_cap_is_refused_while_streaming(server, settings):
    settings.NEWSROOM_IMAGE_MAX_BYTES = 10_000
    server.routes["/big.jpg"] = Route(b"x" * 50_000, chunked=True)  # no Content-Length
    error = failure(server, "/big.jpg")
    assert error.reason == "over the limit of 10,000 bytes"
    assert not error.retry


def test_a_few_redirects_are_followed(server):
    server.routes["/old"] = Route(status=301, headers={"Location": "/newer"})
    server.routes["/newer"] = Route(status=302, headers={"Location": server.url("/final.jpg")})
    server.routes["/final.jpg"] = Route(JPEG)
    result = fetched(server, "/old")
    assert result.data == JPEG
    assert result.url == server.url("/final.jpg")


def test_a_redirect_loop_ends_at_the_limit(server, settings):
    settings.NEWSROOM_IMAGE_MAX_REDIRECTS = 3
    server.routes["/ping"] = Route(status=302, headers={"Location": "/pong"})
    server.routes["/pong"] = Route(status=302, headers={"Location": "/ping"})
    assert failure(server, "/ping").reason.startswith("more than 3 redirects")
    assert len(server.requests) == 4  # the first request and three redirects, no more


def test_a_redirect_to_another_scheme_is_refused(server):
    server.routes["/sneaky"] = Route(status=302, headers={"Location": "file:///etc/passwd"})
    assert failure(server, "/sneaky").reason == "not an http(s) URL"


@pytest.fixture
def public_stand_in(monkeypatch):
    """127.0.0.2 plays an outlet on the internet; every other address is judged as in
    production (the redirect's target, 127.0.0.1, is loopback)."""
    judge = fetcher.is_public_address
    monkeypatch.setattr(fetcher, "is_public_address", lambda a: a == "127.0.0.2" or judge(a))


def test_a_redirect_to_a_loopback_address_is_refused_in_production(settings, public_stand_in):
    settings.NEWSROOM_IMAGE_ALLOW_PRIVATE_ADDRESSES = False
    with ImageServer("127.0.0.1") as inside, ImageServer("127.0.0.2") as outlet:
        inside.routes["/secret.jpg"] = Route(JPEG)
        outlet.routes["/a.jpg"] = Route(JPEG)
        outlet.routes["/redirect"] = Route(
            status=302, headers={"Location": inside.url("/secret.jpg")}
        )
        assert fetcher.fetch(outlet.url("/a.jpg")).data == JPEG  # the stand-in is reachable
        with pytest.raises(FetchFailed, match=r"non-public address \(127\.0\.0\.1\)"):
            fetcher.fetch(outlet.url("/redirect"))
        assert inside.requests == []  # never contacted


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/a.jpg",
        "http://localhost/a.jpg",
        "http://[::1]/a.jpg",
        "http://169.254.169.254/latest/meta-data/",
        "http://10.1.2.3/a.jpg",
        "http://192.168.0.1/a.jpg",
        "http://[::ffff:127.0.0.1]/a.jpg",
    ],
)
def test_private_loopback_and_link_local_addresses_are_refused(settings, url):
    settings.NEWSROOM_IMAGE_ALLOW_PRIVATE_ADDRESSES = False
    with pytest.raises(FetchFailed, match="non-public address"):
        fetcher.fetch(url)


def test_the_check_is_made_on_what_the_name_resolves_to(settings, monkeypatch):
    settings.NEWSROOM_IMAGE_ALLOW_PRIVATE_ADDRESSES = False
    connected = []
    monkeypatch.setattr(
        socket,
        "getaddrinfo",
        lambda host, port, **kw: [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.0.0.5", port))],
    )
    monkeypatch.setattr(socket, "create_connection", lambda *a, **kw: connected.append(a))
    with pytest.raises(FetchFailed, match=r"images\.outlet\.example resolves to a non-public"):
        fetcher.fetch("https://images.outlet.example/a.jpg")
    assert connected == []


def test_the_connection_goes_to_the_address_that_was_checked(server, monkeypatch):
    """No second DNS lookup between the check and the connection (DNS rebinding)."""
    lookups = []
    real = socket.getaddrinfo

    def resolve(host, port, *args, **kw):
        lookups.append(host)
        return real("127.0.0.1", port, *args, **kw)

    monkeypatch.setattr(socket, "getaddrinfo", resolve)
    server.routes["/a.jpg"] = Route(JPEG)
    assert fetcher.fetch(f"http://images.outlet.example:{server.port}/a.jpg").data == JPEG
    # One lookup of the name; connecting to the checked address resolves nothing more.
    assert [host for host in lookups if host != "127.0.0.1"] == ["images.outlet.example"]
    (_, headers), *_ = server.requests
    assert headers["Host"] == f"images.outlet.example:{server.port}"


def test_a_slow_server_times_out_and_may_be_retried(server):
    server.routes["/slow.jpg"] = Route(JPEG, delay=2)  # read timeout 0.5 s
    error = failure(server, "/slow.jpg")
    assert error.reason.startswith("timed out")
    assert error.retry


def test_a_server_that_drips_bytes_is_cut_off_by_the_deadline(server, settings):
    settings.NEWSROOM_IMAGE_TOTAL_TIMEOUT = 1
    server.routes["/drip.jpg"] = Route(JPEG[:4000], drip=(100, 0.1))  # 4 s in all
    error = failure(server, "/drip.jpg")
    assert "longer than 1 seconds in all" in error.reason
    assert error.retry


def test_a_server_that_drips_its_headers_is_cut_off_by_the_deadline(server, settings):
    settings.NEWSROOM_IMAGE_TOTAL_TIMEOUT = 1
    server.routes["/slow-headers.jpg"] = Route(
        JPEG, header_drip=0.2
    )  # each within the read timeout
    started = time.monotonic()
    error = failure(server, "/slow-headers.jpg")
    assert "longer than 1 seconds in all" in error.reason
    assert time.monotonic() - started < 2


def test_a_file_cut_short_is_not_taken_for_the_whole(server):
    server.routes["/short.jpg"] = Route(JPEG, short=1000)  # Content-Length says 1,000 more
    error = failure(server, "/short.jpg")
    assert (
        error.reason.startswith("the connection closed after") or "IncompleteRead" in error.reason
    )
    assert error.retry


def test_a_path_with_letters_beyond_ascii_is_sent_encoded(server):
    server.routes["/photo%C3%A9.jpg?size=%C3%A9"] = Route(JPEG)
    assert fetched(server, "/photoé.jpg?size=é").data == JPEG


@pytest.mark.parametrize(
    ("status", "retry"),
    [(404, False), (410, False), (403, False), (500, True), (503, True), (429, True)],
)
def test_http_errors_say_whether_to_try_again(server, status, retry):
    server.routes["/x.jpg"] = Route(b"nope", status=status, content_type="text/plain")
    error = failure(server, "/x.jpg")
    assert error.reason.startswith(f"HTTP {status}")
    assert error.retry is retry


def test_a_refused_connection_may_be_retried(settings):
    settings.NEWSROOM_IMAGE_ALLOW_PRIVATE_ADDRESSES = True
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    with pytest.raises(FetchFailed, match="connection failed") as caught:
        fetcher.fetch(f"http://127.0.0.1:{port}/a.jpg")
    assert caught.value.retry


@pytest.mark.parametrize(
    "url", ["ftp://example.com/a.jpg", "javascript:alert(1)", "https://user:pw@example.com/a.jpg"]
)
def test_only_plain_http_urls_are_fetched(url):
    with pytest.raises(FetchFailed):
        fetcher.fetch(url)


def test_local_sources_answer_from_a_folder_without_the_network(settings, tmp_path, monkeypatch):
    (tmp_path / "news").mkdir()
    (tmp_path / "news" / "a.jpg").write_bytes(JPEG)
    settings.NEWSROOM_IMAGE_SOURCES = {"https://images.example.org/": tmp_path}
    monkeypatch.setattr(socket, "getaddrinfo", lambda *a, **kw: pytest.fail("went to the network"))
    assert fetcher.fetch("https://images.example.org/news/a.jpg").data == JPEG
    with pytest.raises(FetchFailed, match="HTTP 404"):
        fetcher.fetch("https://images.example.org/news/missing.jpg")
    with pytest.raises(FetchFailed, match="outside the local image folder"):
        fetcher.fetch("https://images.example.org/..%2F..%2Fetc/passwd")


@pytest.fixture
def tls_server(server, tmp_path):
    """The test server behind TLS, with a certificate for "localhost" made on the spot."""
    import shutil
    import ssl
    import subprocess

    if not shutil.which("openssl"):
        pytest.skip("openssl is needed to make a test certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=localhost",
            "-addext",
            "subjectAltName=DNS:localhost",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.httpd.socket = context.wrap_socket(server.httpd.socket, server_side=True)
    server.cert = cert
    return server


def test_https_checks_the_certificate_against_the_host_name(tls_server, monkeypatch):
    import ssl

    tls_server.routes["/a.jpg"] = Route(JPEG)
    url = f"https://localhost:{tls_server.port}/a.jpg"
    with pytest.raises(FetchFailed, match="TLS error") as caught:
        fetcher.fetch(url)  # a certificate nobody vouches for
    assert not caught.value.retry
    trusting = ssl.create_default_context
    monkeypatch.setattr(
        ssl, "create_default_context", lambda: trusting(cafile=str(tls_server.cert))
    )
    assert fetcher.fetch(url).data == JPEG  # trusted, and issued for this name
    with pytest.raises(FetchFailed, match="TLS error"):  # the same server, another name
        fetcher.fetch(f"https://127.0.0.1:{tls_server.port}/a.jpg")
