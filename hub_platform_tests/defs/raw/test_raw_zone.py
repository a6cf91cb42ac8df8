"""The raw zone keeps every delivered byte, once, and says what it made of each file."""

from datetime import UTC, datetime

import pytest

from hub_platform.defs.raw.ingest import RawZone
from hub_platform.defs.raw.landing import Landing, sha256
from hub_platform.lib.lake.store import Lake, Location
from hub_platform_tests.conftest import SHOP_FILE

GOOD = SHOP_FILE


@pytest.fixture
def raw(tmp_path) -> RawZone:
    return RawZone(Lake(Location(str(tmp_path / "lake"))), Landing(Location(str(tmp_path / "landing"))))


def at(day: int) -> datetime:
    return datetime(2026, 10, day, tzinfo=UTC)


def test_bytes_are_stored_content_addressed_and_recorded(raw, shop_registry):
    landed = raw.landing.land("shop_eu", "orders.csv", GOOD, at(1))
    report = raw.ingest([landed], shop_registry.sources, run_id="r1")
    assert report.count("ingested") == 1
    assert raw.lake.get_object(sha256(GOOD)) == GOOD
    row = raw.manifest().to_pylist()[0]
    assert row | {"ingested_at": None} == {
        "landing_key": landed.key, "source": "shop_eu", "feed": "shop_orders", "system": "web",
        "checksum": sha256(GOOD), "size_bytes": len(GOOD), "received_at": landed.received_at,
        "ingested_at": None, "row_count": 2, "status": "ingested", "reason": None, "notes": None, "run_id": "r1",
    }


def test_ingesting_again_changes_nothing(raw, shop_registry):
    landed = raw.landing.land("shop_eu", "orders.csv", GOOD, at(1))
    raw.ingest([landed], shop_registry.sources)
    version = raw.lake.version("raw", "manifest")
    report = raw.ingest(raw.landed(shop_registry.sources.values()), shop_registry.sources)
    assert report.deliveries.num_rows == 0
    assert raw.lake.version("raw", "manifest") == version


def test_a_second_delivery_of_the_same_bytes_by_a_source_is_recorded_as_a_duplicate(raw, shop_registry):
    first = raw.landing.land("shop_eu", "orders.csv", GOOD, at(1))
    again = raw.landing.land("shop_eu", "orders_resent.csv", GOOD, at(2))
    report = raw.ingest([first, again], shop_registry.sources)
    statuses = dict(zip(report.deliveries["landing_key"].to_pylist(), report.deliveries["status"].to_pylist(), strict=True))
    assert statuses == {first.key: "ingested", again.key: "duplicate"}
    assert report.deliveries["reason"].to_pylist()[1] == f"same bytes as {first.key}"
    assert report.bytes_stored == len(GOOD)


def test_the_same_bytes_from_another_source_are_that_sources_delivery(raw, shop_registry):
    first = raw.landing.land("shop_eu", "orders.csv", GOOD, at(1))
    other = raw.landing.land("shop_us", "orders.csv", GOOD, at(2))
    report = raw.ingest([first, other], shop_registry.sources)
    assert report.deliveries["status"].to_pylist() == ["ingested", "ingested"]
    assert raw.held() == {("shop_eu", sha256(GOOD)), ("shop_us", sha256(GOOD))}
    assert raw.lake.get_object(sha256(GOOD)) == GOOD  # stored once all the same
    assert report.bytes_stored == len(GOOD)


def test_a_file_that_would_crash_a_reader_is_rejected_not_raised(raw, shop_registry):
    cr_only = raw.landing.land("shop_eu", "mac.csv", GOOD.replace(b"\n", b"\r"), at(1))
    garbage = raw.landing.land("shop_eu", "blob.csv", bytes(range(256)) * 8, at(2))
    rows = {r["landing_key"]: r for r in raw.ingest([cr_only, garbage], shop_registry.sources).deliveries.to_pylist()}
    assert (rows[cr_only.key]["status"], rows[cr_only.key]["row_count"]) == ("ingested", 2)
    assert (rows[garbage.key]["status"], rows[garbage.key]["reason"]) == ("rejected", "the CSV header is not text in the contract's encoding")


def test_stored_objects_are_never_overwritten(raw):
    checksum = sha256(GOOD)
    assert raw.lake.put_object(checksum, GOOD) is True
    path = raw.lake.location.path(raw.lake.object_key(checksum))
    with open(path, "rb") as handle:
        before = handle.read()
    assert raw.lake.put_object(checksum, b"something else entirely") is False
    with open(path, "rb") as handle:
        assert handle.read() == before == GOOD


@pytest.mark.parametrize(
    ("data", "status", "reason"),
    [
        (b"amount\n1.0\n", "rejected", "required column(s) missing: order_id"),
        (b"", "rejected", "the file is empty"),
        (b"order_id,amount,colour\nA1,1,red\n", "ingested", None),
    ],
)
def test_files_that_do_not_fit_their_contract_are_kept_and_explained(raw, shop_registry, data, status, reason):
    landed = raw.landing.land("shop_eu", "odd.csv", data, at(3))
    row = raw.ingest([landed], shop_registry.sources).deliveries.to_pylist()[0]
    assert (row["status"], row["reason"]) == (status, reason)
    assert raw.lake.get_object(row["checksum"]) == data  # kept whatever it holds


def test_unexpected_columns_are_noted(raw, shop_registry):
    landed = raw.landing.land("shop_eu", "drift.csv", b"order_id,amount,colour\nA1,1,red\n", at(3))
    row = raw.ingest([landed], shop_registry.sources).deliveries.to_pylist()[0]
    assert row["notes"] == "unexpected column(s) not in the contract: colour"


def test_landing_keys_sort_in_arrival_order(raw):
    later = raw.landing.land("shop_eu", "a.csv", GOOD, at(5))
    earlier = raw.landing.land("shop_eu", "z.csv", GOOD, at(4))
    assert [f.key for f in raw.landing.list_after("shop_eu")] == [earlier.key, later.key]
    assert [f.key for f in raw.landing.list_after("shop_eu", after=earlier.key)] == [later.key]
