"""What each zone holds, in words a newcomer can read after `make run` (``hub status``).

One row per asset of the graph, and one per supporting table (quarantines, ledgers, state tables that
are written beside an asset rather than being one): rows, Delta version, when it was last written and
how long ago, whether it is behind its inputs, and the state of its checks as the Dagster instance
last recorded them. Raw feeds are objects plus the manifest, so their rows and files come from the
manifest.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from hub_platform.defs.raw.ingest import MANIFEST
from hub_platform.lib.lake.store import Lake

ZONES = ("raw", "clean", "quarantine", "curated", "customer360", "product360", "forecast", "orders")
COLUMNS = ["zone", "table", "kind", "rows", "files", "version", "updated_utc", "age", "freshness", "checks"]


def table_rows(lake: Lake, zone: str, name: str) -> int:
    """Row count from the Delta log's file statistics, without reading data."""
    actions = pa.table(lake.delta(zone, name).get_add_actions(flatten=True))  # arro3 → pyarrow
    return pc.sum(actions["num_records"]).as_py() or 0


def age(then: datetime | None, now: datetime) -> str:
    """How long ago, in the largest unit that says it: 40s, 12 min, 3 h, 5 days."""
    if then is None:
        return ""
    seconds = max(0, (now - then).total_seconds())
    for unit, size in (("days", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{seconds / size:.0f} {unit}" if unit != "days" or seconds >= 2 * size else "1 day"
    return f"{seconds:.0f}s"


def _last_commit(lake: Lake, zone: str, name: str) -> datetime:
    return datetime.fromtimestamp(lake.history(zone, name, 1)[0]["timestamp"] / 1000, UTC)


def _checks(graph, key, records) -> str:
    """'3 passed', '1 of 4 failed: great_expectations', 'not run' — from the latest evaluation of each check."""
    names = sorted(graph.get(key).check_keys, key=lambda k: k.name)
    if not names:
        return "none declared"
    failed, passed, missing = [], 0, 0
    for check in names:
        record = records.get(check)
        evaluation = record.event.dagster_event.event_specific_data if record and record.event else None
        if evaluation is None or not hasattr(evaluation, "passed"):
            missing += 1
        elif evaluation.passed:
            passed += 1
        else:
            failed.append(f"{check.name} ({evaluation.severity.value.lower()})")
    parts = ([f"{len(failed)} of {len(names)} did not pass: {', '.join(failed)}"] if failed else []) + \
        ([f"{passed} passed"] if passed else []) + ([f"{missing} not run"] if missing else [])
    return "; ".join(parts)


def _raw_feeds(lake: Lake) -> dict[str, dict]:
    if not lake.has_table(*MANIFEST):
        return {}
    manifest = lake.read(*MANIFEST, columns=["feed", "status", "row_count"])
    grouped = manifest.group_by(["feed", "status"]).aggregate([("row_count", "sum"), ("status", "count")])
    feeds: dict[str, dict] = {}
    for row in grouped.to_pylist():
        feed = feeds.setdefault(row["feed"], {"rows": 0, "files": 0, "other": []})
        if row["status"] == "ingested":
            feed["rows"], feed["files"] = row["row_count_sum"] or 0, row["status_count"]
        else:
            feed["other"].append(f"{row['status_count']} {row['status']}")
    return feeds


def status_rows(lake: Lake, graph, instance, now: datetime | None = None) -> pd.DataFrame:
    """The status table (COLUMNS). ``graph``: the Definitions' asset graph; ``instance``: the Dagster instance."""
    now = now or datetime.now(UTC)
    keys = sorted(graph.get_all_asset_keys())
    latest = instance.get_latest_materialization_events(keys)
    materialized = {k: datetime.fromtimestamp(e.timestamp, UTC) for k, e in latest.items() if e is not None}
    checks = instance.event_log_storage.get_latest_asset_check_execution_by_key(
        [c for k in keys for c in graph.get(k).check_keys])
    feeds = _raw_feeds(lake)
    rows, seen = [], {MANIFEST}
    for key in keys:
        zone, name = key.path[0], key.path[-1]
        seen.add((zone, name))
        row = {"zone": zone, "table": name, "kind": "asset", "rows": None, "files": None, "version": None}
        when = materialized.get(key)
        if zone == "raw":
            feed = feeds.get(name)
            row |= {"kind": "feed", "rows": feed and feed["rows"], "files": feed and feed["files"]}
            if feed and feed["other"]:
                row["kind"] = f"feed ({', '.join(feed['other'])})"
        elif lake.has_table(zone, name):
            row |= {"rows": table_rows(lake, zone, name), "version": lake.version(zone, name)}
            when = when or _last_commit(lake, zone, name)
        behind = sorted(p.to_user_string() for p in graph.get(key).parent_keys
                        if when and p in materialized and materialized[p] > when)
        row |= {
            "updated_utc": when.strftime("%Y-%m-%d %H:%M") if when else None,
            "age": age(when, now),
            "freshness": ("not materialized" if when is None and row["rows"] is None else
                          f"stale: {behind[0]}{f' and {len(behind) - 1} more' if len(behind) > 1 else ''} changed since" if behind
                          else "no run recorded in this instance" if key not in materialized else "up to date"),
            "checks": _checks(graph, key, checks),
        }
        rows.append(row)
    for zone in ZONES:
        for name in lake.tables(zone):
            if (zone, name) in seen and (zone, name) != MANIFEST:
                continue
            when = _last_commit(lake, zone, name)
            rows.append({"zone": zone, "table": name, "kind": "supporting", "rows": table_rows(lake, zone, name),
                         "files": None, "version": lake.version(zone, name), "updated_utc": when.strftime("%Y-%m-%d %H:%M"),
                         "age": age(when, now), "freshness": "", "checks": ""})
    frame = pd.DataFrame(rows, columns=COLUMNS)
    order = {zone: i for i, zone in enumerate(ZONES)}
    return frame.sort_values(["zone", "kind", "table"], key=lambda c: c.map(order) if c.name == "zone" else c,
                             kind="stable").reset_index(drop=True).astype({"rows": "Int64", "files": "Int64", "version": "Int64"})


def status_text(rows: pd.DataFrame, root: str) -> str:
    """The status table as a newcomer reads it: one block per zone, assets first, supporting tables after."""
    lines = [f"lake: {root}", "freshness: 'stale' means an input was rematerialized after the table; checks as last evaluated"]
    for zone in ZONES:
        part = rows[rows.zone == zone]
        if part.empty:
            continue
        assets = part[part.kind != "supporting"]
        done = assets.updated_utc.notna().sum()
        label = "feeds" if zone == "raw" else "assets"
        lines.append(f"\n{zone}/  " + (f"{done} of {len(assets)} {label} materialized" if len(assets) else
                                       f"{len(part)} supporting table(s)"))
        for row in part.itertuples():
            if row.kind == "supporting" and zone != "quarantine" and len(assets):
                continue
            size = "" if pd.isna(row.rows) else f"{row.rows:>10,} rows" + ("" if pd.isna(row.files) else f" in {row.files:,} files")
            when = f"{row.updated_utc} ({row.age} ago)" if row.updated_utc else ""
            tag = "" if row.kind in ("asset", "feed", "supporting") else f"  [{row.kind}]"
            lines.append(f"  {row.table:<30} {size:<28} {when:<28} {row.freshness:<20} {row.checks}{tag}".rstrip())
        supporting = part[(part.kind == "supporting") & (zone != "quarantine") & (len(assets) > 0)]
        if len(supporting):
            lines.append("  supporting: " + ", ".join(f"{t} ({r:,} rows)" for t, r in zip(supporting.table, supporting.rows, strict=True)))
    return "\n".join(lines)
