"""Uploaded lead images: check them with Pillow, and make the thumbnail once.

An upload is refused unless Pillow can read it as one of a few web formats, and
unless it stays within a file size and a pixel count. The pixel limit is read
from the header before anything is decoded, so a small file that would expand to
gigabytes of pixels (a "decompression bomb") never gets decoded.
"""

from io import BytesIO
from pathlib import PurePath

from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from PIL import Image, ImageOps

# Pillow's format name -> the extension the stored file gets (the image cache's list:
# one list of the formats we serve), and what Pillow raises for a file it cannot read.
# The name an upload arrived with is not trusted: a GIF called "page.html" would be
# served as HTML.
from ..imagecache.renditions import FORMATS as EXTENSIONS
from ..imagecache.renditions import UNREADABLE

MAX_UPLOAD_BYTES = 10 * 1024 * 1024
MAX_PIXELS = 40_000_000
THUMBNAIL_WIDTH = 400

ACCEPTED = "Upload a JPEG, PNG, WebP or GIF."


def validate_image_upload(upload) -> str:
    """Raise ValidationError unless `upload` is a real, reasonably sized web image.

    Returns the extension that matches what the file really is ("jpg", "png", ...).
    """
    name = PurePath(upload.name or "the file").name
    if upload.size is not None and upload.size > MAX_UPLOAD_BYTES:
        raise ValidationError(
            "“%(name)s” is %(size).1f MB; images must be %(max)d MB or smaller.",
            code="file_too_large",
            params={"name": name, "size": upload.size / 2**20, "max": MAX_UPLOAD_BYTES // 2**20},
        )
    try:
        upload.seek(0)
        with Image.open(upload) as image:  # reads the header only
            kind = image.format
            _check_format_and_pixels(name, kind, *image.size)
            image.verify()  # walks the file's structure, still without decoding pixels
    except Image.DecompressionBombError as exc:
        raise ValidationError(
            "“%(name)s” has far too many pixels to be opened safely.",
            code="too_many_pixels",
            params={"name": name},
        ) from exc
    except UNREADABLE as exc:
        raise ValidationError(
            "“%(name)s” is not an image file (or it is damaged). " + ACCEPTED,
            code="invalid_image",
            params={"name": name},
        ) from exc
    finally:
        upload.seek(0)
    return EXTENSIONS[kind]


def _check_format_and_pixels(name, kind, width, height):
    if kind not in EXTENSIONS:
        raise ValidationError(
            "“%(name)s” is a %(kind)s image. " + ACCEPTED,
            code="image_format",
            params={"name": name, "kind": kind},
        )
    if width * height > MAX_PIXELS:
        raise ValidationError(
            "“%(name)s” is %(width)d×%(height)d pixels; images may have at most "
            "%(max)d megapixels.",
            code="too_many_pixels",
            params={"name": name, "width": width, "height": height, "max": MAX_PIXELS // 10**6},
        )


def make_thumbnail(upload) -> ContentFile:
    """A JPEG at most THUMBNAIL_WIDTH pixels wide (never enlarged), for lists and cards."""
    upload.seek(0)
    with Image.open(upload) as image:
        image = ImageOps.exif_transpose(image)  # phone photos carry their rotation in EXIF
        if image.width > THUMBNAIL_WIDTH:
            height = max(1, round(image.height * THUMBNAIL_WIDTH / image.width))
            image = image.resize((THUMBNAIL_WIDTH, height), Image.Resampling.LANCZOS)
        if image.mode != "RGB":
            # JPEG has no transparency: lay transparent images on white, not black.
            image = image.convert("RGBA")
            background = Image.new("RGB", image.size, "white")
            background.paste(image, mask=image.getchannel("A"))
            image = background
        out = BytesIO()
        image.save(out, "JPEG", quality=85, optimize=True)
    upload.seek(0)
    stem = PurePath(upload.name or "image").stem or "image"
    return ContentFile(out.getvalue(), name=f"{stem}-thumb.jpg")


def refresh_lead_thumbnail(article):
    """Make (or drop) the thumbnail after the lead image changed; the caller saves."""
    if article.lead_thumbnail:
        article.lead_thumbnail.delete(save=False)
    if article.lead_image:
        thumbnail = make_thumbnail(article.lead_image)
        article.lead_thumbnail.save(thumbnail.name, thumbnail, save=False)
