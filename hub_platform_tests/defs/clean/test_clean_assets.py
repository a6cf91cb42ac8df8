"""The clean asset under Dagster: its code version is its contracts' fingerprint, so editing a contract
makes automation rerun it, and the run replays the changed source from raw."""

from datetime import UTC, datetime

import dagster as dg

from hub_platform.defs.clean.assets import clean_assets
from hub_platform.defs.raw.assets import raw_assets
from hub_platform.lib.resources import build_resources
from hub_platform.sources.contract import load_registry
from hub_platform_tests.conftest import SHOP_CONTRACT


def registry(folder, amount: str = "min: 0}"):
    folder.mkdir(exist_ok=True)
    for name in ("shop_eu", "shop_us"):
        (folder / f"{name}.yaml").write_text(SHOP_CONTRACT.format(name=name).replace("min: 0}", amount if name == "shop_eu" else "min: 0}"))
    return load_registry(folder)


def run(assets, selection):
    result = dg.materialize(assets, resources=build_resources(), selection=selection, raise_on_error=True)
    return {e.asset_key.to_user_string(): {k: v.value for k, v in e.event_specific_data.materialization.metadata.items()}
            for e in result.get_asset_materialization_events()}


def test_a_contract_edit_changes_the_code_version_and_the_next_run_replays_that_source(hub_home, tmp_path):
    storage = build_resources()["storage"]
    before = registry(tmp_path / "contracts")
    storage.landing().land("shop_eu", "a.csv", b"order_id,amount\nA1,-1.00\nA2,2.00\n", datetime(2026, 10, 1, tzinfo=UTC))
    assets = [*raw_assets(before), *clean_assets(before)]
    first = run(assets, "*")
    assert first["clean/shop_orders"]["rows_clean_this_run"] == 2 and first["clean/shop_orders"]["sources_replayed"] == []

    after = registry(tmp_path / "contracts", "min: 0, required: true}")
    old_version = next(a for a in clean_assets(before)).code_versions_by_key[dg.AssetKey(["clean", "shop_orders"])]
    new_assets = [*raw_assets(after), *clean_assets(after)]
    assert next(a for a in clean_assets(after)).code_versions_by_key[dg.AssetKey(["clean", "shop_orders"])] != old_version
    again = run(new_assets, "clean/shop_orders")["clean/shop_orders"]
    assert again["sources_replayed"] == ["shop_eu"]
    assert (again["rows_clean_this_run"], again["rows_quarantined_this_run"]) == (1, 1)  # -1.00 now quarantines
