"""Purchase orders from purchase-order and shipment lines; suppliers matched by id or name, else created."""

from datetime import date

import pytest

from hub_platform.defs.curated.procurement import procurement_lines, purchase_orders, suppliers

pytestmark = pytest.mark.spark

LINEAGE = "_source string, _namespace string, _file_checksum string, _row_number long, _received_at timestamp"


@pytest.fixture(scope="module")
def bought(spark):
    master = spark.createDataFrame([("SUP-1", "Orgenics Ltd", "GB", 10, None, "erp_suppliers")],
                                   "supplier_id string, supplier_name string, country string, lead_time_days long, "
                                   "contact_email string, _source string")
    po = spark.createDataFrame(
        [("erp_po", "erp", "f1", 1, None, "PO-1", 1, "SUP-1", None, "SKU-1", None, None, None, 10, None, None,
          date(2026, 1, 1), date(2026, 1, 10), date(2026, 1, 9), 10),
         ("erp_po", "erp", "f1", 2, None, "PO-1", 2, "SUP-9", None, "SKU-1", None, None, None, 4, None, None,
          date(2026, 1, 1), date(2026, 1, 10), None, None)],
        f"{LINEAGE}, po_id string, line_no long, supplier_id string, supplier_name string, sku string, supplier_part_no string, "
        "gtin string, product_name string, qty long, unit_price double, currency string, order_date date, expected_date date, "
        "received_date date, received_qty long")
    shipped = spark.createDataFrame(
        [("scms", "scms", "f2", 1, None, "ASN-8", 7, None, None, "ORGENICS, LTD.", None, None, "Test kit, 30 tests", "Reveal", 19,
          190.0, "USD", None, date(2006, 6, 2), date(2006, 6, 5)),
         ("scms", "scms", "f2", 2, None, "ASN-9", 8, "SCMS-2", None, "Aurobindo Pharma Limited", None, None, "Lamivudine  150mg",
          None, 0, None, "USD", date(2006, 1, 2), date(2006, 6, 2), None)],
        f"{LINEAGE}, shipment_id string, line_no long, po_id string, supplier_id string, supplier_name string, sku string, "
        "gtin string, product_name string, brand string, qty long, line_value double, currency string, ordered_date date, "
        "scheduled_date date, delivered_date date")
    lines = procurement_lines(po, shipped)
    known = suppliers(master, lines)
    xref = spark.createDataFrame([("sku", "SKU-1", "SKU-1", 1), ("source_item", "scms:test kit, 30 tests", "x:1", 2),
                                  ("source_item", "scms:lamivudine 150mg", "x:2", 3)],
                                 "code_type string, code string, product_id string, product_key long")
    return {r.supplier_id: r for r in known.collect()}, {(r.source, r.line_no): r for r in purchase_orders(lines, xref, known).collect()}


def test_a_supplier_named_differently_is_matched_and_an_unknown_one_created(bought):
    known, orders = bought
    assert orders[("scms", 7)].supplier_id == "SUP-1"  # 'ORGENICS, LTD.' is the master's 'Orgenics Ltd'
    assert (known["scms:aurobindo-pharma"].origin, known["scms:aurobindo-pharma"].supplier_name) == ("created", "Aurobindo Pharma Limited")
    assert known["SUP-9"].origin == "created"  # an id the master does not hold: created, not dropped
    assert all(o.supplier_key is not None for o in orders.values())


def test_shipment_lines_are_purchase_order_lines_with_their_schedule_and_receipt(bought):
    _, orders = bought
    line = orders[("scms", 7)]
    assert (line.po_id, line.line_kind, line.expected_date, line.received_date, line.received_qty) == (
        "ASN-8", "shipment", date(2006, 6, 2), date(2006, 6, 5), 19)  # no PO number: the shipment's
    assert (line.on_time, line.lead_time_days, line.product_id) == (False, None, "x:1")
    empty = orders[("scms", 8)]
    assert (empty.po_id, empty.is_open, empty.fill_rate, empty.product_id) == ("SCMS-2", True, None, "x:2")  # wording folded
    assert (orders[("erp_po", 1)].on_time, orders[("erp_po", 1)].fill_rate, orders[("erp_po", 1)].product_id) == (True, 1.0, "SKU-1")
