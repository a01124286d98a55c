"""Draw the demo content's pictures: `manage.py demo_images [--check]`.

The demo items (fixtures/news/) name their images on a made-up host,
https://images.example.org/. This command draws one small picture for each image the
pages show (lead images, outlets' logos, coverage thumbnails) with Pillow, seeded by
its URL, into fixtures/images/ under the URL's path. `make run` maps that host to the
folder (NEWSROOM_IMAGE_SOURCES), so the demo site's images go through the image cache
like any other, and no request leaves the machine.

The pictures are abstract: a two-colour gradient with a few shapes for a story, the
outlet's initials for a logo. Drawn at a modest size in the declared aspect ratio, as
JPEG (logos PNG), a few KB each. `--check` only reports missing files (a test runs it).
"""

import hashlib
import math
import random
from pathlib import Path
from urllib.parse import urlsplit

import yaml
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from ...imagecache.pictures import initials

DEMO_HOST = "https://images.example.org/"
FIXTURES = Path(settings.BASE_DIR) / "fixtures"
FOLDER = FIXTURES / "images"
# Widths drawn: smaller than the largest rendition on purpose (a few KB each).
STORY_WIDTH, COVERAGE_WIDTH, LOGO_SIZE = 640, 400, 100

PALETTES = [
    ((27, 58, 104), (96, 165, 214)),
    ((120, 40, 30), (232, 140, 92)),
    ((28, 78, 52), (140, 200, 150)),
    ((70, 40, 100), (190, 150, 220)),
    ((110, 80, 20), (235, 200, 110)),
    ((20, 80, 84), (120, 205, 200)),
    ((100, 30, 64), (230, 150, 185)),
    ((45, 50, 62), (160, 170, 190)),
]


def demo_images():
    """{URL: (role, declared width, declared height, name)} for every image pages show."""
    found = {}
    for path in sorted((FIXTURES / "news").glob("*.md")):
        item = yaml.safe_load(path.read_text(encoding="utf-8").split("---")[1])
        provider = item.get("provider") or {}
        for logo in (provider.get("images") or [])[:1]:
            found[logo["url"]] = ("logo", 50, 50, provider.get("name") or provider.get("domain"))
        for image in (item.get("images") or [])[:1]:
            found[image["url"]] = ("story", image.get("width"), image.get("height"), "")
        for entry in item.get("related") or []:
            for image in (entry.get("images") or [])[:1]:
                size = (image.get("width"), image.get("height"))
                found.setdefault(image["url"], ("coverage", *size, ""))
    return {url: info for url, info in found.items() if url.startswith(DEMO_HOST)}


def file_for(url) -> Path:
    return FOLDER / urlsplit(url).path.lstrip("/")


class Command(BaseCommand):
    help = "Draw the demo content's pictures into fixtures/images/ (or --check they exist)."

    def add_arguments(self, parser):
        parser.add_argument("--check", action="store_true", help="Only report missing files.")

    def handle(self, *args, check=False, **options):
        images = demo_images()
        missing = [url for url in images if not file_for(url).is_file()]
        if check:
            if missing:
                raise CommandError(f"{len(missing)} demo images missing, e.g. {missing[0]}")
            self.stdout.write(f"{len(images)} demo images present.")
            return
        total = 0
        for url, (role, width, height, name) in sorted(images.items()):
            target = file_for(url)
            target.parent.mkdir(parents=True, exist_ok=True)
            data = draw(url, role, width, height, name)
            target.write_bytes(data)
            total += len(data)
        self.stdout.write(
            f"{len(images)} demo images drawn in {FOLDER.relative_to(settings.BASE_DIR)}/, "
            f"{total / 1024:.0f} KB in all."
        )


def draw(url, role, width, height, name) -> bytes:
    seed = int.from_bytes(hashlib.sha256(url.encode()).digest()[:8], "big")
    rng = random.Random(seed)
    if role == "logo":
        return _logo(rng, name)
    target = STORY_WIDTH if role == "story" else COVERAGE_WIDTH
    ratio = (height / width) if width and height else 9 / 16
    return _story(rng, target, max(1, round(target * ratio)))


def _story(rng, width, height) -> bytes:
    dark, light = rng.choice(PALETTES)
    scale = 2  # drawn twice as large, then reduced: smooth edges
    w, h = width * scale, height * scale
    gradient = Image.linear_gradient("L").rotate(rng.choice([0, 45, 90, 135]), expand=True)
    gradient = gradient.resize((w, h))
    image = Image.composite(
        Image.new("RGB", (w, h), light), Image.new("RGB", (w, h), dark), gradient
    )
    draw = ImageDraw.Draw(image, "RGBA")
    motif = rng.choice(["nodes", "bars", "rings"])
    if motif == "nodes":  # a small network: points and the lines between neighbours
        points = [(rng.uniform(0.08, 0.92) * w, rng.uniform(0.12, 0.88) * h) for _ in range(9)]
        for a, b in zip(points, points[1:] + points[:1], strict=True):
            draw.line([a, b], fill=(255, 255, 255, 110), width=3 * scale)
        for x, y in points:
            r = rng.uniform(0.015, 0.04) * w
            draw.ellipse([x - r, y - r, x + r, y + r], fill=(255, 255, 255, 200))
    elif motif == "bars":  # a chart
        count = rng.randint(5, 9)
        step = w * 0.7 / count
        for n in range(count):
            top = h * (0.85 - rng.uniform(0.15, 0.6))
            x = w * 0.15 + n * step
            draw.rectangle([x, top, x + step * 0.6, h * 0.85], fill=(255, 255, 255, 150))
    else:  # concentric rings around a point
        cx, cy = rng.uniform(0.3, 0.7) * w, rng.uniform(0.3, 0.7) * h
        for n in range(6, 0, -1):
            r = n * min(w, h) * 0.09
            draw.ellipse(
                [cx - r, cy - r, cx + r, cy + r],
                outline=(255, 255, 255, 60 + 25 * n),
                width=2 * scale,
            )
    angle = rng.uniform(0, math.tau)
    blob = (w * (0.5 + 0.35 * math.cos(angle)), h * (0.5 + 0.35 * math.sin(angle)))
    r = min(w, h) * 0.25
    draw.ellipse([blob[0] - r, blob[1] - r, blob[0] + r, blob[1] + r], fill=(*light, 70))
    image = image.filter(ImageFilter.GaussianBlur(1)).resize((width, height), Image.LANCZOS)
    return _encoded(image, "JPEG", quality=55, optimize=True, progressive=True)


def _logo(rng, name) -> bytes:
    dark, light = rng.choice(PALETTES)
    size = LOGO_SIZE * 2
    image = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    draw.rounded_rectangle([0, 0, size - 1, size - 1], radius=size // 5, fill=dark)
    font = ImageFont.load_default(size=size * 0.42)
    draw.text((size / 2, size / 2), initials(name), font=font, fill=light, anchor="mm")
    image = image.resize((LOGO_SIZE, LOGO_SIZE), Image.LANCZOS)
    return _encoded(image, "PNG", optimize=True)


def _encoded(image, kind, **options) -> bytes:
    from io import BytesIO

    out = BytesIO()
    image.save(out, kind, **options)
    return out.getvalue()
