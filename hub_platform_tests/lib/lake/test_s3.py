"""The same raw zone and sensor on S3: moto's threaded server on 127.0.0.1 is a real HTTP endpoint."""

from datetime import UTC, datetime

import boto3
import pytest

from hub_platform.defs.raw.landing import sha256
from hub_platform.defs.raw.sensors import plan_ingestion
from hub_platform.lib.resources import StorageResource
from hub_platform_tests.conftest import MOTO_KEYS as KEYS
from hub_platform_tests.conftest import SHOP_FILE as GOOD


@pytest.fixture(scope="module")
def s3_endpoint(moto_endpoint):
    boto3.client("s3", endpoint_url=moto_endpoint, region_name="us-east-1", **KEYS).create_bucket(Bucket="hub")
    return moto_endpoint


@pytest.fixture
def storage(s3_endpoint, request) -> StorageResource:
    prefix = f"s3://hub/{request.node.name}"
    return StorageResource(
        lake_root=f"{prefix}/lake",
        landing_root=f"{prefix}/landing",
        truth_root=f"{prefix}/truth",
        s3_endpoint_url=s3_endpoint,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        aws_region="us-east-1",
    )


def test_landing_listing_uses_the_cursor_on_s3(storage):
    landing = storage.landing()
    keys = [landing.land("shop_eu", f"{i}.csv", GOOD, datetime(2026, 10, 1 + i, tzinfo=UTC)).key for i in range(3)]
    assert [f.key for f in landing.list_after("shop_eu")] == keys
    assert [f.key for f in landing.list_after("shop_eu", after=keys[0])] == keys[1:]
    assert landing.read(keys[2]) == GOOD


def test_raw_ingest_writes_objects_and_a_delta_manifest_to_s3(storage, shop_registry, s3_endpoint):
    raw = storage.raw()
    landed = raw.landing.land("shop_eu", "orders.csv", GOOD, datetime(2026, 10, 1, tzinfo=UTC))
    plan = plan_ingestion(raw.landing, shop_registry, {}, raw.held())
    assert [k for k, _ in plan.batches[0].files] == [landed.key]

    report = raw.ingest([landed], shop_registry.sources)
    assert report.count("ingested") == 1
    assert raw.lake.get_object(sha256(GOOD)) == GOOD
    assert raw.lake.table_uri("raw", "manifest").startswith("s3://hub/")
    manifest = raw.manifest()
    assert manifest["landing_key"].to_pylist() == [landed.key]
    assert manifest["row_count"].to_pylist() == [2]

    # the object really is in the bucket, under its content hash
    client = boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1", **KEYS)
    key = f"test_raw_ingest_writes_objects_and_a_delta_manifest_to_s3/lake/{raw.lake.object_key(sha256(GOOD))}"
    assert client.get_object(Bucket="hub", Key=key)["Body"].read() == GOOD
    assert raw.ingest(raw.landed(shop_registry.sources.values()), shop_registry.sources).deliveries.num_rows == 0


def test_a_concurrent_s3_ingest_keeps_landing_order_and_duplicates(storage, shop_registry, s3_endpoint, request):
    raw = storage.raw()
    bodies = [b"order_id,amount\n" + f"A{i % 30},1.00\n".encode() for i in range(40)]  # the last 10 repeat earlier bytes
    landed = [raw.landing.land("shop_eu", f"{i:02d}.csv", body, datetime(2026, 10, 1, tzinfo=UTC)) for i, body in enumerate(bodies)]
    report = raw.ingest(landed, shop_registry.sources)
    assert report.deliveries["landing_key"].to_pylist() == [f.key for f in landed]
    assert (report.count("ingested"), report.count("duplicate")) == (30, 10)
    assert report.deliveries["reason"].to_pylist()[35] == f"same bytes as {landed[5].key}"
    client = boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1", **KEYS)
    objects = client.list_objects_v2(Bucket="hub", Prefix=f"{request.node.name}/lake/raw/objects/")["KeyCount"]
    assert objects == 30
    # the zone keeps its manifest current with its own appends: a second ingest finds everything recorded
    assert raw.ingest(landed, shop_registry.sources).deliveries.num_rows == 0
    assert storage.raw().manifest().num_rows == 40


def test_s3_keys_in_sub_folders_or_unfinished_are_reported_not_ingested(storage, s3_endpoint, request):
    landing = storage.landing()
    good = landing.land("shop_eu", "good.csv", GOOD, datetime(2026, 10, 1, tzinfo=UTC))
    client = boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1", **KEYS)
    for odd in ("shop_eu/sub/nested.csv", "shop_eu/upload.csv.partial"):
        client.put_object(Bucket="hub", Key=f"{request.node.name}/landing/{odd}", Body=GOOD)
    assert [f.key for f in landing.list_after("shop_eu")] == [good.key]
    reported = {u.key: u.reason for u in landing.unusable("shop_eu")}
    assert set(reported) == {"shop_eu/sub/nested.csv", "shop_eu/upload.csv.partial"}
    assert "sub-folder" in reported["shop_eu/sub/nested.csv"] and "still being written" in reported["shop_eu/upload.csv.partial"]


def test_a_vanished_or_rejected_s3_file_blocks_none_of_the_others(storage, shop_registry, s3_endpoint, request):
    raw = storage.raw()
    bodies = [b"order_id,amount\n" + f"B{i},1.00\n".encode() for i in range(20)]
    bodies[3] = b"amount\n1.0\n"  # misses a required column: stored and rejected
    landed = [raw.landing.land("shop_eu", f"{i:02d}.csv", body, datetime(2026, 10, 2, tzinfo=UTC)) for i, body in enumerate(bodies)]
    client = boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1", **KEYS)
    client.delete_object(Bucket="hub", Key=f"{request.node.name}/landing/{landed[7].key}")  # gone since it was listed
    report = raw.ingest(landed, shop_registry.sources)
    assert [key for key, _ in report.unreadable] == [landed[7].key]
    assert (report.count("ingested"), report.count("rejected")) == (18, 1)
    assert raw.lake.get_object(sha256(bodies[3])) == bodies[3]
    assert raw.ingest(raw.landed(shop_registry.sources.values()), shop_registry.sources).deliveries.num_rows == 0
    # the vanished file was not recorded: landed again, the next ingest takes it
    client.put_object(Bucket="hub", Key=f"{request.node.name}/landing/{landed[7].key}", Body=bodies[7])
    assert raw.ingest(raw.landed(shop_registry.sources.values()), shop_registry.sources).count("ingested") == 1
