"""Lead image uploads: Pillow checks, limits, and the thumbnail made once on save."""

import struct
import zlib
from io import BytesIO

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from articles.admin import images
from articles.models import Article
from tests.admin_support import change_url, changelist_url, form_data, make_staff
from tests.factories import make_article

pytestmark = pytest.mark.django_db


def image_bytes(size=(1200, 800), fmt="PNG", mode="RGBA"):
    out = BytesIO()
    Image.new(mode, size, (200, 30, 30, 128) if mode == "RGBA" else "red").save(out, fmt)
    return out.getvalue()


def png_header_only(width, height):
    """A PNG that claims huge dimensions but holds no pixels: a decompression-bomb shape."""

    def chunk(kind, data):
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IEND", b"")


def upload(client, article, name, content):
    data = form_data(client.get(change_url(article)), "article_form")
    data["lead_image"] = SimpleUploadedFile(name, content)
    return client.post(change_url(article), data)


def test_text_file_renamed_jpg_is_refused(editor, client):
    article = make_article()
    response = upload(client, article, "notes.jpg", b"Just some text, not a picture.\n" * 20)
    assert response.status_code == 200
    assert "“notes.jpg” is not an image file (or it is damaged)" in response.content.decode()
    article.refresh_from_db()
    assert not article.lead_image and not article.lead_thumbnail


def test_real_png_is_stored_and_thumbnail_made(editor, client):
    article = make_article()
    response = upload(client, article, "chip.png", image_bytes((1200, 800)))
    assert response.status_code == 302
    article.refresh_from_db()
    assert article.lead_image.name.endswith(".png")
    with Image.open(article.lead_thumbnail) as thumb:
        assert (thumb.format, thumb.size) == ("JPEG", (400, 267))

    # The list shows our thumbnail rather than the imported image.
    html = client.get(changelist_url()).content.decode()
    assert f'src="{article.lead_thumbnail.url}"' in html


def test_small_jpeg_is_not_enlarged(editor, client):
    article = make_article()
    response = upload(client, article, "small.jpeg", image_bytes((300, 200), "JPEG", "RGB"))
    assert response.status_code == 302
    article.refresh_from_db()
    with Image.open(article.lead_thumbnail) as thumb:
        assert thumb.size == (300, 200)


def test_stored_name_follows_the_content_not_the_upload_name(editor, client):
    article = make_article()
    response = upload(client, article, "page.html", image_bytes((40, 40), "GIF", "RGB"))
    assert response.status_code == 302
    article.refresh_from_db()
    assert article.lead_image.name.endswith("page.gif")


def test_replacing_and_clearing_the_image_updates_the_thumbnail(editor, client):
    article = make_article()
    upload(client, article, "first.png", image_bytes((800, 400)))
    article.refresh_from_db()
    first_thumb = article.lead_thumbnail.path

    upload(client, article, "second.webp", image_bytes((800, 800), "WEBP", "RGB"))
    article.refresh_from_db()
    with Image.open(article.lead_thumbnail) as thumb:
        assert thumb.size == (400, 400)
    assert not Article.lead_thumbnail.field.storage.exists(first_thumb)

    data = form_data(client.get(change_url(article)), "article_form")
    data["lead_image-clear"] = "on"
    assert client.post(change_url(article), data).status_code == 302
    article.refresh_from_db()
    assert not article.lead_image and not article.lead_thumbnail


def test_contributor_may_upload(client):
    client.force_login(make_staff("connie", group="Contributors"))
    article = make_article()
    assert upload(client, article, "ok.png", image_bytes((10, 10))).status_code == 302


# The checks themselves -----------------------------------------------------------------


def check(name, content):
    return images.validate_image_upload(SimpleUploadedFile(name, content))


@pytest.mark.parametrize(
    ("fmt", "mode", "extension"),
    [("PNG", "RGBA", "png"), ("JPEG", "RGB", "jpg"), ("WEBP", "RGB", "webp"), ("GIF", "P", "gif")],
)
def test_web_formats_pass(fmt, mode, extension):
    assert check(f"x.{extension}", image_bytes((20, 10), fmt, mode)) == extension


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (image_bytes((20, 10), "BMP", "RGB"), "“x.jpg” is a BMP image. Upload a JPEG"),
        (image_bytes((20, 10), "TIFF", "RGB"), "“x.jpg” is a TIFF image. Upload a JPEG"),
        (image_bytes((300, 300))[:200], "“x.jpg” is not an image file (or it is damaged)"),
        (b"<svg xmlns='http://www.w3.org/2000/svg'/>", "“x.jpg” is not an image file"),
        (png_header_only(10_000, 5_000), "“x.jpg” is 10000×5000 pixels; images may have at most"),
        (png_header_only(100_000, 100_000), "“x.jpg” has far too many pixels"),
    ],
)
def test_unsuitable_files_are_refused(content, message):
    with pytest.raises(ValidationError) as refused:
        check("x.jpg", content)
    assert refused.value.messages[0].startswith(message)


def test_file_size_limit(monkeypatch):
    monkeypatch.setattr(images, "MAX_UPLOAD_BYTES", 1024 * 1024)
    with pytest.raises(ValidationError) as refused:
        check("big.png", image_bytes((10, 10)) + b"\0" * 1024 * 1024)
    assert "images must be 1 MB or smaller" in refused.value.messages[0]
