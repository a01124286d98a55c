"""Real `import_yaml` and editor processes that stop where a test tells them to.

The production code has no test hook: each process runs a short script that wraps
one importer function (monkeypatching, in that process only) and then runs the
command exactly as `manage.py` does. A paused process writes a "ready" file and
waits until the test writes a "go" file, so the test decides what lands while an
import holds its batch. The database is shared as in tests/test_concurrency.py: the
committed test database on PostgreSQL, a database file on SQLite.
"""

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.db import connection

from tests.test_concurrency import ROOT, manage

WAIT_SECONDS = 120

_WAIT_FOR = r"""
import sys, time
from pathlib import Path

def wait_for(path):
    deadline = time.monotonic() + 120
    while not Path(path).exists():
        if time.monotonic() > deadline:
            sys.exit(f"the test never wrote {path}")
        time.sleep(0.02)
"""

# argv: pause point, which call pauses (1 = the first), ready file, go file, then the
# command's own arguments.
#   locked:  inside a batch's transaction, right after its articles were read and
#            locked (articles.ingest.importer._lock_articles)
#   between: after a batch committed and its counts were saved, before the next batch
#            (Importer._tick)
PAUSING_IMPORT = (
    _WAIT_FOR
    + r"""
import django

django.setup()
from django.core.management import execute_from_command_line

from articles.ingest import importer

point, nth, ready, go = sys.argv[1], int(sys.argv[2]), Path(sys.argv[3]), sys.argv[4]
calls = []


def pause():
    ready.write_text("paused")
    wait_for(go)


if point == "locked":
    lock_articles = importer._lock_articles

    def hooked(web_urls):
        articles = lock_articles(web_urls)
        calls.append(1)
        if len(calls) == nth:
            pause()
        return articles

    importer._lock_articles = hooked
elif point == "between":
    tick = importer.Importer._tick

    def hooked(self, done, total):
        tick(self, done, total)
        calls.append(1)
        if len(calls) == nth:
            pause()

    importer.Importer._tick = hooked
else:
    sys.exit(f"unknown pause point {point}")

execute_from_command_line(["manage.py", "import_yaml", *sys.argv[5:]])
"""
)

# argv: action, web URL, then the files loaded, act, started and done. The editor
# prepares (for the admin: opens the page, as it is before the import), writes
# `loaded`, waits for `act`, writes `started`, acts, and writes its result in `done`.
EDITOR = (
    _WAIT_FOR
    + r"""
import json

import django

django.setup()
from articles.models import Article

action, web_url = sys.argv[1], sys.argv[2]
loaded, act, started, done = (Path(p) for p in sys.argv[3:7])
articles = Article.objects.filter(web_url=web_url)
if action.startswith("admin"):
    from django.contrib.auth import get_user_model
    from django.test import Client
    from django.test.utils import setup_test_environment
    from django.urls import reverse

    from tests.admin_support import changelist_row_prefix, form_data

    setup_test_environment()
    user, _ = get_user_model().objects.get_or_create(
        username="race-editor", defaults={"is_staff": True, "is_superuser": True}
    )
    client = Client()
    client.force_login(user)
    article = articles.get()
    if action == "admin_form":
        url = reverse("admin:articles_article_change", args=[article.pk])
        data = form_data(client.get(url), "article_form")
        data["quality"] = "90"
    else:
        url = reverse("admin:articles_article_changelist")
        data = form_data(client.get(url), "changelist-form")
        data.update({f"{changelist_row_prefix(data, article)}-quality": "90", "_save": "Save"})
loaded.write_text("")
wait_for(act)
started.write_text("")
if action == "set_quality":
    result = {"changed": articles.set_quality(90)}
elif action == "return_to_review":
    result = {"changed": articles.return_to_review()}
else:
    response = client.post(url, data)
    result = {
        "status": response.status_code,
        "refused_as_stale": "someone else changed" in response.content.decode(),
    }
# Written whole, then renamed into place: the test reads it as soon as it exists.
partial = done.with_suffix(".partial")
partial.write_text(json.dumps(result))
partial.replace(done)
"""
)

STATE = """
import json
from articles.models import Article, ImportRun
print(json.dumps({
    "articles": {
        a.web_url: {
            "title": a.title, "quality": a.quality, "status": a.status,
            "went_live": a.went_live_at is not None, "conflicts": a.import_conflicts,
        }
        for a in Article.objects.all()
    },
    "runs": list(ImportRun.objects.order_by("id").values(
        "id", "status", "failure_reason", "pid", "created", "updated", "unchanged",
        "conflicts", "failed", "conflict_details",
    )),
}))
"""


def state(env) -> dict:
    """Articles and import runs as the shared database holds them."""
    return json.loads(manage("shell", "-c", STATE, env=env).stdout.splitlines()[-1])


_started: list["_Process"] = []


@pytest.fixture
def no_process_left():
    """Kills what a failed test left paused (it would hold its locks for minutes)."""
    yield
    while _started:
        process = _started.pop().process
        if process.poll() is None:
            process.kill()
            process.wait()


class _Process:
    """A child process whose stdout and stderr go to files (no pipe can fill up)."""

    def __init__(self, tmp_path: Path, name: str, args: list[str], env: dict):
        _started.append(self)
        self.name = name
        self.stdout_path = tmp_path / f"{name}.out"
        self.stderr_path = tmp_path / f"{name}.err"
        with open(self.stdout_path, "w") as out, open(self.stderr_path, "w") as err:
            self.process = subprocess.Popen(args, cwd=ROOT, env=env, stdout=out, stderr=err)

    @property
    def pid(self):
        return self.process.pid

    def running(self) -> bool:
        return self.process.poll() is None

    def finish(self, timeout=WAIT_SECONDS) -> tuple[int, str, str]:
        code = self.process.wait(timeout=timeout)
        return code, self.stdout_path.read_text(), self.stderr_path.read_text()

    def wait_for_file(self, path: Path):
        deadline = time.monotonic() + WAIT_SECONDS
        while not path.exists():
            if not self.running():
                _, out, err = self.finish()
                raise AssertionError(f"the {self.name} ended before {path.name}:\n{out}\n{err}")
            if time.monotonic() > deadline:
                raise AssertionError(f"the {self.name} never wrote {path.name}")
            time.sleep(0.02)


class PausedImport(_Process):
    """`manage.py import_yaml ARGS` that pauses at `point` (see PAUSING_IMPORT)."""

    def __init__(self, tmp_path: Path, env: dict, point: str, *args, nth: int = 1):
        self.ready = tmp_path / "import-ready"
        self.go = tmp_path / "import-go"
        script = [sys.executable, "-c", PAUSING_IMPORT, point, str(nth), str(self.ready)]
        super().__init__(tmp_path, "import", [*script, str(self.go), *map(str, args)], env)

    def wait_paused(self):
        self.wait_for_file(self.ready)

    def go_on(self):
        self.go.write_text("go")


class Editor(_Process):
    """An editor's write in its own process (see EDITOR)."""

    def __init__(self, tmp_path: Path, env: dict, action: str, web_url: str):
        self.loaded, self.act = tmp_path / "editor-loaded", tmp_path / "editor-act"
        self.started, self.done = tmp_path / "editor-started", tmp_path / "editor-done"
        files = [str(p) for p in (self.loaded, self.act, self.started, self.done)]
        args = [sys.executable, "-c", EDITOR, action, web_url, *files]
        super().__init__(tmp_path, "editor", args, env)

    def wait_loaded(self):
        self.wait_for_file(self.loaded)

    def act_now(self):
        self.act.write_text("")
        self.wait_for_file(self.started)

    def wait_done(self):
        self.wait_for_file(self.done)

    def result(self) -> dict:
        return json.loads(self.done.read_text())

    def waits(self) -> bool:
        """Whether the editor's write is held back (it has started it, not finished it).

        PostgreSQL shows it: a backend waits for a lock. SQLite cannot: there the write
        has had a second to finish (it takes milliseconds) and has not.
        """
        if connection.vendor == "postgresql":
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and not self.done.exists():
                with connection.cursor() as cursor:
                    cursor.execute(
                        "SELECT count(*) FROM pg_stat_activity "
                        "WHERE datname = current_database() AND wait_event_type = 'Lock'"
                    )
                    if cursor.fetchone()[0]:
                        return not self.done.exists()
                time.sleep(0.05)
            return False
        time.sleep(1.0)
        return not self.done.exists() and self.running()
