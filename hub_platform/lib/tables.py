"""How every asset of the hub is declared and built: one declaration, reads limited to what it declares.

A zone module declares its tables (:class:`TableSpec`: name, key, what it promises) and either one
function from input frames to output frames (:func:`table_assets`), or, for an asset that keeps
state or has a side effect, a function of its tables (:meth:`ZoneAsset.define`). Either way a
:class:`ZoneAsset` carries group, owners, tags, kinds, automation condition, freshness and the
blocking Great Expectations check of every table, and the build can read only its declared inputs
(and its own tables' previous state): a read outside them fails with the table's name, so lineage
and automation (which see declared deps only) always see every read.

A built table asset
- reads its inputs as Spark DataFrames of their current Delta snapshots (Spark starts only for a
  build that asks for one), as pandas frames or as Arrow,
- computes the full target state and hands it over as Arrow,
- MERGE-syncs each table (:meth:`Lake.sync`): a rerun on unchanged inputs commits nothing,
- keeps the masked copy analysts read of each table with personal data (:func:`governance.publish_masked`),
- reports row counts, schema (PII columns tagged, as governance classifies them), a preview, what
  the MERGE changed, and the compute and Delta-write seconds separately,
- checks each table with Great Expectations (blocking: keys unique and present, declared values).
"""

import functools
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field

import dagster as dg
import pandas as pd
import pyarrow as pa

from hub_platform.lib.automation import FOLLOWS_UPSTREAM
from hub_platform.lib.governance import pii_columns, publish_masked
from hub_platform.lib.gx import TableRules, check_rules
from hub_platform.lib.lake.spark_bridge import read_spark
from hub_platform.lib.lake.store import Location
from hub_platform.lib.metadata import markdown_table, table_metadata
from hub_platform.lib.resources import NotificationResource, SparkResource, StorageResource


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


@dataclass(frozen=True)
class SideTable:
    """A table the computation also writes that is not an asset of its own (e.g. a quarantine)."""

    zone: str
    name: str
    keys: tuple[str, ...]


@dataclass(frozen=True)
class SideInput:
    """Another asset's side table an asset reads (clean/<feed>_history of clean/<feed>, say): readable
    only where its owner is a declared dep, so lineage and automation see the read through the owner."""

    owner: dg.AssetKey
    zone: str
    name: str


@dataclass
class Findings:
    """What a zone adds to the standard report: metadata per table name and extra check results."""

    metadata: dict[str, dict] = field(default_factory=dict)
    checks: list[dg.AssetCheckResult] = field(default_factory=list)


class UndeclaredRead(LookupError):
    """A build asked for a table its asset does not declare as an input."""


class Inputs:
    """The tables one build may read: its declared inputs, and its own tables' previous state.

    Reads come as Spark DataFrames of the tables' snapshots, as pandas frames or as Arrow. The Spark
    session is asked for only when a Spark read is, so pandas-only zones never start a JVM.
    """

    def __init__(self, spark: SparkResource, storage: StorageResource, readable: Iterable[dg.AssetKey],
                 config: dict | None = None):
        self._spark_resource, self._storage, self.config = spark, storage, config or {}
        self._lake = storage.lake()
        self._readable = frozenset(tuple(key.path) for key in readable)

    def _allowed(self, zone: str, name: str) -> None:
        if (zone, name) not in self._readable:
            raise UndeclaredRead(
                f"{zone}/{name} is not a declared input of this asset: add dg.AssetKey([{zone!r}, {name!r}]) to its deps "
                f"(declared: {', '.join(sorted('/'.join(k) for k in self._readable)) or 'none'})")

    @functools.cached_property
    def spark(self):
        return self._spark_resource.session()

    @property
    def engine(self):
        """Spark for work that can spread over a cluster's executors; None on a local session, where
        the machine's own cores do it with less overhead (the hub's one rule for choosing)."""
        return self.spark if self._spark_resource.distributed else None

    def __call__(self, zone: str, name: str):
        self._allowed(zone, name)
        return read_spark(self.spark, self._lake, zone, name)

    def clean(self, name: str):
        return self("clean", name)

    def curated(self, name: str):
        return self("curated", name)

    def arrow(self, zone: str, name: str, *, columns: list[str] | None = None, filters: list[tuple] | None = None) -> pa.Table:
        self._allowed(zone, name)
        return self._lake.read(zone, name, columns=columns, filters=filters)

    def pandas(self, zone: str, name: str, *, columns: list[str] | None = None, filters: list[tuple] | None = None) -> pd.DataFrame:
        return self.arrow(zone, name, columns=columns, filters=filters).to_pandas()

    def exists(self, zone: str, name: str) -> bool:
        """Whether a readable table has been written yet (an asset's own state before its first run)."""
        self._allowed(zone, name)
        return self._lake.has_table(zone, name)

    def truth(self) -> Location:
        """The sample generator's ground truth beside the lake (quality figures only; absent in production)."""
        return self._storage.truth()

    def release(self) -> None:
        """Drop what the build cached on Spark (if it used Spark at all), once its results are handed over."""
        if "spark" in vars(self):  # the cached property was computed: Spark was asked for
            self.spark.catalog.clearCache()


class State(Inputs):
    """What an asset that keeps state or has a side effect may touch: it reads as :class:`Inputs` and
    writes only its own tables (its specs and side tables)."""

    def __init__(self, spark: SparkResource, storage: StorageResource, readable: Iterable[dg.AssetKey],
                 writable: Iterable[dg.AssetKey], config: dict | None = None):
        super().__init__(spark, storage, readable, config)
        self._writable = frozenset(tuple(key.path) for key in writable)

    def _owned(self, zone: str, name: str) -> None:
        if (zone, name) not in self._writable:
            raise PermissionError(f"{zone}/{name} is not a table of this asset; only its own tables can be written")

    def write(self, data: pa.Table, zone: str, name: str, **options) -> int:
        self._owned(zone, name)
        return self._lake.write(data, zone, name, **options)

    def upsert(self, data: pa.Table, zone: str, name: str, **options) -> dict[str, int]:
        self._owned(zone, name)
        return self._lake.upsert(data, zone, name, **options)

    def sync(self, data: pa.Table, zone: str, name: str, *, keys: list[str]) -> dict[str, int]:
        self._owned(zone, name)
        return self._lake.sync(data, zone, name, keys=keys)

    def publish_masked(self, spec: TableSpec, table: pa.Table, *, changed: bool) -> str:
        """Keep the masked copy analysts read of one of its own tables (:func:`governance.publish_masked`)."""
        self._owned(spec.zone, spec.name)
        return publish_masked(self._lake, spec.zone, spec.name, table, list(spec.keys), changed=changed)

    def save_artefact(self, data: bytes, key: str) -> str:
        """Store a file beside the lake's tables (a trained model, say); returns its URI."""
        self._lake.location.write_bytes(data, key)
        return self._lake.location.uri(key)

    def uri(self, zone: str, name: str) -> str:
        self._owned(zone, name)
        return self._lake.table_uri(zone, name)

    def version(self, zone: str, name: str) -> int:
        self._owned(zone, name)
        return self._lake.version(zone, name)

    @property
    def storage(self) -> StorageResource:
        """The storage itself, for raw/ and clean/, whose state is the landing area, raw objects and ledgers."""
        return self._storage


def gx_check(spec: TableSpec, description: str | None = None) -> dg.AssetCheckSpec:
    """The blocking Great Expectations check every table carries."""
    return dg.AssetCheckSpec(
        "great_expectations", asset=spec.key, blocking=True,
        description=description or f"Keys {', '.join(spec.keys)} present and unique"
        + (f"; {', '.join(spec.not_null)} present" if spec.not_null else "")
        + "; declared values" + ("." if spec.may_be_empty else "; never empty."),
    )


Compute = Callable[..., Iterator]


@dataclass(frozen=True, kw_only=True)
class ZoneAsset:
    """The one declaration of a hub asset: its tables, inputs, ownership, automation and checks.

    ``checks`` replace the standard GX check per table where a zone checks differently (the clean
    zone's contract suites); ``extra_checks`` add to it.
    """

    specs: Sequence[TableSpec]
    deps: Sequence[dg.AssetKey]
    owners: Sequence[str]
    kinds: frozenset[str] = frozenset({"spark", "delta"})
    group: str | None = None
    tags: Mapping[str, str] = field(default_factory=dict)
    side_tables: Mapping[str, SideTable] = field(default_factory=dict)
    side_inputs: Sequence[SideInput] = ()
    checks: Sequence[dg.AssetCheckSpec] | None = None
    extra_checks: Sequence[dg.AssetCheckSpec] = ()
    automation_condition: dg.AutomationCondition | None = FOLLOWS_UPSTREAM
    freshness: dg.FreshnessPolicy | None = None
    code_version: str | None = None
    name: str | None = None
    config_schema: dict | None = None
    metadata: Mapping[str, object] = field(default_factory=dict)
    # Concurrency pool (dagster.yaml limits every pool to one step across runs); default: the op's own,
    # since its tables have this one writer. Assets sharing a table (raw/manifest, the clean ledger) share one.
    pool: str | None = None

    def __post_init__(self):
        orphans = [f"{s.zone}/{s.name}" for s in self.side_inputs if s.owner not in self.deps]
        if orphans:
            raise ValueError(f"side inputs {orphans} are read without their owning asset among the deps")

    @property
    def keys(self) -> list[dg.AssetKey]:
        return [spec.key for spec in self.specs]

    @property
    def op_name(self) -> str:
        return self.name or f"{self.specs[0].zone}__{self.specs[0].name}"

    def writable(self) -> list[dg.AssetKey]:
        """The asset's own tables: its specs and side tables."""
        return [*self.keys, *(dg.AssetKey([s.zone, s.name]) for s in self.side_tables.values())]

    def readable(self) -> list[dg.AssetKey]:
        """Declared inputs (with their side tables it reads) and the asset's own tables (their previous state)."""
        return [*self.deps, *(dg.AssetKey([s.zone, s.name]) for s in self.side_inputs), *self.writable()]

    def asset_specs(self) -> list[dg.AssetSpec]:
        return [
            dg.AssetSpec(
                spec.key, deps=list(self.deps), description=spec.description, group_name=self.group or spec.zone,
                owners=list(self.owners), tags={"zone": spec.zone, **self.tags}, kinds=set(self.kinds),
                automation_condition=self.automation_condition, code_version=self.code_version,
                freshness_policy=self.freshness, skippable=len(self.specs) > 1, metadata=dict(self.metadata),
            )
            for spec in self.specs
        ]

    def check_specs(self) -> list[dg.AssetCheckSpec]:
        standard = [gx_check(spec) for spec in self.specs] if self.checks is None else list(self.checks)
        return standard + list(self.extra_checks)

    def define(self, compute: Compute) -> dg.AssetsDefinition:
        """The asset running ``compute(context, tables: State, notifications)``, which yields its results."""

        @dg.multi_asset(
            name=self.op_name,
            specs=self.asset_specs(), check_specs=self.check_specs(), can_subset=False,
            config_schema=self.config_schema, pool=self.pool or self.op_name,
        )
        def _asset(context: dg.AssetExecutionContext, storage: StorageResource, spark: SparkResource,
                   notifications: NotificationResource):
            tables = State(spark, storage, self.readable(), self.writable(), context.op_config if self.config_schema else None)
            try:
                yield from compute(context, tables, notifications)
            finally:
                tables.release()

        return _asset


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
Report = Callable[[dict[str, pa.Table], Inputs], Findings]


def table_assets(specs: list[TableSpec], *, build: Build, report: Report | None = None, **declaration) -> dg.AssetsDefinition:
    """One asset computing ``specs`` (``build`` returns a DataFrame per spec name, plus any side tables);
    ``declaration`` is the rest of its :class:`ZoneAsset` (deps, owners, kinds, ...)."""
    asset = ZoneAsset(specs=specs, **declaration)

    def compute(_context: dg.AssetExecutionContext, state: State, _notifications: NotificationResource):
        compute_started = time.perf_counter()
        tables = {name: as_arrow(frame) for name, frame in build(state).items()}
        state.release()
        compute_seconds = time.perf_counter() - compute_started
        unknown = set(tables) - {s.name for s in specs} - set(asset.side_tables)
        if unknown:
            raise ValueError(f"build returned tables nobody declared: {sorted(unknown)}")

        delta_started = time.perf_counter()
        merges = {spec.name: state.sync(tables[spec.name], spec.zone, spec.name, keys=list(spec.keys)) for spec in specs}
        for name, side in asset.side_tables.items():
            merges[name] = state.sync(tables[name], side.zone, side.name, keys=list(side.keys))
        masked = {spec.name: state.publish_masked(spec, tables[spec.name], changed=any(merges[spec.name].values())) for spec in specs}
        delta_seconds = time.perf_counter() - delta_started

        findings = report(tables, state) if report else Findings()
        for index, spec in enumerate(specs):
            table = tables[spec.name]
            metadata = {
                **table_metadata(table, pii=pii_columns(table.column_names), descriptions=dict(spec.columns)),
                "merge": dg.MetadataValue.json(merges[spec.name]),
                "masked_copy": masked[spec.name],
                "delta_version": state.version(spec.zone, spec.name),
                "dagster/uri": dg.MetadataValue.path(state.uri(spec.zone, spec.name)),
                # one computation serves all outputs: its times are reported once, on the first
                **({"compute_seconds": round(compute_seconds, 2), "delta_write_seconds": round(delta_seconds, 2)} if index == 0 else {}),
                **(_side_metadata(asset.side_tables, tables) if index == 0 else {}),
                **findings.metadata.get(spec.name, {}),
            }
            yield dg.MaterializeResult(asset_key=spec.key, metadata=metadata)
            yield check_rules(table, spec, asset_key=spec.key)
        yield from findings.checks

    return asset.define(compute)


def _side_metadata(side_tables: Mapping[str, SideTable], tables: dict[str, pa.Table]) -> dict:
    metadata = {}
    for name, side in side_tables.items():
        table = tables[name]
        metadata[f"{side.zone}/{side.name}"] = dg.MetadataValue.md(
            f"{table.num_rows:,} rows" + (f"\n\n{markdown_table(table, limit=10)}" if table.num_rows else "")
        )
    return metadata
