"""`manage.py with_worker -- COMMAND ...`: a web server with a task worker beside it.

`make run` and `make serve` start the site this way, so that one command starts the
server and `manage.py worker`, and one Ctrl-C stops both, leaving nothing running:

- Ctrl-C reaches the whole process group: the server stops, the worker finishes the
  task in hand and stops. Whatever is still running GRACE_SECONDS later is sent
  SIGTERM (a worker then abandons its task: rolled back, marked failed), and killed
  if it still has not stopped after as long again.
- SIGINT, SIGTERM or SIGHUP sent to this process alone is handled the same way.
- Either child ending by itself (the port is taken, the worker crashed) stops the
  other with SIGTERM; the exit status is the one that ended first.

The children start with the default SIGINT even when this process was started with
it ignored (as `make run &` from a script does), so Ctrl-C always reaches them.
"""

import signal
import subprocess
import sys
import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

GRACE_SECONDS = 5
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


class Command(BaseCommand):
    help = (
        "Run COMMAND (a web server) with `manage.py worker` beside it, and stop both "
        "together: Ctrl-C, a signal to this process, or either of them ending."
    )

    def add_arguments(self, parser):
        parser.add_argument("server", nargs="+", help="the server's command, after --")

    def handle(self, *args, server, **options):
        server = server[1:] if server[0] == "--" else server
        if not server:
            raise CommandError("give the server's command after --")
        signalled = []
        for signum in STOP_SIGNALS:
            # Installed before the children start, so they begin with the default
            # disposition even where this process inherited SIGINT ignored.
            signal.signal(signum, lambda signum, frame: signalled.append(signum))
        worker_command = [sys.executable, str(settings.BASE_DIR / "manage.py"), "worker"]
        children = [subprocess.Popen(worker_command), subprocess.Popen(server)]
        while not signalled and all(child.poll() is None for child in children):
            time.sleep(0.1)
        first_code = next((child.returncode for child in children if child.poll() is not None), 0)
        if signalled:
            # Most likely the same Ctrl-C reached the children: let them stop by themselves.
            wait(children, GRACE_SECONDS)
        for child in children:
            if child.poll() is None:
                child.terminate()
        if not wait(children, GRACE_SECONDS):
            for child in children:
                child.kill()
            wait(children, GRACE_SECONDS)
        sys.exit(0 if signalled else first_code)


def wait(children, seconds) -> bool:
    """Waits until every child has ended, at most `seconds`; whether they all have."""
    deadline = time.monotonic() + seconds
    while any(child.poll() is None for child in children):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True
