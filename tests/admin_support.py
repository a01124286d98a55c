"""Helpers for the admin tests: users in the editorial groups, and forms as a browser sends them."""

import functools
import importlib
from html.parser import HTMLParser

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.db import connection
from django.db.migrations.loader import MigrationLoader
from django.urls import reverse

CHANGELIST = "admin:articles_article_changelist"


def changelist_url():
    return reverse(CHANGELIST)


def change_url(article):
    return reverse("admin:articles_article_change", args=[article.pk])


# The data migrations that made the editorial groups and gave them their rights, in order.
GROUP_MIGRATIONS = (
    ("0002_editorial_groups", "create_groups"),
    ("0013_stories", "grant_story_permissions"),
    ("0014_image_cache", "grant_image_permissions"),
    ("0017_import_uploads", "grant_import_to_editors"),
)


@functools.cache
def _groups_migrations():
    """Those migrations' own functions, each with the models as they were when it ran."""
    loader = MigrationLoader(connection)
    return [
        (
            getattr(importlib.import_module(f"articles.migrations.{name}"), function),
            loader.project_state(("articles", name)).apps,
        )
        for name, function in GROUP_MIGRATIONS
    ]


def editorial_group(name):
    """The Editors or Contributors group that the data migrations made.

    A test with real commits (the live server, `transaction=True`) ends by emptying
    the database, rows written by data migrations included, and the tests after it
    on the same worker would find no groups: this puts them back with the migrations'
    code.
    """
    group = Group.objects.filter(name=name).first()
    if group is None:
        for function, historical_apps in _groups_migrations():
            function(historical_apps, None)
        group = Group.objects.get(name=name)
    return group


def make_staff(username, *, group=None, perms=(), password="pw", **fields):
    """A staff user in one of the editorial groups, plus extra perms."""
    user = get_user_model().objects.create_user(
        username, password=password, is_staff=True, **fields
    )
    if group:
        user.groups.add(editorial_group(group))
    for codename in perms:
        user.user_permissions.add(Permission.objects.get(codename=codename))
    return user


class _FormReader(HTMLParser):
    """Collects what a browser would submit for one <form>: enabled fields only."""

    def __init__(self, form_id):
        super().__init__(convert_charrefs=True)
        self.form_id = form_id
        self.inside = False
        self.fields = []  # (name, value) pairs, in document order
        self._select = None
        self._textarea = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self.inside = attrs.get("id") == self.form_id
            return
        if not self.inside or "disabled" in attrs:
            return
        name = attrs.get("name")
        if tag == "input" and name:
            kind = attrs.get("type", "text")
            if kind in ("submit", "button", "file", "image", "reset"):
                return
            if kind in ("checkbox", "radio") and "checked" not in attrs:
                return
            self.fields.append((name, attrs.get("value", "on" if kind == "checkbox" else "")))
        elif tag == "select" and name:
            self._select = name
        elif tag == "option" and self._select and "selected" in attrs:
            self.fields.append((self._select, attrs.get("value", "")))
        elif tag == "textarea" and name:
            self._textarea = [name, ""]

    def handle_data(self, data):
        if self._textarea:
            self._textarea[1] += data

    def handle_endtag(self, tag):
        if tag == "form":
            self.inside = False
        elif tag == "select":
            self._select = None
        elif tag == "textarea" and self._textarea:
            name, text = self._textarea
            # Browsers drop the one newline that follows <textarea>.
            self.fields.append((name, text[1:] if text.startswith("\n") else text))
            self._textarea = None


def form_data(response, form_id):
    """The POST data a browser would send for the form `form_id` of a rendered page."""
    reader = _FormReader(form_id)
    reader.feed(response.content.decode())
    data = {}
    for name, value in reader.fields:
        data.setdefault(name, []).append(value)
    return {name: values if len(values) > 1 else values[0] for name, values in data.items()}


def changelist_row_prefix(data, article):
    """The formset prefix (`form-3`) of an article's row in changelist form data."""
    for key, value in data.items():
        if key.endswith("-id") and key.startswith("form-") and str(value) == str(article.pk):
            return key[: -len("-id")]
    raise AssertionError(f"article {article.pk} is not on the page")


def run_queued_tasks():
    """Run the tasks waiting in the queue here, as a worker would, with the arguments
    they were queued with; returns their return values."""
    from django_tasks import TaskResultStatus
    from django_tasks_db.models import DBTaskResult

    done = []
    for result in DBTaskResult.objects.filter(status=TaskResultStatus.READY).order_by("pk"):
        arguments = result.args_kwargs
        done.append(result.task.call(*arguments["args"], **arguments["kwargs"]))
        result.delete()
    return done
