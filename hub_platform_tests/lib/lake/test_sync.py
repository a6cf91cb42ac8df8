"""Lake.sync: a derived table recomputed in full is stored with the least change, and reruns change nothing."""

import pyarrow as pa

from hub_platform.lib.lake.store import Lake, Location


def test_sync_inserts_updates_deletes_and_a_rerun_commits_nothing(tmp_path):
    lake = Lake(Location(str(tmp_path)))
    lake.sync(pa.table({"k": [1, 2, 3], "v": ["a", "b", None]}), "curated", "t", keys=["k"])
    changes = lake.sync(pa.table({"k": [1, 2, 4], "v": ["a", "B", "d"]}), "curated", "t", keys=["k"])
    assert changes == {"num_target_rows_inserted": 1, "num_target_rows_updated": 1, "num_target_rows_deleted": 1}
    version = lake.version("curated", "t")
    again = lake.sync(pa.table({"k": [1, 2, 4], "v": ["a", "B", "d"]}), "curated", "t", keys=["k"])
    assert set(again.values()) == {0} and lake.version("curated", "t") == version
    assert sorted(lake.read("curated", "t").to_pylist(), key=lambda r: r["k"]) == [
        {"k": 1, "v": "a"}, {"k": 2, "v": "B"}, {"k": 4, "v": "d"}]
    assert lake.read("curated", "t", version=0).num_rows == 3  # the first state is still there: time travel


def test_a_null_becoming_a_value_is_a_change_and_not_null_flags_do_not_matter(tmp_path):
    lake = Lake(Location(str(tmp_path)))
    lake.sync(pa.table({"k": [1], "v": pa.array([None], pa.string())}), "curated", "t", keys=["k"])
    strict = pa.schema([pa.field("k", pa.int64(), nullable=False), pa.field("v", pa.string(), nullable=False)])
    changes = lake.sync(pa.table({"k": [1], "v": ["x"]}, schema=strict), "curated", "t", keys=["k"])
    assert changes["num_target_rows_updated"] == 1 and "schema_replaced" not in changes


def test_a_new_column_replaces_the_table_in_one_version(tmp_path):
    lake = Lake(Location(str(tmp_path)))
    lake.sync(pa.table({"k": [1], "v": ["a"]}), "curated", "t", keys=["k"])
    changes = lake.sync(pa.table({"k": [1], "v": ["a"], "w": [2.5]}), "curated", "t", keys=["k"])
    assert changes["schema_replaced"] == 1 and lake.read("curated", "t").column_names == ["k", "v", "w"]
