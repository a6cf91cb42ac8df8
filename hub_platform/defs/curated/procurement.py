"""Purchase orders and suppliers from every source that states what was bought from whom.

Two entities say it: ``purchase_order_line`` (an ERP's procurement module) and ``shipment_line``
(extracts of programmes and forwarders, where each line is a delivery of ordered goods). Both become
purchase-order lines in one model. A line names its supplier by id where its source has a supplier
master, else by name; its product by SKU, GTIN or supplier part number, else by its wording. Nothing
is dropped for naming things its own way:

- a supplier is the master's with that id; else the master's whose folded name (case, punctuation
  and legal-form words such as Ltd or GmbH ignored) equals the line's; else it is created
  (``origin = created``, id ``<namespace>:<folded-name>``), without a lead time;
- a product is what the cross-reference links the line's code to; a wording no rule links is a
  product of its own (code type ``source_item``), listed in curated/product with its source.

Shipment lines say when goods were due (the scheduled day) and when they arrived: those are the
expected and received days of the order line, and a delivered line received its quantity.
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from hub_platform.defs.curated.keys import surrogate_key

# legal-form words that do not tell two suppliers apart ("Orgenics, Ltd" is "orgenics")
LEGAL_FORMS = ("ltd", "limited", "inc", "incorporated", "llc", "plc", "gmbh", "ag", "sa", "sas", "bv", "nv", "co",
               "corp", "corporation", "company", "pvt", "pty", "srl", "spa", "kg", "the")
LINE_COLUMNS = ["_source", "_namespace", "_file_checksum", "_row_number", "_received_at", "line_kind", "po_id", "line_no", "shipment_id",
                "supplier_id", "supplier_name", "sku", "supplier_part_no", "gtin", "product_name", "brand", "qty",
                "unit_price", "currency", "order_date", "expected_date", "received_date", "received_qty",
                "product_code_type", "product_code"]


def procurement_lines(po_lines: DataFrame, shipment_lines: DataFrame) -> DataFrame:
    """Lines of both entities in one shape (LINE_COLUMNS), each with the code it names its product by."""
    null = F.lit(None).cast("string")
    orders = po_lines.select(
        "_source", "_namespace", "_file_checksum", "_row_number", "_received_at", F.lit("purchase_order").alias("line_kind"), "po_id",
        "line_no", null.alias("shipment_id"), "supplier_id", "supplier_name", "sku", "supplier_part_no", "gtin",
        "product_name", null.alias("brand"), "qty", F.col("unit_price").cast("double").alias("unit_price"), "currency",
        "order_date", "expected_date", "received_date", "received_qty",
    )
    delivered = shipment_lines.select(
        "_source", "_namespace", "_file_checksum", "_row_number", "_received_at", F.lit("shipment").alias("line_kind"),
        F.coalesce("po_id", "shipment_id").alias("po_id"), "line_no", "shipment_id", "supplier_id", "supplier_name", "sku",
        null.alias("supplier_part_no"), "gtin", "product_name", "brand", "qty",
        F.when(F.col("qty") > 0, F.col("line_value") / F.col("qty")).alias("unit_price"), "currency",
        F.col("ordered_date").alias("order_date"), F.col("scheduled_date").alias("expected_date"),
        F.col("delivered_date").alias("received_date"), F.when(F.col("delivered_date").isNotNull(), F.col("qty")).alias("received_qty"),
    )
    lines = orders.unionByName(delivered)
    code_type = (F.when(F.col("sku").isNotNull(), F.lit("sku")).when(F.col("gtin").isNotNull(), F.lit("gtin"))
                 .when(F.col("supplier_part_no").isNotNull(), F.lit("supplier_part_no"))
                 .when(F.col("product_name").isNotNull(), F.lit("source_item")))
    code = F.coalesce("sku", "gtin", "supplier_part_no", source_item_code(F.col("_namespace"), F.col("product_name")))
    return lines.withColumn("product_code_type", code_type).withColumn("product_code", code).select(*LINE_COLUMNS)


def source_item_code(namespace: Column, wording: Column) -> Column:
    """The code of a product a source names only by its wording: ``<namespace>:<wording folded>``."""
    folded = F.trim(F.regexp_replace(F.lower(wording), r"\s+", " "))
    return F.when(folded != "", F.concat(namespace, F.lit(":"), folded))


def supplier_name_key(name: Column) -> Column:
    """A supplier's name folded for matching: lower case, punctuation and legal-form words gone."""
    words = F.split(F.trim(F.regexp_replace(F.lower(name), r"[^\p{L}\p{N}]+", " ")), " ")
    kept = F.filter(words, lambda w: (F.length(w) > 0) & ~w.isin(*LEGAL_FORMS))
    return F.when(F.size(kept) > 0, F.array_join(kept, " "))


def _created_id(namespace: Column, name_key: Column) -> Column:
    return F.concat(namespace, F.lit(":"), F.regexp_replace(name_key, " ", "-"))


def suppliers(master: DataFrame, lines: DataFrame) -> DataFrame:
    """supplier_key, supplier_id, supplier_name, country, lead_time_days (contractual), contact_email,
    origin (master | created), source.

    ``master``: the supplier entity. ``lines``: procurement_lines(). A supplier a line names that no
    master holds — by id, else by folded name — is created, so every line has a supplier and none is guessed.
    """
    known = master.select(
        "supplier_id", "supplier_name", "country", "lead_time_days", "contact_email",
        F.lit("master").alias("origin"), F.col("_source").alias("source"))
    names = known.select(supplier_name_key(F.col("supplier_name")).alias("name_key")).where("name_key is not null")
    by_id = lines.where(F.col("supplier_id").isNotNull()).join(known.select("supplier_id"), "supplier_id", "left_anti")
    by_name = (lines.where(F.col("supplier_id").isNull())
               .withColumn("name_key", supplier_name_key(F.col("supplier_name"))).where("name_key is not null")
               .join(names, "name_key", "left_anti")
               .withColumn("supplier_id", _created_id(F.col("_namespace"), F.col("name_key"))))
    created = (by_id.select("supplier_id", "supplier_name", "_source").unionByName(by_name.select("supplier_id", "supplier_name", "_source"))
               .groupBy("supplier_id").agg(F.min("supplier_name").alias("supplier_name"), F.min("_source").alias("source"))
               .select("supplier_id", "supplier_name", F.lit(None).cast("string").alias("country"),
                       F.lit(None).cast(master.schema["lead_time_days"].dataType).alias("lead_time_days"),
                       F.lit(None).cast("string").alias("contact_email"), F.lit("created").alias("origin"), "source"))
    every = known.unionByName(created)
    return every.select(surrogate_key("supplier", "supplier_id").alias("supplier_key"), *every.columns)


def supplier_of(lines: DataFrame, known: DataFrame) -> DataFrame:
    """``lines`` with the supplier_key and supplier_id their supplier id, else their supplier's name, resolves to."""
    ids = known.select(F.col("supplier_id").alias("_by_id"), F.col("supplier_key").alias("_key_by_id"))
    first = Window.partitionBy("_name_key").orderBy(F.col("origin") != "master", "supplier_id")
    names = (known.withColumn("_name_key", supplier_name_key(F.col("supplier_name")))
             .where(F.col("_name_key").isNotNull()).withColumn("_rank", F.row_number().over(first)).where("_rank = 1")
             .select("_name_key", F.col("supplier_key").alias("_key_by_name"), F.col("supplier_id").alias("_id_by_name")))
    keyed = (lines.withColumn("_name_key", F.when(F.col("supplier_id").isNull(), supplier_name_key(F.col("supplier_name"))))
             .join(ids, F.col("supplier_id") == F.col("_by_id"), "left").join(names, "_name_key", "left"))
    return (keyed.withColumn("supplier_key", F.coalesce("_key_by_id", "_key_by_name"))
            .withColumn("supplier_id", F.coalesce("supplier_id", "_id_by_name"))
            .drop("_by_id", "_key_by_id", "_key_by_name", "_id_by_name", "_name_key"))


def purchase_orders(lines: DataFrame, xref: DataFrame, known_suppliers: DataFrame) -> DataFrame:
    """source, po_id, line_no, line_kind (purchase_order | shipment), shipment_id, supplier_key,
    supplier_id, product_key, product_id, supplier_part_no, qty, order_date, expected_date,
    received_date, received_qty, is_open, lead_time_days (observed), on_time (received by the
    expected date), fill_rate (received / ordered)."""
    codes = xref.select(F.col("code_type").alias("product_code_type"), F.col("code").alias("product_code"), "product_id", "product_key")
    with_product = lines.join(codes, ["product_code_type", "product_code"], "left")
    return supplier_of(with_product, known_suppliers).select(
        F.col("_source").alias("source"), "po_id", "line_no", "line_kind", "shipment_id", "supplier_key", "supplier_id",
        "product_key", "product_id", "supplier_part_no", "qty", "order_date", "expected_date", "received_date", "received_qty",
        F.col("received_date").isNull().alias("is_open"),
        F.datediff("received_date", "order_date").alias("lead_time_days"),
        F.when(F.col("received_date").isNotNull(), F.col("received_date") <= F.col("expected_date")).alias("on_time"),
        F.when(F.col("received_qty").isNotNull() & (F.col("qty") > 0), F.round(F.col("received_qty") / F.col("qty"), 4)).alias("fill_rate"),
    )
