"""The clean zone's tables: one per feed, a quarantine table per source, and the file accounting ledger.

Writes are ordered so that a crash part-way is repaired by running again: rows first (MERGE, so a
second application changes nothing), then quarantine (insert-only by file and row number), and
the ledger last, which is what marks a raw file as processed.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import pyarrow as pa
import pyarrow.compute as pc

from hub_platform.defs.clean.cdc import current_state, delete_condition, distinct_events
from hub_platform.defs.clean.conform import Delivery, FileOutcome, clean_schema, conform_file
from hub_platform.defs.clean.dedupe import last_per_group
from hub_platform.defs.raw.ingest import RawZone
from hub_platform.lib.lake.store import Lake
from hub_platform.sources.contract import Contract

LEDGER = ("clean", "file_accounting")
LEDGER_SCHEMA = pa.schema(
    [
        ("checksum", pa.string()),
        ("landing_key", pa.string()),
        ("source", pa.string()),
        ("feed", pa.string()),
        ("rows_in_file", pa.int64()),
        ("rows_clean", pa.int64()),
        ("rows_quarantined", pa.int64()),
        ("status", pa.string()),  # processed | failed
        ("reason", pa.string()),
        ("unexpected_columns", pa.string()),
        ("processed_at", pa.timestamp("us", tz="UTC")),
        ("run_id", pa.string()),
    ]
)
QUARANTINE_ZONE = "quarantine"


def changes_table(feed: str) -> str:
    return f"{feed}_changes"


def history_table(feed: str) -> str:
    return f"{feed}_history"


class CleanZone:
    def __init__(self, lake: Lake):
        self.lake = lake

    def ledger(self, feed: str | None = None) -> pa.Table:
        table = self.lake.read_or_empty(*LEDGER, LEDGER_SCHEMA)
        return table.filter(pc.equal(table["feed"], feed)) if feed else table

    def pending(self, manifest: pa.Table) -> list[dict]:
        """Raw files of a feed (from its manifest rows) that the ledger has not accounted for, oldest first."""
        done = set(self.ledger()["checksum"].to_pylist())
        todo = manifest.filter(pc.not_equal(manifest["status"], "duplicate"))
        rows = [r for r in todo.to_pylist() if r["checksum"] not in done]
        return sorted(rows, key=lambda r: (r["received_at"], r["landing_key"]))

    def process(self, raw: RawZone, contracts: list[Contract], run_id: str = "") -> tuple[list[FileOutcome], dict[str, int]]:
        """Conform every raw file of the feed the ledger has not accounted for, and commit them as one batch."""
        sources = {c.name: c for c in contracts}

        def conform_delivery(row: dict) -> FileOutcome:
            delivery = Delivery(row["source"], row["checksum"], row["landing_key"], row["received_at"], row["ingested_at"])
            return conform_file(raw.lake.get_object(row["checksum"]), sources[row["source"]], delivery)

        # Files are independent and Arrow compute releases the GIL: use every core. Order is kept.
        with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
            outcomes = list(pool.map(conform_delivery, self.pending(raw.manifest(feed=contracts[0].feed))))
        return outcomes, self.commit(contracts[0], outcomes, run_id)

    def commit(self, contract: Contract, outcomes: list[FileOutcome], run_id: str) -> dict[str, int]:
        """Apply a batch of conformed files to the feed's tables and record them in the ledger."""
        feed = contract.feed
        batches = [o.clean for o in outcomes if o.clean is not None and o.clean.num_rows]
        metrics: dict[str, int] = {}
        if batches:
            batch = pa.concat_tables(batches).cast(clean_schema(contract))
            metrics = self._apply_cdc(contract, batch) if contract.cdc else self._apply_snapshot(contract, batch)
        quarantined = [o.quarantine for o in outcomes if o.quarantine.num_rows]
        if quarantined:
            rows = pa.concat_tables(quarantined)
            for source in pc.unique(rows["_source"]).to_pylist():
                self.lake.upsert(
                    rows.filter(pc.equal(rows["_source"], source)),
                    QUARANTINE_ZONE,
                    source,
                    keys=["_file_checksum", "_row_number"],
                    insert_only=True,
                )
        if outcomes:
            self.lake.upsert(_ledger_rows(outcomes, feed, run_id), *LEDGER, keys=["checksum"])  # once per file
        return metrics

    def _apply_snapshot(self, contract: Contract, batch: pa.Table) -> dict[str, int]:
        """Upsert by (source, keys); a later delivery replaces what an earlier one said of a key.

        With ``history: true`` every delivered version is also kept (once per file) in the feed's
        history table, so type-2 dimensions downstream can see what each delivery said.
        """
        if contract.history:
            self.lake.upsert(
                batch, "clean", history_table(contract.feed), keys=["_source", *contract.keys, "_file_checksum"], insert_only=True
            )
        newest, _ = last_per_group(batch, ["_source", *contract.keys], ["_received_at", "_row_number"])
        if not self.lake.has_table("clean", contract.feed):  # first load: nothing to merge with
            self.lake.write(newest, "clean", contract.feed)
            return {"num_target_rows_inserted": newest.num_rows}
        return self.lake.upsert(
            newest,
            "clean",
            contract.feed,
            keys=["_source", *contract.keys],
            update_when="s.`_received_at` >= t.`_received_at`",
        )

    def _apply_cdc(self, contract: Contract, batch: pa.Table) -> dict[str, int]:
        """Log every event once, then rebuild the touched keys' state from the whole log."""
        events = distinct_events(batch, contract)
        self.lake.upsert(
            events, "clean", changes_table(contract.feed), keys=["_source", contract.cdc.sequence], insert_only=True
        )
        log = self.lake.read("clean", changes_table(contract.feed))
        touched = _rows_with_keys(log, events, ["_source", *contract.keys])
        return self.lake.upsert(
            current_state(touched, contract),
            "clean",
            contract.feed,
            keys=["_source", *contract.keys],
            delete_when=delete_condition(contract),
        )


def _rows_with_keys(table: pa.Table, probe: pa.Table, keys: list[str]) -> pa.Table:
    """Rows of ``table`` whose composite key occurs in ``probe``."""
    wanted = probe.select(keys).group_by(keys).aggregate([])
    return table.join(wanted, keys=keys, join_type="inner")


def _ledger_rows(outcomes: list[FileOutcome], feed: str, run_id: str) -> pa.Table:
    now = datetime.now(UTC)
    return pa.Table.from_pylist(
        [
            {
                "checksum": o.delivery.checksum,
                "landing_key": o.delivery.landing_key,
                "source": o.delivery.source,
                "feed": feed,
                "rows_in_file": o.rows_in_file,
                "rows_clean": o.rows_clean,
                "rows_quarantined": o.quarantine.num_rows,
                "status": "failed" if o.failure else "processed",
                "reason": o.failure,
                "unexpected_columns": ", ".join(o.unexpected_columns) or None,
                "processed_at": now,
                "run_id": run_id,
            }
            for o in outcomes
        ],
        schema=LEDGER_SCHEMA,
    )
