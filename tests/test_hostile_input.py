"""Hostile files: each breaks only itself, with one line, and the run goes on.

The parser's refusals are checked file by file in tests/data/hostile/ (tests/test_fuzz.py);
here: what the YAML 1.2 reading means for values, the limits, bodies that Markdown cannot
render, webUrls held by two files, renamed files, and failures nobody foresaw (a parser
bug, a worker process that dies, a write that raises something other than a DatabaseError).
"""

import os
import re
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError

from articles import rendering
from articles.ingest import importer, itemfile, parsing
from articles.ingest.importer import Importer
from articles.models import Article, ArticleImage, RelatedCoverage, Topic
from articles.timestamps import iso_datetime, parse_timestamp

from .factories import run_import

pytestmark = pytest.mark.django_db

ITEM = """---
title: "Story {n}"
publishedDateTime: 2026-03-02T09:15:00Z
webUrl: "https://wire.example/story-{n}"
quality: 40
heat: 50
published: false
{extra}
provider:
  name: Wire
  domain: wire.example

topics:
  - AI
---

{body}
"""


def item_text(n=1, extra="", body="A body."):
    return ITEM.format(n=n, extra=extra, body=body)


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def failures(err: str) -> list[str]:
    return [line for line in err.splitlines() if line.startswith("failed: ")]


def parse(text, **kwargs):
    return itemfile.parse("item.md", text.encode(), **kwargs)


# -- YAML read the 1.2 way -------------------------------------------------------------


def replace_key(key, value):
    return re.sub(rf"^{key}:.*$", f"{key}: {value}", item_text(), count=1, flags=re.M)


def test_a_leading_zero_is_decimal_not_octal():
    assert parse(replace_key("quality", "010")).quality == 10


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("heat", "1:30", "heat is '1:30'"),  # YAML 1.1: 90
        ("published", "on", "published is 'on'"),  # YAML 1.1: true
        ("published", "yes", "published is 'yes'"),
        ("quality", "0x10", "quality is '0x10'"),
    ],
)
def test_yaml_1_1_spellings_are_not_numbers_or_booleans(key, value, message):
    error = parse(replace_key(key, value))
    assert isinstance(error, itemfile.FileError) and message in error.message
    lines = item_text().splitlines()
    assert error.line == 1 + next(n for n, text in enumerate(lines) if text.startswith(f"{key}:"))


def test_yes_no_on_off_are_topic_names():
    text = item_text().replace("topics:\n  - AI", "topics: [NO, on, Off, yes]")
    assert parse(text).topics == ["NO", "on", "Off", "yes"]


def test_a_key_written_twice_is_refused_with_both_lines():
    text = item_text(extra='webUrl: "https://evil.example/other"')
    error = parse(text)
    assert isinstance(error, itemfile.FileError)
    assert "'webUrl' appears twice (first on line 4)" in error.message and error.line == 8


def test_a_date_in_a_text_field_keeps_its_spelling():
    assert parse(item_text().replace('title: "Story 1"', "title: 2026-03-02 09:15:00")).title == (
        "2026-03-02 09:15:00"
    )


def test_dates_are_written_back_with_four_digit_years():
    import datetime as dt

    assert iso_datetime(dt.datetime(1900, 1, 2, 3, 4, 5, tzinfo=dt.UTC)) == ("1900-01-02T03:04:05Z")
    assert parse_timestamp("0500-01-01") is None
    assert parse_timestamp("0500-01-01T00:00:00Z") is None  # the snapshot's own form, too
    assert parse_timestamp("2026-02-30T00:00:00Z") is None
    assert parse_timestamp("2026-03-02T09:15:00Z") == dt.datetime(2026, 3, 2, 9, 15, tzinfo=dt.UTC)
    assert parse_timestamp("9999-12-31T23:59:59-01:00") is None
    assert parse_timestamp("2026-03-02 09:15:00 -5").isoformat() == ("2026-03-02T14:15:00+00:00")


def test_taxonomy_services_keep_only_http_links():
    text = (
        "taxonomy: topic\n_id: robots\nname: Robots\nservices:\n"
        "  news: https://example.org/news/\n  evil: javascript:alert(1)\n  data: data:text/html,x\n"
    )
    entry = itemfile.parse("robots.yaml", text.encode())
    assert entry.services == {"news": "https://example.org/news/"}
    assert entry.data["services"] == entry.services  # what export writes again
    assert len(entry.warnings) == 2


def test_every_error_is_one_line():
    error = itemfile.FileError("a.md", "first\nsecond\r\nthird\x07", expected="x\ny")
    assert str(error) == "a.md: first second third\\x07 (expected x y)"


# -- limits ----------------------------------------------------------------------------


def coverage_entries(count):
    return "related:\n" + "".join(
        f'  - title: "C{i}"\n    webUrl: "https://c.example/{i}"\n' for i in range(count)
    )


@pytest.mark.parametrize(
    ("extra", "setting"),
    [
        (coverage_entries(4), "NEWSROOM_IMPORT_MAX_COVERAGE"),
        (
            "images:\n" + "".join(f"  - https://i.example/{i}.jpg\n" for i in range(4)),
            "NEWSROOM_IMPORT_MAX_IMAGES",
        ),
    ],
)
def test_lists_beyond_their_limit_fail_the_file_naming_the_setting(
    settings, tmp_path, extra, setting
):
    setattr(settings, setting, 3)
    write(tmp_path, "big.md", item_text(1, extra=extra))
    write(tmp_path, "good.md", item_text(2))
    code, _, err = run_import(tmp_path)
    assert code == 1
    [line] = failures(err)
    assert "big.md:" in line and "has 4 entries, over the limit of 3" in line and setting in line
    assert list(Article.objects.values_list("web_url", flat=True)) == [
        "https://wire.example/story-2"
    ]


def test_too_many_topics_fail_the_file(settings, tmp_path):
    settings.NEWSROOM_IMPORT_MAX_TOPICS = 2
    text = item_text().replace("topics:\n  - AI", "topics: [A, B, C]")
    write(tmp_path, "many.md", text)
    code, _, err = run_import(tmp_path)
    assert code == 1 and "NEWSROOM_IMPORT_MAX_TOPICS" in failures(err)[0]
    assert not Topic.objects.exists()


def test_a_body_over_the_limit_fails_the_file_at_the_body_line(settings, tmp_path):
    settings.NEWSROOM_IMPORT_MAX_BODY_BYTES = 100
    write(tmp_path, "long.md", item_text(body="x" * 101))
    code, _, err = run_import(tmp_path)
    [line] = failures(err)
    assert re.search(r"long\.md:\d+: the Markdown body is 101 bytes", line)
    assert "NEWSROOM_IMPORT_MAX_BODY_BYTES" in line and not Article.objects.exists()


# -- bodies Markdown cannot render ------------------------------------------------------


def test_a_body_nested_too_deeply_fails_only_its_file(tmp_path):
    write(tmp_path, "nested.md", item_text(1, body="- " * 496 + "x"))
    write(tmp_path, "good.md", item_text(2))
    code, _, err = run_import(tmp_path)
    [line] = failures(err)
    assert "nested.md: the Markdown body is nested too deeply" in line
    assert Article.objects.get().web_url.endswith("story-2")


def test_a_body_that_renders_too_slowly_fails_only_its_file(settings, tmp_path):
    settings.NEWSROOM_RENDER_TIME_LIMIT = 0.2
    # Unclosed links (not nested: refused before rendering), quadratic for Markdown.
    write(tmp_path, "slow.md", item_text(1, body="[a](" * 4000))
    write(tmp_path, "good.md", item_text(2))
    code, _, err = run_import(tmp_path)
    [line] = failures(err)
    assert "slow.md: the Markdown body took more than 0.2 s to render" in line
    assert Article.objects.get().web_url.endswith("story-2")


@pytest.mark.parametrize(
    "body", ["[" * 257, "a\n\n" + "[x " * 257, "> " * 65 + "x", "> " * 500, "1. " * 65 + "x"]
)
def test_a_body_nested_deeper_than_any_article_is_refused_before_rendering(body, monkeypatch):
    def render(text):
        raise AssertionError("Markdown was asked to render it")

    monkeypatch.setattr(rendering, "markdown_to_safe_html", render)
    with pytest.raises(rendering.RenderError, match="nested too deeply"):
        rendering.render_markdown(body)


@pytest.mark.parametrize(
    "body",
    [
        "[" * 256 + "]" * 256,
        "[a] " * 500,
        "- " * 64 + "x",
        "> > quoted",
        "Intervals [0, 1) and " * 70,  # unclosed, but fewer than the limit
        "\n\n".join(["[" * 200] * 5),  # each paragraph on its own
        "```\n" + "[" * 1000 + "\n```",  # code
        "    " + "[" * 1000,  # indented code
        "`" + "[" * 1000 + "`",  # a code span
        "\\[" * 1000,  # escaped
        "* " * 100,  # a thematic break, not a list
        "- " * 100,
    ],
)
def test_bodies_as_deep_as_real_ones_render(body):
    assert rendering.render_markdown(body)


def test_the_admin_refuses_a_body_it_cannot_render(tmp_path):
    write(tmp_path, "good.md", item_text(1))
    run_import(tmp_path)
    article = Article.objects.get()
    article.body = "- " * 496 + "x"
    with pytest.raises(ValidationError) as caught:
        article.full_clean()
    assert "nested too deeply" in str(caught.value.message_dict["body"])


# -- one webUrl, two files ----------------------------------------------------------------


def test_a_second_file_with_the_same_web_url_fails_naming_the_first(tmp_path):
    first = write(tmp_path, "a.md", item_text(1))
    write(tmp_path, "b.md", item_text(1).replace("Story 1", "Story 1, again"))
    code, _, err = run_import(tmp_path)
    [line] = failures(err)
    assert line.startswith(f"failed: {tmp_path / 'b.md'}: webUrl https://wire.example/story-1")
    assert str(first) in line
    assert Article.objects.get().title == "Story 1"
    # Every later run says the same and changes nothing (no flipping between the two).
    for _ in range(2):
        code, out, err = run_import(tmp_path)
        assert code == 1 and "0 updated, 1 unchanged" in out and len(failures(err)) == 1
    assert Article.objects.get().title == "Story 1"


def test_a_renamed_unchanged_file_records_its_new_path(tmp_path):
    old = write(tmp_path, "old.md", item_text(1))
    run_import(old)
    new = old.rename(tmp_path / "new.md")
    code, out, _ = run_import(new)
    assert code == 0 and "1 unchanged" in out
    assert Article.objects.get().source_path == str(new)


# -- failures nobody foresaw -------------------------------------------------------------


def test_a_parser_bug_fails_only_that_file(monkeypatch, tmp_path):
    real_parse = itemfile.parse

    def parse_with_a_bug(path, data, **kwargs):
        if path.endswith("bug.md"):
            raise KeyError("surprise")
        return real_parse(path, data, **kwargs)

    monkeypatch.setattr(itemfile, "parse", parse_with_a_bug)
    write(tmp_path, "bug.md", item_text(1))
    write(tmp_path, "good.md", item_text(2))
    code, out, err = run_import(tmp_path, workers=1)
    [line] = failures(err)
    assert line == f"failed: {tmp_path / 'bug.md'}: could not be read: KeyError: 'surprise'"
    assert "Traceback" not in out + err
    assert Article.objects.get().web_url.endswith("story-2")


def test_a_write_that_raises_fails_only_that_file(monkeypatch, tmp_path):
    real = importer.Importer._replace_children

    def overflow(self, rows, replace_lists, topics):
        if any(article.web_url.endswith("story-1") for article, _, _ in rows):
            raise OverflowError("Python int too large to convert to SQLite INTEGER")
        return real(self, rows, replace_lists, topics)

    monkeypatch.setattr(importer.Importer, "_replace_children", overflow)
    for n in (1, 2, 3):
        write(tmp_path, f"{n}.md", item_text(n))
    code, out, err = run_import(tmp_path)
    [line] = failures(err)
    assert "1.md: could not be written: OverflowError: Python int too large" in line
    assert "1 failed" in out and "2 created" in out
    # Nothing of the failed file stays behind.
    assert sorted(Article.objects.values_list("web_url", flat=True)) == [
        "https://wire.example/story-2",
        "https://wire.example/story-3",
    ]
    assert ArticleImage.objects.count() == RelatedCoverage.objects.count() == 0


def test_a_file_that_kills_its_parser_process_fails_alone(monkeypatch, tmp_path):
    real_parse = itemfile.parse

    def die_on_poison(path, data, **kwargs):
        if path.endswith("poison.md"):
            os._exit(9)  # what the kernel's out-of-memory killer looks like to the pool
        return real_parse(path, data, **kwargs)

    monkeypatch.setattr(itemfile, "parse", die_on_poison)
    monkeypatch.setattr(parsing, "PARALLEL_THRESHOLD", 2)
    write(tmp_path, "poison.md", item_text(1))
    for n in range(2, 8):
        write(tmp_path, f"{n}.md", item_text(n))
    report = Importer(workers=2, batch_size=3).run([tmp_path])
    assert [f["path"] for f in report.failures] == [str(tmp_path / "poison.md")]
    assert "the parser process died" in report.failures[0]["error"]
    assert report.created == 6 and Article.objects.count() == 6


# -- what the run records ------------------------------------------------------------------


def test_the_run_records_the_command_asked_for_not_sys_argv(tmp_path):
    write(tmp_path, "a b.md", item_text(1))
    run_import(tmp_path / "a b.md", workers=1, dry_run=False)
    from articles.models import ImportRun

    assert ImportRun.objects.get().command == f"import_yaml --workers 1 '{tmp_path / 'a b.md'}'"


def test_full_clean_reports_each_error_once(tmp_path):
    write(tmp_path, "good.md", item_text(1))
    run_import(tmp_path)
    article = Article.objects.get()
    article.quality, article.web_url = -5, "javascript:alert(1)"
    with pytest.raises(ValidationError) as caught:
        article.full_clean()
    errors = caught.value.message_dict
    assert len(errors["quality"]) == 1 and len(errors["web_url"]) == 1


def test_the_taxonomy_limits_are_the_columns_sizes():
    # The item's, images' and coverage's limits: tests/test_schema.py.
    assert Topic._meta.get_field("name").max_length == itemfile.MAX_TOPIC_NAME_LENGTH
    assert Topic._meta.get_field("slug").max_length == itemfile.MAX_SLUG_LENGTH


def test_a_control_character_in_the_body_fails_at_its_line():
    text = item_text(body="fine\nstill fine\nnot \x00 fine")
    error = parse(text)
    assert isinstance(error, itemfile.FileError)
    assert "body holds the control character U+0000" in error.message
    assert error.line == text.splitlines().index("not \x00 fine") + 1


@pytest.mark.parametrize("mark", ["\u202e", "\u202d"])
def test_a_bidirectional_override_in_a_title_fails_the_file(mark):
    """ "evil \u202egnp.exe" shows as "evil exe.png": a title must read as what it is."""
    error = parse(item_text().replace('"Story 1"', f'"Invoice{mark}fdp.exe"'))
    assert isinstance(error, itemfile.FileError)
    assert f"title holds the control character U+{ord(mark):04X}" in error.message


def test_right_to_left_text_itself_is_fine():
    """With its marks, embeddings and isolates (U+200E/F, U+202A-C, U+2066-9)."""
    marks = "\u200f\u200e \u202b\u202c \u2067x\u2069"
    text = item_text().replace('"Story 1"', f'"שלום and سلام, with marks {marks}"')
    assert parse(text).title.startswith("שלום")
