"""Product-360: everything the hub knows about a product, one row per product of the master.

Master attributes and every code it is known by; price now and over time; sales velocity by channel
(and, in :func:`velocity`, by channel and location); web interest from the clickstream; stock on
hand and in transit; the supplier's lead times, contractual and as observed on purchase orders.
"Recent" means the VELOCITY_DAYS days up to the last day the hub has sales for, not the wall clock,
so a rerun on the same data gives the same profile.
"""

from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from hub_platform.defs.curated.planning import VELOCITY_DAYS


def _recent(frame: DataFrame, date_column: str, last_day: F.Column) -> DataFrame:
    return frame.where(F.col(date_column) > F.date_sub(last_day, VELOCITY_DAYS))


def velocity(daily: DataFrame) -> DataFrame:
    """product_key, product_id, channel, location_id, units_recent, units_per_day, revenue_recent
    (VELOCITY_DAYS days up to the last sales day), units_all_time."""
    last_day = daily.agg(F.max("sales_date").alias("last_day"))
    with_last = daily.crossJoin(last_day)
    recent = F.col("sales_date") > F.date_sub("last_day", VELOCITY_DAYS)
    return with_last.groupBy("product_key", "product_id", "channel", "location_id").agg(
        F.sum(F.when(recent, F.col("units")).otherwise(0)).alias("units_recent"),
        F.round(F.sum(F.when(recent, F.col("units")).otherwise(0)) / VELOCITY_DAYS, 3).alias("units_per_day"),
        F.sum(F.when(recent, F.col("revenue"))).cast("decimal(18,2)").alias("revenue_recent"),
        F.sum("units").alias("units_all_time"),
    )


def profile(
    products: DataFrame,
    xref: DataFrame,
    prices: DataFrame,
    by_channel_and_place: DataFrame,
    web: DataFrame,
    positions: DataFrame,
    suppliers: DataFrame,
    purchase_orders: DataFrame,
) -> DataFrame:
    """One row per current product: see the module docstring for what it holds."""
    current = products.where("is_current").drop("valid_from", "valid_to", "is_current")
    codes = xref.groupBy("product_key").agg(
        F.sort_array(F.collect_list(F.concat_ws(":", "code_type", "code"))).alias("codes"),
        F.min(F.when(F.col("match_rule") == "fuzzy", F.col("match_score"))).alias("weakest_fuzzy_match"),
    )
    price = prices.groupBy("product_key").agg(
        F.max(F.when(F.col("is_current") & (F.col("currency") == "GBP"), F.col("price"))).alias("price_gbp"),
        F.max(F.when(F.col("is_current") & (F.col("currency") == "EUR"), F.col("price"))).alias("price_eur"),
        F.count("*").alias("price_versions"),
        F.min(F.when(F.col("currency") == "GBP", F.col("price"))).alias("lowest_price_gbp"),
        F.max(F.when(F.col("currency") == "GBP", F.col("price"))).alias("highest_price_gbp"),
    )
    sales = by_channel_and_place.groupBy("product_key").pivot("channel", ["store", "online", "b2b"]).agg(
        F.round(F.sum("units_per_day"), 3)
    )
    sales = sales.select("product_key", *[F.col(c).alias(f"units_per_day_{c}") for c in ("store", "online", "b2b")])
    totals = by_channel_and_place.groupBy("product_key").agg(
        F.sum("units_all_time").alias("units_sold_all_time"),
        F.countDistinct(F.when(F.col("units_recent") > 0, F.col("location_id"))).alias("locations_selling_recently"),
    )
    last_event = web.agg(F.max(F.to_date("event_at")).alias("last_day"))
    days = web.withColumn("event_day", F.to_date("event_at")).crossJoin(last_event)
    interest = _recent(days, "event_day", F.col("last_day")).groupBy("product_key").agg(
        F.sum((F.col("event_type") == "view").cast("int")).alias("web_views_recent"),
        F.sum((F.col("event_type") == "add_to_cart").cast("int")).alias("web_add_to_cart_recent"),
        F.sum((F.col("event_type") == "purchase").cast("int")).alias("web_purchases_recent"),
    ).withColumn(
        "web_conversion_recent",
        F.when(F.col("web_views_recent") > 0, F.round(F.col("web_purchases_recent") / F.col("web_views_recent"), 4)),
    )
    last_snapshot = positions.agg(F.max("snapshot_date").alias("last_snapshot"))
    stock = positions.crossJoin(last_snapshot).where(F.col("snapshot_date") == F.col("last_snapshot")).groupBy("product_key").agg(
        F.sum("on_hand").alias("on_hand"), F.sum("in_transit").alias("in_transit"), F.max("snapshot_date").alias("stock_as_of")
    )
    supply = purchase_orders.groupBy("supplier_id").agg(
        F.round(F.avg("lead_time_days"), 1).alias("observed_lead_time_days"),
        F.round(F.avg(F.col("on_time").cast("double")), 3).alias("supplier_on_time_rate"),
        F.round(F.avg("fill_rate"), 3).alias("supplier_fill_rate"),
    )
    supplier = suppliers.select(
        "supplier_id", "supplier_name", F.col("lead_time_days").alias("contractual_lead_time_days")
    ).join(supply, "supplier_id", "left")
    return (
        current.join(codes, "product_key", "left")
        .join(price, "product_key", "left")
        .join(sales, "product_key", "left")
        .join(totals, "product_key", "left")
        .join(interest, "product_key", "left")
        .join(stock, "product_key", "left")
        .join(supplier, "supplier_id", "left")
        .fillna(0, subset=[
            "units_per_day_store", "units_per_day_online", "units_per_day_b2b", "units_sold_all_time",
            "locations_selling_recently", "web_views_recent", "web_add_to_cart_recent", "web_purchases_recent",
        ])
    )
