"""CPU milliseconds per request of the public pages, in one process, against the trivial view.

    .venv/bin/python bench/public_site.py --articles 1000 --cache off --pages home ...  # fills it
    .venv/bin/python bench/pages_cpu.py --database sqlite:////tmp/newsroom-bench.sqlite3

Uses a database `bench/public_site.py` filled, and Django's test client through the
whole middleware stack with the page cache off: the best of --batches batches of
--requests requests, as this process's CPU time (the machine is shared: wall time
moves with the neighbours' load, CPU time much less). Prints each page's ms per
request and its speed as a ratio of the trivial view measured in the same run.
"""

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", required=True)
    parser.add_argument("--batches", type=int, default=8)
    parser.add_argument("--requests", type=int, default=40)
    args = parser.parse_args()
    os.environ.update(
        DATABASE_URL=args.database,
        DJANGO_SECRET_KEY="benchmark-only-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz",
        DJANGO_DEBUG="0",
        DJANGO_ALLOWED_HOSTS="testserver",
        DJANGO_LOG_LEVEL="WARNING",
        DJANGO_SETTINGS_MODULE="newsroom.settings",
        NEWSROOM_BENCH="1",
        NEWSROOM_PAGE_CACHE="0",
        DJANGO_SECURE_SSL_REDIRECT="0",
    )
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.test import Client

    from articles.models import Article

    published = Article.objects.published()
    middle = published.order_by("-published_at")[published.count() // 2 // 9 * 9]
    urls = {"trivial": "/bench/trivial/", "home": "/", "article": middle.get_absolute_url()}
    client = Client()
    best = dict.fromkeys(urls, float("inf"))
    for _ in range(args.batches):
        for name, url in urls.items():  # taking turns, like public_site.py
            started = time.process_time()
            for _ in range(args.requests):
                response = client.get(url)
                assert response.status_code == 200, (url, response.status_code)
            best[name] = min(best[name], (time.process_time() - started) / args.requests)
    print("| page | CPU ms per request | vs trivial |")
    print("|---|---:|---:|")
    for name in urls:
        print(f"| {name} | {best[name] * 1000:.2f} | {best['trivial'] / best[name]:.2f}x |")


if __name__ == "__main__":
    main()
