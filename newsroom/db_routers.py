"""Send anonymous readers' queries to a read replica, everything else to the primary.

Enabled only when DATABASE_REPLICA_URL is set (newsroom/settings.py adds the
"replica" database, this router and the middleware below).

Which reads may go to the replica is decided per request, because only the request
knows who is reading: a replica lags the primary by a moment, and an editor who has
just published must see their change, while an anonymous reader cannot tell. So:

- GET/HEAD requests without a session cookie, outside the admin -> replica;
- everything else (editors, the admin, forms, management commands, the importer,
  anything inside a transaction that writes) -> primary.
"""

import contextvars
from contextlib import contextmanager

from django.conf import settings
from django.urls import reverse

REPLICA = "replica"

_reads_from_replica = contextvars.ContextVar("reads_from_replica", default=False)


@contextmanager
def reads_from_replica():
    """Within this block, the router sends reads to the replica."""
    token = _reads_from_replica.set(True)
    try:
        yield
    finally:
        _reads_from_replica.reset(token)


class PrimaryReplicaRouter:
    def db_for_read(self, model, **hints):
        if _reads_from_replica.get() and REPLICA in settings.DATABASES:
            return REPLICA
        return "default"

    def db_for_write(self, model, **hints):
        return "default"

    def allow_relation(self, obj1, obj2, **hints):
        # Both databases hold the same data.
        return True

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        # The replica receives the schema by replication, never by `migrate`.
        return db == "default"


class ReplicaReadsMiddleware:
    """Marks anonymous, read-only, non-admin requests as safe to serve from the replica."""

    def __init__(self, get_response):
        self.get_response = get_response
        self._admin_prefix = None

    def __call__(self, request):
        if self._is_public_read(request):
            with reads_from_replica():
                return self.get_response(request)
        return self.get_response(request)

    def _is_public_read(self, request):
        if self._admin_prefix is None:  # resolved on first use: URLconfs load lazily
            self._admin_prefix = reverse("admin:index")
        return (
            request.method in ("GET", "HEAD")
            and settings.SESSION_COOKIE_NAME not in request.COOKIES
            and not request.path.startswith(self._admin_prefix)
        )
