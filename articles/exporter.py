"""Articles back to files: the inverse of the importer, through itemfile.write."""

from pathlib import Path

from . import itemfile
from .models import Article


def item_for(article: Article) -> itemfile.Item:
    return itemfile.item_from_values(
        article.current_values(),
        path=article.source_path,
        provider_name=article.provider.name,
        provider_logos=article.provider.logos,
    )


def export(queryset, directory) -> int:
    """Write each article as `<slug>.md` in `directory`; returns how many were written."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    count = 0
    articles = queryset.select_related("provider").prefetch_related(
        "tagged_topics__tag", "images", "coverage"
    )
    for article in articles.iterator(chunk_size=500):
        text = itemfile.write(item_for(article))
        target = directory / f"{article.slug}.md"
        tmp = target.with_suffix(".md.tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(target)  # never leave a half-written file behind
        count += 1
    return count
