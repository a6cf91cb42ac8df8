"""orders/delay_alerts alone on a tiny lake: each alert is sent once, reruns send nothing, and an
alert whose sending failed is sent by the next run rather than lost."""

import json

import dagster as dg
import pandas as pd
import pyarrow as pa
import pytest

from hub_platform.defs.orders.assets import orders_assets
from hub_platform.lib.lake.store import Lake, Location
from hub_platform.lib.resources import NotificationResource, SparkResource, StorageResource
from hub_platform_tests.defs.orders.test_delivery_alerts import predictions

DELAY_ALERTS = dg.AssetKey(["orders", "delay_alerts"])


class BrokenChannel(NotificationResource):
    """A notification channel that is down."""

    def send(self, kind: str, messages: list[dict]) -> int:
        raise ConnectionError("the notification channel is unreachable")


@pytest.fixture
def lake_and_storage(tmp_path):
    lake = Lake(Location(str(tmp_path / "lake")))
    lake.write(pa.table({"order_id": ["A"], "driver_id": ["DRV-1"], "status": ["planned"]}), "orders", "route_stop")
    lake.write(pa.table({"order_id": ["A"], "customer_ref": ["ACC-1"], "ship_to_location_id": ["DROP-1"], "channel": ["b2b"]}),
               "curated", "sales_order")
    lake.write(pa.table({"location_id": ["DROP-1"], "timezone": ["Europe/London"]}), "curated", "location")
    storage = StorageResource(lake_root=str(tmp_path / "lake"), landing_root=str(tmp_path / "landing"), truth_root=str(tmp_path / "truth"))
    return lake, storage


def _predict(lake: Lake, etas: list[float]) -> None:
    lake.write(pa.Table.from_pandas(predictions("A", etas), preserve_index=False), "orders", "eta_predictions", mode="overwrite")


def _run(storage: StorageResource, notifications: NotificationResource) -> dg.ExecuteInProcessResult:
    asset = next(a for a in orders_assets() if DELAY_ALERTS in a.keys)
    return dg.materialize([asset], resources={"storage": storage, "spark": SparkResource(), "notifications": notifications},
                          raise_on_error=False)


def _outbox(tmp_path) -> list[dict]:
    path = tmp_path / "outbox" / "delay_alert.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def test_an_alert_is_sent_once_and_reruns_send_nothing(lake_and_storage, tmp_path):
    lake, storage = lake_and_storage
    outbox = NotificationResource(outbox_dir=str(tmp_path / "outbox"))
    _predict(lake, [-30, 5, 12])
    assert _run(storage, outbox).success and _run(storage, outbox).success
    sent = _outbox(tmp_path)
    assert [(m["id"], m["recipients"]) for m in sent] == [("A:late:20261027T080500Z", ["customer:ACC-1", "driver:DRV-1"])]
    assert lake.read("orders", "delay_alerts")["alert_id"].to_pylist() == ["A:late:20261027T080500Z"]

    _predict(lake, [-30, 5, 12, -20])  # a later prediction is back inside the window: one more alert, the clearance
    assert _run(storage, outbox).success
    assert [m["id"].split(":")[1] for m in _outbox(tmp_path)] == ["late", "cleared"]
    assert sorted(lake.read("orders", "delay_alerts")["state"].to_pylist()) == ["cleared", "late"]


def test_an_alert_that_could_not_be_sent_is_sent_by_the_next_run(lake_and_storage, tmp_path):
    lake, storage = lake_and_storage
    _predict(lake, [-30, 5])
    failed = _run(storage, BrokenChannel(outbox_dir=str(tmp_path / "outbox")))
    assert not failed.success
    assert not lake.has_table("orders", "delay_alerts") and not lake.has_table("orders", "alert_state")

    assert _run(storage, NotificationResource(outbox_dir=str(tmp_path / "outbox"))).success
    assert [m["id"] for m in _outbox(tmp_path)] == ["A:late:20261027T080500Z"]
    assert pd.Series(lake.read("orders", "alert_state")["state"].to_pylist()).tolist() == ["late"]
