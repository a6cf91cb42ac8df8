"""Sales orders from every channel in one model, and daily sales.

Three systems sell: the ERP (B2B orders delivered by the own fleet), the web and app shop (online
orders shipped by carriers) and the tills (store baskets). Each becomes an order header and order
lines with a ``channel`` column (b2b | online | store), product keys from the cross-reference (so a
web id and a till item code that name the same product sum together), the location that fulfils it,
and a reference to the customer as the source knows them (``customer_ref_type`` account | app_user |
loyalty), which the customer-360 resolves to a person.

Every source of a channel's entity is read (a second POS is one more contract), and order keys hold
the id space of the source (contract ``namespace``): two tills that number their baskets alike give
two orders, never one merged basket.

Sales days are local days at the fulfilling location: a basket at 00:30 in Berlin belongs to that
Berlin day, not to the previous UTC day.
"""

from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from hub_platform.defs.curated.keys import surrogate_key
from hub_platform.defs.curated.master_data import ONLINE, drop_point_id
from hub_platform.defs.curated.quarantine import unmatched
from hub_platform.sources.reference import COUNTRY_TIMEZONES

CHANNELS = ("b2b", "online", "store")
# online deliveries are promised for a day; carriers deliver between these local hours
ONLINE_WINDOW_HOURS = (8, 20)

_ORDER_COLUMNS = [
    "order_key", "order_id", "channel", "source", "customer_ref_type", "customer_ref", "location_id", "ship_to_location_id",
    "ordered_at", "promised_start", "promised_end", "ship_to_lat", "ship_to_lon", "ship_postcode", "ship_country",
]
_LINE_COLUMNS = ["order_id", "line_no", "channel", "product_code_type", "product_code", "qty", "unit_price", "currency", "ordered_at", "location_id"]


def _local_instant(day: F.Column, hour: int, timezone: F.Column) -> F.Column:
    """``day`` at ``hour`` o'clock in ``timezone``, as a UTC instant."""
    return F.to_utc_timestamp(F.to_timestamp(F.concat(day.cast("string"), F.lit(f" {hour:02d}:00:00"))), timezone)


def _country_timezone(country: F.Column) -> F.Column:
    return F.coalesce(F.create_map(*[F.lit(x) for kv in COUNTRY_TIMEZONES.items() for x in kv])[country], F.lit("UTC"))


def _order_key() -> F.Column:
    """An order's key: its channel, the id space of its source and its id, so two tills' equal
    transaction numbers are two baskets."""
    return surrogate_key("order", "channel", "_namespace", "order_id")


def sales_orders(
    b2b_orders: DataFrame,
    b2b_lines: DataFrame,
    web_order_lines: DataFrame,
    pos_lines: DataFrame,
    xref: DataFrame,
    locations: DataFrame,
) -> tuple[DataFrame, DataFrame, DataFrame]:
    """(orders, lines, orphan_lines) of all channels.

    orders: order_key, order_id, channel, source, customer_ref_type, customer_ref, location_key,
    location_id, ship_to_location_id, ordered_at, promised_start, promised_end, ship_to_lat,
    ship_to_lon, ship_postcode, ship_country, currency, units, order_value, line_count.
    lines: order_key, order_id, line_no, channel, product_key, product_id, product_code_type,
    product_code, qty, unit_price, currency, line_amount, ordered_at, sales_date, location_key, location_id.
    orphan_lines: ERP order lines whose order header the clean zone does not hold (quarantined or not
    delivered yet), as clean rows with rule and reason.
    """
    null_text = F.lit(None).cast("string")
    null_number = F.lit(None).cast("double")
    b2b = b2b_orders.select(
        "_namespace", F.col("order_id"), F.lit("b2b").alias("channel"), F.col("_source").alias("source"),
        F.lit("account").alias("customer_ref_type"), F.col("customer_account").alias("customer_ref"),
        F.col("depot_id").alias("location_id"), drop_point_id(F.col("customer_account")).alias("ship_to_location_id"),
        F.col("order_ts").alias("ordered_at"), "promised_start", "promised_end", F.col("ship_to_lat"), F.col("ship_to_lon"),
        null_text.alias("ship_postcode"), null_text.alias("ship_country"),
    )
    online = web_order_lines.groupBy("_namespace", "order_id").agg(
        F.first("_source").alias("source"), F.first("user_id").alias("customer_ref"), F.min("order_ts").alias("ordered_at"),
        F.first("promised_date").alias("promised_date"), F.first("ship_postcode").alias("ship_postcode"),
        F.first("ship_country").alias("ship_country"),
    ).select(
        "_namespace", "order_id", F.lit("online").alias("channel"), "source", F.lit("app_user").alias("customer_ref_type"), "customer_ref",
        F.lit(ONLINE).alias("location_id"), null_text.alias("ship_to_location_id"), "ordered_at",
        *[_local_instant(F.col("promised_date"), hour, _country_timezone(F.col("ship_country"))).alias(name)
          for name, hour in zip(("promised_start", "promised_end"), ONLINE_WINDOW_HOURS, strict=True)],
        null_number.alias("ship_to_lat"), null_number.alias("ship_to_lon"), "ship_postcode", "ship_country",
    )
    baskets = pos_lines.groupBy("_namespace", "transaction_id").agg(
        F.first("_source").alias("source"), F.first("loyalty_id", ignorenulls=True).alias("customer_ref"),
        F.min("ts").alias("ordered_at"), F.first("store_id").alias("location_id"),
    ).select(
        "_namespace", F.col("transaction_id").alias("order_id"), F.lit("store").alias("channel"), "source",
        F.when(F.col("customer_ref").isNotNull(), F.lit("loyalty")).alias("customer_ref_type"), "customer_ref",
        "location_id", null_text.alias("ship_to_location_id"), "ordered_at",
        F.lit(None).cast("timestamp").alias("promised_start"), F.lit(None).cast("timestamp").alias("promised_end"),
        null_number.alias("ship_to_lat"), null_number.alias("ship_to_lon"), null_text.alias("ship_postcode"), null_text.alias("ship_country"),
    )
    headers = b2b.unionByName(online).unionByName(baskets).withColumn("order_key", _order_key())

    lines = (
        b2b_lines.join(b2b_orders.select("_namespace", "order_id", F.col("order_ts").alias("ordered_at"),
                                         F.col("depot_id").alias("location_id")), ["_namespace", "order_id"])
        .select("_namespace", "order_id", "line_no", F.lit("b2b").alias("channel"), F.lit("sku").alias("product_code_type"),
                F.col("sku").alias("product_code"), "qty", "unit_price", "currency", "ordered_at", "location_id")
        .unionByName(web_order_lines.select(
            "_namespace", "order_id", "line_no", F.lit("online").alias("channel"), F.lit("web_product_id").alias("product_code_type"),
            F.col("web_product_id").alias("product_code"), "qty", "unit_price", "currency", F.col("order_ts").alias("ordered_at"),
            F.lit(ONLINE).alias("location_id")))
        .unionByName(pos_lines.select(
            "_namespace", F.col("transaction_id").alias("order_id"), "line_no", F.lit("store").alias("channel"),
            F.lit("store_item_code").alias("product_code_type"), F.col("item_code").alias("product_code"), "qty", "unit_price",
            "currency", F.col("ts").alias("ordered_at"), F.col("store_id").alias("location_id")))
        .select("_namespace", *_LINE_COLUMNS)
    )
    codes = xref.select(F.col("code_type").alias("product_code_type"), F.col("code").alias("product_code"), "product_id", "product_key")
    places = locations.select("location_id", "location_key", "timezone")
    lines = (
        lines.join(codes, ["product_code_type", "product_code"], "left")
        .join(places, "location_id", "left")
        .select(
            _order_key().alias("order_key"), "order_id", "line_no", "channel", "product_key",
            "product_id", "product_code_type", "product_code", "qty", "unit_price", "currency",
            (F.col("qty") * F.col("unit_price")).cast("decimal(18,2)").alias("line_amount"), "ordered_at",
            F.to_date(F.from_utc_timestamp("ordered_at", F.coalesce("timezone", F.lit("UTC")))).alias("sales_date"),
            "location_key", "location_id",
        )
    )
    lines = lines.cache()  # the order totals and the lines table both read them
    totals = lines.groupBy("order_key").agg(
        F.first("currency").alias("currency"), F.sum("qty").alias("units"),
        F.sum("line_amount").cast("decimal(18,2)").alias("order_value"), F.count("*").alias("line_count"),
    )
    orders = headers.join(places.drop("timezone"), "location_id", "left").join(totals, "order_key", "left").select(
        *_ORDER_COLUMNS[:6], "location_key", *_ORDER_COLUMNS[6:], "currency", "units", "order_value", "line_count"
    )
    orphans = unmatched(b2b_lines, b2b_orders, ["_namespace", "order_id"], "order_header_missing", F.concat(
        F.lit("line of ERP order '"), F.coalesce(F.col("order_id"), F.lit("(none)")),
        F.lit("', whose header clean/erp_sales_orders does not hold (quarantined or not delivered yet)")))
    return orders, lines, orphans


def daily_sales(lines: DataFrame) -> DataFrame:
    """product_key, product_id, location_key, location_id, sales_date, channel, currency, units,
    revenue, orders, avg_unit_price: one row per product, place, local day, channel and currency
    with sales (days without sales are absent; the forecast fills them with zeros)."""
    return lines.groupBy("product_key", "product_id", "location_key", "location_id", "sales_date", "channel", "currency").agg(
        F.sum("qty").alias("units"),
        F.sum("line_amount").cast("decimal(18,2)").alias("revenue"),
        F.countDistinct("order_key").alias("orders"),
        (F.sum("line_amount") / F.sum("qty")).cast("decimal(12,2)").alias("avg_unit_price"),
    )
