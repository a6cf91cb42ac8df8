"""The landing area: where source systems drop files, one folder (or S3 prefix) per source.

Keys sort in arrival order (``<source>/<UTC timestamp>_<name>``: the seed generator and ``hub land``
write them so), which lets a sensor keep one key per source as its cursor and ask only for what
came after it: S3 ``ListObjectsV2(StartAfter=...)`` instead of re-listing a large prefix every tick.
A file whose key sorts before the cursor is not lost: the raw assets' reconciliation scans everything.

What in a source's folder is ingested, and what is reported instead (never raised, so one source's odd
entry stops nothing else), is decided in one place (:func:`unusable_reason`):

| entry | outcome |
|---|---|
| a regular file | ingested |
| a name ending in one of TEMPORARY_SUFFIXES, or starting with ``.`` | still being written: skipped and reported until renamed to its final name |
| a symbolic link | not followed (it could point anywhere, e.g. ``/etc``): reported |
| a sub-folder (an S3 key with ``/`` after the source) | not ingested: reported; land files directly in the source's folder |
| a name that is not UTF-8 | reported with the bytes escaped, to be renamed (keys are text everywhere downstream) |
| a device, pipe or socket | reported |

``hub land`` refuses names the listing would skip, and names that cannot be one entry of the folder
(``.``, ``..``, ``/``, NUL, more than MAX_NAME_BYTES), so what it reports as landed is what gets ingested.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime

import pyarrow.fs as pafs

from hub_platform.lib.lake.store import Location

# Names writers give a file while it is incomplete: this hub's own (Location.write_bytes), curl/wget,
# browsers, WinSCP/FileZilla, rsync (hidden ``.name.XXXXXX``).
TEMPORARY_SUFFIXES = (".partial", ".part", ".tmp", ".crdownload", ".filepart")
MAX_NAME_BYTES = 200  # with the arrival-time prefix, well inside the 255 bytes a folder entry may have
_SOURCE = re.compile(r"^[a-z][a-z0-9_]*$")


@dataclass(frozen=True)
class LandedFile:
    source: str
    key: str  # relative to the landing root: "<source>/<name>"
    size: int
    received_at: datetime  # when the object was written to the landing area

    @property
    def name(self) -> str:
        return self.key.split("/", 1)[1]


@dataclass(frozen=True)
class Unusable:
    """An entry of a source's landing folder that is not ingested, and why (shown by the raw assets)."""

    key: str  # printable: bytes that are not UTF-8 appear as \xNN
    reason: str


def unusable_reason(name: str, *, is_file: bool = True, is_symlink: bool = False, is_dir: bool = False) -> str | None:
    """Why an entry of a landing folder is not ingested, or None when it is (see the module docstring)."""
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return "the name is not valid UTF-8: rename the file to a UTF-8 name and it is ingested"
    if is_symlink:
        return "a symbolic link: not followed; land the file itself"
    if is_dir or "/" in name:
        return "in a sub-folder: only files directly in the source's folder are ingested"
    if not is_file:
        return "not a regular file (a device, pipe or socket)"
    if name.startswith(".") or name.endswith(TEMPORARY_SUFFIXES):
        return f"still being written (a hidden name or one ending in {', '.join(TEMPORARY_SUFFIXES)}): ingested once renamed"
    return None


def landing_name_problem(name: str) -> str | None:
    """Why ``hub land`` may not land a file under ``name`` (None: it may)."""
    if name in ("", ".", "..") or any(c in name for c in "/\\\0"):
        return f"{name!r} is not a file name (no '/', '\\', NUL, '.' or '..')"
    if len(name.encode("utf-8", "surrogateescape")) > MAX_NAME_BYTES:
        return f"the name is {len(name.encode('utf-8', 'surrogateescape'))} bytes long; at most {MAX_NAME_BYTES}: shorten it"
    return unusable_reason(name)


def _printable(name: str) -> str:
    return os.fsencode(name).decode("utf-8", "backslashreplace")


class Landing:
    def __init__(self, location: Location):
        self.location = location

    def list_after(self, source: str, after: str | None = None, limit: int | None = None) -> list[LandedFile]:
        """Files of ``source`` whose key sorts after ``after``, in key order, at most ``limit``."""
        files: list[LandedFile] = []
        for landed in self._iter_sorted(source, after):
            files.append(landed)
            if limit is not None and len(files) >= limit:
                break
        return files

    def unusable(self, source: str) -> list[Unusable]:
        """Entries of ``source``'s folder that are not ingested, with why."""
        return self._scan(source)[1] if not self.location.is_s3 else list(self._iter_s3(source, None, unusable=True))

    def _iter_sorted(self, source: str, after: str | None) -> Iterator[LandedFile]:
        if self.location.is_s3:
            yield from self._iter_s3(source, after)
            return
        for name, stat in sorted(self._scan(source)[0]):
            key = f"{source}/{name}"
            if after is None or key > after:
                yield LandedFile(source, key, stat.st_size, datetime.fromtimestamp(stat.st_mtime, UTC))

    def _scan(self, source: str) -> tuple[list[tuple[str, os.stat_result]], list[Unusable]]:
        """(usable files with their stat, unusable entries) of a local source folder; never raises for an entry."""
        folder = self.location.path(source)
        if os.path.islink(folder):
            return [], [Unusable(f"{source}/", "the source's folder is a symbolic link: not followed")]
        try:
            entries = list(os.scandir(folder))
        except FileNotFoundError:
            return [], []
        except OSError as error:
            return [], [Unusable(f"{source}/", f"the folder cannot be listed: {error.strerror}")]
        usable, unusable = [], []
        for entry in entries:
            try:
                reason = unusable_reason(entry.name, is_file=entry.is_file(follow_symlinks=False),
                                         is_symlink=entry.is_symlink(), is_dir=entry.is_dir(follow_symlinks=False))
                if reason is None:
                    usable.append((entry.name, entry.stat(follow_symlinks=False)))
            except OSError as error:  # gone or unreadable between listing and stat
                reason = f"cannot be read: {error.strerror}"
            if reason is not None:
                unusable.append(Unusable(f"{source}/{_printable(entry.name)}", reason))
        return usable, sorted(unusable, key=lambda u: u.key)

    def _iter_s3(self, source: str, after: str | None, *, unusable: bool = False) -> Iterator:
        client = self.location.s3_client
        bucket, _, prefix = self.location.root.removeprefix("s3://").partition("/")
        base = f"{prefix.strip('/')}/" if prefix.strip("/") else ""
        kwargs = {"Bucket": bucket, "Prefix": f"{base}{source}/"}
        if after:
            kwargs["StartAfter"] = f"{base}{after}"
        for page in client.get_paginator("list_objects_v2").paginate(**kwargs):
            for item in page.get("Contents", []):
                key = item["Key"][len(base) :]
                reason = unusable_reason(key.split("/", 1)[1])
                if unusable and reason:
                    yield Unusable(key, reason)
                elif not unusable and not reason:
                    yield LandedFile(source, key, item["Size"], item["LastModified"].astimezone(UTC))

    def stat(self, key: str) -> LandedFile:
        if not self.location.is_s3:
            try:
                info = os.lstat(self.location.path(key))
            except FileNotFoundError:
                raise FileNotFoundError(f"{key} is not in the landing area {self.location.root}") from None
            if not os.path.isfile(self.location.path(key)) or os.path.islink(self.location.path(key)):
                raise FileNotFoundError(f"{key} in {self.location.root} is not a regular file")
            return LandedFile(key.split("/", 1)[0], key, info.st_size, datetime.fromtimestamp(info.st_mtime, UTC))
        info = self.location.filesystem.get_file_info(self.location.path(key))
        if info.type == pafs.FileType.NotFound:
            raise FileNotFoundError(f"{key} is not in the landing area {self.location.root}")
        return LandedFile(key.split("/", 1)[0], key, info.size, info.mtime.astimezone(UTC))

    def stat_many(self, keys: list[str]) -> list[LandedFile]:
        """``stat`` of each key, in order; on S3 the requests go out concurrently."""
        if not self.location.is_s3:
            return [self.stat(key) for key in keys]
        with ThreadPoolExecutor(16) as pool:
            return list(pool.map(self.stat, keys))

    def read(self, key: str) -> bytes:
        """The file's bytes; locally never through a symbolic link (one swapped in after listing included)."""
        if self.location.is_s3:
            return self.location.read_bytes(key)
        descriptor = os.open(self.location.path(key), os.O_RDONLY | os.O_NOFOLLOW)
        with os.fdopen(descriptor, "rb") as handle:
            return handle.read()

    def land(self, source: str, name: str, data: bytes, received: datetime | None = None) -> LandedFile:
        """Drop a file for ``source`` under an arrival-ordered key (what ``hub land`` does).

        Refuses a name the landing listing would not ingest (see the module docstring)."""
        if not _SOURCE.match(source):
            raise ValueError(f"{source!r} is not a source name")
        problem = landing_name_problem(name)
        if problem:
            raise ValueError(f"cannot land {_printable(name)!r}: {problem}")
        received = received or datetime.now(UTC)
        key = f"{source}/{received.strftime('%Y%m%dT%H%M%S%fZ')}_{name}"
        self.location.write_bytes(data, key)
        return LandedFile(source, key, len(data), received)


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
