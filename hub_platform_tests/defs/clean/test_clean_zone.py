"""The clean zone's tables: idempotent reprocessing, corrected re-deliveries, and CDC applied in log order."""

from datetime import UTC, datetime

import pyarrow.compute as pc
import pytest

from hub_platform.defs.clean.processing import CleanZone, changes_table, history_table
from hub_platform.defs.raw.ingest import RawZone
from hub_platform.defs.raw.landing import Landing
from hub_platform.lib.lake.store import Lake, Location
from hub_platform.sources.contract import load_registry
from hub_platform_tests.conftest import CRM_CONTRACT, SHOP_CONTRACT


@pytest.fixture
def zones(tmp_path):
    raw = RawZone(Lake(Location(str(tmp_path / "lake"))), Landing(Location(str(tmp_path / "landing"))))
    return raw, CleanZone(raw.lake)


def deliver(raw, registry, source, name, data, day):
    landed = raw.landing.land(source, name, data, datetime(2026, 10, day, tzinfo=UTC))
    raw.ingest([landed], registry.sources)


def rows(lake, feed, *columns):
    return sorted(tuple(r[c] for c in columns) for r in lake.read("clean", feed).to_pylist())


def test_reprocessing_changes_nothing_and_a_corrected_redelivery_supersedes(zones, shop_registry):
    raw, clean = zones
    contracts = shop_registry.feeds["shop_orders"]
    deliver(raw, shop_registry, "shop_eu", "orders.csv", b"order_id,amount\nA1,10.50\nA2,3.00\n", 1)
    clean.process(raw, contracts)
    version = raw.lake.version("clean", "shop_orders")
    outcomes, _ = clean.process(raw, contracts)
    assert outcomes == [] and raw.lake.version("clean", "shop_orders") == version

    deliver(raw, shop_registry, "shop_eu", "orders_corrected.csv", b"order_id,amount\nA2,4.00\n", 2)
    clean.process(raw, contracts)
    assert [(k, str(v)) for k, v in rows(raw.lake, "shop_orders", "order_id", "amount")] == [("A1", "10.50"), ("A2", "4.00")]


def test_an_older_delivery_arriving_late_does_not_overwrite_a_newer_one(zones, shop_registry):
    raw, clean = zones
    contracts = shop_registry.feeds["shop_orders"]
    deliver(raw, shop_registry, "shop_eu", "new.csv", b"order_id,amount\nA1,9.00\n", 5)
    clean.process(raw, contracts)
    deliver(raw, shop_registry, "shop_eu", "old.csv", b"order_id,amount\nA1,1.00\n", 1)  # received earlier
    clean.process(raw, contracts)
    assert [str(v) for _, v in rows(raw.lake, "shop_orders", "order_id", "amount")] == ["9.00"]


def test_a_history_feed_keeps_every_delivered_version_once(zones, tmp_path):
    raw, clean = zones
    folder = tmp_path / "history_contracts"
    folder.mkdir()
    (folder / "shop_eu.yaml").write_text(SHOP_CONTRACT.format(name="shop_eu") + "history: true\n")
    registry = load_registry(folder)
    contracts = registry.feeds["shop_orders"]
    deliver(raw, registry, "shop_eu", "june.csv", b"order_id,amount\nA1,1.00\nA2,2.00\n", 1)
    deliver(raw, registry, "shop_eu", "july.csv", b"order_id,amount\nA1,1.50\n", 2)
    clean.process(raw, contracts)
    clean.process(raw, contracts)  # reprocessing adds nothing
    assert [str(v) for _, v in rows(raw.lake, "shop_orders", "order_id", "amount")] == ["1.50", "2.00"]
    history = rows(raw.lake, history_table("shop_orders"), "order_id", "amount")
    assert [(k, str(v)) for k, v in history] == [("A1", "1.00"), ("A1", "1.50"), ("A2", "2.00")]


def test_the_same_key_from_two_sources_is_two_rows(zones, shop_registry):
    raw, clean = zones
    deliver(raw, shop_registry, "shop_eu", "a.csv", b"order_id,amount\nA1,1.00\n", 1)
    deliver(raw, shop_registry, "shop_us", "b.csv", b"order_id,amount\nA1,2.00\n", 1)
    clean.process(raw, shop_registry.feeds["shop_orders"])
    assert rows(raw.lake, "shop_orders", "_source", "order_id") == [("shop_eu", "A1"), ("shop_us", "A1")]


def test_cdc_applies_in_log_order_with_late_events_deletes_and_replays(zones, tmp_path):
    folder = tmp_path / "crm_contracts"
    folder.mkdir()
    (folder / "crm.yaml").write_text(CRM_CONTRACT)
    registry = load_registry(folder)
    raw, clean = zones
    contracts = registry.feeds["crm"]
    first = (b'{"lsn": 10, "op": "I", "contact_id": "k1", "city": "Hull"}\n'
             b'{"lsn": 20, "op": "I", "contact_id": "k2", "city": "Ely"}\n'
             b'{"lsn": 40, "op": "U", "contact_id": "k1", "city": "Leeds"}\n')
    deliver(raw, registry, "crm", "week1.jsonl", first, 1)
    clean.process(raw, contracts)
    assert rows(raw.lake, "crm", "contact_id", "city") == [("k1", "Leeds"), ("k2", "Ely")]

    # week 2: a late update older than what k1 has (30 < 40), a delete of k2, and a replay of lsn 40
    second = (b'{"lsn": 30, "op": "U", "contact_id": "k1", "city": "York"}\n'
              b'{"lsn": 50, "op": "D", "contact_id": "k2", "city": "Ely"}\n'
              b'{"lsn": 40, "op": "U", "contact_id": "k1", "city": "Leeds"}\n')
    deliver(raw, registry, "crm", "week2.jsonl", second, 2)
    clean.process(raw, contracts)
    assert rows(raw.lake, "crm", "contact_id", "city") == [("k1", "Leeds")]
    log = raw.lake.read("clean", changes_table("crm"))
    assert sorted(log["lsn"].to_pylist()) == [10, 20, 30, 40, 50]  # the replay is stored once

    # week 3: an update of the deleted k2 that happened before its delete must not bring it back
    deliver(raw, registry, "crm", "week3.jsonl", b'{"lsn": 45, "op": "U", "contact_id": "k2", "city": "Bath"}\n', 3)
    clean.process(raw, contracts)
    assert rows(raw.lake, "crm", "contact_id", "city") == [("k1", "Leeds")]
    ledger = clean.ledger("crm")
    assert pc.sum(ledger["rows_clean"]).as_py() == 7 and ledger.num_rows == 3
