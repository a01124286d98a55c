"""Checking image bytes with Pillow and making the renditions pages serve.

`inspect(data)` decides what the bytes really are (whatever a server's Content-Type or
a file name said) and refuses anything but a JPEG, PNG, WebP or GIF within the byte
and pixel limits. The pixel count is read from the header before anything is decoded,
so a small file that would expand to gigabytes (a decompression bomb) never is.

`store(data)` keeps one copy per content: the SHA-256 of the bytes names the folder,
and bytes already stored are not rendered again. Each rendition is a still (the first
frame of an animation), turned upright from its EXIF orientation, at each width of
WIDTHS below the original's (never enlarged), as WebP and as a fallback JPEG (PNG when
the picture has transparency). Files are written through the media storage
(`default_storage`): local files by default, any Django storage in production.
"""

import hashlib
import io
import warnings
from dataclasses import dataclass

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from PIL import Image, ImageOps

from ..models import StoredImage

# The widths pages ask for (`sizes` in the templates picks among them): byline and
# coverage thumbnails (100, 200 at 2x), cards (400, 800), the featured card and the
# article page (800, 1200). A smaller original gets its own width as the largest.
WIDTHS = (100, 200, 400, 800, 1200)

# Pillow's format name -> the original's extension. Anything else is refused.
FORMATS = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp", "GIF": "gif"}
# What Pillow raises for bytes it cannot read: UnidentifiedImageError is an OSError,
# and some damaged files surface as SyntaxError, ValueError or EOFError.
UNREADABLE = (OSError, SyntaxError, ValueError, EOFError)

CONTENT_TYPES = {"webp": "image/webp", "jpg": "image/jpeg", "png": "image/png"}


class ImageRejected(Exception):
    """The bytes are not an image we serve; the message says why in one line."""


@dataclass(frozen=True)
class Original:
    format: str
    width: int
    height: int


def max_pixels() -> int:
    return settings.NEWSROOM_IMAGE_MAX_PIXELS


def check_format_and_size(kind, width, height, *, limit=None):
    """Raise ImageRejected unless `kind` is a format we serve and width x height is
    within the pixel limit (the uploads' check says the same in its own words)."""
    if kind not in FORMATS:
        raise ImageRejected(f"a {kind or 'unknown'} image, not JPEG, PNG, WebP or GIF")
    limit = max_pixels() if limit is None else limit
    if width * height > limit:
        raise ImageRejected(
            f"{width:,}×{height:,} pixels, over the limit of {limit:,} (a decompression bomb?)"
        )


def inspect(data: bytes) -> Original:
    """What `data` really is; raises ImageRejected for anything we do not serve."""
    if len(data) > settings.NEWSROOM_IMAGE_MAX_BYTES:
        raise ImageRejected(f"{len(data):,} bytes, over the limit")
    try:
        with _opened(data) as image:  # the header only
            check_format_and_size(image.format, *image.size)
            original = Original(image.format, *image.size)
            image.verify()  # walks the file's structure without decoding the pixels
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        raise ImageRejected(f"far too many pixels to open safely ({error})") from error
    except ImageRejected:
        raise
    except UNREADABLE as error:
        raise ImageRejected(f"not an image (or a damaged one): {error}") from error
    return original


def _opened(data):
    with warnings.catch_warnings():
        # Pillow warns (then refuses at twice the size) past its own limit; ours is lower
        # and checked first, but a warning must never let a bomb through.
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        return Image.open(io.BytesIO(data))


def widths_for(original_width: int) -> list[int]:
    """The rendition widths of an original `original_width` pixels wide."""
    widths = [width for width in WIDTHS if width < original_width]
    top = min(original_width, WIDTHS[-1])
    if top not in widths:
        widths.append(top)
    return widths


def folder(sha256: str) -> str:
    return f"images/{sha256[:2]}/{sha256}/"


def rendition_name(sha256: str, width: int, extension: str) -> str:
    return f"{folder(sha256)}{width}.{extension}"


def store(data: bytes) -> StoredImage:
    """The StoredImage of `data`: the existing one for bytes seen before, else a new one
    with its original and renditions written. Raises ImageRejected."""
    digest = hashlib.sha256(data).hexdigest()
    existing = StoredImage.objects.filter(sha256=digest).first()
    if existing is not None:
        return existing
    original = inspect(data)
    extension = FORMATS[original.format]
    original_name = _save(f"{folder(digest)}original.{extension}", data)
    fallback, served = _write_renditions(digest, data)
    try:
        with transaction.atomic():
            return StoredImage.objects.create(
                sha256=digest,
                format=original.format,
                width=original.width,
                height=original.height,
                bytes=len(data),
                original_name=original_name,
                fallback=fallback,
                widths=sorted({int(name.split(".")[0]) for name in served}),
                served_bytes=served,
            )
    except IntegrityError:  # another worker stored the same bytes meanwhile
        return StoredImage.objects.get(sha256=digest)


def _write_renditions(digest, data):
    """Write every rendition of `data`; returns (fallback extension, {file: bytes})."""
    with _opened(data) as image:
        if image.format == "JPEG":  # let the decoder scale down a large photo (much faster)
            image.draft(None, (WIDTHS[-1], max(1, WIDTHS[-1] * image.height // image.width)))
        image.seek(0)  # an animation's first frame: renditions are stills
        still = ImageOps.exif_transpose(image.copy())
    has_alpha = still.mode in ("RGBA", "LA", "PA") or (
        still.mode == "P" and "transparency" in still.info
    )
    still = still.convert("RGBA" if has_alpha else "RGB")
    fallback = "png" if has_alpha else "jpg"
    served = {}
    source = still
    # Largest first, each made from the one before (a third of the work of resizing the
    # original every time, and as sharp: every step shrinks by 1.5 or more).
    for width in reversed(widths_for(still.width)):
        height = max(1, round(still.height * width / still.width))
        resized = source if width == source.width else source.resize((width, height), Image.LANCZOS)
        source = resized
        for extension in ("webp", fallback):
            encoded = encode(resized, extension)
            _save(rendition_name(digest, width, extension), encoded)
            served[f"{width}.{extension}"] = len(encoded)
    return fallback, served


def encode(image, extension) -> bytes:
    out = io.BytesIO()
    if extension == "webp":
        image.save(out, "WEBP", quality=78, method=3)
    elif extension == "jpg":
        image.save(out, "JPEG", quality=80, optimize=True, progressive=True)
    else:
        image.save(out, "PNG", optimize=True)
    return out.getvalue()


def _save(name, data) -> str:
    """Write `data` as `name` in the media storage (kept if already there: the name is
    the content's hash, so a file of that name holds these bytes)."""
    if default_storage.exists(name):
        return name
    saved = default_storage.save(name, ContentFile(data))
    if saved != name:  # another worker wrote the same name meanwhile: keep theirs
        default_storage.delete(saved)
        if not default_storage.exists(name):
            raise OSError(f"the media storage saved {name} as {saved}")
    return name
