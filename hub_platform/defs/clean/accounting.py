"""Every row that arrives is accounted for: for each raw file, rows in clean + rows in quarantine
= rows in the file, and the clean zone's count agrees with the raw manifest's."""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc


@dataclass(frozen=True)
class Accounting:
    files: int
    rows_in_files: int
    rows_clean: int
    rows_quarantined: int
    unprocessed: list[str]  # landing keys the ledger has no row for
    mismatched: list[dict]  # files whose counts do not add up
    failed: list[dict]  # files that failed as a whole (their rows are in quarantine)
    unexpected_columns: list[str]  # columns files brought that the contract does not know (kept in _extra)

    @property
    def passed(self) -> bool:
        """Fails on an empty feed too: a feed with nothing to account for is not a success."""
        return self.files > 0 and not self.unprocessed and not self.mismatched


def account(manifest: pa.Table, ledger: pa.Table) -> Accounting:
    """``manifest``: the feed's raw deliveries; ``ledger``: the clean zone's file accounting for it."""
    held = manifest.filter(pc.not_equal(manifest["status"], "duplicate")).to_pylist()
    entries = sorted(ledger.to_pylist(), key=lambda row: row["processed_at"])
    by_delivery = {(row["source"], row["checksum"]): row for row in entries}  # the latest verdict on each
    unprocessed = [m["landing_key"] for m in held if (m["source"], m["checksum"]) not in by_delivery]
    mismatched, failed = [], []
    for delivery in held:
        entry = by_delivery.get((delivery["source"], delivery["checksum"]))
        if entry is None:
            continue
        if entry["status"] == "failed":
            failed.append({"landing_key": entry["landing_key"], "reason": entry["reason"]})
            if entry["rows_in_file"] is None:  # unreadable: nothing to add up, the failure is reported
                continue
        accounted = entry["rows_clean"] + entry["rows_quarantined"]
        expected = entry["rows_in_file"]
        raw_count = delivery["row_count"]
        if accounted != expected or (raw_count is not None and raw_count != expected):
            mismatched.append(
                {
                    "landing_key": entry["landing_key"],
                    "rows_in_raw_manifest": raw_count,
                    "rows_read": expected,
                    "rows_clean": entry["rows_clean"],
                    "rows_quarantined": entry["rows_quarantined"],
                }
            )
    processed = [by_delivery[m["source"], m["checksum"]] for m in held if (m["source"], m["checksum"]) in by_delivery]
    return Accounting(
        files=len(held),
        rows_in_files=sum(e["rows_in_file"] or 0 for e in processed),
        rows_clean=sum(e["rows_clean"] for e in processed),
        rows_quarantined=sum(e["rows_quarantined"] for e in processed),
        unprocessed=unprocessed,
        mismatched=mismatched,
        failed=failed,
        unexpected_columns=sorted(
            {c.strip() for e in processed if e["unexpected_columns"] for c in e["unexpected_columns"].split(",")}
        ),
    )
