"""Background work on Django's tasks API, and the once-a-minute sweep.

Tasks are written against the API Django 6 has built in (`django.tasks`); the
imports from `django_tasks` below are the lines that change when the project moves
to it. The database backend (django-tasks-db) stores every task as a row, in the same
database and transaction as the rest of a request's writes; `manage.py worker`
processes claim rows one at a time (SELECT ... FOR UPDATE SKIP LOCKED on PostgreSQL,
one writer at a time on SQLite) and run them. README "Task queue" has the whole story.

The sweep runs every minute. The first worker to see a minute begin puts that
minute's `sweep` on the queue (`schedule_sweep`); however many workers try, one
succeeds. The sweep then runs every job of SWEEP_JOBS, in order.

SWEEP_JOBS is the list of what is done every minute. A job is a function
`job(now) -> int` (how many things it did, for the log and the task's result). Each
runs in its own transaction, so a job that fails, or a worker killed half-way through
one, leaves none of that job's writes behind; the other jobs still run, and the sweep
is marked failed with the error. So a job must be idempotent and do "what is due at
`now`", never "what happened since the last run": a minute can be missed (no worker
was running) and the next sweep must catch up by itself. `apply_schedules` is
scheduled publishing's: it publishes what is due and takes down what has expired.
"""

import datetime as dt
import logging
import traceback

from django.conf import settings
from django.db import IntegrityError, transaction
from django_tasks import TaskResultStatus, task
from django_tasks.base import TASK_MAX_PRIORITY
from django_tasks_db.models import DBTaskResult

from . import clock
from .changes import Source
from .imagecache.tasks import discover_images, enqueue_due_images
from .models import Article, ImportRun, ImportUpload, Sweep, WorkerHeartbeat

logger = logging.getLogger("newsroom.tasks")


class WorkerLost(Exception):
    """The worker running a task stopped sending heartbeats: killed, or its machine lost."""


class SweepFailed(Exception):
    """One or more of the sweep's jobs raised; the others ran."""


# -- The jobs ------------------------------------------------------------------------------


def fail_tasks_of_lost_workers(now: dt.datetime) -> int:
    """Mark failed the tasks still "running" on a worker that has gone silent.

    A worker killed mid-task (SIGKILL, out of memory, a lost machine) cannot say so
    itself; the database rolled back whatever the task had not committed, and its
    result would stay "running" for ever. Only workers that send heartbeats
    (`manage.py worker`) are judged: a task claimed by anything else is left alone.
    """
    silent = dict(WorkerHeartbeat.objects.silent(now).values_list("worker_id", "last_seen_at"))
    if not silent:
        return 0
    failed = 0
    for result in DBTaskResult.objects.running().only("id", "worker_ids"):
        worker_id = result.worker_ids[-1] if result.worker_ids else None
        if worker_id not in silent:
            continue
        error = WorkerLost(
            f"worker {worker_id} sent no heartbeat after {silent[worker_id]:%Y-%m-%d %H:%M:%S} "
            "UTC; whatever the task had not committed was rolled back by the database"
        )
        # Only if it is still running: the worker may have finished it after all.
        failed += DBTaskResult.objects.filter(pk=result.pk, status=TaskResultStatus.RUNNING).update(
            status=TaskResultStatus.FAILED,
            finished_at=now,
            exception_class_path=f"{WorkerLost.__module__}.{WorkerLost.__qualname__}",
            traceback="".join(traceback.format_exception_only(error)),
        )
    return failed


def mark_abandoned_import_runs(now: dt.datetime) -> int:
    """Import runs whose process is gone are marked failed (ImportRun.objects.mark_abandoned)."""
    return ImportRun.objects.mark_abandoned()


def forget_old_records(now: dt.datetime) -> int:
    """Delete finished task results, sweeps, silent workers and admin uploads (their
    bytes; the ImportRun stays) older than the kept days.

    Without it the sweep alone would add 1,440 task results a day for ever. Tasks not
    yet run, and uploads being imported, are kept whatever their age.
    """
    before = now - dt.timedelta(days=settings.NEWSROOM_TASK_RESULTS_KEEP_DAYS)
    results, _ = DBTaskResult.objects.finished().filter(finished_at__lt=before).delete()
    sweeps, _ = Sweep.objects.filter(minute__lt=before).delete()
    workers, _ = WorkerHeartbeat.objects.filter(last_seen_at__lt=before).delete()
    uploads, _ = (
        ImportUpload.objects.filter(created_at__lt=before)
        .exclude(status=ImportUpload.Status.APPLYING)
        .delete()
    )
    return results + sweeps + workers + uploads


def apply_schedules(now: dt.datetime) -> int:
    """Take down the articles whose "take down at" has come (back to review), and record
    that those whose "go live at" has come went live; returns how many changed.

    Readers see both changes on time whatever the sweep's delay (models.visible_at);
    this makes them the articles' status and history, through the one write path
    (source SCHEDULE): went_live_at (the scheduled time, not this sweep's), ranking,
    stories and the page cache follow as for an editor's change. The rows are read
    under their lock and a row already done no longer matches: done once, however
    many sweeps run. An item under embargo waits until it lifts.
    """
    articles = Article.objects
    done = articles.due_to_come_down(now).return_to_review(source=Source.SCHEDULE)
    return done + articles.go_live(now, source=Source.SCHEDULE)


# The ImportRun command of the watched folders' imports (how the next sweep finds them).
WATCH_COMMAND = ImportRun.WATCH_COMMAND


@task()
def import_watched_folders_task() -> str:
    """Import the watched folders (NEWSROOM_WATCHED_FOLDERS): its ImportRun's summary."""
    from .ingest.importer import Importer  # the importer is heavy; workers need it here only

    return Importer(command=WATCH_COMMAND).run(settings.NEWSROOM_WATCHED_FOLDERS).log_line()


def import_watched_folders(now: dt.datetime) -> int:
    """Queue an import of the watched folders when the last one started at least
    NEWSROOM_WATCH_MINUTES ago and none is waiting or running; returns 1 if queued.

    New and changed files are imported, unchanged ones skipped by their hash, and the
    run is an ImportRun like any other. The task row is written in this job's
    transaction: one sweep a minute, so one queued import however many workers run.
    """
    if not settings.NEWSROOM_WATCHED_FOLDERS:
        return 0
    since = now - dt.timedelta(minutes=settings.NEWSROOM_WATCH_MINUTES)
    if ImportRun.objects.filter(command=WATCH_COMMAND, started_at__gt=since).exists():
        return 0
    waiting = DBTaskResult.objects.filter(
        task_path=import_watched_folders_task.module_path,
        status__in=[TaskResultStatus.READY, TaskResultStatus.RUNNING],
    )
    if waiting.exists():
        return 0
    import_watched_folders_task.enqueue()
    return 1


def fail_uploads_of_failed_tasks(now: dt.datetime) -> int:
    """Mark failed the admin uploads still previewing or importing whose task failed.

    A task that raises marks its upload failed itself (ingest/uploads.py); one whose
    worker was lost cannot, and fail_tasks_of_lost_workers, earlier in the same sweep,
    marks the task failed: its upload follows, instead of showing progress for ever.
    """
    running = ImportUpload.objects.filter(
        status__in=[ImportUpload.Status.PREVIEWING, ImportUpload.Status.APPLYING]
    )
    failed = DBTaskResult.objects.filter(
        pk__in=list(running.exclude(task_id="").values_list("task_id", flat=True)),
        status=TaskResultStatus.FAILED,
    ).values_list("pk", "exception_class_path")
    done = 0
    for task_id, error in failed:
        done += running.filter(task_id=task_id).update(
            status=ImportUpload.Status.FAILED,
            failure_reason=f"its task failed ({error.rsplit('.', 1)[-1] or 'no reason given'})",
        )
    return done


# What the sweep does every minute, in this order (see the module docstring).
SWEEP_JOBS = [
    apply_schedules,
    fail_tasks_of_lost_workers,
    fail_uploads_of_failed_tasks,
    mark_abandoned_import_runs,
    forget_old_records,
    # The image cache: new image URLs registered, then those due fetched (imagecache).
    discover_images,
    enqueue_due_images,
    import_watched_folders,
]


# -- The sweep -----------------------------------------------------------------------------


# The highest priority: a sweep goes ahead of whatever else waits in the queue.
@task(priority=TASK_MAX_PRIORITY)
def sweep(minute: str) -> dict[str, int]:
    """Run every job of SWEEP_JOBS once, each in its own transaction.

    `minute` (ISO 8601) is the minute it was scheduled for, kept in the task's
    arguments for the record; the jobs see the time it actually runs.
    """
    now = clock.now()
    done, failures = {}, []
    for job in SWEEP_JOBS:
        try:
            with transaction.atomic():
                done[job.__name__] = job(now)
        except Exception as error:  # noqa: BLE001 - one job's failure must not stop the others
            logger.exception("sweep of %s: %s failed", minute, job.__name__)
            failures.append((job.__name__, error))
    logger.info("sweep of %s: %s", minute, done)
    if failures:
        names = ", ".join(f"{name} ({type(error).__name__}: {error})" for name, error in failures)
        raise SweepFailed(f"{len(failures)} of {len(SWEEP_JOBS)} jobs failed: {names}") from (
            failures[0][1]
        )
    return done


def schedule_sweep(minute: dt.datetime, worker_id: str) -> bool:
    """Put `minute`'s sweep on the queue unless another worker has; True if this call did.

    The task and the Sweep row, whose `minute` is unique, are written in one
    transaction: of several workers trying at once, the first to commit wins, the
    others' inserts fail (on PostgreSQL they wait for the winner's commit first) and
    take their task with them. This is why the sweep is enqueued inside the
    transaction, not on commit: the database backend makes the task part of it.
    """
    try:
        with transaction.atomic():
            result = sweep.enqueue(minute.isoformat())
            Sweep.objects.create(minute=minute, result_id=result.id, scheduled_by=worker_id)
    except IntegrityError:
        if not Sweep.objects.filter(minute=minute).exists():
            raise
        return False
    return True


# -- Retrying a failed task ----------------------------------------------------------------


def retry(result: DBTaskResult):
    """Enqueue a failed task again with the same arguments; returns the new TaskResult.

    The failed result stays as it is, error and all. Raises ValueError for a result
    that has not failed, ImportError or SuspiciousOperation when its task no longer
    exists.
    """
    if result.status != TaskResultStatus.FAILED:
        raise ValueError(f"task {result.pk} has not failed (it is {result.status.lower()})")
    arguments = result.args_kwargs
    return result.task.enqueue(*arguments["args"], **arguments["kwargs"])


# -- Imports uploaded in the admin (articles/ingest/uploads.py) ------------------------------


@task()
def preview_upload(upload_id: int) -> str:
    """Dry-run an uploaded ImportUpload, recording each file's outcome for the preview."""
    from .ingest import uploads  # the importer is heavy; workers need it here only

    return uploads.preview(upload_id)


@task()
def apply_upload(upload_id: int) -> str:
    """Import a confirmed ImportUpload as previewed: its ImportRun's summary."""
    from .ingest import uploads

    return uploads.apply(upload_id)
