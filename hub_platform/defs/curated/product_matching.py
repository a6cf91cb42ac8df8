"""Product matching: which codes in which systems name the same product (pure pandas).

One product is an ERP SKU, a web catalogue id, a GTIN on the tills, a store item code and a supplier
part number. Every code is linked to a product by the first rule that applies:

1. ``system_of_record``  a SKU of a system of record (an ERP's material master) is a product. With
                         several systems of record, the first (by source name) names products; a
                         SKU of another is linked to a product by the rules below when the evidence
                         says so, and otherwise is a product of its own (``<system>:<sku>``).
2. ``gtin``              a valid GTIN equal to a product's GTIN (barcodes are globally unique).
3. ``purchase_order``    a supplier part number that purchase order lines give beside a SKU.
4. ``fuzzy``             no deterministic link: the product whose wordings (every name the systems
                         of record have used) match best, found without brand or size, compared
                         with respect for model numbers and quantities, scored by a model trained
                         on the labels the one-to-one constraint implies and a steward's labels
                         (see product_similarity.py); one code of a catalogue per product.

Codes no rule links become products of their own (``<code_type>:<code>``), so every code resolves
and nothing is silently dropped; the evidence column says why each link was made or not. A feed
that has never delivered is an empty frame: the cross-reference builds from whichever feeds exist.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import pandas as pd

from hub_platform.defs.curated import product_similarity as similarity
from hub_platform.defs.review.accuracy import latest_labels

CODE_TYPES = ("sku", "gtin", "web_product_id", "store_item_code", "supplier_part_no")
MATCH_RULES = ("system_of_record", "gtin", "purchase_order", "fuzzy", "unmatched")
XREF_COLUMNS = ["code_type", "system", "code", "product_id", "match_rule", "match_score", "evidence", "sources"]
PAIR_COLUMNS = ["left_id", "right_id", "match_probability", "threshold", "linked", "evidence", "left_record", "right_record"]
REVIEW_DOMAIN = "product"

# what each product-bearing feed brings, and the columns it is read with (absent feeds are empty)
FEED_COLUMNS = {
    "erp_products": ["sku", "gtin", "product_name", "brand", "category", "size", "_source"],
    "erp_products_history": ["sku", "product_name", "brand", "category", "size", "_source"],
    "web_catalog": ["web_product_id", "title", "brand", "size", "category", "gtin", "price", "_source"],
    "pos_transactions": ["item_code", "gtin", "item_description", "currency", "unit_price", "_source"],
    "erp_purchase_orders": ["sku", "supplier_part_no", "_source"],
    "erp_prices": ["sku", "currency", "price"],
}


def empty(feed: str) -> pd.DataFrame:
    """The frame of a feed that has never delivered."""
    return pd.DataFrame({column: pd.Series(dtype=object) for column in FEED_COLUMNS[feed]})


@dataclass
class ProductFeeds:
    """The product-bearing clean feeds as pandas frames (columns as in :data:`FEED_COLUMNS`)."""

    erp_products: pd.DataFrame = field(default_factory=lambda: empty("erp_products"))
    erp_products_history: pd.DataFrame = field(default_factory=lambda: empty("erp_products_history"))
    web_catalog: pd.DataFrame = field(default_factory=lambda: empty("web_catalog"))
    pos_transactions: pd.DataFrame = field(default_factory=lambda: empty("pos_transactions"))
    erp_purchase_orders: pd.DataFrame = field(default_factory=lambda: empty("erp_purchase_orders"))
    erp_prices: pd.DataFrame = field(default_factory=lambda: empty("erp_prices"))


@dataclass
class Linking:
    """The cross-reference (one row per code) and the scored fuzzy pairs (for the review queue)."""

    xref: pd.DataFrame
    pairs: pd.DataFrame
    methods: dict[str, str]


def till_items(pos_lines: pd.DataFrame) -> pd.DataFrame:
    """One record per store item code: its GTIN, description, prices seen and the tills that use it."""
    if pos_lines.empty:
        return pd.DataFrame(columns=["item_code", "gtin", "item_description", "prices", "sources"])
    lines = pos_lines.assign(unit_price=pd.to_numeric(pos_lines.unit_price, errors="coerce").astype(float))
    grouped = lines.groupby("item_code", sort=True)
    return pd.DataFrame({
        "gtin": grouped.gtin.max(), "item_description": grouped.item_description.max(),
        "prices": grouped.unit_price.agg(lambda p: sorted(set(p.dropna().round(2)))),
        "sources": grouped._source.agg(lambda s: sorted(set(s))),
    }).reset_index()


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
    list_prices = (feeds.erp_prices.assign(price=pd.to_numeric(feeds.erp_prices.price, errors="coerce").astype(float))
                   .groupby("sku").price.agg(lambda p: sorted(set(p.dropna().round(2)))).to_dict())
    history = pd.concat([feeds.erp_products_history, feeds.erp_products[FEED_COLUMNS["erp_products_history"]]])

    systems = sorted(feeds.erp_products._source.dropna().unique())
    primary = systems[0] if systems else None
    erp = feeds.erp_products.sort_values(["_source", "sku"]).drop_duplicates(["_source", "sku"])
    for sku, gtin, source in zip(erp.sku, erp.gtin, erp._source, strict=True):
        if source == primary:
            rows.append(_row("sku", source, sku, sku, "system_of_record", 1.0, f"{source} material master", [source]))
            if _present(gtin):
                products.by_gtin.setdefault(gtin, sku)
    for version in history[history._source == primary].itertuples():
        products.add_wording(version.sku, name=version.product_name, brand=version.brand, category=version.category,
                             size=version.size, prices=list_prices.get(version.sku, []))

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

    # other systems of record: their SKUs join the products they name, or are products of their own
    for system in systems[1:]:
        own_skus = erp[erp._source == system]

        def own_sku(record, reason, system=system):
            product = f"{system}:{record.code}"
            rows.append(_row("sku", system, record.code, product, "system_of_record", 1.0,
                             f"{system} material master; names no product of {primary}: {reason}", [system]))
            return product

        catalogue_pass("sku", system, own_skus.assign(
            code=own_skus.sku, name=own_skus.product_name, sources=[[system]] * len(own_skus),
            prices=[list_prices.get(s, []) for s in own_skus.sku]), own_sku)
        product_of = {r["code"]: r["product_id"] for r in rows if r["code_type"] == "sku" and r["system"] == system}
        for version in history[history._source == system].itertuples():
            products.add_wording(product_of[version.sku], name=version.product_name, brand=version.brand,
                                 category=version.category, size=version.size, prices=list_prices.get(version.sku, []))

    def unmatched(code_type, system):
        def own(record, reason):
            rows.append(_row(code_type, system, record.code, f"{code_type}:{record.code}", "unmatched", None, reason, record.sources))
            return f"{code_type}:{record.code}"
        return own

    web = feeds.web_catalog
    for source in sorted(web._source.dropna().unique()):
        shop = web[web._source == source]
        catalogue_pass("web_product_id", source, shop.assign(
            code=shop.web_product_id, name=shop.title, sources=[[source]] * len(shop),
            prices=[[float(p)] if _present(p) else [] for p in shop.price]).drop_duplicates("code"), unmatched("web_product_id", source))
    items = till_items(feeds.pos_transactions)
    if not items.empty:
        catalogue_pass("store_item_code", "pos", items.assign(code=items.item_code, name=items.item_description),
                       unmatched("store_item_code", "pos"))

    rows += _gtin_rows(feeds, products.by_gtin)
    rows += _part_rows(feeds.erp_purchase_orders, rows)
    xref = pd.DataFrame(rows, columns=XREF_COLUMNS)
    pair_frame = pd.concat(pairs, ignore_index=True) if pairs else pd.DataFrame(columns=PAIR_COLUMNS)
    return Linking(xref, pair_frame.astype({"match_probability": float, "threshold": float, "linked": bool}), methods)


def _gtin_rows(feeds: ProductFeeds, by_gtin: dict[str, str]) -> list[dict]:
    """Every GTIN any system carries, as a code of the product that carries it (or its own)."""
    carried = pd.concat([feeds.erp_products[["gtin", "_source"]], feeds.web_catalog[["gtin", "_source"]],
                         feeds.pos_transactions[["gtin", "_source"]].drop_duplicates()])
    carried = carried[carried.gtin.map(_present).astype(bool)]
    out = []
    for gtin, group in carried.groupby("gtin", sort=True):
        product = by_gtin.get(gtin)
        if product is None:
            out.append(_row("gtin", "gs1", gtin, f"gtin:{gtin}", "unmatched", None, "no product carries this barcode", group._source))
        else:
            out.append(_row("gtin", "gs1", gtin, product, "gtin", 1.0, f"barcode of {product}", group._source))
    return out


def _part_rows(purchase_orders: pd.DataFrame, rows: list[dict]) -> list[dict]:
    """Supplier part numbers, linked to the SKU purchase order lines give beside them."""
    product_of_sku: dict[str, str] = {}
    for row in rows:  # the first system of record's SKUs come first: they win over an equal code of another
        if row["code_type"] == "sku":
            product_of_sku.setdefault(row["code"], row["product_id"])
    parts = purchase_orders[purchase_orders.supplier_part_no.map(_present).astype(bool)]
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
