"""The table builder on a tiny lake: reruns commit nothing, reads are limited to declared inputs,
every table gets its blocking check, and a stateful asset writes only its own tables."""

import dagster as dg
import pandas as pd
import pyarrow as pa
import pytest

from hub_platform.lib.lake.store import Lake, Location
from hub_platform.lib.resources import NotificationResource, SparkResource, StorageResource
from hub_platform.lib.tables import SideInput, UndeclaredRead, Zone, ZoneAsset, table_assets

TEST = Zone("testzone")
SOURCE = TEST.key("source")
TOTALS = TEST.spec("totals", ("group",), "Sum of values per group.", not_null=("total",))
OTHER = TEST.spec("other", ("group",), "A table nobody may write but its own asset.")


@pytest.fixture
def resources(tmp_path):
    lake = Lake(Location(str(tmp_path / "lake")))
    lake.write(pa.table({"group": ["a", "a", "b"], "value": [1, 2, 5]}), "testzone", "source")
    lake.write(pa.table({"secret": ["x"]}), "testzone", "undeclared")
    return {
        "storage": StorageResource(lake_root=str(tmp_path / "lake"), landing_root=str(tmp_path / "landing"),
                                   truth_root=str(tmp_path / "truth")),
        "spark": SparkResource(),
        "notifications": NotificationResource(outbox_dir=str(tmp_path / "outbox")),
    }


def _totals(read):
    frame = read.pandas("testzone", "source")
    return {"totals": frame.groupby("group", as_index=False).agg(total=("value", "sum"))}


def _materialization(result: dg.ExecuteInProcessResult, key: dg.AssetKey):
    return next(m for m in result.asset_materializations_for_node(result.all_node_events[0].node_name) if m.asset_key == key)


def test_a_second_run_on_unchanged_inputs_commits_nothing(resources):
    asset = table_assets([TOTALS], deps=[SOURCE], build=_totals, owners=["team:test"], kinds=frozenset({"pandas", "delta"}))
    first = dg.materialize([asset], resources=resources)
    second = dg.materialize([asset], resources=resources)
    assert first.success and second.success
    versions = [_materialization(run, TOTALS.key).metadata["delta_version"].value for run in (first, second)]
    assert versions[0] == versions[1]
    lake = resources["storage"].lake()
    assert lake.read("testzone", "totals").sort_by("group").to_pylist() == [{"group": "a", "total": 3}, {"group": "b", "total": 5}]
    checks = first.get_asset_check_evaluations()
    assert [(c.asset_key, c.check_name, c.passed) for c in checks] == [(TOTALS.key, "great_expectations", True)]


def test_a_read_outside_the_declared_inputs_fails_with_the_tables_name(resources):
    def sneaky(read):
        read.pandas("testzone", "undeclared")
        return _totals(read)

    asset = table_assets([TOTALS], deps=[SOURCE], build=sneaky, owners=["team:test"], kinds=frozenset({"pandas"}))
    with pytest.raises(UndeclaredRead, match="testzone/undeclared is not a declared input"):
        dg.materialize([asset], resources=resources)


def test_every_table_of_a_multi_asset_gets_one_blocking_check():
    asset = table_assets([TOTALS, OTHER], deps=[SOURCE], build=_totals, owners=["team:test"], name="testzone__both")
    checks = list(asset.check_specs)
    assert sorted((c.asset_key.path[-1], c.name, c.blocking) for c in checks) == [
        ("other", "great_expectations", True), ("totals", "great_expectations", True)]
    for spec in asset.specs:
        assert spec.group_name == "testzone" and spec.owners == ["team:test"] and spec.tags["zone"] == "testzone"


def test_a_stateful_asset_writes_only_its_own_tables(resources):
    asset = ZoneAsset(specs=[TOTALS], deps=[SOURCE], owners=["team:test"], kinds=frozenset({"delta"}))

    def stateful(_context, tables, _notifications):
        tables.write(pa.Table.from_pandas(pd.DataFrame({"group": ["a"]})), "testzone", "other")
        yield dg.MaterializeResult(asset_key=TOTALS.key)

    with pytest.raises(PermissionError, match="testzone/other is not a table of this asset"):
        dg.materialize([asset.define(stateful)], resources=resources)


def test_a_side_table_is_read_only_through_its_owner():
    history = SideInput(dg.AssetKey(["clean", "products"]), "clean", "products_history")
    with pytest.raises(ValueError, match="clean/products_history"):
        ZoneAsset(specs=[TOTALS], deps=[SOURCE], owners=["team:test"], side_inputs=[history])
    declared = ZoneAsset(specs=[TOTALS], deps=[SOURCE, history.owner], owners=["team:test"], side_inputs=[history])
    assert dg.AssetKey(["clean", "products_history"]) in declared.readable()
