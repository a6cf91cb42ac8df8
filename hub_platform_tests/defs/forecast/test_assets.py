"""forecast/sales_anomalies alone on a tiny lake: a recent anomaly is alerted once, never again on reruns."""

import json

import dagster as dg
import numpy as np
import pandas as pd
import pyarrow as pa

from hub_platform.defs.forecast.assets import forecast_assets
from hub_platform.lib.lake.store import Lake, Location
from hub_platform.lib.resources import NotificationResource, SparkResource, StorageResource
from hub_platform_tests.defs.forecast.test_anomalies import series

ANOMALIES = dg.AssetKey(["forecast", "sales_anomalies"])


def test_a_recent_anomaly_is_alerted_once(tmp_path):
    y = np.random.default_rng(3).poisson(5.0, 90).astype(float)
    y[-2] = 40.0  # a spike two days before the last sales day: recent enough to act on
    target = series("SKU-1@ST-1", y)
    lake = Lake(Location(str(tmp_path / "lake")))
    daily = pd.DataFrame({"product_id": "SKU-1", "location_id": "ST-1", "sales_date": target.ds.dt.date, "channel": "store",
                          "currency": "EUR", "units": target.y.astype(int), "revenue": target.y * 2.0})
    prices = pd.DataFrame({"product_id": ["SKU-1"], "currency": ["EUR"], "price": [2.0],
                           "valid_from": [pd.Timestamp("2020-01-01", tz="UTC")], "valid_to": [pd.NaT]})
    inventory = pd.DataFrame({"product_id": ["SKU-1"], "location_id": ["ST-1"], "snapshot_date": [target.ds.iloc[0].date()],
                              "on_hand": [9]})
    for name, table in (("daily_sales", daily), ("price", prices), ("inventory_position", inventory)):
        lake.write(pa.Table.from_pandas(table, preserve_index=False), "curated", name)
    lake.write(pa.table({"location_id": ["ST-1"], "location_type": ["store"], "country": ["DE"]}), "curated", "location")
    resources = {
        "storage": StorageResource(lake_root=str(tmp_path / "lake"), landing_root=str(tmp_path / "landing"), truth_root=str(tmp_path / "truth")),
        "spark": SparkResource(), "notifications": NotificationResource(outbox_dir=str(tmp_path / "outbox")),
    }
    asset = next(a for a in forecast_assets() if ANOMALIES in a.keys)
    versions = []
    for _ in range(2):
        assert dg.materialize([asset], resources=resources).success
        versions.append(lake.version("forecast", "sales_anomalies"))
    assert versions[1] == versions[0], "a rerun on unchanged inputs must commit nothing"
    sent = [json.loads(line) for line in (tmp_path / "outbox" / "sales_anomaly.jsonl").read_text().splitlines()]
    spike_day = f"{target.ds.iloc[-2]:%Y-%m-%d}"
    assert [m["id"] for m in sent] == [f"SKU-1@ST-1:{spike_day}"]
    assert sent[0]["data"]["direction"] == "spike"
    recorded = lake.read("forecast", "sales_anomalies").to_pandas()
    assert (recorded.sales_date.dt.strftime("%Y-%m-%d") == spike_day).sum() == 1


FORECAST_CHAIN = ("forecast__target", "forecast__backtest", "forecast/candidate", "forecast/published")


def _tiny_curated_lake(tmp_path) -> tuple[Lake, dict]:
    """Curated daily sales (80 weeks, trending) and order lines (three weeks of hourly baskets) for two and three stores."""
    rng = np.random.default_rng(5)
    lake = Lake(Location(str(tmp_path / "lake")))
    days = pd.date_range("2025-01-06", periods=7 * 80, freq="D")
    daily = pd.DataFrame([{"product_id": "SKU-1", "location_id": loc, "sales_date": day.date(), "channel": "store",
                           "currency": "EUR", "units": round(20 + 0.3 * i + 10 * k + rng.normal(0, 2)), "revenue": 1.0}
                          for k, loc in enumerate(("ST-001", "ST-002")) for i, day in enumerate(days)])
    hours = pd.date_range("2026-03-02", periods=24 * 21, freq="h", tz="UTC")
    shape = 1 + np.sin(2 * np.pi * (hours.hour.to_numpy() - 8) / 24).clip(0) * 6
    lines = pd.DataFrame([{"product_id": "SKU-1", "location_id": loc, "ordered_at": hour, "qty": int(q)}
                          for loc in ("ST-001", "ST-002", "ST-003") for hour, q in zip(hours, rng.poisson(shape * 3), strict=True)])
    inventory = pd.DataFrame({"product_id": ["SKU-1"], "location_id": ["ST-001"], "snapshot_date": [days[-1].date()],
                              "on_hand": [5]})
    for name, table in (("daily_sales", daily), ("sales_order_line", lines), ("inventory_position", inventory)):
        lake.write(pa.Table.from_pandas(table, preserve_index=False), "curated", name)
    resources = {
        "storage": StorageResource(lake_root=str(tmp_path / "lake"), landing_root=str(tmp_path / "landing"), truth_root=str(tmp_path / "truth")),
        "spark": SparkResource(), "notifications": NotificationResource(outbox_dir=str(tmp_path / "outbox")),
    }
    return lake, resources


def _forecast_chain():
    return [a for a in forecast_assets() if any(k.to_user_string() in FORECAST_CHAIN for k in a.keys)
            or a.node_def.name in FORECAST_CHAIN]


def test_weekly_and_hourly_definitions_go_through_the_zone_the_gate_and_the_api(tmp_path, monkeypatch, capsys):
    from fastapi.testclient import TestClient

    from hub_platform.serving.api import create_app
    from hub_platform.serving.cli import main

    lake, resources = _tiny_curated_lake(tmp_path)
    client = TestClient(create_app(lake))
    monkeypatch.setenv("HUB_HOME", str(tmp_path))
    monkeypatch.delenv("HUB_LAKE_ROOT", raising=False)
    for definition, horizon, product, first, second in (
            ("weekly_store_demand", 4, "SKU-1", "2026-07-26 00:00:00", "2026-08-02 00:00:00"),
            ("hourly_store_demand", 24, "ALL", "2026-03-22 23:00:00", "2026-03-23 00:00:00")):
        run_config = {"ops": {"forecast__target": {"config": {"definition": definition, "horizon": horizon}}}}
        result = dg.materialize(_forecast_chain(), resources=resources, run_config=run_config)
        assert result.success
        checks = {(e.asset_key.to_user_string(), e.check_name): e.passed for e in result.get_asset_check_evaluations()}
        assert checks[("forecast/candidate", "beats_seasonal_naive")]
        meta = result.asset_materializations_for_node("forecast__candidate")[0].metadata
        assert "cpu_seconds_per_candidate" in meta and 0 <= meta["interval_coverage_held_out"].value <= 1
        choice = lake.read("forecast", "model_choice").to_pandas()
        assert set(choice.selected_by) == {"backtest"} and not choice.fallback.any()

        body = client.get(f"/forecast/{product}", params={"location": "ST-001", "horizon": 2}).json()
        assert body["definition"] == definition and [p["step"] for p in body["locations"][0]["points"]] == [1, 2]
        assert [p["ds"] for p in body["locations"][0]["points"]] == [first.replace(" ", "T"), second.replace(" ", "T")]
        too_far = client.get(f"/forecast/{product}", params={"horizon": horizon + 1})
        assert too_far.status_code == 422 and f"holds {horizon} periods" in too_far.json()["detail"]
        assert main(["forecast", product, "--location", "ST-001", "--horizon", "2"]) == 0
        printed = capsys.readouterr().out
        assert definition in printed and first.split(" ")[0] in printed
