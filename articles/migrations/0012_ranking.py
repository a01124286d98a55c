"""Heat in parts, and "Top" by a date-anchored score (articles/ranking.py, docs/ranking.md).

New columns: the file's heat verbatim (source_heat), the editor's pinned heat and
boost, the score, and a per-topic modifier. `heat` becomes computed. Existing rows:
today's heat moves to source_heat; a heat an editor set (typed in the admin, or
differing from what the last import wrote) becomes a pin; then every heat and score
is computed, with ranking's formula as it is when this runs.

The "Top" index: SQLite's is declared in Article.Meta (its DESC puts NULLs last, as
the ordering asks); PostgreSQL's needs NULLS LAST, which SQLite refuses, so it is
made here for PostgreSQL only, replacing 0004's index for the old ordering.
"""

import django.core.validators
from django.db import migrations, models

from articles import ranking

BATCH = 900


def _source_and_pin(imported, heat):
    """(source heat, pinned heat) of a row from before: what its file said, and the
    heat an editor set, if any."""
    typed = heat if heat is not None and heat >= 0 else None
    if "heat" not in imported:  # never imported: any heat was typed in the admin
        return None, typed
    file_heat = imported["heat"]
    if file_heat is None and imported.get("quality") is not None:
        file_heat = -1  # files give quality and heat together; -1 was stored as empty
    return file_heat, (typed if typed != imported["heat"] else None)


def compute_scores(apps, schema_editor):
    Article = apps.get_model("articles", "Article")
    RelatedCoverage = apps.get_model("articles", "RelatedCoverage")
    ids = list(Article.objects.order_by("pk").values_list("pk", flat=True))
    for start in range(0, len(ids), BATCH):
        batch = ids[start : start + BATCH]
        coverage = dict(
            RelatedCoverage.objects.filter(article_id__in=batch)
            .exclude(url=models.F("article__web_url"))
            .order_by()
            .values("article_id")
            .annotate(count=models.Count("url", distinct=True))
            .values_list("article_id", "count")
        )
        articles = list(
            Article.objects.filter(pk__in=batch).only("imported", "heat", "quality", "published_at")
        )
        for article in articles:
            article.source_heat, article.heat_pin = _source_and_pin(article.imported, article.heat)
            result = ranking.explain(
                ranking.Inputs(
                    published_at=article.published_at,
                    quality=article.quality,
                    coverage=coverage.get(article.pk, 0),
                    heat_pin=article.heat_pin,
                )
            )
            article.heat, article.score = result.heat, result.score
        Article.objects.bulk_update(articles, ["source_heat", "heat_pin", "heat", "score"])


def restore_heat(apps, schema_editor):
    """Back to one heat column: the pin where there is one, else the file's."""
    Article = apps.get_model("articles", "Article")
    articles = list(Article.objects.only("heat", "heat_pin", "source_heat"))
    for article in articles:
        if article.heat_pin is not None:
            article.heat = article.heat_pin
        else:
            article.heat = None if article.source_heat == -1 else article.source_heat
    Article.objects.bulk_update(articles, ["heat"], batch_size=BATCH)


POSTGRES_INDEX = """
    CREATE INDEX IF NOT EXISTS article_top_score_nulls_last ON articles_article
    (status, score DESC NULLS LAST, published_at DESC, id DESC)
"""
OLD_POSTGRES_INDEX = """
    CREATE INDEX IF NOT EXISTS article_top_nulls_last ON articles_article
    (status, heat DESC NULLS LAST, quality DESC NULLS LAST, published_at DESC, id DESC)
"""


def _on_postgres(*statements):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            for statement in statements:
                schema_editor.execute(statement)

    return run


class Migration(migrations.Migration):

    dependencies = [
        ('articles', '0011_title_trigram_index'),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name='article',
            name='article_status_top',
        ),
        migrations.AddField(
            model_name='article',
            name='boost_hours',
            field=models.IntegerField(default=0, help_text='Hours of freshness in Top, for example +6 for an exclusive, -12 for a paywall (from -168 to 168).', validators=[django.core.validators.MinValueValidator(-168, 'At most 168 hours of penalty.'), django.core.validators.MaxValueValidator(168, 'At most 168 hours of boost.')], verbose_name='Top boost (hours)'),
        ),
        migrations.AddField(
            model_name='article',
            name='boost_reason',
            field=models.CharField(blank=True, help_text='Why, in a few words: shown with the boost.', max_length=100),
        ),
        migrations.AddField(
            model_name='article',
            name='heat_pin',
            field=models.IntegerField(blank=True, help_text='Empty: the computed heat. A number here replaces it, and the article shows it as pinned.', null=True, validators=[django.core.validators.MinValueValidator(0, 'A pinned heat must be 0 or more.')], verbose_name='pinned heat'),
        ),
        migrations.AddField(
            model_name='article',
            name='score',
            field=models.FloatField(blank=True, editable=False, help_text="Top's sort key, from ranking.py; empty when the heat is unknown.", null=True),
        ),
        migrations.AddField(
            model_name='article',
            name='source_heat',
            field=models.IntegerField(blank=True, editable=False, help_text="The file's heat as it came (-1: never computed upstream; empty: the file had none). Exported unchanged; Top does not read it.", null=True),
        ),
        migrations.AddField(
            model_name='topic',
            name='rank_hours',
            field=models.IntegerField(default=0, help_text='Hours of freshness every story in this topic gets in Top (negative holds them back). Usually 0.', validators=[django.core.validators.MinValueValidator(-168, 'At most 168 hours less.'), django.core.validators.MaxValueValidator(168, 'At most 168 hours more.')], verbose_name='Top modifier (hours)'),
        ),
        migrations.AlterField(
            model_name='article',
            name='heat',
            field=models.IntegerField(blank=True, editable=False, help_text='The heat readers and the API see: computed from quality and coverage, or the pinned heat (articles/ranking.py). Empty when unknown.', null=True, validators=[django.core.validators.MinValueValidator(-1, 'Heat must be -1 (unknown) or more.')]),
        ),
        migrations.AddIndex(
            model_name='article',
            index=models.Index(fields=['status', '-score', '-published_at', '-id'], name='article_top_score'),
        ),
        migrations.AddConstraint(
            model_name='article',
            constraint=models.CheckConstraint(condition=models.Q(('source_heat__isnull', True), ('source_heat__gte', -1), _connector='OR'), name='article_source_heat_min_minus_one'),
        ),
        migrations.AddConstraint(
            model_name='article',
            constraint=models.CheckConstraint(condition=models.Q(('heat_pin__isnull', True), ('heat_pin__gte', 0), _connector='OR'), name='article_heat_pin_non_negative'),
        ),
        migrations.AddConstraint(
            model_name='article',
            constraint=models.CheckConstraint(condition=models.Q(('boost_hours__gte', -168), ('boost_hours__lte', 168)), name='article_boost_hours_range'),
        ),
        migrations.AddConstraint(
            model_name='topic',
            constraint=models.CheckConstraint(condition=models.Q(('rank_hours__gte', -168), ('rank_hours__lte', 168)), name='topic_rank_hours_range'),
        ),
        migrations.RunPython(compute_scores, restore_heat),
        migrations.RunPython(
            _on_postgres(POSTGRES_INDEX, "DROP INDEX IF EXISTS article_top_nulls_last"),
            _on_postgres(OLD_POSTGRES_INDEX, "DROP INDEX IF EXISTS article_top_score_nulls_last"),
        ),
    ]
