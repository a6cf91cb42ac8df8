"""Change data capture: order change events by their log sequence, not by when they arrived.

The change log keeps every event once (a replayed event has the same source and sequence number).
The current state of a key is its event with the highest sequence: an update that arrives late
cannot overwrite a newer one, and a late update cannot resurrect a row deleted after it.
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from hub_platform.defs.clean.dedupe import last_per_group
from hub_platform.sources.contract import Contract


def distinct_events(events: pa.Table, contract: Contract) -> pa.Table:
    """One row per (source, sequence): replays of an event collapse onto one copy."""
    kept, _ = last_per_group(events, ["_source", contract.cdc.sequence], ["_received_at", "_row_number"])
    return kept


def current_state(events: pa.Table, contract: Contract) -> pa.Table:
    """The latest event per (source, key): what the state table must hold (or not, for a delete)."""
    state, _ = last_per_group(events, ["_source", *contract.keys], [contract.cdc.sequence])
    return state


def delete_condition(contract: Contract, alias: str = "s") -> str:
    """SQL that is true where an event is a delete, for the MERGE that applies the state."""
    codes = sorted(code for code, meaning in contract.cdc.operations.items() if meaning == "delete")
    quoted = ", ".join("'" + code.replace("'", "''") + "'" for code in codes)
    return f"{alias}.`{contract.cdc.operation}` IN ({quoted})"


def is_delete(events: pa.Table, contract: Contract) -> pa.Array:
    """True where an event is a delete (what a rebuilt state table must not hold)."""
    codes = [code for code, meaning in contract.cdc.operations.items() if meaning == "delete"]
    return pc.fill_null(pc.is_in(events[contract.cdc.operation], pa.array(codes, pa.string())), False)
