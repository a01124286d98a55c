"""The articles' sort keys on their topic links, and the topic indexes that use them.

The copies are kept by triggers that articles/topic_sort_keys.py creates after every
`migrate`, which also fills them in for the links already there. PostgreSQL's Top
index needs NULLS LAST, which SQLite refuses inside CREATE INDEX: it is made here,
on PostgreSQL only, as migration 0012 does for the articles' own.
"""

from django.db import migrations, models

POSTGRES_INDEX = """
    CREATE INDEX IF NOT EXISTS topic_top_nulls_last ON articles_taggedtopic
    (tag_id, score DESC NULLS LAST, published_at DESC, content_object_id DESC)
"""


def _on_postgres(*statements):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            for statement in statements:
                schema_editor.execute(statement)

    return run


class Migration(migrations.Migration):
    dependencies = [
        ("articles", "0018_quality_bounds"),
    ]

    operations = [
        migrations.AddField(
            model_name="taggedtopic",
            name="published_at",
            field=models.DateTimeField(editable=False, null=True),
        ),
        migrations.AddField(
            model_name="taggedtopic",
            name="score",
            field=models.FloatField(editable=False, null=True),
        ),
        migrations.AddIndex(
            model_name="taggedtopic",
            index=models.Index(
                fields=["tag", "-score", "-published_at", "-content_object"], name="topic_top"
            ),
        ),
        migrations.AddIndex(
            model_name="taggedtopic",
            index=models.Index(
                fields=["tag", "-published_at", "-content_object"], name="topic_latest"
            ),
        ),
        migrations.RunPython(
            _on_postgres(POSTGRES_INDEX),
            _on_postgres("DROP INDEX IF EXISTS topic_top_nulls_last"),
        ),
    ]
