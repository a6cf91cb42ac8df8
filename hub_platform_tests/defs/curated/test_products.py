"""The product master and price history: one row per version, whatever the other systems hold."""

from datetime import datetime

import pytest

from hub_platform.defs.curated.products import price_dimension, product_dimension

pytestmark = pytest.mark.spark

XREF = [("sku", "SKU-1", "SKU-1", 1), ("web_product_id", "W-1", "SKU-1", 1), ("web_product_id", "W-2", "SKU-1", 1)]


@pytest.fixture
def xref(spark):
    return spark.createDataFrame(XREF, "code_type string, code string, product_id string, product_key long")


def test_two_web_ids_of_one_product_do_not_repeat_its_versions(spark, xref):
    erp = spark.createDataFrame(
        [("SKU-1", None, name, "Acme", "tea", "1kg", "active", "S1", 1.0, at, at)
         for name, at in (("Tea", datetime(2026, 1, 1)), ("Black tea", datetime(2026, 3, 1)))],
        "sku string, gtin string, product_name string, brand string, category string, size string, lifecycle string, "
        "supplier_id string, unit_weight_kg double, updated_at timestamp, _received_at timestamp")
    web = spark.createDataFrame([(w, t, "Acme", "tea", "1kg", datetime(2026, 1, 2)) for w, t in (("W-1", "Acme tea"), ("W-2", "Tea by Acme"))],
                                "web_product_id string, title string, brand string, category string, size string, _received_at timestamp")
    items = spark.createDataFrame([], "code_type string, code string, description string, first_seen timestamp, master_source string")
    rows = product_dimension(erp, web, items, xref).collect()
    assert sorted((r.product_name, r.is_current, r.web_title) for r in rows) == [("Black tea", True, "Acme tea"), ("Tea", False, "Acme tea")]


def test_price_versions_and_a_price_for_an_unknown_sku_is_quarantined(spark, xref):
    prices = spark.createDataFrame(
        [("SKU-1", "GBP", 2.0, datetime(2026, 1, 1), datetime(2026, 1, 1), "f1", 1),
         ("SKU-1", "GBP", 2.5, datetime(2026, 2, 1), datetime(2026, 2, 1), "f1", 2),
         ("SKU-9", "GBP", 9.0, datetime(2026, 1, 1), datetime(2026, 1, 1), "f1", 3)],
        "sku string, currency string, price double, valid_from timestamp, _received_at timestamp, _file_checksum string, _row_number long")
    versions, unknown = price_dimension(prices, xref)
    assert sorted((v.price, v.is_current) for v in versions.collect()) == [(2.0, False), (2.5, True)]
    assert [(u.sku, u.rule, u._row_number) for u in unknown.collect()] == [("SKU-9", "unknown_sku", 3)]
