"""Hostile names in a landing folder: each has one documented outcome, and nothing stops other files or sources."""

import os
from datetime import UTC, datetime

import dagster as dg
import pyarrow.compute as pc
import pytest

from hub_platform.defs.raw.assets import raw_assets
from hub_platform.defs.raw.landing import MAX_NAME_BYTES
from hub_platform.defs.raw.sensors import plan_ingestion
from hub_platform.lib.resources import NotificationResource, SparkResource, StorageResource
from hub_platform_tests.conftest import SHOP_FILE


@pytest.fixture
def storage(tmp_path) -> StorageResource:
    return StorageResource(lake_root=str(tmp_path / "lake"), landing_root=str(tmp_path / "landing"))


@pytest.fixture
def hostile(storage, tmp_path):
    """shop_eu's folder holds one good file and one of each hostile entry; shop_us one good file."""
    landing = storage.landing()
    good = landing.land("shop_eu", "good.csv", SHOP_FILE, datetime(2026, 10, 1, tzinfo=UTC))
    other = landing.land("shop_us", "fine.csv", SHOP_FILE + b"A3,1.00\n", datetime(2026, 10, 1, tzinfo=UTC))
    folder = tmp_path / "landing" / "shop_eu"
    secret = tmp_path / "outside.csv"
    secret.write_bytes(b"order_id,amount\nSECRET,1\n")
    (folder / "link.csv").symlink_to(secret)
    with open(os.path.join(os.fsencode(folder), b"bad\xff\xfename.csv"), "wb") as handle:
        handle.write(b"order_id,amount\nB1,1\n")
    (folder / "sub").mkdir()
    (folder / "sub" / "nested.csv").write_bytes(SHOP_FILE)
    (folder / "upload.csv.partial").write_bytes(SHOP_FILE)
    (folder / ".upload.csv.Xy12").write_bytes(SHOP_FILE)
    os.mkfifo(folder / "pipe")
    return good, other


OUTCOMES = {  # entry -> what the listing says of it (README: "Landing: what is ingested")
    "shop_eu/link.csv": "a symbolic link: not followed",
    "shop_eu/bad\\xff\\xfename.csv": "not valid UTF-8",
    "shop_eu/sub": "sub-folder",
    "shop_eu/upload.csv.partial": "still being written",
    "shop_eu/.upload.csv.Xy12": "still being written",
    "shop_eu/pipe": "not a regular file",
}


def test_each_hostile_entry_has_its_outcome_and_good_files_are_listed(storage, hostile):
    good, _ = hostile
    landing = storage.landing()
    assert [f.key for f in landing.list_after("shop_eu")] == [good.key]
    reported = {u.key: u.reason for u in landing.unusable("shop_eu")}
    assert set(reported) == set(OUTCOMES)
    for key, outcome in OUTCOMES.items():
        assert outcome in reported[key], (key, reported[key])


def test_ingestion_of_every_source_continues_and_no_link_is_followed(storage, hostile, shop_registry):
    good, other = hostile
    plan = plan_ingestion(storage.landing(), shop_registry, {}, set())
    assert sorted(key for batch in plan.batches for key, _ in batch.files) == sorted([good.key, other.key])
    raw = storage.raw()
    raw.ingest(raw.landed(shop_registry.sources.values()), shop_registry.sources)
    assert sorted(raw.manifest()["landing_key"].to_pylist()) == sorted([good.key, other.key])


def test_the_raw_asset_reports_what_waits_in_the_landing_area(storage, hostile, shop_registry):
    resources = {"storage": storage, "spark": SparkResource(), "notifications": NotificationResource()}
    result = dg.materialize(raw_assets(shop_registry), resources=resources)
    assert result.success
    check = next(c for c in result.get_asset_check_evaluations() if c.check_name == "landing_entries_usable")
    assert not check.passed and check.metadata["not_ingested"].value == len(OUTCOMES)
    assert "symbolic link" in check.metadata["entries"].value
    manifest = storage.raw().manifest()
    assert pc.sum(pc.equal(manifest["status"], "ingested")).as_py() == 2


def test_a_file_swapped_for_a_link_after_listing_is_not_read(storage, hostile, shop_registry, tmp_path):
    good, _ = hostile
    listed = storage.landing().list_after("shop_eu")
    path = tmp_path / "landing" / good.key
    path.unlink()
    path.symlink_to(tmp_path / "outside.csv")
    report = storage.raw().ingest(listed, shop_registry.sources)
    assert report.deliveries.num_rows == 0 and report.unreadable[0][0] == good.key


@pytest.mark.parametrize(("name", "why"), [
    ("..", "is not a file name"), (".", "is not a file name"), ("a/b.csv", "is not a file name"),
    ("nul\0.csv", "is not a file name"), ("x" * (MAX_NAME_BYTES + 1), f"at most {MAX_NAME_BYTES}"),
    ("orders.csv.partial", "still being written"), (".hidden.csv", "still being written"),
    ("bad\udcff.csv", "not valid UTF-8"),
])
def test_hub_land_refuses_names_the_landing_area_would_not_ingest(storage, tmp_path, name, why):
    with pytest.raises(ValueError, match=why):
        storage.landing().land("shop_eu", name, SHOP_FILE)
    assert not (tmp_path / "landing").exists()


def test_hub_land_says_why_and_lands_nothing(tmp_path, monkeypatch, capsys):
    from hub_platform.serving.cli import main

    monkeypatch.setenv("HUB_HOME", str(tmp_path / "hub"))
    monkeypatch.delenv("HUB_LANDING_ROOT", raising=False)
    unfinished = tmp_path / "orders.csv.partial"
    unfinished.write_bytes(SHOP_FILE)
    assert main(["land", "--source", "web_orders", str(unfinished)]) == 2
    assert "still being written" in capsys.readouterr().err
    assert not (tmp_path / "hub" / "landing").exists()
