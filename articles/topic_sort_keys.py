"""The articles' sort keys copied onto their topic links, kept by the database.

A topic page lists the topic's published stories in Top or Latest order, one page at
a time. Read from the articles' own order index, the database walks every article in
that order and keeps those in the topic: cheap for a topic on every other article,
but a topic on 30 of 100,000 articles walked nearly all of them (75-110 ms a page on
SQLite). So each link row (articles_taggedtopic) carries its article's `score` and
`published_at`, and the links' (topic, score, date, article) index gives a topic's
page in order, however rare the topic (docs/benchmarks.md, "Topic pages").

Triggers keep the copies, so no writer can forget them: the ORM's save(), update()
and bulk_update(), the importer's raw inserts and COPY, taggit's add(). They live
outside the migrations: dropped before every `migrate` and made again after it, when
the copies are also repaired. A migration that rebuilds a table on SQLite (most
AlterFields) would otherwise fail on a trigger naming the table, or drop the table's
own triggers with it; with them gone, a migration needs to know nothing of them.
"""

from django.db.models.signals import post_migrate, pre_migrate

ARTICLES, LINKS = "articles_article", "articles_taggedtopic"

# SQLite: each trigger by name, made afresh by install() (so a changed definition
# replaces the old one). SQLite has no BEFORE trigger that sets NEW: a new link is
# written, then given its article's keys.
_LINK_TAKES_KEYS = f"""
    BEGIN
        UPDATE {LINKS} SET
            score = (SELECT score FROM {ARTICLES} WHERE id = NEW.content_object_id),
            published_at = (SELECT published_at FROM {ARTICLES} WHERE id = NEW.content_object_id)
        WHERE id = NEW.id;
    END"""
_ARTICLE_GIVES_KEYS = f"""
    BEGIN
        UPDATE {LINKS} SET score = NEW.score, published_at = NEW.published_at
        WHERE content_object_id = NEW.id;
    END"""
_SQLITE = {
    # A new link, or one moved to another article.
    "taggedtopic_sort_keys": f"AFTER INSERT ON {LINKS} {_LINK_TAKES_KEYS}",
    "taggedtopic_sort_keys_moved": (
        f"AFTER UPDATE OF content_object_id ON {LINKS} {_LINK_TAKES_KEYS}"
    ),
    # An article's new keys go to its links (save() writes every column: only a real
    # change costs an UPDATE); an article inserted after its links (deferred foreign
    # keys allow it) gives them its keys too.
    "article_sort_keys_to_topics": f"""AFTER UPDATE OF score, published_at ON {ARTICLES}
        WHEN NEW.score IS NOT OLD.score OR NEW.published_at IS NOT OLD.published_at
        {_ARTICLE_GIVES_KEYS}""",
    "article_sort_keys_to_early_topics": f"AFTER INSERT ON {ARTICLES} {_ARTICLE_GIVES_KEYS}",
}

_POSTGRES = [
    f"""CREATE OR REPLACE FUNCTION taggedtopic_sort_keys() RETURNS trigger AS $$
    BEGIN
        SELECT score, published_at INTO NEW.score, NEW.published_at
        FROM {ARTICLES} WHERE id = NEW.content_object_id;
        RETURN NEW;
    END $$ LANGUAGE plpgsql""",
    f"""CREATE OR REPLACE TRIGGER taggedtopic_sort_keys
    BEFORE INSERT OR UPDATE OF content_object_id ON {LINKS}
    FOR EACH ROW EXECUTE FUNCTION taggedtopic_sort_keys()""",
    f"""CREATE OR REPLACE FUNCTION article_sort_keys_to_topics() RETURNS trigger AS $$
    BEGIN
        UPDATE {LINKS} SET score = NEW.score, published_at = NEW.published_at
        WHERE content_object_id = NEW.id;
        RETURN NULL;
    END $$ LANGUAGE plpgsql""",
    f"""CREATE OR REPLACE TRIGGER article_sort_keys_to_topics
    AFTER UPDATE OF score, published_at ON {ARTICLES}
    FOR EACH ROW WHEN (NEW.score IS DISTINCT FROM OLD.score
                       OR NEW.published_at IS DISTINCT FROM OLD.published_at)
    EXECUTE FUNCTION article_sort_keys_to_topics()""",
    f"""CREATE OR REPLACE TRIGGER article_sort_keys_to_early_topics
    AFTER INSERT ON {ARTICLES}
    FOR EACH ROW EXECUTE FUNCTION article_sort_keys_to_topics()""",
]

# The copies that differ from their article's keys, set right.
_REPAIR = f"""
    UPDATE {LINKS} SET
        score = (SELECT a.score FROM {ARTICLES} a WHERE a.id = content_object_id),
        published_at = (SELECT a.published_at FROM {ARTICLES} a WHERE a.id = content_object_id)
    WHERE EXISTS (
        SELECT 1 FROM {ARTICLES} a WHERE a.id = {LINKS}.content_object_id
        AND (a.score {{differs}} {LINKS}.score OR a.published_at {{differs}} {LINKS}.published_at)
    )
"""
_DIFFERS = {"sqlite": "IS NOT", "postgresql": "IS DISTINCT FROM"}
TRIGGERS = {
    "sqlite": [
        statement
        for name, definition in _SQLITE.items()
        for statement in (f"DROP TRIGGER IF EXISTS {name}", f"CREATE TRIGGER {name} {definition}")
    ],
    "postgresql": _POSTGRES,
}


def install(connection):
    """Make the triggers on `connection`'s database (afresh, or replaced in place) and
    repair the copies; returns how many links were repaired."""
    with connection.cursor() as cursor:
        for statement in TRIGGERS[connection.vendor]:
            cursor.execute(statement)
        cursor.execute(_REPAIR.replace("{differs}", _DIFFERS[connection.vendor]))
        return cursor.rowcount


def uninstall(connection):
    """Drop the triggers on `connection`'s database (the functions stay on PostgreSQL)."""
    with connection.cursor() as cursor:
        for name, table in _TRIGGER_TABLES.items():
            on = f" ON {table}" if connection.vendor == "postgresql" else ""
            cursor.execute(f"DROP TRIGGER IF EXISTS {name}{on}")


# Every trigger, with its table (PostgreSQL's DROP TRIGGER names it).
_TRIGGER_TABLES = {
    "taggedtopic_sort_keys": LINKS,
    "taggedtopic_sort_keys_moved": LINKS,  # SQLite's; PostgreSQL's first one covers it
    "article_sort_keys_to_topics": ARTICLES,
    "article_sort_keys_to_early_topics": ARTICLES,
}


def _on_the_copies(action):
    """A migrate signal receiver doing `action` on databases whose links have copies."""

    def receiver(using, **kwargs):
        from django.db import connections

        connection = connections[using]
        if connection.vendor in TRIGGERS and _has_copies(connection):
            action(connection)

    return receiver


_before_migrate, _after_migrate = _on_the_copies(uninstall), _on_the_copies(install)


def _has_copies(connection):
    """Whether the links have their columns (not before migration 0019, nor after
    migrating back past it)."""
    with connection.cursor() as cursor:
        if LINKS not in connection.introspection.table_names(cursor):
            return False
        columns = connection.introspection.get_table_description(cursor, LINKS)
    return {"score", "published_at"} <= {column.name for column in columns}


def connect(app_config):
    pre_migrate.connect(_before_migrate, sender=app_config, dispatch_uid=__name__)
    post_migrate.connect(_after_migrate, sender=app_config, dispatch_uid=__name__)
