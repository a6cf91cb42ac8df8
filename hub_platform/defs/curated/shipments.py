"""Shipments and their tracking events, in one status vocabulary whatever the carrier.

Each carrier reports in its own codes ('DL', 'delivered', '90'); the mapping table
(sources/reference/carrier_status.csv) says what each means. An event whose code the table does not
know is quarantined with the carrier, the code and the fix (add a row), never guessed or dropped;
once the row exists the next run maps it, because events are recomputed from the clean zone.

Freight shipments come from shipment-line extracts (entity ``shipment_line``): one shipment per
shipment number of a source, with its transport mode in the canonical vocabulary
(sources/reference/shipment_modes.csv: ``Air Charter`` is air, ``Truck`` is road), the day it was
due and the day it arrived. Such extracts say days, not times: ``promised_end`` and ``delivered_at``
are those days at 00:00 UTC, so on time means delivered on or before the scheduled day. A mode the
file does not map keeps its shipment (mode empty, ``mode_text`` as written) and is listed in the
asset's metadata with the fix.
"""

from __future__ import annotations

from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

from hub_platform.defs.curated.keys import surrogate_key


def _shipped(orders: DataFrame) -> DataFrame:
    """The orders carriers ship: online ones (an ERP or till order id may equal a web order id)."""
    return orders.where(F.col("channel") == "online")


def shipment_events(carrier_events: DataFrame, status_map: DataFrame, orders: DataFrame) -> tuple[DataFrame, DataFrame]:
    """(events, unmapped).

    events: shipment_key, tracking_no, carrier, order_id, order_key, status_code, status, event_at,
    lat, lon, location_text. unmapped: carrier, tracking_no, order_id, status_code, event_at, rule,
    reason, plus the lineage of the clean row (_file_checksum, _row_number).
    """
    codes = status_map.select("carrier", "status_code", "status")
    events = carrier_events.withColumn("carrier", F.col("_source")).join(codes, ["carrier", "status_code"], "left")
    known = events.where(F.col("status").isNotNull()).join(
        _shipped(orders).select("order_id", "order_key"), "order_id", "left"
    ).select(
        surrogate_key("shipment", "carrier", "tracking_no").alias("shipment_key"),
        "tracking_no", "carrier", "order_id", "order_key", "status_code", "status",
        F.col("event_ts").alias("event_at"), "lat", "lon", "location_text",
    )
    unmapped = events.where(F.col("status").isNull()).select(
        "carrier", "tracking_no", "order_id", "status_code", F.col("event_ts").alias("event_at"),
        F.lit("unmapped_status").alias("rule"),
        F.concat(
            F.lit("carrier "), F.col("carrier"), F.lit(" reported status code '"), F.col("status_code"),
            F.lit("', which sources/reference/carrier_status.csv does not map; add a row for it"),
        ).alias("reason"),
        "_file_checksum", "_row_number",
    )
    return known, unmapped


def shipments(events: DataFrame, orders: DataFrame) -> DataFrame:
    """One row per carrier shipment: shipment_key, tracking_no, carrier, order_id, order_key, channel,
    first_event_at, last_event_at, status (of the latest event), delivered_at, exceptions,
    promised_end, on_time (delivered by the promised end; null until delivered), kind (parcel),
    mode, mode_text, source, units (empty: carriers report neither)."""
    latest = Window.partitionBy("shipment_key").orderBy(F.desc("event_at"), F.desc("status_code"))
    current = events.withColumn("_rank", F.row_number().over(latest)).where("_rank = 1").select(
        "shipment_key", F.col("status").alias("current_status")
    )
    summary = events.groupBy("shipment_key", "tracking_no", "carrier", "order_id").agg(
        F.min("event_at").alias("first_event_at"),
        F.max("event_at").alias("last_event_at"),
        F.min(F.when(F.col("status") == "delivered", F.col("event_at"))).alias("delivered_at"),
        F.sum((F.col("status") == "exception").cast("int")).alias("exceptions"),
    )
    return summary.join(current, "shipment_key").join(
        _shipped(orders).select("order_id", "order_key", "channel", "promised_end"), "order_id", "left"
    ).select(
        "shipment_key", "tracking_no", "carrier", "order_id", "order_key", "channel", "first_event_at", "last_event_at",
        F.col("current_status").alias("status"), "delivered_at", "exceptions", "promised_end",
        F.when(F.col("delivered_at").isNotNull(), F.col("delivered_at") <= F.col("promised_end")).alias("on_time"),
        F.lit("parcel").alias("kind"), F.lit(None).cast("string").alias("mode"), F.lit(None).cast("string").alias("mode_text"),
        F.col("carrier").alias("source"), F.lit(None).cast("long").alias("units"),
    )


def canonical_modes(lines: DataFrame, modes: DataFrame) -> DataFrame:
    """``lines`` with ``mode`` in the canonical vocabulary (null where ``modes`` does not map the text)
    and ``mode_text`` as the source wrote it. ``modes``: text (folded), mode."""
    aliases = modes.select(F.col("text").alias("_mode_text"), F.col("mode").alias("_mode"))
    return (lines.withColumn("_mode_text", F.lower(F.trim("mode"))).join(F.broadcast(aliases), "_mode_text", "left")
            .withColumn("mode_text", F.col("mode")).withColumn("mode", F.col("_mode")).drop("_mode", "_mode_text"))


def freight_shipments(lines: DataFrame) -> DataFrame:
    """One row per shipment of the shipment-line feeds (lines from :func:`canonical_modes`), in the
    columns of :func:`shipments`: delivered once every line arrived, on time when none arrived after
    the scheduled day."""
    per = lines.groupBy("_namespace", "_source", "shipment_id").agg(
        F.first("carrier", ignorenulls=True).alias("carrier"), F.first("po_id", ignorenulls=True).alias("order_id"),
        F.first("mode", ignorenulls=True).alias("mode"), F.first("mode_text", ignorenulls=True).alias("mode_text"),
        F.min("ordered_date").alias("ordered_date"), F.max("scheduled_date").alias("scheduled_date"),
        F.max("delivered_date").alias("delivered_date"),
        F.sum(F.col("delivered_date").isNull().cast("int")).alias("undelivered"),
        F.sum((F.col("delivered_date") > F.col("scheduled_date")).cast("int")).alias("late_lines"),
        F.sum("qty").alias("units"),
    )
    delivered = F.col("undelivered") == 0
    return per.select(
        surrogate_key("shipment", "_namespace", "shipment_id").alias("shipment_key"), F.col("shipment_id").alias("tracking_no"),
        F.coalesce("carrier", "_source").alias("carrier"), "order_id", F.lit(None).cast("long").alias("order_key"),
        F.lit(None).cast("string").alias("channel"), F.col("ordered_date").cast("timestamp").alias("first_event_at"),
        F.when(delivered, F.col("delivered_date").cast("timestamp")).alias("last_event_at"),
        F.when(delivered, F.lit("delivered")).otherwise(F.lit("in_transit")).alias("status"),
        F.when(delivered, F.col("delivered_date").cast("timestamp")).alias("delivered_at"), F.lit(0).cast("long").alias("exceptions"),
        F.col("scheduled_date").cast("timestamp").alias("promised_end"), F.when(delivered, F.col("late_lines") == 0).alias("on_time"),
        F.lit("freight").alias("kind"), "mode", "mode_text", F.col("_source").alias("source"), F.col("units").cast("long").alias("units"),
    )
