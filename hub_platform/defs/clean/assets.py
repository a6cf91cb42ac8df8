"""clean/<feed>: typed, standardized, validated rows of every source of a feed, traceable to raw bytes.

Each run conforms the raw files the ledger has not seen (oldest first), applies them in one batch,
quarantines what breaks the contract, and proves the accounting. It follows raw/<feed> by
declarative automation; its blocking checks stop bad data before the curated zone.
"""

from collections import Counter

import dagster as dg
import pyarrow as pa

from hub_platform.defs.clean.accounting import account
from hub_platform.defs.clean.conform import clean_schema
from hub_platform.defs.clean.processing import CleanZone, history_table
from hub_platform.defs.clean.rules import hand_written
from hub_platform.defs.raw.assets import feed_tags, raw_key
from hub_platform.lib.governance import pii_columns
from hub_platform.lib.gx import check_table
from hub_platform.lib.metadata import column_schema, markdown_table, table_metadata
from hub_platform.lib.tables import SideInput, State, TableSpec, ZoneAsset
from hub_platform.sources.contract import Contract, Registry

CHECKS = {
    "great_expectations": "The contract's expectation suite (keys, types, allowed values, ranges, row count) on the whole table.",
    "rows_accounted_for": "For every raw file: rows in clean + rows in quarantine = rows in the file = rows in the raw manifest.",
    "no_failed_files": "No file failed as a whole (missing required column, unreadable); their rows are in quarantine.",
    "no_schema_drift": "No file brought columns the contract does not know (they are kept in `_extra`).",
}
BLOCKING = {"great_expectations", "rows_accounted_for"}


def clean_key(feed: str) -> dg.AssetKey:
    return dg.AssetKey(["clean", feed])


def clean_history(feed: str) -> SideInput:
    """clean/<feed>_history (every delivered version, where the contract keeps history), owned by clean/<feed>."""
    return SideInput(clean_key(feed), "clean", history_table(feed))


def _clean_feed_asset(feed: str, contracts: list[Contract]) -> dg.AssetsDefinition:
    contract = contracts[0]  # every source of a feed declares the same columns
    sources = sorted(c.name for c in contracts)
    key = clean_key(feed)
    descriptions = {c.name: c.description for c in contract.columns if c.description}

    spec = TableSpec(
        zone="clean", name=feed, keys=tuple(contract.keys),
        description=f"Typed, standardized rows of feed `{feed}` (entity `{contract.entity}`) from "
        f"{', '.join(sources)}, with lineage columns back to the raw bytes. "
        + ("Change feed: events applied in log-sequence order into the current state (log in "
           f"`clean/{feed}_changes`). " if contract.cdc else "Later deliveries replace earlier rows of the same key. ")
        + (f"Every delivered version is kept in `clean/{feed}_history`. " if contract.history else "")
        + "Rows that break the contract are in `quarantine/<source>` with the rule and reason.",
    )
    asset = ZoneAsset(
        specs=[spec], deps=[raw_key(feed)], owners=sorted({c.owner for c in contracts}), tags=feed_tags(contracts),
        kinds=frozenset({"delta", "pyarrow"}),
        metadata={"dagster/column_schema": column_schema(clean_schema(contract), descriptions, pii_columns(clean_schema(contract).names))},
        # clean follows raw at once: its own checks are what hold bad data back from the zones below
        automation_condition=dg.AutomationCondition.eager(),
        checks=[dg.AssetCheckSpec(name, asset=key, description=text, blocking=name in BLOCKING) for name, text in CHECKS.items()],
    )

    def clean_feed(context: dg.AssetExecutionContext, tables: State, _notifications):
        raw = tables.storage.raw()
        zone = CleanZone(raw.lake)
        outcomes, merge_metrics = zone.process(raw, contracts, context.run_id)
        for outcome in outcomes:
            if outcome.failure:
                context.log.error(f"{outcome.delivery.landing_key}: the whole file failed: {outcome.failure}")
        manifest = raw.manifest(feed=feed)
        table = raw.lake.read_or_empty("clean", feed, clean_schema(contract))
        quarantined = pa.concat_tables([o.quarantine for o in outcomes]) if outcomes else None
        accounting = account(manifest, zone.ledger(feed))
        issues = sum((Counter(o.issues or {}) for o in outcomes), Counter())
        new_drift = sorted({c for o in outcomes for c in o.unexpected_columns})
        if new_drift:
            context.log.warning(f"schema drift in {feed}: unexpected column(s) {new_drift}, kept in _extra")

        yield dg.MaterializeResult(asset_key=key, metadata={
            **table_metadata(table, pii=pii_columns(table.column_names), descriptions=descriptions),
            "files_processed": len(outcomes),
            "rows_clean_this_run": sum(o.rows_clean for o in outcomes),
            "rows_quarantined_this_run": sum(o.quarantine.num_rows for o in outcomes),
            "rows_in_files_all_time": accounting.rows_in_files,
            "rows_quarantined_all_time": accounting.rows_quarantined,
            "quarantine_share": dg.MetadataValue.float(round(accounting.rows_quarantined / max(accounting.rows_in_files, 1), 5)),
            "optional_values_nulled": dg.MetadataValue.json(dict(issues)),
            "merge": dg.MetadataValue.json(merge_metrics),
            "schema_drift": dg.MetadataValue.json(accounting.unexpected_columns),
            "quarantine_preview": dg.MetadataValue.md(
                markdown_table(quarantined, ["_landing_key", "_row_number", "rule", "reason"], limit=15) if quarantined else "_none_"),
            "dagster/uri": dg.MetadataValue.path(raw.lake.table_uri("clean", feed)),
        })
        yield check_table(table, contract, asset_key=key, extra=hand_written(feed))
        yield dg.AssetCheckResult(
            asset_key=key,
            check_name="rows_accounted_for",
            passed=accounting.passed,
            metadata={
                "files": accounting.files,
                "rows_in_files": accounting.rows_in_files,
                "rows_clean": accounting.rows_clean,
                "rows_quarantined": accounting.rows_quarantined,
                "unprocessed_files": dg.MetadataValue.json(accounting.unprocessed[:50]),
                "mismatched_files": dg.MetadataValue.json(accounting.mismatched[:50]),
            },
        )
        yield dg.AssetCheckResult(
            asset_key=key,
            check_name="no_failed_files",
            passed=not accounting.failed,
            severity=dg.AssetCheckSeverity.WARN,
            metadata={"failed_files": dg.MetadataValue.json(accounting.failed[:50]), "count": len(accounting.failed)},
        )
        yield dg.AssetCheckResult(
            asset_key=key,
            check_name="no_schema_drift",
            passed=not accounting.unexpected_columns,
            severity=dg.AssetCheckSeverity.WARN,
            metadata={"unexpected_columns": dg.MetadataValue.json(accounting.unexpected_columns)},
        )

    return asset.define(clean_feed)


def clean_assets(registry: Registry) -> list[dg.AssetsDefinition]:
    return [_clean_feed_asset(feed, contracts) for feed, contracts in registry.feeds.items()]
