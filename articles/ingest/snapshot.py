"""An article as the file format sees it, both ways: its values snapshot and its Item.

`values_of(article)` is what `itemfile.Item.field_values()` says of a parsed file, taken
from the article's columns and rows: the three-way merge compares the two (with what
the last import wrote, `Article.imported`), the admin marks the fields that differ
(`changed_since_import`). `item_of(article)` is the Item that `itemfile.write` exports.
Both are driven by schema.py, so a field added there is compared and exported too.

Reads only attributes and prefetched relations (tagged_topics__tag, images, coverage,
provider): no query of its own when those are prefetched, and no model import, so the
models know nothing of the file format.
"""

from . import schema
from .itemfile import Coverage, Image, Item


def values_of(article) -> dict:
    """The article's values, as `Item.field_values()` would describe its file."""
    return {
        **schema.snapshot(article, schema.ITEM, attribute="column"),
        "status": article.status,
        "provider": article.provider.domain,
        "topics": [link.tag.name for link in article.tagged_topics.all()],
        "images": [
            schema.snapshot(image, schema.IMAGE, attribute="column")
            for image in article.images.all()
        ],
        "coverage": [
            {
                **schema.snapshot(entry, schema.COVERAGE, attribute="column"),
                "images": list(entry.images),
            }
            for entry in article.coverage.all()
        ],
    }


def changed_since_import(article, held=None) -> list[str]:
    """Names of the fields an editor changed since the last import wrote them; `held`
    ({field: value}): the fields an editor reverted, which count while they keep that
    value (merge.py)."""
    if not article.imported:
        return []
    current = values_of(article)
    held = held or {}
    return [
        name
        for name, value in article.imported.items()
        if current.get(name) != value or (name in held and held[name] == current.get(name))
    ]


def item_of(article) -> Item:
    """The article as the Item its file would hold (what the exporter writes)."""
    status = article.status
    has_scores = article.quality is not None or article.heat is not None
    return Item(
        **_record_values(article, schema.ITEM, column=True),
        path=article.source_path,
        provider_domain=article.provider.domain,
        provider_name=article.provider.name,
        provider_logos=[_image(logo) for logo in article.provider.logos or []],
        # `published:` is written with the scores, or when it is not the default.
        published=(status == "published") if (has_scores or status != "review") else None,
        status="rejected" if status == "rejected" else "",
        topics=[link.tag.name for link in article.tagged_topics.all()],
        images=[
            Image(**_record_values(row, schema.IMAGE, column=True)) for row in article.images.all()
        ],
        related=[
            Coverage(
                **_record_values(entry, schema.COVERAGE, column=True),
                images=[_image(image) for image in entry.images or []],
            )
            for entry in article.coverage.all()
        ],
    )


def _record_values(source, fields, *, column=False) -> dict:
    """{name: value} for a record's constructor: a row's columns (column=True) or a
    snapshot dict's entries; empty text is "" (a record's default), never None."""
    values = {}
    for field in fields:
        name = field.column if column else field.name
        value = getattr(source, name) if column else source.get(name)
        if value is None and field.kind in (schema.TEXT, schema.URL):
            value = ""
        values[field.name] = value
    return values


def _image(values: dict) -> Image:
    """An image of a JSON list (a provider's logos, a coverage entry's images)."""
    return Image(**_record_values(values, schema.IMAGE))
