from __future__ import annotations

import datetime as dt
from decimal import Decimal

import numpy as np
import pandas as pd
import pytest

from hub_platform.defs.forecast.demand_series import (
    item_metadata,
    related_series,
    target_series,
)
from hub_platform.sources import reference

D = pd.Timestamp


def sales_row(product: str, location: str, day: str, units: int, revenue: float, channel: str = "store",
              currency: str = "GBP") -> dict:
    return {"product_id": product, "location_id": location, "sales_date": dt.date.fromisoformat(day), "channel": channel,
            "units": units, "revenue": Decimal(str(revenue)), "currency": currency}  # curated money is decimal


@pytest.fixture
def daily_sales() -> pd.DataFrame:
    return pd.DataFrame([
        sales_row("P1", "ST-1", "2026-03-01", 2, 20.0),
        sales_row("P1", "ST-1", "2026-03-01", 1, 10.0, channel="online"),  # same day, another channel: summed
        sales_row("P1", "ST-1", "2026-03-04", 4, 32.0),  # 8.00 each against a 10.00 list price: promotion
        sales_row("P2", "ST-2", "2026-03-03", 1, 11.6, currency="EUR"),
    ])


@pytest.fixture
def inventory() -> pd.DataFrame:
    return pd.DataFrame({
        "product_id": ["P1", "P1", "P2"],
        "location_id": ["ST-1", "ST-1", "ST-2"],
        "snapshot_date": [dt.date(2026, 3, 2), dt.date(2026, 3, 4), dt.date(2026, 3, 5)],
        "on_hand": [0, 3, 0],
        "in_transit": [5, 0, 0],
    })


def test_target_fills_gaps_with_zeros_from_first_sale_to_end_and_marks_stockouts(daily_sales, inventory):
    target = target_series(daily_sales, inventory, end_date=D("2026-03-05"))

    p1 = target[target.unique_id == "P1@ST-1"]
    assert p1.ds.tolist() == list(pd.date_range("2026-03-01", "2026-03-05"))
    assert p1.y.tolist() == [3.0, 0.0, 0.0, 4.0, 0.0]  # channels summed, gaps explicit zeros
    assert p1.filled.tolist() == [False, True, True, False, True]
    assert p1.stockout.tolist() == [pd.NA, True, pd.NA, False, pd.NA]
    p2 = target[target.unique_id == "P2@ST-2"]
    assert p2.ds.min() == D("2026-03-03")  # starts at its own first sale
    assert p2.y.tolist() == [1.0, 0.0, 0.0]
    assert p2.stockout.tolist() == [pd.NA, pd.NA, True]
    assert list(target.columns) == ["unique_id", "product_id", "location_id", "ds", "y", "filled", "stockout"]


def test_target_ends_at_the_last_sale_by_default(daily_sales, inventory):
    target = target_series(daily_sales, inventory)
    assert target.ds.max() == D("2026-03-04")
    assert len(target) == 4 + 2


@pytest.fixture
def prices() -> pd.DataFrame:
    utc = lambda day: pd.Timestamp(day, tz="UTC")  # noqa: E731
    return pd.DataFrame({
        "product_id": ["P1", "P1", "P1", "P2"],
        "currency": ["GBP", "GBP", "EUR", "EUR"],
        "price": [Decimal("10.00"), Decimal("12.00"), Decimal("99.00"), Decimal("11.60")],
        "valid_from": [utc("2026-01-01"), utc("2026-03-04"), utc("2026-01-01"), utc("2026-01-01")],
        "valid_to": [utc("2026-03-04"), pd.NaT, pd.NaT, utc("2026-03-05")],
        "is_current": [False, True, True, False],
    })


@pytest.fixture
def locations() -> pd.DataFrame:
    return pd.DataFrame({"location_id": ["ST-1", "ST-2"], "location_type": ["store", "store"], "country": ["GB", "DE"],
                         "timezone": ["Europe/London", "Europe/Berlin"]})


def test_related_series_prices_promotions_holidays_and_future(daily_sales, inventory, prices, locations):
    target = target_series(daily_sales, inventory, end_date=D("2026-03-05"))
    holidays = pd.DataFrame({"country": ["GB", "DE"], "date": ["2026-03-02", "2026-03-07"], "name": ["x", "y"]})

    related = related_series(target, daily_sales, prices, locations, holidays, horizon=2)

    p1 = related[related.unique_id == "P1@ST-1"].set_index("ds")
    # GBP list (not the EUR row), the change on 03-04 applies from that day, the future keeps the last price
    assert p1.list_price.tolist() == [10.0, 10.0, 10.0, 12.0, 12.0, 12.0, 12.0]
    assert p1.future.tolist() == [False] * 5 + [True] * 2
    assert p1.selling_price.iloc[0] == pytest.approx(10.0)
    assert np.isnan(p1.selling_price.loc[D("2026-03-02")])
    # 03-04 sold at 8.00 against 12.00: promotion; 03-01 at list: none; future promotions unknown
    assert p1.promo.tolist() == [False, False, False, True, False, False, False]
    assert p1.holiday.tolist() == [False, True, False, False, False, False, False]
    p2 = related[related.unique_id == "P2@ST-2"].set_index("ds")
    assert p2.list_price.iloc[:2].tolist() == [11.6, 11.6]
    assert p2.list_price.iloc[2:].isna().all()  # the only EUR price expired on 03-05
    assert p2.holiday.tolist() == [False, False, False, False, True]  # the DE holiday, in the horizon


def test_item_metadata_one_row_per_series(daily_sales, inventory):
    target = target_series(daily_sales, inventory)
    products = pd.DataFrame({"product_id": ["P1", "P2"], "product_name": ["a", "b"], "brand": ["B1", "B2"],
                             "category": ["snacks", "dairy"], "lifecycle": ["active", "new"], "size": ["1", "2"]})
    meta = item_metadata(target, products)
    assert list(meta.columns) == ["unique_id", "product_id", "location_id", "category", "brand", "lifecycle"]
    assert meta.values.tolist() == [["P1@ST-1", "P1", "ST-1", "snacks", "B1", "active"],
                                    ["P2@ST-2", "P2", "ST-2", "dairy", "B2", "new"]]


def test_reference_holidays_cover_gb_and_de_for_2025_and_2026():
    holidays = reference.holidays()
    assert set(holidays.country) == {"GB", "DE"}
    by_country = holidays.groupby("country").date.apply(set)
    assert D("2026-12-28") in by_country["GB"]  # Boxing Day on a Saturday: substitute Monday
    assert D("2026-05-14") in by_country["DE"]  # Ascension Day, Easter Sunday + 39 days
    assert D("2025-10-03") in by_country["DE"]
    assert holidays.date.dt.year.unique().tolist() == [2025, 2026]
    assert holidays.name.notna().all()


def test_a_malformed_holiday_file_names_its_rows(tmp_path):
    bad = tmp_path / "holidays.csv"
    bad.write_text("country,date,name\nGB,2026-01-01,New Year\nGB,01/05/2026,May Day\nGB,2026-01-01,New Year again\n")
    with pytest.raises(reference.ReferenceError, match="rows 3, 4 need"):
        reference.holidays(bad)


def test_weekly_and_hourly_target_series_keep_complete_periods_only():
    from hub_platform.defs.forecast.demand_series import days_per_period

    days = pd.date_range("2026-01-01", "2026-01-21")  # Thursday to Wednesday: the last week is still open
    daily = pd.DataFrame({"product_id": "P", "location_id": "S", "sales_date": days.date, "units": 1, "channel": "store"})
    no_stock = pd.DataFrame(columns=["product_id", "location_id", "snapshot_date", "on_hand"])
    weekly = target_series(daily, no_stock, freq="W-SUN")
    assert weekly.ds.dt.strftime("%m-%d").tolist() == ["01-04", "01-11", "01-18"]  # weeks labelled by their Sunday
    assert weekly.y.tolist() == [4.0, 7.0, 7.0] and weekly.stockout.isna().all()
    lines = pd.DataFrame({"product_id": ["A", "B", "A", "A"], "location_id": "S", "qty": [1, 2, 3, 4],
                          "ordered_at": pd.to_datetime(["2026-01-01 08:10", "2026-01-01 08:50", "2026-01-01 11:05",
                                                        "2026-01-01 12:01"], utc=True)})
    hourly = target_series(lines, no_stock, freq="h", source="order_lines", grain="location")
    assert hourly.unique_id.unique().tolist() == ["ALL@S"]  # every product of the location summed
    assert hourly.ds.dt.hour.tolist() == [8, 9, 10, 11] and hourly.y.tolist() == [3.0, 0.0, 0.0, 3.0]  # 12:00 still open
    assert hourly.filled.tolist() == [False, True, True, False]
    assert (days_per_period("W-SUN"), days_per_period("D"), days_per_period("h")) == (7.0, 1.0, 1 / 24)
    with pytest.raises(ValueError, match="unknown demand source"):
        target_series(daily, no_stock, source="tickets")
