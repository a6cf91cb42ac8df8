"""Keep one row per group in pure Arrow (no pandas round trip, so decimals and UTC timestamps stay exact)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc


def last_per_group(table: pa.Table, group: list[str], order: list[str]) -> tuple[pa.Table, pa.Table]:
    """The last row of each ``group`` by ``order`` (ascending), and the rows it supersedes."""
    if table.num_rows == 0:
        return table, table
    ordered = table.sort_by([(c, "ascending") for c in [*group, *order]])
    n = ordered.num_rows
    same_as_next = np.ones(n - 1, dtype=bool)
    for name in group:
        column = ordered[name].combine_chunks()
        current, following = column.slice(0, n - 1), column.slice(1)
        both_null = pc.and_(pc.is_null(current), pc.is_null(following))
        equal = pc.fill_null(pc.or_kleene(pc.equal(current, following), both_null), False)
        same_as_next &= equal.to_numpy(zero_copy_only=False)
    is_last = np.append(~same_as_next, True)
    return ordered.filter(pa.array(is_last)), ordered.filter(pa.array(~is_last))
