"""Fuzzing the importer through its real entry point, `manage.py import_yaml`.

Every case is a folder holding one hostile file and one or two good "companion"
files, imported with `call_command("import_yaml", folder)` inside the test's
database. `check_run` then holds the run to the promises of the README
("Importing and exporting"):

- no exception escapes: the command raises only CommandError, and does so exactly
  when a file failed (exit status 1);
- the counts add up (created + updated + unchanged + failed == files) and every file
  is reported exactly once;
- every failure is one line (no line break of any kind) naming its file;
- nothing partial: a failed file leaves no Article (nor child rows), an article
  written by the run holds exactly what its file said, and the good files beside
  the hostile one are imported;
- a failed file changes no existing article, topic or provider;
- nothing but http(s) URLs is stored (Article, ArticleImage, RelatedCoverage,
  Provider.logos, Topic.images/services), no NUL (PostgreSQL refuses it), and every
  stored article, topic and provider can be linked (its public URL reverses);
- bounded time and memory: CPU seconds (and, with a wide margin, wall-clock seconds)
  and the tracemalloc peak of each case.

The cases:

1. Hypothesis-driven mutations of the demo content (`fixtures/news`,
   `fixtures/taxonomy`) and of the real corpus (`../shared/corpus`: news, versions,
   taxonomy; those tests skip, saying why, when it is absent): byte flips,
   insertions and deletions, line duplication, deletion and swaps, scalar values
   replaced by hostile ones, hostile keys, bodies, anchors and big lists.
2. The regression files in `tests/data/hostile/`, one per known crash class, with
   the expected outcome of each in HOSTILE_FILES below.
3. Big generated lists (10,000 topics, 2,000 related entries, 2,000 images).

The examples are derandomized (the same on every run) and few by default (10 per
test), so that `make test` stays fast. NEWSROOM_FUZZ_EXAMPLES=N runs N per test
(.ci/run runs 200 after `make test`); NEWSROOM_FUZZ_CASE_SECONDS sets the CPU limit
of one case (5 s).
"""

from __future__ import annotations

import contextlib
import io
import itertools
import json
import os
import re
import resource
import tempfile
import time
import traceback
import tracemalloc
from dataclasses import dataclass, field
from pathlib import Path
from unittest import mock
from urllib.parse import urlsplit

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import transaction
from django.db.models import Prefetch
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from articles.ingest.importer import Importer, Report
from articles.ingest.snapshot import values_of
from articles.models import (
    Article,
    ArticleImage,
    ImportRun,
    Provider,
    RelatedCoverage,
    TaggedTopic,
    Topic,
)

from .conftest import FIXTURES

pytestmark = pytest.mark.django_db


HOSTILE_DIR = Path(__file__).resolve().parent / "data" / "hostile"

# -- how much fuzzing ----------------------------------------------------------

EXAMPLES = int(os.environ.get("NEWSROOM_FUZZ_EXAMPLES") or 0)
FUZZ = settings(
    max_examples=EXAMPLES or 10,
    derandomize=True,  # the same examples on every run: a red test stays red until fixed
    deadline=None,  # the time of each case is checked by check_run, with a clear message
    database=None,  # nothing written to a .hypothesis/ folder in the checkout
    # No shrinking: each import takes a while, so shrinking a failure could take many
    # minutes; the failing case's label spells out its source file and mutations.
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
    print_blob=True,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.filter_too_much,
        HealthCheck.function_scoped_fixture,  # only `corpus`, a read-only path
    ],
)
# Per case (one import of a few files): CPU seconds, generous with tracemalloc on (an
# import that needs more is a denial of service waiting to happen); wall-clock seconds,
# wider, since other work on the machine slows a case down without it being at fault.
CASE_CPU_SECONDS = float(os.environ.get("NEWSROOM_FUZZ_CASE_SECONDS") or 5)
CASE_WALL_SECONDS = 6 * CASE_CPU_SECONDS
CASE_PEAK_BYTES = 256 * 1024 * 1024
# The generated big lists (10,000 topics, 2,000 related entries).
BIG_CASE_CPU_SECONDS = 30.0
BIG_CASE_WALL_SECONDS = 120.0
BIG_CASE_PEAK_BYTES = 512 * 1024 * 1024

# -- the sources -------------------------------------------------------------

FIXTURE_NEWS = sorted((FIXTURES / "news").glob("*.md"))
FIXTURE_TAXONOMY = sorted((FIXTURES / "taxonomy").rglob("*.yaml"))


def corpus_files(corpus: Path, *folders: str) -> list[Path]:
    return sorted(
        p
        for folder in folders
        for p in (corpus / folder).rglob("*")
        if p.suffix in (".md", ".yaml")
    )


# -- the good files beside each hostile one ----------------------------------

_serial = itertools.count(1)

COMPANION_NEWS = """\
---
category: news
title: "Companion story {n}: a good file beside a hostile one"
excerpt: "This file is valid; it is imported whatever happens to the file next to it."
publishedDateTime: 2026-02-03T09:30:00Z
originalUrl: "{web_url}"
webUrl: "{web_url}"
ampWebUrl: "https://companion.example/amp/story-{n}"
cdnAmpWebUrl: "https://companion-example.cdn.ampproject.org/c/s/companion.example/amp/story-{n}"
type: article
quality: 40
heat: 55
published: false

provider:
  name: Companion Wire
  domain: companion.example
  images:
    - url: "https://companion.example/logo-50x50.jpg"
      width: 50
      height: 50

topics:
  - AI
  - Companion Topic

images:
  - url: "https://companion.example/img/{n}.jpg"
    width: 800
    height: 450
    isCached: true

related:
  - title: "Another outlet on companion story {n}"
    excerpt: "Coverage elsewhere."
    publishedDateTime: 2026-02-04T10:00:00Z
    webUrl: "https://other.example/coverage/{n}"
    type: article
    provider:
      name: Other Outlet
      domain: other.example
    quality: 12
    images:
      - url: "https://other.example/img/{n}.jpg"
        width: 600
        height: 400
        isCached: true

secured: "companion-{n}=="
---

"""

COMPANION_TAXONOMY = """\
taxonomy: topic
_id: companion-topic-{n}
name: Companion Topic {n}
shortname: Companion
parent: AI
keywords:
  - companion
hashtags:
  - "#companion"
images:
  - https://companion.example/topics/{n}.jpg
services:
  news: https://companion.example/api/news/companion-topic-{n}/
"""


@dataclass
class Good:
    """A file that must be imported, whatever the file beside it does."""

    name: str
    data: bytes
    web_url: str = ""  # a news item
    slug: str = ""  # a taxonomy file


def companion_news(web_url: str | None = None) -> Good:
    n = next(_serial)
    web_url = web_url or f"https://companion.example/news/story-{n}"
    text = COMPANION_NEWS.format(n=n, web_url=web_url)
    return Good(f"zz-companion-{n}.md", text.encode(), web_url=web_url)


def companion_taxonomy() -> Good:
    n = next(_serial)
    text = COMPANION_TAXONOMY.format(n=n)
    return Good(f"zz-companion-topic-{n}.yaml", text.encode(), slug=f"companion-topic-{n}")


# ---------------------------------------------------------------------------
# Running one import
# ---------------------------------------------------------------------------


@dataclass
class State:
    """The database rows an import may touch, as comparable values."""

    articles: dict
    related: dict
    topics: dict
    providers: dict

    @classmethod
    def take(cls) -> State:
        articles = (
            Article.objects.select_related("provider")
            .prefetch_related(*ARTICLE_PREFETCH)
            .order_by("pk")
        )
        return cls(
            articles={a.pk: article_state(a) for a in articles},
            related={a.pk: related_ids(a) for a in articles},
            topics={t.pk: topic_state(t) for t in Topic.objects.order_by("pk")},
            providers={p.pk: (p.domain, p.name, p.logos) for p in Provider.objects.order_by("pk")},
        )


# The tags come joined to their links: a `tag__in` query over 10,000 topics is too
# deep an expression for SQLite.
ARTICLE_PREFETCH = (
    Prefetch("tagged_topics", queryset=TaggedTopic.objects.select_related("tag")),
    "images",
    "coverage",
    "related_stories",
)


def article_state(a: Article):
    return (
        values_of(a),
        a.imported,
        a.import_hash,
        a.source_path,
        a.slug,
        a.body_html,
        a.went_live_at,
        a.last_import_run_id,
        a.import_conflicts,
        a.updated_at,
    )


def related_ids(a: Article) -> set[int]:
    return {r.pk for r in a.related_stories.all()}


def topic_state(t: Topic):
    return (
        t.kind,
        t.name,
        t.slug,
        t.short_name,
        t.description,
        t.keywords,
        t.hashtags,
        t.images,
        t.services,
        t.taxonomy_data,
        t.parent_id,
    )


@dataclass
class Run:
    files: list[Path]
    code: int
    out: str
    err: str
    command_error: str
    report: Report
    cpu: float
    seconds: float
    peak: int
    before: State
    label: str
    cpu_limit: float = CASE_CPU_SECONDS
    wall_limit: float = CASE_WALL_SECONDS
    peak_limit: int = CASE_PEAK_BYTES
    companions: list[tuple[Path, Good]] = field(default_factory=list)

    def action(self, path: Path) -> str:
        return next(a for a, p in self.report.actions if p == str(path))

    def failure(self, path: Path) -> dict | None:
        return next((f for f in self.report.failures if f["path"] == str(path)), None)

    def warnings_for(self, path: Path) -> list[str]:
        return [w for w in self.report.warnings if w.startswith(f"{path}: ")]


def escaped(exc: BaseException) -> str:
    """`KeyError: 'maybe' at yaml/constructor.py:421 (from articles/itemfile.py:263)`."""
    frames = traceback.extract_tb(exc.__traceback__)
    text = f"{type(exc).__name__}: {str(exc)[:200]}"
    if frames:
        last = frames[-1]
        text += f" at {short_path(last.filename)}:{last.lineno} in {last.name}"
        ours = [f for f in frames if "/articles/" in f.filename or "/newsroom/" in f.filename]
        if ours and ours[-1] is not last:
            text += f" (from {short_path(ours[-1].filename)}:{ours[-1].lineno} in {ours[-1].name})"
    return text


def short_path(filename: str) -> str:
    for marker in ("/site-packages/", "/work/main/", "/lib/python3"):
        if marker in filename:
            return filename.split(marker, 1)[1]
    return filename


def _cpu_seconds() -> float:
    """CPU time of this process and its reaped children: what other load cannot inflate."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


@contextlib.contextmanager
def measured():
    """CPU and wall-clock seconds and the tracemalloc peak (above the start) of the block."""
    was_tracing = tracemalloc.is_tracing()
    if not was_tracing:
        tracemalloc.start()
    tracemalloc.reset_peak()
    base = tracemalloc.get_traced_memory()[0]
    result = {}
    cpu, wall = _cpu_seconds(), time.perf_counter()
    try:
        yield result
    finally:
        result["cpu"] = _cpu_seconds() - cpu
        result["seconds"] = time.perf_counter() - wall
        result["peak"] = max(0, tracemalloc.get_traced_memory()[1] - base)
        if not was_tracing:
            tracemalloc.stop()


def run_import(folders: Path | list[Path], label: str, *, workers=1, **limits) -> Run:
    """`manage.py import_yaml FOLDER...` as a user runs it; the Report is kept for the checks."""
    folders = folders if isinstance(folders, list) else [folders]
    files = sorted(p for folder in folders for p in folder.rglob("*") if is_import_file(p))
    before = State.take()
    reports: list[Report] = []
    real_run = Importer.run

    def spy(importer, paths):
        report = real_run(importer, paths)
        reports.append(report)
        return report

    out, err = io.StringIO(), io.StringIO()
    command_error = ""
    with mock.patch.object(Importer, "run", spy), measured() as cost:
        try:
            call_command("import_yaml", *map(str, folders), stdout=out, stderr=err, workers=workers)
            code = 0
        except CommandError as exc:
            code, command_error = 1, str(exc)
        except SystemExit as exc:  # the command's last line of defence: the whole run died
            cause = f" ({escaped(exc.__context__)})" if exc.__context__ else ""
            raise AssertionError(
                f"{label}: the run died, SystemExit({exc.code}): {err.getvalue().strip()[:300]}"
                f"{cause}"
            ) from exc
        except Exception as exc:  # noqa: BLE001 - this is what the test is looking for
            raise AssertionError(
                f"{label}: an exception escaped import_yaml: {escaped(exc)}"
            ) from exc
    assert len(reports) == 1, f"{label}: import_yaml ran {len(reports)} imports"
    return Run(
        files=files,
        code=code,
        out=out.getvalue(),
        err=err.getvalue(),
        command_error=command_error,
        report=reports[0],
        cpu=cost["cpu"],
        seconds=cost["seconds"],
        peak=cost["peak"],
        before=before,
        label=label,
        **limits,
    )


def is_import_file(path: Path) -> bool:
    """What import_yaml reads in a folder (README.md and SCHEMA.md are documentation)."""
    return (
        path.is_file()
        and path.suffix.lower() in (".md", ".markdown", ".yaml", ".yml")
        and path.name.upper() not in ("README.MD", "SCHEMA.MD")
    )


def write_folder(folder: Path, files: dict[str, bytes]) -> dict[str, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = {}
    for name, data in files.items():
        path = folder / name
        path.write_bytes(data)
        paths[name] = path
    return paths


@contextlib.contextmanager
def rolled_back():
    """One example's database work, undone afterwards (Hypothesis runs many per test)."""
    with transaction.atomic():
        yield
        transaction.set_rollback(True)


def import_case(
    label: str,
    name: str,
    data: bytes,
    *,
    original: bytes | None = None,
    companions: list[Good] | None = None,
    **limits,
) -> Run:
    """Import `data` as file `name` beside good companions, after `original` when given.

    `original` (a good version of the same file) goes in first from another folder, so
    that the hostile version meets an existing article or topic it could damage.
    """
    companions = companions if companions is not None else [companion_news()]
    with tempfile.TemporaryDirectory(prefix="newsroom-fuzz-") as tmp:
        tmp = Path(tmp)
        if original is not None:
            write_folder(tmp / "before", {name: original})
            check_run(run_import(tmp / "before", f"{label} (the original, imported first)"))
        paths = write_folder(tmp / "case", {name: data, **{g.name: g.data for g in companions}})
        run = run_import(tmp / "case", label, **limits)
        run.companions = [(paths[g.name], g) for g in companions]
        check_run(run)
        return run


# ---------------------------------------------------------------------------
# The promises
# ---------------------------------------------------------------------------


def one_line(text: str) -> bool:
    """One line for any reader: no \\n, \\r, \\v, \\f, \\x1c-\\x1e, \\x85, \\u2028, \\u2029."""
    return bool(text) and text.splitlines() == [text]


def is_http_url(value) -> bool:
    """Our own, independent check: an http(s) URL that parses, with a host and a valid port."""
    if not isinstance(value, str) or not value or len(value) > 2000:
        return False
    if any(ch.isspace() or ord(ch) < 0x20 or 0x7F <= ord(ch) < 0xA0 for ch in value):
        return False
    try:
        parts = urlsplit(value)
        host = parts.hostname
        _ = parts.port
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(host)


def stored_urls():
    """(where, value, may be empty) for every URL the database holds."""
    for a in Article.objects.all():
        yield f"Article {a.pk} web_url", a.web_url, False
        for name in ("original_url", "amp_web_url", "cdn_amp_web_url"):
            yield f"Article {a.pk} {name}", getattr(a, name), True
    for image in ArticleImage.objects.all():
        yield f"ArticleImage {image.pk} url", image.url, False
    for c in RelatedCoverage.objects.all():
        yield f"RelatedCoverage {c.pk} url", c.url, False
        yield f"RelatedCoverage {c.pk} amp_web_url", c.amp_web_url, True
        yield f"RelatedCoverage {c.pk} cdn_amp_web_url", c.cdn_amp_web_url, True
        for i, image in enumerate(c.images or []):
            yield f"RelatedCoverage {c.pk} images[{i}]", _url_of(image), False
    for p in Provider.objects.all():
        for i, logo in enumerate(p.logos or []):
            yield f"Provider {p.domain!r} logos[{i}]", _url_of(logo), False
    for t in Topic.objects.all():
        for i, url in enumerate(t.images or []):
            yield f"Topic {t.slug!r} images[{i}]", url, False
        services = t.services if isinstance(t.services, dict) else {"(not a mapping)": t.services}
        for key, value in services.items():
            if isinstance(value, dict):
                value = value.get("url", "")
            if value is not None:
                yield f"Topic {t.slug!r} services[{key!r}]", value, True


def _url_of(entry):
    return entry.get("url") if isinstance(entry, dict) else entry


def stored_nul():
    """Rows holding a NUL character, in a text column or inside JSON."""
    for model in (Article, ArticleImage, RelatedCoverage, Provider, Topic, ImportRun):
        for obj in model.objects.all():
            for f in model._meta.concrete_fields:
                value = getattr(obj, f.attname)
                text = value if isinstance(value, str) else json.dumps(value, default=str)
                if "\x00" in text or "\\u0000" in text:
                    yield f"{model.__name__} {obj.pk} {f.name}"


def unlinkable_rows():
    """Stored rows whose public page cannot be linked (slug, domain, date that don't fit)."""
    for model in (Article, Topic, Provider):
        for obj in model.objects.all():
            try:
                obj.get_absolute_url()
            except Exception as exc:  # noqa: BLE001 - any error here is the finding
                yield f"{model.__name__} {obj.pk} ({obj}): {type(exc).__name__}: {exc}"
    for p in Provider.objects.all():
        if not p.domain.strip() or "/" in p.domain or any(ch.isspace() for ch in p.domain):
            yield f"Provider {p.pk}: domain {p.domain!r} is not a bare domain"


def check_run(run: Run):
    """Every promise of the README's importing section, on one finished run."""
    r, label = run.report, run.label
    paths = [str(p) for p in run.files]
    failed = {f["path"] for f in r.failures}

    # Bounded time and memory. CPU time, so that other work on the machine cannot make
    # a case fail; the wall clock too, with a wide margin, for anything that waits.
    assert run.cpu < run.cpu_limit, (
        f"{label}: the import used {run.cpu:.1f} s of CPU (limit {run.cpu_limit} s)"
    )
    assert run.seconds < run.wall_limit, (
        f"{label}: the import took {run.seconds:.1f} s (wall-clock limit {run.wall_limit} s)"
    )
    assert run.peak < run.peak_limit, (
        f"{label}: the import peaked at {run.peak / 2**20:.0f} MiB of Python memory "
        f"(limit {run.peak_limit / 2**20:.0f} MiB)"
    )

    # Exit status and counts.
    assert run.code == (1 if r.failures else 0), (
        f"{label}: exit status {run.code} with {len(r.failures)} failures"
    )
    assert r.files == len(paths), f"{label}: report.files={r.files}, {len(paths)} files on disk"
    assert r.created + r.updated + r.unchanged + r.failed == r.files, (
        f"{label}: {r.created} created + {r.updated} updated + {r.unchanged} unchanged "
        f"+ {r.failed} failed != {r.files} files"
    )
    assert sorted(p for _, p in r.actions) == sorted(paths), (
        f"{label}: files not reported exactly once: {sorted(p for _, p in r.actions)}"
    )
    assert failed == {p for a, p in r.actions if a == "failed"}, f"{label}: failures/actions differ"

    # One line per failure, naming the file.
    for f in r.failures:
        assert f["path"] in paths, f"{label}: a failure names no file of the run: {f!r}"
        assert one_line(f["error"]), f"{label}: a failure message is not one line: {f['error']!r}"
        assert f["path"] in f["error"], f"{label}: the failure does not name the file: {f!r}"
    if r.failures:
        assert one_line(run.command_error), f"{label}: CommandError {run.command_error!r}"
    err_lines = run.err.splitlines()
    assert len(err_lines) == len(r.failures) and all(
        line.startswith("failed: ") for line in err_lines
    ), f"{label}: stderr is not one 'failed:' line per failure: {run.err[:2000]!r}"

    # The ImportRun record says the same.
    record = ImportRun.objects.get(pk=r.run.pk)
    assert record.finished_at is not None, f"{label}: ImportRun not finished"
    assert (record.files, record.created, record.updated, record.unchanged, record.failed) == (
        r.files,
        r.created,
        r.updated,
        r.unchanged,
        r.failed,
    ), f"{label}: the ImportRun record differs from the report"

    # Nothing partial.
    leftovers = list(
        Article.objects.filter(source_path__in=failed).values_list("web_url", "source_path")
    )
    assert not leftovers, f"{label}: failed files left articles behind: {leftovers}"
    now = {
        a.pk: a
        for a in Article.objects.select_related("provider")
        .prefetch_related(*ARTICLE_PREFETCH)
        .order_by("pk")
    }
    touched = {pk: a for pk, a in now.items() if a.last_import_run_id == record.pk}
    for a in touched.values():
        assert a.source_path in paths and a.source_path not in failed, (
            f"{label}: article {a.web_url!r} written by this run from {a.source_path!r}"
        )
        assert values_of(a) == a.imported, (
            f"{label}: article {a.web_url!r} does not hold what its file said: "
            f"{_diff(values_of(a), a.imported)}"
        )
    written = {a.source_path for a in touched.values()}
    for action, path in r.actions:
        if action.startswith(("created", "updated")) and not is_taxonomy(path):
            assert path in written, f"{label}: {path} reported {action!r} but no article holds it"
    new_articles = set(now) - set(run.before.articles)
    assert new_articles <= set(touched), f"{label}: articles appeared that the run did not write"

    # A failed file changes nothing that was there.
    for pk, state in run.before.articles.items():
        assert pk in now, f"{label}: article {pk} disappeared"
        if pk not in touched:
            # Only an unchanged file (same bytes, skipped before parsing) may move the
            # article's source_path to where it now is.
            current = article_state(now[pk])
            moved = current[3] != state[3]
            assert not moved or (current[3] in paths and current[3] not in failed), (
                f"{label}: article {pk}'s source_path moved to {current[3]!r}"
            )
            assert current[:3] + current[4:] == state[:3] + state[4:], (
                f"{label}: article {pk} ({now[pk].web_url}) changed though no file of the "
                f"run wrote it: {_diff(current[0], state[0])}"
            )
            # Related stories only gain links, and only to articles the run wrote
            # (coverage in a good file that names an existing article links the two).
            before, after = run.before.related[pk], related_ids(now[pk])
            assert before <= after and after - before <= set(touched), (
                f"{label}: article {pk}'s related stories went from {before} to {after}"
            )
    topics = {t.pk: t for t in Topic.objects.order_by("pk")}
    companions = {str(c) for c, _ in run.companions}
    taxonomy_ok = [
        p for a, p in r.actions if a != "failed" and p not in companions and is_taxonomy(p)
    ]
    if not taxonomy_ok:
        for pk, state in run.before.topics.items():
            assert pk in topics and topic_state(topics[pk]) == state, (
                f"{label}: topic {state[2]!r} changed though no taxonomy file of the run succeeded"
            )
    for pk in set(topics) - set(run.before.topics):
        t = topics[pk]
        assert t.taxonomy_data or t.tagged_articles.exists(), (
            f"{label}: topic {t.name!r} was created for nothing (a failed file's leftover?)"
        )
    providers_used = {a.provider_id for a in touched.values()}
    for p in Provider.objects.all():
        if p.pk not in run.before.providers:
            assert p.articles.exists(), f"{label}: provider {p.domain!r} created for nothing"
        elif (p.domain, p.name, p.logos) != run.before.providers[p.pk]:
            assert p.pk in providers_used, f"{label}: provider {p.domain!r} changed by no article"

    # The good files beside the hostile one are imported.
    for path, good in run.companions:
        assert str(path) not in failed, (
            f"{label}: the good file {path.name} failed: {run.failure(path)}"
        )
        if good.web_url:
            article = Article.objects.filter(web_url=good.web_url).first()
            assert article is not None and article.source_path == str(path), (
                f"{label}: the good file {path.name} was not imported"
            )
            values = values_of(article)
            assert values["topics"] == ["AI", "Companion Topic"], f"{label}: {values['topics']}"
            assert len(values["images"]) == 1 and len(values["coverage"]) == 1, label
        if good.slug:
            assert Topic.objects.filter(slug=good.slug).exists(), (
                f"{label}: the good taxonomy file {path.name} was not imported"
            )

    # What is stored is safe to show.
    bad = [
        (where, value)
        for where, value, may_be_empty in stored_urls()
        if not ((may_be_empty and value == "") or is_http_url(value))
    ]
    assert not bad, f"{label}: non-http(s) URLs stored: {bad[:5]}"
    nul = list(stored_nul())
    assert not nul, f"{label}: NUL characters stored (PostgreSQL refuses them): {nul[:5]}"
    unlinkable = list(unlinkable_rows())
    assert not unlinkable, f"{label}: stored rows that cannot be linked: {unlinkable[:5]}"


_TAXONOMY_KEY = re.compile(rb"""^["']?taxonomy["']?[ \t]*:""", re.MULTILINE)


def is_taxonomy(path: str) -> bool:
    """A taxonomy file, as itemfile tells them (a top-level `taxonomy:` key), whatever its name."""
    return bool(_TAXONOMY_KEY.search(Path(path).read_bytes()))


def _diff(ours: dict, theirs: dict) -> str:
    keys = sorted(set(ours) | set(theirs))
    changes = [
        f"{k}: {ours.get(k)!r} != {theirs.get(k)!r}" for k in keys if ours.get(k) != theirs.get(k)
    ]
    return "; ".join(changes)[:1000]


# ---------------------------------------------------------------------------
# The sanity of the harness: good input passes every check
# ---------------------------------------------------------------------------


def test_the_demo_content_passes_every_check():
    run = run_import(FIXTURES, "fixtures/")
    check_run(run)
    assert run.report.ok and run.report.created == len(FIXTURE_NEWS) + len(FIXTURE_TAXONOMY)
    again = run_import(FIXTURES, "fixtures/ again")
    check_run(again)
    assert again.report.unchanged == again.report.files


@pytest.mark.corpus
def test_the_corpus_passes_every_check(corpus):
    folders = [corpus / "taxonomy", corpus / "news", corpus / "seed"]  # versions: below
    run = run_import(  # with the default workers: the parallel parse of 64+ files
        folders,
        "corpus/",
        workers=None,
        cpu_limit=60,
        wall_limit=BIG_CASE_WALL_SECONDS,
        peak_limit=BIG_CASE_PEAK_BYTES,
    )
    check_run(run)
    assert [Path(f["path"]).name for f in run.report.failures] == [
        "2020-12-01-project-innereye-evaluation-shows-how-ai-can-augment-and-accelerate-"
        "clinicians-ability-to-perform-radiotherapy-planning-13-times-faster.md"
    ]


def test_a_companion_alone_passes_every_check():
    good = companion_news()
    with rolled_back():
        run = import_case("companion", good.name, good.data, companions=[companion_taxonomy()])
        assert run.report.ok and run.report.created == 2


# ---------------------------------------------------------------------------
# Mutations
# ---------------------------------------------------------------------------

BIG = 2**70
HOSTILE_NUMBERS = [
    str(BIG), str(-BIG), str(2**63), str(2**64), str(2**31), str(2**32), str(2**31 - 1),
    "-1", "-2", "0", "-0", "+12", "1e3", "1e309", "0.5", ".nan", ".inf", "-.inf",
    "010", "0o17", "0x1F", "0b101", "1:30", "190:20:30", "1_000",
]  # fmt: skip
HOSTILE_DATES = [
    "0500-01-01T00:00:00Z", "0500-01-01", "0999-12-31T23:59:59Z", "0001-01-01",
    "9999-12-31T23:59:59-01:00", "0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59Z",
    "9999-12-31", "2026-02-30T10:00:00Z", "2026-13-45", "2026-01-01T25:61:61Z",
    '"0500-01-01T00:00:00Z"', '"9999-12-31T23:59:59-01:00"', '"0001-01-01T00:00:00+01:00"',
    '"2026-01-01T00:00:00+99:00"', '"yesterday"', "2026-01-01 10:00:00 -1", "2026-01-01t10:00:00z",
]  # fmt: skip
HOSTILE_URLS = [
    '"https://[::1"', "https://[::1", '"https://[not-ipv6]/"', '"https://[::1]:99999/"',
    '"javascript:alert(1)"', "javascript:alert(1)", '"JaVaScRiPt:alert(1)"',
    '" javascript:alert(1)"', '"java\\tscript:alert(1)"', '"data:text/html,x"',
    '"//evil.example/x"', '"/relative/path"', '"relative"', '"https://"', '"http://:80/"',
    '"https://a b.example/"', '"https://example.com:99999/"', '"https://www./story"',
    '"https://user@evil.example@good.example/"', '"https://evil.example/\\u2028x"',
    '"https://evil.example/\\0"', '"https://ex\\u0430mple.com/"', '"https://%%%/"',
    '"http://[::ffff:127.0.0.1]/"', '"https://example.com/' + "a" * 2100 + '"',
]  # fmt: skip
HOSTILE_TAGS = [
    "!!bool maybe", "!!timestamp notadate", "!!int notanint", "!!float notafloat",
    "!!null x", "!!python/object:os.system", "!!python/name:os.system",
    "!!python/object/apply:os.system [echo]", "!!binary AAAA", "!!set {a, b}",
    "!!omap [a: 1]", "!!pairs [a: 1]", "!!str", "!!map {}", "!!seq []", "!custom x",
    "!<tag:evil.example,2000:x> y", "!!merge <<",
]  # fmt: skip
HOSTILE_STRUCTURES = [
    "[" * 500, "[" * 500 + "]" * 500, "{" * 500, "{a: " * 300 + "}" * 300,
    "&anchor value", "*undefined_alias", "[a, b]", "{a: 1}", "[]", "{}", "", '""', "''",
    "- x", "? complex", "@reserved", "`reserved", "'unterminated", '"unterminated',
    "x: y: z", "a, b", "#comment", "|", ">", "---", "...",
]  # fmt: skip
HOSTILE_WORDS = ["on", "off", "NO", "yes", "Y", "n", "~", "null", "Null", "true", "False"]
HOSTILE_TEXT = [
    '"\\0"', '"a\\0b"', '"\\a\\e[2J\\b"', '"\\u2028"', '"\\x85"', '"\\uFFFE"', '"\\uD800"',
    '"\\U0001F600"', '"a\\nb"', '"a\\rb"', '"<script>alert(1)</script>"', '"' + "x" * 3000 + '"',
    '"' + "é" * 600 + '"', '"\\N"',
]  # fmt: skip
HOSTILE_DOMAINS = [
    '"evil.com/x"', '"EVIL.COM"', '" "', '""', '"evil.com:8080"', '"user@evil.com"',
    '"evil..com"', '".evil.com"', '"javascript:alert(1)"', '"' + "a" * 300 + '"', '"<b>x</b>"',
    "123", '"xn--"', '"ev il.com"', '"evil.com?x=1"', '"evil.com#x"', '"www."', '"../.."',
]  # fmt: skip
HOSTILE_SLUGS = [
    '"ai agents"', '"ai/<agents>"', '""', '"   "', '"ünïcode"', '"' + "x" * 300 + '"',
    '"../../etc/passwd"', '"-"', "123", '"a\\nb"', '"a.b"', '"AI"', '"%2F"', "!!bool maybe",
]  # fmt: skip
# Block-style values: written on the lines after the key.
HOSTILE_BLOCKS = ["- " * 500 + "x", "- " * 60 + "x", "? " * 100 + "x"]
HOSTILE_SCALARS = (
    HOSTILE_NUMBERS + HOSTILE_DATES + HOSTILE_URLS + HOSTILE_TAGS + HOSTILE_STRUCTURES
    + HOSTILE_WORDS + HOSTILE_TEXT
)  # fmt: skip
BY_KEY = {
    "publishedDateTime": HOSTILE_DATES,
    "quality": HOSTILE_NUMBERS,
    "heat": HOSTILE_NUMBERS,
    "width": HOSTILE_NUMBERS,
    "height": HOSTILE_NUMBERS,
    "published": HOSTILE_WORDS + HOSTILE_TAGS,
    "isCached": HOSTILE_WORDS + HOSTILE_TAGS,
    "domain": HOSTILE_DOMAINS,
    "_id": HOSTILE_SLUGS,
    "parent": HOSTILE_SLUGS,
    "name": HOSTILE_SLUGS + HOSTILE_TEXT,
    "title": HOSTILE_TEXT,
    "excerpt": HOSTILE_TEXT,
    **{
        key: HOSTILE_URLS
        for key in (
            "webUrl",
            "originalUrl",
            "ampWebUrl",
            "cdnAmpWebUrl",
            "url",
            "news",
            "learning",
            "projects",
            "people",
            "companies",
        )
    },  # fmt: skip
}
TOP_KEYS = [
    "category", "title", "excerpt", "publishedDateTime", "originalUrl", "webUrl", "ampWebUrl",
    "cdnAmpWebUrl", "type", "quality", "heat", "published", "status", "provider", "topics",
    "images", "related", "secured", "taxonomy", "_id", "name", "parent", "parents", "services",
]  # fmt: skip
HOSTILE_BYTES = [
    b"\x00", b"\x07", b"\x1b", b"\x7f", b"\xc2\x85", b"\xe2\x80\xa8", b"\xef\xbb\xbf", b"\xff",
    b"\xfe", b"\xc3", b"\xed\xa0\x80", b"\xc0\xaf", b"\xf4\x90\x80\x80", b"\r", b"\r\n", b"\t",
    b"\n---\n", b"\n...\n", b"\n", b":", b": ", b"- ", b"[", b"{", b"&a ", b"*a", b"!!", b'"',
    b"'", b"#", b"|", b">", b"%", b"@", b"`", b"\\", b"\\0", b"\\x",
]  # fmt: skip
HOSTILE_BODIES = [
    "- " * 496, "- " * 2000, "> " * 500, "[" * 5000, "[](" * 1000, "](" * 1000, "*" * 5000,
    "_" * 5000, "`" * 5000, "<" * 5000, "<a " * 1000, "&#" * 1000, "[a]: " * 500,
    "1. " * 500, "    " * 500 + "x", "*a **b " * 1000, "![" * 2000, "<!--" * 1000,
    "<script>alert(1)</script>", "[x](javascript:alert(1))", "![x](data:text/html,x)",
    "<a href='javascript:alert(1)'>x</a>", "\x00", "---\ntitle: again\n---\n",
    "|a|b|\n|-|-|\n" + "|x|y|\n" * 500, "\n".join("  " * i + "- x" for i in range(300)),
    "".join(f"[{i}]: https://e.example/{i}\n" for i in range(500)),
]  # fmt: skip
ALIASES = [
    "lol: &a [x, x, x, x, x, x, x, x, x]\nlol2: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
    "lol3: [*b, *b, *b, *b, *b, *b, *b, *b, *b]\n",
    "base: &base {title: x}\nmerged:\n  <<: *base\n",
    "self: &s [*s]\n",
    "a: &x 1\nb: *x\n",
]

VALUE_LINE = re.compile(r"^(?P<head>[ ]*(?:- )?(?P<key>[A-Za-z_][\w.]*):[ ]+)(?P<value>\S.*)$")
ITEM_LINE = re.compile(r"^(?P<head>[ ]*- )(?P<value>[^\s:][^:]*)$")


def lines_of(data: bytes) -> list[bytes]:
    return data.splitlines(keepends=True) or [b""]


def value_lines(data: bytes) -> list[tuple[int, re.Match]]:
    text = data.decode("utf-8", "surrogateescape")
    found = []
    for index, line in enumerate(text.split("\n")):
        match = VALUE_LINE.match(line) or ITEM_LINE.match(line)
        if match:
            found.append((index, match))
    return found


def replace_value(data: bytes, index: int, match: re.Match, value: str) -> bytes:
    text = data.decode("utf-8", "surrogateescape").split("\n")
    head = match.group("head")
    if value.startswith("\n"):  # a block value: on the next lines, indented under the key
        if "key" not in match.groupdict() or match.group("key") is None:
            value = "[" * 500  # a list item cannot take a block: nest in flow style instead
        else:
            indent = " " * (len(head) - len(head.lstrip()) + 2)
            head = head.rstrip() + "\n" + indent
            value = value[1:]
    text[index] = head + value
    return "\n".join(text).encode("utf-8", "surrogateescape")


def front_matter_end(data: bytes) -> int:
    """The index of the closing `---` line (or the number of lines when there is none)."""
    lines = lines_of(data)
    for index, line in enumerate(lines[1:], 1):
        if line.rstrip(b"\r\n") == b"---":
            return index
    return len(lines)


@st.composite
def byte_mutation(draw, data: bytes):
    kind = draw(st.sampled_from(["flip", "insert", "delete"]))
    at = draw(st.integers(0, max(0, len(data) - 1)))
    if kind == "flip" and data:
        mask = draw(st.integers(1, 255))
        return data[:at] + bytes([data[at] ^ mask]) + data[at + 1 :], f"flip byte {at} ^ {mask:#x}"
    if kind == "insert" or not data:
        chunk = draw(st.one_of(st.sampled_from(HOSTILE_BYTES), st.binary(min_size=1, max_size=8)))
        return data[:at] + chunk + data[at:], f"insert {chunk!r} at byte {at}"
    length = draw(st.integers(1, 32))
    return data[:at] + data[at + length :], f"delete {length} bytes at {at}"


@st.composite
def line_mutation(draw, data: bytes):
    lines = lines_of(data)
    kind = draw(st.sampled_from(["duplicate", "delete", "swap"]))
    i = draw(st.integers(0, len(lines) - 1))
    if kind == "duplicate":
        times = draw(st.sampled_from([1, 1, 2, 50]))
        lines[i:i] = [lines[i]] * times
        return b"".join(lines), f"duplicate line {i + 1} x{times}"
    if kind == "delete":
        del lines[i]
        return b"".join(lines), f"delete line {i + 1}"
    j = draw(st.integers(0, len(lines) - 1))
    lines[i], lines[j] = lines[j], lines[i]
    return b"".join(lines), f"swap lines {i + 1} and {j + 1}"


@st.composite
def hostile_value(draw, data: bytes):
    candidates = value_lines(data)
    if not candidates:
        return data, "no value line to replace"
    index, match = draw(st.sampled_from(candidates))
    key = match.groupdict().get("key") or "(list item)"
    pool = BY_KEY.get(key, HOSTILE_SCALARS)
    value = draw(
        st.one_of(
            st.sampled_from(pool),
            st.sampled_from(HOSTILE_SCALARS),
            st.sampled_from(["\n" + block for block in HOSTILE_BLOCKS]),
        )
    )
    return replace_value(data, index, match, value), f"line {index + 1} {key}: {value[:60]!r}"


@st.composite
def hostile_key(draw, data: bytes):
    """A top-level key (often a duplicate) with a hostile value, inside the YAML."""
    key = draw(st.sampled_from(TOP_KEYS))
    value = draw(st.sampled_from(BY_KEY.get(key, HOSTILE_SCALARS) + HOSTILE_SCALARS))
    lines = lines_of(data)
    start = 1 if lines[0].startswith(b"---") else 0
    at = draw(st.integers(start, max(start, front_matter_end(data))))
    lines[at:at] = [f"{key}: {value}\n".encode()]
    return b"".join(lines), f"insert line {at + 1} {key}: {value[:60]!r}"


@st.composite
def hostile_body(draw, data: bytes):
    body = draw(st.sampled_from(HOSTILE_BODIES))
    lines = lines_of(data)
    end = front_matter_end(data)
    head = b"".join(lines[: end + 1])
    return head + b"\n" + body.encode("utf-8", "surrogateescape"), f"body {body[:40]!r}"


@st.composite
def hostile_aliases(draw, data: bytes):
    block = draw(st.sampled_from(ALIASES))
    lines = lines_of(data)
    at = 1 if lines[0].startswith(b"---") else 0
    lines[at:at] = [block.encode()]
    return b"".join(lines), f"aliases {block[:40]!r}"


@st.composite
def repeated_entries(draw, data: bytes):
    """A list entry (with its indented lines) repeated many times: big lists."""
    lines = lines_of(data)
    starts = [i for i, line in enumerate(lines) if re.match(rb"^ {2}- ", line)]
    if not starts:
        return data, "no list entry to repeat"
    i = draw(st.sampled_from(starts))
    j = i + 1
    while j < len(lines) and re.match(rb"^ {4,}\S", lines[j]):
        j += 1
    times = draw(st.sampled_from([2, 100, 500, 2000]))
    lines[i:i] = lines[i:j] * times
    return b"".join(lines), f"repeat the entry at line {i + 1} x{times}"


def mutations(data: bytes, *, structural: bool, semantic: bool):
    options = []
    if structural:
        options += [byte_mutation(data), line_mutation(data)]
    if semantic:
        options += [
            hostile_value(data),
            hostile_value(data),  # the most productive kind: drawn twice as often
            hostile_key(data),
            hostile_body(data),
            hostile_aliases(data),
            repeated_entries(data),
        ]
    return st.one_of(options)


def mutate(data, source: bytes, *, structural=True, semantic=True) -> tuple[bytes, list[str]]:
    """1-3 mutations of `source`, drawn through Hypothesis (so that a failure replays)."""
    steps = []
    for _ in range(data.draw(st.integers(1, 3), label="mutations")):
        source, step = data.draw(mutations(source, structural=structural, semantic=semantic))
        steps.append(step)
    return source, steps


def fuzz_one(data, sources: list[Path], *, taxonomy=False, structural=True, semantic=True):
    source = data.draw(st.sampled_from(sources), label="source")
    original = source.read_bytes()
    mutated, steps = mutate(data, original, structural=structural, semantic=semantic)
    over_existing = data.draw(st.booleans(), label="over an existing import")
    label = f"{source.name} with {'; '.join(steps)}" + (
        " (over an existing import)" if over_existing else ""
    )
    companions = [companion_news()] + ([companion_taxonomy()] if taxonomy else [])
    with rolled_back():
        import_case(
            label,
            source.name,
            mutated,
            original=original if over_existing else None,
            companions=companions,
        )


# ---------------------------------------------------------------------------
# The fuzz tests
# ---------------------------------------------------------------------------


@FUZZ
@given(st.data())
def test_fuzz_demo_news_hostile_values(data):
    fuzz_one(data, FIXTURE_NEWS, structural=False)


@FUZZ
@given(st.data())
def test_fuzz_demo_news_bytes_and_lines(data):
    fuzz_one(data, FIXTURE_NEWS, semantic=False)


@FUZZ
@given(st.data())
def test_fuzz_demo_taxonomy(data):
    fuzz_one(data, FIXTURE_TAXONOMY, taxonomy=True)


@pytest.mark.corpus
@FUZZ
@given(st.data())
def test_fuzz_corpus_news(corpus, data):
    fuzz_one(data, corpus_files(corpus, "news", "seed"))


@pytest.mark.corpus
@FUZZ
@given(st.data())
def test_fuzz_corpus_taxonomy(corpus, data):
    fuzz_one(data, corpus_files(corpus, "taxonomy"), taxonomy=True)


@pytest.mark.corpus
@FUZZ
@given(st.data())
def test_fuzz_corpus_versions(corpus, data):
    """One version of a file imported, then the other version mutated over it."""
    versions = corpus_files(corpus, "versions")
    pairs = sorted({p.name.rsplit(".", 2)[0] for p in versions})
    stem = data.draw(st.sampled_from(pairs), label="item")
    first, second = data.draw(st.permutations(["v1", "v2"]), label="order")
    original = (corpus / "versions" / f"{stem}.{first}.md").read_bytes()
    source = (corpus / "versions" / f"{stem}.{second}.md").read_bytes()
    mutated, steps = mutate(data, source)
    with rolled_back():
        import_case(
            f"{stem}.{second} over {first} with {'; '.join(steps)}",
            f"{stem}.md",
            mutated,
            original=original,
        )


# ---------------------------------------------------------------------------
# Regression files: one per known crash class, with the expected outcome
# ---------------------------------------------------------------------------


@dataclass
class Expect:
    """What importing one regression file must do; `prefix` starts the file's name.

    "fail-": the file fails, in one line naming the file and each of `mentions`.
    "drop-or-fail-": the file fails so, or it is imported with each of `dropped`
    (list entries) left out with a warning naming the file and the entry, and then
    `values` hold (keys of article_values() or, for a taxonomy file, topic_values()).
    "yaml12-": the file is imported and `values` hold; `or_fail`: a clean failure is
    fine too. "render-or-fail-": a body Markdown may or may not render: the file is
    imported or fails cleanly.
    """

    prefix: str
    mentions: tuple[str, ...] = ()
    dropped: tuple[str, ...] = ()
    values: dict = field(default_factory=dict)
    or_fail: bool = False


def Fail(*mentions):  # noqa: N802 - reads as a table
    return Expect("fail-", mentions=mentions)


def DropsOrFails(*dropped, **values):  # noqa: N802
    return Expect("drop-or-fail-", dropped=dropped, values=values, or_fail=True)


def RendersOrFails(**values):  # noqa: N802
    return Expect("render-or-fail-", values=values, or_fail=True)


def Yaml12(*mentions, or_fail=False, **values):  # noqa: N802
    return Expect("yaml12-", mentions=mentions, values=values, or_fail=or_fail)


GOOD_IMAGE = "https://img.hostile.example/good.jpg"

# Rule of the table: a bad top-level value fails the file. A bad entry of a list
# (images, provider.images, related, a taxonomy file's images/services) either fails
# the file too, or is dropped with a warning naming the file and the entry while the
# rest of the file is imported exactly as listed (itemfile drops the list entries it
# can tell are bad): "drop-or-fail-" files.
HOSTILE_FILES = {
    # Dates
    "fail-year-0500-top-level.md": Fail("publishedDateTime"),
    "drop-or-fail-year-0500-in-related.md": DropsOrFails(
        "related[0]", coverage_urls=["https://elsewhere.example/coverage/1"]
    ),
    "fail-date-9999-12-31-minus-0100-top-level.md": Fail("publishedDateTime"),
    "fail-date-0001-01-01-plus-0100-top-level.md": Fail("publishedDateTime"),
    "drop-or-fail-edge-dates-with-offsets-in-related.md": DropsOrFails(
        "related[0]", "related[1]", coverage_urls=["https://elsewhere.example/coverage/2"]
    ),
    # URLs
    "fail-url-unclosed-ipv6-weburl.md": Fail("webUrl"),
    "fail-url-bracket-not-ipv6-weburl.md": Fail("webUrl"),
    "fail-url-unclosed-ipv6-originalurl.md": Fail("originalUrl"),
    "fail-url-bracket-not-ipv6-ampweburl.md": Fail("ampWebUrl"),
    "fail-url-unclosed-ipv6-cdnampweburl.md": Fail("cdnAmpWebUrl"),
    "drop-or-fail-url-bad-ipv6-in-lists.md": DropsOrFails(
        "provider.images[0]",
        "images[0]",
        "related[0]",
        "related[1]",
        "related[2].images[0]",
        image_urls=[GOOD_IMAGE],
        coverage_urls=[
            "https://elsewhere.example/coverage/2",
            "https://elsewhere.example/coverage/3",
        ],
        coverage_image_urls=[[], []],
        logo_urls=[],
    ),
    "drop-or-fail-url-javascript-and-data-in-lists.md": DropsOrFails(
        "images[0]",
        "images[1]",
        "related[0]",
        "related[1]",
        image_urls=[GOOD_IMAGE],
        coverage_urls=["https://elsewhere.example/coverage/2"],
    ),
    # Nesting
    "fail-nesting-500-flow.md": Fail(),
    "fail-nesting-500-block.md": Fail(),
    # Explicit tags
    "fail-tag-bool-maybe.md": Fail(),
    "fail-tag-timestamp-notadate.md": Fail(),
    # Integers
    "fail-int-2p70-quality.md": Fail("quality"),
    "fail-int-2p70-heat.md": Fail("heat"),
    "drop-or-fail-int-2p70-image-width-and-height.md": DropsOrFails(
        "images[0]", "images[1]", image_urls=[GOOD_IMAGE]
    ),
    "drop-or-fail-int-2p70-related-quality.md": DropsOrFails(
        "related[0]", coverage_urls=["https://elsewhere.example/coverage/1"]
    ),
    "fail-int-2p31-quality-over-postgresql-integer.md": Fail("quality"),
    "drop-or-fail-int-2p31-image-width-over-postgresql-integer.md": DropsOrFails(
        "images[0]", image_urls=[GOOD_IMAGE]
    ),
    # Body. "- " * 496 alone is a horizontal rule to Markdown (rendered safely, so the
    # file may import); followed by text it is 496 nested lists, which Markdown cannot
    # render without exhausting the stack.
    "render-or-fail-body-dash-space-496.md": RendersOrFails(),
    "fail-body-nested-list-496.md": Fail("nested too deeply"),
    # Provider and identity
    "fail-provider-domain-with-slash.md": Fail("domain"),
    "fail-weburl-www-dot-and-no-provider-domain.md": Fail(),
    "fail-duplicate-weburl-key.md": Fail("webUrl"),
    # YAML 1.1 oddities, read the YAML 1.2 way
    "yaml12-quality-010-is-10-or-fails.md": Yaml12("quality", or_fail=True, quality=10),
    "fail-yaml11-heat-sexagesimal-1-30.md": Fail("heat"),
    "fail-yaml11-published-on.md": Fail("published"),
    "yaml12-topics-NO-and-on-are-names.md": Yaml12(topics=["NO", "on"]),
    # Control characters
    "fail-control-chars-escaped-in-title.md": Fail("title"),
    "fail-nul-escaped-in-title.md": Fail("title"),
    "fail-control-char-raw-in-title.md": Fail(),
    # Taxonomy
    "fail-taxonomy-id-with-space.yaml": Fail("_id"),
    "fail-taxonomy-id-with-slash-and-angle.yaml": Fail("_id"),
    "drop-or-fail-taxonomy-bad-urls.yaml": DropsOrFails(
        "images",
        images=["https://img.hostile.example/topic.jpg"],
        service_urls=["https://hostile.example/api/companies/"],
    ),
}


def test_every_regression_file_has_an_expected_outcome_and_is_small():
    on_disk = {p.name for p in HOSTILE_DIR.iterdir()}
    assert on_disk == set(HOSTILE_FILES)
    for name in on_disk:
        assert (HOSTILE_DIR / name).stat().st_size <= 2048, name
        assert name.startswith(HOSTILE_FILES[name].prefix), name


def _twin(name: str, data: bytes, n: int | None = None) -> bytes | None:
    """A good file the hostile one would overwrite: same webUrl (news) or name (taxonomy)."""
    text = data.decode("utf-8", "replace")
    if name.endswith(".yaml"):
        found = re.search(r"^name: (.+)$", text, re.MULTILINE)
        if not found:
            return None
        topic = found.group(1).strip()
        slug = re.sub(r"[^a-z0-9]+", "-", topic.lower()).strip("-")
        return f"taxonomy: topic\n_id: {slug}\nname: {topic}\n".encode()
    found = re.search(r'^webUrl: "(https://hostile\.example/[^"]+)"$', text, re.MULTILINE)
    n = next(_serial) if n is None else n
    return COMPANION_NEWS.format(n=n, web_url=found.group(1)).encode() if found else None


def article_values(path: Path) -> dict:
    article = Article.objects.get(source_path=str(path))
    values = values_of(article)
    return {
        **values,
        "image_urls": [i["url"] for i in values["images"]],
        "coverage_urls": [c["url"] for c in values["coverage"]],
        "coverage_image_urls": [[i.get("url") for i in c["images"]] for c in values["coverage"]],
        "logo_urls": [logo.get("url") for logo in article.provider.logos],
    }


def topic_values(name: str) -> dict:
    slug = re.search(r"^_id: (.+)$", (HOSTILE_DIR / name).read_text(), re.MULTILINE).group(1)
    topic = Topic.objects.get(slug=slug.strip().strip('"'))
    services = [v.get("url") if isinstance(v, dict) else v for v in topic.services.values()]
    return {"images": topic.images, "service_urls": [s for s in services if s]}


REGRESSION_CASES = [
    (name, scenario)
    for name in sorted(HOSTILE_FILES)
    for scenario in ("fresh", "over-existing")
    # A file whose identity (webUrl) is itself the hostile value has no good twin.
    if scenario == "fresh" or _twin(name, (HOSTILE_DIR / name).read_bytes(), n=0) is not None
]


@pytest.mark.parametrize(("name", "scenario"), REGRESSION_CASES)
def test_regression_file(name, scenario):
    """Fresh, and over a good twin imported first (same webUrl, or same topic name)."""
    expect = HOSTILE_FILES[name]
    data = (HOSTILE_DIR / name).read_bytes()
    original = _twin(name, data) if scenario == "over-existing" else None
    with rolled_back():
        run = import_case(f"{name} ({scenario})", name, data, original=original)
        path = run.files[[p.name for p in run.files].index(name)]
        failure = run.failure(path)
        if expect.prefix == "fail-" or (expect.or_fail and failure):
            assert failure is not None, f"{name}: expected a failure, got {run.action(path)!r}" + (
                f", storing {_expected_part(path, name, expect)}" if expect.values else ""
            )
            for word in expect.mentions:
                assert word in failure["error"], (
                    f"{name}: the failure does not name {word!r}: {failure['error']}"
                )
            return
        assert failure is None, f"{name}: expected an import, got: {failure['error']}"
        warnings = run.warnings_for(path)
        for entry in expect.dropped:
            label = re.compile(rf"(?<![\w.\]]){re.escape(entry)}(?![\w\[.])")
            assert any(label.search(w) for w in warnings), (
                f"{name}: no warning about dropping {entry}: {warnings}"
            )
        actual = _expected_part(path, name, expect)
        assert actual == expect.values, f"{name}: stored {actual}, expected {expect.values}"


def _expected_part(path: Path, name: str, expect: Expect) -> dict:
    values = topic_values(name) if name.endswith(".yaml") else article_values(path)
    return {key: values.get(key) for key in expect.values}


# ---------------------------------------------------------------------------
# Big generated lists
# ---------------------------------------------------------------------------


def big_file(kind: str, count: int) -> bytes:
    head = COMPANION_NEWS.format(n=0, web_url=f"https://hostile.example/news/big-{kind}")
    front, _, _ = head.rpartition("---\n\n")
    front = front.replace('title: "Companion story 0', f'title: "Big list of {count} {kind}')
    front = re.sub(r"\ntopics:\n(  - .*\n)+", "\n", front)
    front = re.sub(r"\nimages:\n(  .*\n)+", "\n", front)
    front = re.sub(r"\nrelated:\n(  .*\n)+", "\n", front)
    if kind == "topics":
        block = "topics:\n" + "".join(f"  - Generated topic {i}\n" for i in range(count))
    elif kind == "images":
        block = "images:\n" + "".join(
            f'  - url: "https://img.hostile.example/{i}.jpg"\n    width: 10\n    height: 10\n'
            for i in range(count)
        )
    else:
        block = "related:\n" + "".join(
            f'  - title: "Coverage {i}"\n    publishedDateTime: 2026-02-04T10:00:00Z\n'
            f'    webUrl: "https://elsewhere.example/coverage/{i}"\n    quality: {i % 200}\n'
            for i in range(count)
        )
    front = front.replace('\nsecured: "', "\n" + block + '\nsecured: "')
    return (front + "---\n\n").encode()


@pytest.mark.parametrize(
    ("kind", "count"), [("topics", 10_000), ("related", 2_000), ("images", 2_000)]
)
def test_big_generated_lists(kind, count):
    """Imported whole or refused in one line; either way within bounded time and memory."""
    data = big_file(kind, count)
    with rolled_back():
        run = import_case(
            f"{count} {kind}",
            f"big-{kind}.md",
            data,
            cpu_limit=BIG_CASE_CPU_SECONDS,
            wall_limit=BIG_CASE_WALL_SECONDS,
            peak_limit=BIG_CASE_PEAK_BYTES,
        )
        path = next(p for p in run.files if p.name == f"big-{kind}.md")
        if run.failure(path) is None:
            values = values_of(Article.objects.get(source_path=str(path)))
            stored = {
                "topics": values["topics"],
                "images": values["images"],
                "related": values["coverage"],
            }
            assert len(stored[kind]) == count, f"{kind}: {len(stored[kind])} of {count} stored"
