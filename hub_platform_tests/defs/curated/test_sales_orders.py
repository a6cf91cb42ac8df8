"""Orders of three channels in one model: product keys across codes, local sales days, promised windows."""

from datetime import date, datetime

import pytest
from pyspark.sql import functions as F

from hub_platform.defs.curated.master_data import locations
from hub_platform.defs.curated.sales_orders import daily_sales, sales_orders

pytestmark = pytest.mark.spark

XREF = [("sku", "SKU-1", "SKU-1", 1), ("web_product_id", "W-1", "SKU-1", 1), ("store_item_code", "IC1", "SKU-1", 1)]


def money(frame, *columns):
    for column in columns:
        frame = frame.withColumn(column, F.col(column).cast("decimal(12,2)"))
    return frame


@pytest.fixture(scope="module")
def sales(spark):
    sites = spark.createDataFrame(
        [("DC-1", "DC", "dc", "GB", 52.0, -1.0, "Europe/London"), ("ST-1", "Store", "store", "DE", 50.0, 8.0, "Europe/Berlin")],
        "location_id string, location_name string, location_type string, country string, latitude double, longitude double, timezone string",
    )
    b2b = spark.createDataFrame(
        [("SO-1", "ACC-1", "Acme", 52.1, -1.1, "DC-1", datetime(2026, 6, 1, 9), datetime(2026, 6, 3, 8), datetime(2026, 6, 3, 11), "erp")],
        "order_id string, customer_account string, ship_to_name string, ship_to_lat double, ship_to_lon double, depot_id string, "
        "order_ts timestamp, promised_start timestamp, promised_end timestamp, _source string",
    )
    b2b_lines = money(spark.createDataFrame([("SO-1", 1, "SKU-1", 10, 2.0, "GBP"), ("SO-404", 1, "SKU-1", 5, 2.0, "GBP")],
                                            "order_id string, line_no long, sku string, qty long, unit_price double, currency string"), "unit_price")
    web = money(spark.createDataFrame(
        [("WEB-1", 1, "U1", "W-1", 2, 3.0, "EUR", datetime(2026, 6, 1, 12), date(2026, 6, 4), "DE", "10115", "web_orders")],
        "order_id string, line_no long, user_id string, web_product_id string, qty long, unit_price double, currency string, "
        "order_ts timestamp, promised_date date, ship_country string, ship_postcode string, _source string",
    ), "unit_price")
    pos = money(spark.createDataFrame(
        # 22:30 UTC on 1 June is 00:30 on 2 June in Berlin
        [("T-1", 1, "ST-1", datetime(2026, 6, 1, 22, 30), "L-9", "IC1", 1, 2.5, "EUR", "pos_south"),
         ("T-1", 2, "ST-1", datetime(2026, 6, 1, 22, 30), "L-9", "IC1", 3, 2.5, "EUR", "pos_south")],
        "transaction_id string, line_no long, store_id string, ts timestamp, loyalty_id string, item_code string, qty long, "
        "unit_price double, currency string, _source string",
    ), "unit_price")
    xref = spark.createDataFrame(XREF, "code_type string, code string, product_id string, product_key long")
    places = locations(sites, b2b)
    b2b, b2b_lines, web = (frame.withColumn("_namespace", F.lit(space)) for frame, space in ((b2b, "erp"), (b2b_lines, "erp"), (web, "web")))
    orders, lines, orphans = sales_orders(b2b, b2b_lines, web, pos.withColumn("_namespace", F.col("_source")), xref, places)
    return ({r.order_id: r for r in orders.collect()}, lines.collect(), daily_sales(lines).collect(),
            {r.location_id: r for r in places.collect()}, orphans.collect())


def test_a_line_without_its_order_header_is_quarantined_with_the_reason(sales):
    _, lines, _, _, orphans = sales
    assert [(o.order_id, o.rule, o.qty) for o in orphans] == [("SO-404", "order_header_missing", 5)]
    assert "clean/erp_sales_orders" in orphans[0].reason
    assert "SO-404" not in {line.order_id for line in lines}


def test_every_channel_is_in_one_model_with_its_customer_reference(sales):
    orders, _, _, _, _ = sales
    assert {(o.channel, o.customer_ref_type, o.customer_ref) for o in orders.values()} == {
        ("b2b", "account", "ACC-1"), ("online", "app_user", "U1"), ("store", "loyalty", "L-9")}
    assert (orders["T-1"].units, str(orders["T-1"].order_value), orders["T-1"].line_count) == (4, "10.00", 2)
    assert orders["SO-1"].ship_to_location_id == "DROP-ACC-1"


def test_codes_of_different_systems_become_one_product(sales):
    _, lines, _, _, _ = sales
    assert {line.product_id for line in lines} == {"SKU-1"}


def test_sales_days_are_local_days_and_online_windows_are_local_hours(sales):
    orders, lines, daily, _, _ = sales
    assert {line.sales_date for line in lines if line.channel == "store"} == {date(2026, 6, 2)}
    # 08:00-20:00 in Berlin (summer time) is 06:00-18:00 UTC
    assert (orders["WEB-1"].promised_start, orders["WEB-1"].promised_end) == (datetime(2026, 6, 4, 6), datetime(2026, 6, 4, 18))
    store_day = [d for d in daily if d.channel == "store"]
    assert [(d.sales_date, d.units, str(d.revenue), d.orders) for d in store_day] == [(date(2026, 6, 2), 4, "10.00", 1)]


def test_locations_include_drop_points_and_the_web_shop(sales):
    _, _, _, places, _ = sales
    assert places["DROP-ACC-1"].location_type == "customer_drop" and places["DROP-ACC-1"].parent_location_id == "DC-1"
    assert places["DROP-ACC-1"].timezone == "Europe/London" and places["ONLINE"].location_type == "online"


def test_two_tills_numbering_their_baskets_alike_give_two_orders(spark):
    sites = spark.createDataFrame([("ST-1", "Store", "store", "GB", 52.0, -1.0, "Europe/London")],
                                  "location_id string, location_name string, location_type string, country string, latitude double, "
                                  "longitude double, timezone string")
    none = spark.createDataFrame([], "order_id string, customer_account string, ship_to_name string, ship_to_lat double, "
                                     "ship_to_lon double, depot_id string, order_ts timestamp, promised_start timestamp, "
                                     "promised_end timestamp, _source string, _namespace string")
    no_lines = spark.createDataFrame([], "order_id string, line_no long, sku string, qty long, unit_price decimal(12,2), "
                                         "currency string, _namespace string")
    no_web = spark.createDataFrame([], "order_id string, line_no long, user_id string, web_product_id string, qty long, "
                                       "unit_price decimal(12,2), currency string, order_ts timestamp, promised_date date, "
                                       "ship_country string, ship_postcode string, _source string, _namespace string")
    pos = money(spark.createDataFrame(
        [("T-1", 1, "ST-1", datetime(2026, 6, 1, 9), None, "IC1", 1, 2.5, "GBP", source, source) for source in ("pos_north", "pos_west")],
        "transaction_id string, line_no long, store_id string, ts timestamp, loyalty_id string, item_code string, qty long, "
        "unit_price double, currency string, _source string, _namespace string"), "unit_price")
    xref = spark.createDataFrame(XREF, "code_type string, code string, product_id string, product_key long")
    orders, lines, _ = sales_orders(none, no_lines, no_web, pos, xref, locations(sites, none))
    headers = orders.collect()
    assert sorted(o.source for o in headers) == ["pos_north", "pos_west"] and len({o.order_key for o in headers}) == 2
    assert [o.line_count for o in headers] == [1, 1]  # not one basket of two lines
    assert len({line.order_key for line in lines.collect()}) == 2
