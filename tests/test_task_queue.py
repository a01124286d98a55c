"""The task queue in one process: the sweep's schedule and jobs, lost workers, clean-up,
retry and the admin's panel. tests/test_workers.py runs the same with real workers."""

import datetime as dt
import signal

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.auth import get_user_model
from django.core.exceptions import ImproperlyConfigured
from django.urls import reverse
from django.utils import timezone
from django_tasks import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from articles import clock, tasks
from articles.admin.task_queue import queue_summary
from articles.management.commands.worker import Beat, StoppingWorker
from articles.models import Article, ImportRun, Sweep, Topic, WorkerHeartbeat
from tests import test_settings
from tests.admin_support import make_staff
from tests.tasks import record_run

pytestmark = pytest.mark.django_db

CHANGELIST = "admin:django_tasks_database_dbtaskresult_changelist"
load_settings = test_settings.load_settings


def result(status=TaskResultStatus.READY, **fields):
    """A task result as the database backend stores it, moved on to `status`."""
    enqueued = record_run.enqueue("/nonexistent/run.log")
    DBTaskResult.objects.filter(pk=enqueued.id).update(status=status, **fields)
    return DBTaskResult.objects.get(pk=enqueued.id)


def heartbeat(worker_id, last_seen_at):
    return WorkerHeartbeat.objects.create(
        worker_id=worker_id,
        hostname="app-1",
        pid=4242,
        queues="default",
        started_at=last_seen_at - dt.timedelta(hours=1),
        last_seen_at=last_seen_at,
    )


def sweep_results():
    return DBTaskResult.objects.filter(task_path="articles.tasks.sweep")


# -- Settings ------------------------------------------------------------------------------


def test_the_queue_is_the_database_and_its_timings_come_from_the_environment(load_settings):
    defaults = load_settings(DJANGO_DEBUG="1")
    tuned = load_settings(
        DJANGO_DEBUG="1",
        NEWSROOM_WORKER_TICK_SECONDS="0.5",
        NEWSROOM_WORKER_HEARTBEAT_SECONDS="5",
        NEWSROOM_WORKER_LOST_SECONDS="15",
        NEWSROOM_TASK_RESULTS_KEEP_DAYS="30",
    )

    assert defaults.TASKS["default"]["BACKEND"] == "django_tasks_db.DatabaseBackend"
    for module, expected in [(defaults, (1.0, 10.0, 60.0, 7)), (tuned, (0.5, 5.0, 15.0, 30))]:
        assert expected == (
            module.NEWSROOM_WORKER_TICK_SECONDS,
            module.NEWSROOM_WORKER_HEARTBEAT_SECONDS,
            module.NEWSROOM_WORKER_LOST_SECONDS,
            module.NEWSROOM_TASK_RESULTS_KEEP_DAYS,
        )


def test_a_worker_counts_as_lost_only_after_three_missed_heartbeats(load_settings):
    with pytest.raises(ImproperlyConfigured, match="NEWSROOM_WORKER_LOST_SECONDS"):
        load_settings(DJANGO_DEBUG="1", NEWSROOM_WORKER_HEARTBEAT_SECONDS="30")


# -- Scheduling: one sweep a minute --------------------------------------------------------


def test_one_sweep_per_minute_however_many_workers_offer_it(frozen_clock):
    minute = clock.minute(frozen_clock.now)

    assert tasks.schedule_sweep(minute, "worker-a") is True
    assert tasks.schedule_sweep(minute, "worker-b") is False
    assert tasks.schedule_sweep(minute, "worker-c") is False

    (sweep,) = Sweep.objects.all()
    assert (sweep.minute, sweep.scheduled_by) == (minute, "worker-a")
    # The refused offers took their tasks with them: one task for the minute.
    (queued,) = sweep_results()
    assert queued.pk == sweep.result_id
    assert queued.args_kwargs == {"args": [minute.isoformat()], "kwargs": {}}
    assert queued.status == TaskResultStatus.READY
    assert tasks.schedule_sweep(minute + dt.timedelta(minutes=1), "worker-b") is True
    assert sweep_results().count() == 2


def test_a_worker_offers_each_minute_s_sweep_once_and_beats_on_time(frozen_clock, settings):
    settings.NEWSROOM_WORKER_HEARTBEAT_SECONDS = 10
    beat = Beat("worker-a", "default")
    started = frozen_clock.now
    beat.heartbeat(started)  # what Beat.start() does before its thread runs
    row = WorkerHeartbeat.objects.get(worker_id="worker-a")
    assert (row.queues, row.started_at, row.last_seen_at) == ("default", started, started)

    beat.tick()
    frozen_clock.advance(seconds=9)
    beat.tick()
    assert Sweep.objects.count() == 1
    assert WorkerHeartbeat.objects.get().last_seen_at == started

    frozen_clock.advance(seconds=1)
    beat.tick()
    assert WorkerHeartbeat.objects.get().last_seen_at == started + dt.timedelta(seconds=10)
    assert Sweep.objects.count() == 1

    frozen_clock.advance(seconds=20)  # 10:01:00
    beat.tick()
    assert list(Sweep.objects.values_list("minute", flat=True)) == [
        clock.minute(frozen_clock.now),
        clock.minute(started),
    ]
    assert WorkerHeartbeat.objects.get().started_at == started


# -- The sweep and its jobs ----------------------------------------------------------------


def test_the_sweep_runs_every_job_once_with_the_clock_s_time(frozen_clock, monkeypatch):
    seen = []

    def count_topics(now):
        seen.append(("count_topics", now))
        return 3

    def nothing_due(now):
        seen.append(("nothing_due", now))
        return 0

    monkeypatch.setattr(tasks, "SWEEP_JOBS", [count_topics, nothing_due])

    assert tasks.sweep.call("2026-03-02T10:00:00+00:00") == {"count_topics": 3, "nothing_due": 0}
    assert seen == [("count_topics", frozen_clock.now), ("nothing_due", frozen_clock.now)]


def test_a_failing_job_leaves_none_of_its_writes_and_the_others_still_run(monkeypatch):
    def half_done(now):
        Topic.objects.create(name="Half done")
        raise RuntimeError("the outlet's server hung up")

    def complete(now):
        Topic.objects.create(name="Complete")
        return 1

    monkeypatch.setattr(tasks, "SWEEP_JOBS", [half_done, complete])

    with pytest.raises(tasks.SweepFailed, match=r"1 of 2 jobs failed: half_done \(RuntimeError"):
        tasks.sweep.call("2026-03-02T10:00:00+00:00")
    assert list(Topic.objects.values_list("name", flat=True)) == ["Complete"]


def test_the_sweep_runs_the_documented_jobs():
    assert [job.__name__ for job in tasks.SWEEP_JOBS] == [
        "apply_schedules",
        "fail_tasks_of_lost_workers",
        "fail_uploads_of_failed_tasks",
        "mark_abandoned_import_runs",
        "forget_old_records",
        "discover_images",
        "enqueue_due_images",
        "import_watched_folders",
    ]


def test_the_task_of_a_silent_worker_is_marked_failed_and_no_other(frozen_clock, settings):
    settings.NEWSROOM_WORKER_LOST_SECONDS = 60
    now = frozen_clock.now
    heartbeat("alive", now - dt.timedelta(seconds=59))
    heartbeat("lost", now - dt.timedelta(seconds=61))
    on_alive = result(TaskResultStatus.RUNNING, worker_ids=["alive"], started_at=now)
    # Claimed by "alive" first, then by "lost": the last worker is the one running it.
    on_lost = result(TaskResultStatus.RUNNING, worker_ids=["alive", "lost"], started_at=now)
    # A plain db_worker sends no heartbeat: nothing is known about it, so it is left alone.
    on_plain = result(TaskResultStatus.RUNNING, worker_ids=["plain-db-worker"], started_at=now)
    done_by_lost = result(TaskResultStatus.SUCCESSFUL, worker_ids=["lost"], finished_at=now)

    assert tasks.fail_tasks_of_lost_workers(now) == 1
    assert tasks.fail_tasks_of_lost_workers(now) == 0

    on_lost.refresh_from_db()
    assert (on_lost.status, on_lost.finished_at) == (TaskResultStatus.FAILED, now)
    (error,) = on_lost.task_result.errors
    assert error.exception_class is tasks.WorkerLost
    assert error.traceback.startswith("articles.tasks.WorkerLost: worker lost sent no heartbeat")
    for untouched, status in [
        (on_alive, TaskResultStatus.RUNNING),
        (on_plain, TaskResultStatus.RUNNING),
        (done_by_lost, TaskResultStatus.SUCCESSFUL),
    ]:
        untouched.refresh_from_db()
        assert untouched.status == status


def test_old_finished_results_sweeps_and_silent_workers_are_forgotten(frozen_clock, settings):
    settings.NEWSROOM_TASK_RESULTS_KEEP_DAYS = 7
    now = frozen_clock.now
    old, recent = now - dt.timedelta(days=7, seconds=1), now - dt.timedelta(days=6)
    result(TaskResultStatus.SUCCESSFUL, finished_at=old)
    result(TaskResultStatus.FAILED, finished_at=old)
    kept = {
        result(TaskResultStatus.SUCCESSFUL, finished_at=recent).pk,
        result(TaskResultStatus.FAILED, finished_at=recent).pk,
        # Not run yet, however long it has waited.
        result(TaskResultStatus.READY).pk,
    }
    Sweep.objects.create(minute=clock.minute(old), result_id=kept.copy().pop(), scheduled_by="w")
    Sweep.objects.create(minute=clock.minute(recent), result_id=kept.copy().pop(), scheduled_by="w")
    heartbeat("long-gone", old)
    heartbeat("lost-yesterday", now - dt.timedelta(days=1))

    assert tasks.forget_old_records(now) == 4
    assert set(DBTaskResult.objects.values_list("pk", flat=True)) == kept
    assert list(Sweep.objects.values_list("minute", flat=True)) == [clock.minute(recent)]
    assert list(WorkerHeartbeat.objects.values_list("worker_id", flat=True)) == ["lost-yesterday"]


# -- Retry ---------------------------------------------------------------------------------


def test_retry_enqueues_the_same_task_again_and_keeps_the_failure():
    failed = result(
        TaskResultStatus.FAILED,
        exception_class_path="builtins.FileNotFoundError",
        traceback="FileNotFoundError: /nonexistent/run.log",
    )

    again = tasks.retry(failed)

    new = DBTaskResult.objects.get(pk=again.id)
    assert new.pk != failed.pk
    assert (new.status, new.task_path, new.args_kwargs) == (
        TaskResultStatus.READY,
        "tests.tasks.record_run",
        failed.args_kwargs,
    )
    failed.refresh_from_db()
    assert (failed.status, failed.exception_class_path) == (
        TaskResultStatus.FAILED,
        "builtins.FileNotFoundError",
    )
    with pytest.raises(ValueError, match="has not failed"):
        tasks.retry(new)


# -- The admin -----------------------------------------------------------------------------


def superuser(client):
    user = get_user_model().objects.create_superuser("root", password="pw")
    client.force_login(user)
    return user


def test_the_index_shows_the_queue_and_the_workers_heartbeats(client, frozen_clock, settings):
    settings.NEWSROOM_WORKER_LOST_SECONDS = 60
    superuser(client)
    now = frozen_clock.now
    for _ in range(2):
        result(TaskResultStatus.READY)
    result(TaskResultStatus.RUNNING, worker_ids=["alive-worker-0001"])
    result(TaskResultStatus.FAILED, finished_at=now - dt.timedelta(hours=23))
    result(TaskResultStatus.FAILED, finished_at=now - dt.timedelta(hours=25))
    result(TaskResultStatus.SUCCESSFUL, finished_at=now)
    heartbeat("alive-worker-0001", now - dt.timedelta(seconds=5))
    heartbeat("lost-worker-0002", now - dt.timedelta(minutes=3))
    tasks.schedule_sweep(clock.minute(now), "alive-worker-0001")

    page = client.get(reverse("admin:index")).content.decode()
    start = page.index('id="task-queue"')
    panel = " ".join(page[start : page.index("</table>", start)].split())
    assert "3 waiting" in panel  # the two, and the sweep just scheduled
    assert "1 running" in panel
    assert "1 failed in the last 24 hours" in panel
    assert "2026-03-02 10:00:" in panel and ">ready<" in panel
    assert "<code>alive-worker…</code> on app-1 (pid 4242): heartbeat 5&nbsp;s ago" in panel
    assert (
        "<code>lost-worker-…</code> on app-1 (pid 4242): <strong>lost, no heartbeat for 3 minutes</strong>"
        in panel
    )


def test_the_panel_says_when_no_worker_runs(client):
    superuser(client)

    page = client.get(reverse("admin:index")).content.decode()

    assert "<strong>No worker is running</strong>" in page
    assert "none yet: a worker schedules one every minute" in page


def test_editors_do_not_see_the_queue(client):
    client.force_login(make_staff("eddie", group="Editors"))

    page = client.get(reverse("admin:index")).content.decode()

    assert 'id="editorial-summary"' in page
    assert 'id="task-queue"' not in page


def test_the_panel_s_failed_link_lists_the_day_s_failures(client, frozen_clock):
    superuser(client)
    now = frozen_clock.now
    today = result(TaskResultStatus.FAILED, finished_at=now - dt.timedelta(hours=1))
    result(TaskResultStatus.FAILED, finished_at=now - dt.timedelta(days=2))
    result(TaskResultStatus.SUCCESSFUL, finished_at=now)

    response = client.get(queue_summary(get_user_model().objects.get())["failed_url"])

    assert response.status_code == 200
    assert [row.pk for row in response.context["cl"].result_list] == [today.pk]


def post_retry(client, *results):
    return client.post(
        reverse(CHANGELIST),
        {"action": "retry", "_selected_action": [str(r.pk) for r in results]},
        follow=True,
    )


def test_staff_who_may_only_view_tasks_cannot_retry_them(client):
    client.force_login(make_staff("viewer", perms=["view_dbtaskresult"]))
    failed = result(TaskResultStatus.FAILED)

    listing = client.get(reverse(CHANGELIST))
    response = post_retry(client, failed)

    assert listing.status_code == 200
    assert 'value="retry"' not in listing.content.decode()
    assert response.status_code == 200
    assert DBTaskResult.objects.count() == 1
    assert not LogEntry.objects.exists()


def test_staff_with_the_change_permission_retry_failed_tasks_only(client):
    user = make_staff("operator", perms=["view_dbtaskresult", "change_dbtaskresult"])
    client.force_login(user)
    failed = result(TaskResultStatus.FAILED, exception_class_path="builtins.OSError")
    succeeded = result(TaskResultStatus.SUCCESSFUL)

    assert 'value="retry"' in client.get(reverse(CHANGELIST)).content.decode()
    response = post_retry(client, failed, succeeded)

    messages = [str(m) for m in response.context["messages"]]
    assert messages == [
        "1 task put back on the queue.",
        "Only failed tasks are retried; skipped 1 other selected task.",
    ]
    again = DBTaskResult.objects.exclude(pk__in=[failed.pk, succeeded.pk]).get()
    assert (again.status, again.args_kwargs) == (TaskResultStatus.READY, failed.args_kwargs)
    failed.refresh_from_db()
    assert failed.status == TaskResultStatus.FAILED
    (entry,) = LogEntry.objects.all()
    assert (entry.user, entry.object_id) == (user, str(failed.pk))
    assert entry.get_change_message() == f"Retried as task {again.pk}."


# -- watched folders --------------------------------------------------------------------------


def _news_file(folder, n):
    (folder / f"item-{n}.md").write_text(
        "---\n"
        f'title: "Watched item {n}"\n'
        "publishedDateTime: 2026-11-30T10:00:00Z\n"
        f'webUrl: "https://watch.example/{n}"\n'
        "provider:\n  name: Watch\n  domain: watch.example\n"
        "---\n\nBody.\n",
        encoding="utf-8",
    )


def _queued_imports():
    return DBTaskResult.objects.filter(task_path=tasks.import_watched_folders_task.module_path)


def test_the_sweep_imports_watched_folders_every_interval(settings, tmp_path):
    settings.NEWSROOM_WATCHED_FOLDERS = [str(tmp_path)]
    settings.NEWSROOM_WATCH_MINUTES = 15
    _news_file(tmp_path, 1)
    now = timezone.now()

    assert tasks.import_watched_folders(now) == 1
    assert tasks.import_watched_folders(now) == 0  # one waiting: not queued twice
    summary = tasks.import_watched_folders_task.call()
    _queued_imports().delete()
    assert "1 created" in summary
    run = ImportRun.objects.get()
    assert run.command == tasks.WATCH_COMMAND and run.paths == [str(tmp_path)]
    assert Article.objects.filter(web_url="https://watch.example/1").exists()

    _news_file(tmp_path, 2)
    assert tasks.import_watched_folders(now + dt.timedelta(minutes=10)) == 0  # too soon
    assert tasks.import_watched_folders(now + dt.timedelta(minutes=16)) == 1
    summary = tasks.import_watched_folders_task.call()
    assert "1 created, 0 updated, 1 unchanged" in summary  # the first file: its hash


def test_no_watched_folders_no_import(settings):
    settings.NEWSROOM_WATCHED_FOLDERS = []
    assert tasks.import_watched_folders(timezone.now()) == 0
    assert not _queued_imports().exists()


def idle_worker() -> StoppingWorker:
    return StoppingWorker(
        queue_names=["default"],
        interval=1,
        batch=False,
        backend_name="default",
        startup_delay=False,
        max_tasks=None,
        worker_id="w",
        excluded_queue_names=[],
    )


def test_a_stopping_signal_stops_an_idle_worker_by_its_loop_not_mid_statement():
    # db_worker raises SystemExit in the signal handler, wherever the loop is (possibly
    # inside a database call); the loop's own check is a safe place to stop.
    worker = idle_worker()
    worker.shutdown(signal.SIGTERM, None)
    assert worker.running is False


@pytest.fixture
def signal_handlers():
    """The test process's signal handlers, put back (the second signal resets them)."""
    kept = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM, signal.SIGQUIT)}
    yield
    for number, handler in kept.items():
        signal.signal(number, handler)


def test_a_worker_in_a_task_finishes_it_on_the_first_signal_and_abandons_it_on_the_second(
    signal_handlers,
):
    worker = idle_worker()
    worker.running_task = True
    worker.shutdown(signal.SIGTERM, None)
    assert worker.running is False
    with pytest.raises(SystemExit) as second:
        worker.shutdown(signal.SIGTERM, None)
    assert second.value.code == 1
