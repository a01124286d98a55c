"""HTTP on the public URLs: compression (never with a secret in the page), 304s without
Content-Length, 405 with Allow, OPTIONS, HEAD, and robots.txt's ETag."""

import gzip

import brotli
import pytest
from django.http import HttpResponse
from django.middleware.csrf import get_token
from django.test import Client, RequestFactory

from articles import sharing
from articles.models import Article
from newsroom.compression import CompressionMiddleware

from .factories import make_article, make_topic

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("page_cache_off")]

ALLOW = "GET, HEAD, OPTIONS"


@pytest.fixture
def site():
    topic = make_topic("Robots", slug="robots")
    article = make_article("Robots fold laundry", topics=[topic], source_path="n/2026-01-01-x.md")
    return article


def share_path(article):
    """A draft's private share link page (articles/site/share.py): read-only, not cached."""
    draft = make_article(f"Draft beside {article.title}", status=Article.Status.REVIEW)
    return f"/preview/{sharing.signed_token(sharing.create(draft))}/"


def public_urls(article):
    return [
        "/",  # HTML
        article.get_absolute_url(),
        "/api/news/",  # JSON
        "/api/news/index.json",
        "/sitemap.xml",  # XML
        "/sitemap-articles.xml",
        "/feed/",  # RSS and Atom
        "/topics/robots/feed/atom/",
    ]


def test_public_responses_are_compressed_for_gzip_and_brotli_clients(client, site):
    for url in public_urls(site):
        plain = client.get(url)
        assert plain.status_code == 200, url
        assert "Content-Encoding" not in plain, url  # the client did not ask
        assert "Accept-Encoding" in plain["Vary"], url

        zipped = client.get(url, headers={"Accept-Encoding": "gzip, deflate"})
        assert zipped["Content-Encoding"] == "gzip", url
        assert gzip.decompress(zipped.content) == plain.content, url
        assert int(zipped["Content-Length"]) == len(zipped.content) < len(plain.content)
        assert zipped["ETag"] == "W/" + plain["ETag"], url

        squeezed = client.get(url, headers={"Accept-Encoding": "gzip, deflate, br"})
        assert squeezed["Content-Encoding"] == "br", url
        assert brotli.decompress(squeezed.content) == plain.content, url


def test_a_refused_coding_is_not_used(client, site):
    response = client.get("/", headers={"Accept-Encoding": "br;q=0, gzip"})
    assert response["Content-Encoding"] == "gzip"
    assert "Content-Encoding" not in client.get("/", headers={"Accept-Encoding": "identity"})


def test_a_page_with_a_csrf_token_is_never_compressed(client, admin_user):
    login = client.get("/admin/login/", headers={"Accept-Encoding": "gzip, br"})
    assert login.status_code == 200 and b"csrfmiddlewaretoken" in login.content
    assert "Content-Encoding" not in login

    client.force_login(admin_user)
    admin = client.get("/admin/", headers={"Accept-Encoding": "gzip, br"})
    assert admin.status_code == 200 and "Content-Encoding" not in admin


def test_the_csrf_rule_holds_even_for_a_response_marked_public():
    """The BREACH rule itself: a token used in the response is enough to refuse."""

    def view(request, token):
        body = f"<form><input value='{get_token(request) if token else ''}'></form>" * 20
        response = HttpResponse(body, content_type="text/html")
        response["Cache-Control"] = "public, max-age=60"
        return response

    for token, expected in ((False, "gzip"), (True, None)):
        request = RequestFactory().get("/", headers={"Accept-Encoding": "gzip"})
        response = CompressionMiddleware(lambda r, token=token: view(r, token))(request)
        assert response.get("Content-Encoding") == expected


def test_a_response_that_sets_a_cookie_is_never_compressed():
    def view(request):
        response = HttpResponse("x" * 1000, content_type="text/html")
        response["Cache-Control"] = "public"
        response.set_cookie("session", "secret")
        return response

    request = RequestFactory().get("/", headers={"Accept-Encoding": "gzip"})
    assert "Content-Encoding" not in CompressionMiddleware(view)(request)


def test_a_304_carries_no_content_length_and_the_200s_validator_and_vary(client, site):
    for url in [*public_urls(site), "/robots.txt"]:
        for coding in ("", "gzip", "br"):
            headers = {"Accept-Encoding": coding} if coding else {}
            first = client.get(url, headers=headers)
            again = client.get(url, headers={**headers, "If-None-Match": first["ETag"]})
            assert again.status_code == 304, (url, coding)
            assert "Content-Length" not in again and again.content == b"", (url, coding)
            # RFC 9110 15.4.5: the ETag and Vary the 200 would have sent.
            assert again["ETag"] == first["ETag"], (url, coding)
            assert "Accept-Encoding" in again["Vary"], (url, coding)


def test_a_304_that_is_not_a_public_pages_keeps_its_own_etag():
    """A static file's 304 (whitenoise's: its 200 is never compressed here) is left as
    it came; only public_page's 304s are given their page's Vary and ETag form."""

    def static_304(request):
        response = HttpResponse(status=304)
        response["ETag"] = '"6b1219f1-41f9"'
        response["Cache-Control"] = "max-age=60, public"
        return response

    request = RequestFactory().get("/static/x.css", headers={"Accept-Encoding": "gzip, br"})
    response = CompressionMiddleware(static_304)(request)
    assert response["ETag"] == '"6b1219f1-41f9"' and "Vary" not in response


@pytest.mark.parametrize(
    ("accepted", "coding"),
    [
        ("br;q=0.1, gzip;q=0.9", "gzip"),  # the client's preference, not ours
        ("gzip;q=0.5, br;q=0.5", "br"),  # a tie: the smaller
        ("gzip, deflate, br", "br"),
        ("*", "br"),
        ("br;q=0, *", "gzip"),
        ("gzip;q=0, br;q=0", None),
        ("deflate", None),
    ],
)
def test_the_coding_is_the_one_the_client_ranks_higher(client, site, accepted, coding):
    response = client.get("/", headers={"Accept-Encoding": accepted})
    assert response.get("Content-Encoding") == coding


def test_the_apis_answer_a_browsers_preflight_and_their_304s_allow_other_sites(client, site):
    for url in ("/api/news/index.json", "/api/news/", "/api/openapi.yaml"):
        preflight = client.options(
            url,
            headers={
                "Origin": "https://reader.example",
                "Access-Control-Request-Method": "GET",
                "Access-Control-Request-Headers": "if-none-match",
            },
        )
        assert preflight.status_code == 200, url
        assert preflight["Access-Control-Allow-Origin"] == "*", url
        assert preflight["Access-Control-Allow-Methods"] == ALLOW, url
        assert preflight["Access-Control-Allow-Headers"] == "If-None-Match", url
        first = client.get(url, headers={"Origin": "https://reader.example"})
        assert first["Access-Control-Expose-Headers"] == "ETag", url
        again = client.get(url, headers={"If-None-Match": first["ETag"]})
        assert again.status_code == 304, url
        assert again["Access-Control-Allow-Origin"] == "*", url
    assert client.get("/api/news/nowhere/").headers["Access-Control-Allow-Origin"] == "*"
    assert "Access-Control-Allow-Origin" not in client.get("/")


def test_other_methods_get_405_with_allow_not_the_csrf_page(site):
    browser = Client(enforce_csrf_checks=True)
    read_only = [*public_urls(site), "/robots.txt", "/search/?q=robots", "/topics/", "/healthz"]
    for url in [*read_only, share_path(site)]:
        for method in ("post", "put", "delete", "patch"):
            response = getattr(browser, method)(url)
            assert response.status_code == 405, (url, method)
            assert response["Allow"] == ALLOW, (url, method)
    api = browser.post("/api/news/index.json")
    assert api["Content-Type"] == "application/json"
    assert "POST is not allowed" in api.json()["error"]
    assert browser.delete("/api/news/").json()["error"].startswith("DELETE is not allowed")


def test_options_says_what_is_allowed_without_the_body(client, site):
    for url in (
        "/feed/",
        "/",
        "/api/news/index.json",
        "/sitemap.xml",
        "/healthz",
        share_path(site),
    ):
        response = client.options(url)
        assert response.status_code == 200, url
        assert response["Allow"] == ALLOW and response.content == b"", url


def test_head_works_wherever_get_does(client, site):
    for url in [*public_urls(site), "/robots.txt", "/topics/", "/search/?q=robots"]:
        assert client.head(url).status_code == 200, url


def test_robots_txt_has_an_etag_and_names_both_sitemaps(client):
    response = client.get("/robots.txt")
    assert response["ETag"].startswith('"')
    assert response["Cache-Control"] == "public, max-age=86400"
    lines = response.content.decode().splitlines()
    assert "Sitemap: http://testserver/sitemap.xml" in lines
    assert "Sitemap: http://testserver/sitemap-news.xml" in lines
