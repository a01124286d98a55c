"""THE FILE FORMAT, both ways: news items and taxonomy files as Markdown + YAML front matter.

`read()` turns a file's bytes into an `Item` (a news item), a `TaxonomyEntry` (a topic or
tag file) or a `FileError` (one clear line: which file, where, what was expected).
`write()` turns an `Item` back into text with the key order and quoting of the real files.
The plain fields of an item, an image and a coverage entry (their keys, kinds, limits,
quoting) come from schema.py: `_read()` reads and checks them, `_written()` writes them,
and the records get one attribute per field; what is not a plain field (the provider,
topics, status, the lists) is read and written here by name.

Pure Python: no Django, no database, so it runs in worker processes and is tested alone.
The input format is described in shared/corpus/SCHEMA.md; the quirks it lists are handled
here and nowhere else.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import yaml

from ..links import HOST_NAME, clean_url
from ..timestamps import EARLIEST_YEAR, LATEST_YEAR, TIMESTAMP, iso_datetime, parse_timestamp
from . import schema
from .schema import BOOL, DATETIME, INT, MAX_INT, MAX_URL_LENGTH, TEXT, URL, with_fields

try:  # libyaml is several times faster; the pure-Python loader is the fallback.
    _BaseLoader = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - depends on how PyYAML was built
    _BaseLoader = yaml.SafeLoader

MARKDOWN_SUFFIXES = {".md", ".markdown"}
YAML_SUFFIXES = {".yaml", ".yml"}
SUFFIXES = MARKDOWN_SUFFIXES | YAML_SUFFIXES
STATUSES = ("review", "published", "rejected")
# Column sizes of the taxonomy's models (the item's fields have theirs in schema.py).
MAX_TOPIC_NAME_LENGTH = 100  # taggit's name and slug columns
MAX_SLUG_LENGTH = 100
_SLUG = re.compile(r"[-a-zA-Z0-9_]+")  # what the URLs' <slug:> accepts


@dataclass(frozen=True)
class Limits:
    """What one file may hold; beyond it the file fails with one line naming the setting.

    The defaults are the settings' defaults (newsroom/settings.py, docs/deploy.md): far
    above anything the real files hold (at most 23 coverage entries, a few topics and
    images, empty bodies), low enough that no file can slow a page or the import down.
    """

    max_bytes: int = 1024 * 1024  # NEWSROOM_IMPORT_MAX_BYTES
    max_body_bytes: int = 256 * 1024  # NEWSROOM_IMPORT_MAX_BODY_BYTES
    max_topics: int = 50  # NEWSROOM_IMPORT_MAX_TOPICS
    max_images: int = 50  # NEWSROOM_IMPORT_MAX_IMAGES, per list of images
    max_coverage: int = 200  # NEWSROOM_IMPORT_MAX_COVERAGE


DEFAULT_LIMITS = Limits()

_FENCE = re.compile(r"^---[ \t]*\r?$", re.MULTILINE)


def _closing_fence(text: str, start: int):
    """The span of the first line after `start` that is exactly `---` (trailing blanks allowed)."""
    position = start - 1
    while True:
        position = text.find("\n---", position)
        if position == -1:
            return None
        match = _FENCE.match(text, position + 1)
        if match:
            return match
        position += 4


# ---------------------------------------------------------------------------
# What a file holds
# ---------------------------------------------------------------------------

# The records' plain fields come from schema.py (`with_fields`); what is not a plain
# field is declared here.


@dataclass(kw_only=True)
@with_fields(schema.IMAGE)
class Image:
    def to_dict(self) -> dict:
        return schema.snapshot(self, schema.IMAGE)


@dataclass(kw_only=True)
@with_fields(schema.COVERAGE)
class Coverage:
    """One entry of `related:`: another outlet's article on the same story."""

    images: list[Image] = dataclasses.field(default_factory=list)

    def to_dict(self) -> dict:
        return {
            **schema.snapshot(self, schema.COVERAGE),
            "images": [image.to_dict() for image in self.images],
        }


@dataclass(kw_only=True)
@with_fields(schema.ITEM)
class Item:
    """A news item, validated and normalised."""

    path: str
    provider_domain: str
    provider_name: str = ""
    provider_logos: list[Image] = dataclasses.field(default_factory=list)
    published: bool | None = None  # None: the key is absent
    status: str = ""  # our extension: "rejected" survives an export/import round trip
    topics: list[str] = dataclasses.field(default_factory=list)
    images: list[Image] = dataclasses.field(default_factory=list)
    related: list[Coverage] = dataclasses.field(default_factory=list)
    warnings: list[str] = dataclasses.field(default_factory=list)

    @property
    def effective_status(self) -> str:
        if self.status:
            return self.status
        return "published" if self.published else "review"

    def field_values(self) -> dict:
        """The article's imported values, JSON-ready: what the three-way merge compares
        (snapshot.values_of() says the same of an article)."""
        return {
            **schema.snapshot(self, schema.ITEM),
            "status": self.effective_status,
            "provider": self.provider_domain,
            "topics": list(self.topics),
            "images": [image.to_dict() for image in self.images],
            "coverage": [entry.to_dict() for entry in self.related],
        }


@dataclass
class TaxonomyEntry:
    """A topic (`taxonomy: topic`) or tag (`taxonomy: tag`) file."""

    path: str
    kind: str
    slug: str
    name: str
    short_name: str = ""
    parents: list[str] = dataclasses.field(default_factory=list)  # names (topics) or slugs (tags)
    description: str = ""
    keywords: list[str] = dataclasses.field(default_factory=list)
    hashtags: list[str] = dataclasses.field(default_factory=list)
    images: list[str] = dataclasses.field(default_factory=list)
    services: dict = dataclasses.field(default_factory=dict)
    data: dict = dataclasses.field(default_factory=dict)  # the file as loaded, for export
    warnings: list[str] = dataclasses.field(default_factory=list)


@dataclass
class FileError:
    """Why a file cannot be imported; `str()` is the one line shown to the user."""

    path: str
    message: str
    line: int | None = None
    column: int | None = None
    expected: str = ""

    def __str__(self) -> str:
        where = self.path
        if self.line is not None:
            where += f":{self.line}"
            if self.column is not None:
                where += f":{self.column}"
        text = f"{where}: {self.message}"
        if self.expected:
            text += f" (expected {self.expected})"
        return one_line(text)

    def to_dict(self) -> dict:
        return {"path": self.path, "line": self.line, "column": self.column, "error": str(self)}


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def one_line(text: str) -> str:
    """`text` on one line: line breaks become spaces, other control characters escapes."""
    text = re.sub(r"\s*[\r\n]+\s*", " ", text)
    return _CONTROL.sub(lambda m: f"\\x{ord(m[0]):02x}" if ord(m[0]) < 256 else " ", text)


class _Invalid(Exception):
    """Raised inside validation; becomes a FileError. Lines and columns are the file's."""

    def __init__(self, message, expected="", line=None, column=None):
        super().__init__(message)
        self.message = message
        self.expected = expected
        self.line = line
        self.column = column


# ---------------------------------------------------------------------------
# Reading
# ---------------------------------------------------------------------------
#
# The YAML is read as a stream of parser events and built into plain Python values by
# `_compose`, without PyYAML's composer and constructor. That is faster than
# `yaml.CSafeLoader` and lets every bound be checked before anything is built:
# nesting depth (no recursion, so no RecursionError however deep), aliases (refused:
# no expansion bombs), duplicate keys (refused: YAML says keys are unique, PyYAML lets
# the last one win), explicit tags (only the standard scalar ones, with values of
# their type), and numbers too long to be a column's value. Plain scalars are resolved
# the YAML 1.2 way (only true/false are booleans, `010` is ten, `1:30` and `on` are
# text); dates stay text until `_datetime` reads them, so a date in a text field keeps
# its spelling. Every mapping remembers the line of each key, for error messages.

_STR = "tag:yaml.org,2002:str"
_SEQ = "tag:yaml.org,2002:seq"
_MAP = "tag:yaml.org,2002:map"
_NON_SPECIFIC = "!"
# Plain scalars that may be something other than text start with one of these.
_MAYBE_TYPED = frozenset("~nNtTfF0123456789+-.")
_NULLS = frozenset(("", "~", "null", "Null", "NULL"))
_BOOLS = {"true": True, "True": True, "TRUE": True, "false": False, "False": False, "FALSE": False}
_INT = re.compile(r"[-+]?[0-9]+")
_FLOAT = re.compile(r"[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?")
_FLOAT_WORDS = {
    f"{sign}.{word}": float(f"{sign}inf") if word.lower() == "inf" else float("nan")
    for sign in ("", "+", "-")
    for word in ("inf", "Inf", "INF", "nan", "NaN", "NAN")
    if not (sign and word.lower() == "nan")
}
# Longer runs of digits cannot be a column's value (and Python refuses to convert
# numbers of thousands of digits): refused as they are read.
MAX_NUMBER_DIGITS = 18
# The real files nest five levels deep (related -> images -> an image); taxonomy files
# a little more.
MAX_DEPTH = 32


class _Mapping(dict):
    """A YAML mapping that remembers where each key stood: `marks[key] = (line, column)`."""

    __slots__ = ("marks",)


def _resolve_plain(value: str, mark, offset):
    """An unquoted scalar's value under YAML 1.2's core schema (dates stay text)."""
    if value and value[0] not in _MAYBE_TYPED:
        return value
    if value in _NULLS:
        return None
    if value in _BOOLS:
        return _BOOLS[value]
    if _INT.fullmatch(value):
        if len(value.lstrip("+-")) > MAX_NUMBER_DIGITS:
            raise _Invalid(
                f"the number {_short(value, 30)} has more than {MAX_NUMBER_DIGITS} digits",
                expected="a number that fits a database column",
                **_mark(mark, offset),
            )
        return int(value)
    if _FLOAT.fullmatch(value):
        return float(value)
    return _FLOAT_WORDS.get(value, value)


def _is_null(value):
    return value in _NULLS


def _is_bool(value):
    return value in _BOOLS


def _is_int(value):
    return bool(_INT.fullmatch(value))


def _is_float(value):
    return bool(_FLOAT.fullmatch(value)) or value in _FLOAT_WORDS


def _is_timestamp(value):
    return bool(TIMESTAMP.fullmatch(value))


# Explicit standard tags (`!!bool true`): allowed when the value is one of that type.
_TYPED_TAGS = {
    "tag:yaml.org,2002:null": ("null", _is_null),
    "tag:yaml.org,2002:bool": ("bool", _is_bool),
    "tag:yaml.org,2002:int": ("int", _is_int),
    "tag:yaml.org,2002:float": ("float", _is_float),
    "tag:yaml.org,2002:timestamp": ("timestamp", _is_timestamp),
}


def _mark(mark, offset) -> dict:
    """A parser mark as _Invalid's keyword arguments (line and column in the file)."""
    return {"line": mark.line + 1 + offset, "column": mark.column + 1} if mark else {}


def _scalar(event, offset):
    tag = event.tag
    if tag is None:
        if event.implicit[0]:
            return _resolve_plain(event.value, event.start_mark, offset)
        return event.value
    if tag in (_STR, _NON_SPECIFIC):
        return event.value
    typed = _TYPED_TAGS.get(tag)
    if typed is None:
        raise _tag_not_allowed(tag, event.start_mark, offset)
    name, accepts = typed
    if not accepts(event.value):
        raise _Invalid(
            f"{_short(event.value, 40)!r} is not a valid !!{name}",
            expected=f"a {name} value, or no tag",
            **_mark(event.start_mark, offset),
        )
    return _resolve_plain(event.value, event.start_mark)


def _tag_not_allowed(tag, mark, offset):
    return _Invalid(
        f"YAML tag not allowed: {_short(tag, 60)}",
        expected="plain YAML values (no !!python or other custom tags)",
        **_mark(mark, offset),
    )


_NO_KEY = object()


def _compose(loader, *, single: bool, offset: int) -> list:
    """The documents of the stream as plain values; see the comment above. `offset` is
    the number of lines before the YAML text in the file, for the marks."""
    # The hot loop of the import: names bound locally, the common events tested first.
    get_event = loader.get_event
    scalar_event, mapping_start, sequence_start = (
        yaml.ScalarEvent,
        yaml.MappingStartEvent,
        yaml.SequenceStartEvent,
    )
    mapping_end, sequence_end = yaml.MappingEndEvent, yaml.SequenceEndEvent
    documents = []
    stack = []  # one frame per open collection: [container, key waiting for its value, mark]
    root = None
    while True:
        event = get_event()
        kind = type(event)
        if kind is scalar_event:
            mark = event.start_mark
            if event.tag is None:
                value = event.value
                if event.implicit[0] and (not value or value[0] in _MAYBE_TYPED):
                    value = _resolve_plain(value, mark, offset)
            else:
                value = _scalar(event, offset)
        elif kind is mapping_start or kind is sequence_start:
            is_mapping = kind is mapping_start
            if event.tag is not None and event.tag not in (
                _NON_SPECIFIC,
                _MAP if is_mapping else _SEQ,
            ):
                raise _tag_not_allowed(event.tag, event.start_mark, offset)
            if len(stack) >= MAX_DEPTH:
                raise _Invalid(
                    f"the YAML is nested more than {MAX_DEPTH} levels deep",
                    expected="the item's keys, lists and mappings",
                    **_mark(event.start_mark, offset),
                )
            if is_mapping:
                container = _Mapping()
                container.marks = {}
            else:
                container = []
            stack.append([container, _NO_KEY, event.start_mark])
            continue
        elif kind is mapping_end or kind is sequence_end:
            value, _, mark = stack.pop()
        elif kind is yaml.AliasEvent:
            raise _Invalid(
                "YAML anchors and aliases are not allowed",
                expected="each value written out",
                **_mark(event.start_mark, offset),
            )
        elif kind is yaml.DocumentEndEvent:
            documents.append(root)
            root = None
            if single:
                break
            continue
        elif kind is yaml.StreamEndEvent:
            break
        else:  # the stream's and a document's start
            continue

        if not stack:
            root = value
            continue
        frame = stack[-1]
        container = frame[0]
        if type(container) is list:
            container.append(value)
        elif frame[1] is _NO_KEY:
            if isinstance(value, list | dict):
                raise _Invalid("a key is a list or mapping", expected="text", **_mark(mark, offset))
            frame[1] = value
            frame[2] = mark
        else:
            key, key_mark = frame[1], frame[2]
            if key in container:
                first = container.marks[key][0]
                raise _Invalid(
                    f"the key {_short(str(key), 40)!r} appears twice (first on line {first})",
                    expected="each key once",
                    **_mark(key_mark, offset),
                )
            container[key] = value
            container.marks[key] = (key_mark.line + 1 + offset, key_mark.column + 1)
            frame[1] = _NO_KEY
    return documents


def _load_yaml(text: str, *, single: bool, offset: int):
    """The file's YAML: one document (front matter) or, for a plain .yaml file, one
    document plus at most an empty trailing `---` document (seen in real files)."""
    loader = _BaseLoader(text)
    try:
        documents = [d for d in _compose(loader, single=single, offset=offset) if d is not None]
    finally:
        loader.dispose()
    if len(documents) > 1:
        raise _Invalid("more than one YAML document in the file", expected="a single document")
    return documents[0] if documents else None


def read(path, data: bytes | None = None, *, limits: Limits = DEFAULT_LIMITS, base_url=""):
    """Parse one file. Returns an Item, a TaxonomyEntry or a FileError; never raises."""
    path = str(path)
    try:
        if data is None:
            size = Path(path).stat().st_size
            if size > limits.max_bytes:
                return too_large_error(path, size, limits.max_bytes)
            data = Path(path).read_bytes()
    except OSError as exc:
        return FileError(path, f"cannot read the file: {exc.strerror or exc}")
    return parse(path, data, limits=limits, base_url=base_url)


def too_large_error(path, size, max_bytes):
    return FileError(
        path,
        f"file is {size:,} bytes, over the {max_bytes:,}-byte limit "
        "(setting NEWSROOM_IMPORT_MAX_BYTES)",
        expected="a smaller file",
    )


def parse(path: str, data: bytes, *, limits: Limits = DEFAULT_LIMITS, base_url=""):
    """Parse a file's bytes. Returns an Item, a TaxonomyEntry or a FileError; never raises
    for anything a file can hold."""
    if len(data) > limits.max_bytes:
        return too_large_error(path, len(data), limits.max_bytes)
    if not data.strip():
        return FileError(
            path, "the file is empty", expected="YAML front matter between '---' lines"
        )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        return FileError(path, "bytes that are not UTF-8", line, column, "UTF-8 text")
    text = text.removeprefix("\ufeff")

    suffix = Path(path).suffix.lower()
    line_offset = 0  # lines before the YAML text (the opening '---')
    body = ""
    body_line = None
    try:
        if text.startswith("---"):
            first_newline = text.find("\n")
            if first_newline == -1 or text[:first_newline].strip() != "---":
                raise _Invalid("the first line must be exactly '---'", line=1, expected="'---'")
            closing = _closing_fence(text, first_newline + 1)
            if closing is None:
                raise _Invalid(
                    "the front matter has no closing '---' line",
                    line=text.count("\n") + 1,
                    expected="a line '---' after the YAML",
                )
            front = text[first_newline + 1 : closing.start()]
            body = text[closing.end() :]
            body = body[1:] if body.startswith("\n") else body
            body_line = text.count("\n", 0, closing.end()) + 2
            line_offset = 1
            data_map = _load_yaml(front, single=True, offset=line_offset)
        elif suffix in YAML_SUFFIXES:
            data_map = _load_yaml(text, single=False, offset=0)
        else:
            raise _Invalid(
                "no front matter",
                line=1,
                expected="a first line '---' starting the YAML front matter",
            )
        if not isinstance(data_map, dict):
            raise _Invalid(
                f"the YAML is {_kind(data_map)}, not a mapping of keys",
                line=1,
                expected="'key: value' lines such as 'title: ...'",
            )
        if "taxonomy" in data_map:
            return _taxonomy(path, data_map, base_url)
        if body_line is not None:
            body_line += len(body) - len(body.lstrip("\n"))  # the first line of text
        body = body.strip("\n")
        if len(body.encode("utf-8")) > limits.max_body_bytes:
            raise _Invalid(
                f"the Markdown body is {len(body.encode('utf-8')):,} bytes, over the "
                f"{limits.max_body_bytes:,}-byte limit (setting NEWSROOM_IMPORT_MAX_BODY_BYTES)",
                line=body_line,
                expected="a shorter body",
            )
        found = _BAD_TEXT.search(body)
        if found:
            raise _Invalid(
                f"the Markdown body holds the control character U+{ord(found[0]):04X}",
                line=body_line + body.count("\n", 0, found.start()),
                expected="text without control characters",
            )
        return _item(path, data_map, body, base_url, limits)
    except _Invalid as exc:
        return FileError(path, exc.message, exc.line, exc.column, exc.expected)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        return FileError(
            path,
            f"invalid YAML: {exc.problem}" + (f" ({exc.context})" if exc.context else ""),
            mark.line + 1 + line_offset if mark else None,
            mark.column + 1 if mark else None,
            "valid YAML",
        )
    except yaml.reader.ReaderError as exc:  # a character YAML does not allow
        position = exc.position + (first_newline + 1 if line_offset else 0)
        character = exc.character if isinstance(exc.character, int) else ord(exc.character)
        return FileError(
            path,
            f"the character U+{character:04X} is not allowed in YAML",
            text.count("\n", 0, position) + 1,
            position - (text.rfind("\n", 0, position) + 1) + 1,
            "printable text (control characters only as \\u escapes in quoted strings)",
        )
    except yaml.YAMLError as exc:
        return FileError(path, f"invalid YAML: {exc}", expected="valid YAML")


def _kind(value) -> str:
    if value is None:
        return "empty"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return f"a single {type(value).__name__} value"


# -- field validation -------------------------------------------------------
#
# Each helper reads one key of a mapping and raises _Invalid with the key's line.


def _at(data, key) -> dict:
    """Where `key` stands in the YAML, as _Invalid's keyword arguments."""
    marks = getattr(data, "marks", None)
    spot = marks.get(key) if marks else None
    return {"line": spot[0], "column": spot[1]} if spot else {}


def _text(data, key, *, required=False, where="", max_length=None):
    value = data.get(key)
    if value is None:
        if required:
            raise _Invalid(
                f"{where}{key} is missing", expected=f"a '{key}:' line with text", **_at(data, key)
            )
        return ""
    if isinstance(value, bool | dict | list):
        raise _Invalid(f"{where}{key} is {_kind(value)}", expected="text", **_at(data, key))
    value = str(value)
    if required and not value.strip():
        raise _Invalid(f"{where}{key} is empty", expected="text", **_at(data, key))
    _refuse_control_characters(value, f"{where}{key}", data, key)
    if max_length is not None and len(value) > max_length:
        raise _Invalid(
            f"{where}{key} is {len(value):,} characters long",
            expected=f"at most {max_length}",
            **_at(data, key),
        )
    return value


# NUL and the other C0 controls but tab and line breaks: no text needs them, PostgreSQL
# refuses NUL, and they garble pages and feeds (XML 1.0 forbids them). Also the two
# bidirectional overrides (U+202D, U+202E): they make a text read as what it is not
# ("invoice\u202efdp.exe" shows as "invoiceexe.pdf"). The embeddings and isolates that
# mixed-direction text uses are fine.
_BAD_TEXT = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u202d\u202e]")


def _refuse_control_characters(value: str, label: str, data, key):
    found = _BAD_TEXT.search(value)
    if found:
        raise _Invalid(
            f"{label} holds the control character U+{ord(found[0]):04X}",
            expected="text without control characters",
            **_at(data, key),
        )


def _int(data, key, *, minimum, where=""):
    value = data.get(key)
    if value is None:
        return None
    expected = f"a whole number from {minimum} to {MAX_INT:,}"
    if isinstance(value, bool) or not isinstance(value, int):
        raise _Invalid(
            f"{where}{key} is {_short(repr(value), 40)}", expected=expected, **_at(data, key)
        )
    if not minimum <= value <= MAX_INT:
        raise _Invalid(f"{where}{key} is {value}", expected=expected, **_at(data, key))
    return value


_DATE_EXPECTED = (
    f"a date and time like 2020-12-10T06:48:00Z, in the years {EARLIEST_YEAR} to {LATEST_YEAR}"
)


def _datetime(data, key, *, required=False, where=""):
    value = data.get(key)
    if value is None:
        if required:
            raise _Invalid(f"{where}{key} is missing", expected=_DATE_EXPECTED, **_at(data, key))
        return None
    parsed = parse_timestamp(value) if isinstance(value, str) else None
    if parsed is None:
        raise _Invalid(
            f"{where}{key} {_short(str(value), 40)!r} is not a date in range",
            expected=_DATE_EXPECTED,
            **_at(data, key),
        )
    return parsed


def _url(data, key, base_url, *, required=False, where="", max_length=MAX_URL_LENGTH):
    raw = data.get(key)
    if raw is None or raw == "":
        if required:
            raise _Invalid(f"{where}{key} is missing", expected="an http(s) URL", **_at(data, key))
        return ""
    if not isinstance(raw, str):
        raise _Invalid(f"{where}{key} is {_kind(raw)}", expected="an http(s) URL", **_at(data, key))
    url = clean_url(raw, base_url)
    if url is None:
        raise _Invalid(
            f"{where}{key} {_short(raw)!r} is not an http(s) URL",
            expected="an http(s) URL",
            **_at(data, key),
        )
    if len(url) > max_length:
        raise _Invalid(
            f"{where}{key} is {len(url):,} characters long",
            expected=f"a URL of at most {max_length}",
            **_at(data, key),
        )
    return url


def _domain(data, key, *, where=""):
    """A host name, lower-case, in ASCII (an international name becomes its xn-- form)."""
    raw = _text(data, key, where=where).strip().lower().rstrip(".")
    if not raw:
        return ""
    domain = _ascii_domain(raw)
    if domain is None:
        raise _Invalid(
            f"{where}{key} {_short(raw, 60)!r} is not a domain name",
            expected="a host name such as example.com",
            **_at(data, key),
        )
    return domain


def _ascii_domain(name: str) -> str | None:
    try:
        name = name.encode("idna").decode("ascii") if not name.isascii() else name
    except UnicodeError:
        return None
    return name if HOST_NAME.fullmatch(name) else None


def _short(value: str, limit=80) -> str:
    return value if len(value) <= limit else value[: limit - 1] + "…"


def _sized_list(data, key, limit: int, setting: str, *, where=""):
    """The list under `key` (None when absent), refused when longer than `limit`."""
    raw = data.get(key)
    if isinstance(raw, list) and len(raw) > limit:
        raise _Invalid(
            f"{where}{key} has {len(raw):,} entries, over the limit of {limit:,} "
            f"(setting {setting})",
            expected=f"at most {limit:,}",
            **_at(data, key),
        )
    return raw


def _dropped(label, data, key, exc: _Invalid) -> str:
    line = exc.line or _at(data, key).get("line")
    return f"{label} dropped{f' (line {line})' if line else ''}: {exc.message}"


def _bool(data, key, *, where=""):
    value = data.get(key)
    if value is not None and not isinstance(value, bool):
        raise _Invalid(
            f"{where}{key} is {_short(repr(value), 40)}", expected="true or false", **_at(data, key)
        )
    return value


def _read_text(data, key, field, base_url, where):
    value = _text(data, key, required=field.required, where=where, max_length=field.max_length)
    if field.strip:
        value = value.strip()
    return value.lower() if field.lower else value


def _read_url(data, key, field, base_url, where):
    return _url(
        data, key, base_url, required=field.required, where=where, max_length=field.max_length
    )


def _read_int(data, key, field, base_url, where):
    value = _int(data, key, minimum=field.minimum, where=where)
    return None if value is not None and value == field.unknown else value


def _read_datetime(data, key, field, base_url, where):
    return _datetime(data, key, required=field.required, where=where)


def _read_bool(data, key, field, base_url, where):
    return _bool(data, key, where=where)


_READERS = {
    TEXT: _read_text,
    URL: _read_url,
    INT: _read_int,
    DATETIME: _read_datetime,
    BOOL: _read_bool,
}


def _read(data, fields, base_url, where="") -> dict:
    """{name: value} of the schema `fields` in the mapping `data`, each checked by its
    kind and limits; raises _Invalid at the first that is not what it must be."""
    values = {}
    for field in fields:
        key, source, label = field.key, data, where
        if not key:
            continue  # the body: not a key
        if "." in key:  # a key under a mapping, such as provider.name
            parent, key = key.split(".", 1)
            source = data.get(parent) or {}
            if not isinstance(source, dict):
                raise _Invalid(f"{where}{parent} is {_kind(source)}", expected="a mapping")
            label = f"{where}{parent}."
        values[field.name] = _READERS[field.kind](source, key, field, base_url, label)
    return values


def _images(data, key, base_url, where, warnings, limits: Limits) -> list[Image]:
    raw = _sized_list(data, key, limits.max_images, "NEWSROOM_IMPORT_MAX_IMAGES", where=where)
    label_root = f"{where}{key}"
    if raw is None:
        return []
    if not isinstance(raw, list):
        warnings.append(f"{label_root}: expected a list of images, got {_kind(raw)}; ignored")
        return []
    images = []
    for index, entry in enumerate(raw):
        label = f"{label_root}[{index}]"
        try:
            if isinstance(entry, str):
                entry = {"url": entry}
            if not isinstance(entry, dict):
                raise _Invalid(f"is {_kind(entry)}", expected="a mapping with url, width, height")
            images.append(Image(**_read(entry, schema.IMAGE, base_url)))
        except _Invalid as exc:
            warnings.append(_dropped(label, data, key, exc))
    return images


def _coverage(data, base_url, warnings, limits: Limits) -> list[Coverage]:
    raw = _sized_list(data, "related", limits.max_coverage, "NEWSROOM_IMPORT_MAX_COVERAGE")
    if raw is None:
        return []
    if not isinstance(raw, list):
        warnings.append(f"related: expected a list, got {_kind(raw)}; ignored")
        return []
    entries = []
    for index, entry in enumerate(raw):
        label = f"related[{index}]"
        try:
            if not isinstance(entry, dict):
                raise _Invalid(f"is {_kind(entry)}", expected="a mapping")
            entries.append(
                Coverage(
                    **_read(entry, schema.COVERAGE, base_url),
                    images=_images(entry, "images", base_url, f"{label}.", warnings, limits),
                )
            )
        except _Invalid as exc:
            warnings.append(_dropped(label, data, "related", exc))
    return entries


def _item(path, data, body, base_url, limits: Limits) -> Item:
    warnings: list[str] = []
    values = _read(data, schema.ITEM, base_url)
    web_url = values["web_url"]

    provider = data.get("provider")
    if provider is None:
        provider = {}
    if not isinstance(provider, dict):
        raise _Invalid(
            f"provider is {_kind(provider)}",
            expected="a mapping with name and domain",
            **_at(data, "provider"),
        )
    # At most PROVIDER_DOMAIN.max_length characters: links.HOST_NAME says so.
    domain = _domain(provider, "domain", where="provider.")
    if not domain:
        host = (urlsplit(web_url).hostname or "").removeprefix("www.")
        domain = _ascii_domain(host) or ""
        if not domain:
            raise _Invalid(
                f"provider.domain is missing and the webUrl's host {host!r} is not a domain name",
                expected="a 'domain:' line under 'provider:'",
                **_at(data, "webUrl"),
            )
        warnings.append(f"provider.domain missing; taken from webUrl ({domain})")

    topics = _sized_list(data, "topics", limits.max_topics, "NEWSROOM_IMPORT_MAX_TOPICS") or []
    if isinstance(topics, str):
        topics = [topics]
    if not isinstance(topics, list) or not all(
        isinstance(t, str | int | float) and not isinstance(t, bool) for t in topics
    ):
        raise _Invalid(
            "topics is not a list of names",
            expected="a list such as ['AI', 'Computer Vision']",
            **_at(data, "topics"),
        )
    topic_names = []
    for topic in topics:
        name = str(topic).strip()
        _refuse_control_characters(name, "a topic", data, "topics")
        if len(name) > MAX_TOPIC_NAME_LENGTH:
            raise _Invalid(
                f"topic {_short(name)!r} is too long",
                expected=f"at most {MAX_TOPIC_NAME_LENGTH} characters",
                **_at(data, "topics"),
            )
        if name and name not in topic_names:
            topic_names.append(name)

    status = _text(data, "status").strip().lower()
    if status and status not in STATUSES:
        raise _Invalid(
            f"status is {_short(status, 40)!r}",
            expected="review, published or rejected",
            **_at(data, "status"),
        )
    provider_name = _read_text(provider, "name", schema.PROVIDER_NAME, base_url, "provider.")
    values["body"] = body
    return Item(
        **values,
        path=path,
        provider_domain=domain,
        provider_name=provider_name or domain,
        provider_logos=_images(provider, "images", base_url, "provider.", warnings, limits),
        published=_bool(data, "published"),
        status=status,
        topics=topic_names,
        images=_images(data, "images", base_url, "", warnings, limits),
        related=_coverage(data, base_url, warnings, limits),
        warnings=warnings,
    )


def _str_list(value, key, warnings) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if not isinstance(value, list):
        warnings.append(f"{key}: expected a list, got {_kind(value)}; ignored")
        return []
    return [str(v) for v in value if v is not None and not isinstance(v, dict | list)]


def taxonomy_of(data: dict, base_url="") -> TaxonomyEntry | None:
    """The entry that a taxonomy file's stored data (`TaxonomyEntry.data`, kept as a
    topic's `taxonomy_data`) describes, read as the import read it (`base_url` resolves
    its relative links), or None when it holds none: what the last import took from the
    file, for the next one's three-way merge."""
    if not isinstance(data, dict) or "taxonomy" not in data:
        return None
    try:
        return _taxonomy("", data, base_url)
    except _Invalid:
        return None


def _taxonomy(path, data, base_url) -> TaxonomyEntry:
    warnings: list[str] = []
    kind = _text(data, "taxonomy").strip().lower()
    if kind not in ("topic", "tag"):
        raise _Invalid(
            f"taxonomy is {_short(kind, 40)!r}",
            expected="'topic' or 'tag'",
            **_at(data, "taxonomy"),
        )
    slug = _text(data, "_id", required=True, max_length=MAX_SLUG_LENGTH).strip()
    if not _SLUG.fullmatch(slug):
        raise _Invalid(
            f"_id {_short(slug, 60)!r} is not a slug",
            expected="letters, digits, '-' and '_' only, such as 'computer-vision'",
            **_at(data, "_id"),
        )
    name = _text(data, "name", max_length=MAX_TOPIC_NAME_LENGTH).strip()
    name = name or slug.replace("-", " ").title()
    if kind == "topic":
        parents = [p for p in [_text(data, "parent").strip()] if p]
    else:
        parents = _str_list(data.get("parents"), "parents", warnings)
    images = []
    for url in _str_list(data.get("images"), "images", warnings):
        cleaned = clean_url(url, base_url)
        if cleaned:
            images.append(cleaned)
        else:
            warnings.append(f"images: {_short(url)!r} is not an http(s) URL; dropped")
    services = {}
    raw_services = data.get("services")
    if raw_services is not None and not isinstance(raw_services, dict):
        warnings.append(f"services: expected a mapping, got {_kind(raw_services)}; ignored")
    for service, url in (raw_services if isinstance(raw_services, dict) else {}).items():
        cleaned = clean_url(url, base_url) if isinstance(url, str) else None
        if cleaned:
            services[str(service)] = cleaned
        else:
            warnings.append(
                f"services.{service}: {_short(str(url))!r} is not an http(s) URL; dropped"
            )
    file_data = _json_safe(data)
    if isinstance(raw_services, dict):
        file_data["services"] = services  # what is exported again: never a non-http link
    return TaxonomyEntry(
        path=path,
        kind=kind,
        slug=slug,
        name=name,
        short_name=_text(data, "shortname").strip(),
        parents=parents,
        description=_text(data, "description").strip(),
        keywords=_str_list(data.get("keywords"), "keywords", warnings),
        hashtags=_str_list(data.get("hashtags"), "hashtags", warnings),
        images=images,
        services=services,
        data=file_data,
        warnings=warnings,
    )


def _json_safe(value):
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_json_safe(v) for v in value]
    if isinstance(value, float) and (value != value or value in (float("inf"), float("-inf"))):
        return str(value)  # JSON has no NaN or infinity
    return value


# ---------------------------------------------------------------------------
# Writing
# ---------------------------------------------------------------------------

_PLAIN_SAFE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 .,'!&()/_+-]*$")
_YAML_SPECIAL_WORDS = {"yes", "no", "on", "off", "true", "false", "null", "y", "n", "~"}


def quoted(value: str) -> str:
    """A YAML double-quoted scalar, escaping like the real files (`\\"`, `\\n`)."""
    out = []
    for ch in value:
        if ch == '"':
            out.append('\\"')
        elif ch == "\\":
            out.append("\\\\")
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\t":
            out.append("\\t")
        elif ch == "\r":
            out.append("\\r")
        elif (
            ord(ch) < 0x20
            or ord(ch) == 0x7F
            or 0x80 <= ord(ch) < 0xA0
            or ch in "\u2028\u2029\ufeff"
        ):
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def plain(value: str) -> str:
    """A plain scalar where YAML reads it back as the same string, else double-quoted."""
    if (
        _PLAIN_SAFE.match(value)
        and value == value.strip()
        and value.lower() not in _YAML_SPECIAL_WORDS
        and not re.fullmatch(r"[-+.0-9eE_:]+", value)
    ):
        return value
    return quoted(value)


def _written(field, value) -> str | None:
    """A field's value as the files write it after `key: `; None when there is none."""
    if value is None or value == "":
        return None
    kind = field.kind
    if kind == TEXT:
        return quoted(value) if field.quoted else plain(value)
    if kind == URL:
        return quoted(value)
    if kind == DATETIME:
        return iso_datetime(value)
    if kind == BOOL:
        return "true" if value else "false"
    return str(value)


def _write_entry(lines, record, fields, indent: str):
    """One entry of a list (an image, a coverage entry): its first field after `- `, the
    others below it; keys under a mapping (provider.name) grouped under that key."""
    prefix = f"{indent}- "
    parent_written = None
    for field in fields:
        text = _written(field, getattr(record, field.name))
        if text is None:
            continue
        parent, _, key = field.key.rpartition(".")
        if parent:
            if parent != parent_written:
                lines.append(f"{prefix}{parent}:")
                parent_written, prefix = parent, f"{indent}  "
            lines.append(f"{indent}    {key}: {text}")
        else:
            lines.append(f"{prefix}{key}: {text}")
        prefix = f"{indent}  "


def _write_images(lines, images, indent: str, fields=schema.IMAGE):
    for image in images:
        _write_entry(lines, image, fields, indent)


def write(item: Item) -> str:
    """The item as a Markdown file with YAML front matter, in the corpus's layout."""
    lines = ["---"]
    for field in schema.ITEM_HEAD:
        text = _written(field, getattr(item, field.name))
        if text is not None:
            lines.append(f"{field.key}: {text}")
    if item.quality is not None or item.heat is not None or item.published is not None:
        quality, heat = schema.SCORES
        if item.quality is not None:
            lines.append(f"{quality.key}: {item.quality}")
        lines.append(f"{heat.key}: {item.heat if item.heat is not None else heat.unknown}")
        lines.append(f"published: {'true' if item.published else 'false'}")
    if item.status == "rejected":
        lines.append("status: rejected")

    lines += ["", "provider:", f"  name: {plain(item.provider_name or item.provider_domain)}"]
    lines.append(f"  domain: {plain(item.provider_domain)}")
    if item.provider_logos:
        lines.append("  images:")
        _write_images(lines, item.provider_logos, "    ", schema.LOGO)

    if item.topics:
        lines += ["", "topics:"] + [f"  - {plain(topic)}" for topic in item.topics]

    if item.images:
        lines += ["", "images:"]
        _write_images(lines, item.images, "  ")

    if item.related:
        lines += ["", "related:"]
        for entry in item.related:
            _write_entry(lines, entry, schema.COVERAGE, "  ")
            if entry.images:
                lines.append("    images:")
                _write_images(lines, entry.images, "      ")

    for field in schema.ITEM_TAIL:
        text = _written(field, getattr(item, field.name))
        if text is not None:
            lines += ["", f"{field.key}: {text}"]
    lines.append("---")
    text = "\n".join(lines) + "\n\n"
    if item.body:
        text += item.body.rstrip("\n") + "\n"
    return text
