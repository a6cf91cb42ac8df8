"""Canonical entities: files validated on load, contracts resolved against them, one feed of many shapes."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pyarrow as pa
import pytest

from hub_platform.defs.clean.conform import clean_schema
from hub_platform.defs.clean.entity_shape import to_entity
from hub_platform.defs.clean.processing import CleanZone
from hub_platform.defs.raw.ingest import RawZone
from hub_platform.defs.raw.landing import Landing
from hub_platform.lib.gx import check_table
from hub_platform.lib.lake.store import Lake, Location
from hub_platform.sources.contract import ContractError, default_registry, load_registry, parse_contract
from hub_platform.sources.entity import EntityError, default_entities, parse_entity

EXTRACT = """
name: freight_extract
description: A forwarder's shipment lines.
system: erp
feed: freight_lines
entity: shipment_line
format: {type: csv}
columns:
  - {name: shipment_id, source: "ASN/DN #", required: true}
  - {name: line_no, source: ID, required: true}
  - {name: qty, source: "Line Item Quantity", required: true}
  - {name: scheduled_date, source: "Scheduled Delivery Date", required: true}
  - {name: mode, source: "Shipment Mode"}
  - {name: managed_by, type: string, source: "Managed By"}
"""
TILL_A = """
name: till_a
description: tills of estate A
system: pos
feed: tills
entity: store_sale_line
format: {type: csv}
columns:
  - {name: transaction_id, required: true}
  - {name: line_no, required: true}
  - {name: store_id, required: true}
  - {name: ts, required: true}
  - {name: item_code, required: true}
  - {name: qty, required: true}
  - {name: unit_price, required: true}
  - {name: currency, required: true}
"""
TILL_B = """
name: till_b
description: tills of estate B, another vendor's system
system: pos
feed: tills
entity: store_sale_line
format: {type: jsonl}
columns:
  - {name: transaction_id, source: receipt, required: true}
  - {name: line_no, source: pos, required: true}
  - {name: store_id, source: shop, required: true}
  - {name: ts, source: at, required: true}
  - {name: item_code, source: article, required: true}
  - {name: item_description, source: text}
  - {name: qty, source: units, required: true}
  - {name: unit_price, source: price, required: true}
  - {name: currency, required: true}
  - {name: cashier, type: string}
"""


def test_every_shipped_contract_of_a_curated_kind_feeds_a_catalogued_entity_and_fits_it():
    registry = default_registry()
    people = {"customer", "contact"}  # customer-360 reads person feeds of any shape and matches them
    assert {c.entity for c in registry.sources.values()} - people <= set(default_entities())
    assert registry.feeds_of("carrier_event") == ["carrier_events"]
    assert registry.feeds_of("shipment_line") == []  # known to the hub before any source feeds it
    assert registry.namespace("erp_sales_orders") == registry.namespace("erp_sales_order_lines") == "erp"
    assert registry.namespace("pos_north") != registry.namespace("pos_south")


def test_a_contract_takes_what_it_leaves_unsaid_from_its_entity():
    contract = parse_contract(EXTRACT)
    assert contract.keys == ["shipment_id", "line_no"]
    assert (contract.column("qty").type, contract.column("qty").min) == ("int", 0)
    assert contract.column("scheduled_date").type == "date"
    assert contract.column("mode").standardize == "trim"
    assert contract.column("managed_by").type == "string"  # the entity does not know it: kept in clean's _extra


@pytest.mark.parametrize(("before", "after", "message"), [
    ('  - {name: qty, source: "Line Item Quantity", required: true}\n', "", "'qty' is required but the contract does not fill it"),
    ('"Scheduled Delivery Date", required: true', '"Scheduled Delivery Date", type: string, required: true',
     "scheduled_date is date in entity 'shipment_line', the contract says string"),
    ('{name: mode, source: "Shipment Mode"}', '{name: mode, source: "Shipment Mode", standardize: name}', "standardizer 'name' differs"),
    ("entity: shipment_line\n", "entity: shipment_line\nkeys: [shipment_id]\n", "keys ['shipment_id'] differ"),
])
def test_a_contract_that_does_not_fit_its_entity_is_refused_with_the_reason(before, after, message):
    assert before in EXTRACT
    with pytest.raises(ContractError, match=re.escape(message)):
        parse_contract(EXTRACT.replace(before, after))


def test_an_entity_file_is_validated_on_load():
    with pytest.raises(EntityError, match="unknown type 'text'"):
        parse_entity("name: x\ndescription: d\nkeys: [a]\ncolumns:\n  - {name: a, type: text}\n")
    with pytest.raises(EntityError, match="keys"):
        parse_entity("name: x\ndescription: d\nkeys: [b]\ncolumns:\n  - {name: a, type: string}\n")
    with pytest.raises(EntityError, match="unknown standardizer"):
        parse_entity("name: x\ndescription: d\nkeys: [a]\ncolumns:\n  - {name: a, type: string, standardize: shout}\n")


def test_a_source_row_takes_its_entity_schema_and_keeps_what_the_entity_does_not_know():
    schema = pa.schema([("a", pa.int64()), ("b", pa.string()), ("_extra", pa.string())])
    shaped = to_entity(pa.table({"a": [1, 2], "x": ["p", None], "_extra": [None, '{"f": 1}']}), schema)
    assert shaped.schema == schema
    assert shaped.to_pylist() == [{"a": 1, "b": None, "_extra": '{"x": "p"}'}, {"a": 2, "b": None, "_extra": '{"f": 1}'}]


@pytest.fixture
def tills(tmp_path):
    folder = tmp_path / "contracts"
    folder.mkdir()
    (folder / "till_a.yaml").write_text(TILL_A)
    (folder / "till_b.yaml").write_text(TILL_B)
    return load_registry(folder)


def test_sources_of_one_feed_bring_their_own_shapes_and_the_feed_keeps_the_entitys(tills, tmp_path):
    raw = RawZone(Lake(Location(str(tmp_path / "lake"))), Landing(Location(str(tmp_path / "landing"))))
    files = {
        "till_a": ("a.csv", b"transaction_id,line_no,store_id,ts,item_code,qty,unit_price,currency\n"
                            b"T-1,1,ST01,2026-06-01 10:00:00,IC1,2,1.50,GBP\n"),
        "till_b": ("b.jsonl", b'{"receipt": "T-1", "pos": 1, "shop": "ST02", "at": "2026-06-01T11:00:00", "article": "A9", '
                              b'"text": "COLA 1L", "units": 1, "price": 2.0, "currency": "EUR", "cashier": "Kim"}\n'),
    }
    for source, (name, data) in files.items():
        raw.ingest([raw.landing.land(source, name, data, datetime(2026, 6, 1, tzinfo=UTC))], tills.sources)
    outcomes = CleanZone(raw.lake).process(raw, tills.feeds["tills"], entity=tills.feed_entity("tills")).outcomes
    assert [o.quarantine.num_rows for o in outcomes] == [0, 0]
    table = raw.lake.read("clean", "tills")
    assert table.schema.names == clean_schema(default_entities()["store_sale_line"]).names
    rows = {r["_source"]: r for r in table.to_pylist()}
    assert (rows["till_b"]["transaction_id"], rows["till_b"]["item_code"], rows["till_b"]["currency"]) == ("T-1", "A9", "EUR")
    assert rows["till_b"]["_extra"] == '{"cashier": "Kim"}' and rows["till_a"]["item_description"] is None
    # one suite for the feed, the entity's, whichever sources it has
    assert check_table(table, tills.feed_entity("tills"), asset_key=None, name="tills_entity").passed
