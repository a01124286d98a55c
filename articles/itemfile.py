"""THE FILE FORMAT, both ways: news items and taxonomy files as Markdown + YAML front matter.

`read()` turns a file's bytes into an `Item` (a news item), a `TaxonomyEntry` (a topic or
tag file) or a `FileError` (one clear line: which file, where, what was expected).
`write()` turns an `Item` back into text with the key order and quoting of the real files.

Pure Python: no Django, no database, so it runs in worker processes and is tested alone.
The input format is described in shared/corpus/SCHEMA.md; the quirks it lists are handled
here and nowhere else.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from .links import clean_url

try:  # libyaml is several times faster; the pure-Python loader is the fallback.
    _BaseLoader = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - depends on how PyYAML was built
    _BaseLoader = yaml.SafeLoader

DEFAULT_MAX_BYTES = 1024 * 1024
MARKDOWN_SUFFIXES = {".md", ".markdown"}
YAML_SUFFIXES = {".yaml", ".yml"}
SUFFIXES = MARKDOWN_SUFFIXES | YAML_SUFFIXES
STATUSES = ("review", "published", "rejected")
# Column sizes of the models (the database would refuse longer values).
MAX_URL_LENGTH = 2000
MAX_TITLE_LENGTH = 500

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

# Values the merge compares as they are, under the same name on Item and Article
# (and on the image and coverage rows). The others need a conversion: see
# Item.field_values() and Article.current_values().
PLAIN_FIELDS = (
    "title", "excerpt", "body", "category", "type", "web_url", "original_url",
    "amp_web_url", "cdn_amp_web_url", "quality", "heat", "secured",
)  # fmt: skip
IMAGE_FIELDS = ("url", "width", "height", "is_cached", "title")
COVERAGE_FIELDS = (
    "title", "url", "excerpt", "amp_web_url", "cdn_amp_web_url", "type",
    "provider_name", "provider_domain", "quality",
)  # fmt: skip


def plain_values(obj, names) -> dict:
    return {name: getattr(obj, name) for name in names}


@dataclass
class Image:
    url: str
    width: int | None = None
    height: int | None = None
    is_cached: bool | None = None
    title: str = ""

    def to_dict(self) -> dict:
        return plain_values(self, IMAGE_FIELDS)


@dataclass
class Coverage:
    """One entry of `related:`: another outlet's article on the same story."""

    title: str
    url: str
    excerpt: str = ""
    published_at: dt.datetime | None = None
    amp_web_url: str = ""
    cdn_amp_web_url: str = ""
    type: str = ""
    provider_name: str = ""
    provider_domain: str = ""
    quality: int | None = None
    images: list[Image] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {
            **plain_values(self, COVERAGE_FIELDS),
            "published_at": iso_datetime(self.published_at),
            "images": [image.to_dict() for image in self.images],
        }


@dataclass
class Item:
    """A news item, validated and normalised."""

    path: str
    title: str
    web_url: str
    published_at: dt.datetime
    provider_domain: str
    provider_name: str = ""
    provider_logos: list[Image] = field(default_factory=list)
    excerpt: str = ""
    body: str = ""
    category: str = ""
    type: str = ""
    original_url: str = ""
    amp_web_url: str = ""
    cdn_amp_web_url: str = ""
    quality: int | None = None
    heat: int | None = None  # None: unknown (-1 in files)
    published: bool | None = None  # None: the key is absent
    status: str = ""  # our extension: "rejected" survives an export/import round trip
    topics: list[str] = field(default_factory=list)
    images: list[Image] = field(default_factory=list)
    related: list[Coverage] = field(default_factory=list)
    secured: str = ""
    warnings: list[str] = field(default_factory=list)

    @property
    def effective_status(self) -> str:
        if self.status:
            return self.status
        return "published" if self.published else "review"

    def field_values(self) -> dict:
        """The article's imported values, JSON-ready: what the three-way merge compares."""
        return {
            **plain_values(self, PLAIN_FIELDS),
            "published_at": iso_datetime(self.published_at),
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
    parents: list[str] = field(default_factory=list)  # names (topics) or slugs (tags)
    description: str = ""
    keywords: list[str] = field(default_factory=list)
    hashtags: list[str] = field(default_factory=list)
    images: list[str] = field(default_factory=list)
    services: dict = field(default_factory=dict)
    data: dict = field(default_factory=dict)  # the file as loaded, for export
    warnings: list[str] = field(default_factory=list)


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
        return text

    def to_dict(self) -> dict:
        return {"path": self.path, "line": self.line, "column": self.column, "error": str(self)}


class _Invalid(Exception):
    """Raised inside validation; becomes a FileError."""

    def __init__(self, message, expected="", line=None, column=None, *, relative=False):
        super().__init__(message)
        self.message = message
        self.expected = expected
        self.line = line  # in the file, or in the YAML text when `relative`
        self.column = column
        self.relative = relative


# ---------------------------------------------------------------------------
# Reading
# ---------------------------------------------------------------------------


class _Loader(_BaseLoader):
    """libyaml's parser and composer, with plain-Python tag resolution and construction.

    PyYAML's constructor is generic (path resolvers, merge keys, generators for
    recursive structures) and is most of the cost of loading a file. These files hold
    only mappings, lists and plain scalars, so `_construct` builds them directly from
    the node tree: faster than `yaml.CSafeLoader` itself, and stricter, since it knows
    only the standard scalar types and refuses anchors/aliases outright.
    """

    _resolvers = _BaseLoader.yaml_implicit_resolvers
    _wildcard = _BaseLoader.yaml_implicit_resolvers.get(None, [])

    def resolve(self, kind, value, implicit):
        if kind is yaml.ScalarNode:
            if implicit[0]:  # unquoted: may be a number, a boolean, null, a date
                for tag, regexp in self._resolvers.get(value[:1], []) + self._wildcard:
                    if regexp.match(value):
                        return tag
            return _STR
        return _SEQ if kind is yaml.SequenceNode else _MAP

    def descend_resolver(self, current_node, current_index):
        pass  # no path resolvers: skip the bookkeeping

    def ascend_resolver(self):
        pass


_STR = "tag:yaml.org,2002:str"
_SEQ = "tag:yaml.org,2002:seq"
_MAP = "tag:yaml.org,2002:map"
_SCALARS = {
    "tag:yaml.org,2002:null": yaml.SafeLoader.construct_yaml_null,
    "tag:yaml.org,2002:bool": yaml.SafeLoader.construct_yaml_bool,
    "tag:yaml.org,2002:int": yaml.SafeLoader.construct_yaml_int,
    "tag:yaml.org,2002:float": yaml.SafeLoader.construct_yaml_float,
    "tag:yaml.org,2002:timestamp": yaml.SafeLoader.construct_yaml_timestamp,
}


def _where(node) -> dict:
    mark = node.start_mark
    return {"line": mark.line + 1, "column": mark.column + 1, "relative": True} if mark else {}


def _construct(loader, node, seen: set):
    """Python values for a node tree; never builds anything but str/int/float/bool/None/
    datetime/list/dict, and refuses a node seen twice (an alias: no expansion bombs)."""
    if id(node) in seen:
        raise _Invalid("YAML anchors and aliases are not allowed", **_where(node))
    seen.add(id(node))
    if type(node) is yaml.ScalarNode:
        if node.tag == _STR:
            return node.value
        construct = _SCALARS.get(node.tag)
        if construct is None:
            raise _tag_not_allowed(node)
        return construct(loader, node)
    if type(node) is yaml.SequenceNode and node.tag == _SEQ:
        return [_construct(loader, item, seen) for item in node.value]
    if type(node) is yaml.MappingNode and node.tag == _MAP:
        mapping = {}
        for key_node, value_node in node.value:
            key = _construct(loader, key_node, seen)
            if isinstance(key, list | dict):
                raise _Invalid("a key is a list or mapping", **_where(key_node), expected="text")
            mapping[key] = _construct(loader, value_node, seen)
        return mapping
    raise _tag_not_allowed(node)


def _tag_not_allowed(node):
    return _Invalid(
        f"YAML tag not allowed: {node.tag}",
        **_where(node),
        expected="plain YAML values (no !!python or other custom tags)",
    )


def _load_yaml_documents(text: str, *, single: bool):
    """The file's YAML: one document (front matter) or, for a plain .yaml file, one
    document plus at most an empty trailing `---` document (seen in real files)."""
    loader = _Loader(text)
    try:
        documents = []
        while loader.check_node():
            node = loader.get_node()
            if node is not None:
                value = _construct(loader, node, set())
                if value is not None:
                    documents.append(value)
            if single and documents:
                break
    except (ValueError, OverflowError) as exc:  # e.g. a timestamp like 2026-13-45
        raise _Invalid(f"a value cannot be read: {exc}", expected="valid YAML values") from None
    finally:
        loader.dispose()
    if len(documents) > 1:
        raise _Invalid("more than one YAML document in the file", expected="a single document")
    return documents[0] if documents else None


def _load_yaml(text: str):
    return _load_yaml_documents(text, single=True)


def read(path, data: bytes | None = None, *, max_bytes=DEFAULT_MAX_BYTES, base_url=""):
    """Parse one file. Returns an Item, a TaxonomyEntry or a FileError; never raises."""
    path = str(path)
    try:
        if data is None:
            size = Path(path).stat().st_size
            if size > max_bytes:
                return too_large_error(path, size, max_bytes)
            data = Path(path).read_bytes()
        return parse(path, data, max_bytes=max_bytes, base_url=base_url)
    except OSError as exc:
        return FileError(path, f"cannot read the file: {exc.strerror or exc}")
    except RecursionError:
        return FileError(path, "the YAML is nested too deeply")


def too_large_error(path, size, max_bytes):
    return FileError(
        path,
        f"file is {size:,} bytes, over the {max_bytes:,}-byte limit",
        expected="a smaller file",
    )


def parse(path: str, data: bytes, *, max_bytes=DEFAULT_MAX_BYTES, base_url=""):
    if len(data) > max_bytes:
        return too_large_error(path, len(data), max_bytes)
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
    line_offset = 0
    body = ""
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
            line_offset = 1
            data_map = _load_yaml(front)
        elif suffix in YAML_SUFFIXES:
            data_map = _load_yaml_documents(text, single=False)
        else:
            raise _Invalid(
                "no front matter",
                line=1,
                expected="a first line '---' starting the YAML front matter",
            )
        if not isinstance(data_map, dict):
            raise _Invalid(
                f"the YAML is {_kind(data_map)}, not a mapping of keys",
                line=line_offset + 1,
                expected="'key: value' lines such as 'title: ...'",
            )
        if "taxonomy" in data_map:
            return _taxonomy(path, data_map, base_url)
        return _item(path, data_map, body.strip("\n"), base_url)
    except _Invalid as exc:
        line = exc.line
        if line is not None and exc.relative:
            line += line_offset
        elif line is None:
            line = _line_of_key(text, exc.message)
        return FileError(path, exc.message, line, exc.column, exc.expected)
    except yaml.constructor.ConstructorError as exc:
        mark = exc.problem_mark
        tag = exc.problem or "an unknown tag"
        return FileError(
            path,
            f"YAML tag not allowed: {tag}",
            mark.line + 1 + line_offset if mark else None,
            mark.column + 1 if mark else None,
            "plain YAML values (no !!python or other custom tags)",
        )
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        return FileError(
            path,
            f"invalid YAML: {exc.problem}" + (f" ({exc.context})" if exc.context else ""),
            mark.line + 1 + line_offset if mark else None,
            mark.column + 1 if mark else None,
            "valid YAML",
        )
    except yaml.YAMLError as exc:
        return FileError(path, f"invalid YAML: {exc}", expected="valid YAML")


def _line_of_key(text: str, message: str) -> int | None:
    """Best effort: the line of the top-level key a validation message starts with."""
    key = message.split(" ", 1)[0].split(".", 1)[0].split("[", 1)[0]
    match = re.search(rf"^{re.escape(key)}\s*:", text, re.MULTILINE) if key else None
    return text.count("\n", 0, match.start()) + 1 if match else None


def _kind(value) -> str:
    if value is None:
        return "empty"
    if isinstance(value, list):
        return "a list"
    return f"a single {type(value).__name__} value"


# -- field validation -------------------------------------------------------


def _text(data, key, *, required=False, where="", max_length=None):
    value = data.get(key)
    if value is None:
        if required:
            raise _Invalid(f"{where}{key} is missing", expected=f"a '{key}:' line with text")
        return ""
    if isinstance(value, bool | dict | list):
        raise _Invalid(f"{where}{key} is {_kind(value)}", expected="text")
    if isinstance(value, dt.datetime | dt.date):
        value = value.isoformat()
    value = str(value)
    if required and not value.strip():
        raise _Invalid(f"{where}{key} is empty", expected="text")
    if max_length is not None and len(value) > max_length:
        raise _Invalid(
            f"{where}{key} is {len(value)} characters long", expected=f"at most {max_length}"
        )
    return value


def _int(data, key, *, minimum, where=""):
    value = data.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise _Invalid(f"{where}{key} is {value!r}", expected=f"a whole number >= {minimum}")
    if value < minimum:
        raise _Invalid(f"{where}{key} is {value}", expected=f"a whole number >= {minimum}")
    return value


def _datetime(data, key, *, required=False, where=""):
    value = data.get(key)
    if value is None:
        if required:
            raise _Invalid(
                f"{where}{key} is missing", expected="a date and time like 2020-12-10T06:48:00Z"
            )
        return None
    if isinstance(value, dt.datetime):
        parsed = value
    elif isinstance(value, dt.date):
        parsed = dt.datetime(value.year, value.month, value.day)
    elif isinstance(value, str):
        try:
            parsed = dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            raise _Invalid(
                f"{where}{key} {value!r} is not a date",
                expected="a date and time like 2020-12-10T06:48:00Z",
            ) from None
    else:
        raise _Invalid(
            f"{where}{key} is {value!r}", expected="a date and time like 2020-12-10T06:48:00Z"
        )
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    return parsed.astimezone(dt.UTC)


def _url(data, key, base_url, *, required=False, where=""):
    raw = data.get(key)
    if raw is None or raw == "":
        if required:
            raise _Invalid(f"{where}{key} is missing", expected="an http(s) URL")
        return ""
    if not isinstance(raw, str):
        raise _Invalid(f"{where}{key} is {_kind(raw)}", expected="an http(s) URL")
    url = clean_url(raw, base_url)
    if url is not None and len(url) > MAX_URL_LENGTH:
        raise _Invalid(
            f"{where}{key} is {len(url)} characters long", expected="a URL of at most 2000"
        )
    if url is None:
        raise _Invalid(
            f"{where}{key} {_short(raw)!r} is not an http(s) URL", expected="an http(s) URL"
        )
    return url


def _short(value: str, limit=80) -> str:
    return value if len(value) <= limit else value[: limit - 1] + "…"


def _images(raw, base_url, where, warnings) -> list[Image]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        warnings.append(f"{where}: expected a list of images, got {_kind(raw)}; ignored")
        return []
    images = []
    for index, entry in enumerate(raw):
        label = f"{where}[{index}]"
        try:
            if isinstance(entry, str):
                entry = {"url": entry}
            if not isinstance(entry, dict):
                raise _Invalid(f"is {_kind(entry)}", expected="a mapping with url, width, height")
            cached = entry.get("isCached")
            if cached is not None and not isinstance(cached, bool):
                raise _Invalid(f"isCached is {cached!r}", expected="true or false")
            images.append(
                Image(
                    url=_url(entry, "url", base_url, required=True),
                    width=_int(entry, "width", minimum=0),
                    height=_int(entry, "height", minimum=0),
                    is_cached=cached,
                    title=_text(entry, "title", max_length=MAX_TITLE_LENGTH),
                )
            )
        except _Invalid as exc:
            warnings.append(f"{label} dropped: {exc.message}")
    return images


def _coverage(raw, base_url, warnings) -> list[Coverage]:
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
            provider = entry.get("provider") or {}
            if not isinstance(provider, dict):
                raise _Invalid(f"provider is {_kind(provider)}", expected="a mapping")
            entries.append(
                Coverage(
                    title=_text(entry, "title", required=True, max_length=MAX_TITLE_LENGTH),
                    url=_url(entry, "webUrl", base_url, required=True),
                    excerpt=_text(entry, "excerpt"),
                    published_at=_datetime(entry, "publishedDateTime"),
                    amp_web_url=_url(entry, "ampWebUrl", base_url),
                    cdn_amp_web_url=_url(entry, "cdnAmpWebUrl", base_url),
                    type=_text(entry, "type", max_length=50),
                    provider_name=_text(provider, "name", max_length=200),
                    provider_domain=_text(provider, "domain", max_length=253).strip().lower(),
                    quality=_int(entry, "quality", minimum=0),
                    images=_images(entry.get("images"), base_url, f"{label}.images", warnings),
                )
            )
        except _Invalid as exc:
            warnings.append(f"{label} dropped: {exc.message}")
    return entries


def _item(path, data, body, base_url) -> Item:
    warnings: list[str] = []
    web_url = _url(data, "webUrl", base_url, required=True)

    provider = data.get("provider")
    if provider is None:
        provider = {}
    if not isinstance(provider, dict):
        raise _Invalid(f"provider is {_kind(provider)}", expected="a mapping with name and domain")
    domain = _text(provider, "domain", where="provider.", max_length=253).strip().lower()
    if not domain:
        from urllib.parse import urlsplit

        domain = (urlsplit(web_url).hostname or "").removeprefix("www.")
        warnings.append(f"provider.domain missing; taken from webUrl ({domain})")

    topics = data.get("topics") or []
    if isinstance(topics, str):
        topics = [topics]
    if not isinstance(topics, list) or not all(isinstance(t, str | int | float) for t in topics):
        raise _Invalid(
            "topics is not a list of names", expected="a list such as ['AI', 'Computer Vision']"
        )
    topic_names = []
    for topic in topics:
        name = str(topic).strip()
        if len(name) > 100:
            raise _Invalid(f"topic {_short(name)!r} is too long", expected="at most 100 characters")
        if name and name not in topic_names:
            topic_names.append(name)

    published = data.get("published")
    if published is not None and not isinstance(published, bool):
        raise _Invalid(f"published is {published!r}", expected="true or false")
    status = _text(data, "status").strip().lower()
    if status and status not in STATUSES:
        raise _Invalid(f"status is {status!r}", expected="review, published or rejected")

    heat = _int(data, "heat", minimum=-1)
    return Item(
        path=path,
        title=_text(data, "title", required=True, max_length=MAX_TITLE_LENGTH).strip(),
        web_url=web_url,
        published_at=_datetime(data, "publishedDateTime", required=True),
        provider_domain=domain,
        provider_name=_text(provider, "name", where="provider.", max_length=200).strip() or domain,
        provider_logos=_images(provider.get("images"), base_url, "provider.images", warnings),
        excerpt=_text(data, "excerpt"),
        body=body,
        category=_text(data, "category", max_length=100),
        type=_text(data, "type", max_length=50),
        original_url=_url(data, "originalUrl", base_url),
        amp_web_url=_url(data, "ampWebUrl", base_url),
        cdn_amp_web_url=_url(data, "cdnAmpWebUrl", base_url),
        quality=_int(data, "quality", minimum=0),
        heat=None if heat == -1 else heat,
        published=published,
        status=status,
        topics=topic_names,
        images=_images(data.get("images"), base_url, "images", warnings),
        related=_coverage(data.get("related"), base_url, warnings),
        secured=_text(data, "secured"),
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


def _taxonomy(path, data, base_url) -> TaxonomyEntry:
    warnings: list[str] = []
    kind = _text(data, "taxonomy").strip().lower()
    if kind not in ("topic", "tag"):
        raise _Invalid(f"taxonomy is {kind!r}", expected="'topic' or 'tag'")
    slug = _text(data, "_id", required=True).strip()
    name = _text(data, "name").strip() or slug.replace("-", " ").title()
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
    services = data.get("services") if isinstance(data.get("services"), dict) else {}
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
        data=_json_safe(data),
        warnings=warnings,
    )


def _json_safe(value):
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_json_safe(v) for v in value]
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return value


def iso_datetime(value: dt.datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


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


def _write_image(lines, image: Image, indent: str, *, with_flags=True):
    lines.append(f"{indent}- url: {quoted(image.url)}")
    if image.width is not None:
        lines.append(f"{indent}  width: {image.width}")
    if image.height is not None:
        lines.append(f"{indent}  height: {image.height}")
    if with_flags and image.is_cached is not None:
        lines.append(f"{indent}  isCached: {'true' if image.is_cached else 'false'}")
    if with_flags and image.title:
        lines.append(f"{indent}  title: {quoted(image.title)}")


def write(item: Item) -> str:
    """The item as a Markdown file with YAML front matter, in the corpus's layout."""
    lines = ["---"]
    if item.category:
        lines.append(f"category: {plain(item.category)}")
    lines.append(f"title: {quoted(item.title)}")
    if item.excerpt:
        lines.append(f"excerpt: {quoted(item.excerpt)}")
    lines.append(f"publishedDateTime: {iso_datetime(item.published_at)}")
    for key, value in (
        ("originalUrl", item.original_url),
        ("webUrl", item.web_url),
        ("ampWebUrl", item.amp_web_url),
        ("cdnAmpWebUrl", item.cdn_amp_web_url),
    ):
        if value:
            lines.append(f"{key}: {quoted(value)}")
    if item.type:
        lines.append(f"type: {plain(item.type)}")
    if item.quality is not None or item.heat is not None or item.published is not None:
        if item.quality is not None:
            lines.append(f"quality: {item.quality}")
        lines.append(f"heat: {item.heat if item.heat is not None else -1}")
        lines.append(f"published: {'true' if item.published else 'false'}")
    if item.status == "rejected":
        lines.append("status: rejected")

    lines += ["", "provider:", f"  name: {plain(item.provider_name or item.provider_domain)}"]
    lines.append(f"  domain: {plain(item.provider_domain)}")
    if item.provider_logos:
        lines.append("  images:")
        for logo in item.provider_logos:
            _write_image(lines, logo, "    ", with_flags=False)

    if item.topics:
        lines += ["", "topics:"] + [f"  - {plain(topic)}" for topic in item.topics]

    if item.images:
        lines += ["", "images:"]
        for image in item.images:
            _write_image(lines, image, "  ")

    if item.related:
        lines += ["", "related:"]
        for entry in item.related:
            lines.append(f"  - title: {quoted(entry.title)}")
            if entry.excerpt:
                lines.append(f"    excerpt: {quoted(entry.excerpt)}")
            if entry.published_at:
                lines.append(f"    publishedDateTime: {iso_datetime(entry.published_at)}")
            lines.append(f"    webUrl: {quoted(entry.url)}")
            if entry.amp_web_url:
                lines.append(f"    ampWebUrl: {quoted(entry.amp_web_url)}")
            if entry.cdn_amp_web_url:
                lines.append(f"    cdnAmpWebUrl: {quoted(entry.cdn_amp_web_url)}")
            if entry.type:
                lines.append(f"    type: {plain(entry.type)}")
            if entry.provider_name or entry.provider_domain:
                lines.append("    provider:")
                if entry.provider_name:
                    lines.append(f"      name: {plain(entry.provider_name)}")
                if entry.provider_domain:
                    lines.append(f"      domain: {plain(entry.provider_domain)}")
            if entry.quality is not None:
                lines.append(f"    quality: {entry.quality}")
            if entry.images:
                lines.append("    images:")
                for image in entry.images:
                    _write_image(lines, image, "      ")

    if item.secured:
        lines += ["", f"secured: {quoted(item.secured)}"]
    lines.append("---")
    text = "\n".join(lines) + "\n\n"
    if item.body:
        text += item.body.rstrip("\n") + "\n"
    return text


def item_from_values(values: dict, *, path="", provider_name="", provider_logos=None) -> Item:
    """Rebuild an Item from `Item.field_values()`-shaped data (what export reads from the DB)."""

    def image(d):
        return Image(
            url=d["url"],
            width=d.get("width"),
            height=d.get("height"),
            is_cached=d.get("is_cached"),
            title=d.get("title") or "",
        )

    def when(value):
        return dt.datetime.fromisoformat(value.replace("Z", "+00:00")) if value else None

    status = values.get("status") or "review"
    has_scores = values.get("quality") is not None or values.get("heat") is not None
    return Item(
        path=path,
        title=values["title"],
        web_url=values["web_url"],
        published_at=when(values["published_at"]),
        provider_domain=values["provider"],
        provider_name=provider_name,
        provider_logos=[image(d) for d in (provider_logos or [])],
        excerpt=values.get("excerpt") or "",
        body=values.get("body") or "",
        category=values.get("category") or "",
        type=values.get("type") or "",
        original_url=values.get("original_url") or "",
        amp_web_url=values.get("amp_web_url") or "",
        cdn_amp_web_url=values.get("cdn_amp_web_url") or "",
        quality=values.get("quality"),
        heat=values.get("heat"),
        published=(status == "published") if (has_scores or status != "review") else None,
        status="rejected" if status == "rejected" else "",
        topics=list(values.get("topics") or []),
        images=[image(d) for d in values.get("images") or []],
        related=[
            Coverage(
                title=d["title"],
                url=d["url"],
                excerpt=d.get("excerpt") or "",
                published_at=when(d.get("published_at")),
                amp_web_url=d.get("amp_web_url") or "",
                cdn_amp_web_url=d.get("cdn_amp_web_url") or "",
                type=d.get("type") or "",
                provider_name=d.get("provider_name") or "",
                provider_domain=d.get("provider_domain") or "",
                quality=d.get("quality"),
                images=[image(i) for i in d.get("images") or []],
            )
            for d in values.get("coverage") or []
        ],
        secured=values.get("secured") or "",
    )
