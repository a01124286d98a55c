"""Real `manage.py worker` processes on a database the test shares with them.

As in tests/race_support.py, the production code has no test hook: each worker runs
a short script that may change, in that process only, what a test needs, then runs
the command exactly as `manage.py worker` does:

- `clock`: articles.clock.now() runs `speed` times faster from a moment shared by
  every worker of the test (so they agree on when a minute begins), and a minute
  passes in a few seconds;
- `sweep_log`: the sweep also runs a job that appends "<pid> <time>" to a file;
- `hang`: the sweep also runs a job that writes three topics in its transaction,
  creates the file `hang` and sleeps, for the test to kill the worker right there.

The database is the test database itself on PostgreSQL (the test's rows are
committed, `transaction=True`), and a migrated database file on SQLite (the test
database lives in memory there, where other processes cannot see it); the test reads
it with plain SQL either way (`SharedDatabase.rows`).
"""

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from contextlib import closing, suppress
from pathlib import Path

from django.db import connection
from django_tasks_db.models import DBTaskResult

from articles.models import Sweep, Topic, WorkerHeartbeat
from tests.race_support import _Process
from tests.test_concurrency import ROOT, manage, process_env, shared_database_url

WAIT_SECONDS = 90

WORKER = r"""
import datetime as dt, json, os, sys, time
from pathlib import Path

import django

django.setup()
from django.core.management import execute_from_command_line

from articles import clock, tasks

options = json.loads(sys.argv[1])
if "clock" in options:
    origin = dt.datetime.fromisoformat(options["clock"]["origin"])
    started, speed = options["clock"]["started"], options["clock"]["speed"]
    clock.now = lambda: origin + dt.timedelta(seconds=(time.time() - started) * speed)
if "sweep_log" in options:
    def log_sweep(now, path=options["sweep_log"]):
        with open(path, "a") as log:
            log.write(f"{os.getpid()} {now.isoformat()}\n")
        return 1

    tasks.SWEEP_JOBS.append(log_sweep)
if "hang" in options:
    from articles.models import Topic

    def write_then_hang(now, ready=Path(options["hang"])):
        for n in range(3):
            Topic.objects.create(name=f"Half-written {n}")
        ready.write_text("")
        time.sleep(120)

    tasks.SWEEP_JOBS.append(write_then_hang)

execute_from_command_line(["manage.py", "worker", *sys.argv[2:]])
"""

# argv: the task's dotted path, how many to enqueue, then its arguments as JSON. Prints
# the new results' ids, all enqueued in one transaction.
ENQUEUE = r"""
import json, sys

import django

django.setup()
from django.db import transaction
from django.utils.module_loading import import_string

task, count, args = import_string(sys.argv[1]), int(sys.argv[2]), json.loads(sys.argv[3])
with transaction.atomic():
    ids = [task.enqueue(*args).id for _ in range(count)]
print(json.dumps(ids))
"""

# argv: task result ids. A staff member allowed to retry tasks selects them in the
# admin's task list and applies "Retry": a real request through the whole stack.
RETRY_REQUEST = r"""
import json, sys

import django

django.setup()
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.test import Client
from django.test.utils import setup_test_environment
from django.urls import reverse

setup_test_environment()
user = get_user_model().objects.create_user("operator", is_staff=True)
user.user_permissions.add(
    *Permission.objects.filter(codename__in=["view_dbtaskresult", "change_dbtaskresult"])
)
client = Client()
client.force_login(user)
response = client.post(
    reverse("admin:django_tasks_database_dbtaskresult_changelist"),
    {"action": "retry", "_selected_action": sys.argv[1:]},
    follow=True,
)
print(json.dumps({
    "status": response.status_code,
    "messages": [str(m) for m in response.context["messages"]],
}))
"""

# Fast enough that the tests take seconds, slow enough that a loaded machine's pauses
# stay well inside a worker's tick.
WORKER_ENV = {"NEWSROOM_WORKER_TICK_SECONDS": "0.02"}


def migrated_sqlite_file(folder: Path) -> Path | None:
    """On SQLite, a migrated database file for tests to copy (migrating takes seconds)."""
    if connection.vendor != "sqlite":
        return None
    path = folder / "migrated.sqlite3"
    manage("migrate", "--noinput", "-v0", env=process_env(f"sqlite:///{path}"))
    return path


class SharedDatabase:
    """The database a test shares with its worker processes."""

    def __init__(self, tmp_path: Path, migrated_sqlite: Path | None, **settings):
        if connection.vendor == "sqlite":
            self.sqlite_path = tmp_path / "shared.sqlite3"
            shutil.copy(migrated_sqlite, self.sqlite_path)  # WAL checkpointed on close
            self.url = f"sqlite:///{self.sqlite_path}"
        else:
            self.url = shared_database_url(tmp_path)
        self.env = {**process_env(self.url), **WORKER_ENV, **settings}

    def rows(self, sql: str, *params) -> list[tuple]:
        """Run one SELECT (with %s placeholders) on the shared database."""
        if connection.vendor == "sqlite":
            with closing(sqlite3.connect(self.sqlite_path, timeout=30)) as db:
                return db.execute(sql.replace("%s", "?"), params).fetchall()
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchall()

    def results(self, task_path: str) -> list[dict]:
        """The task results of one task, oldest first, as the workers left them."""
        columns = ["id", "status", "args_kwargs", "worker_ids", "exception_class_path", "traceback"]
        rows = self.rows(
            f"SELECT {', '.join(columns)} FROM {DBTaskResult._meta.db_table} "
            "WHERE task_path = %s ORDER BY enqueued_at",
            task_path,
        )
        results = [dict(zip(columns, row, strict=True)) for row in rows]
        for result in results:
            result["id"] = str(result["id"]).replace("-", "")
            for field in ("args_kwargs", "worker_ids"):
                if isinstance(result[field], str):  # SQLite keeps JSON as text
                    result[field] = json.loads(result[field])
        return results

    def heartbeats(self) -> list[tuple]:
        return self.rows(
            f"SELECT worker_id, pid FROM {WorkerHeartbeat._meta.db_table} ORDER BY worker_id"
        )

    def sweeps(self) -> list[tuple]:
        """(minute, result id, worker) of each scheduled sweep, oldest first."""
        rows = self.rows(
            f"SELECT minute, result_id, scheduled_by FROM {Sweep._meta.db_table} ORDER BY minute"
        )
        return [
            (str(minute), str(result_id).replace("-", ""), by) for minute, result_id, by in rows
        ]

    def topics(self, prefix: str) -> int:
        table = Topic._meta.db_table
        return self.rows(f"SELECT count(*) FROM {table} WHERE name LIKE %s", f"{prefix}%")[0][0]

    def script(self, code: str, *args) -> dict | list:
        """Run a Django script against the shared database; returns its JSON output."""
        done = _run([sys.executable, "-c", code, *args], self.env)
        return json.loads(done.splitlines()[-1])

    def enqueue(self, task_path: str, count: int, *args) -> list[str]:
        ids = self.script(ENQUEUE, task_path, str(count), json.dumps(args))
        return [task_id.replace("-", "") for task_id in ids]

    def retry_in_the_admin(self, *task_ids) -> dict:
        return self.script(RETRY_REQUEST, *task_ids)


def _run(args, env) -> str:
    done = subprocess.run(
        args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=WAIT_SECONDS
    )
    if done.returncode:
        raise AssertionError(f"{args[:3]} failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout


def fast_clock(speed: float, origin: str = "2026-03-02T10:00:00+00:00") -> dict:
    """A clock for every worker of a test: `origin` now, `speed` times faster than real."""
    return {"origin": origin, "started": time.time(), "speed": speed}


class Worker(_Process):
    """`manage.py worker` on the shared database, polling often, with `options` (above)."""

    def __init__(self, tmp_path: Path, db: SharedDatabase, worker_id: str, **options):
        args = [sys.executable, "-c", WORKER, json.dumps(options)]
        args += ["--worker-id", worker_id, "--no-startup-delay", "--interval", "0.02"]
        super().__init__(tmp_path, worker_id, args, db.env)
        self.worker_id = worker_id

    def stop(self) -> int:
        """SIGTERM, as systemd stops it: finish the task in hand, then exit."""
        self.process.send_signal(signal.SIGTERM)
        code, _, _ = self.finish()
        return code

    def kill(self):
        self.process.kill()
        self.process.wait()

    def output(self) -> str:
        return self.stdout_path.read_text() + self.stderr_path.read_text()


def wait_for(what: str, condition, *workers: Worker, timeout: float = WAIT_SECONDS):
    """Polls `condition()` until it returns something true, and returns that."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        for worker in workers:
            if not worker.running():
                raise AssertionError(f"{worker.name} ended before {what}:\n{worker.output()}")
        if time.monotonic() > deadline:
            logs = "\n".join(f"--- {w.name}\n{w.output()[-3000:]}" for w in workers)
            raise AssertionError(f"timed out waiting for {what}\n{logs}")
        time.sleep(0.05)


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


class ServerWithWorker:
    """`manage.py with_worker -- SERVER` in a process group of its own, started with
    SIGINT ignored (as `make run &` from a script is): `interrupt()` is one Ctrl-C to
    that group. SERVER writes its pid to a file, then runs until the file `stop` appears
    and exits with status 3, or until a SIGINT, which it notes (`interrupted()`).
    `cleanup()` kills the whole group whatever happened."""

    SERVER = r"""
import os, sys, time
from pathlib import Path

Path(sys.argv[1]).write_text(str(os.getpid()))
try:
    while not Path(sys.argv[2]).exists():
        time.sleep(0.05)
except KeyboardInterrupt:
    Path(sys.argv[1] + ".interrupted").write_text("")
    sys.exit(130)
sys.exit(3)
"""

    def __init__(self, tmp_path: Path, db: SharedDatabase):
        self.pid_file, self.stop_file = tmp_path / "server.pid", tmp_path / "server.stop"
        self.log = tmp_path / "with_worker.log"
        server = [sys.executable, "-c", self.SERVER, str(self.pid_file), str(self.stop_file)]
        with open(self.log, "w") as log:
            self.process = subprocess.Popen(
                [sys.executable, str(ROOT / "manage.py"), "with_worker", "--", *server],
                cwd=ROOT,
                env=db.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN),
            )

    def server_pid(self) -> int:
        return int(self.pid_file.read_text()) if self.pid_file.exists() else 0

    def interrupted(self) -> bool:
        return Path(f"{self.pid_file}.interrupted").exists()

    def interrupt(self):
        os.killpg(self.process.pid, signal.SIGINT)

    def stop_server(self):
        self.stop_file.write_text("")

    def finish(self) -> int:
        return self.process.wait(timeout=WAIT_SECONDS)

    def cleanup(self):
        with suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()
