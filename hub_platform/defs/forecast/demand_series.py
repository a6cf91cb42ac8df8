"""The three datasets a demand forecast is built from, in the shape of the reference architecture.

- **target series**: one row per series (``unique_id = "<product_id>@<location_id>"``) and day, on a
  continuous daily range from the series' first sale to the end date. Days without sales are absent
  from the sales feed, so they are filled with explicit zeros (``filled``); a forecaster that saw
  only selling days would learn a demand several times too high for slow movers. Channels are
  summed per location: the location already says which channel sold. ``stockout`` is True where
  that day's inventory snapshot says nothing was on hand, False where a snapshot says otherwise,
  and null where no snapshot exists (only recent weeks have them): a zero on a stock-out day is
  lost supply, not absent demand, and whoever reads the series must be able to tell the two apart.
- **related series**: the list price in force per series and day (as-of join on the price list in
  the location's currency), a promotion flag (the realised selling price clearly below that list
  price) and public holidays of the location's country, for the history and for the forecast
  horizon (future price = the price list's latest entry in force, promotion unknown = False,
  holidays known in advance).
- **item metadata**: static attributes per series (category, brand, lifecycle).

The input is the curated zone's daily sales (local sales days, all channels). All functions are
pure pandas; the holiday calendar comes from ``hub_platform.sources.reference.holidays``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

SERIES_KEY = ["product_id", "location_id"]
ALL_PRODUCTS = "ALL"  # product_id of a series that sums every product of a location


def series_id(product_id: pd.Series, location_id: pd.Series) -> pd.Series:
    """The statsforecast series id, readable in any table that carries it: ``<product>@<location>``."""
    return product_id.astype(str) + "@" + location_id.astype(str)


def target_series(sales: pd.DataFrame, inventory: pd.DataFrame, end_date: pd.Timestamp | None = None, *,
                  freq: str = "D", source: str = "daily_sales", grain: str = "product_location") -> pd.DataFrame:
    """Units per series and period at the definition's frequency, gaps filled with zeros, stock-outs marked.

    ``source`` daily_sales: curated daily sales (sales_date, units), summed into periods of ``freq``
    (weekly periods are labelled by their last day, as pandas anchors ``W-SUN``); order_lines: curated
    order lines (ordered_at, qty) floored to ``freq`` (hours), for sub-daily demand. ``grain`` location
    sums every product of a location (product_id ``ALL``). Each series runs from its first sale to the
    last *complete* period: daily up to ``end_date`` (default: the last sales day, the day the feed is
    complete up to); a week counts once its last day is in; an hour once a later order exists.
    Stock-outs come from daily inventory snapshots and are marked for daily series only (null otherwise).
    Output: unique_id, product_id, location_id, ds, y (float64), filled (bool: no sales that period), stockout.
    """
    events = _demand_events(sales, source, grain)
    offset = pd.tseries.frequencies.to_offset(freq)
    daily = freq == "D"
    if daily:
        end = pd.Timestamp(end_date).normalize() if end_date is not None else events["ds"].max()
        events = events[events["ds"] <= end]
        periods = events["ds"]
    else:
        horizon_end = (pd.Timestamp(end_date).normalize() + pd.Timedelta(days=1) if end_date is not None
                       else events["ds"].max() + (pd.Timedelta(days=1) if source == "daily_sales" else pd.Timedelta(0)))
        periods = _period_label(events["ds"], offset)
        complete = _period_label(pd.Series([horizon_end]), offset).iat[0]
        # the period holding the end instant is still open unless the end falls on its boundary
        end = complete if _period_end(complete, offset) <= horizon_end else complete - offset
        periods = periods.where(periods <= end)
    sales_by_period = events.assign(ds=periods).dropna(subset=["ds"]).groupby([*SERIES_KEY, "ds"], as_index=False)["units"].sum()
    first = sales_by_period.groupby(SERIES_KEY, as_index=False)["ds"].min()
    calendar = pd.date_range(first["ds"].min() if len(first) else end, end, freq=offset)
    starts = calendar.searchsorted(first["ds"].to_numpy())
    lengths = len(calendar) - starts
    offsets = np.arange(lengths.sum()) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    grid = pd.DataFrame({
        "product_id": np.repeat(first["product_id"].to_numpy(), lengths),
        "location_id": np.repeat(first["location_id"].to_numpy(), lengths),
        "ds": calendar.to_numpy()[np.repeat(starts, lengths) + offsets],
    })
    frame = grid.merge(sales_by_period, on=[*SERIES_KEY, "ds"], how="left")
    frame["filled"] = frame["units"].isna()
    frame["y"] = frame["units"].fillna(0).astype("float64")
    frame["stockout"] = _stockout_flags(frame, inventory) if daily and grain == "product_location" \
        else pd.Series(pd.NA, index=frame.index, dtype="boolean")
    frame.insert(0, "unique_id", series_id(frame["product_id"], frame["location_id"]))
    return frame[["unique_id", "product_id", "location_id", "ds", "y", "filled", "stockout"]].sort_values(
        ["unique_id", "ds"], ignore_index=True)


def days_per_period(freq: str) -> float:
    """How many days one period of ``freq`` spans (7 for weeks, 1/24 for hours)."""
    first, second = pd.date_range("2026-01-05", periods=2, freq=freq)
    return (second - first) / pd.Timedelta(days=1)


def _demand_events(sales: pd.DataFrame, source: str, grain: str) -> pd.DataFrame:
    """product_id, location_id, ds, units from daily sales (channels summed) or order lines (by timestamp)."""
    if source == "daily_sales":
        events = sales.assign(ds=pd.to_datetime(sales["sales_date"]).astype("datetime64[ns]"), units=sales["units"])
    elif source == "order_lines":
        stamps = pd.to_datetime(sales["ordered_at"], utc=True).dt.tz_convert(None).astype("datetime64[ns]")
        events = sales.assign(ds=stamps, units=sales["qty"])
    else:
        raise ValueError(f"unknown demand source {source!r}: use daily_sales or order_lines")
    if grain == "location":
        events = events.assign(product_id=ALL_PRODUCTS)
    elif grain != "product_location":
        raise ValueError(f"unknown grain {grain!r}: use product_location or location")
    return events[[*SERIES_KEY, "ds", "units"]].astype({"units": "float64"})


def _period_label(stamps: pd.Series, offset) -> pd.Series:
    """The period each instant falls in, labelled as pandas labels ``offset`` (week: its anchor day; hour: its start)."""
    if isinstance(offset, pd.offsets.Tick):
        return stamps.dt.floor(offset) if isinstance(stamps, pd.Series) else stamps.floor(offset)
    return pd.Series(stamps).apply(lambda t: offset.rollforward(t.normalize()))


def _period_end(label: pd.Timestamp, offset) -> pd.Timestamp:
    """The instant a period ends: a tick period one tick after its start, an anchored one the day after its label."""
    return label + offset if isinstance(offset, pd.offsets.Tick) else label + pd.Timedelta(days=1)


def related_series(target: pd.DataFrame, daily_sales: pd.DataFrame, prices: pd.DataFrame, locations: pd.DataFrame,
                   holidays: pd.DataFrame, horizon: int = 28, promo_discount: float = 0.10, freq: str = "D") -> pd.DataFrame:
    """Price, promotion and holiday per series and day, for the history and the next ``horizon`` days.

    The list price is the price-list row in force on the day (latest ``valid_from`` on or before
    the day, in the currency the location sells in, unless its ``valid_to`` has passed); prices
    are effective-dated in UTC and a day is matched at its start. A day is a promotion when the
    realised selling price (revenue / units) is more than ``promo_discount`` below the list price:
    rounding and mixed baskets move the realised price by cents, a promotion by tens of percent.
    Future days carry the latest list price in force (a price change already scheduled in the list
    is honoured), promo False (not known in advance) and the holidays of the calendar.
    At another frequency ``freq`` than daily, each period is judged by the day it starts on (weekly
    labels: the week's last day), so price and promotion are those of that day.
    Output: unique_id, ds, future, list_price, selling_price, promo, holiday.
    """
    sales = _sales_by_series_day(daily_sales).rename(columns={"ds": "day"})
    last_day = target["ds"].max()
    series = target.drop_duplicates("unique_id")[["unique_id", "product_id", "location_id"]]
    future = series.loc[series.index.repeat(horizon)].assign(
        ds=np.tile(pd.date_range(last_day, periods=horizon + 1, freq=freq)[1:].to_numpy(), len(series)))
    history = target[["unique_id", "product_id", "location_id", "ds"]].assign(future=False)
    frame = pd.concat([history, future.assign(future=True)], ignore_index=True)
    frame["day"] = frame["ds"].dt.normalize()
    currency = sales.groupby("location_id")["currency"].agg(lambda c: c.mode().iat[0])
    frame["currency"] = frame["location_id"].map(currency)
    frame["list_price"] = _price_in_force(frame, prices)
    frame = frame.merge(sales[[*SERIES_KEY, "day", "units", "revenue"]], on=[*SERIES_KEY, "day"], how="left")
    frame["selling_price"] = (frame["revenue"] / frame["units"]).where(frame["units"] > 0)
    frame["promo"] = (frame["selling_price"] < frame["list_price"] * (1 - promo_discount)).fillna(False).astype(bool)
    country = frame["location_id"].map(locations.set_index("location_id")["country"])
    holiday_keys = pd.MultiIndex.from_frame(holidays[["country", "date"]].assign(date=pd.to_datetime(holidays["date"])))
    frame["holiday"] = pd.MultiIndex.from_arrays([country, frame["day"]]).isin(holiday_keys)
    return frame[["unique_id", "ds", "future", "list_price", "selling_price", "promo", "holiday"]].sort_values(
        ["unique_id", "ds"], ignore_index=True)


def item_metadata(target: pd.DataFrame, products: pd.DataFrame) -> pd.DataFrame:
    """Static attributes per series: unique_id, product_id, location_id, category, brand, lifecycle."""
    series = target.drop_duplicates("unique_id")[["unique_id", "product_id", "location_id"]]
    attributes = products[["product_id", "category", "brand", "lifecycle"]].drop_duplicates("product_id")
    return series.merge(attributes, on="product_id", how="left").sort_values("unique_id", ignore_index=True)


def _sales_by_series_day(daily_sales: pd.DataFrame) -> pd.DataFrame:
    """Channels summed per product, location and day (the location already tells the channel)."""
    sales = daily_sales.assign(ds=pd.to_datetime(daily_sales["sales_date"]).astype("datetime64[ns]"),
                               revenue=daily_sales["revenue"].astype(float))  # curated money is decimal
    return sales.groupby([*SERIES_KEY, "ds"], as_index=False).agg(
        units=("units", "sum"), revenue=("revenue", "sum"), currency=("currency", "first"))


def _stockout_flags(frame: pd.DataFrame, inventory: pd.DataFrame) -> pd.Series:
    """True/False where a snapshot exists that day (the lowest on_hand if several), null elsewhere."""
    snapshots = (inventory.assign(ds=pd.to_datetime(inventory["snapshot_date"]).astype("datetime64[ns]"))
                 .groupby([*SERIES_KEY, "ds"], as_index=False)["on_hand"].min())
    on_hand = frame[[*SERIES_KEY, "ds"]].merge(snapshots, on=[*SERIES_KEY, "ds"], how="left")["on_hand"]
    return pd.Series(on_hand.astype("Float64") == 0, index=frame.index, dtype="boolean")


def _price_in_force(frame: pd.DataFrame, prices: pd.DataFrame) -> pd.Series:
    """As-of join of each (product, currency, day) on the effective-dated price list."""
    price_list = prices.assign(
        valid_from=_naive_utc(prices["valid_from"]),
        valid_to=_naive_utc(prices["valid_to"]),
        price=prices["price"].astype(float),
    ).sort_values("valid_from")
    lookup = frame[["product_id", "currency", "ds"]].reset_index().sort_values("ds")
    joined = pd.merge_asof(lookup, price_list[["product_id", "currency", "valid_from", "valid_to", "price"]],
                           left_on="ds", right_on="valid_from", by=["product_id", "currency"])
    expired = joined["valid_to"].notna() & (joined["valid_to"] <= joined["ds"])
    return joined["price"].mask(expired).set_axis(joined["index"]).reindex(frame.index)


def _naive_utc(column: pd.Series) -> pd.Series:
    stamps = pd.to_datetime(column, utc=True)
    return stamps.dt.tz_convert(None).astype("datetime64[ns]")
