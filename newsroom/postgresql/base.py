"""Django's PostgreSQL backend, with bulk operations split to fit server-side binding.

With server-side binding (settings: DB_PREPARED_STATEMENTS, on by default) psycopg
sends every value as a protocol parameter, and PostgreSQL accepts at most 65,535 of
them in one statement. Django's PostgreSQL backend assumes no limit (it merges values
into the SQL text by default), so a bulk_create(), bulk_update() or cascade delete of
tens of thousands of rows would fail. Here they are cut into batches that fit.
Django does not split a long `pk__in` list, so the project's own bulk actions slice
their ids themselves (`ID_BATCH_SIZE` in articles/models.py).
"""

from django.db.backends.postgresql import base, features, operations

MAX_QUERY_PARAMS = 65_535


class DatabaseFeatures(features.DatabaseFeatures):
    max_query_params = MAX_QUERY_PARAMS


class DatabaseOperations(operations.DatabaseOperations):
    def bulk_batch_size(self, fields, objs):
        # Rows per statement so that the parameters stay within the limit. Twice the
        # fields: bulk_update() sends two a field for each row (CASE WHEN pk = %s
        # THEN %s) and names its fields as ["pk", "pk", *fields].
        return max(1, min(len(objs), MAX_QUERY_PARAMS // (2 * max(len(fields), 1))))


class DatabaseWrapper(base.DatabaseWrapper):
    features_class = DatabaseFeatures
    ops_class = DatabaseOperations
