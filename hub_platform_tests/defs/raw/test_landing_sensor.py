"""The landing sensor sees only what is new, asks once per content, and never re-reads old files."""

import json
from datetime import UTC, datetime

import dagster as dg
import pyarrow as pa
import pytest

from hub_platform.defs.raw.landing import sha256
from hub_platform.defs.raw.sensors import landing_sensor, plan_ingestion
from hub_platform.lib.resources import StorageResource
from hub_platform_tests.conftest import SHOP_FILE as GOOD


@pytest.fixture
def storage(tmp_path) -> StorageResource:
    return StorageResource(lake_root=str(tmp_path / "lake"), landing_root=str(tmp_path / "landing"), truth_root=str(tmp_path / "truth"))


def tick(registry, storage, cursor=None):
    context = dg.build_sensor_context(cursor=cursor, resources={"storage": storage})
    result = landing_sensor(registry).evaluate_tick(context)
    return result.run_requests or [], result.cursor


def land(storage, source, name, data, day):
    return storage.landing().land(source, name, data, datetime(2026, 10, day, tzinfo=UTC))


def test_first_tick_requests_one_run_that_ingests_and_conforms_keyed_by_content(shop_registry, storage):
    a = land(storage, "shop_eu", "a.csv", GOOD, 1)
    b = land(storage, "shop_us", "b.csv", GOOD + b"A3,1.00\n", 1)
    requests, cursor = tick(shop_registry, storage)
    assert len(requests) == 1
    request = requests[0]
    assert request.asset_selection == [dg.AssetKey(["raw", "shop_orders"]), dg.AssetKey(["clean", "shop_orders"])]
    assert request.run_config["ops"]["raw__shop_orders"]["config"]["files"] == [a.key, b.key]
    assert request.run_key == tick(shop_registry, storage)[0][0].run_key  # the same content asks with the same key
    assert json.loads(cursor) == {"shop_eu": a.key, "shop_us": b.key}


def test_the_next_tick_sees_only_new_files(shop_registry, storage):
    land(storage, "shop_eu", "a.csv", GOOD, 1)
    _, cursor = tick(shop_registry, storage)
    assert tick(shop_registry, storage, cursor)[0] == []
    new = land(storage, "shop_eu", "c.csv", b"order_id,amount\nC1,1\n", 2)
    requests, _ = tick(shop_registry, storage, cursor)
    assert requests[0].run_config["ops"]["raw__shop_orders"]["config"]["files"] == [new.key]


def test_the_same_bytes_from_a_source_are_never_requested_twice(shop_registry, storage):
    land(storage, "shop_eu", "a.csv", GOOD, 1)
    land(storage, "shop_eu", "again.csv", GOOD, 1)
    land(storage, "shop_us", "a.csv", GOOD, 1)  # another source's copy is its own delivery
    requests, cursor = tick(shop_registry, storage)
    files = requests[0].run_config["ops"]["raw__shop_orders"]["config"]["files"]
    assert sorted(key.split("/")[0] for key in files) == ["shop_eu", "shop_us"]
    # once the raw zone holds them, a later re-delivery is not requested either
    storage.raw().ingest(storage.raw().landed(shop_registry.sources.values()), shop_registry.sources)
    land(storage, "shop_eu", "a_resent.csv", GOOD, 3)
    assert tick(shop_registry, storage, cursor)[0] == []


def test_run_key_depends_on_content_only(shop_registry, storage):
    a = land(storage, "shop_eu", "a.csv", GOOD, 1)
    plan = plan_ingestion(storage.landing(), shop_registry, {}, set())
    assert plan.batches[0].files == ((a.key, sha256(GOOD)),)
    land(storage, "shop_us", "renamed.csv", GOOD + b"A9,9\n", 2)
    other = plan_ingestion(storage.landing(), shop_registry, {}, set())
    assert other.batches[0].run_key != plan.batches[0].run_key


def test_a_tick_reads_at_most_its_limit_and_resumes(shop_registry, storage):
    keys = [land(storage, "shop_eu", f"f{i}.csv", GOOD + f"X{i},1\n".encode(), 1 + i).key for i in range(5)]
    first = plan_ingestion(storage.landing(), shop_registry, {}, set(), max_files=3)
    assert [k for k, _ in first.batches[0].files] == keys[:3] and first.more_waiting
    second = plan_ingestion(storage.landing(), shop_registry, first.cursor, set(), max_files=3)
    assert [k for k, _ in second.batches[0].files] == keys[3:]


def test_a_live_feed_runs_through_to_its_consumers_in_the_same_run(shop_registry, storage):
    land(storage, "shop_eu", "a.csv", GOOD, 1)
    consumers = [dg.AssetKey(["clean", "shop_orders"]), dg.AssetKey(["orders", "alerts"])]
    sensor = landing_sensor(shop_registry, live={"shop_orders": consumers})
    first = sensor.evaluate_tick(dg.build_sensor_context(resources={"storage": storage}))
    # before its consumers were ever built (their inputs may not exist yet) automation builds them in order
    assert first.run_requests[0].asset_selection == [dg.AssetKey(["raw", "shop_orders"]), dg.AssetKey(["clean", "shop_orders"])]
    for key in consumers:
        storage.lake().write(pa.table({"x": [1]}), *key.path)
    result = sensor.evaluate_tick(dg.build_sensor_context(resources={"storage": storage}))
    assert result.run_requests[0].asset_selection == [dg.AssetKey(["raw", "shop_orders"]), *consumers]


def test_the_hubs_telemetry_feed_is_live_through_to_delay_alerts():
    from hub_platform.definitions import defs

    sensor = next(s for s in defs.sensors if s.name == "landing_sensor")
    assert "vehicle_telemetry" in sensor.description
    job = defs.resolve_job_def(sensor.job_name)
    assert {dg.AssetKey(["clean", "vehicle_telemetry"]), dg.AssetKey(["orders", "delay_alerts"])} <= set(job.asset_layer.executable_asset_keys)


def test_a_freshly_seeded_landing_area_is_one_run_not_one_per_feed():
    from hub_platform.defs.raw.sensors import FILES_PER_RUN, FeedBatch, run_rounds

    def batch(feed, n, start=0):
        return FeedBatch(feed, tuple((f"{feed}/{i}", f"{feed}{i}") for i in range(start, start + n)))

    many = [batch("pos", FILES_PER_RUN), batch("pos", 10, FILES_PER_RUN)]
    rounds = run_rounds([batch("erp", 3), *many, batch("web", 2)])
    assert [[b.feed for b in r] for r in rounds] == [["erp", "pos", "web"], ["pos"]]  # a feed's second batch waits
    assert run_rounds([]) == []

