"""Clean zone: rows per second raw → clean, end to end (read objects, parse, type, standardize,
quarantine, MERGE into Delta, ledger), next to the I/O floor: a plain pyarrow read of the same
files plus a pyarrow Parquet write."""

from __future__ import annotations

import io
import tempfile
from pathlib import Path

import pyarrow.csv as pv
import pyarrow.json as pj
import pyarrow.parquet as pq

from benchmarks.common import Report, sample, timed
from hub_platform.defs.clean.processing import CleanZone
from hub_platform.defs.raw.ingest import RawZone
from hub_platform.defs.raw.landing import Landing
from hub_platform.lib.lake.store import Lake, Location
from hub_platform.sources.contract import default_registry


def run() -> Report:
    report = Report("clean_zone")
    registry = default_registry()
    landing_root = sample() / "landing"
    with tempfile.TemporaryDirectory(prefix="hub-bench-clean-") as scratch:
        scratch = Path(scratch)
        raw = RawZone(Lake(Location(str(scratch / "lake"))), Landing(Location(str(landing_root))))
        raw.ingest(raw.landed(registry.sources.values()), registry.sources)
        manifest = raw.manifest().to_pylist()

        floor = timed()
        rows_read = 0
        with floor.running():
            for i, row in enumerate(r for r in manifest if r["status"] == "ingested"):
                table = _plain_read(raw.lake.get_object(row["checksum"]), registry.sources[row["source"]].format)
                if table is not None:
                    rows_read += table.num_rows
                    pq.write_table(table, scratch / f"floor-{i}.parquet")

        zone = CleanZone(raw.lake)
        clean = timed()
        rows_clean = rows_quarantined = 0
        by_feed: list[tuple[str, float, int]] = []
        for feed, contracts in registry.feeds.items():
            one = timed()
            with one.running(), clean.running():
                outcomes = zone.process(raw, contracts).outcomes
            rows = sum(o.rows_clean + o.quarantine.num_rows for o in outcomes)
            rows_clean += sum(o.rows_clean for o in outcomes)
            rows_quarantined += sum(o.quarantine.num_rows for o in outcomes)
            by_feed.append((feed, one.seconds, rows))
        total = rows_clean + rows_quarantined
        report.add("pyarrow read + Parquet write (floor)", f"{rows_read / floor.seconds:12,.0f} rows/s  ({floor.seconds:.1f} s, {rows_read:,} rows)")
        report.add("clean zone, end to end", f"{total / clean.seconds:12,.0f} rows/s  ({clean.seconds:.1f} s, {total:,} rows, {rows_quarantined:,} quarantined)")
        report.add("clean / floor time ratio (target ≤ 3)", f"{clean.seconds / floor.seconds:12.2f} x")
        for feed, seconds, rows in sorted(by_feed, key=lambda f: -f[1])[:8]:
            report.add(f"  {feed}", f"{seconds:8.2f} s  {rows:>10,} rows")
    report.save()
    return report


def _plain_read(data: bytes, file_format):
    if file_format.type == "parquet":
        return pq.read_table(io.BytesIO(data))
    if file_format.type == "csv":
        return pv.read_csv(io.BytesIO(data), parse_options=pv.ParseOptions(delimiter=file_format.delimiter),
                           read_options=pv.ReadOptions(encoding=file_format.encoding))
    return pj.read_json(io.BytesIO(data))


if __name__ == "__main__":
    run()
