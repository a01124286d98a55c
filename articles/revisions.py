"""Revisions: what every change did to an article, field by field, and reverting to one.

Written by one receiver of `changes.articles_changing` (`record_revisions`, connected
in receivers.py), inside the writer's transaction: no writer calls anything here, so
none can forget it. The receiver runs after the write, when the values before are not
in the article's rows any more; so each article keeps its values as of its last
revision (`RevisedState`, one row per article). A change then costs, per slice of
900 articles: one read of the articles with their lists, one of their states, one
insert of the revisions and one upsert of the states, whatever the writer.

Each revision stores only the fields whose value moved, as {field: [before, after]}
(docs/revisions.md): it reads on its own, so pruning old ones never breaks the diffs
of the rest, and the article's value at any kept revision is its state with the later
revisions' "before" values put back (`values_at`).

The values are the importer's (`snapshot.values_of`, driven by ingest/schema.py: the
same the three-way merge compares), plus the editor-only fields in EDITOR_FIELDS.
"""

import json
from collections import defaultdict

from django.contrib.admin.models import LogEntry
from django.db import transaction
from django.db.models import F

from . import changes, clock
from .ingest import schema
from .ingest.bulk import insert_rows, update_rows
from .ingest.snapshot import values_of
from .models import (
    Article,
    ArticleImage,
    Embargoed,
    Provider,
    RelatedCoverage,
    RevisedState,
    Revision,
    TaggedTopic,
    Topic,
    id_batches,
)

# Kinds of value beyond schema.py's: lists of names or ids, lists of records.
NAMES = "names"
RECORDS = "records"

# The fields only editors set (the importer's snapshot has the rest), and their kinds.
EDITOR_FIELDS = {
    "slug": schema.TEXT,
    "heat_pin": schema.INT,
    "boost_hours": schema.INT,
    "boost_reason": schema.TEXT,
    "related_stories": NAMES,  # article ids
}
# The schedule (editors' too; no file key: the files have no schedule), as dates.
SCHEDULE = tuple(
    schema.Field("", name, schema.DATETIME)
    for name in ("go_live_at", "take_down_at", "embargo_until")
)
# Every field a revision may name, with its kind (what the history's diff shows).
KINDS = {
    **{field.name: field.kind for field in schema.ITEM},
    "status": schema.TEXT,
    "provider": schema.TEXT,  # the outlet's domain
    "topics": NAMES,
    "images": RECORDS,
    "coverage": RECORDS,
    **EDITOR_FIELDS,
    **{field.name: field.kind for field in SCHEDULE},
}
ITEM_FIELDS = {field.name: field for field in schema.ITEM}
# The article columns `values` reads.
ARTICLE_COLUMNS = (
    *(field.column for field in schema.ITEM),
    "status",
    "provider__domain",
    *(name for name in EDITOR_FIELDS if name != "related_stories"),
    *(field.column for field in SCHEDULE),
)


class RevertError(Exception):
    """A revert that cannot be made: the message says why, in one line."""


def values(article, related_stories) -> dict:
    """The article's values as revisions see them, its related stories' ids given (see
    `current_values`). Reads attributes only, so the data migration can use it too."""
    return {
        **values_of(article),
        "slug": article.slug,
        "heat_pin": article.heat_pin,
        "boost_hours": article.boost_hours,
        "boost_reason": article.boost_reason,
        **schema.snapshot(article, SCHEDULE, attribute="column"),
        "related_stories": related_stories,
    }


def values_of_new(article, file_values: dict) -> dict:
    """The values of an article just made from a file whose values (its snapshot:
    Item.field_values()) are `file_values`, without reading it back; its related
    stories are read with the others' (`current_values`)."""
    return {
        **file_values,
        **{name: getattr(article, name) for name in EDITOR_FIELDS if name != "related_stories"},
        **schema.snapshot(article, SCHEDULE, attribute="column"),
    }


def _related_ids(ids, article_model=Article) -> dict[int, list[int]]:
    """{id: sorted ids of its related stories}. A related story links both ways, but
    Django writes the mirror row after it reports the change (m2m_changed): the links
    are read from both ends."""
    related = defaultdict(set)
    through = article_model.related_stories.through.objects
    for end in ("from_article_id", "to_article_id"):  # apart: at most ID_BATCH_SIZE each
        links = through.filter(**{f"{end}__in": ids})
        for one, other in links.values_list("from_article_id", "to_article_id"):
            related[one].add(other)
            related[other].add(one)
    return {pk: sorted(related[pk]) for pk in ids}


def current_values(ids, article_model=Article, known=None) -> dict[int, dict]:
    """{id: values} of the articles `ids`, in a fixed number of queries; `known`
    ({id: values but related_stories}) are not read again."""
    known = known or {}
    related = _related_ids(ids, article_model)
    result = {pk: {**known[pk], "related_stories": related[pk]} for pk in ids if pk in known}
    unknown = [pk for pk in ids if pk not in known]
    if not unknown:
        return result
    articles = (
        article_model.objects.filter(pk__in=unknown)
        .select_related("provider")
        .prefetch_related("tagged_topics__tag", "images", "coverage")
        .only(*ARTICLE_COLUMNS)  # not the large columns values() does not read (imported, ...)
    )
    result.update((article.pk, values(article, related[article.pk])) for article in articles)
    return result


def baseline(ids, *, article_model=Article, state_model=RevisedState):
    """Take the articles' current values as their state (the next revision's "before"):
    for articles written around changes.record(), and by migration 0016 (with its
    historical models) for the articles that existed before revisions."""
    for batch in id_batches(ids):
        state_model.objects.bulk_create(
            [
                state_model(article_id=pk, number=0, values=current)
                for pk, current in current_values(batch, article_model).items()
            ],
            update_conflicts=True,
            unique_fields=["article"],
            update_fields=["values"],
        )


def diff(before: dict, after: dict) -> dict:
    """{field: [before, after]} of the fields whose value differs."""
    return {
        name: [before.get(name), value]
        for name, value in after.items()
        if before.get(name) != value
    }


def _message_text(message):
    # The admin's form gives its structured change message (a list): as LogEntry shows it.
    if isinstance(message, list):
        return LogEntry(change_message=json.dumps(message)).get_change_message()
    return message or ""


def record_revisions(
    sender, *, ids, fields, source, user, import_run, messages, created, values_after, **kwargs
):
    """One revision per changed article, with the values that moved (a bounded number
    of queries per slice of ids: see the module's docstring)."""
    now = clock.now()
    user_id = user.pk if getattr(user, "pk", None) else None
    run_id = import_run.pk if getattr(import_run, "pk", None) else None
    for batch in id_batches(ids):
        states = {s.article_id: s for s in RevisedState.objects.filter(article_id__in=batch)}
        revisions, new_states, moved_states = [], [], {}
        for pk, current in current_values(batch, known=values_after).items():
            state = states.get(pk)
            if state is not None:
                moved = diff(state.values, current)
                number = state.number + 1
                moved_states[pk] = {"number": number, "values": current}
            else:
                number = 1
                # A new article's revision is its creation: the state holds its values.
                # An older one never recorded (written around changes.record()): what
                # the writer named is known after the change only.
                named = () if pk in created else set(fields) & set(current)
                moved = {name: [current[name]] for name in sorted(named)}
                new_states.append(
                    {"article_id": pk, "number": number, "values": current, "held": {}}
                )
            revisions.append(
                {
                    "article_id": pk,
                    "number": number,
                    "created_at": now,
                    "source": str(source),
                    "user_id": user_id,
                    "import_run_id": run_id,
                    "message": _message_text(messages.get(pk)),
                    "created": pk in created,
                    "changes": moved,
                }
            )
        # Plain rows (the import's hot path: see ingest/bulk.py); the states that exist
        # are updated by one executemany.
        insert_rows(Revision, revisions)
        insert_rows(RevisedState, new_states)
        update_rows(RevisedState, moved_states)


# -- reading ----------------------------------------------------------------------------


def values_at(article_id: int, number: int) -> dict:
    """The article's values just after its revision `number`: its state with the later
    revisions undone. A field whose value before a later revision was never recorded
    is left out (it cannot be restored)."""
    state = RevisedState.objects.filter(article_id=article_id).first()
    if state is None or not Revision.objects.filter(article_id=article_id, number=number).exists():
        raise RevertError(f"Revision {number} of this article does not exist (any more).")
    result = dict(state.values)
    later = Revision.objects.filter(article_id=article_id, number__gt=number).order_by("-number")
    for moved in later.values_list("changes", flat=True):
        for name, pair in moved.items():
            if len(pair) == 2:
                result[name] = pair[0]
            else:
                result.pop(name, None)
    return result


def held_fields(ids) -> dict[int, dict]:
    """{article id: {field: value}} of the fields editors reverted (the importer's merge
    counts them as the editor's while they keep that value)."""
    held = {}
    for batch in id_batches(ids):
        rows = RevisedState.objects.filter(article_id__in=batch).exclude(held={})
        held.update(rows.values_list("article_id", "held"))
    return held


def held_of(article) -> dict:
    """The reverted fields of one article (see held_fields)."""
    return held_fields([article.pk]).get(article.pk, {}) if article.pk else {}


# -- reverting --------------------------------------------------------------------------


def revert(article_id, number, *, user, fields=None, can_publish=False, version=None):
    """Put the article's fields (all, or `fields`) back to their values at revision
    `number`, recorded as a new revision ("Reverted to revision N."). Returns the
    names of the fields that changed and those left alone (the status and the
    schedule, without the publishing right). `version` is the stale-edit guard's
    (forms.version_of): a revert built from an older page is refused.
    """
    from .admin.forms import PUBLISHING_RIGHT_FIELDS, version_of  # the guard's and the right's

    with transaction.atomic():
        article = Article.objects.filter(pk=article_id).locked().first()
        if article is None:
            raise RevertError("This article does not exist any more.")
        if version is not None and version != version_of(article):
            raise RevertError(
                "The article was changed after this page was loaded: reload it and try again."
            )
        target = values_at(article_id, number)
        current = current_values([article_id])[article_id]
        names = set(KINDS) if fields is None else set(fields)
        unknown = names - set(KINDS)
        if unknown:
            raise RevertError(f"Unknown field: {', '.join(sorted(unknown))}.")
        wanted = {n: target[n] for n in names if n in target and target[n] != current.get(n)}
        kept = []
        if not can_publish:
            # What only the publishing right changes: the status and the schedule (a
            # "go live at" reverted away would publish a scheduled item at once).
            if fields is not None and set(fields) <= set(PUBLISHING_RIGHT_FIELDS):
                refused = ", ".join(sorted(fields))
                raise RevertError(f"Changing {refused} needs the publishing right.")
            kept = sorted(set(wanted) & set(PUBLISHING_RIGHT_FIELDS))
            for name in kept:
                del wanted[name]
        if not wanted:
            return [], kept
        with changes.batch(source=changes.Source.EDITOR, user=user):
            try:
                apply_values(article, wanted)
            except Embargoed as refusal:  # a status reverted into an embargo
                raise RevertError(refusal.messages[0]) from None
            changes.record(
                [article_id],
                set(wanted),
                source=changes.Source.EDITOR,
                user=user,
                message=f"Reverted to revision {number}.",
            )
        state = RevisedState.objects.get(article_id=article_id)
        state.held = {**state.held, **wanted}
        state.save(update_fields=["held"])
    return sorted(wanted), kept


def apply_values(article, wanted: dict):
    """Write `wanted` ({field: value}, as revisions and the import's snapshot name them)
    to the article, its lists and its links; saves the article. The caller records the
    change. Used by revert and by resolving an import conflict (ingest/conflicts.py)."""
    fields = (*ITEM_FIELDS.values(), *SCHEDULE)
    columns = schema.columns(wanted, tuple(f for f in fields if f.name in wanted))
    for column, value in columns.items():
        setattr(article, column, value)
    for name in ("status", "slug", "heat_pin", "boost_hours", "boost_reason"):
        if name in wanted:
            setattr(article, name, wanted[name])
    if "provider" in wanted:
        provider = Provider.objects.filter(domain=wanted["provider"]).first()
        if provider is None:
            raise RevertError(f"The outlet {wanted['provider']} does not exist any more.")
        article.provider = provider
    article.save()  # renders the body, keeps went_live_at's rule
    if "topics" in wanted:
        by_name = {t.name: t for t in Topic.objects.filter(name__in=wanted["topics"])}
        TaggedTopic.objects.filter(content_object=article).delete()
        TaggedTopic.objects.bulk_create(
            TaggedTopic(content_object=article, tag=by_name[name])
            for name in wanted["topics"]
            if name in by_name  # a topic deleted since cannot come back
        )
    if "images" in wanted:
        ArticleImage.objects.filter(article=article).delete()
        ArticleImage.objects.bulk_create(
            ArticleImage(article=article, position=position, **schema.columns(image, schema.IMAGE))
            for position, image in enumerate(wanted["images"])
        )
    if "coverage" in wanted:
        RelatedCoverage.objects.filter(article=article).delete()
        RelatedCoverage.objects.bulk_create(
            RelatedCoverage(
                article=article,
                position=position,
                images=entry.get("images", []),
                **schema.columns(entry, schema.COVERAGE),
            )
            for position, entry in enumerate(wanted["coverage"])
        )
    if "related_stories" in wanted:
        article.related_stories.set(Article.objects.filter(pk__in=wanted["related_stories"]))


# -- retention --------------------------------------------------------------------------


def prune(*, keep: int, older_than) -> int:
    """Delete the revisions created before `older_than`, except each article's last
    `keep`; returns how many. Each revision holds its own values before and after, so
    the ones kept (always each article's latest) still show their diffs, and reverting
    to any of them still works (values_at undoes only later ones)."""
    doomed = Revision.objects.filter(
        created_at__lt=older_than, number__lte=F("article__revised_state__number") - keep
    )
    deleted, _ = doomed.delete()
    return deleted
