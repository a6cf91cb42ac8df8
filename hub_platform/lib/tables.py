"""How every table-computing asset is built: load → transform → sync into Delta → metadata and checks.

A zone module declares its tables (:class:`TableSpec`: name, key, what it promises) and one function
from input frames to output frames; :func:`table_assets` turns that into a Dagster asset (or a
multi-asset, when one computation yields several tables) that

- reads its inputs as Spark DataFrames of their current Delta snapshots (Spark starts only for a
  build that asks for one) or as pandas frames,
- computes the full target state and hands it over as Arrow,
- MERGE-syncs each table (:meth:`Lake.sync`): a rerun on unchanged inputs commits nothing,
- reports row counts, schema (PII columns tagged, as governance classifies them), a preview, what
  the MERGE changed, and the compute and Delta-write seconds separately,
- checks each table with Great Expectations (blocking: keys unique and present, declared values).
"""

import functools
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import dagster as dg
import pandas as pd
import pyarrow as pa

from hub_platform.lib.automation import FOLLOWS_UPSTREAM
from hub_platform.lib.governance import pii_columns
from hub_platform.lib.gx import TableRules, check_rules
from hub_platform.lib.lake.spark_bridge import read_spark
from hub_platform.lib.lake.store import Lake
from hub_platform.lib.metadata import markdown_table, table_metadata
from hub_platform.lib.resources import SparkResource, StorageResource


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
class Zone:
    """A zone's asset keys and table declarations, stated once for every module of the zone."""

    name: str

    def key(self, table: str) -> dg.AssetKey:
        return dg.AssetKey([self.name, table])

    def spec(self, table: str, keys: tuple[str, ...], description: str, **rules) -> TableSpec:
        return TableSpec(zone=self.name, name=table, keys=keys, description=description, **rules)


def hand_written_asset(spec: TableSpec, *, deps: list[dg.AssetKey], owners: list[str], kinds: frozenset[str],
                       description: str, check: str, **extra) -> dict:
    """The declaration of a table asset written by hand (one that keeps state or has a side effect):
    the same group, tags, automation and blocking GX check as every built one. ``@dg.asset(**...)``."""
    return {
        "key": spec.key, "deps": deps, "group_name": spec.zone, "description": description, "owners": owners,
        "tags": {"zone": spec.zone}, "kinds": set(kinds), "automation_condition": FOLLOWS_UPSTREAM,
        "check_specs": [dg.AssetCheckSpec("great_expectations", asset=spec.key, blocking=True, description=check)],
        **extra,
    }


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
    """The input tables of one run: Spark DataFrames of their snapshots, or pandas frames.

    The Spark session is asked for only when a Spark read is, so pandas-only zones never start a JVM.
    """

    def __init__(self, spark: SparkResource, lake: Lake, config: dict | None = None):
        self._spark_resource, self.lake, self.config = spark, lake, config or {}

    @functools.cached_property
    def spark(self):
        return self._spark_resource.session()

    @property
    def engine(self):
        """Spark for work that can spread over a cluster's executors; None on a local session, where
        the machine's own cores do it with less overhead (the hub's one rule for choosing)."""
        return self.spark if self._spark_resource.distributed else None

    def __call__(self, zone: str, name: str):
        return read_spark(self.spark, self.lake, zone, name)

    def clean(self, name: str):
        return self("clean", name)

    def curated(self, name: str):
        return self("curated", name)

    def pandas(self, zone: str, name: str, *, filters: list[tuple] | None = None) -> pd.DataFrame:
        return self.lake.read(zone, name, filters=filters).to_pandas()

    def release(self) -> None:
        """Drop what the build cached on Spark (if it used Spark at all), once its results are handed over."""
        if "spark" in vars(self):  # the cached property was computed: Spark was asked for
            self.spark.catalog.clearCache()


def as_arrow(frame) -> pa.Table:
    """A Spark or pandas result as Arrow that Delta can store: microsecond timestamps, and typed
    columns where an empty pandas frame could not say (null-typed columns become strings)."""
    if isinstance(frame, pd.DataFrame):
        table = pa.Table.from_pandas(frame, preserve_index=False)
    elif isinstance(frame, pa.Table):
        table = frame
    else:
        table = frame.toArrow()
    fields = []
    for column in table.schema:
        if pa.types.is_timestamp(column.type) and column.type.unit == "ns":
            column = column.with_type(pa.timestamp("us", tz=column.type.tz))
        elif pa.types.is_null(column.type):
            column = column.with_type(pa.string())
        fields.append(column)
    return table.cast(pa.schema(fields), safe=False)


Build = Callable[[Inputs], "dict[str, object]"]
Report = Callable[[dict[str, pa.Table], StorageResource], Findings]


def table_assets(
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
    kinds: frozenset[str] = frozenset({"spark", "delta"}),
    config_schema: dict | None = None,
) -> dg.AssetsDefinition:
    """One asset computing ``specs`` (``build`` returns a DataFrame per spec name, plus any side tables)."""
    side_tables = dict(side_tables or {})
    checks = [
        dg.AssetCheckSpec(
            "great_expectations", asset=spec.key, blocking=True,
            description=f"Keys {', '.join(spec.keys)} present and unique"
            + (f"; {', '.join(spec.not_null)} present" if spec.not_null else "")
            + "; declared values" + ("." if spec.may_be_empty else "; never empty."),
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
                kinds=set(kinds),
                automation_condition=automation_condition,
                code_version=code_version,
                skippable=len(specs) > 1,
            )
            for spec in specs
        ],
        check_specs=checks,
        can_subset=False,
        config_schema=config_schema,
    )
    def _tables(context: dg.AssetExecutionContext, storage: StorageResource, spark: SparkResource):
        lake = storage.lake()
        compute_started = time.perf_counter()
        inputs = Inputs(spark, lake, context.op_config if config_schema else None)
        try:
            tables = {name: as_arrow(frame) for name, frame in build(inputs).items()}
        finally:
            inputs.release()
        compute_seconds = time.perf_counter() - compute_started
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
                **({"compute_seconds": round(compute_seconds, 2), "delta_write_seconds": round(delta_seconds, 2)} if index == 0 else {}),
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
