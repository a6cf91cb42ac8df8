"""Product matching on tricky cases: barcodes, ERP statements, till abbreviations, renamed products,
look-alikes told apart by price, ties left alone, codes nobody can place, a second system of record,
absent inputs, items purchase lines name only in words, model numbers and quantities that differ,
and a steward's labels.

One small catalogue holds the cases (each under its own brand, so cases cannot interfere) and is
linked once for the module (pure pandas, no Spark).
"""

from datetime import datetime

import pandas as pd
import pytest

from hub_platform.defs.curated import product_similarity as similarity
from hub_platform.defs.curated.matching_quality import label_quality, pairwise_quality
from hub_platform.defs.curated.product_matching import ProductFeeds, empty, labelled_pairs, link_products, linked_pairs
from hub_platform.defs.review.queue import pair_id

JAN, FEB = datetime(2026, 1, 1), datetime(2026, 2, 1)
ERP_COLUMNS = ["sku", "gtin", "product_name", "brand", "category", "size", "_namespace"]
ERP = [
    ("SKU-11", "4006381333931", "Northwind Cola 1 l", "Northwind", "drinks", "1 l", "erp"),
    ("SKU-21", None, "Alpine Sparkling Water 500 ml", "Alpine", "drinks", "500 ml", "erp"),
    ("SKU-22", None, "Alpine Still Water 500 ml", "Alpine", "drinks", "500 ml", "erp"),
    ("SKU-31", None, "Brightday Cheddar 250 g New", "Brightday", "dairy", "250 g", "erp"),
    ("SKU-41", None, "Coastline Whole Milk 1 l", "Coastline", "dairy", "1 l", "erp"),
    ("SKU-42", None, "Coastline Whole Milk 1 l", "Coastline", "dairy", "1 l", "erp"),
    ("SKU-51", "4012345678901", "Evergreen Skyr 500 g", "Evergreen", "dairy", "500 g", "erp"),
    ("SKU-52", None, "Evergreen Skyr 500 g", "Evergreen", "dairy", "500 g", "erp"),
    ("SKU-61", None, "Harbor Flash Drive 16GB HB-16", "Harbor", "storage", "", "erp"),
    ("SKU-62", None, "Harbor Flash Drive 2GB HB-2", "Harbor", "storage", "", "erp"),
    # a second ERP (another system of record) lists two of the same products under its own codes,
    # qualified by its namespace as curated/entities.py reads them
    ("erp_east:A-100", "4006381333931", "NORTHWIND COLA 1L", "Northwind", "beverages", "1 l", "erp_east"),
    ("erp_east:A-200", None, "Harbor USB Flash Drive 16 GB (HB-16)", "Harbor", "memory", "", "erp_east"),
    ("erp_east:SKU-11", None, "Meadow Honey 350 g", "Meadow", "pantry", "350 g", "erp_east"),  # same SKU, other product
]
HISTORY = [("SKU-31", "Brightday Cheddar 250 g", "Brightday", "dairy", "250 g", "erp")]  # its January name
WEB = [  # web_product_id, title, brand, size, category, gtin, price, _source
    ("W-11", "Cola 1 l – Northwind", "Northwind", "1 l", None, "4006381333931", 2.5, "web"),
    ("W-31", "Cheddar 250 g – Brightday", "Brightday", "250 g", None, None, 4.0, "web"),
    ("W-41", "Whole Milk 1 l – Coastline", "Coastline", "1 l", None, None, 1.29, "web"),
    ("W-42", "COASTLINE Whole Milk (1 l)", "Coastline", "1 l", None, None, 9.99, "web"),
    ("W-51", "Skyr 500 g – Evergreen", "Evergreen", "500 g", None, "4012345678901", 3.0, "web"),
    ("W-52", "Skyr 500 g – Evergreen", "Evergreen", "500 g", None, None, 3.0, "web"),
    ("W-62", "Harbor 2 GB flash drive", "Harbor", None, None, None, 5.0, "web"),
]
TILL_ITEMS = [  # item_code, gtin, item_description, prices, sources (product_matching.till_items)
    ("IC21", None, "ALPIN SPRKL WATER 500ML", [1.0], ["pos_north"]),
    ("IC91", None, "FJORD ICED TEA 1L", [2.0], ["pos_south"]),
]
PROCUREMENT = [  # procurement.procurement_lines(): a part number beside a SKU, and an item named only in words
    ("SKU-11", "SP-77", None, "sku", "SKU-11", "Northwind Cola", None, "erp_po", "erp"),
    (None, None, None, "source_item", "scms:harbor flash drive 2gb hb-2", "Harbor flash drive 2GB HB-2", "Harbor", "scms", "scms"),
    (None, None, None, "source_item", "scms:fjord mineral salt 1kg", "Fjord mineral salt 1kg", "Fjord", "scms", "scms"),
]
PRICES = [("SKU-41", "GBP", 1.19), ("SKU-42", "GBP", 1.29)]


def masters(rows: list[tuple]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=ERP_COLUMNS)
    return frame.assign(_source=frame._namespace, _anchor=frame._namespace == "erp")


def feeds() -> ProductFeeds:
    web = pd.DataFrame(WEB, columns=["web_product_id", "title", "brand", "size", "category", "gtin", "price", "_source"])
    history = pd.DataFrame(HISTORY, columns=["sku", "product_name", "brand", "category", "size", "_namespace"])
    return ProductFeeds(
        products=masters(ERP), product_history=history.assign(_anchor=True),
        catalog_items=web.assign(_namespace=web._source),
        store_items=pd.DataFrame(TILL_ITEMS, columns=["item_code", "gtin", "item_description", "prices", "sources"]),
        procurement_lines=pd.DataFrame(PROCUREMENT, columns=["sku", "supplier_part_no", "gtin", "product_code_type", "product_code",
                                                             "product_name", "brand", "_source", "_namespace"]),
        prices=pd.DataFrame(PRICES, columns=["sku", "currency", "price"]),
    )


@pytest.fixture(scope="module")
def linking():
    return link_products(feeds())


@pytest.fixture(scope="module")
def xref(linking):
    return {(r.code_type, r.system, r.code): r for r in linking.xref.itertuples()}


def test_every_code_has_one_row_and_keys_never_repeat(linking):
    assert not linking.xref.duplicated(["code_type", "system", "code"]).any()
    assert linking.xref.product_id.notna().all()


def test_barcodes_and_erp_statements_link_deterministically(xref):
    web = xref[("web_product_id", "web", "W-11")]
    assert (web.product_id, web.match_rule) == ("SKU-11", "gtin")
    assert xref[("gtin", "gs1", "4006381333931")].product_id == "SKU-11"
    part = xref[("supplier_part_no", "supplier", "SP-77")]
    assert (part.product_id, part.match_rule) == ("SKU-11", "purchase_order")


def test_a_second_system_of_record_links_by_barcode_and_by_wording_without_duplicate_keys(xref):
    cola = xref[("sku", "erp_east", "erp_east:A-100")]
    assert (cola.product_id, cola.match_rule) == ("SKU-11", "gtin")
    drive = xref[("sku", "erp_east", "erp_east:A-200")]
    assert (drive.product_id, drive.match_rule) == ("SKU-61", "fuzzy")
    # the same SKU in two systems is two codes; the other system's honey is a product of its own
    honey = xref[("sku", "erp_east", "erp_east:SKU-11")]
    assert (honey.product_id, honey.match_rule) == ("erp_east:SKU-11", "system_of_record")


def test_a_till_abbreviation_matches_the_erp_wording_not_its_look_alike(xref):
    till = xref[("store_item_code", "pos", "IC21")]
    assert (till.product_id, till.match_rule) == ("SKU-21", "fuzzy")


def test_a_product_the_erp_renamed_still_matches_on_its_old_wording(xref):
    assert xref[("web_product_id", "web", "W-31")].product_id == "SKU-31"


def test_look_alikes_are_told_apart_by_price_and_a_second_look_alike_is_left_unmatched(xref):
    assert xref[("web_product_id", "web", "W-41")].product_id == "SKU-42"
    second = xref[("web_product_id", "web", "W-42")]
    assert (second.match_rule, second.product_id) == ("unmatched", "web_product_id:W-42")


def test_a_true_tie_that_price_cannot_break_is_left_unlinked():
    scored = pd.DataFrame({"left_id": ["A", "B", "A"], "right_id": ["x", "x", "y"], "match_probability": [0.9, 0.9, 0.7],
                           "price_agrees": [False, False, False]})
    links, ambiguous = similarity.one_to_one(scored)
    assert ambiguous == {"x"} and list(zip(links.left_id, links.right_id, strict=True)) == [("A", "y")]


def test_a_product_whose_barcode_already_links_a_web_id_takes_no_second_one(xref):
    assert xref[("web_product_id", "web", "W-51")].product_id == "SKU-51"
    assert xref[("web_product_id", "web", "W-52")].product_id == "SKU-52"


def test_a_different_capacity_is_evidence_against(xref):
    assert xref[("web_product_id", "web", "W-62")].product_id == "SKU-62"
    assert similarity.number_level(frozenset({"2gb"}), frozenset({"16gb"})) == 0.0
    assert similarity.code_level(frozenset({"am00777ceu"}), frozenset({"am00778ceu"}), frozenset(), frozenset()) == 0.0


def test_an_item_purchase_lines_name_only_in_words_is_linked_by_wording_or_is_its_own(xref):
    drive = xref[("source_item", "scms", "scms:harbor flash drive 2gb hb-2")]
    assert (drive.product_id, drive.match_rule) == ("SKU-62", "fuzzy")
    salt = xref[("source_item", "scms", "scms:fjord mineral salt 1kg")]
    assert (salt.product_id, salt.match_rule) == ("source_item:scms:fjord mineral salt 1kg", "unmatched")


def test_a_code_nobody_can_place_is_a_product_of_its_own(xref):
    own = xref[("store_item_code", "pos", "IC91")]
    assert (own.product_id, own.match_rule) == ("store_item_code:IC91", "unmatched") and pd.isna(own.match_score)


def test_scored_pairs_carry_what_a_steward_needs(linking):
    pairs = linking.pairs
    assert {"left_id", "right_id", "match_probability", "threshold", "left_record", "right_record"} <= set(pairs.columns)
    linked = pairs[pairs.linked]
    assert ("SKU-21", "store_item_code:IC21") in set(zip(linked.left_id, linked.right_id, strict=True))


def test_a_stewards_label_overrides_the_model():
    labels = labelled_pairs(review_labels([("SKU-21", "store_item_code:IC21")], ["non_match"]))
    xref = link_products(feeds(), labels).xref
    assert xref[xref.code == "IC21"].product_id.tolist() == ["store_item_code:IC21"]


def test_absent_feeds_are_empty_inputs():
    only_erp = link_products(ProductFeeds(products=masters(ERP[:3])))
    assert set(only_erp.xref.code_type) == {"sku", "gtin"} and only_erp.pairs.empty
    nothing = link_products(ProductFeeds())
    assert nothing.xref.empty
    assert list(empty("catalog_items").columns)[:2] == ["web_product_id", "title"]


def test_precision_is_undefined_when_nothing_is_linked():
    predicted = pd.DataFrame({"code": ["a", "b"], "code_type": ["sku", "gtin"], "product_id": ["P", "Q"]})
    truth = pd.DataFrame({"code": ["a", "b"], "product_id": ["1", "1"]})
    quality = pairwise_quality(predicted, truth)
    assert (quality.precision, quality.recall, quality.f1) == (None, 0.0, None)


def test_pairwise_quality_on_a_hand_counted_case():
    predicted = pd.DataFrame({"code": ["a", "b", "c", "d"], "code_type": ["sku", "gtin", "gtin", "sku"],
                              "product_id": ["P", "P", "Q", "Q"]})
    truth = pd.DataFrame({"code": ["a", "b", "c", "d"], "product_id": ["1", "1", "1", "2"]})
    quality = pairwise_quality(predicted, truth)
    # predicted pairs ab cd (2); true pairs ab ac bc (3); found ab (1)
    assert (quality.precision, round(quality.recall, 4)) == (0.5, 0.3333)
    assert quality.linked_correctly_by_type == {"gtin": 0.5, "sku": 1.0}


def review_labels(pairs: list[tuple[str, str]], labels: list[str]) -> pd.DataFrame:
    """Rows of review/labels as `hub review` writes them."""
    return pd.DataFrame({"domain": "product", "pair_id": [pair_id("product", a, b) for a, b in pairs],
                         "left_id": [a for a, _ in pairs], "right_id": [b for _, b in pairs], "label": labels,
                         "labelled_by": "steward", "labelled_at": pd.Timestamp("2026-12-01"), "note": None})


def test_quality_from_a_stewards_labels(linking):
    labels = review_labels([("SKU-21", "store_item_code:IC21"), ("SKU-22", "store_item_code:IC21"),
                            ("SKU-41", "web_product_id:W-42")], ["match", "non_match", "match"])
    quality = label_quality(linked_pairs(linking.xref), labels)
    # the hub links IC21 to SKU-21 (right), not to SKU-22 (right), and leaves W-42 alone (a miss)
    assert (quality.precision, quality.recall, quality.compared) == (1.0, 0.5, 3)
    assert label_quality(linked_pairs(linking.xref), labels.assign(label="unsure")) is None
