"""The list pages' query with the one-per-story rule, against the same query without it.

    .venv/bin/python bench/list_query.py --items 5000
    .venv/bin/python bench/list_query.py --items 5000 --database postgres://postgres@127.0.0.1:5432/bench_lists

Imports N of bench/import_bench.py's generated items (stories repeated as in the
corpus, so about one item in four ends in a story) into a fresh database, then times
the first page of Top and Latest, on the home page and on a topic page, with the rule
(`StoryList`, as the site reads it) and without it (`one_per_story=False`, the
baseline), taking turns. Prints the median milliseconds of each and their ratio.
The reader-page benchmark's database holds a single story, so only this one sees what
the rule costs when stories are many.
"""

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from import_bench import fresh_database, generate  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--items", type=int, default=5000)
    parser.add_argument("--database", default="sqlite", help="'sqlite' or a postgres:// URL")
    parser.add_argument("--repeat", type=int, default=50, help="runs of each query")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="newsroom-lists-"))
    generate(workdir / "items", args.items)
    os.environ["DATABASE_URL"] = fresh_database(args.database, workdir)
    os.environ.setdefault("DJANGO_SECRET_KEY", "bench-only")
    os.environ["DJANGO_SETTINGS_MODULE"] = "newsroom.settings"
    import logging

    import django

    django.setup()
    logging.getLogger("newsroom.import").setLevel(logging.WARNING)
    from django.core.management import call_command
    from django.db import connection

    from articles.ingest.importer import Importer
    from articles.models import Article, Story, Topic
    from articles.site import public

    call_command("migrate", verbosity=0)
    Importer().run([str(workdir / "items")])
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")  # what autovacuum does soon after a bulk load
    topic = Topic.objects.get(name="AI Hardware")
    print(
        f"{Article.objects.count()} articles ({Article.objects.published().count()} "
        f"published), {Story.objects.count()} stories, {connection.vendor}"
    )

    def timed(stories):
        sql, params = (
            stories.queryset()
            .values_list(*public.CARD_FIELDS)[:21]
            .query.get_compiler(connection.alias)
            .as_sql()
        )
        with connection.cursor() as cursor:

            def run():
                started = time.perf_counter()
                cursor.execute(sql, params)
                cursor.fetchall()
                return (time.perf_counter() - started) * 1000

            return [run() for _ in range(args.repeat)]

    print("| list | with the rule ms | without ms | ratio |")
    print("|---|---:|---:|---:|")
    for name, kwargs in (
        ("home, Top", {}),
        ("home, Latest", {"view": "latest"}),
        ("topic, Top", {"topic_id": topic.pk}),
    ):
        with_rule, without = [], []
        for _ in range(5):  # taking turns
            with_rule += timed(public.StoryList(**kwargs))
            without += timed(public.StoryList(**kwargs, one_per_story=False))
        a, b = statistics.median(with_rule), statistics.median(without)
        print(f"| {name} | {a:.2f} | {b:.2f} | {a / b:.1f}x |")


if __name__ == "__main__":
    main()
