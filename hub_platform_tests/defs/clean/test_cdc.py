"""Change events apply in log-sequence order, whatever order they arrive in."""

from datetime import UTC, datetime

import pyarrow as pa

from hub_platform.defs.clean.cdc import current_state, delete_condition, distinct_events
from hub_platform.defs.clean.dedupe import last_per_group
from hub_platform.sources.contract import parse_contract
from hub_platform_tests.conftest import CRM_CONTRACT

CRM = parse_contract(CRM_CONTRACT)


def events(*rows):
    received = datetime(2026, 10, 1, tzinfo=UTC)
    return pa.Table.from_pylist(
        [{"lsn": lsn, "op": op, "contact_id": key, "city": city, "_source": "crm", "_received_at": received, "_row_number": i}
         for i, (lsn, op, key, city) in enumerate(rows)]
    )


def test_the_highest_sequence_wins_even_when_it_arrived_first():
    state = current_state(events((5, "U", "k1", "Leeds"), (3, "U", "k1", "York"), (1, "I", "k1", "Hull")), CRM)
    assert state.select(["contact_id", "lsn", "city"]).to_pylist() == [{"contact_id": "k1", "lsn": 5, "city": "Leeds"}]


def test_a_late_update_does_not_resurrect_a_deleted_row():
    state = current_state(events((9, "D", "k1", None), (4, "U", "k1", "York")), CRM)
    assert state["op"].to_pylist() == ["D"]
    assert delete_condition(CRM) == "s.`op` IN ('D')"


def test_replayed_events_collapse():
    log = distinct_events(events((1, "I", "k1", "Hull"), (1, "I", "k1", "Hull"), (2, "U", "k2", "Ely")), CRM)
    assert sorted(log["lsn"].to_pylist()) == [1, 2]


def test_last_per_group_returns_what_it_superseded_and_treats_nulls_as_a_group():
    table = pa.table({"k": ["a", None, "a", None, "b"], "v": [1, 2, 3, 4, 5]})
    kept, superseded = last_per_group(table, ["k"], ["v"])
    assert sorted(kept.to_pylist(), key=str) == sorted([{"k": "a", "v": 3}, {"k": None, "v": 4}, {"k": "b", "v": 5}], key=str)
    assert sorted(superseded["v"].to_pylist()) == [1, 2]
