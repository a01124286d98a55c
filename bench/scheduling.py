"""Benchmark scheduled publishing: from an item's "go live at" time to readers seeing it,
and to the sweep recording it, with a real worker and the real clock.

    .venv/bin/python bench/scheduling.py                  # SQLite, 40 items over 4 minutes
    .venv/bin/python bench/scheduling.py --database postgres://postgres@127.0.0.1:5432/bench_sched

What it does, on a fresh database (an SQLite file in a temporary folder, or the
PostgreSQL database named by --database, dropped and created again), with production
settings (DEBUG off, the page cache on):
1. starts one `manage.py worker` (its once-a-minute sweep runs apply_schedules);
2. schedules --items published articles for random moments over the next --minutes
   (each dated its go-live time, so it heads "Latest" when it goes live);
3. reads the home page's "Latest" list through the page cache, in this process, every
   --poll seconds, noting when each title first appears: "seen by readers";
4. once the sweep has recorded every one (its history entry), stops the worker.
Delays, from each item's "go live at": seen by readers (the visibility rule and the
page cache's horizon; the poll's period bounds what can be seen), and recorded by the
sweep (its history entry's time: went_live_at, the status, ranking, the cache bump).
The sweep's delay is the baseline: it is what readers would wait if publishing
depended on the sweep alone (a cron-run publish job, as Wagtail's). Prints p50, p99
and max of both, and readers' as a ratio of the sweep's.
"""

import argparse
import datetime as dt
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from public_site import HOST, _drop_database, django_env
from task_queue import start_workers, stop_workers

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def schedule(items, minutes, seed):
    """`items` articles going live at random moments over the next `minutes`: {title: time}."""
    from django.utils import timezone

    from articles.models import Article, Provider

    rng = random.Random(seed)
    provider = Provider.objects.create(name="Wire", domain="wire.example")
    start = timezone.now() + dt.timedelta(seconds=20)  # the worker is warm by then
    moments = {}
    for n in range(items):
        at = start + dt.timedelta(seconds=rng.uniform(0, minutes * 60))
        title = f"Scheduled story {n:03d}"
        article = Article.objects.create(
            title=title,
            web_url=f"https://wire.example/{n}",
            provider=provider,
            published_at=at,
            status=Article.Status.REVIEW,
        )
        # As the admin's form leaves it: published, with its time to come.
        Article.objects.filter(pk=article.pk).update(status=Article.Status.PUBLISHED, go_live_at=at)
        moments[title] = at
    return moments


def watch(moments, poll):
    """{title: when readers first saw it}, polling "Latest" until every title was seen."""
    from django.test import Client
    from django.utils import timezone

    browser = Client(HTTP_HOST=HOST)
    seen = {}
    deadline = max(moments.values()) + dt.timedelta(minutes=3)
    while len(seen) < len(moments):
        if timezone.now() > deadline:
            raise SystemExit(f"only {len(seen)} of {len(moments)} items were ever seen")
        page = browser.get("/?view=latest").content.decode()
        now = timezone.now()
        for title in moments:
            if title not in seen and title in page:
                seen[title] = now
        time.sleep(poll)
    return seen


def recorded(moments):
    """{title: when the sweep's history entry was written}, waiting for every one."""
    from django.contrib.admin.models import LogEntry

    deadline = time.monotonic() + 180
    while True:
        rows = dict(
            LogEntry.objects.filter(change_message__endswith="as scheduled.").values_list(
                "object_repr", "action_time"
            )
        )
        if len(rows) >= len(moments) or time.monotonic() > deadline:
            return rows
        time.sleep(1)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", help="a PostgreSQL URL (default: an SQLite file)")
    parser.add_argument("--items", type=int, default=40)
    parser.add_argument("--minutes", type=float, default=4)
    parser.add_argument("--poll", type=float, default=0.2, help="seconds between reads")
    parser.add_argument("--seed", type=int, default=13)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as folder:
        url = args.database or f"sqlite:///{Path(folder) / 'bench_sched.sqlite3'}"
        _drop_database(url)
        env = django_env(url, NEWSROOM_PAGE_CACHE="1", DJANGO_STATIC_ROOT=f"{folder}/static")
        for command in (["migrate"], ["collectstatic"]):  # DEBUG off: hashed static names
            subprocess.run(
                [PYTHON, "manage.py", *command, "--noinput", "-v0"], cwd=ROOT, env=env, check=True
            )
        os.environ.update(env)
        sys.path.insert(0, str(ROOT))
        import django

        django.setup()
        from django.db import connection

        workers = start_workers(env, 1)
        try:
            moments = schedule(args.items, args.minutes, args.seed)
            seen = watch(moments, args.poll)
            written = recorded(moments)
        finally:
            stop_workers(workers)
        vendor = connection.vendor

    missing = set(moments) - set(written)
    if missing:
        raise SystemExit(f"the sweep never recorded {len(missing)} items")
    readers = [(seen[t] - moments[t]).total_seconds() for t in moments]
    sweep = [(written[t] - moments[t]).total_seconds() for t in moments]
    early = [t for t in moments if seen[t] < moments[t]]
    print(
        f"\n{vendor}, {args.items} items over {args.minutes:g} minutes, "
        f"'Latest' read every {args.poll:g} s through the page cache\n"
    )
    print('| delay from "go live at" | p50 | p99 | max |')
    print("|---|---|---|---|")
    for name, values in (("seen by readers", readers), ("recorded by the sweep", sweep)):
        p50, p99 = percentile(values, 0.5), percentile(values, 0.99)
        print(f"| {name} | {p50:.2f} s | {p99:.2f} s | {max(values):.2f} s |")
    ratio = statistics.median(readers) / statistics.median(sweep)
    print(f"\nreaders' p50 / the sweep's p50: {ratio:.3f}; seen early: {len(early)}")


if __name__ == "__main__":
    main()
