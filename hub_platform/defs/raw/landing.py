"""The landing area: where source systems drop files, one folder (or S3 prefix) per source.

Keys sort in arrival order (``<source>/<UTC timestamp>_<name>``: the seed generator and ``hub land``
write them so), which lets a sensor keep one key per source as its cursor and ask only for what
came after it: S3 ``ListObjectsV2(StartAfter=...)`` instead of re-listing a large prefix every tick.
A file whose key sorts before the cursor is not lost: the raw assets' reconciliation scans everything.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime

import pyarrow.fs as pafs

from hub_platform.lib.lake.store import Location


@dataclass(frozen=True)
class LandedFile:
    source: str
    key: str  # relative to the landing root: "<source>/<name>"
    size: int
    received_at: datetime  # when the object was written to the landing area

    @property
    def name(self) -> str:
        return self.key.split("/", 1)[1]


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

    def _iter_sorted(self, source: str, after: str | None) -> Iterator[LandedFile]:
        if self.location.is_s3:
            yield from self._iter_s3(source, after)
            return
        folder = self.location.path(source)
        try:
            entries = [(e.name, e.stat()) for e in os.scandir(folder) if e.is_file() and not e.name.endswith(".partial")]
        except FileNotFoundError:
            return
        for name, stat in sorted(entries):
            key = f"{source}/{name}"
            if after is None or key > after:
                yield LandedFile(source, key, stat.st_size, datetime.fromtimestamp(stat.st_mtime, UTC))

    def _iter_s3(self, source: str, after: str | None) -> Iterator[LandedFile]:
        client = self.location.s3_client
        bucket, _, prefix = self.location.root.removeprefix("s3://").partition("/")
        base = f"{prefix.strip('/')}/" if prefix.strip("/") else ""
        kwargs = {"Bucket": bucket, "Prefix": f"{base}{source}/"}
        if after:
            kwargs["StartAfter"] = f"{base}{after}"
        for page in client.get_paginator("list_objects_v2").paginate(**kwargs):
            for item in page.get("Contents", []):
                yield LandedFile(source, item["Key"][len(base) :], item["Size"], item["LastModified"].astimezone(UTC))

    def stat(self, key: str) -> LandedFile:
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
        return self.location.read_bytes(key)

    def land(self, source: str, name: str, data: bytes, received: datetime | None = None) -> LandedFile:
        """Drop a file for ``source`` under an arrival-ordered key (what ``hub land`` does)."""
        received = received or datetime.now(UTC)
        key = f"{source}/{received.strftime('%Y%m%dT%H%M%S%fZ')}_{name}"
        self.location.write_bytes(data, key)
        return LandedFile(source, key, len(data), received)


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
