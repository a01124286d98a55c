"""Bulk inserts and updates of plain rows: the import's hot path.

A batch has about ten child rows per item (topic links, images, coverage), and
building model instances and compiling their SQL through the ORM took most of the
import's time. `insert_rows()` sends plain rows instead: on PostgreSQL through one
COPY (psycopg's `cursor.copy()`, one command however many rows, no per-row INSERT to
plan and execute), elsewhere through one `executemany`. Dates and JSON are adapted by
the database backend's own adapters (what the model fields would call); everything
else is plain str/int/bool/None, which every driver takes as is. Triggers fire for
COPY as for INSERT, and like INSERT it is part of the batch's transaction.
"""

from functools import partial

from django.db import connections, models, router, transaction
from django.db.models.constants import OnConflict
from django.utils import timezone

from ..models import Article


def insert_rows(model, rows: list[dict], *, ignore_conflicts=False):
    """INSERT `rows` (dicts of field name -> value, all with the same keys) into `model`;
    `ignore_conflicts`: a row that would break a unique constraint is left out (one
    `INSERT ... ON CONFLICT DO NOTHING` per row, in one executemany, on both databases:
    COPY has no such clause)."""
    if not rows:
        return
    db = connections[router.db_for_write(model)]
    ops = db.ops
    fields = [model._meta.get_field(name) for name in rows[0]]
    table = ops.quote_name(model._meta.db_table)
    columns = ", ".join(ops.quote_name(field.column) for field in fields)
    params = _adapted(db, fields, (row.values() for row in rows))
    with transaction.atomic(using=db.alias, savepoint=False), db.cursor() as cursor:
        if ignore_conflicts:
            placeholders = ", ".join(["%s"] * len(fields))
            insert = ops.insert_statement(on_conflict=OnConflict.IGNORE)
            suffix = ops.on_conflict_suffix_sql(fields, OnConflict.IGNORE, None, None)
            sql = f"{insert} {table} ({columns}) VALUES ({placeholders}) {suffix}"
            cursor.executemany(sql, params)
        elif db.vendor == "postgresql":
            # The driver's own cursor: Django's wrapper has no copy(), so the driver's
            # errors are turned into Django's here (a duplicate key is an IntegrityError,
            # which the importer retries as a race lost to a concurrent import).
            copy_sql = f"COPY {table} ({columns}) FROM STDIN"
            with db.wrap_database_errors, cursor.cursor.copy(copy_sql) as copy:
                for values in params:
                    copy.write_row(values)
        else:
            placeholders = ", ".join(["%s"] * len(fields))
            cursor.executemany(f"INSERT INTO {table} ({columns}) VALUES ({placeholders})", params)


def update_rows(model, rows: dict[int, dict]):
    """UPDATE rows of `model` by primary key: `rows` maps pk -> {field name: value}, all
    with the same keys; one executemany. (QuerySet.bulk_update() builds a CASE WHEN per
    field over every row of a slice, which on a batch of hundreds of rows costs more to
    compile than the database takes to run it.)"""
    if not rows:
        return
    db = connections[router.db_for_write(model)]
    ops = db.ops
    fields = [model._meta.get_field(name) for name in next(iter(rows.values()))]
    assignments = ", ".join(f"{ops.quote_name(field.column)} = %s" for field in fields)
    pk = ops.quote_name(model._meta.pk.column)
    sql = f"UPDATE {ops.quote_name(model._meta.db_table)} SET {assignments} WHERE {pk} = %s"
    params = _adapted(db, fields, (row.values() for row in rows.values()))
    for values, key in zip(params, rows, strict=True):
        values.append(key)
    # (All rows or none, also when called outside a transaction, as bulk_update.)
    with transaction.atomic(using=db.alias, savepoint=False), db.cursor() as cursor:
        cursor.executemany(sql, params)


# Field types whose Python values every driver takes as they are.
_PLAIN = {
    "AutoField", "BigAutoField", "BigIntegerField", "BinaryField", "BooleanField",
    "CharField", "EmailField", "FloatField", "ForeignKey", "IntegerField",
    "OneToOneField", "PositiveBigIntegerField", "PositiveIntegerField",
    "PositiveSmallIntegerField", "SlugField", "SmallIntegerField", "TextField", "URLField",
}  # fmt: skip


def _adapted(db, fields, rows) -> list[list]:
    """Each row's values as the database takes them (what the model fields would send):
    dates, JSON and files by the cheap adapters below, any other type not in _PLAIN
    through its field's own get_db_prep_save()."""
    ops = db.ops
    adapters = []
    for index, model_field in enumerate(fields):
        if isinstance(model_field, models.JSONField):
            adapters.append((index, partial(_adapt_json, ops, model_field.encoder)))
        elif isinstance(model_field, models.DateTimeField):
            adapters.append((index, ops.adapt_datetimefield_value))
        elif isinstance(model_field, models.FileField):
            adapters.append((index, _adapt_file))
        elif model_field.get_internal_type() not in _PLAIN:
            adapters.append((index, partial(model_field.get_db_prep_save, connection=db)))
    params = []
    for row in rows:
        values = list(row)
        for index, adapt in adapters:
            values[index] = adapt(values[index])
        params.append(values)
    return params


def insert_articles(articles: list[Article]):
    """Insert new articles (as insert_rows does), then read their ids back in one query."""
    now = timezone.now()
    fields = [f for f in Article._meta.concrete_fields if not f.primary_key]
    rows = []
    for article in articles:
        article.created_at = article.updated_at = now
        rows.append({f.name: getattr(article, f.attname) for f in fields})
    insert_rows(Article, rows)
    ids = dict(
        Article.objects.filter(web_url__in=[a.web_url for a in articles]).values_list(
            "web_url", "id"
        )
    )
    for article in articles:
        article.pk = ids[article.web_url]
        article._state.adding = False


def _adapt_json(ops, encoder, value):
    return None if value is None else ops.adapt_json_value(value, encoder)


def _adapt_file(value):
    return str(value) if value else ""
