"""Parsing an import's files, batch by batch, in worker processes.

`parsed_batches()` takes the run's batches of `Job`s (files to parse, already read and
known to have changed) and yields each batch's `Parsed` results, in order. It owns the
worker pool: while the caller writes one batch, the workers parse the next. A worker
that dies (out of memory, killed) breaks the whole pool: the files of its chunk are
then parsed again one per process, so that only the file that kills its parser
fails, and the pool is started afresh for the batches after.

Parsing never raises for what a file holds: a file becomes an Item, a TaxonomyEntry
or its one-line FileError. An item's body is rendered here too, not in the batch's
transaction, so that a slow body holds no database lock and fails only its file, and
its values snapshot is taken here, off the main process that writes the batches.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from multiprocessing import get_context

from ..rendering import RenderError, render_markdown
from ..stories.grouping import describe
from . import itemfile
from .itemfile import FileError, Item, TaxonomyEntry

logger = logging.getLogger("newsroom.import")

# Parsing in worker processes pays off only past this many files in the run.
PARALLEL_THRESHOLD = 64


@dataclass(frozen=True)
class Settings:
    """What every parse of a run needs besides the file."""

    limits: itemfile.Limits
    base_url: str
    render_time_limit: float
    describe_for_stories: bool = True  # Parsed.description: only what will be grouped


@dataclass(frozen=True)
class Job:
    name: str
    data: bytes
    digest: str


@dataclass(frozen=True)
class Parsed:
    name: str
    digest: str
    result: Item | TaxonomyEntry | FileError
    body_html: str = ""  # an Item's body, rendered
    values: dict | None = None  # an Item's field_values(), taken in the worker
    # What story grouping can know of an Item without the database (its URL keys and
    # words: `stories.grouping.describe`), computed in the worker too.
    description: tuple | None = None


def unexpected(name, doing, exc) -> FileError:
    """An error nobody foresaw: one line for the user, the traceback at debug level."""
    logger.debug("unexpected error while the import %s %s", doing, name, exc_info=exc)
    return FileError(name, f"could not be {doing}: {type(exc).__name__}: {exc}")


def parse(job: Job, settings: Settings) -> Parsed:
    """Parse one file and render its body. Never raises: whatever a file does, it
    becomes that file's one-line FileError."""
    try:
        result = itemfile.parse(
            job.name, job.data, limits=settings.limits, base_url=settings.base_url
        )
        if not isinstance(result, Item):
            return Parsed(job.name, job.digest, result)
        body_html = ""
        if result.body:
            try:
                body_html = render_markdown(result.body, time_limit=settings.render_time_limit)
            except RenderError as exc:
                error = FileError(job.name, str(exc), expected="a Markdown body that renders")
                return Parsed(job.name, job.digest, error)
        description = describe(result) if settings.describe_for_stories else None
        return Parsed(job.name, job.digest, result, body_html, result.field_values(), description)
    except Exception as exc:  # noqa: BLE001 - the last line of defence: one file, one line
        return Parsed(job.name, job.digest, unexpected(job.name, "read", exc))


def _parse_many(jobs: list[Job], settings: Settings) -> list[Parsed]:
    return [parse(job, settings) for job in jobs]


def _parse_alone(job: Job, settings: Settings) -> Parsed:
    """Parse one file in a process of its own: a file that kills its parser fails alone."""
    with ProcessPoolExecutor(max_workers=1, mp_context=get_context("fork")) as one:
        try:
            return one.submit(parse, job, settings).result()
        except BrokenProcessPool:
            return Parsed(
                job.name,
                job.digest,
                FileError(job.name, "the parser process died reading this file"),
            )


class _Pool:
    """The worker processes, started afresh when one dies."""

    def __init__(self, workers: int, settings: Settings):
        self.workers = workers
        self.settings = settings
        self.executor = self._new()

    def _new(self):
        return ProcessPoolExecutor(max_workers=self.workers, mp_context=get_context("fork"))

    def submit(self, jobs: list[Job]):
        """Futures of a batch's results, in one chunk per worker so that all are busy."""
        size = max(1, len(jobs) // self.workers + 1)
        chunks = [jobs[i : i + size] for i in range(0, len(jobs), size)]
        try:
            return [
                (chunk, self.executor.submit(_parse_many, chunk, self.settings)) for chunk in chunks
            ]
        except BrokenProcessPool:
            self.executor = self._new()
            return [
                (chunk, self.executor.submit(_parse_many, chunk, self.settings)) for chunk in chunks
            ]

    def results(self, submitted) -> list[Parsed]:
        results = []
        for chunk, future in submitted:
            try:
                results += future.result()
            except BrokenProcessPool:
                results += [_parse_alone(job, self.settings) for job in chunk]
                if getattr(self.executor, "_broken", False):
                    self.executor.shutdown(wait=False)
                    self.executor = self._new()
        return results

    def shutdown(self):
        self.executor.shutdown()


def parsed_batches(
    batches: Iterable[tuple[list[Job], object]], settings: Settings, *, workers: int, files: int
) -> Iterator[tuple[list[Parsed], object]]:
    """(parsed results, the batch's tag) for each (jobs, tag) of `batches`, in order.

    The next batch is taken from `batches` (and so read) before this one is yielded:
    with more than one worker and at least PARALLEL_THRESHOLD files in the run, the
    workers parse it while the caller writes this one; otherwise it is parsed here.
    The tag is the caller's, passed through (what it needs to know of the batch).
    """
    pool = _Pool(workers, settings) if workers > 1 and files >= PARALLEL_THRESHOLD else None
    try:
        pending = None
        for jobs, tag in batches:
            parsing = pool.submit(jobs) if pool else _parse_many(jobs, settings)
            if pending is not None:
                yield _results(pool, pending[0]), pending[1]
            pending = (parsing, tag)
        if pending is not None:
            yield _results(pool, pending[0]), pending[1]
    finally:
        if pool is not None:
            pool.shutdown()


def _results(pool: _Pool | None, parsing) -> list[Parsed]:
    return pool.results(parsing) if pool else parsing
