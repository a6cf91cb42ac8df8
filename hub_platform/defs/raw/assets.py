"""raw/<feed>: the original bytes of every landed file, content-addressed, and the manifest of deliveries.

One asset per feed (not per source), so a thousand sources of twenty feeds are twenty assets; which
source delivered what is in the manifest and in each materialization's metadata.
"""


import dagster as dg
import pyarrow as pa
import pyarrow.compute as pc
from pydantic import Field

from hub_platform.defs.raw.ingest import RawZone
from hub_platform.defs.raw.landing import Unusable
from hub_platform.lib.columns import MANIFEST_COLUMNS
from hub_platform.lib.metadata import bounded_text, markdown_table, table_metadata
from hub_platform.lib.tables import State, TableSpec, ZoneAsset
from hub_platform.sources.contract import Contract, Registry


class RawIngestConfig(dg.Config):
    files: list[str] = Field(
        default_factory=list,
        description="Landing keys to ingest (what the landing sensor passes). Empty: reconcile, i.e. "
        "ingest every landed file of this feed's sources that the manifest does not record yet.",
    )


RAW_INGEST_CONFIG = {"files": dg.Field([str], default_value=[], description=RawIngestConfig.model_fields["files"].description)}


def raw_key(feed: str) -> dg.AssetKey:
    return dg.AssetKey(["raw", feed])


def feed_tags(contracts: list[Contract]) -> dict[str, str]:
    """Tags for filtering the asset graph by source system (the zone tag comes with every declaration)."""
    return {f"system/{c.system}": "" for c in contracts}


# Every raw asset writes raw/manifest: one writer at a time (dagster.yaml's pool limit), which is also
# what Delta on S3 without a DynamoDB lock needs.
RAW_WRITERS = "raw/manifest"


def _raw_feed_asset(feed: str, contracts: list[Contract]) -> dg.AssetsDefinition:
    sources = {c.name: c for c in contracts}
    rejected_check = dg.AssetCheckSpec(
        "no_rejected_files",
        asset=raw_key(feed),
        description="Files this run stored but could not use as their contract says (kept in raw, with reasons).",
    )
    landing_check = dg.AssetCheckSpec(
        "landing_entries_usable",
        asset=raw_key(feed),
        description="Every entry of the sources' landing folders can be ingested (no symbolic link, sub-folder, "
        "unfinished or non-UTF-8 name waiting there).",
    )

    spec = TableSpec(
        zone="raw", name=feed, keys=("checksum",),
        description=f"Original bytes of every file delivered for feed {feed} ({contracts[0].entity}), "
        f"from {len(contracts)} source(s): {', '.join(sorted(sources))}. Immutable, content-addressed "
        "(SHA-256); the raw/manifest Delta table records every delivery.",
    )
    asset = ZoneAsset(
        specs=[spec], deps=[], owners=sorted({c.owner for c in contracts}), tags=feed_tags(contracts),
        kinds=frozenset({"delta", *sorted({c.format.type.replace("cdc_", "") for c in contracts})[:2]}),
        metadata={"sources": dg.MetadataValue.json(sorted(sources))}, checks=[rejected_check, landing_check],
        automation_condition=None,  # the landing sensor and the nightly reconciliation start raw runs
        config_schema=RAW_INGEST_CONFIG,
        pool=RAW_WRITERS,
    )

    def raw_feed(context: dg.AssetExecutionContext, tables: State, _notifications):
        config = RawIngestConfig(**tables.config)
        raw: RawZone = tables.storage.raw()
        landing = raw.landing
        files = landing.stat_many(config.files) if config.files else raw.landed(contracts)
        unknown = sorted({f.source for f in files} - sources.keys())
        if unknown:
            raise ValueError(f"files of sources {unknown} do not belong to feed {feed!r}")
        report = raw.ingest(files, sources, run_id=context.run_id)
        deliveries = report.deliveries
        rejected = deliveries.filter(pc.equal(deliveries["status"], "rejected"))
        for key, reason in zip(rejected["landing_key"].to_pylist(), rejected["reason"].to_pylist(), strict=True):
            context.log.warning(f"{key} rejected (kept in raw): {bounded_text(reason, 300)}")
        waiting = [u for source in sorted(sources) for u in landing.unusable(source)]
        waiting += [Unusable(key, f"not read: {why}") for key, why in report.unreadable]
        manifest = raw.manifest(feed=feed)
        yield dg.MaterializeResult(
            asset_key=spec.key,
            metadata={
                "files_ingested": report.count("ingested"),
                "files_rejected": report.count("rejected"),
                "duplicate_deliveries": report.count("duplicate"),
                "bytes_stored": dg.MetadataValue.int(report.bytes_stored),
                "deliveries_this_run": dg.MetadataValue.md(_deliveries_markdown(deliveries)),
                **table_metadata(manifest, preview=False, descriptions=MANIFEST_COLUMNS),
                # the feed's data rows held in raw (duplicates count once), not the number of deliveries
                "dagster/row_count": dg.MetadataValue.int(
                    pc.sum(manifest.filter(pc.not_equal(manifest["status"], "duplicate"))["row_count"]).as_py() or 0
                ),
                "deliveries": dg.MetadataValue.int(manifest.num_rows),
                "dagster/uri": dg.MetadataValue.path(raw.lake.table_uri("raw", "manifest")),
            }
        )
        yield dg.AssetCheckResult(
            asset_key=spec.key,
            check_name="landing_entries_usable",
            passed=not waiting,
            severity=dg.AssetCheckSeverity.WARN,
            metadata={
                "not_ingested": len(waiting),
                "entries": dg.MetadataValue.md(markdown_table(
                    pa.Table.from_pylist([{"entry": u.key, "why": u.reason} for u in waiting[:50]])) if waiting else "none"),
            },
        )
        yield dg.AssetCheckResult(
            asset_key=spec.key,
            check_name="no_rejected_files",
            passed=rejected.num_rows == 0,
            severity=dg.AssetCheckSeverity.WARN,
            metadata={
                "rejected": rejected.num_rows,
                "files_checked": deliveries.num_rows,
                "reasons": dg.MetadataValue.md(_deliveries_markdown(rejected) if rejected.num_rows else "none"),
            },
        )

    return asset.define(raw_feed)


def _deliveries_markdown(deliveries: pa.Table) -> str:
    columns = ["landing_key", "status", "row_count", "size_bytes", "reason", "notes"]
    return markdown_table(deliveries, columns, limit=50) if deliveries.num_rows else "No new deliveries."


def raw_assets(registry: Registry) -> list[dg.AssetsDefinition]:
    return [_raw_feed_asset(feed, contracts) for feed, contracts in registry.feeds.items()]
