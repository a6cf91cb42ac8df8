"""Sources of shapes the hub has never seen, each added with one contract file and no code, on top of
the small sample: a programme's shipment-line extract (air, truck, ocean), a second POS whose
transaction numbers collide with the first's, and a second ERP that shares products with the first.

One materialization of everything upstream of the curated tables and the perfect-order KPIs
(customer-360 and forecasting are not needed to show it, and are left out to keep the run short).
"""

from __future__ import annotations

import csv
import io
import json
import shutil
from pathlib import Path

import dagster as dg
import pyarrow.compute as pc
import pytest

from hub_platform.defs.clean.processing import CleanZone
from hub_platform.sources.contract import CONTRACTS_DIR, load_registry

SCMS_CONTRACT = """
name: scms_shipments
description: Shipment lines of a public health supply-chain programme, as its public extract has them.
system: erp
feed: scms_shipments
entity: shipment_line
format: {type: csv, null_values: ["N/A", "Date Not Captured", "Pre-PQ Process"]}
columns:
  - {name: shipment_id, required: true, source: "ASN/DN #"}
  - {name: line_no, required: true, source: ID}
  - {name: po_id, source: "PO / SO #"}
  - {name: supplier_name, source: Vendor}
  - {name: product_name, source: Item Description}
  - {name: brand, source: Brand}
  - {name: qty, required: true, source: Line Item Quantity}
  - {name: mode, source: Shipment Mode}
  - {name: destination_country, source: Country, null_values: []}
  - {name: ordered_date, source: PO Sent to Vendor Date, format: ["%d-%b-%y", "%m/%d/%y"]}
  - {name: scheduled_date, required: true, source: Scheduled Delivery Date, format: ["%d-%b-%y", "%m/%d/%y"]}
  - {name: delivered_date, source: Delivered to Client Date, format: ["%d-%b-%y", "%m/%d/%y"]}
  - {name: line_value, source: Line Item Value}
  - {name: weight_kg, source: Weight (Kilograms)}
  - {name: freight_cost, source: Freight Cost (USD)}
  - {name: currency, default: USD}
  - {name: managed_by, type: string, source: Managed By}
"""
SCMS_HEADER = ["ID", "Project Code", "PO / SO #", "ASN/DN #", "Country", "Managed By", "Shipment Mode",
               "PO Sent to Vendor Date", "Scheduled Delivery Date", "Delivered to Client Date", "Vendor", "Item Description",
               "Brand", "Line Item Quantity", "Line Item Value", "Weight (Kilograms)", "Freight Cost (USD)"]
POS_WEST_CONTRACT = """
name: pos_west
description: Till lines of the west estate, another vendor's POS (JSON lines, its own field names).
system: pos
feed: pos_transactions
entity: store_sale_line
format: {type: jsonl, timezone: Europe/London}
columns:
  - {name: transaction_id, required: true, source: receipt}
  - {name: line_no, required: true, source: pos}
  - {name: store_id, required: true, source: shop}
  - {name: ts, required: true, source: at}
  - {name: item_code, required: true, source: article}
  - {name: item_description, source: text}
  - {name: qty, required: true, source: units}
  - {name: unit_price, required: true, source: price}
  - {name: currency, required: true, default: GBP}
"""
ERP_WEST_CONTRACT = """
name: erp_west_products
description: The product master of a second ERP (an acquired business), with its own codes and units.
system: erp
feed: erp_west_products
entity: product
namespace: erp_west
precedence: 200
format: {type: csv, delimiter: ";"}
columns:
  - {name: sku, required: true, source: material}
  - {name: gtin, source: ean}
  - {name: product_name, required: true, source: description}
  - {name: brand, source: manufacturer}
  - {name: category, required: true, source: group}
  - {name: unit_weight_kg, source: weight_g, unit: {from: g, to: kg, factor: 0.001}}
  - {name: updated_at, required: true, source: changed}
"""


def _rows(folder: Path) -> list[dict]:
    return [row for path in sorted(folder.iterdir()) for row in csv.DictReader(io.StringIO(path.read_text()))]


def _new_files(landing: Path) -> dict[str, tuple[str, bytes]]:
    suppliers = _rows(landing / "erp_suppliers")
    products = [p for p in _rows(landing / "erp_products") if p["gtin"]]
    till = _rows(landing / "pos_north")[:3]
    known = suppliers[0]["supplier_name"]  # the ERP's supplier, written the programme's way below
    lines = [  # ID, project, PO, ASN, country, managed by, mode, PO sent, scheduled, delivered, vendor, item, brand, qty, value, kg, freight
        ["1", "100-CI-T01", "SCMS-4", "ASN-8", "Côte d'Ivoire", "PMO - US", "Air", "21-Dec-05", "2-Jun-06", "2-Jun-06",
         known.upper().replace(" GMBH", ", GMBH"), "HIV, Reveal G3 Rapid HIV-1 Antibody Test, 30 Tests", "Reveal", "19", "551", "13", "780.34"],
        ["3", "108-VN-T01", "SCMS-13", "ASN-85", "Vietnam", "PMO - US", "Air", "Date Not Captured", "14-Nov-06", "19-Nov-06",
         "Aurobindo Pharma Limited", "Nevirapine 10mg/ml, oral suspension, Bottle, 240 ml", "Generic", "1000", "6200", "358", "4521.5"],
        ["4", "100-CI-T01", "SCMS-20", "ASN-14", "Côte d'Ivoire", "PMO - US", "Air Charter", "N/A", "27-Aug-06", "27-Aug-06",
         "Abbott GmbH & Co. KG", "HIV 1/2, Determine Complete HIV Kit, 100 Tests", "Determine", "500", "40000", "171",
         "See ASN-93 (ID#:1281)"],
        ["15", "108-VN-T01", "SCMS-78", "ASN-293", "Vietnam", "PMO - US", "Truck", "N/A", "1-Jun-07", "30-May-07",
         "Aurobindo Pharma Limited", "Lamivudine 150mg, tablets, 60 Tabs", "Generic", "31920", "127360.8",
         "Weight Captured Separately", "Freight Included in Commodity Cost"],
        ["16", "112-NG-T01", "SCMS-81", "ASN-311", "Nigeria", "PMO - US", "Ocean", "N/A", "10/9/07", "10/20/07",
         "Aurobindo Pharma Limited", "Lamivudine 150mg, tablets, 60 Tabs", "Generic", "38000", "121600", "7590", "45450.08"],
        ["23", "112-NG-T01", "SCMS-87", "ASN-322", "Nigeria", "PMO - US", "Ocean", "N/A", "Pre-PQ Process", "11-Sep-07",
         "Aurobindo Pharma Limited", "Efavirenz 600mg, tablets, 30 Tabs", "Generic", "416", "2225.6", "N/A", "N/A"],
    ]
    scms = "\r".join(",".join(f'"{v}"' if "," in v else v for v in row) for row in [SCMS_HEADER, *lines]) + "\r"
    west = [{"receipt": r["transaction_id"], "pos": int(r["line_no"]), "shop": r["store_id"], "at": r["ts"].replace(" ", "T"),
             "article": r["item_code"], "text": r["item_description"], "units": 2, "price": float(r["unit_price"])} for r in till]
    erp_west = ["material;ean;description;manufacturer;group;weight_g;changed"]
    erp_west += [f"W-{i};{p['gtin']};{p['product_name']};{p['brand']};{p['category']};500;2026-10-15 08:00:00"
                 for i, p in enumerate(products[:2])]
    erp_west.append(f"{products[0]['sku']};;Harbour Lager 6 x 330 ml;Harbour;beverages;2100;2026-10-15 08:00:00")
    return {
        "scms_shipments": ("20261102T090000000000Z_SCMS_Delivery_History_Dataset.csv", scms.encode()),
        "pos_west": ("20261102T090000000000Z_tills.jsonl", "".join(json.dumps(r) + "\n" for r in west).encode()),
        "erp_west_products": ("20261102T090000000000Z_materials.csv", ("\n".join(erp_west) + "\n").encode()),
    }


@pytest.fixture(scope="module")
def run(small_sample: Path, tmp_path_factory: pytest.TempPathFactory):
    home = tmp_path_factory.mktemp("new_sources") / "hub"
    shutil.copytree(small_sample / "landing", home / "landing")
    shutil.copytree(small_sample / "truth", home / "truth")
    (home / "dagster").mkdir()
    (home / "dagster" / "dagster.yaml").write_text((Path(__file__).parents[1] / "dagster.yaml").read_text())
    contracts = home / "contracts"
    shutil.copytree(CONTRACTS_DIR, contracts)
    for name, text in (("scms_shipments", SCMS_CONTRACT), ("pos_west", POS_WEST_CONTRACT), ("erp_west_products", ERP_WEST_CONTRACT)):
        (contracts / f"{name}.yaml").write_text(text)  # the only change: one contract file per new source
    files = _new_files(home / "landing")
    for source, (name, data) in files.items():
        (home / "landing" / source).mkdir()
        (home / "landing" / source / name).write_bytes(data)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HUB_HOME", str(home))
        patch.setenv("DAGSTER_HOME", str(home / "dagster"))
        from hub_platform.definitions import build_definitions

        defs = build_definitions(load_registry(contracts))
        targets = [dg.AssetKey(["orders", "perfect_order_kpis"]), *(dg.AssetKey(["curated", t]) for t in (
            "purchase_order", "product", "supplier", "sales_order", "shipment"))]
        keys = dg.AssetSelection.assets(*targets).upstream().required_multi_asset_neighbors().resolve(defs.resolve_asset_graph())
        result = defs.resolve_implicit_global_asset_job_def().execute_in_process(
            asset_selection=sorted(keys), instance=dg.DagsterInstance.get(), raise_on_error=False)
        from hub_platform.lib.resources import build_resources

        yield result, build_resources()["storage"].lake(), files


def _checks(result) -> dict[tuple[str, str], bool]:
    return {(c.asset_key.to_user_string(), c.check_name): c.passed for c in result.get_asset_check_evaluations()}


def _read(lake, zone, name, **filters):
    table = lake.read(zone, name)
    for column, value in filters.items():
        table = table.filter(pc.equal(table[column], value))
    return table.to_pylist()


@pytest.mark.slow
def test_every_step_succeeds_and_every_blocking_check_passes(run):
    result, _, _ = run
    assert result.success
    checks = _checks(result)
    for feed in ("scms_shipments", "pos_transactions", "erp_west_products"):
        assert checks[(f"clean/{feed}", "rows_accounted_for")] and checks[(f"clean/{feed}", "great_expectations")], feed
    for table in ("purchase_order", "shipment", "supplier", "product_xref", "product", "sales_order", "sales_order_line"):
        assert checks[(f"curated/{table}", "great_expectations")], table
    assert checks[("orders/perfect_order_kpis", "great_expectations")]


@pytest.mark.slow
def test_a_shipment_extract_reaches_purchase_orders_and_shipments_with_every_row_accounted_for(run):
    _, lake, _ = run
    ledger = CleanZone(lake).ledger("scms_shipments").to_pylist()
    assert [(r["rows_in_file"], r["rows_clean"], r["rows_quarantined"]) for r in ledger] == [(6, 5, 1)]  # 'Pre-PQ Process' is no date
    lines = _read(lake, "curated", "purchase_order", source="scms_shipments")
    assert len(lines) == 5 and all(r["product_key"] is not None and r["supplier_key"] is not None for r in lines)
    by_line = {r["line_no"]: r for r in lines}
    assert (by_line[3]["on_time"], by_line[15]["on_time"], by_line[16]["on_time"]) == (False, True, False)
    assert by_line[1]["lead_time_days"] == 163 and by_line[3]["order_date"] is None  # 'Date Not Captured'
    freight = {r["tracking_no"]: r for r in _read(lake, "curated", "shipment", kind="freight")}
    assert {k: r["mode"] for k, r in freight.items()} == {"ASN-8": "air", "ASN-85": "air", "ASN-14": "air", "ASN-293": "road",
                                                        "ASN-311": "ocean"}
    assert (freight["ASN-14"]["mode_text"], freight["ASN-311"]["status"]) == ("Air Charter", "delivered")
    assert len(_read(lake, "quarantine", "scms_shipments")) == 1


@pytest.mark.slow
def test_its_suppliers_are_matched_or_created_and_its_products_linked_or_created(run):
    _, lake, _ = run
    suppliers = {r["supplier_id"]: r for r in _read(lake, "curated", "supplier")}
    lines = _read(lake, "curated", "purchase_order", source="scms_shipments")
    matched = {r["line_no"]: r["supplier_id"] for r in lines}
    assert suppliers[matched[1]]["origin"] == "master"  # 'NORTHWIND TRADING, GMBH' is the ERP's Northwind Trading GmbH
    created = suppliers["scms_shipments:aurobindo-pharma"]
    assert (created["origin"], created["supplier_name"], created["lead_time_days"]) == ("created", "Aurobindo Pharma Limited", None)
    assert matched[15] == matched[16] == "scms_shipments:aurobindo-pharma"
    products = {r["product_id"]: r for r in _read(lake, "curated", "product", is_current=True)}
    for line in lines:
        assert line["product_id"] in products, line
    items = _read(lake, "curated", "product_xref", code_type="source_item")
    assert {r["code"] for r in items} >= {"scms_shipments:lamivudine 150mg, tablets, 60 tabs"}
    assert products["source_item:scms_shipments:lamivudine 150mg, tablets, 60 tabs"]["master_source"] == "scms_shipments"


@pytest.mark.slow
def test_its_on_time_delivery_by_mode_is_in_the_perfect_order_kpis(run):
    _, lake, _ = run
    by_mode = {r["key"]: r for r in _read(lake, "orders", "perfect_order_kpis", dimension="mode")}
    assert (by_mode["air"]["orders"], by_mode["air"]["on_time_rate"]) == (3, pytest.approx(2 / 3, abs=1e-4))
    assert (by_mode["ocean"]["on_time_rate"], by_mode["road"]["on_time_known"] > 1) == (0.0, True)  # road: the truck and the vans
    judged = {r["order_id"]: r for r in _read(lake, "orders", "perfect_order", channel="freight")}
    assert judged["scms_shipments:ASN-293"]["on_time"] is True and judged["scms_shipments:ASN-85"]["minutes_late"] == 5 * 24 * 60


@pytest.mark.slow
def test_a_second_pos_with_colliding_transaction_ids_gives_distinct_orders(run):
    _, lake, files = run
    west = [json.loads(line) for line in files["pos_west"][1].decode().splitlines()]
    receipts = {r["receipt"] for r in west}
    orders = [r for r in _read(lake, "curated", "sales_order", channel="store") if r["order_id"] in receipts]
    assert sorted(r["source"] for r in orders) == sorted(["pos_north", "pos_west"] * len(receipts))
    assert len({r["order_key"] for r in orders}) == 2 * len(receipts)
    mine = [r for r in orders if r["source"] == "pos_west"]
    assert sum(r["units"] for r in mine) == 2 * len(west)  # its own lines only, not the other till's
    lines = [r for r in _read(lake, "curated", "sales_order_line", channel="store") if r["order_key"] in {o["order_key"] for o in mine}]
    assert len(lines) == len(west) and all(r["product_key"] is not None for r in lines)


@pytest.mark.slow
def test_a_second_erp_shares_products_by_barcode_and_keeps_its_own_codes_apart(run):
    _, lake, files = run
    rows = files["erp_west_products"][1].decode().splitlines()[1:]
    xref = {r["code"]: r for r in _read(lake, "curated", "product_xref", code_type="sku")}
    barcodes = {r["code"]: r for r in _read(lake, "curated", "product_xref", code_type="gtin")}
    for material, ean, *_ in (row.split(";") for row in rows[:2]):
        mine = xref[f"erp_west:{material}"]
        assert (mine["match_rule"], mine["product_id"]) == ("gtin", barcodes[ean]["product_id"])
        assert xref[mine["product_id"]]["match_rule"] == "system_of_record"  # the first ERP's SKU anchors the product
    colliding = rows[2].split(";")[0]  # the second ERP uses a SKU the first uses for another product
    mine, theirs = xref[f"erp_west:{colliding}"], xref[colliding]
    assert mine["product_id"] != theirs["product_id"] and mine["match_rule"] == "system_of_record"
    products = {r["product_id"]: r for r in _read(lake, "curated", "product", is_current=True)}
    assert products[mine["product_id"]]["product_name"] == "Harbour Lager 6 x 330 ml"
    assert products[theirs["product_id"]]["product_name"] != "Harbour Lager 6 x 330 ml"
