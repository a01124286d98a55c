"""Articles back to files: the inverse of the importer, through snapshot.item_of and
itemfile.write."""

from pathlib import Path

from . import itemfile
from .snapshot import item_of


def export(queryset, directory) -> int:
    """Write each article as `<slug>.md` in `directory`; returns how many were written."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    count = 0
    articles = queryset.select_related("provider").prefetch_related(
        "tagged_topics__tag", "images", "coverage"
    )
    for article in articles.iterator(chunk_size=500):
        text = itemfile.write(item_of(article))
        target = directory / f"{article.slug}.md"
        tmp = target.with_suffix(".md.tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(target)  # never leave a half-written file behind
        count += 1
    return count
