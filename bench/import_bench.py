"""Import benchmark: N generated items shaped like the corpus, into a fresh database.

    .venv/bin/python bench/import_bench.py --items 20000
    .venv/bin/python bench/import_bench.py --items 2000 --database postgres://postgres@127.0.0.1:5432/bench_import

Prints, from one run: the bare parse rate of the same files with yaml.CSafeLoader
(one process, no validation, no database: the floor cost), the first import's rate
and its ratio to that parse rate, the re-import of the unchanged files, peak RSS of
the importing process (and of its parse workers), and database queries per item.
Each measured step runs in a fresh subprocess so that their memory does not mix.
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
    """Write `count` items of about 6 KB each (images, 4-6 related items, long secured)."""
    import datetime as dt

    from articles import itemfile
    from articles.itemfile import Coverage, Image, Item

    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    start = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    for n in range(count):
        domain = f"outlet{rng.randrange(400)}.example"
        published = start + dt.timedelta(minutes=17 * n)
        title = f"{sentence(rng, 9)} {n}"
        related = [
            Coverage(
                title=sentence(rng, 10),
                url=f"https://other{rng.randrange(900)}.example/{n}/{k}/{sentence(rng, 4).replace(' ', '-').lower()}",
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


def peak_rss_mb():
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return own, children


def step_parse(folder):
    import yaml

    files = sorted(folder.glob("*.md"))
    started = time.perf_counter()
    for path in files:
        text = path.read_text(encoding="utf-8")
        yaml.load(text.split("---\n", 2)[1], Loader=yaml.CSafeLoader)
    elapsed = time.perf_counter() - started
    return {"files": len(files), "seconds": elapsed, "rate": len(files) / elapsed}


def step_import(folder, database_url, migrate):
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
    from articles.importer import Importer

    counted = [0]

    def count(execute, sql, params, many, context):
        counted[0] += 1  # count, but keep nothing (DEBUG's query log would grow the RSS)
        return execute(sql, params, many, context)

    started = time.perf_counter()
    with connection.execute_wrapper(count):
        report = Importer().run([str(folder)])
    elapsed = time.perf_counter() - started
    queries = counted[0]
    own, children = peak_rss_mb()
    return {
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
        print(json.dumps(step_import(Path(args.folder), args.url, migrate=args.step == "import")))
        return

    workdir = Path(tempfile.mkdtemp(prefix="newsroom-bench-"))
    folder = workdir / "items"
    try:
        run_step("--step", "generate", "--folder", str(folder), "--items", str(args.items))
        size = sum(p.stat().st_size for p in folder.glob("*.md")) / args.items
        url = fresh_database(args.database, workdir)
        parse = run_step("--step", "parse", "--folder", str(folder))
        first = run_step("--step", "import", "--folder", str(folder), "--url", url)
        again = run_step("--step", "reimport", "--folder", str(folder), "--url", url)
        engine = "PostgreSQL" if url.startswith("postgres") else "SQLite"
        print(
            f"import benchmark: {args.items} items, {size / 1024:.1f} KB each, {engine}, {os.cpu_count()} cores"
        )
        print("| step | items/s | seconds | ratio | peak RSS MB (main / workers) | queries/item |")
        print("|---|---|---|---|---|---|")
        print(
            f"| bare CSafeLoader parse (1 process) | {parse['rate']:.0f} | {parse['seconds']:.1f} | 1.00x | | |"
        )
        print(
            f"| first import | {first['rate']:.0f} | {first['seconds']:.1f} | "
            f"{first['rate'] / parse['rate']:.2f}x parse | {first['rss_mb']:.0f} / {first['worker_rss_mb']:.0f} | "
            f"{first['queries'] / args.items:.3f} |"
        )
        print(
            f"| re-import, unchanged | {again['rate']:.0f} | {again['seconds']:.1f} | "
            f"{again['rate'] / first['rate']:.1f}x first import | {again['rss_mb']:.0f} / {again['worker_rss_mb']:.0f} | "
            f"{again['queries'] / args.items:.3f} |"
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
