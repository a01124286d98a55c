"""Content-Security-Policy header (Django 5.2 has none built in).

The public site needs no inline script or style: everything comes from our own
static files, images may come from the outlets' servers. JSON-LD blocks
(`<script type="application/ld+json">`) are data that browsers never execute, so
`script-src 'self'` does not affect them.

The admin gets its own policy: Django's admin runs no inline script either, but its
widgets (and third-party ones like select2) set inline style attributes, and its
change lists show article images hosted elsewhere.

Also here: `RefuseNulMiddleware`, which answers 400 to a request carrying a NUL
character, before any view or query sees it.
"""

from django.core.exceptions import BadRequest
from django.urls import get_resolver, get_urlconf, reverse

PUBLIC_POLICY = "; ".join(
    [
        "default-src 'self'",
        "img-src 'self' https: http: data:",
        "style-src 'self'",
        "script-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "frame-ancestors 'none'",
        "form-action 'self'",
    ]
)

ADMIN_POLICY = "; ".join(
    [
        "default-src 'self'",
        "img-src 'self' https: http: data:",
        "style-src 'self' 'unsafe-inline'",
        "script-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "frame-ancestors 'none'",
        "form-action 'self'",
    ]
)


class ContentSecurityPolicyMiddleware:
    """Adds the policy to every response that does not already carry one."""

    def __init__(self, get_response):
        self.get_response = get_response
        self._admin_prefix = None

    def __call__(self, request):
        response = self.get_response(request)
        if "Content-Security-Policy" not in response.headers:
            policy = ADMIN_POLICY if self._is_admin(request) else PUBLIC_POLICY
            response.headers["Content-Security-Policy"] = policy
        return response

    def _is_admin(self, request):
        if self._admin_prefix is None:  # resolved on first use: URLconfs load lazily
            self._admin_prefix = reverse("admin:index")
        return request.path.startswith(self._admin_prefix)


class RefuseNulMiddleware:
    """400 Bad Request for a NUL character in the path, in a query or form parameter's
    name or value, in an uploaded file's name or in a cookie.

    PostgreSQL text cannot hold NUL, so a NUL that reaches a query is a 500 there
    (psycopg refuses to send it): the search box, the provider page, every admin
    filter and search, even the session lookup for a forged cookie. Django's form
    fields refuse NUL, but views and the admin's filters read parameters directly,
    so the check is made once, here, for every request. No real link, form or
    browser sends a NUL. Other control characters and undecodable bytes need nothing:
    Django decodes with replacement characters, and both databases store the rest.

    Reading `request.POST` this early is harmless: CsrfViewMiddleware reads it for
    every POST before the view anyway.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if _carries_nul(request):
            # The site's own 400 (handler400: JSON under /api/, the 400 page elsewhere),
            # answered here rather than raised: a NUL is no error of ours to log at length.
            handler = get_resolver(get_urlconf()).resolve_error_handler(400)
            return handler(request, BadRequest("NUL character in the request."))
        return self.get_response(request)


def _carries_nul(request) -> bool:
    if "\x00" in request.path:
        return True
    for params in (request.GET, request.POST):
        for name, values in params.lists():
            if "\x00" in name or any("\x00" in value for value in values):
                return True
    for name, files in request.FILES.lists():
        if "\x00" in name or any("\x00" in (upload.name or "") for upload in files):
            return True
    return any("\x00" in name or "\x00" in value for name, value in request.COOKIES.items())
