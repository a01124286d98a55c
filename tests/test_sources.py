"""The import's stages: sources (paths or uploaded bytes) and the typed outcome of each file."""

import pytest
from django.db import DatabaseError

from articles.ingest import itemfile
from articles.ingest.importer import Importer, Outcome
from articles.ingest.snapshot import values_of
from articles.ingest.sources import Source, discover, uploaded
from articles.models import Article, ImportRun

from .test_importer import make_item, write

pytestmark = pytest.mark.django_db

TAXONOMY = b"taxonomy: topic\n_id: robots\nname: Robots\n"


def item_bytes(n, **overrides) -> bytes:
    return itemfile.write(make_item(n, **overrides)).encode()


def test_discover_finds_items_yaml_first_and_names_what_is_missing(tmp_path):
    write(tmp_path / "news", make_item(1), "b.md")
    (tmp_path / "news" / "README.md").write_text("# not an item")
    (tmp_path / "news" / "notes.txt").write_text("not an item")
    (tmp_path / "topics").mkdir()
    (tmp_path / "topics" / "robots.yaml").write_bytes(TAXONOMY)
    found, errors = discover([tmp_path / "news", tmp_path / "topics", tmp_path / "nope"])
    assert [s.name for s in found] == [
        str(tmp_path / "topics" / "robots.yaml"),
        str(tmp_path / "news" / "b.md"),
    ]
    assert all(s.path is not None and s.data is None for s in found)
    assert [str(e) for e in errors] == [f"{tmp_path / 'nope'}: no such file or directory"]


def test_uploaded_bytes_import_like_the_same_files_on_disk(tmp_path):
    files = [("b.md", item_bytes(1)), ("robots.yaml", TAXONOMY), ("c.md", item_bytes(2))]
    sources, errors = uploaded(files)
    assert errors == [] and [s.name for s in sources] == ["robots.yaml", "b.md", "c.md"]
    assert all(s.path is None for s in sources)  # nothing on disk

    report = Importer(workers=1, command="uploaded by eddie").run_sources(sources)

    run = ImportRun.objects.get()
    assert (run.command, run.paths, run.files) == (
        "uploaded by eddie",
        ["robots.yaml", "b.md", "c.md"],
        3,
    )
    assert (report.created, report.topics, report.failed) == (3, 1, 0)
    assert Article.objects.get(web_url=make_item(1).web_url).source_path == "b.md"
    uploaded_values = {a.web_url: values_of(a) for a in Article.objects.all()}

    # The same bytes from disk: the same articles, every value.
    Article.objects.all().delete()
    for name, data in files:
        (tmp_path / name).write_bytes(data)
    Importer(workers=1).run([tmp_path])
    assert {a.web_url: values_of(a) for a in Article.objects.all()} == uploaded_values

    # Uploaded again, unchanged: recognised by their digest.
    again = Importer(workers=1).run_sources(uploaded(files)[0])
    assert [o.outcome for o in again.outcomes] == [Outcome.UNCHANGED] * 3


def test_an_upload_that_is_no_item_file_or_too_large_fails_with_one_line(settings):
    settings.NEWSROOM_IMPORT_MAX_BYTES = 10_000
    sources, errors = uploaded(
        [
            ("notes.txt", b"x"),
            ("a.md", item_bytes(1)),
            ("a.md", item_bytes(1)),
            ("big.md", b"-" * 10_001),
        ]
    )
    assert [str(e) for e in errors] == [
        "notes.txt: not a news item or taxonomy file (expected a .md, .markdown, .yaml or .yml file)",
        "a.md: uploaded twice (expected each file once)",
    ]
    report = Importer(workers=1).run_sources(sources, errors=errors)
    assert report.created == 1
    assert [f["path"] for f in report.failures] == ["notes.txt", "a.md", "big.md"]
    assert "over the 10,000-byte limit" in report.failures[2]["error"]


def test_a_source_that_cannot_be_read_fails_alone(tmp_path):
    missing = Source(str(tmp_path / "gone.md"), path=tmp_path / "gone.md")
    report = Importer(workers=1).run_sources([missing, *uploaded([("a.md", item_bytes(1))])[0]])
    assert report.created == 1
    assert "gone.md: cannot read the file" in report.failures[0]["error"]


def test_each_file_gets_one_typed_outcome_with_its_conflicts_and_warnings(tmp_path):
    write(tmp_path, make_item(1), "1.md")
    write(tmp_path, make_item(2), "2.md")
    write(tmp_path, make_item(3), "3.md")
    first = Importer(workers=1).run([tmp_path])
    assert [(o.path, o.outcome) for o in first.outcomes] == [
        (str(tmp_path / f"{n}.md"), Outcome.CREATED) for n in (1, 2, 3)
    ]
    Article.objects.filter(web_url=make_item(2).web_url).set_quality(99)  # an editor's change
    write(tmp_path, make_item(1, title="Retitled"), "1.md")
    write(tmp_path, make_item(2, quality=1, title="Retitled too"), "2.md")
    (tmp_path / "4.md").write_text("---\ntitle: [broken\n---\n")
    write(
        tmp_path,
        make_item(5, images=[itemfile.Image(url="javascript:alert(1)")]),
        "5.md",
    )

    report = Importer(workers=1).run([tmp_path])

    by_path = {o.path: o for o in report.outcomes}
    assert len(by_path) == len(report.outcomes) == 5
    assert by_path[str(tmp_path / "1.md")].outcome is Outcome.UPDATED
    conflict = by_path[str(tmp_path / "2.md")]
    assert conflict.outcome is Outcome.CONFLICT and conflict.changed
    assert [(c["field"], c["ours"], c["theirs"]) for c in conflict.conflicts] == [
        ("quality", 99, 1)
    ]
    assert by_path[str(tmp_path / "3.md")].outcome is Outcome.UNCHANGED
    broken = by_path[str(tmp_path / "4.md")]
    assert broken.outcome is Outcome.FAILED and "invalid YAML" in str(broken.error)
    dropped = by_path[str(tmp_path / "5.md")]
    assert dropped.outcome is Outcome.CREATED
    assert dropped.warnings and dropped.warnings[0].startswith(
        f"{tmp_path / '5.md'}: images[0] dropped"
    )
    # The ImportRun adds them up; the report reads it.
    run = ImportRun.objects.order_by("-pk").first()
    assert (run.created, run.updated, run.unchanged, run.conflicts, run.failed) == (1, 2, 1, 1, 1)
    assert report.run == run and report.warnings == list(dropped.warnings)
    assert ("updated (conflicts)", str(tmp_path / "2.md")) in report.actions


def test_a_refused_batch_is_redone_file_by_file_and_counts_each_file_once(tmp_path, monkeypatch):
    for n in (1, 2, 3):
        write(tmp_path, make_item(n), f"{n}.md")
    original = Importer._write_items
    calls = []

    def refuse_story_2(self, entries):
        calls.append(len(entries))
        outcomes = original(self, entries)
        if any(e.result.web_url.endswith("story-2") for e in entries):
            raise DatabaseError("simulated refusal")
        return outcomes

    monkeypatch.setattr(Importer, "_write_items", refuse_story_2)
    report = Importer(workers=1).run([tmp_path])

    assert calls == [3, 1, 1, 1]  # the batch, then each file alone
    assert [(o.path, o.outcome) for o in report.outcomes] == [
        (str(tmp_path / "1.md"), Outcome.CREATED),
        (str(tmp_path / "2.md"), Outcome.FAILED),
        (str(tmp_path / "3.md"), Outcome.CREATED),
    ]
    run = ImportRun.objects.get()
    assert (run.created, run.failed, len(run.failures)) == (2, 1, 1)
    assert "simulated refusal" in run.failures[0]["error"]
