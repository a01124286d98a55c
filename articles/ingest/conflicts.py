"""Resolving an import conflict in one click: keep the editor's value, or take the file's.

An import that finds a field changed both by an editor and by the file keeps the
editor's value and lists the conflict on the article (`Article.import_conflicts`,
{field, ours, theirs}). `resolve()` settles one of them:

- keep: the editor's value stays; the conflict is dismissed. The article's `imported`
  snapshot already holds the file's value, so the next import of the same file sees
  the editor's change as the only one and keeps it without a new conflict.
- take: the field gets the file's value (`theirs`, in the snapshot's terms), written
  as a revert writes a value (revisions.apply_values); the conflict goes.

Both go through the one write path (history, `updated_at`, ranking, stories, the
page cache) with the editor's name and a sentence saying what was decided.
"""

from django.core.exceptions import PermissionDenied
from django.db import transaction

from .. import changes, revisions
from ..models import Article

KEEP, TAKE = "keep", "take"


class ConflictGone(Exception):
    """The article has no open conflict on that field (resolved or re-imported since)."""


def resolve(article_id, field: str, choice: str, *, user, may_publish: bool) -> Article:
    """Settle the conflict on `field` of the article by `choice` (KEEP or TAKE).

    Taking the file's status needs the publishing right (`may_publish`), as every
    other change of status does."""
    if choice not in (KEEP, TAKE):
        raise ValueError(f"choice must be {KEEP!r} or {TAKE!r}")
    with transaction.atomic(), changes.batch(source=changes.Source.EDITOR, user=user):
        article = Article.objects.filter(pk=article_id).locked().select_related("provider").get()
        conflict = next((c for c in article.import_conflicts if c.get("field") == field), None)
        if conflict is None:
            raise ConflictGone(field)
        if choice == TAKE and field == "status" and not may_publish:
            raise PermissionDenied("Changing the status needs the publishing right.")
        article.import_conflicts = [c for c in article.import_conflicts if c is not conflict]
        if choice == TAKE:
            if field not in revisions.KINDS:
                raise ConflictGone(field)
            try:
                revisions.apply_values(article, {field: conflict["theirs"]})  # saves it
            except revisions.RevertError as error:
                raise ConflictGone(field) from error
        else:
            article.save(update_fields=["import_conflicts"])
        if choice == TAKE:
            message = f"Took the file's value of “{field}” (import conflict)."
        else:
            message = f"Kept the editor's value of “{field}” (import conflict)."
        changes.record(
            [article.pk],
            {field} if choice == TAKE else {"import_conflicts"},
            source=changes.Source.EDITOR,
            user=user,
            message=message,
        )
    return article
