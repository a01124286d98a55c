"""`manage.py worker`: django-tasks-db's `db_worker`, plus a heartbeat and the sweep.

It runs tasks exactly as `db_worker` does, with the same options (`--help`), except
that it restarts on code changes only when asked (`--reload`): a restart cuts a task
short. Beside the task loop, a thread (`Beat`) records that the worker is alive
and, when a minute begins, offers that minute's sweep (articles/tasks.py). Start as
many as you like, on as many machines as share the database (PostgreSQL; on SQLite,
one machine): one sweep runs a minute whatever their number.

Stopping: SIGTERM or Ctrl-C lets the task in hand finish, then exits; a second
signal stops the task too (it is marked failed and its transaction rolled back).
An idle worker stops at its loop's next turn (within --interval): db_worker raises
SystemExit from the signal handler instead, wherever the loop happens to be, which
can be the middle of a database call (`StoppingWorker`).
"""

import datetime as dt
import logging
import os
import signal
import socket
import threading

from django.conf import settings
from django.core.management import CommandError
from django.db import DatabaseError, close_old_connections, connection
from django.utils.autoreload import DJANGO_AUTORELOAD_ENV
from django_tasks_db.management.commands import db_worker

from articles import clock, tasks
from articles.models import WorkerHeartbeat

logger = logging.getLogger("newsroom.worker")


class Beat(threading.Thread):
    """A worker's heartbeat and its part in scheduling the sweep.

    Every NEWSROOM_WORKER_TICK_SECONDS it reads the clock: when a minute has begun
    since it last looked, it offers that minute's sweep (tasks.schedule_sweep: one
    worker of the pool wins), and every NEWSROOM_WORKER_HEARTBEAT_SECONDS it records
    that the worker is alive. A thread beside the task loop, so that a long task
    neither delays the sweep nor makes its worker look lost.
    """

    def __init__(self, worker_id: str, queues: str):
        super().__init__(name=f"beat-{worker_id}", daemon=True)
        self.worker_id = worker_id
        self.queues = queues
        self.stopping = threading.Event()
        self.last_minute = None
        self.last_heartbeat = None

    def start(self):
        # The first heartbeat before the first task is claimed: a worker killed during
        # its first task is still known, and that task marked failed.
        self.heartbeat(clock.now())
        super().start()

    def run(self):
        try:
            while not self.stopping.wait(settings.NEWSROOM_WORKER_TICK_SECONDS):
                try:
                    self.tick()
                except DatabaseError:
                    # The database may come back; the next tick tries again.
                    logger.exception("worker %s: heartbeat or sweep failed", self.worker_id)
                close_old_connections()
            # Stopped cleanly: this worker is gone, not lost. Done here, on this thread's
            # own connection, which no signal handler ever interrupts.
            WorkerHeartbeat.objects.filter(worker_id=self.worker_id).delete()
        finally:
            connection.close()

    def tick(self):
        now = clock.now()
        minute = clock.minute(now)
        if minute != self.last_minute:
            tasks.schedule_sweep(minute, self.worker_id)
            self.last_minute = minute
        if now - self.last_heartbeat >= dt.timedelta(
            seconds=settings.NEWSROOM_WORKER_HEARTBEAT_SECONDS
        ):
            self.heartbeat(now)

    def heartbeat(self, now):
        WorkerHeartbeat.objects.update_or_create(
            worker_id=self.worker_id,
            defaults={"last_seen_at": now},
            create_defaults={
                "hostname": socket.gethostname(),
                "pid": os.getpid(),
                "queues": self.queues,
                "started_at": now,
                "last_seen_at": now,
            },
        )
        self.last_heartbeat = now

    def stop(self):
        self.stopping.set()
        self.join(timeout=30)


class StoppingWorker(db_worker.Worker):
    """db_worker's loop, stopped by a flag when idle rather than by an exception."""

    def shutdown(self, signum, frame):
        if self.running and not self.running_task:
            logger.warning("Received %s - stopping.", signal.strsignal(signum))
            self.running = False  # the loop ends before it claims another task
            return
        super().shutdown(signum, frame)  # in a task: let it finish; a second: end it


class Command(db_worker.Command):
    help = (
        "Run tasks from the queue (django-tasks-db's db_worker), send this worker's "
        "heartbeat and schedule the once-a-minute sweep."
    )

    def add_arguments(self, parser):
        super().add_arguments(parser)
        # db_worker reloads with DEBUG on; a reload cuts the task in hand short.
        parser.set_defaults(reload=False)

    def stopping_worker(self, options) -> StoppingWorker:
        """The worker db_worker's handle() would make, from the same options."""
        self.configure_logging(options["verbosity"])
        queue_names = options["queue_name"].split(",")
        excluded = options["exclude_queues"].split(",") if options["exclude_queues"] else []
        if excluded and "*" not in queue_names:
            raise CommandError("--exclude-queues can only be used with --queue-name=*")
        return StoppingWorker(
            queue_names=queue_names,
            interval=options["interval"],
            batch=options["batch"],
            backend_name=options["backend_name"],
            startup_delay=options["startup_delay"],
            max_tasks=options["max_tasks"],
            worker_id=options["worker_id"],
            excluded_queue_names=excluded,
        )

    def handle(self, *args, **options):
        reloading = options["reload"] and not options["batch"]
        if reloading and os.environ.get(DJANGO_AUTORELOAD_ENV) != "true":
            # This process only watches the code and runs the worker as a child process,
            # which comes back here and beats.
            return super().handle(*args, **options)
        # Built first: options it refuses leave no heartbeat behind.
        worker = None if reloading else self.stopping_worker(options)
        beat = Beat(options["worker_id"], options["queue_name"])
        beat.start()
        try:
            if worker is None:
                # The reloader's child (development): db_worker's loop runs in a thread
                # beside the reloader, which its SystemExit stops.
                super().handle(*args, **options)
            else:
                worker.configure_signals()
                worker.run()
        finally:
            # A stopping signal can interrupt the task loop anywhere, even while it opens
            # a transaction; closing its connection ends whatever that left open, so
            # the beat's last write does not wait for a lock nobody will release.
            connection.close()
            beat.stop()
