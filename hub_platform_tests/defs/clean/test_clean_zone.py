"""The clean zone's tables: idempotent reprocessing, corrected re-deliveries, and CDC applied in log order."""

from datetime import UTC, datetime

import pyarrow.compute as pc
import pytest

from hub_platform.defs.clean.accounting import account
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
    outcomes = clean.process(raw, contracts).outcomes
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


def test_a_changed_contract_replays_its_source_from_raw(zones, tmp_path):
    raw, clean = zones
    folder = tmp_path / "replay_contracts"
    folder.mkdir()
    for name in ("shop_eu", "shop_us"):
        (folder / f"{name}.yaml").write_text(SHOP_CONTRACT.format(name=name))
    registry = load_registry(folder)
    deliver(raw, registry, "shop_eu", "a.csv", b"order_id,amount\nA1,10.50\nA2,-3.00\n", 1)
    deliver(raw, registry, "shop_us", "b.csv", b"order_id,amount\nB1,1\n", 1)
    first = clean.process(raw, registry.feeds["shop_orders"])
    assert first.replayed == [] and rows(raw.lake, "shop_orders", "order_id") == [("A1",), ("A2",), ("B1",)]
    assert not raw.lake.has_table("quarantine", "shop_eu")  # -3.00 broke min: 0 in an optional column: nulled
    version = raw.lake.version("clean", "shop_orders")

    # the fix: amounts are required for shop_eu; only its file is conformed again
    (folder / "shop_eu.yaml").write_text(SHOP_CONTRACT.format(name="shop_eu").replace("min: 0}", "min: 0, required: true}"))
    registry = load_registry(folder)
    again = clean.process(raw, registry.feeds["shop_orders"])
    assert again.replayed == ["shop_eu"] and [o.delivery.source for o in again.outcomes] == ["shop_eu"]
    assert rows(raw.lake, "shop_orders", "_source", "order_id") == [("shop_eu", "A1"), ("shop_us", "B1")]
    assert raw.lake.version("clean", "shop_orders") == version + 1  # one commit replaced shop_eu's rows
    quarantined = raw.lake.read("quarantine", "shop_eu").to_pylist()
    assert [(q["_row_number"], q["rule"]) for q in quarantined] == [(2, "range")]
    ledger = {r["source"]: r for r in clean.ledger("shop_orders").to_pylist()}
    assert ledger["shop_eu"]["contract_hash"] == registry.source("shop_eu").fingerprint()
    assert (ledger["shop_eu"]["rows_clean"], ledger["shop_eu"]["rows_quarantined"]) == (1, 1)
    assert account(raw.manifest(feed="shop_orders"), clean.ledger("shop_orders")).passed
    assert clean.process(raw, registry.feeds["shop_orders"]).outcomes == []  # and then it is settled


def test_a_replay_on_demand_rebuilds_the_feed_and_a_fixed_contract_rescues_a_rejected_file(zones, tmp_path):
    raw, clean = zones
    folder = tmp_path / "rescue_contracts"
    folder.mkdir()
    (folder / "shop_eu.yaml").write_text(SHOP_CONTRACT.format(name="shop_eu"))
    registry = load_registry(folder)
    deliver(raw, registry, "shop_eu", "semicolons.csv", b"order_id;amount\nA1;1.00\n", 1)
    clean.process(raw, registry.feeds["shop_orders"])
    assert raw.manifest()["status"].to_pylist() == ["rejected"] and not raw.lake.has_table("clean", "shop_orders")
    assert raw.lake.read("quarantine", "shop_eu")["rule"].to_pylist() == ["file"]

    (folder / "shop_eu.yaml").write_text(SHOP_CONTRACT.format(name="shop_eu").replace("{type: csv}", "{type: csv, delimiter: ';'}"))
    registry = load_registry(folder)
    clean.process(raw, registry.feeds["shop_orders"])
    assert raw.manifest()["status"].to_pylist() == ["ingested"]  # the manifest's verdict follows the contract
    assert rows(raw.lake, "shop_orders", "order_id") == [("A1",)]
    assert raw.lake.read("quarantine", "shop_eu").num_rows == 0
    forced = clean.process(raw, registry.feeds["shop_orders"], replay=True)
    assert forced.replayed == ["shop_eu"] and rows(raw.lake, "shop_orders", "order_id") == [("A1",)]


def test_a_change_feed_replays_into_the_same_state(zones, tmp_path):
    folder = tmp_path / "crm_replay"
    folder.mkdir()
    (folder / "crm.yaml").write_text(CRM_CONTRACT)
    registry = load_registry(folder)
    raw, clean = zones
    deliver(raw, registry, "crm", "w1.jsonl", b'{"lsn": 1, "op": "I", "contact_id": "k1", "city": "Hull"}\n'
                                            b'{"lsn": 2, "op": "I", "contact_id": "k2", "city": "Ely"}\n', 1)
    deliver(raw, registry, "crm", "w2.jsonl", b'{"lsn": 3, "op": "D", "contact_id": "k2", "city": "Ely"}\n', 2)
    clean.process(raw, registry.feeds["crm"])
    before = rows(raw.lake, "crm", "contact_id", "city")
    clean.process(raw, registry.feeds["crm"], replay=True)
    assert rows(raw.lake, "crm", "contact_id", "city") == before == [("k1", "Hull")]
    assert sorted(raw.lake.read("clean", changes_table("crm"))["lsn"].to_pylist()) == [1, 2, 3]
