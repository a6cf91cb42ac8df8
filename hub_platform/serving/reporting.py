"""What each zone holds, in words a newcomer can read after `make run` (``hub status``)."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from hub_platform.defs.raw.ingest import MANIFEST
from hub_platform.lib.lake.store import Lake

ZONES = ("raw", "clean", "quarantine", "curated", "customer360", "product360", "forecast", "orders")


def table_rows(lake: Lake, zone: str, name: str) -> int:
    """Row count from the Delta log's file statistics, without reading data."""
    actions = pa.table(lake.delta(zone, name).get_add_actions(flatten=True))  # arro3 → pyarrow
    return pc.sum(actions["num_records"]).as_py() or 0


def zone_report(lake: Lake) -> str:
    lines = [f"lake: {lake.root}"]
    for zone in ZONES:
        tables = lake.tables(zone)
        lines.append(f"\n{zone}/  ({len(tables)} table{'s' * (len(tables) != 1)})")
        if zone == "raw" and lake.has_table(*MANIFEST):
            lines.extend(_raw_summary(lake))
            continue
        for name in tables:
            lines.append(f"  {name:<40} {table_rows(lake, zone, name):>12,} rows   version {lake.version(zone, name)}")
        if not tables:
            lines.append("  (none: no row has been quarantined)" if zone == "quarantine" else "  (empty: not materialized yet)")
    return "\n".join(lines)


def _raw_summary(lake: Lake) -> list[str]:
    manifest = lake.read(*MANIFEST, columns=["feed", "status", "size_bytes", "row_count"])
    grouped = manifest.group_by(["feed", "status"]).aggregate([("size_bytes", "sum"), ("row_count", "sum"), ("status", "count")])
    summary: dict[str, dict[str, tuple[int, int, int]]] = {}
    for row in grouped.to_pylist():
        summary.setdefault(row["feed"], {})[row["status"]] = (row["status_count"], row["size_bytes_sum"] or 0, row["row_count_sum"] or 0)
    lines = []
    for feed, by_status in sorted(summary.items()):
        files, size, rows = by_status.get("ingested", (0, 0, 0))
        extra = ", ".join(f"{by_status[s][0]} {s}" for s in ("rejected", "duplicate") if s in by_status)
        lines.append(f"  {feed:<40} {files:>6} files {size / 1e6:>9.1f} MB {rows:>12,} rows" + (f"   ({extra})" if extra else ""))
    return lines
