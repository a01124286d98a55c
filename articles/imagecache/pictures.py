"""What a page shows for an image it links to: our renditions, or a placeholder.

Pages never show an outlet's image URL. For each image they know (an article's lead
image, an outlet's logo, a coverage entry's thumbnail) they look up, in one query for
the whole page (`articles.site.public.hosted_pictures`), whether we hold a copy:

- a `Rendition`: `<picture>` with a WebP `srcset`, a JPEG/PNG fallback `srcset`, and
  width and height always set (the aspect ratio of the picture, so the layout is known
  before a byte of it arrives);
- else a `Placeholder`: the outlet's initials on a colour of the topic (or outlet),
  in a box of the size the image will have (the size the file declared), so that the
  page does not change shape when the picture is cached.

Building the URLs of a picture's renditions asks the media storage for each name;
that is memoised per stored picture (by its content hash: a StoredImage never changes),
since the same pictures are on every page, and the srcset strings are escaped once.
"""

import json
import re
import zlib
from dataclasses import dataclass
from functools import lru_cache

from django.core.files.storage import default_storage
from markupsafe import Markup, escape

from . import renditions

# Placeholder colours: site.css has a class for each (`placeholder--hue-N`).
HUES = 8
# The fallback rendition a single URL stands for (feeds, og:image, the API): large
# enough for a share card, small enough for a feed reader.
SHARE_WIDTH = 800


@dataclass(frozen=True)
class Rendition:
    """A picture we host, as a `<picture>` element needs it."""

    src: str  # the fallback at SHARE_WIDTH (or the largest below it)
    srcset: Markup  # the fallback format, every width (escaped once, here)
    webp_srcset: Markup
    width: int  # of the largest rendition: the aspect ratio, and a size to start from
    height: int
    share: "RenditionFile"  # the one file a feed enclosure or og:image names
    alt: str = ""  # set per page where it says something (public.lead_picture)

    kind = "cached"

    @property
    def url(self):
        return self.share.url


@dataclass(frozen=True)
class RenditionFile:
    url: str
    width: int
    height: int
    bytes: int
    content_type: str


@dataclass(frozen=True)
class Placeholder:
    """Stands in for a picture we do not (yet) hold: initials on a colour, at the size
    the picture will have."""

    initials: str
    hue: int
    width: int
    height: int
    alt: str = ""  # as Rendition.alt

    kind = "placeholder"
    url = ""  # nothing to link to: feeds and share cards leave it out


def placeholder(name, colour_key, width=None, height=None) -> Placeholder:
    """A placeholder with the initials of `name` on the colour of `colour_key` (a topic's
    slug, else an outlet's domain), `width` x `height` as declared (16:9 if unknown)."""
    if not (width and height):
        width, height = 16, 9
    return Placeholder(initials(name), hue(colour_key), int(width), int(height))


@lru_cache(maxsize=4096)
def hue(key) -> int:
    return zlib.crc32((key or "").encode()) % HUES


_WORD = re.compile(r"[^\W_]+")
_CAMEL = re.compile(r"[A-Z]?[a-z0-9]+|[A-Z]+(?![a-z])")
_SKIPPED = {"the", "a", "an"}


@lru_cache(maxsize=4096)
def initials(name) -> str:
    """ "TW" for TechWire, "DC" for The Daily Circuit, "SN" for Signal & Noise."""
    words = _WORD.findall(name or "")
    if len(words) > 1 and words[0].lower() in _SKIPPED:
        words = words[1:]
    if len(words) == 1:
        words = _CAMEL.findall(words[0]) or words
    return "".join(word[0] for word in words[:2]).upper() or "·"


_RENDITIONS = {}  # sha256 -> Rendition, for this process
_MAX_MEMO = 4096


def rendition(sha256, width, height, widths, fallback, served_bytes) -> Rendition:
    """The Rendition of a stored picture, from a StoredImage's columns (`widths` and
    `served_bytes` decoded, or as the JSON text the database gave)."""
    found = _RENDITIONS.get(sha256)
    if found is None:
        if len(_RENDITIONS) >= _MAX_MEMO:
            _RENDITIONS.clear()
        found = _RENDITIONS[sha256] = _rendition(
            sha256, int(width), int(height), _decoded(widths), fallback, _decoded(served_bytes)
        )
    return found


def _decoded(value):
    return json.loads(value) if isinstance(value, str) else value


def _rendition(sha256, width, height, widths, fallback, sizes) -> Rendition:
    sizes = sizes or {}

    def url(w, extension):
        return default_storage.url(renditions.rendition_name(sha256, w, extension))

    def height_at(w):
        return max(1, round(height * w / width)) if width else w

    largest = widths[-1]
    share_width = max([w for w in widths if w <= SHARE_WIDTH] or [widths[0]])
    share = RenditionFile(
        url=url(share_width, fallback),
        width=share_width,
        height=height_at(share_width),
        bytes=sizes.get(f"{share_width}.{fallback}", 0),
        content_type=renditions.CONTENT_TYPES[fallback],
    )
    return Rendition(
        src=share.url,
        srcset=escape(", ".join(f"{url(w, fallback)} {w}w" for w in widths)),
        webp_srcset=escape(", ".join(f"{url(w, 'webp')} {w}w" for w in widths)),
        width=largest,
        height=height_at(largest),
        share=share,
    )
