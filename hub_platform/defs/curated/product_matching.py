"""Product matching: which codes in which systems name the same product (pure pandas).

One product is an ERP SKU, a web catalogue id, a GTIN on the tills, a store item code and a supplier
part number. Every code is linked to a product by the first rule that applies:

1. ``system_of_record``  a SKU of a system of record (an ERP's material master) is a product. With
                         several systems of record, the first (contract ``precedence``) names
                         products; a SKU of another (``<namespace>:<sku>``, see entities.py) is
                         linked to a product by the rules below when the evidence says so, and
                         otherwise is a product of its own.
2. ``gtin``              a valid GTIN equal to a product's GTIN (barcodes are globally unique).
3. ``purchase_order``    a supplier part number that purchase order lines give beside a SKU.
   (Purchase and shipment lines that name an item only by its wording bring ``source_item``
   codes, ``<namespace>:<wording>``, which the fuzzy stage links like a catalogue's.)
4. ``fuzzy``             no deterministic link: the product whose wordings (every name the systems
                         of record have used) match best, found without brand or size, compared
                         with respect for model numbers and quantities, scored by a model trained
                         on the labels the one-to-one constraint implies and a steward's labels
                         (see product_similarity.py); one code of a catalogue per product.

Codes no rule links become products of their own (``<code_type>:<code>``), so every code resolves
and nothing is silently dropped; the evidence column says why each link was made or not. The inputs
are entities (every feed of each, see entities.py); an entity no feed has delivered is an empty
frame, so the cross-reference builds from whichever feeds exist.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import pandas as pd
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from hub_platform.defs.curated import product_similarity as similarity
from hub_platform.defs.review.accuracy import latest_labels

CODE_TYPES = ("sku", "gtin", "web_product_id", "store_item_code", "supplier_part_no", "source_item")
MATCH_RULES = ("system_of_record", "gtin", "purchase_order", "fuzzy", "unmatched")
XREF_COLUMNS = ["code_type", "system", "code", "product_id", "match_rule", "match_score", "evidence", "sources"]
PAIR_COLUMNS = ["left_id", "right_id", "match_probability", "threshold", "linked", "evidence", "left_record", "right_record"]
REVIEW_DOMAIN = "product"

# what each product-bearing input brings, and the columns it is read with (an absent one is empty);
# ``_anchor`` marks the first system of record's rows, ``_namespace`` the id space a code belongs to
INPUT_COLUMNS = {
    "products": ["sku", "gtin", "product_name", "brand", "category", "size", "_source", "_namespace", "_anchor"],
    "product_history": ["sku", "product_name", "brand", "category", "size", "_namespace", "_anchor"],
    "catalog_items": ["web_product_id", "title", "brand", "size", "category", "gtin", "price", "_source", "_namespace"],
    "store_items": ["item_code", "gtin", "item_description", "prices", "sources"],
    "procurement_lines": ["sku", "supplier_part_no", "gtin", "product_code_type", "product_code", "product_name", "brand",
                          "_source", "_namespace"],
    "prices": ["sku", "currency", "price"],
}


def empty(name: str) -> pd.DataFrame:
    """The frame of an input no feed has delivered."""
    return pd.DataFrame({column: pd.Series(dtype=object) for column in INPUT_COLUMNS[name]})


@dataclass
class ProductFeeds:
    """The product-bearing entities as pandas frames (columns as in :data:`INPUT_COLUMNS`).

    ``products``: every system of record's current products; ``product_history``: every version
    they have had; ``store_items``: one row per till item code (:func:`till_items`);
    ``procurement_lines``: procurement.procurement_lines(); ``prices``: list prices.
    """

    products: pd.DataFrame = field(default_factory=lambda: empty("products"))
    product_history: pd.DataFrame = field(default_factory=lambda: empty("product_history"))
    catalog_items: pd.DataFrame = field(default_factory=lambda: empty("catalog_items"))
    store_items: pd.DataFrame = field(default_factory=lambda: empty("store_items"))
    procurement_lines: pd.DataFrame = field(default_factory=lambda: empty("procurement_lines"))
    prices: pd.DataFrame = field(default_factory=lambda: empty("prices"))


@dataclass
class Linking:
    """The cross-reference (one row per code) and the scored fuzzy pairs (for the review queue)."""

    xref: pd.DataFrame
    pairs: pd.DataFrame
    methods: dict[str, str]


def till_items(lines: DataFrame) -> DataFrame:
    """One record per store item code (Spark, before anything is collected): its GTIN, description,
    the prices seen with it and the tills that use it. Store item codes are one code space across tills."""
    return lines.groupBy("item_code").agg(
        F.max("gtin").alias("gtin"), F.max("item_description").alias("item_description"),
        F.array_sort(F.collect_set(F.round(F.col("unit_price").cast("double"), 2))).alias("prices"),
        F.array_sort(F.collect_set("_source")).alias("sources"),
    )


def _present(value) -> bool:
    return value is not None and value == value and str(value) != ""


class _Products:
    """The products found so far: their GTINs, wordings and which catalogues already hold a code."""

    def __init__(self):
        self.by_gtin: dict[str, str] = {}
        self.wordings: list[dict] = []
        self.taken: set[tuple[str, str, str]] = set()  # (code_type, system, product_id)

    def add_wording(self, product_id: str, **wording) -> None:
        self.wordings.append({"entity_id": product_id, **wording})

    def frame(self) -> pd.DataFrame:
        return similarity.wordings(pd.DataFrame(self.wordings)) if self.wordings else similarity.wordings(
            pd.DataFrame({"entity_id": pd.Series(dtype=str)}))


def _row(code_type, system, code, product_id, rule, score, evidence, sources) -> dict:
    return {"code_type": code_type, "system": system, "code": code, "product_id": product_id, "match_rule": rule,
            "match_score": score, "evidence": evidence, "sources": ", ".join(sorted(set(sources)))}


def _record_json(wording: pd.Series) -> str:
    return json.dumps({c: wording[c] for c in (*similarity.WORDING_COLUMNS, "prices") if wording[c] not in ("", [])})


def link_products(feeds: ProductFeeds, labels: pd.DataFrame | None = None,
                  threshold: float = similarity.MATCH_THRESHOLD) -> Linking:
    """Every code linked to a product, with rule, score and evidence; ``labels``: a steward's
    (left_id = product id, right_id = ``code_type:code``, label) from the review queue."""
    rows: list[dict] = []
    products = _Products()
    list_prices = (feeds.prices.assign(price=pd.to_numeric(feeds.prices.price, errors="coerce").astype(float))
                   .groupby("sku").price.agg(lambda p: sorted(set(p.dropna().round(2)))).to_dict())
    masters = feeds.products.assign(_anchor=feeds.products._anchor.eq(True))
    history = pd.concat([feeds.product_history, masters[INPUT_COLUMNS["product_history"]]])

    erp = masters.sort_values(["_namespace", "sku"]).drop_duplicates(["_namespace", "sku"])
    for sku, gtin, system in zip(erp[erp._anchor].sku, erp[erp._anchor].gtin, erp[erp._anchor]._namespace, strict=True):
        rows.append(_row("sku", system, sku, sku, "system_of_record", 1.0, f"{system} material master", [system]))
        if _present(gtin):
            products.by_gtin.setdefault(gtin, sku)

    def add_wordings(versions: pd.DataFrame, product_of) -> None:
        for version in versions.itertuples():
            products.add_wording(product_of(version.sku), name=version.product_name, brand=version.brand,
                                 category=version.category, size=version.size, prices=list_prices.get(version.sku, []))

    add_wordings(history[history._anchor.eq(True)], lambda sku: sku)
    pairs, methods = [], {}

    def catalogue_pass(code_type: str, system: str, records: pd.DataFrame, own_product) -> None:
        """Link one catalogue's codes (code, gtin, sources + wording columns): GTIN first, then fuzzy."""
        undecided = []
        for record in records.itertuples():
            product = products.by_gtin.get(record.gtin) if _present(record.gtin) else None
            if product is not None:
                rows.append(_row(code_type, system, record.code, product, "gtin", 1.0,
                                 f"GTIN {record.gtin} is the barcode of {product}", record.sources))
                products.taken.add((code_type, system, product))
            else:
                undecided.append(record.Index)
        remaining = records.loc[undecided]
        right = similarity.wordings(remaining.assign(entity_id=code_type + ":" + remaining.code.astype(str)))
        left = products.frame()
        left = left[~left.entity_id.map(lambda p: (code_type, system, p) in products.taken)].reset_index(drop=True)
        links, scored, ambiguous, methods[f"{code_type} ({system})"] = similarity.link(left, right, labels, threshold=threshold)
        linked = dict(zip(links.right_id, links.left_id, strict=True))
        chosen = links.set_index("right_id")
        best = scored.sort_values("match_probability", ascending=False).drop_duplicates("right_id").set_index("right_id")
        for record in remaining.itertuples():
            entity = f"{code_type}:{record.code}"
            if entity in linked:
                pair = chosen.loc[entity]
                rows.append(_row(code_type, system, record.code, linked[entity], "fuzzy", round(float(pair.match_probability), 4),
                                 similarity.explain(pair), record.sources))
                if _present(record.gtin):
                    products.by_gtin.setdefault(record.gtin, linked[entity])
                own = None
            else:
                reason = ("ambiguous: several products fit equally and no price tells them apart" if entity in ambiguous
                          else "no GTIN, no statement and no product worded alike enough"
                          + (f" (best p={best.loc[entity].match_probability:.3f})" if entity in best.index else ""))
                own = own_product(record, reason)
            if own is not None and _present(record.gtin):
                products.by_gtin.setdefault(record.gtin, own)
        if not scored.empty:
            low, _ = similarity.REVIEW_BAND
            kept = scored[scored.match_probability >= low].copy()
            kept["linked"] = [linked.get(r) == p for p, r in zip(kept.left_id, kept.right_id, strict=True)]
            left_json = {e: _record_json(w) for e, w in zip(left.entity_id, (left.iloc[i] for i in range(len(left))), strict=True)}
            right_json = {e: _record_json(w) for e, w in zip(right.entity_id, (right.iloc[i] for i in range(len(right))), strict=True)}
            pairs.append(kept.assign(
                threshold=threshold, evidence=[similarity.explain(r) for _, r in kept.iterrows()],
                left_record=kept.left_id.map(left_json), right_record=kept.right_id.map(right_json))[PAIR_COLUMNS])

    # other systems of record: their SKUs (already ``<namespace>:<sku>``) join the products they name,
    # or are products of their own
    primary = ", ".join(sorted(set(erp[erp._anchor]._namespace))) or "no first system of record"
    for system in sorted(set(erp[~erp._anchor]._namespace)):
        own_skus = erp[(erp._namespace == system) & ~erp._anchor]

        def own_sku(record, reason, system=system):
            rows.append(_row("sku", system, record.code, record.code, "system_of_record", 1.0,
                             f"{system} material master; names no product of {primary}: {reason}", [system]))
            return record.code

        catalogue_pass("sku", system, own_skus.assign(
            code=own_skus.sku, name=own_skus.product_name, sources=[[s] for s in own_skus._source],
            prices=[list_prices.get(s, []) for s in own_skus.sku]), own_sku)
        product_of = {r["code"]: r["product_id"] for r in rows if r["code_type"] == "sku" and r["system"] == system}
        add_wordings(history[history._namespace == system], product_of.__getitem__)

    def unmatched(code_type, system):
        def own(record, reason):
            rows.append(_row(code_type, system, record.code, f"{code_type}:{record.code}", "unmatched", None, reason, record.sources))
            return f"{code_type}:{record.code}"
        return own

    web = feeds.catalog_items
    for system in sorted(web._namespace.dropna().unique()):
        shop = web[web._namespace == system]
        catalogue_pass("web_product_id", system, shop.assign(
            code=shop.web_product_id, name=shop.title, sources=[[s] for s in shop._source],
            prices=[[float(p)] if _present(p) else [] for p in shop.price]).drop_duplicates("code"), unmatched("web_product_id", system))
    items = feeds.store_items
    if not items.empty:
        catalogue_pass("store_item_code", "pos", items.assign(
            code=items.item_code, name=items.item_description, prices=[list(p) for p in items.prices],
            sources=[list(s) for s in items.sources]), unmatched("store_item_code", "pos"))
    named = _source_items(feeds.procurement_lines)
    for system in sorted(named._namespace.unique()):
        catalogue_pass("source_item", system, named[named._namespace == system], unmatched("source_item", system))

    rows += _gtin_rows(feeds, products.by_gtin)
    rows += _part_rows(feeds.procurement_lines, rows)
    xref = pd.DataFrame(rows, columns=XREF_COLUMNS)
    pair_frame = pd.concat(pairs, ignore_index=True) if pairs else pd.DataFrame(columns=PAIR_COLUMNS)
    return Linking(xref, pair_frame.astype({"match_probability": float, "threshold": float, "linked": bool}), methods)


def _source_items(lines: pd.DataFrame) -> pd.DataFrame:
    """One record per item purchase and shipment lines name only by its wording (code, name, brand, sources)."""
    named = lines[lines.product_code_type == "source_item"]
    if named.empty:
        return pd.DataFrame(columns=["code", "gtin", "name", "brand", "sources", "_namespace"])
    grouped = named.groupby(["_namespace", "product_code"], sort=True)
    return pd.DataFrame({
        "name": grouped.product_name.max(), "brand": grouped.brand.max(), "gtin": None,
        "sources": grouped._source.agg(lambda s: sorted(set(s))),
    }).reset_index().rename(columns={"product_code": "code"})


def _gtin_rows(feeds: ProductFeeds, by_gtin: dict[str, str]) -> list[dict]:
    """Every GTIN any system carries, as a code of the product that carries it (or its own)."""
    tills = feeds.store_items[["gtin", "sources"]].explode("sources").rename(columns={"sources": "_source"})
    carried = pd.concat([feeds.products[["gtin", "_source"]], feeds.catalog_items[["gtin", "_source"]], tills,
                         feeds.procurement_lines[["gtin", "_source"]]])
    carried = carried[carried.gtin.map(_present).astype(bool)]
    out = []
    for gtin, group in carried.groupby("gtin", sort=True):
        product = by_gtin.get(gtin)
        if product is None:
            out.append(_row("gtin", "gs1", gtin, f"gtin:{gtin}", "unmatched", None, "no product carries this barcode", group._source))
        else:
            out.append(_row("gtin", "gs1", gtin, product, "gtin", 1.0, f"barcode of {product}", group._source))
    return out


def _part_rows(lines: pd.DataFrame, rows: list[dict]) -> list[dict]:
    """Supplier part numbers, linked to the SKU purchase order lines give beside them."""
    product_of_sku = {row["code"]: row["product_id"] for row in rows if row["code_type"] == "sku"}
    parts = lines[lines.supplier_part_no.map(_present).astype(bool)]
    out = []
    for part, group in parts.groupby("supplier_part_no", sort=True):
        sku = group.sku.max()
        out.append(_row("supplier_part_no", "supplier", part, product_of_sku.get(sku, sku), "purchase_order", 1.0,
                        f"purchase order lines give it beside {sku}", group._source))
    return out


def labelled_pairs(labels: pd.DataFrame | None) -> pd.DataFrame | None:
    """The product domain's labels in force (left_id, right_id, label), or None before the first."""
    if labels is None or labels.empty:
        return None
    own = labels[labels.domain == REVIEW_DOMAIN]
    if own.empty:
        return None
    return latest_labels(own)[["left_id", "right_id", "label"]]


def linked_pairs(xref: pd.DataFrame) -> pd.DataFrame:
    """(left_id = product id, right_id = code_type:code) of every non-SKU code linked to a product by any rule."""
    linked = xref[(xref.match_rule != "unmatched") & ~((xref.code_type == "sku") & (xref.product_id == xref.code))]
    return pd.DataFrame({"left_id": linked.product_id.to_numpy(), "right_id": (linked.code_type + ":" + linked.code).to_numpy()})
