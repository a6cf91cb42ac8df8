"""The raw zone: every landed file's original bytes, content-addressed, plus a manifest of deliveries.

Bytes are stored once under their SHA-256 and never overwritten, so the raw zone is immutable by
construction. The manifest (a Delta table) has one row per *delivery* (landing key): a second
delivery of the same bytes is recorded as a duplicate of the first and is not ingested again; a
file that does not fit its contract is stored all the same and recorded as rejected, with why.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime

import pyarrow as pa
import pyarrow.compute as pc

from hub_platform.defs.raw.landing import LandedFile, Landing, sha256
from hub_platform.defs.raw.probe import probe
from hub_platform.lib.lake.store import Lake
from hub_platform.sources.contract import Contract

MANIFEST = ("raw", "manifest")
S3_CONCURRENCY = 16  # requests in flight per ingest on S3 (each file is a GET, a HEAD and a PUT)
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

    def count(self, status: str) -> int:
        return pc.sum(pc.equal(self.deliveries["status"], status)).as_py() or 0

    @property
    def bytes_stored(self) -> int:
        stored = self.deliveries.filter(pc.not_equal(self.deliveries["status"], "duplicate"))
        return pc.sum(stored["size_bytes"]).as_py() or 0


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

    def known_checksums(self) -> set[str]:
        """Checksums of bytes already held (ingested or rejected): what must not be ingested again."""
        manifest = self.manifest(["checksum", "status"])
        held = manifest.filter(pc.not_equal(manifest["status"], "duplicate"))
        return set(held["checksum"].to_pylist())

    def landed(self, contracts: Iterable[Contract]) -> list[LandedFile]:
        """Every file in the landing area for these sources (what reconciliation looks at)."""
        return [f for c in contracts for f in self.landing.list_after(c.name)]

    def ingest(self, files: Iterable[LandedFile], contracts: Mapping[str, Contract], run_id: str = "") -> IngestReport:
        """Store each file's bytes, probe it against its contract, and append one manifest row each.

        Deliveries the manifest already records are skipped, so re-running an ingest is a no-op.
        """
        manifest = self.manifest(["landing_key", "checksum", "status"])
        recorded = set(manifest["landing_key"].to_pylist())
        files = [f for f in files if f.key not in recorded]
        first_delivery: dict[str, str] = {}  # checksum -> the delivery that brought those bytes
        for key, checksum, status in zip(*(manifest[c].to_pylist() for c in manifest.column_names), strict=True):
            if status != "duplicate":
                first_delivery.setdefault(checksum, key)
        now = datetime.now(UTC)
        rows = []
        # On S3 every file costs round trips (read it, ask whether its object exists, store it): they go
        # out concurrently, a window of files at a time; hashing, probing and the manifest stay in order.
        threads = S3_CONCURRENCY if self.lake.location.is_s3 or self.landing.location.is_s3 else 1
        with ThreadPoolExecutor(threads) as pool:
            for landed, data, checksum, stored in self._fetch_and_store(pool, files, set(first_delivery), threads * 4):
                rows.append(self._delivery(landed, data, checksum, stored, contracts[landed.source], first_delivery, now, run_id))
        deliveries = pa.Table.from_pylist(rows, schema=MANIFEST_SCHEMA)
        if deliveries.num_rows:
            self.lake.write(deliveries, *MANIFEST, mode="append")
            known = self.manifest()
            self._manifest = pa.concat_tables([known, deliveries.cast(known.schema)])
        return IngestReport(deliveries)

    def _fetch_and_store(self, pool: ThreadPoolExecutor, files: list[LandedFile], held: set[str], window: int):
        """(file, bytes, checksum, store future or None) in ``files`` order; bytes already held are not stored again."""
        def fetch(landed: LandedFile) -> tuple[bytes, str]:
            data = self.landing.read(landed.key)
            return data, sha256(data)

        for start in range(0, len(files), window):
            batch = files[start : start + window]
            for landed, (data, checksum) in zip(batch, pool.map(fetch, batch), strict=True):
                new = checksum not in held
                held.add(checksum)
                yield landed, data, checksum, pool.submit(self.lake.put_object, checksum, data) if new else None

    def _delivery(self, landed: LandedFile, data: bytes, checksum: str, stored, contract: Contract,
                  first_delivery: dict[str, str], now: datetime, run_id: str) -> dict:
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
        if checksum in first_delivery:
            return row | {"status": "duplicate", "reason": f"same bytes as {first_delivery[checksum]}"}
        result = probe(data, contract)
        stored.result()  # the bytes are in raw before the manifest can say so
        first_delivery[checksum] = landed.key
        return row | {
            "row_count": result.row_count,
            "status": result.status,
            "reason": result.rejected,
            "notes": "; ".join(result.notes) or None,
        }
