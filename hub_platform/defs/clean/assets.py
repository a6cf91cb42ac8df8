"""clean/<feed>: typed, standardized, validated rows of every source of a feed, traceable to raw bytes.

Each run conforms the raw files the ledger has not seen (oldest first), applies them in one batch,
quarantines what breaks the contract, and proves the accounting. It follows raw/<feed> by
declarative automation, and its code version is its contracts' fingerprint, so editing a contract
(or the reference data its standardizers read) reruns it, which replays the changed sources from
raw; its blocking checks stop bad data before the curated zone.
"""

import hashlib
from collections import Counter

import dagster as dg
import pyarrow as pa

from hub_platform.defs.clean.accounting import account
from hub_platform.defs.clean.conform import clean_schema
from hub_platform.defs.clean.processing import CleanZone, history_table
from hub_platform.defs.clean.rules import hand_written
from hub_platform.defs.raw.assets import feed_tags, raw_key
from hub_platform.lib.columns import contract_column_descriptions
from hub_platform.lib.governance import pii_columns
from hub_platform.lib.gx import check_table
from hub_platform.lib.metadata import bounded_text, column_schema, markdown_table, table_metadata
from hub_platform.lib.tables import SideInput, State, TableSpec, ZoneAsset
from hub_platform.sources.contract import Contract, Registry
from hub_platform.sources.entity import Entity, drift

CHECKS = {
    "great_expectations": "The contract's expectation suite (keys, types, allowed values, ranges, row count) on the whole table.",
    "rows_accounted_for": "For every raw file: rows in clean + rows in quarantine = rows in the file = rows in the raw manifest.",
    "no_failed_files": "No file failed as a whole (missing required column, unreadable); their rows are in quarantine.",
    "no_schema_drift": "No file brought columns the contract does not know (they are kept in `_extra`).",
    "no_entity_drift": "Every column the sources' contracts declare is a column of the feed's entity (others are kept in `_extra`).",
}
BLOCKING = {"great_expectations", "rows_accounted_for"}


# Every clean asset writes clean/file_accounting: one writer at a time (dagster.yaml's pool limit).
CLEAN_WRITERS = "clean/file_accounting"


def clean_key(feed: str) -> dg.AssetKey:
    return dg.AssetKey(["clean", feed])


CLEAN_CONFIG = {
    "replay": dg.Field(
        bool, default_value=False,
        description="Conform every raw file of the feed again and rebuild its clean rows and quarantine (what "
        "`hub replay <feed>` asks). Sources whose contract changed are replayed without asking.",
    )
}


def contracts_version(contracts: list[Contract]) -> str:
    """The feed's code version: its contracts' fingerprints (a change replays the changed sources)."""
    return hashlib.sha256("".join(sorted(c.fingerprint() for c in contracts)).encode()).hexdigest()[:16]


def clean_history(feed: str) -> SideInput:
    """clean/<feed>_history (every delivered version, where the contract keeps history), owned by clean/<feed>."""
    return SideInput(clean_key(feed), "clean", history_table(feed))


def _clean_feed_asset(feed: str, contracts: list[Contract], entity: Entity | None) -> dg.AssetsDefinition:
    contract = contracts[0]  # the feed's sources agree on entity, cdc and history
    shape = entity or contract  # the schema and suite: the entity's, or (no entity catalogued) the one contract shape
    schema = clean_schema(shape)
    sources = sorted(c.name for c in contracts)
    key = clean_key(feed)
    # the contract's words and declarations, and the entity's where the feed has one
    descriptions = contract_column_descriptions(contract) | {c.name: c.description for c in shape.columns if c.description}
    entity_drift = {c.name: drift(c, entity) for c in contracts if entity is not None and drift(c, entity)}

    spec = TableSpec(
        zone="clean", name=feed, keys=tuple(contract.keys),
        description=f"{contract.description.rstrip('.')}: typed, standardized and validated ({feed} feed, entity "
        f"{contract.entity}" + (", whose schema and checks it has" if entity else "") + f", from {', '.join(sources)}), "
        "with lineage columns back to the raw bytes. "
        + ("Change feed: events applied in log-sequence order into the current state (log in "
           f"clean/{feed}_changes). " if contract.cdc else "Later deliveries replace earlier rows of the same key. ")
        + (f"Every delivered version is kept in clean/{feed}_history. " if contract.history else "")
        + "Rows that break the contract are in quarantine/<source> with the rule and reason.",
    )
    asset = ZoneAsset(
        specs=[spec], deps=[raw_key(feed)], owners=sorted({c.owner for c in contracts}), tags=feed_tags(contracts),
        kinds=frozenset({"delta", "pyarrow"}),
        metadata={"dagster/column_schema": column_schema(schema, descriptions, pii_columns(schema.names))},
        # clean follows raw at once (its own checks are what hold bad data back from the zones below),
        # and reruns when its contracts change
        automation_condition=(dg.AutomationCondition.eager() | dg.AutomationCondition.code_version_changed()).with_label(
            "eager, or its contracts changed"),
        code_version=contracts_version(contracts), config_schema=CLEAN_CONFIG,
        checks=[dg.AssetCheckSpec(name, asset=key, description=text, blocking=name in BLOCKING) for name, text in CHECKS.items()],
        pool=CLEAN_WRITERS,
    )

    def clean_feed(context: dg.AssetExecutionContext, tables: State, _notifications):
        raw = tables.storage.raw()
        zone = CleanZone(raw.lake)
        outcomes, merge_metrics, replayed = zone.process(raw, contracts, context.run_id, replay=tables.config["replay"],
                                                              entity=entity)
        if replayed:
            context.log.info(f"replayed {', '.join(replayed)} from raw under the current contract")
        for outcome in outcomes:
            if outcome.failure:
                context.log.error(f"{outcome.delivery.landing_key}: the whole file failed: {bounded_text(outcome.failure, 300)}")
        manifest = raw.manifest(feed=feed)
        table = raw.lake.read_or_empty("clean", feed, schema)
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
            "sources_replayed": dg.MetadataValue.json(replayed),
            "schema_drift": dg.MetadataValue.json(accounting.unexpected_columns),
            "entity_drift": dg.MetadataValue.json(entity_drift),
            "quarantine_preview": dg.MetadataValue.md(
                markdown_table(quarantined, ["_landing_key", "_row_number", "rule", "reason"], limit=15) if quarantined else "_none_"),
            "file_notes": dg.MetadataValue.json({o.delivery.landing_key: list(o.notes) for o in outcomes if o.notes}),
            "dagster/uri": dg.MetadataValue.path(raw.lake.table_uri("clean", feed)),
        })
        yield check_table(table, shape, asset_key=key, extra=hand_written(feed),
                          name=f"{feed}_{'entity' if entity else 'contract'}")
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
        yield dg.AssetCheckResult(
            asset_key=key,
            check_name="no_entity_drift",
            passed=not entity_drift,
            severity=dg.AssetCheckSeverity.WARN,
            metadata={"columns_the_entity_does_not_know": dg.MetadataValue.json(entity_drift)},
        )

    return asset.define(clean_feed)


def clean_assets(registry: Registry) -> list[dg.AssetsDefinition]:
    return [_clean_feed_asset(feed, contracts, registry.feed_entity(feed)) for feed, contracts in registry.feeds.items()]
