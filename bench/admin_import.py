"""Admin import benchmark: N generated files uploaded as a zip, from upload to done,
against `manage.py import_yaml` on the same files, in the same run.

    .venv/bin/python bench/admin_import.py --items 2000
    .venv/bin/python bench/admin_import.py --items 2000 --database postgres://postgres@127.0.0.1:5432/bench_upload

The files are bench/import_bench.py's (about 6 KB each, stories repeated as in the
corpus). Each side imports them into a fresh database, in a subprocess of its own:

- **command line**: `manage.py import_yaml FOLDER -v 0`, timed from start to exit;
- **admin**: an editor's client (Django's test client, so no HTTP server is timed)
  POSTs the zip to Import files, a worker runs the preview task, the client reads the
  preview page, confirms, the worker runs the import task, and the client reads the
  progress JSON until it says done. The worker is this process calling the queued
  tasks as `manage.py worker` would (no polling interval counted).

The ratio is the command line's time over the admin's: 1.00x is as fast. The admin
does the import twice: once as the preview's dry run (the importer's writes, rolled
back, without the side effects that decide no outcome: stories, revisions, heat,
history) and once for real.
"""

import argparse
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from import_bench import fresh_database, generate  # noqa: E402


def setup_django(url):
    os.environ["DATABASE_URL"] = url
    # The test settings (plain HTTP, static files without collectstatic) on both sides:
    # the admin's pages render here without a web server in front.
    os.environ["DJANGO_SETTINGS_MODULE"] = "tests.settings"
    os.environ["DJANGO_ALLOWED_HOSTS"] = "testserver"  # the test client's host
    import logging

    import django

    django.setup()
    logging.getLogger("newsroom.import").setLevel(logging.WARNING)
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def step_command(folder, url):
    setup_django(url)
    env = {**os.environ, "DATABASE_URL": url}
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "manage.py", "import_yaml", str(folder), "-v", "0"],
        check=True,
        cwd=ROOT,
        env=env,
    )
    seconds = time.perf_counter() - started
    from articles.models import Article

    return {"seconds": seconds, "articles": Article.objects.count()}


def run_queued_tasks():
    from django_tasks import TaskResultStatus
    from django_tasks_db.models import DBTaskResult

    for result in DBTaskResult.objects.filter(status=TaskResultStatus.READY).order_by("pk"):
        arguments = result.args_kwargs
        result.task.call(*arguments["args"], **arguments["kwargs"])
        result.delete()


def step_admin(zip_path, url):
    setup_django(url)
    from django.contrib.auth.models import Group, User
    from django.test import Client
    from django.urls import reverse

    from articles.models import Article, ImportUpload

    editor = User.objects.create_user("bench", is_staff=True)
    editor.groups.add(Group.objects.get(name="Editors"))
    client = Client()
    client.force_login(editor)
    data = zip_path.read_bytes()
    timings = {}
    started = time.perf_counter()
    response = client.post(
        reverse("admin:articles_importupload_add"),
        {"files": [_named(io.BytesIO(data), zip_path.name)]},
    )
    assert response.status_code == 302, response.content[:2000]
    timings["upload"] = time.perf_counter() - started
    upload = ImportUpload.objects.get()
    run_queued_tasks()
    page = client.get(reverse("admin:articles_importupload_change", args=[upload.pk]))
    assert page.status_code == 200
    timings["preview"] = time.perf_counter() - started - timings["upload"]
    client.post(reverse("admin:articles_importupload_confirm", args=[upload.pk]))
    run_queued_tasks()
    progress = client.get(reverse("admin:articles_importupload_progress", args=[upload.pk])).json()
    assert progress["status"] == "done", progress
    seconds = time.perf_counter() - started
    timings["import"] = seconds - timings["upload"] - timings["preview"]
    return {"seconds": seconds, **timings, "articles": Article.objects.count()}


def _named(buffer, name):
    buffer.name = name
    return buffer


def run_step(*args):
    out = subprocess.run(
        [sys.executable, __file__, *args], capture_output=True, text=True, cwd=ROOT
    )
    if out.returncode:
        sys.exit(f"{' '.join(args[:2])} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--items", type=int, default=2000)
    parser.add_argument("--database", default="sqlite", help="'sqlite' or a postgres:// URL")
    parser.add_argument("--step", help=argparse.SUPPRESS)
    parser.add_argument("--path", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.step == "command":
        print(json.dumps(step_command(Path(args.path), args.url)))
        return
    if args.step == "admin":
        print(json.dumps(step_admin(Path(args.path), args.url)))
        return

    workdir = Path(tempfile.mkdtemp(prefix="newsroom-bench-upload-"))
    folder, zip_path = workdir / "items", workdir / "news.zip"
    try:
        generate(folder, args.items)
        with zipfile.ZipFile(zip_path, "w", zipfile.ZIP_DEFLATED) as archive:
            for path in sorted(folder.glob("*.md")):
                archive.write(path, path.name)
        results = {}
        for side, path in (("command", folder), ("admin", zip_path)):
            if args.database == "sqlite":
                url = f"sqlite:///{workdir / f'{side}.sqlite3'}"
            else:
                url = fresh_database(args.database, workdir)
            results[side] = run_step("--step", side, "--path", str(path), "--url", url)
            assert results[side]["articles"] == args.items, results[side]
        command, admin = results["command"], results["admin"]
        engine = "SQLite" if args.database == "sqlite" else "PostgreSQL"
        print(
            f"admin import benchmark: {args.items} files, {zip_path.stat().st_size / 1e6:.1f} MB "
            f"zipped, {engine}, {os.cpu_count()} cores"
        )
        print("| path | seconds | files/s | ratio |")
        print("|---|---|---|---|")
        print(
            f"| `manage.py import_yaml` | {command['seconds']:.1f} | "
            f"{args.items / command['seconds']:.0f} | 1.00x |"
        )
        print(
            f"| admin: upload {admin['upload']:.1f} s + preview {admin['preview']:.1f} s + "
            f"import {admin['import']:.1f} s | {admin['seconds']:.1f} | "
            f"{args.items / admin['seconds']:.0f} | {command['seconds'] / admin['seconds']:.2f}x |"
        )
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
