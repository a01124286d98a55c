"""The admin index's task-queue panel (templates/admin/task_queue_panel.html)."""

from django import template

register = template.Library()


@register.simple_tag(takes_context=True)
def task_queue_summary(context):
    """See articles.admin.task_queue.queue_summary."""
    from articles.admin.task_queue import queue_summary

    return queue_summary(context["request"].user)
