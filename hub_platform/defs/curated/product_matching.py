"""Product matching: which codes in which systems name the same product.

One product is an ERP SKU, a web catalogue id, a GTIN on the tills, a store item code and a supplier
part number. Every code becomes a *code record* (its code, any GTIN it carries, its wording, brand,
size and the prices seen with it) and is linked to an ERP product by the first rule that applies:

1. ``system_of_record``  an ERP SKU is its own product (the ERP is the product master's anchor).
2. ``gtin``              a valid GTIN equal to an ERP product's GTIN (barcodes are globally unique).
3. ``purchase_order``    a supplier part number the ERP's purchase order lines give beside a SKU.
4. ``fuzzy``             no deterministic link: among ERP products of the same brand and pack size,
                         the one whose product wording matches best, where a till's or web shop's
                         abbreviations count as matches (``SPRKL`` abbreviates ``sparkling``);
                         score = Dice coefficient of the wording tokens. Accepted at ``FUZZY_MIN``
                         or above, when one candidate is best; among equally worded candidates a
                         price seen with the code that equals one of the candidate's list prices
                         decides. Anything still tied is left unmatched rather than guessed.

Codes no rule links become products of their own (``<code_type>:<code>``), so every code resolves
and nothing is silently dropped; the evidence column says why each link was made or not. Purchase
and shipment lines that name an item only by its wording bring ``source_item`` codes
(``<namespace>:<wording>``). With several systems of record for products, the first one's SKUs
are the anchors; another one's SKUs (``<namespace>:<sku>``) are linked by the rules like any other
code, and one no rule links is a product of its own (rule ``system_of_record``).
"""

from __future__ import annotations

from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

from hub_platform.defs.curated.keys import surrogate_key

FUZZY_MIN = 0.75
CODE_TYPES = ("sku", "gtin", "web_product_id", "store_item_code", "supplier_part_no", "source_item")

# the wording of a code: folded, punctuation gone, pack-size pieces and the brand removed
_TOKEN_SPLIT = r"[^a-z0-9.]+"


def _folded(column: str) -> F.Column:
    return F.lower(F.regexp_replace(F.col(column), r"[–\-(),/]", " "))


def _size_key(column: str | F.Column) -> F.Column:
    """'6 x 330 ml' and '6X330ML' -> '6x330ml'."""
    column = F.col(column) if isinstance(column, str) else column
    return F.regexp_replace(F.lower(column), r"\s+", "")


def _wording_tokens(text: F.Column, brand_key: F.Column, size_key: F.Column) -> F.Column:
    """Tokens that describe the product: not the brand, not the pack size."""
    tokens = F.split(F.trim(text), _TOKEN_SPLIT)

    def is_brand(t: F.Column) -> F.Column:  # 'northwind' and the till's 'north' both name brand 'north'
        return F.coalesce(t.startswith(brand_key) | brand_key.startswith(t), F.lit(False))

    def is_size(t: F.Column) -> F.Column:  # '6', 'x', '330', 'ml' are pieces of '6x330ml'
        return F.coalesce(F.instr(size_key, t) > 0, F.lit(False)) | t.rlike(r"^[0-9.]+$")

    return F.filter(tokens, lambda t: (F.length(t) > 0) & ~is_brand(t) & ~is_size(t))


def _brand_key(column: str) -> F.Column:
    """The first five letters of a brand: what a till prints ('NORTH' for Northwind)."""
    return F.substring(F.lower(F.regexp_replace(F.col(column), r"[^A-Za-z]", "")), 1, 5)


def _record(
    frame: DataFrame,
    code_type: str,
    code: F.Column,
    *,
    gtin: F.Column | None = None,
    brand_key: F.Column | None = None,
    size_key: F.Column | None = None,
    text: F.Column | None = None,
    prices: F.Column | None = None,
    linked_sku: F.Column | None = None,
    sources: F.Column | None = None,
) -> DataFrame:
    """One code record per row of ``frame``; what a system does not carry is null (or empty)."""
    def text_or_null(column: F.Column | None) -> F.Column:
        return column if column is not None else F.lit(None).cast("string")

    brand, size = text_or_null(brand_key), text_or_null(size_key)
    return frame.select(
        F.lit(code_type).alias("code_type"),
        code.alias("code"),
        text_or_null(gtin).alias("gtin"),
        brand.alias("brand_key"),
        size.alias("size_key"),
        _wording_tokens(text_or_null(text), brand, size).alias("tokens"),
        (prices if prices is not None else F.array().cast("array<string>")).alias("prices"),
        text_or_null(linked_sku).alias("linked_sku"),
        (sources if sources is not None else F.array(F.col("_source"))).alias("sources"),
    )


def _price_text(currency: F.Column, price: F.Column) -> F.Column:
    return F.concat_ws(" ", currency, price.cast("string"))


def code_records(
    erp_products: DataFrame,
    web_catalog: DataFrame,
    pos_lines: DataFrame,
    purchase_orders: DataFrame,
) -> DataFrame:
    """Every code any system uses for a product, with what it carries for matching.

    Columns: code_type, code, gtin, brand_key, size_key, tokens (array), prices (array of
    ``currency price`` strings seen with the code), linked_sku (a SKU a system states outright),
    sources (array of source names that use the code). ``erp_products``: every system of record's
    products, ``_anchor`` (when present) true for the first one's; ``purchase_orders``:
    procurement.procurement_lines().
    """
    # the first system of record's SKUs anchor products; another one's go through the rules below
    anchor = F.col("_anchor") if "_anchor" in erp_products.columns else F.lit(True)
    erp = _record(
        erp_products, "sku", F.col("sku"), gtin=F.col("gtin"), brand_key=_brand_key("brand"),
        size_key=_size_key("size"), text=_folded("product_name"), linked_sku=F.when(anchor, F.col("sku")),
    )
    web = _record(
        web_catalog, "web_product_id", F.col("web_product_id"), gtin=F.col("gtin"), brand_key=_brand_key("brand"),
        size_key=_size_key("size"), text=_folded("title"),
        # the web shop lists its prices in pounds (its catalogue carries no currency of its own)
        prices=F.when(F.col("price").isNotNull(), F.array(_price_text(F.lit("GBP"), F.col("price")))).otherwise(
            F.array().cast("array<string>")
        ),
    )
    items = pos_lines.groupBy("item_code").agg(
        F.max("gtin").alias("gtin"),
        F.lower(F.max("item_description")).alias("description"),
        F.collect_set(_price_text(F.col("currency"), F.col("unit_price"))).alias("prices"),
        F.collect_set("_source").alias("sources"),
    )
    # a till's description starts with the brand and ends with the pack size: NORTH SPRKL WATER 500ML
    words = F.split(F.col("description"), " ")
    tills = _record(
        items, "store_item_code", F.col("item_code"), gtin=F.col("gtin"), brand_key=words.getItem(0),
        size_key=F.element_at(words, -1), text=F.col("description"), prices=F.col("prices"), sources=F.col("sources"),
    )
    carried = erp.select("gtin", "sources").unionByName(web.select("gtin", "sources")).unionByName(tills.select("gtin", "sources")) \
        .unionByName(purchase_orders.select("gtin", F.array(F.col("_source")).alias("sources")))
    gtins = carried.where(F.col("gtin").isNotNull()).groupBy("gtin").agg(
        F.array_distinct(F.flatten(F.collect_list("sources"))).alias("sources")
    )
    gtins = _record(gtins, "gtin", F.col("gtin"), gtin=F.col("gtin"), sources=F.col("sources"))
    parts = (
        purchase_orders.where(F.col("supplier_part_no").isNotNull())
        .groupBy("supplier_part_no")
        .agg(F.max("sku").alias("sku"), F.collect_set("_source").alias("sources"))
    )
    parts = _record(parts, "supplier_part_no", F.col("supplier_part_no"), linked_sku=F.col("sku"), sources=F.col("sources"))
    # items purchase and shipment lines name only by their wording (procurement.source_item_code)
    items = purchase_orders.where(F.col("product_code_type") == "source_item").groupBy("product_code").agg(
        F.lower(F.max("product_name")).alias("description"), F.max("brand").alias("brand"), F.collect_set("_source").alias("sources"))
    named = _record(items, "source_item", F.col("product_code"), brand_key=_brand_key("brand"), text=_folded("description"),
                    sources=F.col("sources"))
    return erp.unionByName(web).unionByName(tills).unionByName(gtins).unionByName(parts).unionByName(named)


def erp_wordings(erp_versions: DataFrame) -> DataFrame:
    """Every wording the ERP has used for each SKU (sku, brand_key, size_key, tokens).

    Other systems keep a product's old name long after the ERP renames it, so a code is compared
    with all of them, not only the current one.
    """
    records = _record(
        erp_versions, "sku", F.col("sku"), brand_key=_brand_key("brand"), size_key=_size_key("size"),
        text=_folded("product_name"),
    )
    return records.select(F.col("code").alias("sku"), "brand_key", "size_key", "tokens").distinct()


def _abbreviates(short: F.Column, long: F.Column) -> F.Column:
    """``short`` equals ``long`` or is an abbreviation of it: same first letter, letters in order."""
    pattern = F.concat(F.lit("^"), F.array_join(F.split(short, ""), ".*"))
    return (short == long) | (
        (F.length(short) >= 3) & (F.substring(short, 1, 1) == F.substring(long, 1, 1)) & F.regexp_like(long, pattern)
    )


def _dice(a: F.Column, b: F.Column) -> F.Column:
    """Dice coefficient of two token lists where an abbreviation counts as a match."""
    matched = F.size(F.filter(a, lambda x: F.exists(b, lambda y: _abbreviates(x, y) | _abbreviates(y, x))))
    total = F.size(a) + F.size(b)
    return F.when(total > 0, 2.0 * matched / total).otherwise(F.lit(0.0))


def link_codes(records: DataFrame, wordings: DataFrame, list_prices: DataFrame) -> DataFrame:
    """Every code record linked to an ERP SKU (or left on its own), with rule, score and evidence.

    ``wordings``: from :func:`erp_wordings`. ``list_prices``: sku, currency, price (every list
    price version the ERP has had). Columns out: code_type, code, sku (null when unmatched),
    match_rule, match_score, evidence, sources.
    """
    records = records.cache()  # every rule below reads the records: aggregate the till lines once
    is_anchor = (F.col("code_type") == "sku") & F.col("linked_sku").isNotNull()
    erp = records.where(is_anchor).select(F.col("code").alias("sku"), F.col("gtin").alias("erp_gtin"))
    others = records.where(~is_anchor)

    by_gtin = (
        others.where(F.col("gtin").isNotNull() & F.col("linked_sku").isNull())
        .join(erp.where(F.col("erp_gtin").isNotNull()), F.col("gtin") == F.col("erp_gtin"))
        .select(
            "code_type", "code", "sku", F.lit("gtin").alias("match_rule"), F.lit(1.0).alias("match_score"),
            F.concat(F.lit("GTIN "), F.col("gtin"), F.lit(" is the ERP's barcode for "), F.col("sku")).alias("evidence"),
        )
    )
    by_statement = others.where(F.col("linked_sku").isNotNull()).select(
        "code_type", "code", F.col("linked_sku").alias("sku"), F.lit("purchase_order").alias("match_rule"),
        F.lit(1.0).alias("match_score"),
        F.concat(F.lit("ERP purchase order lines give it beside "), F.col("linked_sku")).alias("evidence"),
    )
    decided = by_gtin.unionByName(by_statement)

    prices = list_prices.select(
        "sku", F.concat_ws(" ", F.col("currency"), F.col("price").cast("string")).alias("list_price")
    ).groupBy("sku").agg(F.collect_set("list_price").alias("list_prices"))
    undecided = others.join(decided.select("code_type", "code"), ["code_type", "code"], "left_anti").where(
        F.col("brand_key").isNotNull()
    )
    # a system has one code per product: a SKU its GTIN already links to a web id takes no second one
    taken = decided.select("code_type", "sku").distinct()
    erp_words = wordings.select(
        "sku", F.col("brand_key").alias("erp_brand"), F.col("size_key").alias("erp_size"), F.col("tokens").alias("erp_tokens")
    )
    scored = (
        undecided.join(erp_words, (F.col("brand_key") == F.col("erp_brand")) & (F.col("size_key") == F.col("erp_size")))
        .join(taken, ["code_type", "sku"], "left_anti")
        .withColumn("match_score", F.round(_dice(F.col("tokens"), F.col("erp_tokens")), 3))
    )
    best_wording = Window.partitionBy("code_type", "code", "sku").orderBy(F.desc("match_score"))
    candidates = (
        scored.withColumn("_wording_rank", F.row_number().over(best_wording))
        .where("_wording_rank = 1")
        .join(prices, "sku", "left")
        .withColumn("price_agrees", F.size(F.array_intersect("prices", F.coalesce("list_prices", F.array()))) > 0)
        .where(F.col("match_score") >= FUZZY_MIN)
    )
    best_first = Window.partitionBy("code_type", "code").orderBy(F.desc("match_score"), F.desc("price_agrees"), "sku")
    ranked = (
        candidates.withColumn("_rank", F.row_number().over(best_first))
        .withColumn("_next_score", F.lead("match_score").over(best_first))
        .withColumn("_next_price", F.lead("price_agrees").over(best_first))
        .withColumn("_next_sku", F.lead("sku").over(best_first))
        .where("_rank = 1")
    )
    tied = (F.col("_next_score") == F.col("match_score")) & (F.col("_next_price") == F.col("price_agrees"))
    wording = F.concat(
        F.lit("brand '"), F.col("brand_key"), F.lit("', size '"), F.col("size_key"), F.lit("', wording ["),
        F.array_join("tokens", " "), F.lit("] ~ ["), F.array_join("erp_tokens", " "), F.lit("] dice "),
        F.col("match_score").cast("string"),
    )
    fuzzy = ranked.select(
        "code_type",
        "code",
        F.when(~F.coalesce(tied, F.lit(False)), F.col("sku")).alias("sku"),
        F.when(~F.coalesce(tied, F.lit(False)), F.lit("fuzzy")).otherwise(F.lit("unmatched")).alias("match_rule"),
        "match_score",
        F.when(
            F.coalesce(tied, F.lit(False)),
            F.concat(F.lit("ambiguous: "), F.col("sku"), F.lit(" and "), F.col("_next_sku"), F.lit(" fit equally; "), wording),
        )
        .when(F.col("price_agrees") & F.col("_next_score").eqNullSafe(F.col("match_score")),
              F.concat(wording, F.lit("; a price seen with it is a list price of "), F.col("sku")))
        .otherwise(wording)
        .alias("evidence"),
    )
    anchors = erp.select(
        F.lit("sku").alias("code_type"), F.col("sku").alias("code"), "sku", F.lit("system_of_record").alias("match_rule"),
        F.lit(1.0).alias("match_score"), F.lit("ERP material master").alias("evidence"),
    )
    linked = anchors.unionByName(decided).unionByName(fuzzy)
    master = F.col("code_type") == "sku"  # another system of record's product nothing links: a product of its own
    unmatched = others.join(linked.select("code_type", "code"), ["code_type", "code"], "left_anti").select(
        "code_type", "code", F.lit(None).cast("string").alias("sku"),
        F.when(master, F.lit("system_of_record")).otherwise(F.lit("unmatched")).alias("match_rule"),
        F.when(master, F.lit(1.0)).cast("double").alias("match_score"),
        F.when(master, F.lit("a product of another system of record; no GTIN or wording links it to the first one's"))
        .otherwise(F.lit("no GTIN, no ERP statement and no ERP product of the same brand and size worded alike")).alias("evidence"),
    )
    return linked.unionByName(unmatched).join(records.select("code_type", "code", "sources"), ["code_type", "code"])


def product_xref(links: DataFrame) -> DataFrame:
    """The cross-reference table: every code with its product's id and surrogate key.

    A linked code takes its ERP SKU as product id; an unmatched code is a product of its own.
    """
    product_id = F.coalesce(F.col("sku"), F.when(F.col("code_type") == "sku", F.col("code")),
                            F.concat(F.col("code_type"), F.lit(":"), F.col("code")))
    return links.select(
        "code_type",
        "code",
        product_id.alias("product_id"),
        surrogate_key("product", product_id).alias("product_key"),
        "match_rule",
        "match_score",
        "evidence",
        F.array_join(F.array_sort("sources"), ", ").alias("sources"),
    )
