"""The task bench/task_queue.py puts through the queue: as little work as a task can do,
so that what is measured is the queue itself (enqueue, claim, run, record)."""

from django_tasks import task


@task()
def noop(n: int) -> int:
    return n
