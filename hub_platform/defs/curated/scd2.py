"""Slowly changing dimensions, type 2: every version of an entity's attributes with its validity.

Versions are derived from *all* observations of the entity (every delivered extract, every price
change), not from the difference between two runs: a late delivery then lands in its place in
history, and recomputing from the same observations always yields the same versions, which is what
makes the MERGE that stores them idempotent.
"""

from __future__ import annotations

from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F


def effective_versions(
    observations: DataFrame,
    keys: list[str],
    attributes: list[str],
    effective_from: str,
    tie_breaker: str | None = None,
) -> DataFrame:
    """One row per version: ``keys``, ``attributes``, ``valid_from``, ``valid_to`` (null while
    current) and ``is_current``.

    Observations are ordered by ``effective_from`` per key; an observation opens a new version only
    when its attributes differ from the previous one (nulls compare equal), so monthly extracts that
    repeat a product unchanged do not create versions. Of several observations at the same instant
    the last by ``tie_breaker`` (e.g. the delivery time) wins.
    """
    order = [F.col(effective_from)] + ([F.col(tie_breaker)] if tie_breaker else [])
    latest_per_instant = Window.partitionBy(*keys, effective_from).orderBy(*[c.desc() for c in order])
    observed = (
        observations.withColumn("_rank", F.row_number().over(latest_per_instant))
        .where("_rank = 1")
        .select(*keys, *attributes, F.col(effective_from).alias("valid_from"))
    )
    timeline = Window.partitionBy(*keys).orderBy("valid_from")
    state = F.struct(*attributes)
    changes = observed.withColumn("_previous", F.lag(state).over(timeline)).where(
        F.col("_previous").isNull() | ~state.eqNullSafe(F.col("_previous"))
    )
    return (
        changes.drop("_previous")
        .withColumn("valid_to", F.lead("valid_from").over(timeline))
        .withColumn("is_current", F.col("valid_to").isNull())
    )
