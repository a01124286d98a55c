"""Where an import's files come from: paths on disk, or bytes uploaded through the admin.

A `Source` is one file to import, named as the user knows it (its path, or the name it
was uploaded under). `discover(paths)` expands files, directories and globs;
`uploaded(files)` takes `(name, bytes)` pairs as the admin receives them, without
touching disk. Both return the sources in the same stable order, YAML files first
(taxonomy files are usually `.yaml`: loading them first means news items find their
topics already described), and a FileError for each thing they could not use.
"""

from __future__ import annotations

import glob
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from . import itemfile
from .itemfile import FileError

# Documentation beside the news files, never an item.
NOT_ITEMS = {"README.MD", "SCHEMA.MD"}


@dataclass(frozen=True)
class Source:
    name: str  # what the user calls it: its path, or the uploaded file's name
    path: Path | None = None  # on disk: read when its batch comes
    data: bytes | None = None  # uploaded: in memory already

    def read(self, max_bytes: int) -> tuple[bytes, str] | FileError:
        """(bytes, SHA-256 hex digest), or why the file cannot be imported."""
        try:
            if self.data is None:
                size = self.path.stat().st_size
                if size > max_bytes:  # refused before it is read into memory
                    return itemfile.too_large_error(self.name, size, max_bytes)
                data = self.path.read_bytes()
            else:
                data = self.data
        except OSError as exc:
            return FileError(self.name, f"cannot read the file: {exc.strerror or exc}")
        if len(data) > max_bytes:
            return itemfile.too_large_error(self.name, len(data), max_bytes)
        return data, hashlib.sha256(data).hexdigest()


def _importable(name: str) -> bool:
    path = Path(name)
    return path.suffix.lower() in itemfile.SUFFIXES and path.name.upper() not in NOT_ITEMS


def _ordered(sources: Iterable[Source]) -> list[Source]:
    return sorted(
        sources,
        key=lambda s: (Path(s.name).suffix.lower() not in itemfile.YAML_SUFFIXES, s.name),
    )


def discover(paths: Iterable[str]) -> tuple[list[Source], list[FileError]]:
    """Expand files, directories (recursively) and globs into sources."""
    found: dict[str, Path] = {}
    errors = []
    for raw in paths:
        raw = str(raw)
        path = Path(raw)
        if path.is_dir():
            candidates = (p for p in path.rglob("*") if p.is_file())
        elif path.is_file():
            candidates = [path]
        elif glob.has_magic(raw):
            matches = [Path(p) for p in glob.glob(raw, recursive=True)]
            candidates = []
            for match in matches:
                candidates += (
                    [p for p in match.rglob("*") if p.is_file()] if match.is_dir() else [match]
                )
            if not matches:
                errors.append(FileError(raw, "no file matches this pattern"))
        else:
            errors.append(FileError(raw, "no such file or directory"))
            continue
        for candidate in candidates:
            if _importable(str(candidate)):
                found.setdefault(str(candidate), candidate)
    return _ordered(Source(name, path=path) for name, path in found.items()), errors


def uploaded(files: Iterable[tuple[str, bytes]]) -> tuple[list[Source], list[FileError]]:
    """Sources for uploaded `(name, bytes)` pairs; a name that is not a Markdown or YAML
    file, or that comes twice, is an error (a folder's other files are skipped instead,
    but an upload was chosen one by one)."""
    sources, errors, seen = [], [], set()
    for name, data in files:
        if not _importable(name):
            errors.append(
                FileError(
                    name,
                    "not a news item or taxonomy file",
                    expected="a .md, .markdown, .yaml or .yml file",
                )
            )
        elif name in seen:
            errors.append(FileError(name, "uploaded twice", expected="each file once"))
        else:
            seen.add(name)
            sources.append(Source(name, data=bytes(data)))
    return _ordered(sources), errors
