"""The curated zone's inputs: every clean feed of a canonical entity, as one Spark DataFrame.

A curated build asks for an entity (``shipment_line``, ``product``), never for a feed, and its
asset's inputs are computed from the contracts: a new source of a known entity — in whatever shape
its contract maps — reaches the curated tables built from that entity on the next run, with no
code. An entity no source feeds yet, or whose feeds have not delivered, is an empty frame of the
entity's schema: the build runs on what exists.

Every row carries ``_namespace``, the id space of its source (contract ``namespace``, default the
source's name), so equal ids from two systems — two POS vendors' transaction numbers — stay two
things in curated keys. An id that refers to a master entity several systems of record hold (a SKU,
when two ERPs each have a product master) is written ``<namespace>:<id>`` unless it is in the
namespace of the master's first system of record (contract ``precedence``), so one ERP's ``SKU-1``
and another's are two codes until product matching links them; with one system of record (the
sample) ids are left as they are.
"""

from __future__ import annotations

from functools import reduce

import dagster as dg
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql.pandas.types import from_arrow_schema

from hub_platform.defs.clean.assets import clean_history, clean_key
from hub_platform.defs.clean.conform import clean_schema
from hub_platform.defs.clean.processing import history_table
from hub_platform.lib.tables import Inputs, SideInput
from hub_platform.sources.contract import Registry


class Entities:
    """What the curated zone reads, per entity, given the contracts."""

    def __init__(self, registry: Registry):
        self.registry = registry

    def _feeds(self, entity: str, history: bool) -> list[str]:
        """The clean tables of an entity: with ``history``, every delivered version where the feed keeps them."""
        if entity not in self.registry.entities:
            raise KeyError(f"no entity {entity!r} in sources/entities/; known: {', '.join(sorted(self.registry.entities))}")
        return [history_table(feed) if history and self.registry.feeds[feed][0].history else feed
                for feed in self.registry.feeds_of(entity)]

    def deps(self, *entities: str) -> list[dg.AssetKey]:
        """The inputs of a build that reads ``entities``: every clean feed of each."""
        return [clean_key(feed) for entity in entities for feed in self._feeds(entity, history=False)]

    def histories(self, *entities: str) -> list[SideInput]:
        """The history tables a build reads with ``history=True``, each owned by its feed's asset."""
        return [clean_history(feed) for entity in entities for feed in self.registry.feeds_of(entity)
                if self.registry.feeds[feed][0].history]

    def read(self, read: Inputs, entity: str, *, history: bool = False) -> DataFrame:
        """Every clean row of ``entity`` (with ``history``, every delivered version), with ``_namespace``
        and master ids qualified (module docstring)."""
        frames = [read.clean(table) for table in self._feeds(entity, history) if read.exists("clean", table)]
        if frames:
            rows = reduce(lambda a, b: a.unionByName(b, allowMissingColumns=True), frames)
        else:
            rows = read.spark.createDataFrame([], from_arrow_schema(clean_schema(self.registry.entities[entity])))
        rows = rows.withColumn("_namespace", self._namespace(F.col("_source")))
        for column in self.registry.entities[entity].columns:
            primary = self.primary_namespace(column.refers_to) if column.refers_to else None
            if primary is not None:
                rows = rows.withColumn(column.name, qualified(F.col(column.name), F.col("_namespace"), primary))
        return rows

    def _namespace(self, source: Column) -> Column:
        pairs = [F.lit(x) for name in sorted(self.registry.sources) for x in (name, self.registry.namespace(name))]
        return F.coalesce(F.create_map(*pairs)[source], source) if pairs else source

    def primary_namespace(self, master: str) -> str | None:
        """The namespace whose ids of ``master`` stay bare, when several namespaces hold that master (else None)."""
        namespaces = list(dict.fromkeys(self.registry.namespace(c.name) for c in self.registry.masters(master)))
        return namespaces[0] if len(namespaces) > 1 else None


def qualified(value: Column, namespace: Column, primary: str) -> Column:
    """``value`` as it is in the ``primary`` namespace, else ``<namespace>:<value>``."""
    return F.when(value.isNull() | (namespace == primary), value).otherwise(F.concat(namespace, F.lit(":"), value))
