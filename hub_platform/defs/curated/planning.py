"""Inventory planning: days of cover, stock-out risk and reorder suggestions per product and location.

For each product at each location, on the latest stock snapshot:

    d   = expected demand per day: the last 28 days' sales velocity (zeros count), or, where a
          forecast is published for the product there, the mean p50 forecast over its horizon
    σ   = standard deviation of daily demand (of the same 28 days; from a forecast, the p10-p90
          spread / 2.563, the width of that interval in standard deviations of a normal)
    L   = lead time in days: the mean observed lead time of the product's supplier (received
          purchase orders, when there are at least MIN_RECEIPTS), else the contractual one
    R   = review period: REVIEW_DAYS (stores are replenished weekly)
    z   = SERVICE_Z (1.65: 95% cycle service level)

    safety stock        SS  = z · σ · √(L + R)
    reorder point       ROP = d · L + SS
    order-up-to level   S   = d · (L + R) + SS
    inventory position  IP  = on hand + in transit
    days of cover           = on hand / d                          (null when d = 0)
    suggested order         = ceil(S − IP) when IP ≤ ROP, else 0
    stock-out risk          = high   when on hand < d · L  (it runs out before an order placed now arrives)
                              medium when IP < ROP           (below the reorder point)
                              low    otherwise; none when there is no demand
    risk_reason             = the same in words, with the figures it was judged on
"""

from __future__ import annotations

from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

VELOCITY_DAYS = 28
REVIEW_DAYS = 7
SERVICE_Z = 1.65
MIN_RECEIPTS = 3
P10_P90_IN_SIGMAS = 2.563


def as_of(positions: DataFrame) -> DataFrame:
    """The latest snapshot of each product at each location."""
    latest = Window.partitionBy("product_key", "location_key").orderBy(F.desc("snapshot_date"))
    return positions.withColumn("_rank", F.row_number().over(latest)).where("_rank = 1").drop("_rank")


def sales_velocity(daily: DataFrame, until: DataFrame) -> DataFrame:
    """Demand per day and its spread over the VELOCITY_DAYS days up to each location's snapshot date.

    ``until``: product_key, location_key, snapshot_date. Out: product_key, location_key,
    demand_per_day, demand_std, demand_source. Days without sales count as zero demand.
    """
    units = daily.groupBy("product_key", "location_key", "sales_date").agg(F.sum("units").alias("units"))
    window = units.join(until, ["product_key", "location_key"]).where(
        (F.col("sales_date") > F.date_sub("snapshot_date", VELOCITY_DAYS)) & (F.col("sales_date") <= F.col("snapshot_date"))
    )
    n = F.lit(float(VELOCITY_DAYS))
    sums = window.groupBy("product_key", "location_key").agg(
        F.sum("units").alias("total"), F.sum(F.col("units") * F.col("units")).alias("squares")
    )
    mean = F.col("total") / n
    variance = F.greatest(F.lit(0.0), (F.col("squares") / n - mean * mean) * n / (n - 1))
    return until.select("product_key", "location_key").join(sums, ["product_key", "location_key"], "left").select(
        "product_key", "location_key",
        F.round(F.coalesce(mean, F.lit(0.0)), 4).alias("demand_per_day"),
        F.round(F.coalesce(F.sqrt(variance), F.lit(0.0)), 4).alias("demand_std"),
        F.lit(f"sales velocity, last {VELOCITY_DAYS} days").alias("demand_source"),
    )


def forecast_demand(forecast: DataFrame) -> DataFrame:
    """Demand per day from a published forecast (product_key, location_key, ds, p10, p50, p90):
    the mean p50 and the p10-p90 spread as a standard deviation, over the forecast horizon."""
    return forecast.groupBy("product_key", "location_key").agg(
        F.round(F.avg("p50"), 4).alias("demand_per_day"),
        F.round(F.avg((F.col("p90") - F.col("p10")) / P10_P90_IN_SIGMAS), 4).alias("demand_std"),
        F.lit("published forecast (p50)").alias("demand_source"),
    )


def preferring(demand: DataFrame, fallback: DataFrame) -> DataFrame:
    """``demand`` where it has a product-location, ``fallback`` for the rest (same columns)."""
    keys = ["product_key", "location_key"]
    return demand.unionByName(fallback.join(demand.select(*keys), keys, "left_anti"))


def forecast_against_stock(forecast: DataFrame, latest: DataFrame) -> DataFrame:
    """The forecast, day by day, against the stock there is now: each row keeps its forecast and product
    attributes and gains on_hand, in_transit, cumulative_p50 and projected_on_hand (stock now minus
    the p50 demand so far); stockout_expected marks the days the projection is below zero. Where no
    stock snapshot exists (stock_as_of null) the projection is unknown (null), not a stock-out."""
    by_day = Window.partitionBy("product_key", "location_key").orderBy("ds").rowsBetween(Window.unboundedPreceding, 0)
    stock = latest.select("product_key", "location_key", "on_hand", "in_transit", F.col("snapshot_date").alias("stock_as_of"))
    joined = forecast.join(stock, ["product_key", "location_key"], "left")
    cumulative = F.sum("p50").over(by_day)
    projected = F.col("on_hand") + F.col("in_transit") - cumulative
    return joined.select(
        *forecast.columns, "on_hand", "in_transit", "stock_as_of",
        F.round(cumulative, 2).alias("cumulative_p50"), F.round(projected, 2).alias("projected_on_hand"),
        (projected < 0).alias("stockout_expected"),
    )


def lead_times(products: DataFrame, suppliers: DataFrame, purchase_orders: DataFrame) -> DataFrame:
    """product_key, supplier_id, lead_time_days, lead_time_source (observed | contractual)."""
    observed = purchase_orders.where(F.col("lead_time_days").isNotNull()).groupBy("supplier_id").agg(
        F.avg("lead_time_days").alias("observed"), F.count("*").alias("receipts")
    )
    return products.where("is_current").select("product_key", "supplier_id").join(
        suppliers.select("supplier_id", F.col("lead_time_days").alias("contractual")), "supplier_id", "left"
    ).join(observed, "supplier_id", "left").select(
        "product_key", "supplier_id",
        F.round(F.when(F.col("receipts") >= MIN_RECEIPTS, F.col("observed")).otherwise(F.col("contractual")), 2).alias("lead_time_days"),
        F.when(F.col("receipts") >= MIN_RECEIPTS, F.lit("observed")).when(F.col("contractual").isNotNull(), F.lit("contractual")).alias("lead_time_source"),
    )


def inventory_plan(latest: DataFrame, demand: DataFrame, lead: DataFrame) -> DataFrame:
    """The planning view (module docstring has the formulas). ``latest``: :func:`as_of` positions."""
    d, sigma = F.col("demand_per_day"), F.col("demand_std")
    lead_days = F.coalesce(F.col("lead_time_days"), F.lit(0.0))
    safety = SERVICE_Z * sigma * F.sqrt(lead_days + REVIEW_DAYS)
    reorder_point = d * lead_days + safety
    order_up_to = d * (lead_days + REVIEW_DAYS) + safety
    position = F.col("on_hand") + F.col("in_transit")
    planned = latest.join(demand, ["product_key", "location_key"], "left").join(lead, "product_key", "left").fillna(
        {"demand_per_day": 0.0, "demand_std": 0.0, "demand_source": "no demand figure"}
    )
    return planned.select(
        "product_key", "product_id", "location_key", "location_id", "snapshot_date", "on_hand", "in_transit",
        "demand_per_day", "demand_std", "demand_source", "lead_time_days", "lead_time_source",
        F.round(safety, 2).alias("safety_stock"),
        F.round(reorder_point, 2).alias("reorder_point"),
        F.round(order_up_to, 2).alias("order_up_to"),
        F.when(d > 0, F.round(F.col("on_hand") / d, 1)).alias("days_of_cover"),
        F.when(position <= reorder_point, F.greatest(F.lit(0), F.ceil(order_up_to - position))).otherwise(F.lit(0)).cast("long").alias("suggested_order_qty"),
        F.when(d <= 0, F.lit("none"))
        .when(F.col("on_hand") < d * lead_days, F.lit("high"))
        .when(position < reorder_point, F.lit("medium"))
        .otherwise(F.lit("low"))
        .alias("stockout_risk"),
        _risk_reason(d, lead_days, position, reorder_point).alias("risk_reason"),
    )


def _number(column: F.Column, decimals: int = 1) -> F.Column:
    return F.format_number(column.cast("double"), decimals)


def _risk_reason(d: F.Column, lead_days: F.Column, position: F.Column, reorder_point: F.Column) -> F.Column:
    """The stock-out risk in words, with the figures it was judged on (the same tests as stockout_risk)."""
    lead = F.concat(_number(lead_days), F.lit(" days ("), F.coalesce(F.col("lead_time_source"), F.lit("no lead time")), F.lit(")"))
    return (
        F.when(d <= 0, F.concat(F.lit("no demand expected ("), F.col("demand_source"), F.lit(")")))
        .when(F.col("on_hand") < d * lead_days, F.concat(
            F.lit("on hand "), F.col("on_hand").cast("string"), F.lit(" lasts "), _number(F.col("on_hand") / d),
            F.lit(" days at "), _number(d, 2), F.lit("/day; an order placed now arrives in "), lead))
        .when(position < reorder_point, F.concat(
            F.lit("on hand + in transit "), position.cast("string"), F.lit(" is below the reorder point "), _number(reorder_point),
            F.lit(" (demand over "), lead, F.lit(" + safety stock)")))
        .otherwise(F.concat(F.lit("on hand + in transit "), position.cast("string"), F.lit(" covers the reorder point "),
                            _number(reorder_point)))
    )
