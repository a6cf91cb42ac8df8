"""The product master (type-2 history of its attributes) and effective-dated prices.

Survivorship, attribute by attribute, for a product the matching linked across systems:

| attribute | chosen from | why |
|---|---|---|
| product_name, brand, category, size, lifecycle, supplier_id, unit_weight_kg | the ERP | the system of record for what is sold and bought; its changes are versioned |
| gtin | the ERP's when present, else the GTIN other systems carry for the product | tills and the web shop scan real barcodes the ERP may lack |
| web_title | the web catalogue | how customers see the product online |
| everything, for a product no ERP record exists for | the web catalogue, else the wording a till or a purchase/shipment line gives it | better a described product than a missing one |
| everything, for a product two systems of record hold | the first system of record (contract ``precedence``) | one timeline of versions per product |

History: an attribute change in a monthly ERP extract opens a new version (``valid_from`` = the
ERP's ``updated_at``); the previous version closes at that instant; ``is_current`` marks the open one.
"""

from __future__ import annotations

from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

from hub_platform.defs.curated.quarantine import unmatched
from hub_platform.defs.curated.scd2 import effective_versions

VERSIONED = ["product_name", "brand", "category", "size", "lifecycle", "supplier_id", "unit_weight_kg", "erp_gtin"]


def _linked(xref: DataFrame, code_type: str) -> DataFrame:
    return xref.where(F.col("code_type") == code_type).select("code", "product_id", "product_key")


def product_dimension(erp_versions: DataFrame, web_catalog: DataFrame, named_items: DataFrame, xref: DataFrame) -> DataFrame:
    """product_key, product_id, sku, gtin, gtin_source, product_name, brand, category, size,
    lifecycle, supplier_id, unit_weight_kg, web_title, master_source, valid_from, valid_to, is_current.

    ``named_items``: code_type, code, description, first_seen, master_source — codes other systems
    name products by with their wording (till item codes, purchase and shipment lines' items), for
    products no master describes.
    """
    versions = effective_versions(
        erp_versions.withColumnRenamed("gtin", "erp_gtin"), ["sku"], VERSIONED, "updated_at", tie_breaker="_received_at"
    )
    carried_gtin = (
        xref.where(F.col("code_type") == "gtin").groupBy("product_id").agg(F.min("code").alias("carried_gtin"))
    )
    web = web_catalog.join(_linked(xref, "web_product_id"), F.col("web_product_id") == F.col("code")).select(
        "product_id", "product_key", F.col("title").alias("web_title"), F.col("brand").alias("web_brand"),
        F.col("category").alias("web_category"), F.col("size").alias("web_size"), F.col("_received_at").alias("web_seen"),
    )
    every_master = versions.join(_linked(xref, "sku"), F.col("sku") == F.col("code")).drop("code").select(
        "product_key", "product_id", "sku", "erp_gtin", *[c for c in VERSIONED if c != "erp_gtin"],
        F.lit("erp").alias("master_source"), "valid_from", "valid_to", "is_current",
    )
    # a product two systems of record hold keeps the versions of the one whose SKU is its id (the first)
    own = every_master.where(F.col("sku") == F.col("product_id"))
    erp = own.unionByName(every_master.where(F.col("sku") != F.col("product_id")).join(
        own.select("product_id").distinct(), "product_id", "left_anti"))
    web_only = web.join(erp.select("product_id").distinct(), "product_id", "left_anti").select(
        "product_key", "product_id", F.lit(None).cast("string").alias("sku"), F.lit(None).cast("string").alias("erp_gtin"),
        F.col("web_title").alias("product_name"), F.col("web_brand").alias("brand"), F.col("web_category").alias("category"),
        F.col("web_size").alias("size"), F.lit(None).cast("string").alias("lifecycle"),
        F.lit(None).cast("string").alias("supplier_id"), F.lit(None).cast(erp_versions.schema["unit_weight_kg"].dataType).alias("unit_weight_kg"),
        F.lit("web").alias("master_source"), F.col("web_seen").alias("valid_from"),
        F.lit(None).cast("timestamp").alias("valid_to"), F.lit(True).alias("is_current"),
    )
    described = erp.select("product_id").unionByName(web_only.select("product_id")).distinct()
    linked = xref.select("code_type", "code", "product_id", "product_key")
    # one row per product named only by other systems: the earliest-seen wording describes it
    first_named = Window.partitionBy("product_id").orderBy("first_seen", "code_type", "code")
    named_only = named_items.join(linked, ["code_type", "code"]).join(described, "product_id", "left_anti").withColumn(
        "_rank", F.row_number().over(first_named)).where("_rank = 1").select(
        "product_key", "product_id", F.lit(None).cast("string").alias("sku"), F.lit(None).cast("string").alias("erp_gtin"),
        F.col("description").alias("product_name"), *[F.lit(None).cast("string").alias(c) for c in ("brand", "category", "size", "lifecycle", "supplier_id")],
        F.lit(None).cast(erp_versions.schema["unit_weight_kg"].dataType).alias("unit_weight_kg"),
        "master_source", F.col("first_seen").alias("valid_from"),
        F.lit(None).cast("timestamp").alias("valid_to"), F.lit(True).alias("is_current"),
    )
    every = erp.unionByName(web_only).unionByName(named_only)
    # two web ids may name one product (both carry its GTIN): one title, so versions are not repeated
    web_title = web.groupBy("product_id").agg(F.min("web_title").alias("web_title"))
    return every.join(carried_gtin, "product_id", "left").join(web_title, "product_id", "left").select(
        "product_key", "product_id", "sku",
        F.coalesce("erp_gtin", "carried_gtin").alias("gtin"),
        F.when(F.col("erp_gtin").isNotNull(), "erp").when(F.col("carried_gtin").isNotNull(), "scanned").alias("gtin_source"),
        "product_name", "brand", "category", "size", "lifecycle", "supplier_id", "unit_weight_kg", "web_title",
        "master_source", "valid_from", "valid_to", "is_current",
    )


def price_dimension(list_prices: DataFrame, xref: DataFrame) -> tuple[DataFrame, DataFrame]:
    """(prices, unknown_skus). prices: product_key, product_id, currency, price, valid_from, valid_to,
    is_current (one row per price version; a re-announced unchanged price is not a new version).
    unknown_skus: price-list rows for a SKU the product master does not know, with rule and reason."""
    skus = _linked(xref, "sku").withColumnRenamed("code", "sku")
    versions = effective_versions(list_prices, ["sku", "currency"], ["price"], "valid_from", tie_breaker="_received_at")
    unknown = unmatched(list_prices, skus, "sku", "unknown_sku", F.concat(
        F.lit("price for SKU '"), F.coalesce(F.col("sku"), F.lit("(none)")), F.lit("', which the ERP product master does not hold")))
    return versions.join(skus, "sku").select(
        "product_key", "product_id", "currency", "price", "valid_from", "valid_to", "is_current",
    ), unknown


def product_key_of(xref: DataFrame, frame: DataFrame, code_type: str, code_column: str) -> DataFrame:
    """``frame`` with the product_key and product_id of the code in ``code_column``."""
    return frame.join(_linked(xref, code_type).withColumnRenamed("code", code_column), code_column, "left")
