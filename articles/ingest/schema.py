"""The fields of a news item, an image and a coverage entry, declared once.

Each `Field` says what a value is called in the file (`key`), on the parsed record and
in the values snapshot the three-way merge compares (`name`), and in the model
(`column`), what kind of value it is, whether a file must have it, and its limits
(the model's column sizes; tests/test_schema.py holds them equal). From these tables:

- itemfile reads and validates the fields (`_read`) and writes them (`_written`),
  and its records (Item, Image, Coverage) get one attribute per field (`with_fields`);
- the values snapshot of a parsed item (`Item.field_values()`) and of an article
  (`snapshot.values_of()`) take one entry per field (`snapshot()`: dates as text);
- the importer turns snapshot values into columns and child rows (`columns()`).

What is not a plain field (an item's provider, topics, status and lists; a coverage
entry's images) is handled by name where it is used. Pure Python: no Django.

To fill another column from a file's key, change that field's `column`: say
`Field("heat", "heat", INT, minimum=-1, unknown=-1, column="source_heat")`.
"""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass

from ..timestamps import iso_datetime, parse_timestamp

# Kinds of value.
TEXT = "text"
URL = "url"  # an http(s) URL, made absolute (links.clean_url)
INT = "int"
BOOL = "bool"
DATETIME = "datetime"  # aware, UTC; text in the file and in the snapshot

# Column sizes of the models (the database would refuse longer values).
MAX_URL_LENGTH = 2000
MAX_TITLE_LENGTH = 500
MAX_INT = 2**31 - 1  # the integer columns (32 bits on PostgreSQL)


@dataclass(frozen=True)
class Field:
    key: str  # in the file; "provider.name" is `name` under `provider:`; "" is not a key
    name: str  # on the parsed record and in the values snapshot
    kind: str
    required: bool = False
    max_length: int | None = None  # text: characters (URLs: after cleaning)
    minimum: int | None = None  # whole numbers; the maximum is MAX_INT
    unknown: int | None = None  # the number a file writes for "unknown" (stored as empty)
    strip: bool = False  # surrounding blanks dropped
    lower: bool = False  # lower-cased (after strip)
    quoted: bool = True  # text written "double-quoted"; False: plain where YAML allows
    column: str = ""  # the model's attribute; the name when empty

    def __post_init__(self):
        if not self.column:
            object.__setattr__(self, "column", self.name)


def _url(key, name, **options):
    return Field(key, name, URL, max_length=MAX_URL_LENGTH, **options)


# An item's fields, in the order the files write them. The scores go together with
# `published:` (itemfile.write); the body is the Markdown after the front matter.
ITEM_HEAD = (
    Field("category", "category", TEXT, max_length=100, quoted=False),
    Field("title", "title", TEXT, required=True, max_length=MAX_TITLE_LENGTH, strip=True),
    Field("excerpt", "excerpt", TEXT),
    Field("publishedDateTime", "published_at", DATETIME, required=True),
    _url("originalUrl", "original_url"),
    _url("webUrl", "web_url", required=True),
    _url("ampWebUrl", "amp_web_url"),
    _url("cdnAmpWebUrl", "cdn_amp_web_url"),
    Field("type", "type", TEXT, max_length=50, quoted=False),
)
SCORES = (
    Field("quality", "quality", INT, minimum=0),
    Field("heat", "heat", INT, minimum=-1, unknown=-1, column="source_heat"),
)
ITEM_TAIL = (Field("secured", "secured", TEXT),)
BODY = Field("", "body", TEXT)
ITEM = (*ITEM_HEAD, *SCORES, *ITEM_TAIL, BODY)
# The item's plain fields by snapshot name (status, provider and the lists are set apart).
ITEM_BY_NAME = {field.name: field for field in ITEM}

# The item's outlet (a Provider row). Read by itemfile with its own rules (the domain
# may come from the webUrl); declared here for its limits.
PROVIDER_NAME = Field(
    "provider.name", "provider_name", TEXT, max_length=200, strip=True, column="name"
)
PROVIDER_DOMAIN = Field("provider.domain", "provider_domain", TEXT, max_length=253, column="domain")

IMAGE = (
    _url("url", "url", required=True),
    Field("width", "width", INT, minimum=0),
    Field("height", "height", INT, minimum=0),
    Field("isCached", "is_cached", BOOL),
    Field("title", "title", TEXT, max_length=MAX_TITLE_LENGTH),
)
# What a provider's logo keeps in the file: no cache flag and no title, as in the real files.
LOGO = IMAGE[:3]

# An entry of `related:` (plus its `images:`, a list of IMAGE).
COVERAGE = (
    Field("title", "title", TEXT, required=True, max_length=MAX_TITLE_LENGTH),
    Field("excerpt", "excerpt", TEXT),
    Field("publishedDateTime", "published_at", DATETIME),
    _url("webUrl", "url", required=True),
    _url("ampWebUrl", "amp_web_url"),
    _url("cdnAmpWebUrl", "cdn_amp_web_url"),
    Field("type", "type", TEXT, max_length=50, quoted=False),
    Field("provider.name", "provider_name", TEXT, max_length=200, quoted=False),
    Field(
        "provider.domain",
        "provider_domain",
        TEXT,
        max_length=253,
        strip=True,
        lower=True,
        quoted=False,
    ),  # fmt: skip
    Field("quality", "quality", INT, minimum=0),
)


def snapshot(source, fields, *, attribute="name") -> dict:
    """{field name: value} of a record (attribute="name") or a model row ("column")."""
    values = {}
    for name, source_name, is_date, _ in _plan(fields, attribute):
        value = getattr(source, source_name)
        values[name] = iso_datetime(value) if is_date else value
    return values


def columns(values: dict, fields) -> dict:
    """{column: value} of snapshot `values`, as the model takes them (Field.to_column)."""
    row = {}
    for name, column, is_date, empty in _plan(fields, "column"):
        value = values.get(name)
        if is_date:
            value = parse_timestamp(value) if value else None
        elif value is None:
            value = empty
        row[column] = value
    return row


@functools.cache
def _plan(fields, attribute) -> tuple[tuple[str, str, bool, object], ...]:
    """(name, attribute or column, is a date, empty value) of each field: the import's hot
    path (a few dozen values per file) then costs no method call per field."""
    return tuple(
        (f.name, getattr(f, attribute), f.kind == DATETIME, "" if f.kind in (TEXT, URL) else None)
        for f in fields
    )


_TYPES = {TEXT: str, URL: str, INT: int | None, BOOL: bool | None, DATETIME: dt.datetime | None}


def with_fields(fields):
    """Class decorator, applied before @dataclass: one attribute per field, typed by its
    kind; a field a file may leave out defaults to empty ("" or None)."""

    def add(cls):
        annotations = dict(cls.__dict__.get("__annotations__", {}))
        for field in fields:
            annotations[field.name] = _TYPES[field.kind]
            if not field.required:
                setattr(cls, field.name, "" if field.kind in (TEXT, URL) else None)
        cls.__annotations__ = annotations
        return cls

    return add
