"""The read path for people: SQL over the lake's tables with DuckDB, no Spark, as a role.

Analysts read tables that hold personal data from their masked copies (``masked/<zone>/<table>``,
written by the run that builds the table, which holds the hash key): an analyst's process needs no
key and never opens a clear table. Marketing (consent decides what is clear) is masked here, with the
key, so it reads through the query service (``hub serve``), which holds it.

DuckDB's own Delta extension needs a download this hub cannot rely on, so tables are read through
deltalake's snapshot (the exact files of the current version, or of a version at a point in time)
as Arrow and registered as views named ``<zone>.<table>``. Only the tables a query names are
registered; each is shown as the caller's role may see it (:mod:`hub_platform.lib.governance`), so the
same query path serves an analyst, marketing and a data steward.

From Python, ``QuerySession(lake, role="analyst").sql("SELECT ...")`` returns Arrow (``.to_pandas()``
for pandas); ``lake.read(zone, name, version=3)`` reads one table as it was at version 3.
"""

from __future__ import annotations

import re
from datetime import datetime

import duckdb
import pyarrow as pa
import pyarrow.dataset as ds

from hub_platform.lib.governance import (
    ALL_ZONES,
    HASH_KEY_VARIABLE,
    AccessDenied,
    apply_role,
    masked_zone,
    pii_columns,
    zones_for,
)
from hub_platform.lib.lake.store import Lake, TableNotFound

_TABLE_REFERENCE = re.compile(r"\b(" + "|".join(ALL_ZONES) + r")\s*\.\s*([a-z_][a-z0-9_]*)\b", re.IGNORECASE)


class QuerySession:
    def __init__(self, lake: Lake, *, role: str = "analyst", as_of: datetime | None = None):
        self.lake, self.role, self.as_of = lake, role, as_of
        self.zones = zones_for(role)
        # DuckDB could otherwise read the lake's files itself and bypass the role: it sees only what is registered
        self.connection = duckdb.connect(config={"enable_external_access": False, "lock_configuration": True})
        self._registered: set[tuple[str, str]] = set()

    def tables(self) -> list[str]:
        """``zone.table`` names this role may query."""
        return [f"{zone}.{name}" for zone in self.zones for name in self.lake.tables(zone)]

    def sql(self, query: str) -> pa.Table:
        for zone, name in {(z.lower(), n.lower()) for z, n in _TABLE_REFERENCE.findall(query)}:
            self._register(zone, name)
        result = self.connection.sql(query)
        return result.to_arrow_table() if result is not None else pa.table({})

    def read(self, zone: str, name: str) -> pa.Table:
        """One table as this role may see it."""
        return self._governed(zone, name).to_table()

    def _register(self, zone: str, name: str) -> None:
        if (zone, name) in self._registered:
            return
        view = f"__{zone}__{name}"
        self.connection.register(view, self._governed(zone, name))  # only what the role may see reaches DuckDB
        self.connection.execute(f'CREATE SCHEMA IF NOT EXISTS "{zone}"')
        self.connection.execute(f'CREATE OR REPLACE VIEW "{zone}"."{name}" AS SELECT * FROM "{view}"')
        self._registered.add((zone, name))

    def _governed(self, zone: str, name: str) -> ds.Dataset | pa.Table:
        if zone not in self.zones:
            raise AccessDenied(f"role {self.role!r} may not read {zone}/ (it may read {', '.join(self.zones) or 'no zone'})")
        if self.role == "analyst" and self.lake.has_table(masked_zone(zone), name):
            return self.lake.dataset(masked_zone(zone), name, self.as_of)
        if not self.lake.has_table(zone, name):
            raise TableNotFound(f"there is no table {zone}.{name}; `hub sql --tables` lists them")
        data = self.lake.dataset(zone, name, self.as_of)
        if self.role == "steward" or not pii_columns(data.schema.names):
            return data
        if self.role == "analyst":
            raise AccessDenied(f"{zone}.{name} holds personal data and has no masked copy for analysts yet: the run that "
                               f"builds it publishes one when it has {HASH_KEY_VARIABLE}")
        return apply_role(data.to_table(), self.role)  # masked in Arrow: clear values never reach DuckDB


class UnknownProduct(TableNotFound):
    """The published forecast has nothing for this product (or product and location)."""


class HorizonTooLong(ValueError):
    """More periods asked for than the published forecast holds."""


def published_forecast(lake: Lake, product_id: str, location_id: str | None = None, horizon: int | None = None) -> pa.Table:
    """The published forecast of a product (at one location, or all it is sold at), the first ``horizon``
    periods (all when None): unique_id, product_id, location_id, ds, step (periods ahead), model, p10, p50,
    p90, definition and freq (the periods' frequency), in date order. A table published before forecast
    definitions existed is the daily one. ``horizon`` beyond the published steps is :class:`HorizonTooLong`."""
    # filtered in pandas: the forecast assets write ids as string_view, which Delta filters cannot compare yet
    rows = lake.read("forecast", "published").to_pandas()
    rows = rows[(rows["product_id"] == product_id) & ((rows["location_id"] == location_id) if location_id else True)]
    if rows.empty:
        where = f" at {location_id}" if location_id else ""
        raise UnknownProduct(f"no published forecast for product {product_id!r}{where}")
    rows = rows.sort_values(["location_id", "ds"], ignore_index=True)
    defaults = {"step": rows.groupby("location_id").cumcount() + 1, "definition": "daily_store_demand", "freq": "D"}
    rows = rows.assign(**{k: v for k, v in defaults.items() if k not in rows})
    published = int(rows["step"].max())
    if horizon is not None and horizon > published:
        raise HorizonTooLong(f"the published {rows['definition'].iat[0]} forecast holds {published} periods "
                             f"({rows['freq'].iat[0]}); asked for {horizon}")
    shown = rows if horizon is None else rows[rows["step"] <= horizon]
    return pa.Table.from_pandas(shown[["unique_id", "product_id", "location_id", "ds", "step", "model", "p10", "p50", "p90",
                                       "definition", "freq"]], preserve_index=False)
