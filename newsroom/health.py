"""/healthz: is this app server able to serve? For load balancers and monitoring.

200 {"status": "ok", "database": "ok"} when every configured database answers a
trivial query, 503 {"status": "error", "database": "unavailable"} when one does
not. Never cached, and exempt from the HTTPS redirect (load balancers usually probe
over plain HTTP; see SECURE_REDIRECT_EXEMPT in settings).
"""

import logging

from django.db import DatabaseError, connections
from django.http import JsonResponse
from django.views.decorators.cache import never_cache

from articles.site.caching import read_only

logger = logging.getLogger("newsroom.health")


@never_cache
@read_only
def healthz(request):
    for alias in connections:
        try:
            with connections[alias].cursor() as cursor:
                cursor.execute("SELECT 1")
                cursor.fetchone()
        except DatabaseError as exc:
            # The reason goes to the log, not to whoever can reach the URL.
            logger.error("health check: database %r does not answer: %s", alias, exc)
            return JsonResponse({"status": "error", "database": "unavailable"}, status=503)
    return JsonResponse({"status": "ok", "database": "ok"})
