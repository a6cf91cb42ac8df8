"""Sites, suppliers and vehicles: the supply chain's places and partners in one model.

A location is anything goods stand at or travel to: the ERP's DCs, stores and plants, every B2B
customer's drop point (from the ship-to coordinates on its orders) and one virtual location for the
web shop, so that sales of all channels can be put on a map and summed by place.
"""

from __future__ import annotations

from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

from hub_platform.defs.curated.keys import surrogate_key

ONLINE = "ONLINE"
ONLINE_TIMEZONE = "Europe/London"  # the web shop's home: online sales days are London days


def drop_point_id(account: F.Column) -> F.Column:
    return F.concat(F.lit("DROP-"), account)


def locations(sites: DataFrame, b2b_orders: DataFrame) -> DataFrame:
    """location_key, location_id, location_name, location_type (dc|store|plant|customer_drop|online),
    country, latitude, longitude, timezone, parent_location_id (the depot serving a drop point)."""
    erp = sites.select(
        "location_id", "location_name", "location_type", "country", "latitude", "longitude", "timezone",
        F.lit(None).cast("string").alias("parent_location_id"),
    )
    latest_order = Window.partitionBy("customer_account").orderBy(F.desc("order_ts"), F.desc("order_id"))
    drops = (
        b2b_orders.withColumn("_rank", F.row_number().over(latest_order))
        .where("_rank = 1")
        .join(sites.select(F.col("location_id").alias("depot_id"), "country", "timezone"), "depot_id", "left")
        .select(
            drop_point_id(F.col("customer_account")).alias("location_id"),
            F.coalesce("ship_to_name", "customer_account").alias("location_name"),
            F.lit("customer_drop").alias("location_type"),
            "country",
            F.col("ship_to_lat").alias("latitude"),
            F.col("ship_to_lon").alias("longitude"),
            "timezone",
            F.col("depot_id").alias("parent_location_id"),
        )
    )
    online = sites.sparkSession.createDataFrame(
        [(ONLINE, "Web and app shop", "online", "GB", None, None, ONLINE_TIMEZONE, None)],
        "location_id string, location_name string, location_type string, country string, latitude double, "
        "longitude double, timezone string, parent_location_id string",
    )
    every = erp.unionByName(drops).unionByName(online)
    return every.select(surrogate_key("location", "location_id").alias("location_key"), *every.columns)


def suppliers(erp_suppliers: DataFrame) -> DataFrame:
    """supplier_key, supplier_id, supplier_name, country, lead_time_days (contractual), contact_email."""
    return erp_suppliers.select(
        surrogate_key("supplier", "supplier_id").alias("supplier_key"),
        "supplier_id", "supplier_name", "country", "lead_time_days", "contact_email",
    )


def vehicles(fleet: DataFrame) -> DataFrame:
    """vehicle_key, vehicle_id, depot_id, depot_location_key, capacity_units, driver_id, driver_name."""
    return fleet.select(
        surrogate_key("vehicle", "vehicle_id").alias("vehicle_key"),
        "vehicle_id",
        "depot_id",
        surrogate_key("location", "depot_id").alias("depot_location_key"),
        "capacity_units",
        "driver_id",
        "driver_name",
    )
