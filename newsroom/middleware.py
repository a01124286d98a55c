"""Content-Security-Policy header (Django 5.2 has none built in).

The public site needs no inline script or style: everything comes from our own
static files, images may come from the outlets' servers. JSON-LD blocks
(`<script type="application/ld+json">`) are data that browsers never execute, so
`script-src 'self'` does not affect them.

The admin gets its own policy: Django's admin runs no inline script either, but its
widgets (and third-party ones like select2) set inline style attributes, and its
change lists show article images hosted elsewhere.
"""

from django.urls import reverse

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
