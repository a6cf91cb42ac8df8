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
    lake.write(pa.Table.from_pandas(target, preserve_index=False), "forecast", "target_series")
    related = pd.DataFrame({"unique_id": "SKU-1@ST-1", "ds": target.ds, "promo": False, "future": False})
    lake.write(pa.Table.from_pandas(related, preserve_index=False), "forecast", "related_series")
    lake.write(pa.table({"location_id": ["ST-1"], "location_type": ["store"]}), "curated", "location")
    resources = {
        "storage": StorageResource(lake_root=str(tmp_path / "lake"), landing_root=str(tmp_path / "landing"), truth_root=str(tmp_path / "truth")),
        "spark": SparkResource(), "notifications": NotificationResource(outbox_dir=str(tmp_path / "outbox")),
    }
    asset = next(a for a in forecast_assets() if ANOMALIES in a.keys)
    for _ in range(2):
        assert dg.materialize([asset], resources=resources).success
    sent = [json.loads(line) for line in (tmp_path / "outbox" / "sales_anomaly.jsonl").read_text().splitlines()]
    spike_day = f"{target.ds.iloc[-2]:%Y-%m-%d}"
    assert [m["id"] for m in sent] == [f"SKU-1@ST-1:{spike_day}"]
    assert sent[0]["data"]["direction"] == "spike"
    recorded = lake.read("forecast", "sales_anomalies").to_pandas()
    assert (recorded.sales_date.dt.strftime("%Y-%m-%d") == spike_day).sum() == 1
