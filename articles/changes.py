"""The one write path's event: "these articles changed".

Every writer of articles calls `record()` once per batch, after its writes and inside
its transaction: the admin's change form and list rows (one record per save), each
ArticleQuerySet write method (so every admin action), the importer (once per batch)
and the m2m receiver for `article.topics.add()/remove()/clear()` and
`related_stories` changes. Writers do nothing else: the side effects hang off two
signals, and their receivers live in one module (articles/receivers.py, connected by
ArticlesConfig.ready()).

1. `articles_changing`, sent by record() inside the writer's transaction: for
   the durable side effects, which must commit or roll back with the change. Today
   the `updated_at` bump (the admin's stale-edit guard reads it), the admin log (one
   LogEntry per article when a user is known), the revisions (articles/revisions.py:
   the article's history), computed heat and scores, and story updates. A receiver
   that raises rolls the whole change back.
2. `articles_changed`, sent once the transaction has committed (transaction.on_commit),
   never when it rolls back: for what must only see committed rows. Today the page
   cache; notifications, ranking and scheduling connect here. A receiver that raises
   is logged and the others still run: the change is already committed.

Both signals send `sender` = the Source and the keywords ids (sorted tuple of article
ids), fields (frozenset of the field names the writer set; derived columns such as
went_live_at, body_html and updated_at are implied), source, user (or None) and
import_run (or None). `articles_changing` also sends messages ({id: history
message}), created (the ids this change created) and values_after ({id: the article's
values after the change, as articles/revisions.py reads them}, for the articles whose
writer holds them already: the importer's new ones; it spares reading them again). Connect with
`sender=Source.IMPORT` to hear one kind of writer only.

A change made of several writes in one transaction, such as the admin's form (the
article, then its topics and related stories through their m2m managers, each of
which records) or the list's rows, is gathered with `batch()` and recorded once.

This module imports nothing of ours (models.py imports it), and looks up nothing in
the database itself: the receivers do.
"""

import enum
import logging
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from functools import partial

from django.db import transaction
from django.dispatch import Signal

logger = logging.getLogger("newsroom.changes")


class Source(enum.StrEnum):
    """Who made a change."""

    EDITOR = "editor"  # someone in the admin
    IMPORT = "import"  # manage.py import_yaml
    SCHEDULE = "schedule"  # a periodic sweep (scheduled publishing)
    SYSTEM = "system"  # code with no one behind it: a shell, a test, a bare m2m call


# Inside the writer's transaction. Keywords: ids, fields, source, user, import_run,
# messages, created.
articles_changing = Signal()
# After commit. Keywords: ids, fields, source, user, import_run.
articles_changed = Signal()


@dataclass
class _Change:
    source: Source
    user: object = None
    import_run: object = None
    messages: dict = field(default_factory=dict)  # id -> history message, in write order
    fields: set = field(default_factory=set)
    created: set = field(default_factory=set)
    values: dict = field(default_factory=dict)  # id -> values after, where the writer has them

    def add(self, ids, fields, message, created, values=None):
        for pk in ids:
            self.messages[pk] = message  # a later message for an article replaces an earlier one
        self.fields |= set(fields)
        if created:
            self.created |= set(ids)
        self.values.update(values or {})


# The batch() open in this thread (or task), if any.
_open_batch: ContextVar[_Change | None] = ContextVar("open_change_batch", default=None)
# Inside unrecorded(): the writes will be rolled back, so nothing is recorded.
_unrecorded: ContextVar[bool] = ContextVar("unrecorded_changes", default=False)


@contextmanager
def unrecorded():
    """Writes inside this block are rolled back by their writer (an import's dry run,
    which shows what a real one would do): record() does nothing there, so no
    receiver runs. Use it only around a transaction that is rolled back."""
    token = _unrecorded.set(True)
    try:
        yield
    finally:
        _unrecorded.reset(token)


def record(
    ids, fields, *, source, user=None, message="", import_run=None, created=False, values=None
):
    """Report that the articles `ids` changed in `fields`: call once per batch, inside
    the writer's transaction, after its writes.

    `message` is the history entry's text (or the admin's structured change message);
    `created` says the ids are new articles (their history entry is an addition);
    `values` ({id: values}) are their values after the change, when the writer holds
    them already (see the module's docstring).
    Inside a `batch()`, the change joins the batch (whose source and user apply) and
    is recorded when the batch ends. Nothing happens for an empty `ids`.
    """
    if _unrecorded.get():
        return
    ids = [pk for pk in dict.fromkeys(ids) if pk is not None]
    pending = _open_batch.get()
    if pending is not None:
        pending.add(ids, fields, message, created, values)
        return
    change = _Change(source=Source(source), user=user, import_run=import_run)
    change.add(ids, fields, message, created, values)
    _send(change)


@contextmanager
def batch(*, source, user=None, import_run=None):
    """Gather the record() calls of several writes in one transaction into one change.

    Recorded when the outermost batch ends without an exception (a batch opened inside
    another joins it). Open it inside the transaction, and let errors out of it: a
    write rolled back to a savepoint inside the batch would still be reported.
    """
    if _open_batch.get() is not None:
        yield
        return
    pending = _Change(source=Source(source), user=user, import_run=import_run)
    token = _open_batch.set(pending)
    try:
        yield
    finally:
        _open_batch.reset(token)
    _send(pending)


def _send(change: _Change):
    if not change.messages:
        return
    arguments = {
        "ids": tuple(sorted(change.messages)),
        "fields": frozenset(change.fields),
        "source": change.source,
        "user": change.user,
        "import_run": change.import_run,
    }
    # savepoint=False: in the writer's transaction this adds no queries; called outside
    # one (a bare m2m call in autocommit), it makes one of its own.
    with transaction.atomic(savepoint=False):
        articles_changing.send(
            sender=change.source,
            messages=dict(change.messages),
            created=frozenset(change.created),
            values_after=change.values,
            **arguments,
        )
        transaction.on_commit(partial(_announce, arguments))


def _announce(arguments):
    for receiver, outcome in articles_changed.send_robust(sender=arguments["source"], **arguments):
        if isinstance(outcome, Exception):
            logger.error(
                "articles_changed: %s failed for %d articles",
                getattr(receiver, "__qualname__", receiver),
                len(arguments["ids"]),
                exc_info=outcome,
            )
