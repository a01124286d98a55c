"""The task queue with real `manage.py worker` processes (tests/worker_support.py).

On PostgreSQL workers claim tasks with SELECT ... FOR UPDATE SKIP LOCKED; on SQLite
each claim is an exclusive transaction, one writer at a time. Either way a task is
claimed once, and the sweep's minute is unique: these tests run on both (the suite
runs on SQLite, CI again on PostgreSQL).
"""

from collections import Counter

import pytest

from tests.race_support import no_process_left  # noqa: F401 - fixture
from tests.worker_support import (
    ServerWithWorker,
    SharedDatabase,
    Worker,
    alive,
    fast_clock,
    migrated_sqlite_file,
    wait_for,
)

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("no_process_left")]


@pytest.fixture(scope="module")
def migrated_sqlite(tmp_path_factory):
    return migrated_sqlite_file(tmp_path_factory.mktemp("workers"))


@pytest.fixture
def shared_db(tmp_path, migrated_sqlite):
    """Makes the database this test shares with its workers, with extra settings for them."""
    return lambda **settings: SharedDatabase(tmp_path, migrated_sqlite, **settings)


RECORD_RUN = "tests.tasks.record_run"
SWEEP = "articles.tasks.sweep"


def status(db, task_path, status):
    return [r for r in db.results(task_path) if r["status"] == status]


def test_a_task_retried_from_the_admin_in_a_request_runs_on_a_worker(tmp_path, shared_db):
    db = shared_db()
    worker = Worker(tmp_path, db, "worker-1")
    log = tmp_path / "runs" / "run.log"  # no folder yet: the first run fails

    (first,) = db.enqueue(RECORD_RUN, 1, str(log))
    (failed,) = wait_for("the first run to fail", lambda: status(db, RECORD_RUN, "FAILED"), worker)

    assert failed["id"] == first
    assert failed["exception_class_path"] == "builtins.FileNotFoundError"
    assert "No such file or directory" in failed["traceback"]
    assert db.heartbeats() == [("worker-1", worker.pid)]

    log.parent.mkdir()
    answer = db.retry_in_the_admin(first)

    assert answer == {"status": 200, "messages": ["1 task put back on the queue."]}
    (retried,) = wait_for(
        "the retried task to run", lambda: status(db, RECORD_RUN, "SUCCESSFUL"), worker
    )
    assert retried["id"] != first
    assert retried["args_kwargs"] == failed["args_kwargs"]
    assert retried["worker_ids"] == ["worker-1"]
    task_id, pid = log.read_text().split()
    assert (task_id.replace("-", ""), int(pid)) == (retried["id"], worker.pid)
    # The failure is kept, error and all.
    assert status(db, RECORD_RUN, "FAILED") == [failed]

    assert worker.stop() == 0, worker.output()
    assert db.heartbeats() == []


TASKS = 200


def test_two_workers_never_run_one_task_twice(tmp_path, shared_db):
    db = shared_db()
    workers = [Worker(tmp_path, db, f"worker-{n}") for n in (1, 2)]
    wait_for("both workers to start", lambda: len(db.heartbeats()) == 2, *workers)
    log = tmp_path / "runs.log"

    enqueued = db.enqueue(RECORD_RUN, TASKS, str(log), 0.005)
    wait_for(
        f"{TASKS} tasks to run",
        lambda: len(status(db, RECORD_RUN, "SUCCESSFUL")) == TASKS,
        *workers,
        timeout=180,
    )
    for worker in workers:
        assert worker.stop() == 0, worker.output()

    runs = [line.split() for line in log.read_text().splitlines()]
    # Each task ran exactly once, claimed once.
    assert sorted(task_id.replace("-", "") for task_id, _ in runs) == sorted(enqueued)
    assert all(len(r["worker_ids"]) == 1 for r in db.results(RECORD_RUN))
    # Both took part, or this would prove nothing.
    by_pid = Counter(int(pid) for _, pid in runs)
    assert set(by_pid) == {worker.pid for worker in workers}, by_pid


def test_the_sweep_runs_exactly_once_a_minute_with_three_workers(tmp_path, shared_db):
    # Heartbeats are slow to go missing here: this test is about the schedule alone.
    db = shared_db(NEWSROOM_WORKER_LOST_SECONDS="600")
    log = tmp_path / "sweeps.log"
    clock = fast_clock(speed=20)  # a minute every 3 seconds
    workers = [
        Worker(tmp_path, db, f"worker-{n}", clock=clock, sweep_log=str(log)) for n in (1, 2, 3)
    ]
    wait_for("all three workers to start", lambda: len(db.heartbeats()) == 3, *workers)
    wait_for("five minutes' sweeps", lambda: len(db.sweeps()) >= 5, *workers, timeout=120)
    for worker in workers:
        assert worker.stop() == 0, worker.output()

    sweeps = db.sweeps()
    minutes = [minute for minute, _, _ in sweeps]
    # One sweep for every minute, none missed, none twice (the minute is unique)...
    assert len(set(minutes)) == len(minutes)
    results = {r["id"]: r for r in db.results(SWEEP)}
    # ... each one task, whichever worker scheduled it: the others' offers left nothing.
    assert sorted(results) == sorted(result_id for _, result_id, _ in sweeps)
    statuses = [results[result_id]["status"] for _, result_id, _ in sweeps]
    # All ran, but perhaps the last, scheduled as the workers were stopping.
    assert statuses[:-1] == ["SUCCESSFUL"] * (len(sweeps) - 1), statuses
    assert statuses[-1] in {"SUCCESSFUL", "READY"}
    # ... and each run ran the sweep's jobs once, on one of the three.
    runs = log.read_text().splitlines()
    assert len(runs) == statuses.count("SUCCESSFUL")
    assert {int(line.split()[0]) for line in runs} <= {worker.pid for worker in workers}
    minute_numbers = [int(minute[14:16]) for minute in minutes]
    assert minute_numbers == list(range(minute_numbers[0], minute_numbers[0] + len(minutes)))


def test_a_worker_killed_mid_task_leaves_nothing_half_written_and_the_task_failed(
    tmp_path, shared_db
):
    db = shared_db()
    clock = fast_clock(speed=20)  # lost after 60 s without a heartbeat: 3 s here
    hanging = tmp_path / "hanging"
    victim = Worker(tmp_path, db, "victim", clock=clock, hang=str(hanging))
    victim.wait_for_file(hanging)  # in its sweep, three topics written, not committed
    victim.kill()

    rescuer = Worker(tmp_path, db, "rescuer", clock=clock)
    (failed,) = wait_for(
        "the killed worker's sweep to be marked failed",
        lambda: status(db, SWEEP, "FAILED"),
        rescuer,
    )
    assert failed["worker_ids"] == ["victim"]
    assert failed["exception_class_path"] == "articles.tasks.WorkerLost"
    assert failed["traceback"].startswith("articles.tasks.WorkerLost: worker victim sent no")
    assert db.topics("Half-written") == 0
    # The pool carries on.
    wait_for(
        "a sweep on the rescuer",
        lambda: [r for r in status(db, SWEEP, "SUCCESSFUL") if r["worker_ids"] == ["rescuer"]],
        rescuer,
    )
    assert rescuer.stop() == 0, rescuer.output()
    assert db.topics("Half-written") == 0


# -- make run / make serve: the server and its worker stop together ------------------------


def test_one_ctrl_c_stops_the_server_and_its_worker(tmp_path, shared_db):
    db = shared_db()
    both = ServerWithWorker(tmp_path, db)
    try:
        wait_for("the worker to start", lambda: db.heartbeats() and both.server_pid())
        ((_, worker_pid),) = db.heartbeats()
        server_pid = both.server_pid()

        both.interrupt()

        assert both.finish() == 0
        assert both.interrupted()  # by the Ctrl-C itself, though started with it ignored
        assert not alive(worker_pid) and not alive(server_pid)
        assert db.heartbeats() == []  # the worker stopped cleanly
    finally:
        both.cleanup()


def test_when_the_server_ends_its_worker_is_stopped_too(tmp_path, shared_db):
    db = shared_db()
    both = ServerWithWorker(tmp_path, db)
    try:
        wait_for("the worker to start", lambda: db.heartbeats() and both.server_pid())
        ((_, worker_pid),) = db.heartbeats()

        both.stop_server()

        assert both.finish() == 3  # the server's own exit status
        assert not alive(worker_pid)
        assert db.heartbeats() == []
    finally:
        both.cleanup()


# argv: the "go live at" time (ISO 8601). A published article scheduled for then, written
# past the save() rules, as the admin leaves one (the script's clock is the real one).
SCHEDULED_ARTICLE = r"""
import datetime as dt, json, sys

import django

django.setup()
from articles.models import Article, Provider

provider = Provider.objects.create(name="Wire", domain="wire.example")
article = Article.objects.create(
    title="Scheduled", web_url="https://wire.example/s", provider=provider,
    published_at=dt.datetime(2026, 3, 1, tzinfo=dt.UTC), status="review",
)
Article.objects.filter(pk=article.pk).update(
    status="published", go_live_at=dt.datetime.fromisoformat(sys.argv[1])
)
print(json.dumps(article.pk))
"""


def test_the_sweep_publishes_a_due_item_exactly_once_with_three_workers(tmp_path, shared_db):
    db = shared_db(NEWSROOM_WORKER_LOST_SECONDS="600")
    clock = fast_clock(speed=20)  # a minute every 3 seconds, from 10:00:00
    article_id = db.script(SCHEDULED_ARTICLE, "2026-03-02T10:01:30+00:00")
    workers = [Worker(tmp_path, db, f"worker-{n}", clock=clock) for n in (1, 2, 3)]

    def live():
        return db.rows(
            "SELECT went_live_at, go_live_at FROM articles_article WHERE id = %s", article_id
        )[0]

    wait_for("the article to go live", lambda: live()[0] is not None, *workers, timeout=120)
    wait_for("two more sweeps", lambda: len(db.sweeps()) >= 5, *workers, timeout=120)
    for worker in workers:
        assert worker.stop() == 0, worker.output()

    went_live_at, go_live_at = live()
    assert str(went_live_at).startswith("2026-03-02 10:01:30")  # its time, not the sweep's
    assert go_live_at is None
    history = db.rows(
        "SELECT change_message FROM django_admin_log WHERE object_id = %s", str(article_id)
    )
    assert history == [("Went live at 2026-03-02 10:01 UTC, as scheduled.",)]  # once
    statuses = [r["status"] for r in db.results(SWEEP)]
    assert "FAILED" not in statuses, statuses
