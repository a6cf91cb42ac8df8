"""Stock, production and web interest, keyed to the harmonized products and locations."""

from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from hub_platform.defs.curated.products import product_key_of


def _with_location(frame: DataFrame, locations: DataFrame, column: str) -> DataFrame:
    return frame.join(
        locations.select(F.col("location_id").alias(column), F.col("location_key")), column, "left"
    )


def inventory_positions(snapshots: DataFrame, xref: DataFrame, locations: DataFrame) -> DataFrame:
    """product_key, product_id, location_key, location_id, snapshot_date, on_hand, in_transit,
    inventory_position (on hand + in transit)."""
    keyed = _with_location(product_key_of(xref, snapshots, "sku", "sku"), locations, "location_id")
    return keyed.select(
        "product_key", "product_id", "location_key", "location_id", "snapshot_date", "on_hand",
        F.coalesce("in_transit", F.lit(0)).alias("in_transit"),
        (F.col("on_hand") + F.coalesce("in_transit", F.lit(0))).alias("inventory_position"),
    )


def production_output(shifts: DataFrame, xref: DataFrame, locations: DataFrame) -> DataFrame:
    """plant_location_key, plant_id, line_id, shift_start, product_key, product_id, good_units,
    scrap_units, scrap_rate (scrap share of everything made)."""
    keyed = _with_location(product_key_of(xref, shifts, "sku", "sku"), locations, "plant_id")
    made = F.col("good_units") + F.coalesce("scrap_units", F.lit(0))
    return keyed.select(
        F.col("location_key").alias("plant_location_key"), "plant_id", "line_id", "shift_start", "product_key", "product_id",
        "good_units", "scrap_units",
        F.when(made > 0, F.round(F.coalesce("scrap_units", F.lit(0)) / made, 4)).alias("scrap_rate"),
    )


def web_events(clicks: DataFrame, xref: DataFrame) -> DataFrame:
    """session_id, customer_ref (the app user, null when anonymous), event_type, product_key,
    product_id, event_at."""
    keyed = product_key_of(xref, clicks, "web_product_id", "web_product_id")
    return keyed.select(
        "session_id", F.col("user_id").alias("customer_ref"), "event_type", "product_key", "product_id",
        F.col("ts").alias("event_at"),
    )
