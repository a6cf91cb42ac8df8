"""A corpus of file shapes real systems send (the tests write them): for each, where every row ends
(clean, quarantine with its rules, or a rejected file with its reason), and that the feed keeps
flowing: a good file of the same source landed after it reaches clean, and the accounting adds up."""

from __future__ import annotations

import bz2
import gzip
import io
import zipfile
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import pytest

from hub_platform.defs.clean.accounting import account
from hub_platform.defs.clean.processing import CleanZone
from hub_platform.defs.raw.ingest import RawZone
from hub_platform.defs.raw.landing import Landing
from hub_platform.lib.lake.store import Lake, Location
from hub_platform.sources.contract import load_registry

CONTRACT = """
name: shop_eu
description: A web shop's order extract.
system: web
feed: shop_orders
entity: sales_order_line
format: {{type: csv{format}}}
keys: [order_id]
columns:
  - {{name: order_id, type: string, required: true}}
  - {{name: amount, type: float}}
  - {{name: placed, type: date{dates}}}
  - {{name: country, type: string, standardize: country{country}}}
  - {{name: note, type: string}}
"""
HEADER = b"order_id,amount,placed,country,note\n"
BODY = b"A1,10.5,2026-10-01,GB,\nA2,3,2026-10-02,DE,gift\nA3,7.25,2026-10-03,FR,\n"
GOOD = HEADER + BODY


def zipped(*members: tuple[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in members:
            archive.writestr(name, data)
    return buffer.getvalue()


@dataclass(frozen=True)
class Shape:
    name: str
    data: Callable[[], bytes]
    clean: int  # rows that reach clean
    quarantined: dict[str, int] = field(default_factory=dict)  # rule -> rows
    rejected: str | None = None  # the manifest's reason, when raw rejects the file
    format: str = ""  # extra file-format options for the contract
    dates: str = ""
    country: str = ""


SHAPES = [
    Shape("lf", lambda: GOOD, 3),
    Shape("cr_only", lambda: GOOD.replace(b"\n", b"\r"), 3),
    Shape("crlf", lambda: GOOD.replace(b"\n", b"\r\n"), 3),
    Shape("utf8_bom", lambda: b"\xef\xbb\xbf" + GOOD, 3),
    Shape("utf16_with_bom", lambda: GOOD.decode().encode("utf-16"), 3, format=", encoding: utf-16"),
    Shape("gzip_by_its_bytes", lambda: gzip.compress(GOOD), 3),
    Shape("gzip_by_contract", lambda: gzip.compress(GOOD.replace(b"\n", b"\r\n")), 3, format=", compression: gzip"),
    Shape("declared_gzip_but_plain", lambda: GOOD, 0, {"file": 1}, "the contract says gzip but the bytes are not compressed",
          format=", compression: gzip"),
    Shape("truncated_gzip", lambda: gzip.compress(GOOD * 50)[:60], 0, {"file": 1}, "not a readable gzip file"),
    Shape("bz2", lambda: bz2.compress(GOOD), 3),
    Shape("zip_of_one_file", lambda: zipped(("orders.csv", GOOD)), 3),
    Shape("zip_of_two_files", lambda: zipped(("a.csv", GOOD), ("b.csv", GOOD)), 0, {"file": 1},
          "the zip archive holds 2 files (a.csv, b.csv); a delivery is one file"),
    Shape("header_only", lambda: HEADER, 0),
    Shape("zero_bytes", lambda: b"", 0, {"file": 1}, "the file is empty"),
    Shape("random_binary", lambda: bytes(range(256)) * 40, 0, {"file": 1}, "the CSV header is not text in the contract's encoding"),
    Shape("repeated_header_name_outside_the_contract", lambda: b"order_id,amount,memo,memo\nA1,1,x,y\nA2,2,,z\n", 2),
    Shape("repeated_header_name_of_a_contract_column", lambda: b"order_id,amount,amount\nA1,1,2\n", 0, {"file": 1},
          "the header names 'amount' more than once; the contract cannot tell which column is meant"),
    Shape("a_50_mb_line", lambda: HEADER + b"A1,1,2026-10-01,GB," + b"x" * 50_000_000 + b"\n" + BODY.split(b"\n", 1)[1], 3),
    Shape("delimiter_changes_mid_file", lambda: GOOD + b"A4;1;2026-10-04;GB;\nA5;2;2026-10-05;GB;\n", 3, {"parse": 2}),
    Shape("quoted_newlines", lambda: HEADER + b'A1,1,2026-10-01,GB,"line one\nline two"\nA2,2,2026-10-02,GB,"a, b"\n', 2),
    Shape("blank_and_whitespace_lines", lambda: HEADER + b"\nA1,1,2026-10-01,GB,\n   \n\nA2,2,2026-10-02,GB,\n\n", 2),
    Shape("a_byte_not_in_the_encoding", lambda: HEADER + b"A1,1,2026-10-01,GB,caf\xe9\nA2,2,2026-10-02,GB,ok\n", 1, {"parse": 1}),
    Shape("truncated_last_record", lambda: GOOD + b"A4,1,2026-1", 3, {"parse": 1}),
    Shape("numbers_with_text", lambda: HEADER + b'A1,See ASN-93 (ID#:1281),2026-10-01,GB,\nA2,Freight Included in Commodity Cost,2026-10-01,GB,\n'
          b"A3,69.71 gbp,2026-10-01,GB,\nA4,12.5,2026-10-01,GB,\n", 4),
    Shape("dates_in_five_formats", lambda: HEADER + b"A1,1,2006-06-02,GB,\nA2,1,2-Jun-06,GB,\nA3,1,9/11/2014,GB,\nA4,1,19551121,GB,\n"
          b"A5,1,01.08.1630,GB,\nA6,1,19551192,GB,\n", 6, dates=', format: ["%Y-%m-%d", "%d-%b-%y", "%m/%d/%Y", "%Y%m%d", "%d.%m.%Y"]'),
    Shape("na_is_namibia_not_missing", lambda: HEADER + b"A1,N/A,2026-10-01,NA,\nA2,NA,2026-10-02,Namibia,\n", 2,
          format=', null_values: ["N/A", "NA"]', country=", null_values: []"),
]


@pytest.fixture
def zones(tmp_path):
    raw = RawZone(Lake(Location(str(tmp_path / "lake"))), Landing(Location(str(tmp_path / "landing"))))
    return raw, CleanZone(raw.lake)


def registry_for(shape: Shape, folder):
    folder.mkdir()
    (folder / "shop_eu.yaml").write_text(CONTRACT.format(format=shape.format, dates=shape.dates, country=shape.country))
    return load_registry(folder)


@pytest.mark.parametrize("shape", SHAPES, ids=[s.name for s in SHAPES])
def test_every_row_of_a_file_shape_ends_somewhere_and_the_feed_keeps_flowing(shape, zones, tmp_path):
    raw, clean = zones
    registry = registry_for(shape, tmp_path / "contracts")
    odd = raw.landing.land("shop_eu", f"{shape.name}.csv", shape.data(), datetime(2026, 10, 1, tzinfo=UTC))
    good = GOOD.replace(b"A", b"G")
    good = good.decode().encode("utf-16") if "utf-16" in shape.format else good
    good = gzip.compress(good) if "gzip" in shape.format else good
    after = raw.landing.land("shop_eu", "next_day.csv", good, datetime(2026, 10, 2, tzinfo=UTC))
    raw.ingest(raw.landed(registry.sources.values()), registry.sources)  # never raises, whatever the file holds
    outcomes = {o.delivery.landing_key: o for o in clean.process(raw, registry.feeds["shop_orders"]).outcomes}

    delivery = {r["landing_key"]: r for r in raw.manifest().to_pylist()}[odd.key]
    assert delivery["status"] == ("rejected" if shape.rejected else "ingested")
    assert (delivery["reason"] or "").startswith(shape.rejected or "")
    outcome = outcomes[odd.key]
    assert outcome.rows_clean == shape.clean
    assert dict(Counter(outcome.quarantine["rule"].to_pylist())) == shape.quarantined
    if shape.rejected:
        assert shape.rejected in outcome.failure
    else:
        assert outcome.rows_clean + outcome.quarantine.num_rows == outcome.rows_in_file == delivery["row_count"]

    assert outcomes[after.key].rows_clean == 3 and outcomes[after.key].quarantine.num_rows == 0  # the feed flows
    rows = raw.lake.read("clean", "shop_orders")
    assert {"G1", "G2", "G3"} <= set(rows["order_id"].to_pylist())
    accounting = account(raw.manifest(feed="shop_orders"), clean.ledger("shop_orders"))
    assert accounting.passed and not accounting.mismatched


@pytest.mark.parametrize("shape", ["numbers_with_text", "dates_in_five_formats", "na_is_namibia_not_missing", "quoted_newlines"])
def test_what_a_shape_made_of_its_values(shape, zones, tmp_path):
    """The values behind the counts above: text in numbers nulled with the reason, every date format
    read (1630 included), an invalid date named, NA kept as Namibia, quoted newlines kept."""
    raw, clean = zones
    case = next(s for s in SHAPES if s.name == shape)
    registry = registry_for(case, tmp_path / "contracts")
    raw.ingest([raw.landing.land("shop_eu", f"{shape}.csv", case.data(), datetime(2026, 10, 1, tzinfo=UTC))], registry.sources)
    clean.process(raw, registry.feeds["shop_orders"])
    rows = {r["order_id"]: r for r in raw.lake.read("clean", "shop_orders").to_pylist()}
    if shape == "numbers_with_text":
        assert [rows[k]["amount"] for k in ("A1", "A2", "A3", "A4")] == [None, None, None, 12.5]
        assert "'69.71 gbp' is not a valid float" in rows["A3"]["_issues"]
    elif shape == "dates_in_five_formats":
        assert [str(rows[k]["placed"]) for k in ("A1", "A2", "A3", "A4", "A5", "A6")] == [
            "2006-06-02", "2006-06-02", "2014-09-11", "1955-11-21", "1630-08-01", "None"]
        assert "'19551192' is not a valid date" in rows["A6"]["_issues"]
    elif shape == "na_is_namibia_not_missing":
        assert [(rows[k]["amount"], rows[k]["country"], rows[k]["_issues"]) for k in ("A1", "A2")] == [
            (None, "NA", None), (None, "NA", None)]
    else:
        assert rows["A1"]["note"] == "line one\nline two" and rows["A2"]["note"] == "a, b"
    assert not raw.lake.has_table("quarantine", "shop_eu")


SHIPMENT_EXTRACT_CONTRACT = """
name: scms_shipments
description: Shipment line items of a public health supply-chain programme, as its public extract has them.
system: erp
feed: scms_shipments
entity: shipment_line
format: {type: csv, null_values: ["N/A", "Date Not Captured", "Pre-PQ Process"]}
columns:  # names and types are the entity's (sources/entities/shipment_line.yaml)
  - {name: shipment_id, required: true, source: ID}   # this extract has no ASN column: each line ships alone
  - {name: line_no, required: true, source: ID}
  - {name: destination_country, required: true, source: Country, null_values: []}
  - {name: mode, source: Shipment Mode, allowed: [Air, Truck, Ocean, Air Charter]}
  - {name: scheduled_date, required: true, source: Scheduled Delivery Date, format: ["%d-%b-%y"]}
  - {name: delivered_date, source: Delivered to Client Date, format: ["%d-%b-%y"]}
  - {name: qty, required: true, source: Line Item Quantity}
  - {name: line_value, source: Line Item Value}
  - {name: weight_kg, source: Weight (Kilograms)}
  - {name: freight_cost, source: Freight Cost (USD)}
"""
SHIPMENT_EXTRACT = (
    "ID,Country,Shipment Mode,Scheduled Delivery Date,Delivered to Client Date,Line Item Quantity,Line Item Value,"
    "Weight (Kilograms),Freight Cost (USD)\r"
    "1,Côte d'Ivoire,Air,2-Jun-06,2-Jun-06,19,551,13,780.34\r"
    "3,Vietnam,Air,14-Nov-06,14-Nov-06,1000,6200,358,4521.5\r"
    "4,\"Congo, DRC\",Truck,27-Aug-06,27-Aug-06,500,40000,171,See ASN-93 (ID#:1281)\r"
    "15,Swaziland,Ocean,1-Jun-07,,31920,127360.8,Weight Captured Separately,Freight Included in Commodity Cost\r"
    "16,NA,Air,Pre-PQ Process,30-Jul-07,38000,121600,See DN-304 (ID#:10589),Invoiced Separately\r"
    "23,Atlantis,Air,11-Sep-07,11-Sep-07,416,2225.6,Date Not Captured,N/A\r"
).encode()


def test_a_public_shipment_extract_lands_through_one_contract_file(zones, tmp_path):
    """CR line endings, d-Mon-yy dates and text in the numeric columns, declared in YAML only."""
    raw, clean = zones
    folder = tmp_path / "contracts"
    folder.mkdir()
    (folder / "scms_shipments.yaml").write_text(SHIPMENT_EXTRACT_CONTRACT)
    registry = load_registry(folder)
    landed = raw.landing.land("scms_shipments", "SCMS_Delivery_History_Dataset.csv", SHIPMENT_EXTRACT, datetime(2026, 10, 1, tzinfo=UTC))
    raw.ingest([landed], registry.sources)
    outcome = clean.process(raw, registry.feeds["scms_shipments"], entity=registry.feed_entity("scms_shipments")).outcomes[0]
    assert (outcome.rows_in_file, outcome.rows_clean, outcome.quarantine.num_rows) == (6, 4, 2)
    rows = {r["line_no"]: r for r in raw.lake.read("clean", "scms_shipments").to_pylist()}
    assert [rows[i]["destination_country"] for i in (1, 3, 4, 15)] == ["CI", "VN", "CD", "SZ"]
    assert rows[1]["scheduled_date"].isoformat() == "2006-06-02" and rows[1]["freight_cost"] == 780.34
    assert rows[4]["freight_cost"] is None and "'See ASN-93 (ID#:1281)' is not a valid float" in rows[4]["_issues"]
    assert rows[15]["weight_kg"] is None and rows[15]["delivered_date"] is None
    quarantined = {q["_row_number"]: q["reason"] for q in raw.lake.read("quarantine", "scms_shipments").to_pylist()}
    assert quarantined == {5: "scheduled_date: a value is required",  # 'Pre-PQ Process' is a declared null token
                           6: "destination_country: 'Atlantis' is not a known country"}
    assert account(raw.manifest(feed="scms_shipments"), clean.ledger("scms_shipments")).passed
