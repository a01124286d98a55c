"""The file format on its own: parsing, validation, bad input, writing. No database."""

import datetime as dt
import time
import tracemalloc

import pytest

from articles.ingest import itemfile
from articles.ingest.itemfile import FileError, Item, TaxonomyEntry

GOOD = """---
category: news
title: "Robots learn to \\"fold\\" laundry: a field report"
excerpt: "Researchers say the robot’s success rate — 90% — beats people & pets."
publishedDateTime: 2026-03-02T09:15:00Z
originalUrl: "https://techwire.example/2026/03/02/robots-fold"
webUrl: "https://techwire.example/2026/03/02/robots-fold"
type: article
quality: 120
heat: -1
published: false

provider:
  name: TechWire
  domain: techwire.example
  images:
    - url: "/assets/images/organizations/techwire.example-50x50.jpg"
      width: 50
      height: 50

topics:
  - AI
  - AI in Robotics

images:
  - url: "https://img.example/fold.jpg?w=1200&#038;h=600"
    width: 1200
    height: 600
    isCached: true

related:
  - title: "Laundry robots, again"
    excerpt: "Another take.\\n"
    publishedDateTime: 2026-03-02T10:00:07Z
    webUrl: "https://other.example/laundry robots"
    type: article
    provider:
      name: Other
      domain: other.example
    quality: 0
  - title: "Bad entry"
    webUrl: "javascript:alert(1)"

secured: "abc+/=;xyz=="
---

Some **Markdown** body.
"""


def parse(text, name="item.md", **kwargs):
    data = text.encode() if isinstance(text, str) else text
    return itemfile.parse(name, data, base_url="https://source.example/site/", **kwargs)


def test_reads_a_full_item():
    item = parse(GOOD)
    assert isinstance(item, Item), item
    assert item.title == 'Robots learn to "fold" laundry: a field report'
    assert item.excerpt.startswith("Researchers say the robot’s")
    assert item.published_at == dt.datetime(2026, 3, 2, 9, 15, tzinfo=dt.UTC)
    assert item.quality == 120  # real files go past 100
    assert item.heat is None  # -1 means unknown
    assert item.published is False and item.effective_status == "review"
    assert item.provider_domain == "techwire.example"
    # A relative logo path is resolved against the source site (which lives under /site/).
    assert item.provider_logos[0].url == (
        "https://source.example/site/assets/images/organizations/techwire.example-50x50.jpg"
    )
    assert item.topics == ["AI", "AI in Robotics"]
    # HTML entities leaked into URLs are decoded; spaces are percent-encoded.
    assert item.images[0].url == "https://img.example/fold.jpg?w=1200&h=600"
    assert item.related[0].url == "https://other.example/laundry%20robots"
    assert item.related[0].excerpt == "Another take.\n"
    assert item.related[0].quality == 0
    assert item.secured == "abc+/=;xyz=="
    assert item.body == "Some **Markdown** body."


def test_broken_related_entry_is_dropped_with_a_warning():
    item = parse(GOOD)
    assert len(item.related) == 1
    assert any("related[1] dropped" in w and "not an http(s) URL" in w for w in item.warnings)


def test_published_true_starts_published():
    item = parse(GOOD.replace("published: false", "published: true"))
    assert item.effective_status == "published"


def test_missing_scores_block_is_unknown():
    text = (
        GOOD.replace("quality: 120\n", "")
        .replace("heat: -1\n", "")
        .replace("published: false\n", "")
    )
    item = parse(text)
    assert (item.quality, item.heat, item.published) == (None, None, None)
    assert item.effective_status == "review"


def test_write_then_read_gives_the_same_values():
    item = parse(GOOD)
    again = parse(itemfile.write(item))
    assert again.field_values() == item.field_values()


def test_write_uses_the_corpus_layout():
    text = itemfile.write(parse(GOOD))
    assert text.startswith('---\ncategory: news\ntitle: "Robots learn to \\"fold\\"')
    assert "\nheat: -1\npublished: false\n\nprovider:\n  name: TechWire\n" in text
    assert text.rstrip().endswith("Some **Markdown** body.")
    front = text.split("\n---\n")[0]
    keys = [line.split(":")[0] for line in front.splitlines() if line and line[0].isalpha()]
    assert keys == [
        "category", "title", "excerpt", "publishedDateTime", "originalUrl", "webUrl", "type",
        "quality", "heat", "published", "provider", "topics", "images", "related", "secured",
    ]  # fmt: skip


@pytest.mark.parametrize(
    "value", ["Morningstar, Inc.", "EurekAlert!", "yes", "null", "123", "a: b", "#hash", " x"]
)
def test_plain_scalars_read_back_as_the_same_string(value):
    import yaml

    assert yaml.safe_load(f"k: {itemfile.plain(value)}") == {"k": value}


@pytest.mark.parametrize("value", ['say "hi"', "back\\slash", "new\nline", "tab\there", "ünï ’"])
def test_quoted_scalars_read_back_as_the_same_string(value):
    import yaml

    assert yaml.safe_load(f"k: {itemfile.quoted(value)}") == {"k": value}


# -- bad input: one clear error, never an exception ---------------------------------


def error_of(text, **kwargs):
    result = parse(text, **kwargs)
    kwargs.setdefault("name", "item.md")
    assert isinstance(result, FileError), result
    line = str(result)
    assert "\n" not in line and line.startswith(kwargs.get("name", "item.md"))
    return result


def test_empty_file():
    assert "empty" in error_of("").message
    assert "empty" in error_of("  \n\n").message


def test_bytes_that_are_not_utf8():
    error = error_of(b'---\ntitle: "caf\xe9"\n---\n')
    assert "not UTF-8" in error.message
    assert (error.line, error.column) == (2, 12)


def test_front_matter_without_closing_fence():
    error = error_of('---\ntitle: x\nwebUrl: "https://a.example/"\n')
    assert "no closing '---'" in error.message


def test_markdown_without_front_matter():
    assert "no front matter" in error_of("# Just a heading\n").message


def test_yaml_that_is_not_a_mapping():
    assert "not a mapping" in error_of("---\n- a\n- b\n---\n").message
    assert "not a mapping" in error_of("---\njust text\n---\n").message


def test_invalid_yaml_reports_the_line_in_the_file():
    error = error_of('---\ntitle: "x"\npublishedDateTime: 2020-11-30T16pt: "Up\n---\n')
    assert error.message.startswith("invalid YAML: mapping values are not allowed")
    assert (error.line, error.column) == (3, 35)


@pytest.mark.parametrize(
    "tag",
    [
        "!!python/object/apply:os.system ['echo pwned']",
        "!!python/name:os.system",
        "!custom thing",
    ],
)
def test_unsafe_tags_never_construct_objects(tag):
    error = error_of(f'---\ntitle: {tag}\nwebUrl: "https://a.example/"\n---\n')
    assert "tag" in error.message


def test_alias_bomb_is_refused_quickly_and_in_bounded_memory():
    lines = ["---", 'a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, 12):
        lines.append(f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 9) + "]")
    lines += ["title: bomb", "---", ""]
    tracemalloc.start()
    started = time.perf_counter()
    error = error_of("\n".join(lines))
    elapsed = time.perf_counter() - started
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert "aliases are not allowed" in error.message
    # 9**12 strings if expanded; refused long before. Generous bounds, not a timing test.
    assert elapsed < 5 and peak < 50 * 1024 * 1024


def test_any_alias_is_refused():
    error = error_of('---\ntitle: &t "x"\nexcerpt: *t\nwebUrl: "https://a.example/"\n---\n')
    assert "aliases" in error.message


def test_ampersand_in_text_is_not_an_anchor():
    item = parse(GOOD.replace("Laundry robots, again", "R&D & more &co"))
    assert isinstance(item, Item)


def test_file_over_the_size_limit():
    error = error_of(GOOD, limits=itemfile.Limits(max_bytes=100))
    assert "over the 100-byte limit" in error.message


@pytest.mark.parametrize(
    ("remove", "message"),
    [
        ('title: "Robots learn to \\"fold\\" laundry: a field report"\n', "title is missing"),
        ('webUrl: "https://techwire.example/2026/03/02/robots-fold"\n', "webUrl is missing"),
        ("publishedDateTime: 2026-03-02T09:15:00Z\n", "publishedDateTime is missing"),
    ],
)
def test_missing_required_fields(remove, message):
    assert remove in GOOD
    assert message in error_of(GOOD.replace(remove, "")).message


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(1)",
        "data:text/html,<b>x</b>",
        "ftp://a.example/x",
        "//a.example/",
        "https://user:pass@a.example/x",  # credentials: a link that reads as another site
        "https://bank.example@evil.example/login",
    ],
)
def test_other_url_schemes_are_refused(url):
    text = GOOD.replace(
        'webUrl: "https://techwire.example/2026/03/02/robots-fold"', f'webUrl: "{url}"'
    )
    error = error_of(text)
    assert error.message.startswith("webUrl") and "not an http(s) URL" in error.message
    assert error.line == 7  # the line of the key in the file


def test_javascript_url_in_an_image_is_dropped_not_stored():
    item = parse(GOOD.replace("https://img.example/fold.jpg?w=1200&#038;h=600", "javascript:x"))
    assert item.images == []
    assert any("images[0] dropped" in w for w in item.warnings)


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("quality: 120", "quality: -3", "quality is -3"),
        ("heat: -1", "heat: -2", "heat is -2"),
        ("quality: 120", 'quality: "high"', "quality is 'high'"),
        ("quality: 120", "quality: 1.5", "quality is 1.5"),
        ("heat: -1", "heat: true", "heat is True"),
        ("published: false", "published: maybe", "published is 'maybe'"),
        ("  - AI in Robotics", "  - {a: 1}", "topics is not a list"),
        ("  name: TechWire", "  name: [x]", "provider.name is a list"),
        ("publishedDateTime: 2026-03-02T09:15:00Z", "publishedDateTime: someday", "not a date"),
        (
            "publishedDateTime: 2026-03-02T09:15:00Z",
            "publishedDateTime: 2026-13-45",
            "is not a date",
        ),
        (
            "publishedDateTime: 2026-03-02T09:15:00Z",
            'publishedDateTime: "2026-13-45"',
            "not a date",
        ),
    ],
)
def test_wrong_values_give_one_clear_error(old, new, message):
    assert old in GOOD
    error = error_of(GOOD.replace(old, new, 1))
    assert message in error.message
    assert error.expected


def test_dates_without_zone_are_utc_and_offsets_are_converted():
    item = parse(GOOD.replace("2026-03-02T09:15:00Z", '"2026-03-02T11:15:00+02:00"', 1))
    assert item.published_at == dt.datetime(2026, 3, 2, 9, 15, tzinfo=dt.UTC)
    item = parse(GOOD.replace("2026-03-02T09:15:00Z", "2026-03-02 09:15:00", 1))
    assert item.published_at == dt.datetime(2026, 3, 2, 9, 15, tzinfo=dt.UTC)


def test_read_never_raises_on_a_missing_file(tmp_path):
    result = itemfile.read(tmp_path / "nope.md")
    assert isinstance(result, FileError) and "cannot read" in result.message


# -- taxonomy ----------------------------------------------------------------------

TOPIC = """taxonomy: topic
_id: computer-vision
name: Computer Vision
shortname: Vision
parent: AI
description: How machines “see”
keywords:
  - face recognition
hashtags:
  - "#ComputerVision"
images:
  - https://img.example/cv.jpg
---"""


def test_topic_file_with_a_stray_closing_fence():
    entry = parse(TOPIC, name="topics/02-computer-vision.yaml")
    assert isinstance(entry, TaxonomyEntry), entry
    assert (entry.kind, entry.slug, entry.name, entry.short_name) == (
        "topic", "computer-vision", "Computer Vision", "Vision"
    )  # fmt: skip
    assert entry.parents == ["AI"]
    assert entry.keywords == ["face recognition"] and entry.hashtags == ["#ComputerVision"]


def test_tag_file_with_empty_values():
    text = "taxonomy: tag\n_id: pytorch\nparents: \ndescription: A framework.\nregex:\n"
    entry = parse(text, name="tags/pytorch.yaml")
    assert (entry.kind, entry.slug, entry.parents, entry.name) == ("tag", "pytorch", [], "Pytorch")


def test_two_real_documents_in_a_yaml_file_are_refused():
    error = error_of(TOPIC + "\ntaxonomy: topic\n_id: x\n", name="item.yaml")
    assert "more than one YAML document" in error.message


def test_unknown_taxonomy_kind():
    assert (
        "taxonomy is 'colour'" in error_of("taxonomy: colour\n_id: x\n", name="item.yaml").message
    )


def test_an_at_sign_in_the_path_is_no_credential():
    url = "https://medium.example/@writer/robots-fold"
    text = GOOD.replace(
        'webUrl: "https://techwire.example/2026/03/02/robots-fold"', f'webUrl: "{url}"'
    )
    assert parse(text).web_url == url
