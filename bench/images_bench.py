"""Benchmark the image cache's renditions: how fast, and how many bytes they save.

    .venv/bin/python bench/images_bench.py              # the demo pictures (fixtures/images)
    .venv/bin/python bench/images_bench.py --photos 20  # plus 20 photo-sized originals

What it does, in a fresh SQLite database and media folder (both temporary):
1. the baseline, measured in the same run: decoding every original once with Pillow
   (`Image.open(...).load()`), the least any rendition costs;
2. `renditions.store()` on every original (check, write the original, every width as
   WebP and JPEG/PNG): images/s, renditions/s, and the time as a multiple of the
   baseline;
   Times are this process's CPU seconds (best of --repeat): the machine is shared, and
   the work is all in this process (Pillow, SQLite, the media folder);
3. bytes: the originals against what a browser downloads at 1x for the slot each kind
   of image fills on the pages (`sizes` in templates/jinja2/articles/macros.html):
   a card's picture (the 400 px WebP), the article page's (800), a coverage
   thumbnail (100) and a logo (the smallest rendition, as byline logos are 20 px).
`--photos N` adds N generated photo-like originals of 1600 x 900 (JPEG, quality 90,
the size of the corpus's typical lead image), treated as lead images.
"""

import argparse
import io
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SLOTS = {  # kind -> (slot, the rendition width a browser picks at 1x)
    "lead": [("card", 400), ("article page", 800)],
    "coverage": [("coverage thumbnail", 100)],
    "logo": [("logo", 100)],
}


def setup(folder):
    os.environ.update(
        DATABASE_URL=f"sqlite:///{folder}/bench.sqlite3",
        DJANGO_MEDIA_ROOT=str(folder / "media"),
        DJANGO_DEBUG="1",
        DJANGO_LOG_LEVEL="WARNING",
        DJANGO_SETTINGS_MODULE="newsroom.settings",
    )
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, check=True)
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def demo_originals():
    found = []
    for path in sorted((ROOT / "fixtures" / "images").rglob("*.*")):
        top = path.relative_to(ROOT / "fixtures" / "images").parts[0]
        kind = {"providers": "logo", "news": "lead", "related": "coverage"}.get(top)
        if kind:
            found.append((kind, path.read_bytes()))
    return found


def photo_originals(count, seed=16):
    from PIL import Image, ImageDraw, ImageFilter

    rng = random.Random(seed)
    originals = []
    for _ in range(count):
        image = Image.effect_noise((1600, 900), rng.uniform(20, 60)).convert("RGB")
        draw = ImageDraw.Draw(image)
        for _ in range(40):
            x, y = rng.randrange(1600), rng.randrange(900)
            r = rng.randrange(20, 200)
            colour = tuple(rng.randrange(256) for _ in range(3))
            draw.ellipse([x - r, y - r, x + r, y + r], fill=colour)
        image = image.filter(ImageFilter.GaussianBlur(2))
        out = io.BytesIO()
        image.save(out, "JPEG", quality=90)
        originals.append(("lead", out.getvalue()))
    return originals


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--photos", type=int, default=0, help="photo-sized originals to add")
    parser.add_argument("--repeat", type=int, default=3, help="runs; the best is reported")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as temp:
        setup(Path(temp))
        from django.conf import settings
        from PIL import Image

        from articles.imagecache import renditions
        from articles.models import StoredImage

        sets = [("demo pictures (fixtures/images)", demo_originals())]
        if args.photos:
            sets.append(
                (f"{args.photos} photo-like originals, 1600x900", photo_originals(args.photos))
            )
        for title, originals in sets:
            decode = store = None
            for _ in range(args.repeat):
                StoredImage.objects.all().delete()
                shutil.rmtree(settings.MEDIA_ROOT, ignore_errors=True)  # a cold start
                started = time.process_time()
                for _kind, data in originals:
                    with Image.open(io.BytesIO(data)) as image:
                        image.load()
                elapsed = time.process_time() - started
                decode = min(decode or elapsed, elapsed)
                started = time.process_time()
                stored = [(kind, renditions.store(data)) for kind, data in originals]
                elapsed = time.process_time() - started
                store = min(store or elapsed, elapsed)
            files = sum(len(picture.served_bytes) for _, picture in stored)
            report(title, originals, stored, decode, store, files)


def report(title, originals, stored, decode, store, files):
    print(
        f"\n### {title}: {len(originals)} originals, {sum(len(d) for _, d in originals):,} bytes\n"
    )
    print("| step | CPU seconds | images/s | renditions/s | vs decode only |")
    print("|---|---:|---:|---:|---:|")
    print(
        f"| decode every original (baseline) | {decode:.3f} | {len(originals) / decode:.0f} | | 1.00x |"
    )
    print(
        f"| renditions.store() (check, original, {files} renditions) | {store:.3f} "
        f"| {len(originals) / store:.1f} | {files / store:.0f} | {store / decode:.1f}x the time |"
    )
    print("\n| slot | images | original bytes | served bytes (WebP at 1x) | saved |")
    print("|---|---:|---:|---:|---:|")
    for kind, slots in SLOTS.items():
        chosen = [
            (data, picture)
            for (k, data), (_, picture) in zip(originals, stored, strict=True)
            if k == kind
        ]
        if not chosen:
            continue
        original = sum(len(data) for data, _ in chosen)
        for slot, width in slots:
            served = sum(_served(picture, width) for _, picture in chosen)
            print(
                f"| {slot} ({width} px) | {len(chosen)} | {original:,} | {served:,} "
                f"| {1 - served / original:.0%} |"
            )


def _served(picture, width):
    """The WebP rendition a browser picks for a slot `width` pixels wide at 1x: the
    smallest at least that wide, else the largest there is."""
    wide_enough = [w for w in picture.widths if w >= width]
    chosen = min(wide_enough) if wide_enough else max(picture.widths)
    return picture.served_bytes[f"{chosen}.webp"]


if __name__ == "__main__":
    main()
