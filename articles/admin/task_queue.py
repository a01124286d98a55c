"""The task queue in the admin: task results with a retry action, and the index's panel.

django-tasks-db's own admin lists the results read-only; this one adds the error
class and the worker to the list, a filter on when tasks finished, and the retry
action. Seeing results needs `django_tasks_database.view_dbtaskresult`; retrying
needs `django_tasks_database.change_dbtaskresult` (the results themselves stay
read-only for everyone). Superusers have both; the editorial groups have neither.
"""

import datetime as dt
from urllib.parse import urlencode

import django_tasks_db.admin  # noqa: F401 - registers the library's admin, replaced below
from django.contrib import admin, messages
from django.core.exceptions import SuspiciousOperation
from django.db import transaction
from django.db.models import Count, Q
from django.urls import reverse
from django_tasks import TaskResultStatus
from django_tasks_db.admin import DBTaskResultAdmin
from django_tasks_db.models import DBTaskResult

from .. import clock, tasks
from ..models import Sweep, WorkerHeartbeat

VIEW_PERMISSION = "django_tasks_database.view_dbtaskresult"
RETRY_PERMISSION = "django_tasks_database.change_dbtaskresult"
CHANGELIST = "admin:django_tasks_database_dbtaskresult_changelist"


def plural(count, word):
    return f"{count} {word}{'' if count == 1 else 's'}"


if admin.site.is_registered(DBTaskResult):
    admin.site.unregister(DBTaskResult)


@admin.register(DBTaskResult)
class TaskResultAdmin(DBTaskResultAdmin):
    list_display = (
        "task_name",
        "status",
        "enqueued_at",
        "started_at",
        "finished_at",
        "error",
        "worker",
    )
    list_filter = ("status", ("finished_at", admin.DateFieldListFilter), "queue_name")
    search_fields = ("task_path",)
    actions = ["retry"]

    @admin.display(description="error")
    def error(self, result):
        return result.exception_class_path.rsplit(".", 1)[-1] or "-"

    @admin.display(description="worker")
    def worker(self, result):
        return result.worker_ids[-1] if result.worker_ids else "-"

    def has_retry_permission(self, request):
        return request.user.has_perm(RETRY_PERMISSION)

    @admin.action(description="Retry the selected failed tasks", permissions=["retry"])
    def retry(self, request, queryset):
        retried, skipped = 0, queryset.exclude(status=TaskResultStatus.FAILED).count()
        for result in queryset.filter(status=TaskResultStatus.FAILED):
            try:
                with transaction.atomic():
                    new = tasks.retry(result)
                    self.log_change(request, result, f"Retried as task {new.id}.")
            except (ImportError, SuspiciousOperation) as error:
                self.message_user(
                    request, f"{result.task_path} cannot be retried: {error}", messages.ERROR
                )
                continue
            retried += 1
        if retried:
            self.message_user(request, f"{plural(retried, 'task')} put back on the queue.")
        if skipped:
            self.message_user(
                request,
                f"Only failed tasks are retried; skipped {plural(skipped, 'other selected task')}.",
                messages.WARNING,
            )


def queue_summary(user):
    """The admin index's queue panel, or None for users who may not see task results."""
    if not user.has_perm(VIEW_PERMISSION):
        return None
    now = clock.now()
    day_ago = now - dt.timedelta(days=1)
    counts = DBTaskResult.objects.aggregate(
        waiting=Count("pk", filter=Q(status=TaskResultStatus.READY)),
        running=Count("pk", filter=Q(status=TaskResultStatus.RUNNING)),
        failed=Count("pk", filter=Q(status=TaskResultStatus.FAILED, finished_at__gte=day_ago)),
    )
    changelist = reverse(CHANGELIST)
    last_sweep = Sweep.objects.first()
    sweep_result = (
        DBTaskResult.objects.filter(pk=last_sweep.result_id).first() if last_sweep else None
    )
    return {
        **counts,
        "now": now,
        "waiting_url": f"{changelist}?{urlencode({'status__exact': TaskResultStatus.READY})}",
        "running_url": f"{changelist}?{urlencode({'status__exact': TaskResultStatus.RUNNING})}",
        "failed_url": f"{changelist}?"
        + urlencode({"status__exact": TaskResultStatus.FAILED, "finished_at__gte": str(day_ago)}),
        "workers": [
            {
                "worker": worker,
                "silent": worker.is_silent(now),
                # Never "-2 s ago" when the worker's clock runs a little ahead of ours.
                "seconds_ago": max(0, int((now - worker.last_seen_at).total_seconds())),
            }
            for worker in WorkerHeartbeat.objects.all()
        ],
        "last_sweep": last_sweep,
        "last_sweep_result": sweep_result,
    }
