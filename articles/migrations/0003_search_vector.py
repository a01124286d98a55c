"""Full-text search: a stored, weighted search vector on articles.

The column is added on every database (SQLite accepts the type name and never uses
it). On PostgreSQL only, this migration also:

- creates a trigger that recomputes the vector before every INSERT and every UPDATE
  of title, excerpt or body, so save(), bulk_create(), bulk_update() and update()
  all keep it current without anyone having to remember;
- fills it for the rows already there;
- creates the GIN index that the search uses.

The index is not declared in Article.Meta: SQLite cannot build a GIN index, and
SQLite rebuilds tables (and their declared indexes) on many schema changes.
"""

from django.db import migrations

import django.contrib.postgres.search

# Keep the config in step with articles/search.py SEARCH_CONFIG.
VECTOR = """
    setweight(to_tsvector('english', coalesce({row}title, '')), 'A') ||
    setweight(to_tsvector('english', coalesce({row}excerpt, '')), 'B') ||
    setweight(to_tsvector('english', coalesce({row}body, '')), 'C')
"""

FORWARD = [
    f"""
    CREATE OR REPLACE FUNCTION articles_article_search_vector() RETURNS trigger AS $$
    BEGIN
        NEW.search_vector := {VECTOR.format(row="NEW.")};
        RETURN NEW;
    END
    $$ LANGUAGE plpgsql
    """,
    """
    CREATE TRIGGER articles_article_search_vector
    BEFORE INSERT OR UPDATE OF title, excerpt, body ON articles_article
    FOR EACH ROW EXECUTE FUNCTION articles_article_search_vector()
    """,
    f"UPDATE articles_article SET search_vector = {VECTOR.format(row='')}",
    """
    CREATE INDEX article_search_vector_gin ON articles_article USING gin (search_vector)
    """,
]

BACKWARD = [
    "DROP INDEX IF EXISTS article_search_vector_gin",
    "DROP TRIGGER IF EXISTS articles_article_search_vector ON articles_article",
    "DROP FUNCTION IF EXISTS articles_article_search_vector()",
]


def _run_on_postgres(statements):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor != "postgresql":
            return
        for statement in statements:
            schema_editor.execute(statement)

    return run


class Migration(migrations.Migration):
    dependencies = [
        ("articles", "0002_editorial_groups"),
    ]

    operations = [
        migrations.AddField(
            model_name="article",
            name="search_vector",
            field=django.contrib.postgres.search.SearchVectorField(editable=False, null=True),
        ),
        migrations.RunPython(_run_on_postgres(FORWARD), _run_on_postgres(BACKWARD)),
    ]
