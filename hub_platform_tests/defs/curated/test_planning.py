"""Planning formulas on a hand-computed case (see transforms/harmonize/planning.py)."""

import math
from datetime import date, timedelta

import pytest

from hub_platform.defs.curated import planning

pytestmark = pytest.mark.spark


@pytest.fixture(scope="module")
def plan(spark):
    as_of = date(2026, 10, 28)
    # product 1 at location 10: 2 units a day for the last 28 days, except 4 on 14 of them
    sales = [(1, 10, as_of - timedelta(days=i), 4 if i % 2 else 2) for i in range(28)]
    sales.append((1, 10, as_of - timedelta(days=40), 500))  # outside the window: ignored
    daily = spark.createDataFrame(sales, "product_key long, location_key long, sales_date date, units long")
    positions = spark.createDataFrame(
        [(1, "P1", 10, "ST-1", as_of, 5, 3), (1, "P1", 10, "ST-1", as_of - timedelta(days=1), 99, 0),
         (2, "P2", 10, "ST-1", as_of, 7, 0)],
        "product_key long, product_id string, location_key long, location_id string, snapshot_date date, on_hand long, in_transit long",
    )
    products = spark.createDataFrame([(1, "S1", True), (2, "S1", True)], "product_key long, supplier_id string, is_current boolean")
    suppliers = spark.createDataFrame([("S1", 10)], "supplier_id string, lead_time_days long")
    receipts = spark.createDataFrame([("S1", 3), ("S1", 4), ("S1", 5)], "supplier_id string, lead_time_days long")
    latest = planning.as_of(positions)
    demand = planning.sales_velocity(daily, latest.select("product_key", "location_key", "snapshot_date"))
    return {r.product_id: r for r in planning.inventory_plan(latest, demand, planning.lead_times(products, suppliers, receipts)).collect()}


def test_demand_lead_time_and_stock_levels_follow_the_formulas(plan):
    row = plan["P1"]
    d = 3.0  # (14 x 2 + 14 x 4) / 28
    sigma = math.sqrt((14 * 1 + 14 * 1) / 27)  # deviations of 1 around the mean of 3, sample variance
    lead = 4.0  # three receipts observed: their mean replaces the contractual 10 days
    safety = planning.SERVICE_Z * sigma * math.sqrt(lead + planning.REVIEW_DAYS)
    assert (row.demand_per_day, row.demand_std) == pytest.approx((d, sigma), abs=1e-3)
    assert (row.lead_time_days, row.lead_time_source, row.on_hand) == (lead, "observed", 5)  # the latest snapshot only
    assert row.safety_stock == pytest.approx(safety, abs=0.01)
    assert row.reorder_point == pytest.approx(d * lead + safety, abs=0.01)
    assert row.days_of_cover == pytest.approx(5 / 3, abs=0.05)
    assert row.suggested_order_qty == math.ceil(d * (lead + planning.REVIEW_DAYS) + safety - (5 + 3))
    assert row.stockout_risk == "high"  # 5 on hand < 3 a day x 4 days of lead time
    assert row.risk_reason == "on hand 5 lasts 1.7 days at 3.00/day; an order placed now arrives in 4.0 days (observed)"


def test_no_demand_means_no_cover_figure_and_no_risk(plan):
    row = plan["P2"]
    assert (row.demand_per_day, row.days_of_cover, row.suggested_order_qty, row.stockout_risk) == (0.0, None, 0, "none")
    assert row.risk_reason == "no demand expected (sales velocity, last 28 days)"


def test_a_published_forecast_is_preferred_and_velocity_covers_the_rest(spark):
    keys = "product_key long, location_key long"
    forecast = spark.createDataFrame([(1, 10, 2.0, 0.5, "forecast")], f"{keys}, demand_per_day double, demand_std double, demand_source string")
    velocity = spark.createDataFrame([(1, 10, 9.0, 1.0, "velocity"), (2, 10, 3.0, 1.0, "velocity")],
                                     f"{keys}, demand_per_day double, demand_std double, demand_source string")
    chosen = {r.product_key: (r.demand_per_day, r.demand_source) for r in planning.preferring(forecast, velocity).collect()}
    assert chosen == {1: (2.0, "forecast"), 2: (3.0, "velocity")}


def test_stock_is_projected_against_the_forecast_only_where_a_snapshot_exists(spark):
    forecast = spark.createDataFrame(
        [(1, 10, date(2026, 11, 1), 3.0), (1, 10, date(2026, 11, 2), 3.0), (1, 20, date(2026, 11, 1), 3.0)],
        "product_key long, location_key long, ds date, p50 double")
    latest = spark.createDataFrame([(1, 10, date(2026, 10, 31), 5, 0)],
                                   "product_key long, location_key long, snapshot_date date, on_hand long, in_transit long")
    rows = {(r.location_key, r.ds.day): (r.projected_on_hand, r.stockout_expected)
            for r in planning.forecast_against_stock(forecast, latest).collect()}
    assert rows == {(10, 1): (2.0, False), (10, 2): (-1.0, True), (20, 1): (None, None)}  # no snapshot: unknown, not out
