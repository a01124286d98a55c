"""The import, in stages: sources -> skip unchanged -> parse -> write in batches -> ImportRun.

`Importer(...).run(paths)` imports files on disk; `Importer(...).run_sources(sources)`
imports any `sources.Source` list, uploaded bytes included (`sources.uploaded()`). The
stages:

1. sources (`sources.py`): what to import, in a stable order;
2. skip unchanged (`_prefilter`): a batch's files are read and hashed, and one query
   finds those whose bytes an article already holds: they are not parsed;
3. parse (`parsing.parsed_batches`): the other files, in worker processes for large
   runs, one batch parsing while the previous one is written;
4. write (`_commit` -> `_write`): each batch is one transaction, which returns one
   typed `FileOutcome` per file (created, updated, unchanged, conflict, failed, with
   the conflicts and warnings attached) and saves the run's counts with them. If the
   database refuses a batch, its outcomes are dropped and the batch is redone one
   file at a time, each in its own transaction, so one bad file never takes others
   with it and nothing of a failed file stays behind;
5. the run's `ImportRun`, the one record of what it did, and a read-only `Report`
   over it and the outcomes. Nothing is printed here: the caller shows the report.

Everything the database needs is fetched once per batch, so the number of queries
grows with the number of batches, not with the number of files. A batch reads the
articles it will write under a row lock (`_lock_articles`), so an editor's change
committed meanwhile is merged (kept, and reported when the file changed the field
too), never overwritten; an article an editor took down is never published again by
an import.

The run's ImportRun row is "running" until the run ends "finished" or "failed" (with
a one-line reason); its counts are saved in every batch's transaction, so they tell
what the committed batches did even when the run dies later.
"""

from __future__ import annotations

import enum
import hashlib
import logging
import os
import socket
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from django.conf import settings
from django.db import DatabaseError, IntegrityError, connections, router, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.text import slugify

from .. import changes, clock, revisions
from ..models import (
    SLUG_MAX_LENGTH,
    Article,
    ArticleImage,
    ImportRun,
    Provider,
    RelatedCoverage,
    TaggedTopic,
    Topic,
    embargo_refusal,
    go_live_for_future_date,
    id_batches,
    local_text,
    make_slug,
    status_change,
    went_live_at_for,
)
from ..stories import articles_by_url_keys
from ..stories.grouping import remember as remember_descriptions
from . import itemfile, parsing, schema
from .bulk import insert_articles, insert_rows, update_rows
from .itemfile import FileError, Item, TaxonomyEntry
from .merge import Conflict, merge
from .parsing import Parsed
from .snapshot import values_of
from .sources import Source, discover

logger = logging.getLogger("newsroom.import")

# The lists of the values snapshot, rewritten as a whole when they change.
LIST_FIELDS = ("topics", "images", "coverage")
ARTICLE_FIELDS = schema.ITEM_BY_NAME
# The columns an import writes on an article it updates.
_WRITTEN_ON_UPDATE = (
    *(f.column for f in schema.ITEM), "status", "provider", "body_html", "went_live_at",
    "go_live_at", "take_down_at", "imported", "import_hash", "source_path",
    "last_import_run", "import_conflicts", "updated_at",
)  # fmt: skip
# A topic's fields that its taxonomy file gives, merged as an article's are.
TOPIC_FIELDS = ("name", "short_name", "description", "keywords", "hashtags", "images", "services")
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


# -- what happened to each file ---------------------------------------------------------


class Outcome(enum.Enum):
    CREATED = "created"  # a new article, or a topic
    UPDATED = "updated"  # the file's changes were written
    UNCHANGED = "unchanged"  # nothing to write (same bytes, or same values)
    CONFLICT = "conflict"  # merged; some fields kept the editor's value (see `conflicts`)
    FAILED = "failed"  # nothing of the file was written (see `error`)


@dataclass(frozen=True)
class FileOutcome:
    path: str
    outcome: Outcome
    conflicts: tuple[dict, ...] = ()  # {path, web_url, field, ours, theirs}
    warnings: tuple[str, ...] = ()  # "path: what was dropped or guessed"
    error: FileError | None = None
    changed: bool = False  # CONFLICT: whether other fields took the file's value
    topic: bool = False  # a taxonomy file that created or updated a topic
    # A taxonomy file's parents, linked once every file is read: (topic id, kind, parents).
    parents: tuple | None = None
    # UPDATED or CONFLICT: each field the file changed, {field, old, new} (what a
    # preview shows the editor before anything is written).
    changes: tuple[dict, ...] = ()
    # A news item's article as the run found it before writing (`article_state`; ""
    # for other files): what a preview saw, which its confirmation checks again.
    seen: str = ""

    @property
    def counted_as(self) -> str:
        """created, updated, unchanged or failed: the run's counts add up to its files."""
        if self.outcome is Outcome.CONFLICT:
            return "updated" if self.changed else "unchanged"
        return self.outcome.value

    @property
    def action(self) -> str:
        """What the command lists at -v 2, such as `updated (conflicts)`."""
        return self.counted_as + (" (conflicts)" if self.outcome is Outcome.CONFLICT else "")


def failed(error: FileError, warnings=()) -> FileOutcome:
    return FileOutcome(error.path, Outcome.FAILED, error=error, warnings=tuple(warnings))


@dataclass(frozen=True)
class Counts:
    """What the run's outcomes add up to: the figures its ImportRun row holds."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    topics: int = 0
    failures: tuple[dict, ...] = ()
    conflicts: tuple[dict, ...] = ()
    warnings: tuple[str, ...] = ()

    def plus(self, outcomes: Iterable[FileOutcome] = (), warnings: Iterable[str] = ()) -> Counts:
        totals = {"created": self.created, "updated": self.updated, "unchanged": self.unchanged}
        topics, failures, conflicts, more_warnings = self.topics, [], [], []
        for outcome in outcomes:
            if outcome.error is not None:
                failures.append(outcome.error.to_dict())
            else:
                totals[outcome.counted_as] += 1
            topics += outcome.topic
            conflicts += outcome.conflicts
            more_warnings += outcome.warnings
        return Counts(
            **totals,
            topics=topics,
            failures=self.failures + tuple(failures),
            conflicts=self.conflicts + tuple(conflicts),
            warnings=self.warnings + tuple(more_warnings) + tuple(warnings),
        )

    def run_fields(self) -> dict:
        """The ImportRun fields these counts fill."""
        return {
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "topics": self.topics,
            "conflicts": len(self.conflicts),
            "failed": len(self.failures),
            "failures": list(self.failures),
            "conflict_details": list(self.conflicts),
            "warnings": list(self.warnings),
        }


@dataclass(frozen=True)
class Report:
    """What a run did, read-only: its ImportRun (saved, or for a dry run only in
    memory) and the outcome of each of its files."""

    run: ImportRun
    outcomes: tuple[FileOutcome, ...]

    files = property(lambda self: self.run.files)
    created = property(lambda self: self.run.created)
    updated = property(lambda self: self.run.updated)
    unchanged = property(lambda self: self.run.unchanged)
    topics = property(lambda self: self.run.topics)
    failed = property(lambda self: self.run.failed)
    failures = property(lambda self: self.run.failures)
    conflicts = property(lambda self: self.run.conflict_details)
    warnings = property(lambda self: self.run.warnings)

    @property
    def ok(self) -> bool:
        return not self.run.failed

    @property
    def actions(self) -> list[tuple[str, str]]:
        """(action, path) for each file, in the order they were decided."""
        return [(outcome.action, outcome.path) for outcome in self.outcomes]

    def summary(self) -> str:
        return self.run.summary

    def log_line(self) -> str:
        """The run's one summary line, as logged on newsroom.import."""
        name = "dry-run" if self.run.dry_run else self.run.pk
        dry = " [dry run]" if self.run.dry_run else ""
        return f"import {name}: {self.summary()} ({self.files} files){dry}"


def limits_from_settings() -> itemfile.Limits:
    return itemfile.Limits(
        max_bytes=settings.NEWSROOM_IMPORT_MAX_BYTES,
        max_body_bytes=settings.NEWSROOM_IMPORT_MAX_BODY_BYTES,
        max_topics=settings.NEWSROOM_IMPORT_MAX_TOPICS,
        max_images=settings.NEWSROOM_IMPORT_MAX_IMAGES,
        max_coverage=settings.NEWSROOM_IMPORT_MAX_COVERAGE,
    )


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
        log_summary: bool = True,
        expected: Mapping[str, str] | None = None,
    ):
        self.dry_run = dry_run
        self.batch_size = batch_size
        self.workers = workers if workers is not None else min(2, os.cpu_count() or 1)
        self.limits = limits or limits_from_settings()
        self.parse_settings = parsing.Settings(
            limits=self.limits,
            base_url=settings.NEWSROOM_SOURCE_BASE_URL if base_url is None else base_url,
            render_time_limit=settings.NEWSROOM_RENDER_TIME_LIMIT,
            describe_for_stories=not dry_run,  # a dry run groups nothing (see run_sources)
        )
        # What was asked, for the ImportRun: a command line, or "uploaded by <user>".
        self.command = command
        self.progress = progress
        # The summary is said once: logged here, unless the caller prints it (the
        # command at verbosity 1 and more).
        self.log_summary = log_summary
        # {file name: the article_state a preview saw}: an article whose state differs
        # now (an editor saved it since) is not written; its file is a conflict.
        self.expected = expected
        # Decided or committed outcomes only: a batch's count once it has committed.
        self.outcomes: list[FileOutcome] = []
        self.counts = Counts()
        self._saved: Counts | None = None  # what the run's row holds (see _save_progress)
        # webUrl -> the first file of this run that holds it: a second file with the
        # same webUrl fails instead of flipping the article between two versions.
        self._web_urls: dict[str, str] = {}
        self._names: frozenset[str] = frozenset()  # every file of this run, by name
        self._run: ImportRun | None = None

    # -- the run ----------------------------------------------------------------

    @property
    def record(self) -> ImportRun | None:
        """The run's ImportRun once it has started (unsaved in a dry run), even if it failed."""
        return self._run

    def run(self, paths: Iterable[str]) -> Report:
        """Import the files, directories (recursively) and globs of `paths`."""
        paths = [str(path) for path in paths]
        found, errors = discover(paths)
        return self.run_sources(found, errors=errors, asked=paths)

    def run_sources(
        self, sources: list[Source], *, errors: Iterable[FileError] = (), asked=None
    ) -> Report:
        """Import `sources`; `errors` are failures found before (a missing path), and
        `asked` what the ImportRun lists as asked for (the sources' names by default)."""
        run = ImportRun(
            command=self.command,
            paths=list(asked) if asked is not None else [s.name for s in sources],
            files=len(sources),
            dry_run=self.dry_run,
            status=ImportRun.Status.RUNNING,
            hostname=socket.gethostname(),
            pid=os.getpid(),
            heartbeat_at=timezone.now(),
        )
        self._decided([failed(error) for error in errors])
        self._names = frozenset(source.name for source in sources)
        if not self.dry_run:
            # Runs killed before they could say so (SIGKILL) stop showing as running.
            ImportRun.objects.mark_abandoned()
            run.save()
        self._run = run
        try:
            if self.dry_run:
                # Rolled back: its side effects (stories, revisions, heat, history)
                # change no file's outcome, so they are not computed at all.
                with transaction.atomic(), changes.unrecorded():
                    self._process(sources)
                    transaction.set_rollback(True)
            else:
                self._process(sources)
            self._save_progress(self.counts, finished=True)
        except BaseException as exc:
            # Database gone, MemoryError, Ctrl-C, SIGTERM (Terminated): the run says it
            # failed and why; its counts stay those of the batches it committed.
            self._record_failure(exc)
            raise
        report = Report(run, tuple(self.outcomes))
        if self.log_summary:
            logger.info(report.log_line(), extra={"run_id": run.pk})
        return report

    def _process(self, sources: list[Source]):
        total = len(sources)
        pending_parents = []
        batches = parsing.parsed_batches(
            self._read_batches(sources), self.parse_settings, workers=self.workers, files=total
        )
        done = 0
        try:
            for parsed, size in batches:
                for outcome in self._write_batch(parsed):
                    if outcome.parents:
                        pending_parents.append((*outcome.parents, outcome.path))
                done += size
                self._tick(done, total)
        finally:
            batches.close()  # stops the workers, whatever ended the loop
            self._decided(warnings=self._resolve_parents(pending_parents))

    def _read_batches(self, sources: list[Source]):
        """(files to parse, size) for each batch of sources, skipping unchanged ones."""
        for start in range(0, len(sources), self.batch_size):
            batch = sources[start : start + self.batch_size]
            yield self._prefilter(batch), len(batch)

    def _tick(self, done, total):
        # After each batch: the counts of files that needed no write (unchanged, unreadable,
        # invalid), which no batch transaction saved.
        if self.counts != self._saved:
            self._save_progress(self.counts)
            self._saved = self.counts
        if self.progress:
            self.progress(done, total)

    def _decided(self, outcomes: Iterable[FileOutcome] = (), warnings: Iterable[str] = ()):
        """Count outcomes that are final as they are (no transaction to wait for)."""
        outcomes = list(outcomes)
        self.outcomes += outcomes
        self.counts = self.counts.plus(outcomes, warnings)

    # -- before parsing: skip what has not changed since the last import ---------

    def _prefilter(self, batch: list[Source]) -> list[parsing.Job]:
        """Read and hash a batch; return the files to parse, decide the others.

        An unchanged file still claims its webUrl for this run, and a file renamed
        since the last import gets its new path recorded.
        """
        read, outcomes = [], []
        for source in batch:
            result = source.read(self.limits.max_bytes)
            if isinstance(result, FileError):
                outcomes.append(failed(result))
            else:
                read.append(parsing.Job(source.name, *result))
        known = {
            digest: (pk, web_url, source_path)
            for digest, pk, web_url, source_path in Article.objects.filter(
                import_hash__in=[job.digest for job in read]
            ).values_list("import_hash", "pk", "web_url", "source_path")
        }
        jobs = []
        for job in read:
            if job.digest not in known:
                jobs.append(job)
                continue
            pk, web_url, source_path = known[job.digest]
            claim = self._claim_web_url(web_url, job.name)
            if claim is not None:
                outcomes.append(claim)
                continue
            outcomes.append(FileOutcome(job.name, Outcome.UNCHANGED))
            if source_path != job.name:
                Article.objects.filter(pk=pk).update(source_path=job.name)
        self._decided(outcomes)
        return jobs

    def _claim_web_url(self, web_url: str, path: str) -> FileOutcome | None:
        """Record that `path` holds `web_url`; a failure if another file of this run
        already does."""
        first = self._web_urls.setdefault(web_url, path)
        if first == path:
            return None
        return failed(
            FileError(
                path,
                f"webUrl {web_url} is also the webUrl of {first}, earlier in this run",
                expected="one file per webUrl (remove or merge one of the two)",
            )
        )

    # -- writing a batch -----------------------------------------------------------

    def _write_batch(self, parsed: list[Parsed]) -> list[FileOutcome]:
        """Write one parsed batch; the outcomes of its files, once counted."""
        outcomes, ready = [], []
        for entry in parsed:
            result = entry.result
            if isinstance(result, FileError):
                outcomes.append(failed(result))
                continue
            claim = isinstance(result, Item) and self._claim_web_url(result.web_url, entry.name)
            if claim:
                outcomes.append(claim)
            else:
                ready.append(entry)
        self._decided(outcomes)
        if ready:
            outcomes += self._apply_group(ready)
        return outcomes

    def _apply_group(self, group: list[Parsed]) -> list[FileOutcome]:
        try:
            return self._commit(group)
        except Exception as exc:  # noqa: BLE001 - any failure: find the file that caused it
            if len(group) == 1:
                return [self._retry_single(group[0], exc)]
        outcomes = []
        for entry in group:  # isolate the file that fails; the others' outcomes are redone
            try:
                outcomes += self._commit([entry])
            except Exception as exc:  # noqa: BLE001 - fails this file alone
                outcomes.append(self._retry_single(entry, exc))
        return outcomes

    def _retry_single(self, entry: Parsed, first_error: Exception) -> FileOutcome:
        # A concurrent import may have created the same article, slug, provider or
        # topic a moment ago: a retry sees it and updates (or picks another slug)
        # instead of inserting. With several imports at once a file can lose more
        # than one race, so it gets a few tries.
        error = first_error
        for _ in range(CONFLICT_RETRIES):
            if not (isinstance(error, DatabaseError) and _lost_a_race(error)):
                break
            try:
                [outcome] = self._commit([entry])
                return outcome
            except Exception as exc:  # noqa: BLE001 - judged by the loop
                error = exc
        if isinstance(error, DatabaseError):
            problem = FileError(entry.name, f"the database refused it: {error}")
        else:
            problem = parsing.unexpected(entry.name, "written", error)
        outcome = failed(problem, _warnings(entry))
        self._decided([outcome])
        return outcome

    def _commit(self, group: list[Parsed]) -> list[FileOutcome]:
        """Write `group` in one transaction, which also saves the run's counts with the
        group's outcomes; they are counted once it has committed."""
        with transaction.atomic():
            outcomes = self._write(group)
            counts = self.counts.plus(outcomes)
            self._save_progress(counts)
        self.outcomes += outcomes
        self.counts = self._saved = counts
        return outcomes

    def _write(self, group: list[Parsed]) -> list[FileOutcome]:
        outcomes = [self._write_taxonomy(e) for e in group if isinstance(e.result, TaxonomyEntry)]
        items = [e for e in group if isinstance(e.result, Item)]
        if items:
            outcomes += self._write_items(items)
        return outcomes

    # -- the run's record -----------------------------------------------------------

    def _save_progress(self, counts: Counts, *, finished=False):
        """Write the run's counts and a heartbeat to its ImportRun row.

        Called in every batch's transaction, so the row always tells what the
        committed batches did, even if the run dies afterwards. The lists (failures,
        conflicts, warnings) only grow, so they are written only when longer than what
        the row holds. A dry run has no row: its ImportRun only holds the final counts.
        """
        run, saved = self._run, self._saved
        now = timezone.now()
        values = counts.run_fields()
        for name, held in (
            ("conflict_details", saved and saved.conflicts),
            ("failures", saved and saved.failures),
            ("warnings", saved and saved.warnings),
        ):
            if not finished and held is not None and len(held) == len(values[name]):
                del values[name]
        values["heartbeat_at"] = now
        if finished:
            values.update(status=ImportRun.Status.FINISHED, finished_at=now, failure_reason="")
        if not self.dry_run:
            ImportRun.objects.filter(pk=run.pk).update(**values)
        if finished:
            for name, value in values.items():
                setattr(run, name, value)

    def _record_failure(self, error: BaseException):
        """Mark the run failed with a one-line reason; if even that fails, log it."""
        reason = failure_reason(error)
        run = self._run
        logger.error("import %s failed: %s", run.pk if run and run.pk else "dry-run", reason)
        if run is None or self.dry_run:
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

    def _write_taxonomy(self, entry: Parsed) -> FileOutcome:
        tax: TaxonomyEntry = entry.result
        topic = (
            Topic.objects.filter(slug=tax.slug).first()
            or Topic.objects.filter(name=tax.name).first()
        )
        created = topic is None
        if created:
            topic = Topic(slug=tax.slug, name=tax.name)
        before = _topic_state(topic)
        warnings, conflicts = list(_warnings(entry)), []
        if tax.kind == "topic" or created or topic.kind == Topic.Kind.TAG:
            # What the last import took from a file, against which an editor's change
            # shows: the three-way merge of the articles', field by field.
            base_url = self.parse_settings.base_url
            base = itemfile.taxonomy_of(topic.taxonomy_data, base_url)
            # A description a tag file filled in (below) is the files', not an editor's.
            tag = itemfile.taxonomy_of(topic.taxonomy_data.get("tag"), base_url)
            if topic.slug != tax.slug:
                if created or base is None:
                    topic.slug = tax.slug  # its first taxonomy file gives its address
                else:
                    warnings.append(
                        f"{entry.name}: _id {tax.slug!r} is not the address of the topic "
                        f"{topic.name!r} ({topic.slug!r}), found by its name: the address "
                        "is kept"
                    )
            topic.kind = tax.kind
            # A tag file names a topic only when it makes it.
            names = [n for n in TOPIC_FIELDS if n != "name" or tax.kind == "topic" or created]
            for name in names:
                ours, theirs = getattr(topic, name), getattr(tax, name)
                was = getattr(base, name) if base else Topic._meta.get_field(name).get_default()
                filled = name == "description" and tag is not None and ours == tag.description
                if created or filled or ours in (theirs, was):
                    setattr(topic, name, theirs)
                elif theirs != was:  # both changed it: the editor's value stays
                    conflicts.append(
                        {"path": entry.name, "topic": topic.slug, "field": name}
                        | {"ours": ours, "theirs": theirs}
                    )
            # A tag file for the same concept keeps its part (see below), or the two
            # files would overwrite each other on every run.
            tag_part = {"tag": topic.taxonomy_data["tag"]} if "tag" in topic.taxonomy_data else {}
            topic.taxonomy_data = {**tax.data, **tag_part}
        else:
            # A tag file for a concept that already has a topic file: the topic file
            # is the richer description; the tag only fills gaps.
            topic.description = topic.description or tax.description
            topic.taxonomy_data = {**topic.taxonomy_data, "tag": tax.data}
        changed = created or _topic_state(topic) != before
        if changed:
            topic.save()
        if conflicts:
            outcome = Outcome.CONFLICT
        elif not changed:
            outcome = Outcome.UNCHANGED
        else:
            outcome = Outcome.CREATED if created else Outcome.UPDATED
        return FileOutcome(
            entry.name,
            outcome,
            conflicts=tuple(conflicts),
            warnings=tuple(warnings),
            changed=changed,
            topic=changed,
            parents=(topic.pk, tax.kind, tuple(tax.parents)) if tax.parents else None,
        )

    def _resolve_parents(self, pending) -> list[str]:
        """Parents may be described by files read later, so they are linked at the end;
        returns the warnings about those that are nowhere."""
        warnings = []
        for topic_id, kind, parents, path in pending:
            field = "name" if kind == "topic" else "slug"
            found = {
                getattr(t, field): t
                for t in Topic.objects.filter(**{f"{field}__in": parents}).exclude(pk=topic_id)
            }
            missing = [p for p in parents if p not in found]
            if missing:
                warnings.append(
                    f"{path}: parent {', '.join(repr(m) for m in missing)} has no taxonomy file; "
                    "not linked"
                )
            parent = next((found[p] for p in parents if p in found), None)
            if parent is not None:
                Topic.objects.filter(pk=topic_id).exclude(parent=parent).update(parent=parent)
        return warnings

    # -- news items -----------------------------------------------------------------

    def _write_items(self, entries: list[Parsed]) -> list[FileOutcome]:
        items = [e.result for e in entries]
        remember_descriptions(e.description for e in entries)  # for the story grouping
        providers = self._providers(items)
        topics = self._topics(items)
        existing = {
            url: article
            for url, article in _lock_articles([i.web_url for i in items]).items()
            # Found under another spelling of its URL: the file moved to that spelling,
            # unless the article's own file is still part of this run (then the two
            # files are two articles, which story grouping puts in one story).
            if article.web_url == url or article.source_path not in self._names
        }
        # Fields an editor reverted count as the editor's in the merge (revisions.py).
        held = revisions.held_fields([a.pk for a in existing.values()]) if existing else {}
        now = clock.now()
        new_articles: list[tuple[Article, dict]] = []
        changed_articles: list[Article] = []
        replace_lists: list[tuple[Article, dict, set[str]]] = []
        slugs = self._free_slugs([e for e in entries if e.result.web_url not in existing])
        outcomes: list[FileOutcome] = []
        # The articles readers may now see otherwise and the fields that changed: what the
        # page cache is told once the batch's rows are written (below).
        changed_ids: list[int] = []
        changed_fields: set[str] = set()

        for entry in entries:
            item: Item = entry.result
            theirs = entry.values
            article = existing.get(item.web_url)
            seen = article_state(article)  # before this batch writes it
            moved = self._moved_since_preview(entry, item, seen, article)
            if moved is not None:
                outcomes.append(moved)
                continue
            if article is None:
                article = Article(
                    provider=providers[item.provider_domain],
                    slug=slugs[entry.name],
                    body_html=entry.body_html,
                    status=theirs["status"],
                    **schema.columns(theirs, schema.ITEM),
                )
                scheduled = _schedule_if_dated_ahead(entry, article, now)
                article.went_live_at = went_live_at_for(article, article.status, now)
                self._stamp(article, entry, theirs, conflicts=[])
                new_articles.append((article, theirs))
                changed_fields |= set(theirs)
                outcomes.append(
                    FileOutcome(
                        entry.name,
                        Outcome.CREATED,
                        warnings=_warnings(entry) + scheduled,
                        seen=NO_ARTICLE,
                    )
                )
                continue

            ours = values_of(article)
            merged, conflicts = merge(article.imported, ours, theirs, held.get(article.pk))
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
            refusal = None
            if merged["status"] != ours["status"]:
                refusal = embargo_refusal(article, merged["status"], now)
            if refusal:
                # Under embargo: the rest of the file is imported, the status stays, and
                # the report says why (the editor publishes once the embargo lifts).
                merged["status"] = ours["status"]
                if not any(c.field == "status" for c in conflicts):
                    conflicts.append(Conflict("status", ours["status"], theirs["status"]))
            changed = {name for name in merged if merged[name] != ours[name]}
            dated = article.published_at  # before the file's values go in
            merged_columns = schema.columns(merged, schema.ITEM)
            for name in changed & set(ARTICLE_FIELDS):
                column = ARTICLE_FIELDS[name].column
                setattr(article, column, merged_columns[column])
            if "status" in changed:
                article.status = merged["status"]
            if "provider" in changed:
                article.provider = providers[merged["provider"]]
            if "body" in changed:
                article.body_html = entry.body_html  # a changed body is the file's
            scheduled = _schedule_if_dated_ahead(entry, article, now, dated) if changed else ()
            for column, value in status_change(
                article, ours["status"], article.status, now
            ).items():
                setattr(article, column, value)
            self._stamp(article, entry, theirs, conflicts)
            article.updated_at = now if changed else article.updated_at
            changed_articles.append(article)
            if changed & set(LIST_FIELDS):
                # A changed list is always the file's (the merge keeps ours otherwise).
                replace_lists.append((article, theirs, changed & set(LIST_FIELDS)))
            if changed:
                changed_ids.append(article.pk)
                changed_fields |= changed
            if conflicts:
                outcome = Outcome.CONFLICT
            else:
                outcome = Outcome.UPDATED if changed else Outcome.UNCHANGED
            outcomes.append(
                FileOutcome(
                    entry.name,
                    outcome,
                    conflicts=tuple(
                        {"path": entry.name, "web_url": item.web_url, **conflict.to_dict()}
                        for conflict in conflicts
                    ),
                    warnings=_warnings(entry)
                    + scheduled
                    + ((f"{entry.name}: {refusal}",) if refusal else ()),
                    changed=bool(changed),
                    changes=tuple(
                        {"field": name, "old": ours[name], "new": merged[name]}
                        for name in merged
                        if name in changed
                    ),
                    seen=seen,
                )
            )

        if new_articles:
            insert_articles([a for a, _ in new_articles])
        if changed_articles:
            fields = [Article._meta.get_field(name) for name in _WRITTEN_ON_UPDATE]
            update_rows(
                Article,
                {a.pk: {f.name: getattr(a, f.attname) for f in fields} for a in changed_articles},
            )

        # Child rows: all of a new article's, and the changed lists of an updated one.
        # A dry run writes none of them, nor the related-story links: they decide no
        # file's outcome and cannot fail (the schema holds their values to the columns'
        # limits, a file's topics are distinct), and they were a third of a preview.
        if not self.dry_run:
            rows = [(a, values, set(LIST_FIELDS)) for a, values in new_articles] + replace_lists
            self._replace_children(rows, replace_lists, topics)
            self._link_related_stories(
                [a for a, _ in new_articles], [a for a, _, f in rows if "coverage" in f]
            )
        # One change for the batch; the new articles are its created ones (their first
        # revision is their creation).
        with changes.batch(source=changes.Source.IMPORT, import_run=self._run):
            changes.record(
                changed_ids, changed_fields, source=changes.Source.IMPORT, import_run=self._run
            )
            changes.record(
                [a.pk for a, _ in new_articles],
                changed_fields,
                source=changes.Source.IMPORT,
                import_run=self._run,
                created=True,
                values={a.pk: revisions.values_of_new(a, theirs) for a, theirs in new_articles},
            )
        return outcomes

    def _moved_since_preview(
        self, entry: Parsed, item: Item, now: str, article
    ) -> FileOutcome | None:
        """A conflict, and nothing written, when the article is not as the preview saw it.

        Read under the batch's row lock, so no editor's save can slip in between this
        check and the write: confirming a preview applies what it showed, or reports
        the file instead of overwriting a change nobody has seen.
        """
        if self.expected is None or entry.name not in self.expected:
            return None
        seen = self.expected[entry.name]
        if seen == now:
            return None
        if article is None:
            ours = "deleted since the preview"
        elif seen == NO_ARTICLE:
            ours = f"created since the preview: {now}"
        else:
            ours = f"changed since the preview: {now}"
        conflict = {
            "path": entry.name,
            "web_url": item.web_url,
            "field": "article",
            "ours": ours,
            "theirs": "new" if seen == NO_ARTICLE else f"as previewed: {seen}",
        }
        return FileOutcome(entry.name, Outcome.CONFLICT, conflicts=(conflict,), seen=now)

    def _stamp(self, article: Article, entry: Parsed, theirs: dict, conflicts):
        article.imported = theirs
        article.import_hash = entry.digest
        article.source_path = entry.name
        article.last_import_run_id = self._run.pk  # None in a dry run: no row
        article.import_conflicts = [c.to_dict() for c in conflicts]

    def _replace_children(self, rows, replace_lists, topics: dict[str, Topic]):
        """Insert the topic links, images and coverage of a batch (plain rows, see
        insert_rows), after deleting the lists its updated articles replace."""
        if replace_lists:
            ids_by_field = {
                name: [a.pk for a, _, f in replace_lists if name in f] for name in LIST_FIELDS
            }
            TaggedTopic.objects.filter(content_object_id__in=ids_by_field["topics"]).delete()
            ArticleImage.objects.filter(article_id__in=ids_by_field["images"]).delete()
            RelatedCoverage.objects.filter(article_id__in=ids_by_field["coverage"]).delete()
        tagged, images, coverage = [], [], []
        for article, values, fields in rows:
            if "topics" in fields:
                tagged += [
                    {"content_object": article.pk, "tag": topics[name].pk}
                    for name in values["topics"]
                ]
            if "images" in fields:
                images += [
                    {"article": article.pk, "position": position, **schema.columns(d, schema.IMAGE)}
                    for position, d in enumerate(values["images"])
                ]
            if "coverage" in fields:
                coverage += [
                    {
                        "article": article.pk,
                        "position": position,
                        **schema.columns(d, schema.COVERAGE),
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
            waiting = {}
            for pk, url, article_id, linked_article in RelatedCoverage.objects.filter(
                url__in=by_url
            ).values_list("id", "url", "article_id", "linked_article"):
                if linked_article is None and article_id not in new_ids:
                    waiting[pk] = {"linked_article": by_url[url]}
                    pairs.add((article_id, by_url[url]))
            update_rows(RelatedCoverage, waiting)
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

    def _free_slugs(self, entries: list[Parsed]) -> dict[str, str]:
        """A unique slug for each new article: date + title, with -2, -3... on a clash.

        The numbered variants of the clashing slugs are looked up by exact value, a
        window of SLUG_VARIANTS at a time, all slugs at once (an index lookup, where a
        LIKE 'slug%' per clash read the whole table: the import slowed as it grew)."""
        wanted = {e.name: make_slug(e.result.published_at, e.result.title) for e in entries}
        taken = _taken_slugs(set(wanted.values()))
        counts = Counter(wanted.values())  # (copies in one batch clash with each other)
        clashing = {slug for slug, count in counts.items() if count > 1 or slug in taken}
        taken |= _taken_slugs(v for slug in clashing for v in _variants(slug, 2))
        # slug -> the first n whose variant has not been looked up yet
        unknown_from = dict.fromkeys(clashing, 2 + SLUG_VARIANTS)
        result = {}
        for path, slug in wanted.items():
            candidate, n = slug, 1
            while candidate in taken:
                n += 1
                start = unknown_from.get(slug, 2)
                if n >= start:  # rare: the next window of this slug's variants
                    taken |= _taken_slugs(_variants(slug, start))
                    unknown_from[slug] = start + SLUG_VARIANTS
                candidate = _variant(slug, n)
            taken.add(candidate)
            result[path] = candidate
        return result


# How many numbered variants of a clashing slug (-2, -3...) are looked up at once.
SLUG_VARIANTS = 10


def _variant(slug: str, n: int) -> str:
    suffix = f"-{n}"
    return slug[: SLUG_MAX_LENGTH - len(suffix)] + suffix


def _variants(slug: str, start: int) -> list[str]:
    return [_variant(slug, n) for n in range(start, start + SLUG_VARIANTS)]


def _taken_slugs(slugs) -> set[str]:
    """Which of `slugs` articles have."""
    taken = set()
    for batch in id_batches(sorted(set(slugs))):
        taken.update(Article.objects.filter(slug__in=batch).values_list("slug", flat=True))
    return taken


# The article_state of a file whose article does not exist yet.
NO_ARTICLE = "none"


def article_state(article: Article | None) -> str:
    """The article's id and last change (`updated_at`, which every write bumps), or
    NO_ARTICLE: equal states mean nobody wrote it in between."""
    return NO_ARTICLE if article is None else f"#{article.pk} at {article.updated_at.isoformat()}"


def _schedule_if_dated_ahead(entry: Parsed, article: Article, now, dated=None) -> tuple[str, ...]:
    """Give a published article dated ahead its date as "go live at"
    (models.go_live_for_future_date); the warning that says so, if it did. `dated`: the
    article's date before this file's; one that waited for it follows the new date."""
    if article.went_live_at is None and article.go_live_at == dated != article.published_at:
        article.go_live_at = None
    go_live_at = go_live_for_future_date(article, now)
    if go_live_at is None:
        return ()
    article.go_live_at = go_live_at
    return (
        f"{entry.name}: publishedDateTime {local_text(go_live_at)} is still to come: "
        "the item goes live then (Go live at)",
    )


def _warnings(entry: Parsed) -> tuple[str, ...]:
    """A parsed file's warnings, each naming the file."""
    return tuple(f"{entry.name}: {warning}" for warning in entry.result.warnings)


def _lock_articles(web_urls: list[str]) -> dict[str, Article]:
    """The batch's existing articles by the file's webUrl, read under a row lock held
    until the batch commits.

    An article is found by its stored URL, else by another spelling of it (the
    `url_key` of urlkeys: http or https, `www.`, tracking parameters, an AMP copy), so
    a file that comes back under a variant of its address updates its article rather
    than making a second one. An article claimed by one file of the batch is not given
    to another.

    The merge compares these rows with the file and bulk_update writes every scalar
    column back: read without a lock, an editor's change committed in between would
    be overwritten without a conflict. FOR NO KEY UPDATE (what an UPDATE takes):
    editors' writes wait for the batch, or the batch for them, and then sees them;
    rows that only point here (topic links, coverage) are not blocked. Locked in id
    order and in one query, as the editors' bulk actions lock
    (ArticleQuerySet.locked(), which says how on each database), so that no two wait
    for each other.
    """
    by_variant = articles_by_url_keys(web_urls)  # {url: id}, read before the lock
    rows = list(
        Article.objects.filter(Q(web_url__in=web_urls) | Q(pk__in=set(by_variant.values())))
        .locked()
        .select_related("provider")
        .prefetch_related("tagged_topics__tag", "images", "coverage")
    )
    exact = {article.web_url: article for article in rows}
    by_id = {article.pk: article for article in rows}
    found, claimed = {}, {article.pk for article in exact.values() if article.web_url in web_urls}
    for url in web_urls:
        if url in exact:
            found[url] = exact[url]
        elif (pk := by_variant.get(url)) in by_id and pk not in claimed:
            found[url] = by_id[pk]
            claimed.add(pk)
    return found


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
