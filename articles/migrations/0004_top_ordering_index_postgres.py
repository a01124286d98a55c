"""An index that matches the "Top" ordering on PostgreSQL.

"Top" sorts heat and quality descending with unknown (NULL) values last
(articles/ranking.py). PostgreSQL puts NULLs first in a DESC index, so the
article_status_top index declared in Article.Meta cannot serve that ORDER BY there
and every home page would sort the whole published table. SQLite already puts
NULLs last in DESC order, and it rejects NULLS LAST inside CREATE INDEX, which is
why this index exists only on PostgreSQL and is not declared in Meta.
"""

from django.db import migrations

CREATE = """
    CREATE INDEX IF NOT EXISTS article_top_nulls_last ON articles_article
    (status, heat DESC NULLS LAST, quality DESC NULLS LAST, published_at DESC, id DESC)
"""
CREATE_LATEST = """
    CREATE INDEX IF NOT EXISTS article_latest_with_id ON articles_article
    (status, published_at DESC, id DESC)
"""
DROP = [
    "DROP INDEX IF EXISTS article_top_nulls_last",
    "DROP INDEX IF EXISTS article_latest_with_id",
]


def _on_postgres(statements):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            for statement in statements:
                schema_editor.execute(statement)

    return run


class Migration(migrations.Migration):
    dependencies = [("articles", "0003_search_vector")]

    operations = [
        migrations.RunPython(_on_postgres([CREATE, CREATE_LATEST]), _on_postgres(DROP)),
    ]
