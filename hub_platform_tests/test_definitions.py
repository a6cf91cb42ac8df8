"""The assembled code location: what a person sees in the UI and what runs without them."""

import dagster as dg

from hub_platform.definitions import defs
from hub_platform.sources.contract import default_registry


def test_every_feed_has_a_raw_and_a_clean_asset_grouped_by_zone():
    graph = defs.resolve_asset_graph()
    keys = {key.to_user_string() for key in graph.get_all_asset_keys()}
    for feed in default_registry().feeds:
        assert {f"raw/{feed}", f"clean/{feed}"} <= keys
    for key in graph.get_all_asset_keys():
        node = graph.get(key)
        assert node.group_name == key.path[0]
        assert node.description and node.owners, key


def test_clean_follows_raw_by_declarative_automation():
    graph = defs.resolve_asset_graph()
    for feed in default_registry().feeds:
        clean = graph.get(dg.AssetKey(["clean", feed]))
        assert clean.automation_condition is not None
        assert dg.AssetKey(["raw", feed]) in clean.parent_keys


def test_sensors_and_schedules_run_by_default():
    sensors = {s.name: s for s in defs.sensors}
    assert sensors["landing_sensor"].default_status == dg.DefaultSensorStatus.RUNNING
    assert sensors["zone_automation"].default_status == dg.DefaultSensorStatus.RUNNING
    assert {s.name for s in defs.schedules} == {"raw_reconciliation", "forecast_nightly"}
    assert all(s.default_status == dg.DefaultScheduleStatus.RUNNING for s in defs.schedules)


def test_blocking_checks_guard_the_clean_zone():
    for feed in default_registry().feeds:
        checks = {spec.name: spec for spec in defs.resolve_assets_def(dg.AssetKey(["clean", feed])).check_specs}
        assert checks["great_expectations"].blocking and checks["rows_accounted_for"].blocking
        assert not checks["no_failed_files"].blocking
