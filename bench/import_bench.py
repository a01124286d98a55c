"""Import benchmark: N generated items shaped like the corpus, into a fresh database.

    .venv/bin/python bench/import_bench.py --items 20000
    .venv/bin/python bench/import_bench.py --items 2000 --database postgres://postgres@127.0.0.1:5432/bench_import
    .venv/bin/python bench/import_bench.py --items 20000 --without-stories   # the import alone
    .venv/bin/python bench/import_bench.py --items 20000 --without-revisions # no revisions

The items repeat stories as the real ones do: one item in five is a syndicated copy
of an earlier item (the same headline under another outlet), one in five the same
event in other words, and some coverage entries are other items of the run. The
import groups them into stories and computes every article's heat and score, as the
write path's receivers do in each batch (articles/receivers.py); --without-stories
measures the import without the story grouping.
Revisions (articles/revisions.py) are written as on the site; --without-revisions
leaves them out, to measure what they cost; the run prints the revision rows and
bytes per imported item (the revisions and the articles' states).

Queries are counted with a connection execute-wrapper, which does not see PostgreSQL's
COPY (articles/ingest/bulk.py): there, the figure leaves out one COPY per table a batch.

Prints, from one run: the bare parse rate of the same files with yaml.CSafeLoader
(one process, no validation, no database: the floor cost; taken before and after the
imports, and averaged), the first import's rate (stories, heat and score included) and
its ratio to that parse rate, the re-import of the unchanged files, peak
RSS of the importing process (and of its parse workers), database queries per item,
and the CPU seconds the first import took per 1,000 items in the importing process,
its parse workers and (PostgreSQL) the database server's backend, next to the bare
parse's. Each measured step runs in a fresh subprocess so that their memory does not
mix.
"""

import argparse
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

VOCABULARY = (
    "model data neural network robots vision language chips cloud startup research safety "
    "training inference policy healthcare autonomous vehicles regulators investors open source "
    "benchmark transformer agents privacy cameras drones factories hospitals banks"
)
WORDS = VOCABULARY.split()
TOPICS = ["AI", "Machine Learning", "Computer Vision", "AI Ethics", "AI Hardware", "AI in Autos"]


def sentence(rng, words):
    return " ".join(rng.choice(WORDS) for _ in range(words)).capitalize()


def generate(folder: Path, count: int, seed: int = 7):
    """Write `count` items of about 6 KB each (images, 4-6 related items, long secured);
    items repeat stories (see the module docstring)."""
    import datetime as dt

    from articles.ingest import itemfile
    from articles.ingest.itemfile import Coverage, Image, Item

    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    start = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    previous_url = ""
    for n in range(count):
        domain = f"outlet{rng.randrange(400)}.example"
        published = start + dt.timedelta(minutes=17 * n)
        # A story is named by two made-up companies; items n % 5 == 1 copy the story of
        # item n - 1 word for word, items n % 5 == 2 tell it in other words.
        story = n - n % 5
        names = f"Zent{story}ra buys Korv{story}al"
        if n % 5 in (0, 1):
            title = f"{names} for ${story % 90 + 2} million {sentence(random.Random(story), 5)}"
        elif n % 5 == 2:
            title = (
                f"Why Zent{story}ra wants Korv{story}al: {sentence(rng, 6)} ${story % 90 + 2}m deal"
            )
        else:
            title = f"{sentence(rng, 9)} {n}"
        related = [
            Coverage(
                title=sentence(rng, 10),
                # Now and then the entry is an earlier item of the run (it links the two).
                url=previous_url
                if k == 0 and n % 7 == 3 and previous_url
                else f"https://other{rng.randrange(900)}.example/{n}/{k}/{sentence(rng, 4).replace(' ', '-').lower()}",
                excerpt=sentence(rng, 40),
                published_at=published + dt.timedelta(hours=k),
                amp_web_url=f"https://amp.example/{n}/{k}",
                cdn_amp_web_url=f"https://amp-example.cdn.ampproject.org/c/s/amp.example/{n}/{k}",
                type="article",
                provider_name=f"Other {k}",
                provider_domain=f"other{k}.example",
                quality=rng.randrange(0, 190),
                images=[
                    Image(
                        url=f"https://img.example/r/{n}/{k}.jpg",
                        width=1200,
                        height=800,
                        is_cached=True,
                    )
                ],
            )
            for k in range(rng.randrange(4, 7))
        ]
        quality = rng.randrange(0, 170)
        item = Item(
            path="",
            title=title,
            web_url=f"https://{domain}/{published:%Y/%m/%d}/story-{n}",
            original_url=f"https://{domain}/{published:%Y/%m/%d}/story-{n}",
            published_at=published,
            provider_domain=domain,
            provider_name=f"Outlet {domain.split('.')[0][6:]}",
            provider_logos=[
                Image(url=f"https://logos.example/{domain}-50x50.jpg", width=50, height=50)
            ],
            excerpt=sentence(rng, 60),
            category="news",
            type="article",
            quality=quality,
            heat=rng.choice([None, quality, quality + 20]),
            published=rng.random() < 0.3,
            topics=["AI", rng.choice(TOPICS[1:])],
            images=[
                Image(url=f"https://img.example/{n}.jpg", width=1200, height=675, is_cached=True)
            ],
            related=related,
            secured="".join(
                rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdef0123456789+/") for _ in range(520)
            )
            + ";abcdefghijklmnopqrstuv==",
        )
        (folder / f"{published:%Y-%m-%d}-story-{n}.md").write_text(
            itemfile.write(item), encoding="utf-8"
        )
        previous_url = item.web_url


def peak_rss_mb():
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return own, children


def step_parse(folder):
    import yaml

    files = sorted(folder.glob("*.md"))
    started, cpu = time.perf_counter(), own_cpu()
    for path in files:
        text = path.read_text(encoding="utf-8")
        yaml.load(text.split("---\n", 2)[1], Loader=yaml.CSafeLoader)
    elapsed = time.perf_counter() - started
    return {
        "files": len(files),
        "seconds": elapsed,
        "rate": len(files) / elapsed,
        "cpu": own_cpu() - cpu,
    }


def own_cpu(who=resource.RUSAGE_SELF):
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def process_cpu(pid):
    """CPU seconds of another process of this machine (the database server's backend)."""
    with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def step_import(folder, database_url, migrate, stories=True, revisions=True):
    os.environ["DATABASE_URL"] = database_url
    os.environ.setdefault("DJANGO_SECRET_KEY", "bench-only")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "newsroom.settings")
    import logging

    import django

    django.setup()
    logging.getLogger("newsroom.import").setLevel(logging.WARNING)
    from django.core.management import call_command
    from django.db import connection

    if migrate:
        call_command("migrate", verbosity=0)
    from articles.ingest.importer import Importer

    if not stories:  # the import without story grouping, for comparison
        from articles import changes

        changes.articles_changing.disconnect(dispatch_uid="changes-stories")
    if not revisions:
        from articles import changes

        changes.articles_changing.disconnect(dispatch_uid="changes-revisions")

    counted = [0]

    def count(execute, sql, params, many, context):
        counted[0] += 1  # count, but keep nothing (DEBUG's query log would grow the RSS)
        return execute(sql, params, many, context)

    backend = None
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            backend = cursor.fetchone()[0]
    server_cpu = process_cpu(backend) if backend else 0.0
    started, cpu = time.perf_counter(), own_cpu()
    with connection.execute_wrapper(count):
        report = Importer().run([str(folder)])
    elapsed = time.perf_counter() - started
    queries = counted[0]
    own, children = peak_rss_mb()
    from articles.models import Story

    return {
        **revision_sizes(connection),
        "cpu": own_cpu() - cpu,
        "worker_cpu": own_cpu(resource.RUSAGE_CHILDREN),
        "server_cpu": process_cpu(backend) - server_cpu if backend else 0.0,
        "stories": Story.objects.count(),
        "files": report.files,
        "created": report.created,
        "unchanged": report.unchanged,
        "failed": report.failed,
        "seconds": elapsed,
        "rate": report.files / elapsed,
        "queries": queries,
        "rss_mb": own,
        "worker_rss_mb": children,
    }


def revision_sizes(connection):
    from django.db import DatabaseError

    """Rows and bytes of the revision tables: their JSON's length, and the tables' pages
    on disk where the database says (SQLite's dbstat, PostgreSQL's relation size)."""
    sizes = {}
    with connection.cursor() as cursor:
        for table, column in (
            ("articles_revision", "changes"),
            ("articles_revisedstate", "values"),
        ):
            quoted = connection.ops.quote_name(column)
            text = f"CAST({quoted} AS TEXT)" if connection.vendor == "postgresql" else quoted
            cursor.execute(f"SELECT count(*), coalesce(sum(length({text})), 0) FROM {table}")
            rows, json_bytes = cursor.fetchone()
            try:
                if connection.vendor == "postgresql":
                    cursor.execute("SELECT pg_total_relation_size(%s)", [table])
                else:
                    cursor.execute("SELECT sum(pgsize) FROM dbstat WHERE name = %s", [table])
                disk = cursor.fetchone()[0]
            except DatabaseError:  # SQLite built without dbstat
                disk = None
            sizes[table] = {"rows": rows, "json_bytes": json_bytes, "disk_bytes": disk}
    return {"revision_tables": sizes}


def run_step(*args):
    out = subprocess.run(
        [sys.executable, __file__, *args], check=True, capture_output=True, text=True, cwd=ROOT
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def fresh_database(url, workdir):
    if url.startswith("postgres"):
        import psycopg

        base, name = url.rsplit("/", 1)
        with psycopg.connect(base + "/postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
            conn.execute(f'CREATE DATABASE "{name}"')
        return url
    return f"sqlite:///{workdir / 'bench.sqlite3'}"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--items", type=int, default=20000)
    parser.add_argument("--database", default="sqlite", help="'sqlite' or a postgres:// URL")
    parser.add_argument("--keep", action="store_true", help="keep the generated files")
    parser.add_argument(
        "--without-stories", action="store_true", help="import without the story grouping"
    )
    parser.add_argument(
        "--without-revisions", action="store_true", help="import without writing revisions"
    )
    parser.add_argument("--step", help=argparse.SUPPRESS)
    parser.add_argument("--folder", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.step == "generate":
        generate(Path(args.folder), args.items)
        print(json.dumps({"ok": True}))
        return
    if args.step == "parse":
        print(json.dumps(step_parse(Path(args.folder))))
        return
    if args.step in ("import", "reimport"):
        result = step_import(
            Path(args.folder),
            args.url,
            migrate=args.step == "import",
            stories=not args.without_stories,
            revisions=not args.without_revisions,
        )
        print(json.dumps(result))
        return

    workdir = Path(tempfile.mkdtemp(prefix="newsroom-bench-"))
    folder = workdir / "items"
    try:
        run_step("--step", "generate", "--folder", str(folder), "--items", str(args.items))
        size = sum(p.stat().st_size for p in folder.glob("*.md")) / args.items
        url = fresh_database(args.database, workdir)
        # The parse rate is taken before and after the imports and averaged: on a shared
        # machine the load moves within minutes, and a baseline taken once moved the
        # ratio more than the code did.
        grouping = ["--without-stories"] if args.without_stories else []
        grouping += ["--without-revisions"] if args.without_revisions else []
        before = run_step("--step", "parse", "--folder", str(folder))
        first = run_step("--step", "import", "--folder", str(folder), "--url", url, *grouping)
        again = run_step("--step", "reimport", "--folder", str(folder), "--url", url, *grouping)
        after = run_step("--step", "parse", "--folder", str(folder))
        parse = {
            "rate": (before["rate"] + after["rate"]) / 2,
            "seconds": (before["seconds"] + after["seconds"]) / 2,
        }
        print(
            f"bare parse rate before / after the imports: {before['rate']:.0f} / {after['rate']:.0f} items/s"
        )
        engine = "PostgreSQL" if url.startswith("postgres") else "SQLite"
        print(
            f"import benchmark: {args.items} items, {size / 1024:.1f} KB each, {engine}, {os.cpu_count()} cores, "
            + ("without stories" if args.without_stories else f"{first['stories']} stories formed")
            + (", without revisions" if args.without_revisions else ", with revisions")
        )
        print("| step | items/s | seconds | ratio | peak RSS MB (main / workers) | queries/item |")
        print("|---|---|---|---|---|---|")
        print(
            f"| bare CSafeLoader parse (1 process) | {parse['rate']:.0f} | {parse['seconds']:.1f} | 1.00x | | |"
        )
        print(
            f"| first import ({1000 * first['seconds'] / args.items:.2f} ms/item) | {first['rate']:.0f} | {first['seconds']:.1f} | "
            f"{first['rate'] / parse['rate']:.2f}x parse | {first['rss_mb']:.0f} / {first['worker_rss_mb']:.0f} | "
            f"{first['queries'] / args.items:.3f} |"
        )
        print(
            f"| re-import, unchanged | {again['rate']:.0f} | {again['seconds']:.1f} | "
            f"{again['rate'] / first['rate']:.1f}x first import | {again['rss_mb']:.0f} / {again['worker_rss_mb']:.0f} | "
            f"{again['queries'] / args.items:.3f} |"
        )
        for table, size in first["revision_tables"].items():
            disk = size["disk_bytes"]
            print(
                f"{table} after the first import: {size['rows'] / args.items:.2f} rows and "
                f"{size['json_bytes'] / args.items:.0f} bytes of JSON per item"
                + (f", {disk / args.items:.0f} bytes on disk per item" if disk else "")
            )
        per_1000 = 1000 / args.items
        print(
            f"CPU seconds per 1,000 items (a measure the machine's load moves less): bare parse "
            f"{before['cpu'] * per_1000:.2f}; first import {first['cpu'] * per_1000:.2f} main + "
            f"{first['worker_cpu'] * per_1000:.2f} parse workers + "
            f"{first['server_cpu'] * per_1000:.2f} database server"
        )
        assert first["created"] == args.items and first["failed"] == 0, first
        assert again["unchanged"] == args.items, again
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
        else:
            print(f"files kept in {folder}")


if __name__ == "__main__":
    main()
