"""Benchmark the public site under gunicorn on loopback, against a trivial view.

    .venv/bin/python bench/public_site.py                 # 100,000 articles, SQLite
    .venv/bin/python bench/public_site.py --articles 2000 --duration 5
    .venv/bin/python bench/public_site.py --database postgres://postgres@127.0.0.1:5432/bench_public

What it does:
1. builds a fresh database, SQLite by default or the PostgreSQL database named by
   --database (dropped and created again), then migrate and bulk_create: providers,
   topics, articles with images, topic links and some related coverage; 10% of the
   articles stay in review so the "published" filter has something to skip; then
   every heat and Top score (ranking.recompute, timed). Two topic pages are measured:
   "topic" (a topic on one article in 20) and "rare" (one on 30 articles, spread over
   the whole table: the worst case for reading a topic in Top order);
   --keep reuses a database that already holds --articles articles; --images cached
   (the default) gives every image the pages show a cached copy (8 distinct pictures,
   shared), as in production once the worker has fetched them; --images none leaves
   them uncached, so the pages show placeholders;
2. starts gunicorn (2 sync workers, default settings) twice: with the page cache on, then off
   (NEWSROOM_PAGE_CACHE=1/0); NEWSROOM_BENCH=1 routes /bench/trivial/, a constant
   response through the same middleware;
3. for each URL, runs a fixed-duration closed loop of keep-alive http.client
   connections (several threads in a few processes) and records every latency, the
   URLs taking turns in --rounds slices so the VM's drifting speed hits all alike;
4. prints a Markdown table: requests/s, p50/p99 latency, requests/s as a ratio of the
   trivial view measured by the same server, and the Content-Encoding the answers came
   with. Clients send `Accept-Encoding: gzip, deflate, br` as browsers do
   (--accept-encoding '' for none).

The load generator shares the machine with the server, so absolute numbers are
modest; the ratios are what to compare between runs and table sizes.
"""

import argparse
import datetime as dt
import http.client
import multiprocessing
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
GUNICORN = str(Path(PYTHON).with_name("gunicorn"))
HOST = "127.0.0.1"
SECRET = "benchmark-only-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz"
# The settings module the server runs with: the project's, unless an experiment
# names another (BENCH_SETTINGS=module, importable through PYTHONPATH).
SETTINGS = os.environ.get("BENCH_SETTINGS", "newsroom.settings")
# The request headers every client sends (set from --accept-encoding before the clients
# fork).
HEADERS = {}


def django_env(database_url, **extra):
    env = dict(os.environ)
    env.update(
        DATABASE_URL=database_url,
        DJANGO_SECRET_KEY=SECRET,
        DJANGO_DEBUG="0",
        DJANGO_ALLOWED_HOSTS=HOST,
        DJANGO_LOG_LEVEL="WARNING",
        DJANGO_SETTINGS_MODULE=SETTINGS,
        NEWSROOM_BENCH="1",
        DJANGO_MEDIA_ROOT=str(Path(tempfile.gettempdir()) / "newsroom-bench-media"),
        # Plain HTTP on loopback: no redirect to https.
        DJANGO_SECURE_SSL_REDIRECT="0",
    )
    env.pop("CACHE_URL", None)
    env.pop("REDIS_URL", None)
    env.update(extra)
    return env


def manage(env, *args):
    subprocess.run([PYTHON, "manage.py", *args], cwd=ROOT, env=env, check=True)


# -- 1. the database ----------------------------------------------------------------------


def build_database(database_url, count, keep=False, seed=4, images="cached"):
    """Create and fill the database (unless `keep` and it is already filled); returns
    the URLs to measure."""
    if not keep:
        _drop_database(database_url)
    env = django_env(database_url)
    manage(env, "migrate", "--noinput", "-v0")
    # DEBUG is off, so templates need the hashed static file names.
    manage(env, "collectstatic", "--noinput", "-v0")
    os.environ.update(env)
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.db import connection

    from articles.models import Article, Topic

    if not keep:
        _fill(count, seed)
        story_url = _story(20)
    elif Article.objects.count() != count + 20:
        raise SystemExit(f"--keep: the database does not hold {count} articles and a story")
    else:
        story_url = Article.objects.get(slug="story-of-20-outlets-0").get_absolute_url()
    _cache_images(images)
    if connection.vendor == "postgresql":
        # Table statistics, as autovacuum gathers them soon after a bulk load: without
        # them the planner guesses (a sequential scan of 100,000 images for 20 cards).
        # SQLite gets none, as in production, where nothing runs ANALYZE.
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    # The article page measured: from the middle of the table, with related coverage
    # and related stories (articles 0, 10, 20, ... have both; 9, 19, ... are in
    # review, so the published one at position 9k is article 10k).
    published = Article.objects.published()
    middle = published.order_by("-published_at")[published.count() // 2 // 9 * 9]
    topic = Topic.objects.get(slug="topic-3")
    rare = _rare_topic()
    return {
        "trivial": "/bench/trivial/",
        "home": "/",
        "article": middle.get_absolute_url(),
        "story": story_url,
        "topic": topic.get_absolute_url(),
        "rare": rare.get_absolute_url(),
        "api": "/api/news/",
        "original": "/api/news/index.json",
    }


def _rare_topic(members=30):
    """A topic on `members` articles spread evenly over the table (made once, also in a
    --keep database that predates it): the topic page's worst case, where reading the
    articles in Top order finds one of its stories every few thousand articles."""
    from articles.models import Article, TaggedTopic, Topic

    rare, created = Topic.objects.get_or_create(
        slug="rare-topic", defaults={"name": "Rare topic", "parent": Topic.objects.get(slug="ai")}
    )
    if created:
        ids = list(Article.objects.order_by("id").values_list("id", flat=True))
        step = max(1, len(ids) // members)
        TaggedTopic.objects.bulk_create(
            TaggedTopic(content_object_id=pk, tag=rare) for pk in ids[step // 2 :: step]
        )
    return rare


def _drop_database(database_url):
    """A fresh start: delete the SQLite file, or drop and create the PostgreSQL database."""
    if database_url.startswith("sqlite:///"):
        path = database_url.removeprefix("sqlite:///")
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        return
    import psycopg

    parts = urlsplit(database_url)
    name = parts.path.lstrip("/")
    server = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def _cache_images(images):
    """Every image URL the pages show cached (`images="cached"`), or none of them."""
    from articles.imagecache import cache, renditions
    from articles.models import ImageSource
    from tests.image_support import image_bytes

    if images == "none":
        ImageSource.objects.all().delete()
        return
    if ImageSource.objects.exists():
        return
    started = time.perf_counter()
    cache.register(cache.urls_shown())
    pictures = [
        renditions.store(image_bytes("JPEG", size=(1200, 675), colour=(30 * n, 90, 160)))
        for n in range(8)
    ]
    for n, picture in enumerate(pictures):
        ids = ImageSource.objects.values_list("pk", flat=True)[n :: len(pictures)]
        ImageSource.objects.filter(pk__in=list(ids)).update(status="cached", picture=picture)
    sys.stderr.write(
        f"cached {ImageSource.objects.count()} images in {time.perf_counter() - started:.1f}s\n"
    )


def _fill(count, seed):
    from django.db import transaction
    from django.utils import timezone

    from articles.models import (
        Article,
        ArticleImage,
        Provider,
        RelatedCoverage,
        TaggedTopic,
        Topic,
    )

    rng = random.Random(seed)
    started = time.perf_counter()
    with transaction.atomic():
        providers = Provider.objects.bulk_create(
            Provider(
                name=f"Outlet {n}",
                domain=f"outlet{n}.example",
                logos=[{"url": f"https://logos.example/{n}.png", "width": 50, "height": 50}],
            )
            for n in range(200)
        )
        root = Topic.objects.create(name="AI", slug="ai", description="Artificial intelligence.")
        Topic.objects.bulk_create(
            Topic(name=f"AI topic {n}", slug=f"topic-{n}", short_name=f"T{n}", parent=root)
            for n in range(20)
        )
        topics = list(Topic.objects.exclude(pk=root.pk))
        now = timezone.now()
        batch_size = 5000
        for start in range(0, count, batch_size):
            articles = []
            for n in range(start, min(count, start + batch_size)):
                published_at = now - dt.timedelta(minutes=7 * n + rng.randint(0, 5))
                articles.append(
                    Article(
                        title=f"Story {n}: machines learn yet another trick in field {n % 97}",
                        slug=f"{published_at:%Y-%m-%d}-story-{n}",
                        excerpt="A summary long enough to look like the real thing, "
                        "about a model, a chip, a robot and the people who build them. " * 2,
                        web_url=f"https://news{n % 50}.example/{n}/story",
                        published_at=published_at,
                        # Heat follows from quality and coverage (ranking.recompute, below);
                        # a fifth have no quality, so no heat and no score.
                        quality=None if rng.random() < 0.2 else rng.randint(0, 160),
                        status=(Article.Status.REVIEW if n % 10 == 9 else Article.Status.PUBLISHED),
                        went_live_at=now,
                        provider=rng.choice(providers),
                    )
                )
            Article.objects.bulk_create(articles)
            TaggedTopic.objects.bulk_create(
                TaggedTopic(content_object=a, tag=tag)
                for a in articles
                for tag in (root, rng.choice(topics))
            )
            ArticleImage.objects.bulk_create(
                ArticleImage(
                    article=a,
                    url=f"https://images.example/{a.pk}.jpg",
                    width=1200,
                    height=675,
                    is_cached=True,
                )
                for a in articles
            )
            RelatedCoverage.objects.bulk_create(
                RelatedCoverage(
                    article=a,
                    position=p,
                    title=f"Another outlet on story {a.pk}",
                    url=f"https://elsewhere{p}.example/{a.pk}",
                    provider_name=f"Elsewhere {p}",
                    provider_domain=f"elsewhere{p}.example",
                    published_at=a.published_at,
                    images=[{"url": f"https://images.example/c{a.pk}.jpg", "width": 300}],
                )
                for a in articles[::5]
                for p in range(3)
            )
            # Every tenth article has two related stories (links run both ways).
            link = Article.related_stories.through
            link.objects.bulk_create(
                link(from_article_id=x.pk, to_article_id=y.pk)
                for a, b, c in zip(articles[::10], articles[1::10], articles[2::10], strict=False)
                for x, y in ((a, b), (b, a), (a, c), (c, a))
            )
    sys.stderr.write(f"filled {count} articles in {time.perf_counter() - started:.1f}s\n")
    from articles import ranking

    started = time.perf_counter()
    moved = ranking.recompute(Article.objects.values_list("pk", flat=True))
    sys.stderr.write(f"scored {moved} articles in {time.perf_counter() - started:.1f}s\n")


def _story(outlets):
    """One event told by `outlets` outlets, each with a coverage entry, grouped by the
    real story grouping; the URL of its lead's page (the article measured as "story")."""
    from django.utils import timezone

    from articles import stories
    from articles.models import Article, Provider, RelatedCoverage

    when = timezone.now() - dt.timedelta(days=3)
    made = []
    for n in range(outlets):
        provider = Provider.objects.get(domain=f"outlet{n}.example")
        article = Article.objects.create(
            title=f"Korvane agrees to buy Lystrel for $4.{n} billion, outlet {n} reports",
            slug=f"story-of-20-outlets-{n}",
            excerpt="Korvane will buy the robot maker Lystrel from Ambrell Capital, "
            "the companies said on Monday, in the largest deal of its kind.",
            web_url=f"https://outlet{n}.example/korvane-lystrel",
            published_at=when + dt.timedelta(minutes=13 * n),
            quality=100 - n,
            heat=200,
            status=Article.Status.PUBLISHED,
            provider=provider,
        )
        RelatedCoverage.objects.create(
            article=article,
            title=f"Korvane to acquire Lystrel from Ambrell Capital ({n})",
            excerpt="Korvane is buying Lystrel, the robot maker owned by Ambrell Capital.",
            url=f"https://wire{n}.example/korvane-lystrel",
            provider_name=f"Wire {n}",
            provider_domain=f"wire{n}.example",
            published_at=article.published_at,
        )
        made.append(article)
    stories.assign_stories([a.pk for a in made])
    lead = Article.objects.get(slug="story-of-20-outlets-0")
    mentions = lead.story_mentions.get(kind="article").story.mentions.count()
    sys.stderr.write(f"a story of {mentions} mentions at {lead.get_absolute_url()}\n")
    return lead.get_absolute_url()


# -- 2. the server ----------------------------------------------------------------------


def start_server(database_url, port, page_cache):
    env = django_env(database_url, NEWSROOM_PAGE_CACHE="1" if page_cache else "0")
    # An empty config file instead of the project's gunicorn.conf.py: no access log,
    # no worker recycling (max_requests) in the middle of a measurement.
    config = Path(tempfile.gettempdir()) / "newsroom-bench-gunicorn.py"
    config.write_text("# benchmark: gunicorn defaults\n")
    command = [GUNICORN, "-c", str(config), "newsroom.wsgi:application"]
    process = subprocess.Popen(
        [*command, "--workers", "2", "--bind", f"{HOST}:{port}"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection(HOST, port, timeout=2)
            conn.request("GET", "/bench/trivial/")
            if conn.getresponse().status == 200:
                return process
        except OSError:
            time.sleep(0.2)
    process.terminate()
    raise RuntimeError("gunicorn did not start")


# -- 3. the load ----------------------------------------------------------------------


def _client_thread(port, path, deadline, latencies, errors):
    conn = http.client.HTTPConnection(HOST, port, timeout=30)
    while time.perf_counter() < deadline:
        started = time.perf_counter()
        try:
            conn.request("GET", path, headers=HEADERS)
            response = conn.getresponse()
            response.read()
        except (OSError, http.client.HTTPException):
            errors.append(1)
            conn.close()
            conn = http.client.HTTPConnection(HOST, port, timeout=30)
            continue
        latencies.append(time.perf_counter() - started)
        if response.status != 200:
            errors.append(response.status)
        if response.will_close:  # gunicorn's sync workers close after each response
            conn.close()
            conn = http.client.HTTPConnection(HOST, port, timeout=30)
    conn.close()


def _client_process(args):
    port, path, duration, threads = args
    deadline = time.perf_counter() + duration
    latencies, errors = [], []
    workers = [
        threading.Thread(target=_client_thread, args=(port, path, deadline, latencies, errors))
        for _ in range(threads)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return latencies, len(errors)


def measure(pool, port, urls, duration, rounds, processes, threads):
    """{name: requests/s, p50, p99, errors} for each of `urls` ({name: path}).

    Each URL gets `duration` seconds in all, in `rounds` slices, the URLs taking
    turns: this VM's speed drifts by 10-20% within minutes, and taking turns lets the
    drift touch every URL (and the trivial baseline) alike.
    """
    encodings = {}
    for name, path in urls.items():  # warm up every URL first, and see how it is encoded
        pool.map(_client_process, [(port, path, 1.0, threads)] * processes)
        conn = http.client.HTTPConnection(HOST, port, timeout=30)
        conn.request("GET", path, headers=HEADERS)
        response = conn.getresponse()
        response.read()
        encodings[name] = response.getheader("Content-Encoding") or "none"
        conn.close()
    latencies = {name: [] for name in urls}
    errors = dict.fromkeys(urls, 0)
    for _ in range(rounds):
        for name, path in urls.items():
            jobs = [(port, path, duration / rounds, threads)] * processes
            for found, failed in pool.map(_client_process, jobs):
                latencies[name].extend(found)
                errors[name] += failed
    results = {}
    for name in urls:
        quantiles = statistics.quantiles(sorted(latencies[name]), n=100)
        results[name] = {
            "rps": len(latencies[name]) / duration,
            "p50": quantiles[49] * 1000,
            "p99": quantiles[98] * 1000,
            "errors": errors[name],
            "encoding": encodings[name],
        }
    return results


# -- 4. the report ----------------------------------------------------------------------


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--articles", type=int, default=100_000)
    default_db = Path(tempfile.gettempdir()) / "newsroom-bench.sqlite3"
    parser.add_argument(
        "--database",
        default=f"sqlite:///{default_db}",
        help="a DATABASE_URL: sqlite:///path or postgres://...; it is emptied first",
    )
    parser.add_argument(
        "--keep", action="store_true", help="reuse the database if it holds --articles articles"
    )
    parser.add_argument(
        "--pages",
        default="home,article,story,topic,rare,api,original",
        help="which pages to measure (and trivial)",
    )
    parser.add_argument(
        "--cache", choices=("both", "on", "off"), default="both", help="page cache runs"
    )
    parser.add_argument(
        "--images", choices=("cached", "none"), default="cached", help="images cached, or not"
    )
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per URL")
    parser.add_argument(
        "--rounds", type=int, default=5, help="slices each URL's time is cut into, taking turns"
    )
    parser.add_argument("--processes", type=int, default=2, help="load generator processes")
    parser.add_argument("--threads", type=int, default=4, help="connections per process")
    parser.add_argument("--port", type=int, default=8791)
    parser.add_argument(
        "--accept-encoding",
        default="gzip, deflate, br",
        help="the clients' Accept-Encoding header ('' sends none)",
    )
    args = parser.parse_args()
    if args.accept_encoding:
        HEADERS["Accept-Encoding"] = args.accept_encoding

    urls = build_database(args.database, args.articles, args.keep, images=args.images)
    urls = {name: urls[name] for name in ("trivial", *args.pages.split(","))}
    switches = {"both": (True, False), "on": (True,), "off": (False,)}[args.cache]
    rows = []
    ctx = multiprocessing.get_context("fork")
    with ctx.Pool(args.processes) as pool:
        for page_cache in switches:
            server = start_server(args.database, args.port, page_cache)
            try:
                results = measure(
                    pool,
                    args.port,
                    urls,
                    args.duration,
                    args.rounds,
                    args.processes,
                    args.threads,
                )
            finally:
                server.terminate()
                server.wait(timeout=30)
            baseline = results["trivial"]["rps"]
            for name, result in results.items():
                rows.append((name, urls[name], page_cache, result, result["rps"] / baseline))

    engine = "SQLite" if args.database.startswith("sqlite") else "PostgreSQL"
    lines = [
        f"{engine}, {args.articles:,} articles, gunicorn 2 sync workers, "
        f"{args.processes}x{args.threads} keep-alive clients, {args.duration:g} s per URL "
        f"in {args.rounds} rounds, Accept-Encoding: {args.accept_encoding or '(none)'}, "
        f"images {args.images}",
        "",
        "| Page | URL | Page cache | Requests/s | p50 ms | p99 ms | vs trivial | Errors "
        "| Encoding |",
        "|---|---|---|---:|---:|---:|---:|---:|---|",
    ]
    for name, path, page_cache, r, ratio in rows:
        lines.append(
            f"| {name} | `{path}` | {'on' if page_cache else 'off'} | {r['rps']:.0f} "
            f"| {r['p50']:.1f} | {r['p99']:.1f} | {ratio:.2f}x | {r['errors']} "
            f"| {r['encoding']} |"
        )
    sys.stdout.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
