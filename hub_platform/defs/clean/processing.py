"""The clean zone's tables: one per feed, a quarantine table per source, and the file accounting ledger.

Writes are ordered so that a crash part-way is repaired by running again: rows first (MERGE, so a
second application changes nothing), then quarantine (insert-only by file and row number), and
the ledger last, which is what marks a raw file as processed, and under which contract.

A source whose contract has changed since its files were processed (its fingerprint differs from
the one in the ledger), or every source of a feed when a replay is asked for, is *replayed*: all its
raw files are probed and conformed again, and its rows in the feed's tables and its quarantine are
replaced by the result in one commit per table. Raw is only read.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC, datetime
from typing import NamedTuple

import pyarrow as pa
import pyarrow.compute as pc

from hub_platform.defs.clean.cdc import current_state, delete_condition, distinct_events, is_delete
from hub_platform.defs.clean.conform import QUARANTINE_SCHEMA, Delivery, FileOutcome, clean_schema, conform_file
from hub_platform.defs.clean.dedupe import last_per_group
from hub_platform.defs.clean.entity_shape import to_entity
from hub_platform.defs.raw.ingest import RawZone
from hub_platform.lib.lake.store import Lake
from hub_platform.sources.contract import Contract
from hub_platform.sources.entity import Entity

LEDGER = ("clean", "file_accounting")
LEDGER_KEYS = ["source", "checksum"]  # one row per delivery a source made of some bytes
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
        ("contract_hash", pa.string()),  # the source contract's fingerprint the file was conformed under
        ("notes", pa.string()),  # how the file was read (e.g. a repeated header name renamed)
    ]
)
QUARANTINE_ZONE = "quarantine"


def changes_table(feed: str) -> str:
    return f"{feed}_changes"


def history_table(feed: str) -> str:
    return f"{feed}_history"


class Processed(NamedTuple):
    outcomes: list[FileOutcome]  # every file conformed this run, new and replayed
    merge: dict[str, int]  # what the writes changed
    replayed: list[str]  # sources whose files were all conformed again


class CleanZone:
    def __init__(self, lake: Lake):
        self.lake = lake

    def ledger(self, feed: str | None = None) -> pa.Table:
        table = self.lake.read_or_empty(*LEDGER, LEDGER_SCHEMA)
        table = _with_columns(table, LEDGER_SCHEMA)
        return table.filter(pc.equal(table["feed"], feed)) if feed else table

    def plan(self, manifest: pa.Table, contracts: list[Contract], replay: bool = False) -> tuple[list[dict], list[dict], list[str]]:
        """What a run does for a feed: held deliveries not yet in the ledger (oldest first), and the
        sources to replay (contract changed, or ``replay``) with all their held deliveries."""
        held = manifest.filter(pc.not_equal(manifest["status"], "duplicate")).to_pylist()
        ledger = self.ledger(contracts[0].feed).select(["source", "checksum", "contract_hash"]).to_pylist()
        fingerprints = {c.name: c.fingerprint() for c in contracts}
        processed = {(r["source"], r["checksum"]) for r in ledger}
        outdated = {r["source"] for r in ledger if r["source"] in fingerprints and r["contract_hash"] != fingerprints[r["source"]]}
        stale = sorted({r["source"] for r in held} if replay else outdated)
        order = lambda r: (r["received_at"], r["landing_key"])  # noqa: E731
        new = sorted((r for r in held if r["source"] not in stale and (r["source"], r["checksum"]) not in processed), key=order)
        again = sorted((r for r in held if r["source"] in stale), key=order)
        return new, again, stale

    def process(self, raw: RawZone, contracts: list[Contract], run_id: str = "", *, replay: bool = False,
                entity: Entity | None = None) -> Processed:
        """Conform every raw file of the feed the ledger has not accounted for (and replay the sources
        whose contract changed), and commit them. With the feed's ``entity``, each source's rows take
        the entity's schema (see entity_shape): one feed, many shapes."""
        sources = {c.name: c for c in contracts}
        schema = clean_schema(entity or contracts[0])
        new, again, stale = self.plan(raw.manifest(feed=contracts[0].feed), contracts, replay)
        if again:
            again = raw.reprobe(again, sources)  # the manifest's verdict follows the contract too

        def conform_delivery(row: dict) -> FileOutcome:
            delivery = Delivery(row["source"], row["checksum"], row["landing_key"], row["received_at"], row["ingested_at"])
            outcome = conform_file(raw.lake.get_object(row["checksum"]), sources[row["source"]], delivery)
            if entity is None or outcome.clean is None:
                return outcome
            return replace(outcome, clean=to_entity(outcome.clean, schema))

        # Files are independent and Arrow compute releases the GIL: use every core. Order is kept.
        with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
            outcomes = list(pool.map(conform_delivery, [*again, *new]))
        replayed, fresh = outcomes[: len(again)], outcomes[len(again) :]
        merge = self._replace_sources(contracts, stale, replayed, schema) if stale else {}
        merge |= self.commit(contracts[0], fresh, run_id, ledger=False, schema=schema)
        self._record(outcomes, contracts, run_id)
        return Processed(outcomes, merge, stale)

    def commit(self, contract: Contract, outcomes: list[FileOutcome], run_id: str, *, ledger: bool = True,
               schema: pa.Schema | None = None) -> dict[str, int]:
        """Apply a batch of newly conformed files to the feed's tables, in ``schema`` (default: the
        contract's), and record them in the ledger."""
        batches = [o.clean for o in outcomes if o.clean is not None and o.clean.num_rows]
        metrics: dict[str, int] = {}
        if batches:
            batch = pa.concat_tables(batches).cast(schema or clean_schema(contract))
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
        if ledger:
            self._record(outcomes, [contract], run_id)
        return metrics

    def _record(self, outcomes: list[FileOutcome], contracts: list[Contract], run_id: str) -> None:
        """Upsert one ledger row per delivery: a replay overwrites what the earlier contract made of it."""
        if not outcomes:
            return
        fingerprints = {c.name: c.fingerprint() for c in contracts}
        rows = _ledger_rows(outcomes, contracts[0].feed, run_id, fingerprints)
        if self.lake.has_table(*LEDGER) and "contract_hash" not in pa.schema(self.lake.delta(*LEDGER).schema().to_arrow()).names:
            # a ledger from before contracts were fingerprinted: add the column once (its rows then replay)
            self.lake.write(_with_columns(self.lake.read(*LEDGER), LEDGER_SCHEMA), *LEDGER, mode="overwrite", schema_mode="overwrite")
        self.lake.upsert(rows, *LEDGER, keys=LEDGER_KEYS)

    def _replace_sources(self, contracts: list[Contract], stale: list[str], outcomes: list[FileOutcome],
                         schema: pa.Schema) -> dict[str, int]:
        """Replace the stale sources' rows, history, change log and quarantine with what their raw files
        give under the current contracts: one overwrite per table, limited to those sources."""
        contract = contracts[0]
        batches = [o.clean for o in outcomes if o.clean is not None and o.clean.num_rows]
        batch = pa.concat_tables(batches).cast(schema) if batches else schema.empty_table()
        every_source = set(stale) == {c.name for c in contracts}
        if contract.cdc:
            events = distinct_events(batch, contract)
            state = current_state(events, contract)
            tables = {changes_table(contract.feed): events, contract.feed: state.filter(pc.invert(is_delete(state, contract)))}
        else:
            tables = {contract.feed: last_per_group(batch, ["_source", *contract.keys], ["_received_at", "_row_number"])[0]}
            if contract.history:
                tables[history_table(contract.feed)] = last_per_group(
                    batch, ["_source", *contract.keys, "_file_checksum"], ["_received_at", "_row_number"])[0]
        for name, rows in tables.items():
            self._overwrite("clean", name, rows, None if every_source else stale)
        quarantined = [o.quarantine for o in outcomes if o.quarantine.num_rows]
        rows = pa.concat_tables(quarantined) if quarantined else QUARANTINE_SCHEMA.empty_table()
        for source in stale:
            mine = rows.filter(pc.equal(rows["_source"], source))
            if mine.num_rows or self.lake.has_table(QUARANTINE_ZONE, source):
                self.lake.write(mine, QUARANTINE_ZONE, source, mode="overwrite", schema_mode="overwrite")
        return {"num_target_rows_replayed": tables[contract.feed].num_rows, "sources_replayed": len(stale)}

    def _overwrite(self, zone: str, name: str, rows: pa.Table, sources: list[str] | None) -> None:
        """The table's rows of ``sources`` (all rows: None) become ``rows``, in one commit."""
        if not self.lake.has_table(zone, name):
            if rows.num_rows:
                self.lake.write(rows, zone, name)
            return
        if sources is None:
            self.lake.write(rows, zone, name, mode="overwrite", schema_mode="overwrite")
            return
        quoted = ", ".join("'" + s.replace("'", "''") + "'" for s in sources)
        self.lake.write(rows, zone, name, mode="overwrite", predicate=f"_source IN ({quoted})")

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


def _with_columns(table: pa.Table, schema: pa.Schema) -> pa.Table:
    """``table`` with any of ``schema``'s columns it lacks added as nulls (tables written by earlier versions)."""
    for field in schema:
        if field.name not in table.column_names:
            table = table.append_column(field, pa.nulls(table.num_rows, field.type))
    return table.select(schema.names)


def _ledger_rows(outcomes: list[FileOutcome], feed: str, run_id: str, fingerprints: dict[str, str]) -> pa.Table:
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
                "contract_hash": fingerprints[o.delivery.source],
                "notes": "; ".join(o.notes) or None,
            }
            for o in outcomes
        ],
        schema=LEDGER_SCHEMA,
    )
