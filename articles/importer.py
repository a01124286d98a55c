"""The import pipeline: discover -> skip unchanged -> parse -> upsert in batches -> report.

`Importer(...).run(paths)` returns a `Report` and never prints; the management
command shows it. Files are parsed by `itemfile` (in worker processes for large
runs); everything the database needs is fetched once per batch, so the number of
queries grows with the number of batches, not with the number of files.

Transactions: each batch is one transaction. If the database refuses a batch, it is
redone one file at a time, each in its own savepoint, so one bad file never takes
others with it and nothing of a failed file stays behind. A batch reads the articles
it will write under a row lock (`_lock_articles`), so an editor's change committed
meanwhile is merged (kept, and reported when the file changed the field too), never
overwritten; an article an editor took down is never published again by an import.

The run's ImportRun row is "running" until the run ends "finished" or "failed" (with
a one-line reason); its counts are saved in every batch's transaction, so they tell
what the committed batches did even when the run dies later.
"""

from __future__ import annotations

import glob
import hashlib
import logging
import os
import socket
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from functools import partial
from multiprocessing import get_context
from pathlib import Path

from django.conf import settings
from django.db import DatabaseError, IntegrityError, connections, models, router, transaction
from django.utils import timezone
from django.utils.text import slugify

from . import itemfile
from .caching import invalidate_public_pages
from .itemfile import FileError, Item, TaxonomyEntry
from .merge import Conflict, merge
from .models import (
    SLUG_MAX_LENGTH,
    Article,
    ArticleImage,
    ImportRun,
    Provider,
    RelatedCoverage,
    TaggedTopic,
    Topic,
    make_slug,
)
from .rendering import RenderError, render_markdown

logger = logging.getLogger("newsroom.import")

# The article columns the merge sets one by one; the lists are rewritten as a whole.
SCALAR_FIELDS = (*itemfile.PLAIN_FIELDS, "published_at", "status")
LIST_FIELDS = ("topics", "images", "coverage")
# Parsing in worker processes pays off only past this many files to parse.
PARALLEL_THRESHOLD = 64
# Tries for a file whose write collided with a concurrent import (see _retry_single).
CONFLICT_RETRIES = 3
# PostgreSQL's deadlock_detected and serialization_failure: the other side won, retry.
_RETRYABLE_SQLSTATES = {"40P01", "40001"}


def _lost_a_race(error: DatabaseError) -> bool:
    return isinstance(error, IntegrityError) or (
        getattr(error.__cause__, "sqlstate", None) in _RETRYABLE_SQLSTATES
    )


# How much of an exception's message a failed run's reason keeps.
REASON_MAX_CHARS = 500


class Terminated(BaseException):
    """Raised by the command's SIGTERM handler: ends a run as Ctrl-C does.

    A BaseException, like KeyboardInterrupt, so that no `except Exception` on the
    way (one file's failure) swallows it.
    """


def failure_reason(error: BaseException) -> str:
    """Why a run ended early, in one line: the exception's class and first line."""
    if isinstance(error, KeyboardInterrupt):
        return "interrupted (KeyboardInterrupt)"
    first = next(iter(str(error).strip().splitlines()), "").strip()
    if isinstance(error, Terminated):
        reason = first or "terminated"
    else:
        reason = f"{type(error).__name__}: {first}" if first else type(error).__name__
    return reason if len(reason) <= REASON_MAX_CHARS else reason[: REASON_MAX_CHARS - 1] + "…"


@dataclass
class Report:
    files: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    topics: int = 0  # taxonomy files that created or updated a topic
    failures: list[dict] = field(default_factory=list)
    conflicts: list[dict] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    # What a dry run would do / what a run did, file by file: (action, path).
    actions: list[tuple[str, str]] = field(default_factory=list)
    run: ImportRun | None = None

    @property
    def failed(self) -> int:
        return len(self.failures)

    @property
    def ok(self) -> bool:
        return not self.failures

    def summary(self) -> str:
        return (
            f"{self.created} created, {self.updated} updated, {self.unchanged} unchanged, "
            f"{len(self.conflicts)} conflicts, {self.failed} failed"
        )


@dataclass
class _Parsed:
    path: str
    digest: str
    result: Item | TaxonomyEntry | FileError
    body_html: str = ""  # an Item's body, rendered while parsing


def discover(paths: Iterable[str]) -> tuple[list[Path], list[FileError]]:
    """Expand files, directories (recursively) and globs; stable order, YAML files first.

    Taxonomy files are usually `.yaml`: loading them first means news items find
    their topics already described.
    """
    found: dict[str, Path] = {}
    errors = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            candidates = (p for p in path.rglob("*") if p.is_file())
        elif path.is_file():
            candidates = [path]
        elif glob.has_magic(raw):
            matches = [Path(p) for p in glob.glob(raw, recursive=True)]
            candidates = []
            for match in matches:
                candidates += (
                    [p for p in match.rglob("*") if p.is_file()] if match.is_dir() else [match]
                )
            if not matches:
                errors.append(FileError(raw, "no file matches this pattern"))
        else:
            errors.append(FileError(raw, "no such file or directory"))
            continue
        for candidate in candidates:
            if candidate.suffix.lower() in itemfile.SUFFIXES and candidate.name.upper() not in {
                "README.MD",
                "SCHEMA.MD",
            }:
                found.setdefault(str(candidate), candidate)
    ordered = sorted(
        found.values(),
        key=lambda p: (p.suffix.lower() not in itemfile.YAML_SUFFIXES, str(p)),
    )
    return ordered, errors


def limits_from_settings() -> itemfile.Limits:
    return itemfile.Limits(
        max_bytes=settings.NEWSROOM_IMPORT_MAX_BYTES,
        max_body_bytes=settings.NEWSROOM_IMPORT_MAX_BODY_BYTES,
        max_topics=settings.NEWSROOM_IMPORT_MAX_TOPICS,
        max_images=settings.NEWSROOM_IMPORT_MAX_IMAGES,
        max_coverage=settings.NEWSROOM_IMPORT_MAX_COVERAGE,
    )


def _parse_job(job) -> tuple[Item | TaxonomyEntry | FileError, str]:
    """Parse one file and render its body: (result, body HTML). Runs in the workers.

    Never raises: whatever a file does, it becomes that file's one-line FileError.
    Rendering happens here, not in the batch's transaction, so a slow body holds no
    database lock and fails only its own file.
    """
    path, data, limits, base_url, time_limit = job
    try:
        result = itemfile.parse(path, data, limits=limits, base_url=base_url)
        if not isinstance(result, Item) or not result.body:
            return result, ""
        try:
            return result, render_markdown(result.body, time_limit=time_limit)
        except RenderError as exc:
            return FileError(path, str(exc), expected="a Markdown body that renders"), ""
    except Exception as exc:  # noqa: BLE001 - the last line of defence: one file, one line
        return _unexpected(path, "read", exc), ""


def _parse_many(jobs):
    return [_parse_job(job) for job in jobs]


def _parse_alone(job):
    """Parse one file in a process of its own: a file that kills its parser fails alone."""
    with ProcessPoolExecutor(max_workers=1, mp_context=get_context("fork")) as one:
        try:
            return one.submit(_parse_job, job).result()
        except BrokenProcessPool:
            return FileError(job[0], "the parser process died reading this file"), ""


class _InFlight(list):
    """A batch being parsed in the workers: (jobs of a chunk, future of their results)."""


def _unexpected(path, doing, exc) -> FileError:
    """An error nobody foresaw: one line for the user, the traceback at debug level."""
    logger.debug("unexpected error while the import %s %s", doing, path, exc_info=exc)
    return FileError(path, f"could not be {doing}: {type(exc).__name__}: {exc}")


class Importer:
    def __init__(
        self,
        *,
        dry_run: bool = False,
        batch_size: int = 250,
        workers: int | None = None,
        limits: itemfile.Limits | None = None,
        base_url: str | None = None,
        command: str = "",
        progress: Callable[[int, int], None] | None = None,
    ):
        self.dry_run = dry_run
        self.batch_size = batch_size
        self.workers = workers if workers is not None else min(2, os.cpu_count() or 1)
        self.limits = limits or limits_from_settings()
        self.render_time_limit = settings.NEWSROOM_RENDER_TIME_LIMIT
        self.base_url = settings.NEWSROOM_SOURCE_BASE_URL if base_url is None else base_url
        self.command = command
        self.progress = progress
        self.report = Report()
        self._pending_parents: list[tuple[int, str, list[str], str]] = []
        self._digests: dict[str, str] = {}
        # webUrl -> the first file of this run that holds it: a second file with the
        # same webUrl fails instead of flipping the article between two versions.
        self._web_urls: dict[str, str] = {}
        self._executor: ProcessPoolExecutor | None = None
        self._run: ImportRun | None = None
        self._saved_progress = None  # the counts the run's row holds (see _save_progress)

    # -- the run ----------------------------------------------------------------

    def run(self, paths: Iterable[str]) -> Report:
        paths = [str(path) for path in paths]
        files, errors = discover(paths)
        report = self.report
        report.files = len(files)
        for error in errors:
            self._fail(error)
        run = None
        if not self.dry_run:
            # Runs killed before they could say so (SIGKILL) stop showing as running.
            ImportRun.objects.mark_abandoned()
            run = ImportRun.objects.create(
                command=self.command,
                paths=paths,
                files=len(files),
                status=ImportRun.Status.RUNNING,
                hostname=socket.gethostname(),
                pid=os.getpid(),
                heartbeat_at=timezone.now(),
            )
            report.run = run
        self._run = run

        try:
            if self.dry_run:
                with transaction.atomic():
                    self._process(files)
                    transaction.set_rollback(True)
            else:
                self._process(files)
                self._save_progress(finished=True)
        except BaseException as exc:
            # Database gone, MemoryError, Ctrl-C, SIGTERM (Terminated): the run says it
            # failed and why; its counts stay those of the batches it committed.
            self._record_failure(exc)
            raise
        logger.info(
            "import %s: %s (%d files)%s",
            run.pk if run else "dry-run",
            report.summary(),
            report.files,
            " [dry run]" if self.dry_run else "",
        )
        return report

    def _process(self, files: list[Path]):
        done = 0
        total = len(files)
        batches = [files[i : i + self.batch_size] for i in range(0, total, self.batch_size)]
        parallel = self.workers > 1 and total >= PARALLEL_THRESHOLD
        self._executor = self._new_pool() if parallel else None
        try:
            pending = None  # one batch parses in the workers while the previous one is written
            for batch in batches:
                jobs, skipped = self._prefilter(batch)
                parsing = self._submit(jobs) if self._executor else _parse_many(jobs)
                if pending is not None:
                    done += self._apply_parsed(*pending)
                    self._tick(done, total)
                pending = (jobs, parsing, skipped)
            if pending is not None:
                done += self._apply_parsed(*pending)
                self._tick(done, total)
        finally:
            if self._executor is not None:
                self._executor.shutdown()
            self._resolve_parents()

    def _new_pool(self):
        return ProcessPoolExecutor(max_workers=self.workers, mp_context=get_context("fork"))

    def _submit(self, jobs):
        """Futures of the batch's results, in two chunks so that both workers are busy."""
        half = max(1, len(jobs) // self.workers + 1)
        chunks = [jobs[i : i + half] for i in range(0, len(jobs), half)]
        try:
            return _InFlight((chunk, self._executor.submit(_parse_many, chunk)) for chunk in chunks)
        except BrokenProcessPool:
            self._executor = self._new_pool()
            return _InFlight((chunk, self._executor.submit(_parse_many, chunk)) for chunk in chunks)

    def _results(self, parsing):
        """The parsed results of a batch; `parsing` is a list of results or of futures.

        A worker that dies (out of memory, killed) breaks the whole pool: the files of
        its chunk are then parsed again one per process, so that only the file that
        kills its parser fails, and the pool is started afresh for the next batches.
        """
        if not isinstance(parsing, _InFlight):
            return parsing
        results = []
        for chunk, future in parsing:
            try:
                results += future.result()
            except BrokenProcessPool:
                results += [_parse_alone(job) for job in chunk]
                if self._executor is not None and getattr(self._executor, "_broken", False):
                    self._executor.shutdown(wait=False)
                    self._executor = self._new_pool()
        return results

    def _apply_parsed(self, jobs, parsing, skipped) -> int:
        """Write one parsed batch."""
        self._apply(
            [
                _Parsed(job[0], self._digests.pop(job[0]), result, body_html)
                for job, (result, body_html) in zip(jobs, self._results(parsing), strict=True)
            ]
        )
        return len(jobs) + skipped

    def _tick(self, done, total):
        # After each batch: the counts of files that needed no write (unchanged, unreadable,
        # invalid), which _write could not save in a batch's transaction.
        self._save_progress(only_if_changed=True)
        if self.progress:
            self.progress(done, total)

    # -- before parsing: skip what has not changed since the last import ---------

    def _prefilter(self, batch: list[Path]):
        """Read and hash a batch; return the files to parse and how many were unchanged.

        An unchanged file still claims its webUrl for this run, and a file renamed
        since the last import gets its new path recorded.
        """
        read = []
        max_bytes = self.limits.max_bytes
        for path in batch:
            name = str(path)
            try:
                size = path.stat().st_size
                if size > max_bytes:
                    self._fail(itemfile.too_large_error(name, size, max_bytes))
                    continue
                data = path.read_bytes()
            except OSError as exc:
                self._fail(FileError(name, f"cannot read the file: {exc.strerror or exc}"))
                continue
            read.append((name, data, hashlib.sha256(data).hexdigest()))
        known = {
            digest: (pk, web_url, source_path)
            for digest, pk, web_url, source_path in Article.objects.filter(
                import_hash__in=[d for _, _, d in read]
            ).values_list("import_hash", "pk", "web_url", "source_path")
        }
        jobs = []
        skipped = 0
        for name, data, digest in read:
            if digest not in known:
                self._digests[name] = digest
                jobs.append((name, data, self.limits, self.base_url, self.render_time_limit))
                continue
            skipped += 1
            pk, web_url, source_path = known[digest]
            if not self._claim_web_url(web_url, name):
                continue
            self.report.unchanged += 1
            self.report.actions.append(("unchanged", name))
            if source_path != name:
                Article.objects.filter(pk=pk).update(source_path=name)
        return jobs, skipped + (len(batch) - len(read))

    def _claim_web_url(self, web_url: str, path: str) -> bool:
        """Record that `path` holds `web_url`; False (and the file failed) if another
        file of this run already does."""
        first = self._web_urls.setdefault(web_url, path)
        if first == path:
            return True
        self._fail(
            FileError(
                path,
                f"webUrl {web_url} is also the webUrl of {first}, earlier in this run",
                expected="one file per webUrl (remove or merge one of the two)",
            )
        )
        return False

    # -- writing a batch -----------------------------------------------------------

    def _apply(self, parsed: list[_Parsed]):
        good = []
        for entry in parsed:
            result = entry.result
            if isinstance(result, FileError):
                self._fail(result)
            elif isinstance(result, Item) and not self._claim_web_url(result.web_url, entry.path):
                pass
            else:
                for warning in result.warnings:
                    self.report.warnings.append(f"{entry.path}: {warning}")
                good.append(entry)
        if good:
            self._apply_group(good)

    def _apply_group(self, group: list[_Parsed]):
        state = self._snapshot()
        try:
            with transaction.atomic():
                self._write(group)
            return
        except Exception as exc:  # noqa: BLE001 - any failure: find the file that caused it
            self._restore(state)
            if len(group) == 1:
                self._retry_single(group[0], exc)
                return
        for entry in group:  # isolate the file that fails
            state = self._snapshot()
            try:
                with transaction.atomic():
                    self._write([entry])
            except Exception as exc:  # noqa: BLE001 - fails this file alone
                self._restore(state)
                self._retry_single(entry, exc)

    def _retry_single(self, entry: _Parsed, first_error: Exception):
        # A concurrent import may have created the same article, slug, provider or
        # topic a moment ago: a retry sees it and updates (or picks another slug)
        # instead of inserting. With several imports at once a file can lose more
        # than one race, so it gets a few tries.
        error = first_error
        for _ in range(CONFLICT_RETRIES):
            if not (isinstance(error, DatabaseError) and _lost_a_race(error)):
                break
            state = self._snapshot()
            try:
                with transaction.atomic():
                    self._write([entry])
                return
            except Exception as exc:  # noqa: BLE001 - judged by the loop
                self._restore(state)
                error = exc
        if isinstance(error, DatabaseError):
            self._fail(FileError(entry.path, f"the database refused it: {error}"))
        else:
            self._fail(_unexpected(entry.path, "written", error))

    def _snapshot(self):
        r = self.report
        return (
            r.created,
            r.updated,
            r.unchanged,
            len(r.conflicts),
            len(r.actions),
            len(self._pending_parents),
            r.topics,
        )

    def _restore(self, state):
        r = self.report
        r.created, r.updated, r.unchanged = state[0], state[1], state[2]
        del r.conflicts[state[3] :]
        del r.actions[state[4] :]
        del self._pending_parents[state[5] :]
        r.topics = state[6]

    def _write(self, group: list[_Parsed]):
        taxonomy = [e for e in group if isinstance(e.result, TaxonomyEntry)]
        items = [e for e in group if isinstance(e.result, Item)]
        for entry in taxonomy:
            self._write_taxonomy(entry)
        if items:
            self._write_items(items)
        # In the batch's transaction: the run's counts commit (or roll back) with it.
        self._save_progress()

    # -- the run's record -----------------------------------------------------------

    def _progress_state(self):
        r = self.report
        return (
            r.created,
            r.updated,
            r.unchanged,
            r.topics,
            len(r.conflicts),
            len(r.failures),
            len(r.warnings),
        )

    def _save_progress(self, *, only_if_changed=False, finished=False):
        """Write the run's counts and a heartbeat to its ImportRun row.

        Called at the end of every batch's transaction, so the row always tells what
        the committed batches did, even if the run dies afterwards. The lists
        (failures, conflicts, warnings) only grow, so they are written only when
        longer than what the row holds.
        """
        run = self._run
        if run is None:
            return
        r = self.report
        state = self._progress_state()
        saved = self._saved_progress
        if only_if_changed and state == saved:
            return
        now = timezone.now()
        values = {
            "created": r.created,
            "updated": r.updated,
            "unchanged": r.unchanged,
            "topics": r.topics,
            "conflicts": len(r.conflicts),
            "failed": r.failed,
            "heartbeat_at": now,
        }
        for index, name, items in (
            (4, "conflict_details", r.conflicts),
            (5, "failures", r.failures),
            (6, "warnings", r.warnings),
        ):
            if finished or saved is None or saved[index] != state[index]:
                values[name] = list(items)
        if finished:
            values.update(status=ImportRun.Status.FINISHED, finished_at=now, failure_reason="")
        ImportRun.objects.filter(pk=run.pk).update(**values)
        for name, value in values.items():
            setattr(run, name, value)

        def committed():
            self._saved_progress = state

        # Known to be in the row only once the batch commits (at once outside one).
        transaction.on_commit(committed)

    def _record_failure(self, error: BaseException):
        """Mark the run failed with a one-line reason; if even that fails, log it."""
        reason = failure_reason(error)
        run = self._run
        logger.error("import %s failed: %s", run.pk if run else "dry-run", reason)
        if run is None:
            return
        now = timezone.now()
        values = {"status": ImportRun.Status.FAILED, "failure_reason": reason, "finished_at": now}
        connection = connections[router.db_for_write(ImportRun)]
        for attempt in range(2):
            try:
                ImportRun.objects.filter(pk=run.pk).update(**values)
            except Exception as exc:  # noqa: BLE001 - best effort: the database may be gone
                problem = exc
                if attempt or connection.in_atomic_block:
                    break
                connection.close()  # a broken connection: try once more on a new one
            else:
                for name, value in values.items():
                    setattr(run, name, value)
                return
        logger.error("import %s: could not record its failure: %s", run.pk, problem)

    # -- taxonomy -----------------------------------------------------------------

    def _write_taxonomy(self, entry: _Parsed):
        tax: TaxonomyEntry = entry.result
        topic = (
            Topic.objects.filter(slug=tax.slug).first()
            or Topic.objects.filter(name=tax.name).first()
        )
        created = topic is None
        if created:
            topic = Topic(slug=tax.slug, name=tax.name)
        before = _topic_state(topic)
        if tax.kind == "topic" or created or topic.kind == Topic.Kind.TAG:
            topic.kind = tax.kind
            topic.name = tax.name if (tax.kind == "topic" or created) else topic.name
            topic.slug = tax.slug
            topic.short_name = tax.short_name
            topic.description = tax.description
            topic.keywords = tax.keywords
            topic.hashtags = tax.hashtags
            topic.images = tax.images
            topic.services = tax.services
            # A tag file for the same concept keeps its part (see below), or the two
            # files would overwrite each other on every run.
            tag_part = {"tag": topic.taxonomy_data["tag"]} if "tag" in topic.taxonomy_data else {}
            topic.taxonomy_data = {**tax.data, **tag_part}
        else:
            # A tag file for a concept that already has a topic file: the topic file
            # is the richer description; the tag only fills gaps.
            topic.description = topic.description or tax.description
            topic.taxonomy_data = {**topic.taxonomy_data, "tag": tax.data}
        if created or _topic_state(topic) != before:
            topic.save()
            self.report.created += created
            self.report.updated += not created
            self.report.topics += 1
            self.report.actions.append(("created" if created else "updated", entry.path))
        else:
            self.report.unchanged += 1
            self.report.actions.append(("unchanged", entry.path))
        if tax.parents:
            self._pending_parents.append((topic.pk, tax.kind, tax.parents, entry.path))

    def _resolve_parents(self):
        """Parents may be described by files read later, so they are linked at the end."""
        for topic_id, kind, parents, path in self._pending_parents:
            field = "name" if kind == "topic" else "slug"
            found = {
                getattr(t, field): t
                for t in Topic.objects.filter(**{f"{field}__in": parents}).exclude(pk=topic_id)
            }
            missing = [p for p in parents if p not in found]
            if missing:
                self.report.warnings.append(
                    f"{path}: parent {', '.join(repr(m) for m in missing)} has no taxonomy file; "
                    "not linked"
                )
            parent = next((found[p] for p in parents if p in found), None)
            if parent is not None:
                Topic.objects.filter(pk=topic_id).exclude(parent=parent).update(parent=parent)

    # -- news items -----------------------------------------------------------------

    def _write_items(self, entries: list[_Parsed]):
        items = [e.result for e in entries]
        providers = self._providers(items)
        topics = self._topics(items)
        existing = {a.web_url: a for a in _lock_articles([i.web_url for i in items])}
        now = timezone.now()
        new_articles: list[tuple[Article, dict]] = []
        changed_articles: list[Article] = []
        replace_lists: list[tuple[Article, dict, set[str]]] = []
        slugs = self._free_slugs([e for e in entries if e.result.web_url not in existing])

        for entry in entries:
            item: Item = entry.result
            theirs = item.field_values()
            article = existing.get(item.web_url)
            if article is None:
                article = Article(
                    provider=providers[item.provider_domain],
                    slug=slugs[entry.path],
                    body_html=entry.body_html,
                    went_live_at=now if theirs["status"] == Article.Status.PUBLISHED else None,
                    **{name: _db_value(name, theirs[name]) for name in SCALAR_FIELDS},
                )
                self._stamp(article, entry, theirs, conflicts=[])
                new_articles.append((article, theirs))
                self.report.created += 1
                self.report.actions.append(("created", entry.path))
                continue

            ours = article.current_values()
            merged, conflicts = merge(article.imported, ours, theirs)
            if (
                article.went_live_at is not None
                and ours["status"] != Article.Status.PUBLISHED
                and theirs["status"] == Article.Status.PUBLISHED
            ):
                # A takedown: the article was live and an editor took it down. Whatever
                # the file and the merge say, no import publishes it again.
                merged["status"] = ours["status"]
                if not any(c.field == "status" for c in conflicts):
                    conflicts.append(Conflict("status", ours["status"], theirs["status"]))
            changed = {name for name in merged if merged[name] != ours[name]}
            for name in changed & set(SCALAR_FIELDS):
                setattr(article, name, _db_value(name, merged[name]))
            if "provider" in changed:
                article.provider = providers[merged["provider"]]
            if "body" in changed:
                article.body_html = entry.body_html  # a changed body is the file's
            if article.status == Article.Status.PUBLISHED and article.went_live_at is None:
                article.went_live_at = now
            self._stamp(article, entry, theirs, conflicts)
            article.updated_at = now if changed else article.updated_at
            changed_articles.append(article)
            if changed & set(LIST_FIELDS):
                # A changed list is always the file's (the merge keeps ours otherwise).
                replace_lists.append((article, theirs, changed & set(LIST_FIELDS)))
            for conflict in conflicts:
                self.report.conflicts.append(
                    {"path": entry.path, "web_url": item.web_url, **conflict.to_dict()}
                )
            action = "updated" if changed else "unchanged"
            self.report.updated += bool(changed)
            self.report.unchanged += not changed
            self.report.actions.append((action + (" (conflicts)" if conflicts else ""), entry.path))

        if new_articles:
            _insert_articles([a for a, _ in new_articles])
        if changed_articles:
            Article.objects.bulk_update(
                changed_articles,
                [*SCALAR_FIELDS, "provider", "body_html", "went_live_at", "imported",
                 "import_hash", "source_path", "last_import_run", "import_conflicts",
                 "updated_at"],
                batch_size=500,
            )  # fmt: skip

        # Child rows: all of a new article's, and the changed lists of an updated one.
        rows = [(a, values, set(LIST_FIELDS)) for a, values in new_articles] + replace_lists
        if replace_lists:
            ids_by_field = {
                name: [a.pk for a, _, f in replace_lists if name in f] for name in LIST_FIELDS
            }
            TaggedTopic.objects.filter(content_object_id__in=ids_by_field["topics"]).delete()
            ArticleImage.objects.filter(article_id__in=ids_by_field["images"]).delete()
            RelatedCoverage.objects.filter(article_id__in=ids_by_field["coverage"]).delete()
        self._write_children(rows, topics)
        if new_articles or changed_articles:
            invalidate_public_pages()  # bulk writes send no signals for the page cache
        self._link_related_stories(
            [a for a, _ in new_articles], [a for a, _, f in rows if "coverage" in f]
        )

    def _stamp(self, article: Article, entry: _Parsed, theirs: dict, conflicts):
        article.imported = theirs
        article.import_hash = entry.digest
        article.source_path = entry.path
        article.last_import_run = self._run
        article.import_conflicts = [c.to_dict() for c in conflicts]

    def _write_children(self, rows, topics: dict[str, Topic]):
        """Insert the topic links, images and coverage of a batch (plain rows, see insert_rows)."""
        tagged, images, coverage = [], [], []
        for article, values, fields in rows:
            if "topics" in fields:
                tagged += [
                    {"content_object": article.pk, "tag": topics[name].pk}
                    for name in values["topics"]
                ]
            if "images" in fields:
                images += [
                    {
                        "article": article.pk,
                        "position": position,
                        "url": d["url"],
                        "width": d.get("width"),
                        "height": d.get("height"),
                        "is_cached": d.get("is_cached"),
                        "title": d.get("title") or "",
                    }
                    for position, d in enumerate(values["images"])
                ]
            if "coverage" in fields:
                coverage += [
                    {
                        "article": article.pk,
                        "position": position,
                        "title": d["title"],
                        "excerpt": d.get("excerpt") or "",
                        "published_at": _parse_iso(d.get("published_at")),
                        "url": d["url"],
                        "amp_web_url": d.get("amp_web_url") or "",
                        "cdn_amp_web_url": d.get("cdn_amp_web_url") or "",
                        "type": d.get("type") or "",
                        "provider_name": d.get("provider_name") or "",
                        "provider_domain": d.get("provider_domain") or "",
                        "quality": d.get("quality"),
                        "images": d.get("images") or [],
                        "linked_article": None,
                    }
                    for position, d in enumerate(values["coverage"])
                ]
        if coverage:
            linked = dict(
                Article.objects.filter(web_url__in={c["url"] for c in coverage}).values_list(
                    "web_url", "id"
                )
            )
            for entry in coverage:
                target = linked.get(entry["url"])
                if target != entry["article"]:  # an item listing itself is not related to itself
                    entry["linked_article"] = target
        insert_rows(TaggedTopic, tagged)
        insert_rows(ArticleImage, images)
        insert_rows(RelatedCoverage, coverage)

    def _link_related_stories(self, new_articles: list[Article], with_new_coverage: list[Article]):
        """Coverage that points at an article on this site links the two as related stories."""
        pairs = set()
        if with_new_coverage:
            pairs |= set(
                RelatedCoverage.objects.filter(
                    article__in=with_new_coverage, linked_article__isnull=False
                ).values_list("article_id", "linked_article_id")
            )
        if new_articles:
            # Older coverage that names one of the new articles.
            by_url = {a.web_url: a.pk for a in new_articles}
            # Filtered by URL alone, so that the database uses the URL index (with
            # "linked_article IS NULL" in the query, SQLite scans that index instead).
            new_ids = set(by_url.values())
            waiting = [
                entry
                for entry in RelatedCoverage.objects.filter(url__in=by_url).only(
                    "id", "url", "article_id", "linked_article_id"
                )
                if entry.linked_article_id is None and entry.article_id not in new_ids
            ]
            for entry in waiting:
                entry.linked_article_id = by_url[entry.url]
                pairs.add((entry.article_id, entry.linked_article_id))
            RelatedCoverage.objects.bulk_update(waiting, ["linked_article"], batch_size=1000)
        through = Article.related_stories.through
        links = {(a, b) for a, b in pairs if a != b} | {(b, a) for a, b in pairs if a != b}
        through.objects.bulk_create(
            [through(from_article_id=a, to_article_id=b) for a, b in links],
            ignore_conflicts=True,
            batch_size=1000,
        )

    def _providers(self, items: list[Item]) -> dict[str, Provider]:
        wanted = {}
        for item in items:
            wanted.setdefault(item.provider_domain, item)
        found = {p.domain: p for p in Provider.objects.filter(domain__in=wanted)}
        # Sorted: concurrent imports then take the rows' locks in the same order and
        # wait for each other instead of deadlocking.
        missing = sorted(d for d in wanted if d not in found)
        if missing:
            Provider.objects.bulk_create(
                [
                    Provider(
                        domain=d,
                        name=wanted[d].provider_name,
                        logos=[logo.to_dict() for logo in wanted[d].provider_logos],
                    )
                    for d in missing
                ],
                ignore_conflicts=True,  # another import may create it at the same moment
            )
            found.update({p.domain: p for p in Provider.objects.filter(domain__in=missing)})
        # A provider first seen without a logo gets one when a later file has it.
        gained = [
            p
            for p in found.values()
            if not p.logos and wanted.get(p.domain) and wanted[p.domain].provider_logos
        ]
        for provider in gained:
            provider.logos = [logo.to_dict() for logo in wanted[provider.domain].provider_logos]
        if gained:
            Provider.objects.bulk_update(gained, ["logos"])
        return found

    def _topics(self, items: list[Item]) -> dict[str, Topic]:
        names = {name for item in items for name in item.topics}
        if not names:
            return {}
        found = {t.name: t for t in Topic.objects.filter(name__in=names)}
        missing = sorted(names - set(found))
        if missing:
            taken = set(
                Topic.objects.filter(slug__in=[slugify(n) for n in missing]).values_list(
                    "slug", flat=True
                )
            )
            new = []
            for name in missing:
                slug = slugify(name) or "topic"
                if slug in taken:
                    slug = f"{slug}-{hashlib.sha1(name.encode()).hexdigest()[:6]}"
                taken.add(slug)
                new.append(Topic(name=name, slug=slug))
            Topic.objects.bulk_create(new, ignore_conflicts=True)
            found.update({t.name: t for t in Topic.objects.filter(name__in=missing)})
        return found

    def _free_slugs(self, entries: list[_Parsed]) -> dict[str, str]:
        """A unique slug for each new article: date + title, with -2, -3... on a clash."""
        wanted = {e.path: make_slug(e.result.published_at, e.result.title) for e in entries}
        taken = set(
            Article.objects.filter(slug__in=set(wanted.values())).values_list("slug", flat=True)
        )
        result, widened = {}, set()
        for path, slug in wanted.items():
            candidate, n = slug, 1
            while candidate in taken:
                if slug not in widened:  # rare: fetch the numbered variants once
                    widened.add(slug)
                    taken |= set(
                        Article.objects.filter(slug__startswith=slug[:190]).values_list(
                            "slug", flat=True
                        )
                    )
                n += 1
                suffix = f"-{n}"
                candidate = slug[: SLUG_MAX_LENGTH - len(suffix)] + suffix
            taken.add(candidate)
            result[path] = candidate
        return result

    def _fail(self, error: FileError):
        self.report.failures.append(error.to_dict())
        self.report.actions.append(("failed", error.path))


def _lock_articles(web_urls: list[str]) -> list[Article]:
    """The batch's existing articles, read under a row lock held until the batch commits.

    The merge compares these rows with the file and bulk_update writes every scalar
    column back: read without a lock, an editor's change committed in between would
    be overwritten without a conflict. FOR NO KEY UPDATE (what an UPDATE takes):
    editors' writes wait for the batch, or the batch for them, and then sees them;
    rows that only point here (topic links, coverage) are not blocked. Locked in id
    order, as the editors' bulk actions lock (ArticleQuerySet.locked(), which says
    how on each database), so that no two wait for each other.
    """
    return list(
        Article.objects.filter(web_url__in=web_urls)
        .locked()
        .select_related("provider")
        .prefetch_related("tagged_topics__tag", "images", "coverage")
    )


def _insert_articles(articles: list[Article]):
    """Insert new articles (as insert_rows does), then read their ids back in one query."""
    now = timezone.now()
    fields = [f for f in Article._meta.concrete_fields if not f.primary_key]
    rows = []
    for article in articles:
        article.created_at = article.updated_at = now
        rows.append({f.name: getattr(article, f.attname) for f in fields})
    insert_rows(Article, rows)
    ids = dict(
        Article.objects.filter(web_url__in=[a.web_url for a in articles]).values_list(
            "web_url", "id"
        )
    )
    for article in articles:
        article.pk = ids[article.web_url]
        article._state.adding = False


def insert_rows(model, rows: list[dict]):
    """INSERT plain rows with one executemany.

    The import's hot path: a batch has about ten child rows per item, and building
    model instances and compiling their SQL through the ORM took most of the import's
    time. Dates and JSON are adapted by the database backend's own adapters (what the
    model fields would call); everything else is plain str/int/bool/None, which every
    driver takes as is.
    """
    if not rows:
        return
    db = connections[router.db_for_write(model)]
    ops = db.ops
    fields = [model._meta.get_field(name) for name in rows[0]]
    columns = ", ".join(ops.quote_name(field.column) for field in fields)
    placeholders = ", ".join(["%s"] * len(fields))
    sql = f"INSERT INTO {ops.quote_name(model._meta.db_table)} ({columns}) VALUES ({placeholders})"
    adapters = []
    for index, model_field in enumerate(fields):
        if isinstance(model_field, models.JSONField):
            adapters.append((index, partial(_adapt_json, ops, model_field.encoder)))
        elif isinstance(model_field, models.DateTimeField):
            adapters.append((index, ops.adapt_datetimefield_value))
        elif isinstance(model_field, models.FileField):
            adapters.append((index, _adapt_file))
    params = []
    for row in rows:
        values = list(row.values())
        for index, adapt in adapters:
            values[index] = adapt(values[index])
        params.append(values)
    with db.cursor() as cursor:
        cursor.executemany(sql, params)


def _adapt_json(ops, encoder, value):
    return None if value is None else ops.adapt_json_value(value, encoder)


def _adapt_file(value):
    return str(value) if value else ""


def _db_value(name, value):
    """A merged JSON value as the model field wants it."""
    if name == "published_at":
        return _parse_iso(value)
    if value is None and name not in ("quality", "heat"):
        return ""
    return value


def _parse_iso(value):
    import datetime as dt

    if not value:
        return None
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))


def _topic_state(topic: Topic):
    return (
        topic.kind,
        topic.name,
        topic.slug,
        topic.short_name,
        topic.description,
        topic.keywords,
        topic.hashtags,
        topic.images,
        topic.services,
        topic.taxonomy_data,
    )
