"""What an admin upload holds: Markdown and YAML files, or zips of them, as `(name, bytes)`.

The admin hands over what the browser sent; `unpack()` returns the files to import,
in memory, or raises Refused with one line per problem when the upload as a whole
cannot be taken: more files or bytes than the settings allow, a zip that expands
more than NEWSROOM_UPLOAD_MAX_ZIP_RATIO times its size to more than a megabyte (a zip
bomb), a member named
with `..` or an absolute path, a damaged or encrypted zip. A zip's sizes are read from
its directory before anything is decompressed, and every member is read with a cap,
so a zip that lies about its sizes is refused too, never unpacked beyond the limits.

What one file holds is not judged here: `sources.uploaded()` and the Importer apply
the command line's rules to each (its suffix, NEWSROOM_IMPORT_MAX_BYTES, its content),
and a bad file fails alone.
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass
from pathlib import PurePosixPath, PureWindowsPath

from django.conf import settings

# A zip that unpacks to less is small however well it compressed (one long, repetitive
# file can compress 200 times): the expansion ratio is judged above this only.
RATIO_FLOOR = 1024 * 1024
# Folders that zip tools add beside the content (macOS resource forks): never items.
IGNORED_FOLDERS = ("__MACOSX/",)


class Refused(Exception):
    """The upload cannot be taken; `lines` says why, one line per problem."""

    def __init__(self, lines: list[str]):
        super().__init__("; ".join(lines))
        self.lines = lines


@dataclass(frozen=True)
class Limits:
    max_files: int
    max_bytes: int
    max_ratio: int

    @classmethod
    def from_settings(cls) -> Limits:
        return cls(
            max_files=settings.NEWSROOM_UPLOAD_MAX_FILES,
            max_bytes=settings.NEWSROOM_UPLOAD_MAX_BYTES,
            max_ratio=settings.NEWSROOM_UPLOAD_MAX_ZIP_RATIO,
        )


def unpack(uploads, limits: Limits | None = None) -> list[tuple[str, bytes]]:
    """`(name, bytes)` for each uploaded file (anything with `.name` and `.read()`), a
    zip's members in its place, named by their path inside it."""
    limits = limits or Limits.from_settings()
    files, total = [], 0
    for upload in uploads:
        budget = limits.max_bytes - total
        if upload.name.lower().endswith(".zip"):
            found = _members(upload, limits, budget)
        else:
            data = upload.read(budget + 1)
            if len(data) > budget:
                raise _too_large(limits)
            found = [(upload.name, data)]
        files += found
        total += sum(len(data) for _, data in found)
        if len(files) > limits.max_files:
            raise _too_many(limits)
    return files


def _members(upload, limits: Limits, budget: int) -> list[tuple[str, bytes]]:
    try:
        archive = zipfile.ZipFile(upload)
    except (zipfile.BadZipFile, OSError) as error:
        raise Refused([f"{upload.name}: not a readable zip ({error})"]) from None
    with archive:
        members = [
            info
            for info in archive.infolist()
            if not info.is_dir() and not info.filename.startswith(IGNORED_FOLDERS)
        ]
        problems = [line for info in members if (line := _bad_member(upload.name, info))]
        if problems:
            raise Refused(problems)
        if len(members) > limits.max_files:
            raise _too_many(limits)
        declared = sum(info.file_size for info in members)
        if declared > budget:
            raise _too_large(limits)
        size = getattr(upload, "size", None) or sum(info.compress_size for info in members) or 1
        if declared > RATIO_FLOOR and declared > size * limits.max_ratio:
            raise Refused(
                [
                    f"{upload.name}: unpacks to {declared:,} bytes, {declared // size:,} times "
                    f"its size (expected at most {limits.max_ratio} times, "
                    "NEWSROOM_UPLOAD_MAX_ZIP_RATIO)"
                ]
            )
        return [(info.filename, _read(archive, upload.name, info)) for info in members]


def _bad_member(zip_name: str, info: zipfile.ZipInfo) -> str | None:
    name = info.filename
    if (
        PurePosixPath(name).is_absolute()
        or PureWindowsPath(name).is_absolute()
        or (PureWindowsPath(name).drive)
    ):
        return f"{zip_name}: member {name!r} has an absolute name (expected a path inside the zip)"
    if ".." in PureWindowsPath(name).parts:  # splits on both / and \
        return (
            f"{zip_name}: member {name!r} points outside the zip with '..' "
            "(expected a path inside it)"
        )
    if info.flag_bits & 0x1:
        return f"{zip_name}: member {name!r} is encrypted (expected a zip without a password)"
    return None


def _read(archive: zipfile.ZipFile, zip_name: str, info: zipfile.ZipInfo) -> bytes:
    """The member's bytes, never more than its declared size (the CRC check too)."""
    try:
        with archive.open(info) as member:
            data = member.read(info.file_size + 1)
    except (zipfile.BadZipFile, OSError, NotImplementedError, EOFError) as error:
        raise Refused([f"{zip_name}: member {info.filename!r} cannot be read ({error})"]) from None
    if len(data) != info.file_size:
        raise Refused(
            [f"{zip_name}: member {info.filename!r} is not the size its zip says (damaged zip)"]
        )
    return data


def _too_many(limits: Limits) -> Refused:
    return Refused(
        [
            f"more than {limits.max_files:,} files "
            "(expected at most that many, NEWSROOM_UPLOAD_MAX_FILES; import in parts)"
        ]
    )


def _too_large(limits: Limits) -> Refused:
    return Refused(
        [
            f"more than {limits.max_bytes:,} bytes in all "
            "(expected at most that many, NEWSROOM_UPLOAD_MAX_BYTES; import in parts)"
        ]
    )
