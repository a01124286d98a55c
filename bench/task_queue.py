"""Benchmark the task queue: tasks per second through the database backend.

    .venv/bin/python bench/task_queue.py                  # SQLite, 1 and 2 workers
    .venv/bin/python bench/task_queue.py --database postgres://postgres@127.0.0.1:5432/bench_queue

What it does, on a fresh database (an SQLite file in a temporary folder, or the
PostgreSQL database named by --database, dropped and created again):
1. for each round and each number of workers (--workers, taking turns so that the
   machine's drifting speed hits all alike): starts that many `manage.py worker`
   processes (production settings, DEBUG off) and waits for their heartbeats;
2. enqueues --tasks no-op tasks (bench/queue_tasks.py) in one transaction, as a
   request or an import would, and times that;
3. waits until every one has run, and takes the throughput from the database's own
   timestamps: tasks / (last finished_at - first started_at);
4. stops the workers (SIGTERM) and deletes the results.
It prints a Markdown table: the median over the rounds of the enqueue rate and the
run rate, and the run rate as a ratio of one worker's in the same run.
"""

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from public_site import _drop_database, django_env

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
NOOP = "bench.queue_tasks.noop"


def start_workers(env, count):
    workers = [
        subprocess.Popen(
            [PYTHON, "manage.py", "worker", "--no-startup-delay"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
        )
        for _ in range(count)
    ]
    from articles.models import WorkerHeartbeat

    deadline = time.monotonic() + 120
    while WorkerHeartbeat.objects.count() < count:
        if time.monotonic() > deadline or any(w.poll() is not None for w in workers):
            raise SystemExit("the workers did not start")
        time.sleep(0.1)
    return workers


def stop_workers(workers):
    for worker in workers:
        worker.send_signal(signal.SIGTERM)
    for worker in workers:
        worker.wait(timeout=60)


def measure(env, workers_count, tasks):
    """(enqueued per second, run per second) with `workers_count` workers."""
    from django.db import transaction
    from django.db.models import Max, Min
    from django_tasks import TaskResultStatus
    from django_tasks_db.models import DBTaskResult

    from bench.queue_tasks import noop

    workers = start_workers(env, workers_count)
    try:
        started = time.perf_counter()
        with transaction.atomic():
            for n in range(tasks):
                noop.enqueue(n)
        enqueue_seconds = time.perf_counter() - started
        results = DBTaskResult.objects.filter(task_path=NOOP)
        deadline = time.monotonic() + 600
        while results.filter(status=TaskResultStatus.SUCCESSFUL).count() < tasks:
            if time.monotonic() > deadline:
                raise SystemExit("the tasks did not all run within 10 minutes")
            time.sleep(0.2)
    finally:
        stop_workers(workers)
    span = results.aggregate(first=Min("started_at"), last=Max("finished_at"))
    run_seconds = (span["last"] - span["first"]).total_seconds()
    results.delete()
    return tasks / enqueue_seconds, tasks / run_seconds


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", help="a PostgreSQL URL (default: an SQLite file)")
    parser.add_argument("--tasks", type=int, default=2000, help="tasks per measurement")
    parser.add_argument("--workers", default="1,2", help="worker counts to compare")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    counts = [int(n) for n in args.workers.split(",")]

    with tempfile.TemporaryDirectory() as folder:
        url = args.database or f"sqlite:///{Path(folder) / 'bench_queue.sqlite3'}"
        _drop_database(url)
        env = django_env(url, DJANGO_LOG_LEVEL="WARNING")
        subprocess.run(
            [PYTHON, "manage.py", "migrate", "--noinput", "-v0"], cwd=ROOT, env=env, check=True
        )
        os.environ.update(env)
        sys.path.insert(0, str(ROOT))
        import django

        django.setup()
        from django.db import connection

        figures = {count: [] for count in counts}
        for round_number in range(args.rounds):
            for count in counts if round_number % 2 == 0 else reversed(counts):
                figures[count].append(measure(env, count, args.tasks))
                enqueued, ran = figures[count][-1]
                print(
                    f"round {round_number + 1}, {count} worker(s): enqueued {enqueued:.0f}/s, ran {ran:.0f}/s",
                    file=sys.stderr,
                )
        vendor = connection.vendor

    one = statistics.median(ran for _, ran in figures[counts[0]])
    print(f"\n{vendor}, {args.tasks} tasks per measurement, median of {args.rounds} rounds\n")
    print("| workers | enqueued/s (one transaction) | tasks run/s | vs 1 worker |")
    print("|---|---|---|---|")
    for count in counts:
        enqueued = statistics.median(e for e, _ in figures[count])
        ran = statistics.median(r for _, r in figures[count])
        print(f"| {count} | {enqueued:.0f} | {ran:.0f} | {ran / one:.2f}x |")


if __name__ == "__main__":
    main()
