"""Clean rows harmonization cannot place go to a quarantine table with a rule and a reason; none is dropped.

A quarantined row keeps its clean-zone columns, lineage included (_source, _file_checksum,
_row_number), so a steward sees where it came from. Curated tables are recomputed from the clean zone,
so the row leaves the quarantine on the first run after the missing piece (an order header, a product)
arrives.
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F


def unmatched(rows: DataFrame, known: DataFrame, on: str | list[str], rule: str, reason: Column) -> DataFrame:
    """The ``rows`` whose ``on`` value(s) ``known`` lacks (a null never matches), with ``rule`` and ``reason``."""
    return rows.join(known.select(on).distinct(), on, "left_anti").select(
        *rows.columns, F.lit(rule).alias("rule"), reason.alias("reason"))
