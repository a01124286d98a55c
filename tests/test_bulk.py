"""The import's plain-row writes (articles/ingest/bulk.py): what goes in comes back."""

import datetime as dt

import pytest
from django.db import IntegrityError

from articles.ingest.bulk import insert_rows, update_rows
from articles.models import Article, ImportUpload, ImportUploadFile
from tests.admin_support import make_staff
from tests.factories import make_article, make_provider

pytestmark = pytest.mark.django_db


def test_update_rows_writes_each_kind_of_value_to_its_row_only():
    one, other = make_article("One"), make_article("Other")
    provider = make_provider(domain="new-outlet.example")
    moment = dt.datetime(2026, 5, 4, 3, 2, 1, tzinfo=dt.UTC)
    update_rows(
        Article,
        {
            one.pk: {
                "title": "One, retitled",
                "provider": provider.pk,  # a foreign key, by its id
                "import_conflicts": [{"field": "title", "ours": "a", "theirs": "b"}],
                "go_live_at": moment,
                "excerpt": "",
                "source_heat": None,
            }
        },
    )
    one.refresh_from_db()
    assert (one.title, one.provider_id, one.go_live_at, one.source_heat) == (
        "One, retitled", provider.pk, moment, None,
    )  # fmt: skip
    assert one.import_conflicts == [{"field": "title", "ours": "a", "theirs": "b"}]
    other.refresh_from_db()
    assert other.title == "Other" and other.import_conflicts != one.import_conflicts


def test_insert_rows_keeps_bytes_and_json():
    upload = ImportUpload.objects.create(uploaded_by=make_staff("uploader"), name="x.zip", total=1)
    data = bytes(range(256)) + b"\\\n\x00"  # every byte, COPY's escapes included
    insert_rows(
        ImportUploadFile,
        [{"upload": upload.pk, "position": 0, "name": "a.md", "data": data, "sha256": "0" * 64,
          "outcome": "", "detail": {"seen": "none", "list": [1, None]}}],
    )  # fmt: skip
    (row,) = ImportUploadFile.objects.filter(upload=upload)
    assert bytes(row.data) == data and row.detail == {"seen": "none", "list": [1, None]}


@pytest.mark.django_db(transaction=True)
def test_update_rows_writes_all_rows_or_none_outside_a_transaction():
    one, other = make_article("One", quality=10), make_article("Other", quality=20)
    with pytest.raises(IntegrityError):
        update_rows(Article, {one.pk: {"quality": 11}, other.pk: {"quality": -1}})
    assert list(Article.objects.order_by("pk").values_list("quality", flat=True)) == [10, 20]
