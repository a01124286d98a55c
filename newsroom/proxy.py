"""The client's address behind proxies we trust (used when DJANGO_BEHIND_PROXY=1)."""

from django.conf import settings


def client_ip(request) -> str | None:
    """The address our outermost proxy saw, from the right end of X-Forwarded-For.

    Each proxy appends the address it received the request from, so with N proxies
    of ours the N-th entry from the right is the client; anything left of it was
    written by the client and cannot be trusted.
    """
    forwarded = [
        part.strip()
        for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
        if part.strip()
    ]
    if settings.PROXY_COUNT > 0 and len(forwarded) >= settings.PROXY_COUNT:
        return forwarded[-settings.PROXY_COUNT]
    return request.META.get("REMOTE_ADDR")
