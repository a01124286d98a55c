"""The declarative schema (articles/ingest/schema.py) against the models it fills, and
the values snapshot it drives on both sides of the three-way merge."""

import pytest
from django.db import models

from articles.ingest import itemfile, schema
from articles.ingest.snapshot import changed_since_import, item_of, values_of
from articles.models import (
    IMAGE_DATA_FIELDS,
    Article,
    ArticleImage,
    Provider,
    RelatedCoverage,
)

from .factories import make_article, make_coverage, run_import
from .test_importer import make_item, write

# Each table of the schema and the model whose columns it fills.
TABLES = [
    (schema.ITEM, Article),
    ((schema.PROVIDER_NAME, schema.PROVIDER_DOMAIN), Provider),
    (schema.IMAGE, ArticleImage),
    (schema.COVERAGE, RelatedCoverage),
]
FIELDS = [(field, model) for fields, model in TABLES for field in fields]


@pytest.mark.parametrize(
    ("field", "model"), FIELDS, ids=[f"{m.__name__}.{f.column}" for f, m in FIELDS]
)
def test_every_limit_of_the_schema_is_its_columns(field, model):
    column = model._meta.get_field(field.column)
    assert field.max_length == column.max_length, "a text's limit is its column's size"
    if field.kind == schema.INT:
        # A 32-bit integer on PostgreSQL (PositiveIntegerField too): MAX_INT at most.
        assert isinstance(column, models.IntegerField)
        assert not isinstance(column, models.BigIntegerField | models.SmallIntegerField)
        assert schema.MAX_INT == 2**31 - 1
        assert field.minimum is not None and field.minimum >= (
            0 if isinstance(column, models.PositiveIntegerField) else -(2**31)
        )
    if field.kind in (schema.TEXT, schema.URL):
        assert isinstance(column, models.CharField | models.TextField)
    if field.kind == schema.DATETIME:
        assert isinstance(column, models.DateTimeField)
    if field.kind == schema.BOOL:
        assert isinstance(column, models.BooleanField)


def test_the_schema_names_every_column_an_image_or_coverage_entry_holds():
    assert tuple(f.column for f in schema.IMAGE) == IMAGE_DATA_FIELDS
    own = {
        f.attname
        for f in RelatedCoverage._meta.concrete_fields
        if not f.primary_key and f.name not in ("article", "position", "linked_article")
    }
    assert {f.column for f in schema.COVERAGE} | {"images"} == own


@pytest.mark.django_db
def test_an_imported_article_has_the_values_of_its_file(tmp_path):
    item = make_item(1, body="Some *body*.")
    write(tmp_path, item, "a.md")
    run_import(tmp_path)
    article = Article.objects.get()
    parsed = itemfile.read(tmp_path / "a.md")
    assert values_of(article) == parsed.field_values() == article.imported
    # Every plain field of the schema is in the snapshot, dates as text.
    assert {f.name for f in schema.ITEM} <= set(article.imported)
    assert article.imported["published_at"] == "2026-01-02T12:00:00Z"
    assert itemfile.write(item_of(article)) == (tmp_path / "a.md").read_text()


@pytest.mark.django_db
def test_changed_since_import_names_the_editors_fields():
    article = make_article(quality=10)
    make_coverage(article)
    assert changed_since_import(article) == []  # never imported
    article.imported = values_of(article)
    article.save()
    Article.objects.filter(pk=article.pk).set_quality(11)
    article.refresh_from_db()
    assert changed_since_import(article) == ["quality"]
    article.coverage.update(title="Retitled")
    assert changed_since_import(article) == ["quality", "coverage"]


def test_the_reader_applies_each_fields_rules():
    text = (
        '---\ntitle: "  Spaced title  "\npublishedDateTime: 2026-03-02T09:15:00+01:00\n'
        'webUrl: "https://wire.example/a"\nheat: -1\nprovider:\n  name: "  Wire  "\n'
        "  domain: wire.example\nrelated:\n"
        '  - title: " Other take "\n    webUrl: "/relative"\n'
        "    provider:\n      name: Other\n      domain: ' Other.EXAMPLE '\n"
        "images:\n  - url: https://img.example/1.jpg\n    isCached: maybe\n---\n"
    )
    item = itemfile.parse("a.md", text.encode(), base_url="https://base.example/")
    assert item.title == "Spaced title"  # strip
    assert item.provider_name == "Wire"
    assert item.published_at.isoformat() == "2026-03-02T08:15:00+00:00"  # UTC
    assert item.heat is None  # the file's "unknown"
    [entry] = item.related
    assert entry.title == " Other take "  # a coverage title is kept as written
    assert entry.url == "https://base.example/relative"  # made absolute
    assert entry.provider_domain == "other.example"  # strip, lower
    assert item.images == [] and "isCached is 'maybe'" in item.warnings[0]
