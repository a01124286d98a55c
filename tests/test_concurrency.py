"""Two `manage.py import_yaml` processes on overlapping files at the same moment.

Neither may fail, and the database must end with exactly one article per web URL,
one provider per domain and one topic per name, whatever the interleaving: the
unique constraints refuse duplicates, the importer inserts providers and topics with
ON CONFLICT DO NOTHING, and a file whose insert lost a race is retried once as an
update (articles/importer.py).

The processes are real (separate interpreters, separate connections) and work on a
real, committed database: the test database itself on PostgreSQL, a database file
on SQLite (where the test database lives in memory and other processes cannot see
it).
"""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection

ROOT = Path(__file__).resolve().parent.parent
FIXTURE_NEWS = ROOT / "fixtures" / "news"
FIXTURE_TAXONOMY = ROOT / "fixtures" / "taxonomy"

COPIES = 12  # of the 48 fixture items: 576 files, enough for the two runs to overlap

pytestmark = pytest.mark.django_db(transaction=True)


def write_copies(folder: Path, copies: int) -> list[Path]:
    """Variants of the fixture items: new web URLs, providers and topics per copy.

    Titles and dates stay the same, so the copies also race for the same slugs.
    """
    written = []
    for source in sorted(FIXTURE_NEWS.glob("*.md")):
        text = source.read_text(encoding="utf-8")
        for n in range(copies):
            variant = re.sub(
                r'^webUrl: "(https?://[^/"]+)/', rf'webUrl: "\1/copy{n}/', text, flags=re.M
            )
            # The item's own provider (two-space indent; coverage providers are deeper).
            variant = re.sub(
                r"^  domain: (\S+)$", rf"  domain: copy{n % 4}-\1", variant, flags=re.M
            )
            variant = re.sub(
                r"^topics:\n", f"topics:\n  - Copy topic {n % 5}\n", variant, flags=re.M
            )
            path = folder / f"{source.stem}-copy{n}.md"
            path.write_text(variant, encoding="utf-8")
            written.append(path)
    return written


def shared_database_url(tmp_path) -> str:
    """A DATABASE_URL that other processes can use, with the schema in place."""
    settings_dict = connection.settings_dict
    if connection.vendor == "postgresql":
        # The test database itself: transaction=True means its rows are committed.
        user = settings_dict["USER"] or "postgres"
        password = f":{settings_dict['PASSWORD']}" if settings_dict["PASSWORD"] else ""
        host = settings_dict["HOST"] or "127.0.0.1"
        port = settings_dict["PORT"] or 5432
        return f"postgres://{user}{password}@{host}:{port}/{settings_dict['NAME']}"
    if connection.vendor == "sqlite":
        url = f"sqlite:///{tmp_path / 'concurrency.sqlite3'}"
        manage("migrate", "--noinput", "-v0", env=process_env(url))
        return url
    pytest.skip(f"no concurrency test written for {connection.vendor}")


def process_env(database_url: str) -> dict:
    return {
        **os.environ,
        "DATABASE_URL": database_url,
        "DJANGO_SETTINGS_MODULE": "newsroom.settings",
        "DJANGO_DEBUG": "1",
        "DJANGO_LOG_FORMAT": "plain",
    }


def manage(*args, env, check=True):
    return subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=check,
    )


COUNT_SCRIPT = """
import json
from articles.models import Article, ImportRun, Provider, TaggedTopic, Topic
from django.db.models import Count
def dupes(qs, field):
    return qs.values(field).annotate(n=Count("id")).filter(n__gt=1).count()
print(json.dumps({
    "articles": Article.objects.count(),
    "article_urls": Article.objects.values("web_url").distinct().count(),
    "duplicate_urls": dupes(Article.objects, "web_url"),
    "duplicate_slugs": dupes(Article.objects, "slug"),
    "providers": Provider.objects.count(),
    "duplicate_domains": dupes(Provider.objects, "domain"),
    "topics": Topic.objects.count(),
    "duplicate_topic_names": dupes(Topic.objects, "name"),
    "tagged": TaggedTopic.objects.count(),
    "runs": list(ImportRun.objects.order_by("id").values("created", "updated", "unchanged", "failed")),
}))
"""


def test_two_overlapping_imports_at_once_leave_no_duplicates_and_both_succeed(tmp_path):
    (tmp_path / "news").mkdir()
    files = write_copies(tmp_path / "news", COPIES)
    env = process_env(shared_database_url(tmp_path))

    # Copies 0-7 go to the first run, 4-11 to the second: 4-7 are imported by both
    # at the same moment (file order is the same in both), the rest by one only.
    # Small batches make their transactions interleave many times.
    news = tmp_path / "news"
    commands = [
        ["import_yaml", str(FIXTURE_TAXONOMY), str(news / "*-copy[0-7].md"), "--batch-size", "20"],
        [
            "import_yaml",
            str(news / "*-copy[4-9].md"),
            str(news / "*-copy1[01].md"),
            str(FIXTURE_TAXONOMY),
            "--batch-size",
            "15",
        ],
    ]
    processes = [
        subprocess.Popen(
            [sys.executable, str(ROOT / "manage.py"), *command, "-v", "1"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for command in commands
    ]
    outputs = [process.communicate(timeout=300) for process in processes]

    for process, (stdout, stderr) in zip(processes, outputs, strict=True):
        assert process.returncode == 0, f"an import failed:\n{stdout}\n{stderr}"
        assert "failed" not in stderr

    counts = json.loads(manage("shell", "-c", COUNT_SCRIPT, env=env).stdout.splitlines()[-1])
    assert counts["articles"] == len(files)
    assert counts["article_urls"] == len(files)
    assert counts["duplicate_urls"] == counts["duplicate_slugs"] == 0
    assert counts["duplicate_domains"] == 0
    assert counts["duplicate_topic_names"] == 0
    assert counts["topics"] >= 5  # the five copy topics, once each, plus the taxonomy
    # Each run created at least the articles only it was given; together, each
    # article exactly once (taxonomy files may add topics to either count).
    runs = counts["runs"]
    assert [run["failed"] for run in runs] == [0, 0]
    per_copy = len(files) // COPIES
    assert all(run["created"] >= 4 * per_copy for run in runs)
    taxonomy_files = len([p for p in FIXTURE_TAXONOMY.rglob("*") if p.is_file()])
    assert len(files) <= sum(run["created"] for run in runs) <= len(files) + taxonomy_files
