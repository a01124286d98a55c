"""An import run cannot die silently.

An ImportRun is "running" while its run works, then "finished", or "failed" with a
one-line reason. Its counts are saved in the transaction of every batch, so a run
that dies still tells truthfully what its committed batches did. The command prints
`import failed: <reason>` and exits 1, never a traceback. A run killed with SIGKILL
cannot record anything: the next import, and the admin's list of runs, mark it
failed once its process is gone or it has been silent for too long.
"""

import datetime as dt
import io
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.contrib.admin.templatetags.admin_list import result_headers
from django.core.management import call_command
from django.db import OperationalError
from django.urls import reverse
from django.utils import timezone

from articles.ingest import importer
from articles.ingest.importer import Importer
from articles.models import ABANDONED_REASON, Article, ImportRun, ImportRunQuerySet, process_alive
from tests.race_support import PausedImport, no_process_left, state  # noqa: F401 - fixture
from tests.test_concurrency import manage, process_env, shared_database_url
from tests.test_importer import make_item, write

from .conftest import FIXTURES

# A test that fails while a child process is paused must not leave it holding locks.
pytestmark = pytest.mark.usefixtures("no_process_left")


def write_items(folder: Path, count: int):
    for n in range(1, count + 1):
        write(folder, make_item(n), f"{n:02d}.md")


def failed_command(*args):
    """Run import_yaml expecting it to fail: (exit status, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    with pytest.raises(SystemExit) as exit:
        call_command("import_yaml", *map(str, args), stdout=out, stderr=err)
    return exit.value.code, out.getvalue(), err.getvalue()


def dead_pid() -> int:
    """The pid of a process of this machine that has ended (and been reaped)."""
    child = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    return int(child.stdout)


# A run that finishes, and one that an exception ends ---------------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_run_records_where_it_ran_and_ends_finished(tmp_path):
    write_items(tmp_path / "news", 3)
    report = Importer(workers=1, batch_size=2).run([FIXTURES / "taxonomy", tmp_path / "news"])
    run = ImportRun.objects.get()
    assert (run.status, run.failure_reason) == ("finished", "")
    assert (run.hostname, run.pid) == (socket.gethostname(), os.getpid())
    assert run.finished_at is not None and run.heartbeat_at is not None
    taxonomy_files = len([p for p in (FIXTURES / "taxonomy").rglob("*") if p.is_file()])
    assert (
        (run.created, run.topics)
        == (3 + taxonomy_files, taxonomy_files)
        == (
            report.created,
            report.topics,
        )
    )


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("where", "error", "reason"),
    [
        ("between", RuntimeError("disk on fire\nand more"), "RuntimeError: disk on fire"),
        ("between", MemoryError(), "MemoryError"),
        ("just_committed", RuntimeError("boom"), "RuntimeError: boom"),
        ("inside", KeyboardInterrupt(), "interrupted (KeyboardInterrupt)"),
        ("inside", importer.Terminated("terminated by SIGTERM"), "terminated by SIGTERM"),
    ],
)
def test_an_exception_mid_run_fails_it_with_the_counts_of_the_committed_batches(
    tmp_path, monkeypatch, where, error, reason
):
    write_items(tmp_path, 8)  # four batches of two
    calls = []
    if where == "between":
        # Reading the fourth batch, after the first two batches were written.
        prefilter = Importer._prefilter

        def failing(self, batch):
            calls.append(batch)
            if len(calls) == 4:
                raise error
            return prefilter(self, batch)

        monkeypatch.setattr(Importer, "_prefilter", failing)
    elif where == "just_committed":
        # The moment the second batch has committed, before anything else runs: its
        # counts were saved in its own transaction.
        def failing(self, done, total):
            calls.append(done)
            if len(calls) == 2:
                raise error

        monkeypatch.setattr(Importer, "_tick", failing)
    else:
        # In the third batch's transaction, once its articles are locked: rolled back.
        lock_articles = importer._lock_articles

        def failing(web_urls):
            calls.append(web_urls)
            if len(calls) == 3:
                raise error
            return lock_articles(web_urls)

        monkeypatch.setattr(importer, "_lock_articles", failing)

    code, out, err = failed_command(tmp_path, "--batch-size", "2", "--workers", "1")

    assert code == 1
    assert err == f"import failed: {reason}\n"
    assert "Traceback" not in out + err
    run = ImportRun.objects.get()
    assert (run.status, run.failure_reason) == ("failed", reason)
    assert run.finished_at is not None
    assert (run.created, run.updated, run.unchanged, run.failed) == (4, 0, 0, 0)
    assert Article.objects.count() == 4


@pytest.mark.django_db(transaction=True)
def test_a_run_that_cannot_record_its_failure_logs_it(tmp_path, monkeypatch, caplog):
    write_items(tmp_path, 2)

    def refused(self, **values):
        raise OperationalError("connection refused")

    def database_gone(self, batch):
        monkeypatch.setattr(ImportRunQuerySet, "update", refused)
        raise OperationalError("server closed the connection unexpectedly\n\tmore")

    monkeypatch.setattr(Importer, "_prefilter", database_gone)
    code, _, err = failed_command(tmp_path)

    assert code == 1
    assert err == "import failed: OperationalError: server closed the connection unexpectedly\n"
    logged = [r.getMessage() for r in caplog.records if r.name == "newsroom.import"]
    assert any("failed: OperationalError: server closed the connection" in m for m in logged)
    assert any("could not record its failure: connection refused" in m for m in logged)


# Runs that could not say so: SIGKILL, SIGTERM, a silent machine ----------------------------


@pytest.mark.django_db(transaction=True)
def test_a_run_killed_mid_batch_is_marked_failed_by_the_next_import(tmp_path):
    env = process_env(shared_database_url(tmp_path))
    news = tmp_path / "news"
    write_items(news, 6)
    args = (news, "--batch-size", "2", "--workers", "1")
    importing = PausedImport(tmp_path, env, "locked", *args, nth=2)
    importing.wait_paused()  # the first batch is committed, the second one in flight
    os.kill(importing.pid, signal.SIGKILL)
    assert importing.finish()[0] == -signal.SIGKILL

    [killed] = state(env)["runs"]
    # It could not say it ended; its counts are its first batch's.
    assert (killed["status"], killed["created"]) == ("running", 2)

    assert manage("import_yaml", str(news), env=env, check=False).returncode == 0
    killed, after = state(env)["runs"]
    assert (killed["status"], killed["failure_reason"]) == ("failed", ABANDONED_REASON)
    assert killed["created"] == 2
    assert (after["status"], after["created"], after["unchanged"]) == ("finished", 4, 2)


@pytest.mark.django_db(transaction=True)
def test_sigterm_fails_the_run_with_a_reason_and_one_line(tmp_path):
    env = process_env(shared_database_url(tmp_path))
    news = tmp_path / "news"
    write_items(news, 6)
    importing = PausedImport(
        tmp_path, env, "locked", news, "--batch-size", "2", "--workers", "1", nth=2
    )
    importing.wait_paused()
    os.kill(importing.pid, signal.SIGTERM)
    code, out, err = importing.finish()

    assert code == 1
    assert err.splitlines() == ["import failed: terminated by SIGTERM"]
    assert "Traceback" not in out + err
    [run] = state(env)["runs"]
    assert (run["status"], run["failure_reason"]) == ("failed", "terminated by SIGTERM")
    assert run["created"] == 2  # the batch in flight was rolled back


@pytest.mark.django_db
def test_runs_whose_process_is_gone_or_that_went_silent_are_marked_failed(settings):
    settings.NEWSROOM_IMPORT_STALE_MINUTES = 30
    now = timezone.now()
    here = socket.gethostname()

    def running(**fields):
        return ImportRun.objects.create(status=ImportRun.Status.RUNNING, **fields)

    gone_here = running(hostname=here, pid=dead_pid(), heartbeat_at=now)
    alive_here = running(hostname=here, pid=os.getpid(), heartbeat_at=now)
    silent_elsewhere = running(
        hostname="elsewhere", pid=1, heartbeat_at=now - dt.timedelta(minutes=31)
    )
    busy_elsewhere = running(
        hostname="elsewhere", pid=1, heartbeat_at=now - dt.timedelta(minutes=29)
    )
    never_beat = running(started_at=now - dt.timedelta(hours=2))
    finished = ImportRun.objects.create(
        status=ImportRun.Status.FINISHED, hostname=here, pid=dead_pid()
    )

    assert ImportRun.objects.mark_abandoned() == 3

    def status(run):
        run.refresh_from_db()
        return run.status, run.failure_reason

    failed = ("failed", ABANDONED_REASON)
    assert status(gone_here) == status(silent_elsewhere) == status(never_beat) == failed
    assert status(alive_here) == status(busy_elsewhere) == ("running", "")
    assert status(finished) == ("finished", "")

    settings.NEWSROOM_IMPORT_STALE_MINUTES = 10
    assert ImportRun.objects.mark_abandoned() == 1
    assert status(busy_elsewhere) == failed


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs Linux's /proc")
def test_a_killed_process_not_yet_reaped_counts_as_ended():
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        assert process_alive(child.pid)
        child.kill()
        deadline = time.monotonic() + 10
        while process_alive(child.pid) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert not process_alive(child.pid)  # a zombie until its parent waits for it
    finally:
        child.wait()
    assert not process_alive(child.pid)
    assert not process_alive(0) and not process_alive(None)


# The admin -----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_admin_shows_status_first_and_marks_runs_whose_process_is_gone(admin_client):
    gone = ImportRun.objects.create(hostname=socket.gethostname(), pid=dead_pid())
    failed = ImportRun.objects.create(
        status=ImportRun.Status.FAILED, failure_reason="RuntimeError: disk on fire"
    )
    response = admin_client.get(reverse("admin:articles_importrun_changelist"))

    gone.refresh_from_db()
    assert (gone.status, gone.failure_reason) == ("failed", ABANDONED_REASON)
    headers = [h["text"] for h in result_headers(response.context["cl"])]
    assert headers[0].lower() == "status"
    html = response.content.decode()
    assert "disk on fire" in html and ABANDONED_REASON in html

    detail = admin_client.get(reverse("admin:articles_importrun_change", args=[failed.pk]))
    assert "RuntimeError: disk on fire" in detail.content.decode()
    index = admin_client.get(reverse("admin:index")).content.decode()
    assert "Failed: RuntimeError: disk on fire" in index  # the latest run, at a glance
