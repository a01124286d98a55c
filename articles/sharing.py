"""Private share links: show one unpublished article to a reviewer without an account.

A link's address is `/preview/<signed token>/`. The token is random (stored in the
ShareLink row, so the link can be listed, counted and revoked) and signed with the
site's secret key (`django.core.signing`, its own salt), so that an address nobody
issued is refused before the database is asked, and a leaked database dump alone
cannot mint working addresses for new tokens.

What an address answers (articles/site/share.py):
- a bad signature, an unknown or a revoked token: 404 (nothing to tell apart);
- an expired link: 410 Gone;
- the article has been published meanwhile: a redirect to its public page;
- otherwise the article page with the preview banner, `noindex`, `no-store`, and never
  through the page cache.
"""

import datetime as dt
import re
import secrets

from django.core import signing
from django.db.models import F
from django.utils import timezone

from .models import Article, ShareLink

SALT = "newsroom.share-link"
VALIDITY_CHOICES = (
    ("1h", "1 hour", dt.timedelta(hours=1)),
    ("8h", "8 hours", dt.timedelta(hours=8)),
    ("24h", "24 hours", dt.timedelta(hours=24)),
    ("7d", "7 days", dt.timedelta(days=7)),
)
DEFAULT_VALIDITY = "8h"
VALIDITIES = {key: delta for key, _, delta in VALIDITY_CHOICES}

# Link unfurlers and crawlers fetch a pasted link before (or instead of) a person: they
# are shown the page but not counted as views.
CRAWLER = re.compile(
    r"bot\b|bot/|crawl|spider|slurp|preview|facebookexternalhit|embedly|whatsapp|"
    r"skypeuripreview|bitlybot|vkshare|curl/|wget/|python-requests|httpx|go-http-client",
    re.IGNORECASE,
)


class LinkGone(Exception):
    """The link existed but has expired (410)."""


def create(article: Article, *, validity: str = DEFAULT_VALIDITY, user=None) -> ShareLink:
    """A new link to `article`, valid for one of VALIDITY_CHOICES from now."""
    if validity not in VALIDITIES:
        raise ValueError(f"unknown validity {validity!r}: one of {', '.join(VALIDITIES)}")
    return ShareLink.objects.create(
        article=article,
        token=secrets.token_urlsafe(24),
        created_by=user if getattr(user, "pk", None) else None,
        expires_at=timezone.now() + VALIDITIES[validity],
    )


def signed_token(link: ShareLink) -> str:
    return signing.Signer(salt=SALT).sign(link.token)


def find(signed: str) -> ShareLink | None:
    """The live link an address names; None for a forged, unknown or revoked one.
    Raises LinkGone for an expired link."""
    try:
        token = signing.Signer(salt=SALT).unsign(signed)
    except signing.BadSignature:
        return None
    link = (
        ShareLink.objects.filter(token=token, revoked_at__isnull=True)
        .select_related("article")
        .first()
    )
    if link is None:
        return None
    if link.is_expired:
        raise LinkGone
    return link


def revoke(link: ShareLink) -> bool:
    """Revoke a link; False if it was revoked already."""
    return bool(
        ShareLink.objects.filter(pk=link.pk, revoked_at__isnull=True).update(
            revoked_at=timezone.now()
        )
    )


def count_view(link: ShareLink, user_agent: str) -> None:
    """One more view, unless a crawler or link unfurler asked."""
    if not user_agent or CRAWLER.search(user_agent):
        return
    ShareLink.objects.filter(pk=link.pk).update(views=F("views") + 1, last_viewed_at=timezone.now())
