"""articles.urlkeys: one canonical form and one equivalence key for every URL."""

from pathlib import Path

import pytest
import yaml

from articles.urlkeys import canonical_url, url_key, url_keys

CORPUS_NEWS = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "news"


@pytest.mark.parametrize(
    ("url", "canonical"),
    [
        # scheme and host lower-case, the path's case kept
        ("HTTPS://WWW.Example.COM/Some/Path", "https://www.example.com/Some/Path"),
        # default ports dropped, others kept
        ("https://example.com:443/a", "https://example.com/a"),
        ("http://example.com:80/a", "http://example.com/a"),
        ("https://example.com:8443/a", "https://example.com:8443/a"),
        # entities for "&" decoded (WordPress writes &#038; into image URLs)
        (
            "https://i1.wp.com/www.laweekly.com/still2.jpg?fit=1500%2C844&#038;ssl=1",
            "https://i1.wp.com/www.laweekly.com/still2.jpg?fit=1500,844&ssl=1",
        ),
        ("https://example.com/?a=1&amp;b=2", "https://example.com/?a=1&b=2"),
        # fragment dropped
        ("https://example.com/a#comments", "https://example.com/a"),
        # tracking parameters removed, the rest sorted
        (
            "https://example.com/a?utm_source=tw&utm_medium=social&id=7&fbclid=x&gclid=y",
            "https://example.com/a?id=7",
        ),
        ("https://example.com/a?mc_cid=1&mc_eid=2&b=2&a=1", "https://example.com/a?a=1&b=2"),
        ("https://example.com/a?UTM_Campaign=x", "https://example.com/a"),
        # a parameter that selects content stays, even a blank one
        ("https://knowtechie.com/x/amp/?p=121777", "https://knowtechie.com/x/amp/?p=121777"),
        ("https://ecfr.eu/publication/x/?amp", "https://ecfr.eu/publication/x/?amp="),
        # one spelling per path: spaces escaped, escapes of plain letters decoded
        (
            "https://www.dbta.com/Editorial/News Flashes/x.aspx",
            "https://www.dbta.com/Editorial/News%20Flashes/x.aspx",
        ),
        ("https://example.com/%7euser/%2f", "https://example.com/~user/%2F"),
        ("https://example.com", "https://example.com/"),
    ],
)
def test_canonical_url(url, canonical):
    assert canonical_url(url) == canonical


@pytest.mark.parametrize(
    ("one", "other"),
    [
        ("http://example.com/a", "https://example.com/a"),
        ("https://www.example.com/a", "https://example.com/a"),
        ("https://example.com/a/", "https://example.com/a"),
        ("https://example.com/a/index.html", "https://example.com/a"),
        ("https://example.com/a?utm_source=x", "https://example.com/a"),
        ("https://example.com/a?b=2&a=1", "https://example.com/a?a=1&b=2"),
        ("https://EXAMPLE.com/a#top", "https://example.com/a"),
        # Google's AMP cache: /c/s/ is an https origin, /c/ an http one
        (
            "https://9to5google-com.cdn.ampproject.org/c/s/9to5google.com/2020/11/30/deepmind-alphafold/amp/",
            "https://9to5google.com/2020/11/30/deepmind-alphafold/amp/",
        ),
        (
            "https://www-example-com.cdn.ampproject.org/c/www.example.com/story/amp",
            "http://example.com/story/amp",
        ),
        (
            "https://amp-cnn-com.cdn.ampproject.org/c/s/amp.cnn.com/cnn/2021/03/11/tech/x/index.html",
            "https://amp.cnn.com/cnn/2021/03/11/tech/x/",
        ),
    ],
)
def test_equivalent_urls_share_a_key(one, other):
    assert url_key(one) == url_key(other) != ""


@pytest.mark.parametrize(
    ("one", "other"),
    [
        ("https://example.com/a", "https://example.com/b"),
        ("https://example.com/a?p=1", "https://example.com/a?p=2"),
        ("https://example.com/A", "https://example.com/a"),  # paths are case-sensitive
        ("https://blog.example.com/a", "https://example.com/a"),  # only www. is dropped
        ("https://example.com:8080/a", "https://example.com/a"),
        # an AMP-cache host without the cache's path shape is an ordinary URL
        ("https://x-com.cdn.ampproject.org/other/x.com/a", "https://x.com/a"),
    ],
)
def test_different_urls_keep_different_keys(one, other):
    assert url_key(one) != url_key(other)


@pytest.mark.parametrize(
    "url",
    ["", "   ", "javascript:alert(1)", "ftp://example.com/a", "/relative/path", "https://", None,
     "https://example.com:99999/", "https://exa mple.com/", "http://[::1/"],
)  # fmt: skip
def test_anything_that_is_no_http_url_has_the_empty_key(url):
    assert url_key(url) == ""
    assert canonical_url(url) == ""


def test_url_keys_of_an_article_skip_empty_urls():
    keys = url_keys("https://example.com/a", "", "http://www.example.com/a/", "not a url")
    assert keys == {"example.com/a"}


def _corpus_entries():
    if not CORPUS_NEWS.is_dir():
        pytest.skip(f"the real corpus is not at {CORPUS_NEWS}")
    entries = []
    for path in sorted(CORPUS_NEWS.glob("*.md")):
        try:
            front = yaml.safe_load(path.read_text(encoding="utf-8").split("---")[1])
        except (yaml.YAMLError, IndexError):
            continue  # the one broken file of the corpus
        related = [r for r in front.get("related") or [] if isinstance(r, dict)]
        entries += [(path.name, entry) for entry in [front, *related]]
    return entries


def test_every_amp_cache_url_of_the_corpus_maps_to_its_amp_url():
    pairs = [
        (name, e["ampWebUrl"], e["cdnAmpWebUrl"])
        for name, e in _corpus_entries()
        if e.get("ampWebUrl") and e.get("cdnAmpWebUrl")
    ]
    assert len(pairs) > 100
    mismatched = [p for p in pairs if url_key(p[1]) != url_key(p[2])]
    assert mismatched == []


def test_every_corpus_url_has_a_key():
    urls = [
        (name, e[key])
        for name, e in _corpus_entries()
        for key in ("webUrl", "originalUrl", "ampWebUrl", "cdnAmpWebUrl")
        if isinstance(e.get(key), str) and e[key].startswith("http")
    ]
    assert [u for u in urls if not url_key(u[1])] == []
