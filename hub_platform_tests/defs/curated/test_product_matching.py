"""Product matching on tricky cases: barcodes, ERP statements, till abbreviations, renamed products,
look-alikes told apart by price, ties left alone, and codes nobody can place.

One small catalogue holds every case (each under its own brand, so cases cannot interfere) and is
linked once for the module: a Spark run per case would cost more than the cases are worth.
"""

from datetime import datetime

import pandas as pd
import pytest
from pyspark.sql import functions as F

from hub_platform.defs.curated.matching_quality import pairwise_quality
from hub_platform.defs.curated.product_matching import code_records, erp_wordings, link_codes, product_xref

pytestmark = pytest.mark.spark

JAN, FEB = datetime(2026, 1, 1), datetime(2026, 2, 1)
ERP = [  # sku, gtin, product_name, brand, size, updated_at, _source
    ("SKU-11", "4006381333931", "Northwind Cola 1 l", "Northwind", "1 l", JAN, "erp"),
    ("SKU-21", None, "Alpine Sparkling Water 500 ml", "Alpine", "500 ml", JAN, "erp"),
    ("SKU-22", None, "Alpine Still Water 500 ml", "Alpine", "500 ml", JAN, "erp"),
    ("SKU-31", None, "Brightday Cheddar 250 g", "Brightday", "250 g", JAN, "erp"),
    ("SKU-31", None, "Brightday Cheddar 250 g New", "Brightday", "250 g", FEB, "erp"),  # renamed in February
    ("SKU-41", None, "Coastline Whole Milk 1 l", "Coastline", "1 l", JAN, "erp"),
    ("SKU-42", None, "Coastline Whole Milk 1 l", "Coastline", "1 l", JAN, "erp"),
    ("SKU-51", "4012345678901", "Evergreen Skyr 500 g", "Evergreen", "500 g", JAN, "erp"),
    ("SKU-52", None, "Evergreen Skyr 500 g", "Evergreen", "500 g", JAN, "erp"),
]
WEB = [  # web_product_id, title, brand, size, gtin, price, _source
    ("W-11", "Cola 1 l – Northwind", "Northwind", "1 l", "4006381333931", 2.5, "web"),
    ("W-31", "Cheddar 250 g – Brightday", "Brightday", "250 g", None, 4.0, "web"),
    ("W-41", "Whole Milk 1 l – Coastline", "Coastline", "1 l", None, 1.29, "web"),
    ("W-42", "COASTLINE Whole Milk (1 l)", "Coastline", "1 l", None, 9.99, "web"),
    ("W-51", "Skyr 500 g – Evergreen", "Evergreen", "500 g", "4012345678901", 3.0, "web"),
    ("W-52", "Skyr 500 g – Evergreen", "Evergreen", "500 g", None, 3.0, "web"),
]
POS = [  # item_code, gtin, item_description, currency, unit_price, _source
    ("IC21", None, "ALPIN SPRKL WATER 500ML", "GBP", 1.0, "pos_north"),
    ("IC91", None, "FJORD ICED TEA 1L", "EUR", 2.0, "pos_south"),
]
PO = [("SKU-11", "SP-77", "erp_po", None, None, None, "sku", "SKU-11")]  # procurement.procurement_lines() columns
PRICES = [("SKU-41", "GBP", 1.19), ("SKU-42", "GBP", 1.29)]


def money(frame, column):
    """Amounts are exact decimals in the clean zone, as here."""
    return frame.withColumn(column, F.col(column).cast("decimal(12,2)"))


@pytest.fixture(scope="module")
def xref(spark):
    versions = spark.createDataFrame(ERP, "sku string, gtin string, product_name string, brand string, size string, "
                                          "updated_at timestamp, _source string")
    current = versions.join(versions.groupBy("sku").agg(F.max("updated_at").alias("updated_at")), ["sku", "updated_at"])
    web = money(spark.createDataFrame(WEB, "web_product_id string, title string, brand string, size string, gtin string, "
                                           "price double, _source string"), "price")
    pos = money(spark.createDataFrame(POS, "item_code string, gtin string, item_description string, currency string, "
                                           "unit_price double, _source string"), "unit_price")
    po = spark.createDataFrame(PO, "sku string, supplier_part_no string, _source string, gtin string, product_name string, "
                                   "brand string, product_code_type string, product_code string")
    prices = money(spark.createDataFrame(PRICES, "sku string, currency string, price double"), "price")
    links = link_codes(code_records(current, web, pos, po), erp_wordings(versions), prices)
    return {(r.code_type, r.code): r for r in product_xref(links).collect()}



def test_barcodes_and_erp_statements_link_deterministically(xref):
    assert (xref[("web_product_id", "W-11")].product_id, xref[("web_product_id", "W-11")].match_rule) == ("SKU-11", "gtin")
    assert xref[("gtin", "4006381333931")].product_id == "SKU-11"
    assert (xref[("supplier_part_no", "SP-77")].product_id, xref[("supplier_part_no", "SP-77")].match_rule) == ("SKU-11", "purchase_order")
    assert xref[("sku", "SKU-11")].product_key == xref[("web_product_id", "W-11")].product_key


def test_a_till_abbreviation_matches_the_erp_wording_not_its_look_alike(xref):
    till = xref[("store_item_code", "IC21")]
    assert (till.product_id, till.match_rule) == ("SKU-21", "fuzzy") and "[sprkl water] ~ [sparkling water]" in till.evidence


def test_a_product_the_erp_renamed_still_matches_on_its_old_wording(xref):
    web = xref[("web_product_id", "W-31")]
    assert (web.product_id, web.match_score) == ("SKU-31", 1.0)


def test_look_alikes_are_told_apart_by_price_and_a_true_tie_is_left_unmatched(xref):
    by_price = xref[("web_product_id", "W-41")]
    assert by_price.product_id == "SKU-42" and "list price of SKU-42" in by_price.evidence
    tie = xref[("web_product_id", "W-42")]
    assert (tie.match_rule, tie.product_id) == ("unmatched", "web_product_id:W-42") and tie.evidence.startswith("ambiguous")


def test_a_product_whose_barcode_already_links_a_web_id_takes_no_second_one(xref):
    assert xref[("web_product_id", "W-51")].product_id == "SKU-51"
    assert xref[("web_product_id", "W-52")].product_id == "SKU-52"


def test_a_code_nobody_can_place_is_a_product_of_its_own(xref):
    own = xref[("store_item_code", "IC91")]
    assert (own.product_id, own.match_rule, own.match_score) == ("store_item_code:IC91", "unmatched", None)
    assert own.product_key is not None and own.product_key not in {r.product_key for k, r in xref.items() if k != ("store_item_code", "IC91")}


def test_pairwise_quality_on_a_hand_counted_case():
    predicted = pd.DataFrame({"code": ["a", "b", "c", "d"], "code_type": ["sku", "gtin", "gtin", "sku"],
                              "product_id": ["P", "P", "Q", "Q"]})
    truth = pd.DataFrame({"code": ["a", "b", "c", "d"], "product_id": ["1", "1", "1", "2"]})
    quality = pairwise_quality(predicted, truth)
    # predicted pairs ab cd (2); true pairs ab ac bc (3); found ab (1)
    assert (quality.precision, round(quality.recall, 4)) == (0.5, 0.3333)
    # product 1 is mostly P, so c (in Q) is linked wrongly; product 2 is Q
    assert quality.linked_correctly_by_type == {"gtin": 0.5, "sku": 1.0}
