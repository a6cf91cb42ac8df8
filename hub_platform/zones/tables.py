"""How every Spark-computed table asset is built: load → transform → sync into Delta → metadata and checks.

A zone module declares its tables (:class:`TableSpec`: name, key, what it promises, which columns are
PII) and one function from input DataFrames to output DataFrames; :func:`spark_tables` turns that into
a Dagster asset (or multi-asset, when one computation yields several tables) that

- reads its inputs as Spark DataFrames of their current Delta snapshots,
- computes the full target state in Spark and hands it over as Arrow,
- MERGE-syncs each table (:meth:`Lake.sync`): a rerun on unchanged inputs commits nothing,
- reports row counts, schema (PII columns tagged, as governance classifies them), a preview, what the MERGE changed, and the
  Spark and Delta-write seconds separately,
- checks each table with Great Expectations (blocking: keys unique and present, declared values).
"""

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import dagster as dg
import pyarrow as pa

from hub_platform.automation import FOLLOWS_UPSTREAM
from hub_platform.governance import pii_columns
from hub_platform.lake.spark_bridge import read_spark
from hub_platform.lake.store import Lake
from hub_platform.metadata import markdown_table, table_metadata
from hub_platform.quality.expectations import TableRules, check_rules
from hub_platform.resources import SparkResource, StorageResource


@dataclass(frozen=True, kw_only=True)
class TableSpec(TableRules):
    """A table a zone asset computes: what it promises (the rules GX checks), where it lives, what it means."""

    zone: str
    description: str
    columns: Mapping[str, str] = field(default_factory=dict)  # column descriptions for the UI

    @property
    def key(self) -> dg.AssetKey:
        return dg.AssetKey([self.zone, self.name])


@dataclass(frozen=True)
class SideTable:
    """A table the computation also writes that is not an asset of its own (e.g. a quarantine)."""

    zone: str
    name: str
    keys: tuple[str, ...]


@dataclass
class Findings:
    """What a zone adds to the standard report: metadata per table name and extra check results."""

    metadata: dict[str, dict] = field(default_factory=dict)
    checks: list[dg.AssetCheckResult] = field(default_factory=list)


class Inputs:
    """The input tables of one run, as Spark DataFrames of their current snapshots."""

    def __init__(self, spark, lake: Lake):
        self.spark, self.lake = spark, lake

    def __call__(self, zone: str, name: str):
        return read_spark(self.spark, self.lake, zone, name)

    def clean(self, name: str):
        return self("clean", name)

    def curated(self, name: str):
        return self("curated", name)


Build = Callable[[Inputs], "dict[str, object]"]
Report = Callable[[dict[str, pa.Table], StorageResource], Findings]


def spark_tables(
    specs: list[TableSpec],
    *,
    deps: list[dg.AssetKey],
    build: Build,
    group: str,
    owners: list[str],
    tags: Mapping[str, str] | None = None,
    side_tables: Mapping[str, SideTable] | None = None,
    report: Report | None = None,
    extra_checks: list[dg.AssetCheckSpec] | None = None,
    automation_condition: dg.AutomationCondition | None = FOLLOWS_UPSTREAM,
    code_version: str | None = None,
    name: str | None = None,
) -> dg.AssetsDefinition:
    """One asset computing ``specs`` (``build`` returns a DataFrame per spec name, plus any side tables)."""
    side_tables = dict(side_tables or {})
    checks = [
        dg.AssetCheckSpec(
            "great_expectations", asset=spec.key, blocking=True,
            description=f"Keys {', '.join(spec.keys)} present and unique"
            + (f"; {', '.join(spec.not_null)} present" if spec.not_null else "")
            + "; declared values; never empty.",
        )
        for spec in specs
    ] + list(extra_checks or [])

    @dg.multi_asset(
        name=name or f"{specs[0].zone}__{specs[0].name}",
        specs=[
            dg.AssetSpec(
                spec.key,
                deps=deps,
                description=spec.description,
                group_name=group,
                owners=owners,
                tags={"zone": spec.zone, **(tags or {})},
                kinds={"spark", "delta"},
                automation_condition=automation_condition,
                code_version=code_version,
                skippable=len(specs) > 1,
            )
            for spec in specs
        ],
        check_specs=checks,
        can_subset=False,
    )
    def _tables(context: dg.AssetExecutionContext, storage: StorageResource, spark: SparkResource):
        lake = storage.lake()
        spark_started = time.perf_counter()
        frames = build(Inputs(spark.session(), lake))
        tables = {name: frame.toArrow() for name, frame in frames.items()}
        spark_seconds = time.perf_counter() - spark_started
        unknown = set(tables) - {s.name for s in specs} - set(side_tables)
        if unknown:
            raise ValueError(f"build returned tables nobody declared: {sorted(unknown)}")

        delta_started = time.perf_counter()
        merges = {spec.name: lake.sync(tables[spec.name], spec.zone, spec.name, keys=list(spec.keys)) for spec in specs}
        for name, side in side_tables.items():
            merges[name] = lake.sync(tables[name], side.zone, side.name, keys=list(side.keys))
        delta_seconds = time.perf_counter() - delta_started

        findings = report(tables, storage) if report else Findings()
        for index, spec in enumerate(specs):
            table = tables[spec.name]
            metadata = {
                **table_metadata(table, pii=pii_columns(table.column_names), descriptions=dict(spec.columns)),
                "merge": dg.MetadataValue.json(merges[spec.name]),
                "delta_version": lake.version(spec.zone, spec.name),
                "dagster/uri": dg.MetadataValue.path(lake.table_uri(spec.zone, spec.name)),
                # one computation serves all outputs: its times are reported once, on the first
                **({"spark_seconds": round(spark_seconds, 2), "delta_write_seconds": round(delta_seconds, 2)} if index == 0 else {}),
                **(_side_metadata(side_tables, tables) if index == 0 else {}),
                **findings.metadata.get(spec.name, {}),
            }
            yield dg.MaterializeResult(asset_key=spec.key, metadata=metadata)
            yield check_rules(table, spec, asset_key=spec.key)
        yield from findings.checks

    return _tables


def _side_metadata(side_tables: Mapping[str, SideTable], tables: dict[str, pa.Table]) -> dict:
    metadata = {}
    for name, side in side_tables.items():
        table = tables[name]
        metadata[f"{side.zone}/{side.name}"] = dg.MetadataValue.md(
            f"{table.num_rows:,} rows" + (f"\n\n{markdown_table(table, limit=10)}" if table.num_rows else "")
        )
    return metadata
