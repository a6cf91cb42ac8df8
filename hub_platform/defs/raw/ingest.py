"""The raw zone: every landed file's original bytes, content-addressed, plus a manifest of deliveries.

Bytes are stored once under their SHA-256 and never overwritten, so the raw zone is immutable by
construction. The manifest (a Delta table) has one row per *delivery* (landing key): a second
delivery of the same bytes *by the same source* is recorded as a duplicate of the first and is not
ingested again (the same bytes from another source are that source's delivery); a file that does
not fit its contract is stored all the same and recorded as rejected, with why.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime

import pyarrow as pa
import pyarrow.compute as pc

from hub_platform.defs.raw.landing import LandedFile, Landing, sha256
from hub_platform.defs.raw.probe import probe
from hub_platform.lib.lake.store import Lake
from hub_platform.sources.contract import Contract

MANIFEST = ("raw", "manifest")
S3_CONCURRENCY = 16  # requests in flight per ingest on S3
MANIFEST_SCHEMA = pa.schema(
    [
        ("landing_key", pa.string()),
        ("source", pa.string()),
        ("feed", pa.string()),
        ("system", pa.string()),
        ("checksum", pa.string()),
        ("size_bytes", pa.int64()),
        ("received_at", pa.timestamp("us", tz="UTC")),
        ("ingested_at", pa.timestamp("us", tz="UTC")),
        ("row_count", pa.int64()),
        ("status", pa.string()),  # ingested | rejected | duplicate
        ("reason", pa.string()),  # why rejected, or which delivery it duplicates
        ("notes", pa.string()),  # warnings such as unexpected columns
        ("run_id", pa.string()),
    ]
)


@dataclass(frozen=True)
class IngestReport:
    deliveries: pa.Table  # the manifest rows this ingest appended
    unreadable: tuple[tuple[str, str], ...] = ()  # (landing key, why): not recorded, so a later run tries again

    def count(self, status: str) -> int:
        return pc.sum(pc.equal(self.deliveries["status"], status)).as_py() or 0

    @property
    def bytes_stored(self) -> int:
        """Bytes of the distinct contents this ingest held (two sources' copies of one file are stored once)."""
        stored = self.deliveries.filter(pc.not_equal(self.deliveries["status"], "duplicate"))
        return sum(dict(zip(stored["checksum"].to_pylist(), stored["size_bytes"].to_pylist(), strict=True)).values())


class RawZone:
    """The raw zone of one run (or sensor tick): the manifest is read once and kept up to date with
    this zone's own appends, so a run of many feeds does not re-read a growing table per feed. Writers
    of the manifest are serialized, so no other process appends while a run holds it."""

    def __init__(self, lake: Lake, landing: Landing):
        self.lake = lake
        self.landing = landing
        self._manifest: pa.Table | None = None

    def manifest(self, columns: list[str] | None = None, feed: str | None = None) -> pa.Table:
        if self._manifest is None:
            self._manifest = self.lake.read_or_empty(*MANIFEST, MANIFEST_SCHEMA)
        table = self._manifest
        if feed is not None:
            table = table.filter(pc.equal(table["feed"], feed))
        return table.select(columns) if columns else table

    def held(self) -> set[tuple[str, str]]:
        """(source, checksum) of deliveries already held (ingested or rejected): what must not be ingested again."""
        manifest = self.manifest(["source", "checksum", "status"])
        held = manifest.filter(pc.not_equal(manifest["status"], "duplicate"))
        return set(zip(held["source"].to_pylist(), held["checksum"].to_pylist(), strict=True))

    def landed(self, contracts: Iterable[Contract]) -> list[LandedFile]:
        """Every file in the landing area for these sources (what reconciliation looks at)."""
        return [f for c in contracts for f in self.landing.list_after(c.name)]

    def ingest(self, files: Iterable[LandedFile], contracts: Mapping[str, Contract], run_id: str = "") -> IngestReport:
        """Store each file's bytes, probe it against its contract, and append one manifest row each.

        Deliveries the manifest already records are skipped, so re-running an ingest is a no-op; the
        manifest is merged by landing key, so two runs ingesting one delivery at once record it once.
        On S3 each file costs two requests (read it, store its bytes once): up to S3_CONCURRENCY of
        them are in flight while hashing, duplicate detection and probing go through the files in order.
        """
        manifest = self.manifest(["landing_key", "source", "checksum", "status"])
        recorded = set(manifest["landing_key"].to_pylist())
        files = [f for f in files if f.key not in recorded]
        first_delivery: dict[tuple[str, str], str] = {}  # (source, checksum) -> the delivery that brought those bytes
        for key, source, checksum, status in zip(*(manifest[c].to_pylist() for c in manifest.column_names), strict=True):
            if status != "duplicate":
                first_delivery.setdefault((source, checksum), key)
        now = datetime.now(UTC)
        rows, unreadable, stores = [], [], deque()
        remote = self.lake.location.is_s3 or self.landing.location.is_s3
        with ThreadPoolExecutor(S3_CONCURRENCY if remote else 1) as pool:
            for landed, fetched in self._fetched(pool, files, ahead=S3_CONCURRENCY * 4 if remote else 1):
                try:
                    data, checksum = fetched.result()
                except OSError as error:  # gone, or swapped for a symbolic link, since it was listed
                    unreadable.append((landed.key, error.strerror or str(error)))
                    continue
                contract = contracts[landed.source]
                row = {
                    "landing_key": landed.key,
                    "source": contract.name,
                    "feed": contract.feed,
                    "system": contract.system,
                    "checksum": checksum,
                    "size_bytes": len(data),
                    "received_at": landed.received_at,
                    "ingested_at": now,
                    "run_id": run_id,
                }
                if (contract.name, checksum) in first_delivery:
                    row |= {"status": "duplicate", "reason": f"same bytes as {first_delivery[contract.name, checksum]}"}
                else:
                    stores.append(pool.submit(self.lake.put_object, checksum, data))
                    if len(stores) > S3_CONCURRENCY * 4:  # bounded: a slow store holds back the reading
                        stores.popleft().result()
                    row |= _probed(data, contract)
                    first_delivery[contract.name, checksum] = landed.key
                rows.append(row)
        for stored in stores:  # every object is in raw before the manifest says so (a failed store raises here)
            stored.result()
        deliveries = pa.Table.from_pylist(rows, schema=MANIFEST_SCHEMA)
        if deliveries.num_rows:  # keyed by delivery: a second writer of the same delivery adds nothing
            merged = self.lake.upsert(deliveries, *MANIFEST, keys=["landing_key"], insert_only=True)
            if merged.get("num_target_rows_inserted") == deliveries.num_rows and self._manifest is not None:
                self._manifest = pa.concat_tables([self._manifest, deliveries.cast(self._manifest.schema)])
            else:  # another writer recorded some of these deliveries first: read what it merged
                self._manifest = None
        return IngestReport(deliveries, tuple(unreadable))

    def _fetched(self, pool: ThreadPoolExecutor, files: list[LandedFile], ahead: int) -> Iterator[tuple[LandedFile, Future]]:
        """Each file with the future of its (bytes, checksum), in order, read up to ``ahead`` files ahead
        (so a large ingest holds a bounded number of files in memory)."""
        def read(landed: LandedFile) -> tuple[bytes, str]:
            data = self.landing.read(landed.key)
            return data, sha256(data)

        pending: deque[tuple[LandedFile, Future]] = deque()
        for landed in files:
            pending.append((landed, pool.submit(read, landed)))
            if len(pending) > ahead:
                yield pending.popleft()
        yield from pending

    def reprobe(self, deliveries: list[dict], contracts: Mapping[str, Contract]) -> list[dict]:
        """Probe held deliveries again under their sources' current contracts (a replay): the manifest's
        status, row count, reason and notes follow the contract; the bytes are untouched."""
        updated = [row | _probed(self.lake.get_object(row["checksum"]), contracts[row["source"]]) for row in deliveries]
        if updated:
            # a replay updates the verdict (not insert_only: the delivery's row is already there)
            self.lake.upsert(pa.Table.from_pylist(updated, schema=MANIFEST_SCHEMA), *MANIFEST, keys=["landing_key"])
            self._manifest = None  # read again when next asked: the cached rows hold the old verdict
        return updated


def _probed(data: bytes, contract: Contract) -> dict:
    result = probe(data, contract)
    return {"row_count": result.row_count, "status": result.status, "reason": result.rejected, "notes": "; ".join(result.notes) or None}
