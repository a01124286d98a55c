"""Typo-tolerant search on PostgreSQL: the pg_trgm extension and a trigram index on
article titles (articles/site/search.py: "did you mean").

When a full-text search finds nothing, the titles closest to each word, by pg_trgm's
word similarity, give the words to suggest instead; the GIN index lets the database
find them without reading every title. SQLite has neither: its fallback suggests
from the titles in Python, and this migration does nothing there.
"""

from django.contrib.postgres.operations import TrigramExtension
from django.db import migrations

CREATE = [
    "CREATE INDEX IF NOT EXISTS article_title_trigram ON articles_article"
    " USING gin (title gin_trgm_ops)"
]
DROP = ["DROP INDEX IF EXISTS article_title_trigram"]


def _on_postgres(statements):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            for statement in statements:
                schema_editor.execute(statement)

    return run


class Migration(migrations.Migration):
    dependencies = [("articles", "0010_worker_heartbeat_sweep")]

    operations = [
        # A no-op on databases other than PostgreSQL.
        TrigramExtension(),
        migrations.RunPython(_on_postgres(CREATE), _on_postgres(DROP)),
    ]
