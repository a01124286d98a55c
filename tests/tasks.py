"""Tasks the queue tests enqueue: real tasks, importable by real worker processes.

Each leaves evidence outside the database that the worker cannot fake: a line in a
file per run, written with O_APPEND so that lines from several processes never mix.
"""

import os
import time

from django_tasks import task


@task(takes_context=True)
def record_run(context, log_path: str, seconds: float = 0.0) -> int:
    """Appends "<task id> <pid>" to `log_path` (failing when its folder is missing)."""
    time.sleep(seconds)
    with open(log_path, "a") as log:
        log.write(f"{context.task_result.id} {os.getpid()}\n")
    return os.getpid()
