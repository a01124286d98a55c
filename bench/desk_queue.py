"""Benchmark the review queue page at 1,000 and at 100,000 articles (issue: the queue
answers within 1.5x its time at 1,000, whatever the size of the table).

    .venv/bin/python bench/desk_queue.py                       # SQLite, in a temp folder
    .venv/bin/python bench/desk_queue.py --database postgres://postgres@127.0.0.1:5432/bench_desk

On a fresh database (an SQLite file in a temporary folder, or the PostgreSQL database
named by --database, dropped and created again): --small articles (half of them in
review) from 40 outlets over two years, then the queue page
(/admin/articles/article/?status=review&order=oldest, and order=best) read --reads
times by a signed-in editor through Django's test client (the whole request: the
middleware, the admin, the templates); then the table is grown to --large articles
and the same reads are timed again. Prints the median time and the query count of
each, and the large-to-small ratios. Counts and date drill-downs are the usual traps
on big tables: the page's queries are listed with --explain.
"""

import argparse
import datetime as dt
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PAGES = {
    "oldest waiting first": "/admin/articles/article/?status=review&order=oldest",
    "best first": "/admin/articles/article/?status=review&order=best",
}


def setup(database_url):
    os.environ["DATABASE_URL"] = database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "newsroom.settings")
    os.environ["DJANGO_DEBUG"] = "1"
    os.environ["DJANGO_LOG_LEVEL"] = "WARNING"
    os.environ.pop("CACHE_URL", None)
    os.environ.pop("REDIS_URL", None)
    if database_url.startswith("postgres"):
        from public_site import _drop_database

        _drop_database(database_url)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def fill(start, stop):
    """Articles start..stop-1: every other one in review, the rest published."""
    from django.utils import timezone

    from articles.models import Article, Provider

    providers = list(Provider.objects.all()) or Provider.objects.bulk_create(
        [Provider(name=f"Outlet {n}", domain=f"outlet{n}.example") for n in range(40)]
    )
    now = timezone.now()
    batch = []
    for n in range(start, stop):
        at = now - dt.timedelta(minutes=(n * 7919) % (2 * 365 * 24 * 60))
        batch.append(
            Article(
                title=f"Story number {n} about chips and models",
                slug=f"story-{n}",
                excerpt=f"What happened in story {n}.",
                web_url=f"https://outlet{n % 40}.example/{n}",
                published_at=at,
                provider=providers[n % 40],
                status=Article.Status.REVIEW if n % 2 else Article.Status.PUBLISHED,
                quality=n % 100,
                heat=n % 120,
                score=at.timestamp() / 3600 + (n % 100),
            )
        )
        if len(batch) == 5000:
            Article.objects.bulk_create(batch)
            batch = []
    Article.objects.bulk_create(batch)


def measure(client, reads):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    results = {}
    for name, url in PAGES.items():
        assert client.get(url).status_code == 200  # warm
        times = []
        for _ in range(reads):
            started = time.perf_counter()
            with CaptureQueriesContext(connection) as queries:
                response = client.get(url)
            times.append(time.perf_counter() - started)
            assert response.status_code == 200
        results[name] = (statistics.median(times), len(queries), list(queries))
    return results


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", default="")
    parser.add_argument("--small", type=int, default=1_000)
    parser.add_argument("--large", type=int, default=100_000)
    parser.add_argument("--reads", type=int, default=15)
    parser.add_argument("--explain", action="store_true", help="print the large page's queries")
    args = parser.parse_args()
    folder = tempfile.mkdtemp(prefix="newsroom-desk-bench-")
    setup(args.database or f"sqlite:///{Path(folder) / 'bench.sqlite3'}")

    from django.test import Client

    from tests.admin_support import make_staff

    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(make_staff("bench-editor", group="Editors"))
    fill(0, args.small)
    small = measure(client, args.reads)
    fill(args.small, args.large)
    large = measure(client, args.reads)
    print(
        f"review queue page, median of {args.reads} reads, {args.small:,} vs {args.large:,} articles"
    )
    print("| page | at small | queries | at large | queries | ratio |")
    print("|---|---|---|---|---|---|")
    for name in PAGES:
        (few, few_queries, _), (many, many_queries, queries) = small[name], large[name]
        print(
            f"| {name} | {few * 1000:.1f} ms | {few_queries} | {many * 1000:.1f} ms "
            f"| {many_queries} | {many / few:.2f}x |"
        )
        if args.explain:
            for query in queries:
                print(f"  {float(query['time']) * 1000:7.1f} ms  {query['sql'][:300]}")


if __name__ == "__main__":
    main()
