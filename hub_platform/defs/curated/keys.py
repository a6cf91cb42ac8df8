"""Surrogate keys: stable 64-bit integers derived from an entity's business key.

A key is a hash of the entity name and its natural key, so it is the same on every run and every
machine (Spark's xxhash64 is seeded with a constant), needs no sequence table, and lets two tables be
joined without a lookup. Keeping the entity name in the hash keeps ``product 'A1'`` and
``location 'A1'`` apart.
"""

from __future__ import annotations

from pyspark.sql import Column
from pyspark.sql import functions as F


def surrogate_key(entity: str, *natural_key: str | Column) -> Column:
    """The surrogate key of ``entity`` for the given natural-key columns (null when any part is null)."""
    parts = [F.col(c) if isinstance(c, str) else c for c in natural_key]
    present = F.lit(True)
    for part in parts:
        present = present & part.isNotNull()
    return F.when(present, F.xxhash64(F.lit(entity), *parts))
