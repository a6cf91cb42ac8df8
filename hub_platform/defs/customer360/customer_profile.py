"""Customer-360: the golden record plus what every channel knows the customer did (Spark).

Behaviour reaches a customer through the source record it names: an online order or a web session
names an app user (a record of the app_signups feed), a store basket names a loyalty card (a record
of loyalty_members), a call is itself a person record, and an e-mail event names an address some
record of the customer holds. B2B orders name business accounts, not people, and stay out.

Value is compared in pounds (fixed planning rates from sources/reference/fx_rates.csv). "Now" is the
last order the hub has seen, so a rerun on the same data gives the same profile.

Recency, frequency, monetary (RFM): each scored 1-5 by quintile among customers who bought; segments
    champion     R >= 4 and F >= 4    bought recently and often
    loyal        F >= 4               often, not lately
    new          1 order and R >= 4   first order recently
    at_risk      R <= 2 and F >= 3    used to buy often, not lately
    hibernating  R <= 2               rarely, long ago
    promising    everyone else who bought
    prospect     no order yet (known from sign-ups, calls or e-mail only)
"""

from __future__ import annotations

from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

# which person feed a curated customer reference points into
CUSTOMER_REFERENCE_FEEDS = {"app_user": "app_signups", "loyalty": "loyalty_members"}
VALUE_WINDOW_DAYS = 365


def references(records: DataFrame, identity: DataFrame, sources_by_type: dict[str, list[str]]) -> DataFrame:
    """customer_ref_type, customer_ref, customer_id: how curated orders and web events name a customer.

    ``sources_by_type``: per reference type, the sources (contract names) whose record keys it uses.
    """
    pairs = records.sparkSession.createDataFrame(
        [(kind, source) for kind, sources in sources_by_type.items() for source in sources],
        "customer_ref_type string, source string",
    )
    return (records.join(pairs, "source").join(identity, "record_id")
            .select("customer_ref_type", F.col("record_key").alias("customer_ref"), "customer_id").distinct())


def _in_gbp(amount: str) -> F.Column:
    """``amount`` in pounds: the frame carries the rate of its currency as gbp_per_unit."""
    return (F.col(amount) * F.col("gbp_per_unit")).cast("double")


def profile(
    golden: DataFrame,
    identity: DataFrame,
    records: DataFrame,
    refs: DataFrame,
    orders: DataFrame,
    lines: DataFrame,
    web: DataFrame,
    email_events: DataFrame,
    calls: DataFrame,
    fx: DataFrame,
) -> DataFrame:
    """One row per customer: the golden record's columns, then behaviour, value and segment."""
    bought = (orders.where(F.col("customer_ref_type").isin(*CUSTOMER_REFERENCE_FEEDS))
              .join(refs, ["customer_ref_type", "customer_ref"])
              .join(fx, "currency", "left")
              .withColumn("value_gbp", _in_gbp("order_value")))
    now = bought.agg(F.max("ordered_at").alias("now"))
    recent = F.col("ordered_at") > F.expr(f"now - INTERVAL {VALUE_WINDOW_DAYS} DAYS")
    spending = bought.crossJoin(now).groupBy("customer_id").agg(
        F.count("*").alias("orders"),
        F.sum((F.col("channel") == "online").cast("int")).alias("orders_online"),
        F.sum((F.col("channel") == "store").cast("int")).alias("orders_store"),
        F.round(F.sum(F.when(F.col("channel") == "online", F.col("value_gbp"))), 2).alias("revenue_online_gbp"),
        F.round(F.sum(F.when(F.col("channel") == "store", F.col("value_gbp"))), 2).alias("revenue_store_gbp"),
        F.round(F.sum("value_gbp"), 2).alias("lifetime_value_gbp"),
        F.round(F.sum(F.when(recent, F.col("value_gbp")).otherwise(0.0)), 2).alias("value_last_12m_gbp"),
        F.min("ordered_at").alias("first_purchase_at"),
        F.max("ordered_at").alias("last_purchase_at"),
        F.datediff(F.max("now"), F.max("ordered_at")).alias("recency_days"),
    )
    units = lines.join(bought.select("order_key", "customer_id"), "order_key").groupBy("customer_id", "product_id").agg(
        F.sum("qty").alias("units"))
    favourite = Window.partitionBy("customer_id").orderBy(F.desc("units"), "product_id")
    products = units.withColumn("_rank", F.row_number().over(favourite)).groupBy("customer_id").agg(
        F.count("*").alias("products_bought"), F.max(F.when(F.col("_rank") == 1, F.col("product_id"))).alias("favourite_product_id"))

    addresses = records.where(F.col("email_key").isNotNull()).join(identity, "record_id").select("email_key", "customer_id").distinct()
    mail = email_events.join(addresses, "email_key").groupBy("customer_id").agg(
        F.sum((F.col("event") == "sent").cast("int")).alias("emails_sent"),
        F.sum((F.col("event") == "open").cast("int")).alias("emails_opened"),
        F.sum((F.col("event") == "click").cast("int")).alias("emails_clicked"),
        F.max((F.col("event") == "unsubscribe").cast("int")).cast("boolean").alias("unsubscribed"),
    ).withColumn("email_open_rate", F.round(F.col("emails_opened") / F.nullif(F.col("emails_sent"), F.lit(0)), 4)) \
     .withColumn("email_click_rate", F.round(F.col("emails_clicked") / F.nullif(F.col("emails_sent"), F.lit(0)), 4))

    call_records = records.join(identity, "record_id").join(calls, F.col("record_key") == F.col("call_id"))
    by_reason = call_records.groupBy("customer_id", "reason").agg(F.count("*").alias("n"))
    top_reason = Window.partitionBy("customer_id").orderBy(F.desc("n"), "reason")
    contacts = by_reason.withColumn("_rank", F.row_number().over(top_reason)).groupBy("customer_id").agg(
        F.sum("n").alias("contact_center_calls"),
        F.max(F.when(F.col("_rank") == 1, F.col("reason"))).alias("top_contact_reason"),
        F.sort_array(F.collect_list(F.concat_ws(":", "reason", F.col("n").cast("string")))).alias("contact_reasons"),
    )
    sessions = web.where(F.col("customer_ref").isNotNull()).join(
        refs.where(F.col("customer_ref_type") == "app_user"), "customer_ref").groupBy("customer_id").agg(
        F.countDistinct("session_id").alias("web_sessions"), F.count("*").alias("web_events"),
        F.max("event_at").alias("last_web_visit_at"))

    behaviour = (golden.join(spending, "customer_id", "left").join(products, "customer_id", "left")
                 .join(mail, "customer_id", "left").join(contacts, "customer_id", "left").join(sessions, "customer_id", "left")
                 .fillna(0, subset=["orders", "orders_online", "orders_store", "products_bought", "emails_sent", "emails_opened",
                                    "emails_clicked", "contact_center_calls", "web_sessions", "web_events"])
                 .fillna(0.0, subset=["lifetime_value_gbp", "value_last_12m_gbp"]))
    return _rfm(behaviour)


def _rfm(customers: DataFrame) -> DataFrame:
    buyers = customers.where(F.col("orders") > 0)
    scored = buyers.select(
        "customer_id",
        F.ntile(5).over(Window.orderBy(F.desc("recency_days"), "customer_id")).alias("r_score"),
        F.ntile(5).over(Window.orderBy("orders", "customer_id")).alias("f_score"),
        F.ntile(5).over(Window.orderBy("lifetime_value_gbp", "customer_id")).alias("m_score"),
    )
    r, f = F.col("r_score"), F.col("f_score")
    segment = (F.when(r.isNull(), "prospect").when((r >= 4) & (f >= 4), "champion").when(f >= 4, "loyal")
               .when((F.col("orders") == 1) & (r >= 4), "new").when((r <= 2) & (f >= 3), "at_risk")
               .when(r <= 2, "hibernating").otherwise("promising"))
    return customers.join(scored, "customer_id", "left").withColumn("rfm_segment", segment)
