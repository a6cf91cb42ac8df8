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


def series_id(product_id: pd.Series, location_id: pd.Series) -> pd.Series:
    """The statsforecast series id, readable in any table that carries it: ``<product>@<location>``."""
    return product_id.astype(str) + "@" + location_id.astype(str)


def target_series(daily_sales: pd.DataFrame, inventory: pd.DataFrame, end_date: pd.Timestamp | None = None) -> pd.DataFrame:
    """Daily units per series, gaps filled with zeros, stock-outs marked.

    Each series runs from its first sale to ``end_date`` (default: the last sales date in the
    data, which is the day the feed is complete up to). Output: unique_id, product_id,
    location_id, ds, y (float64), filled (bool: no sales row that day), stockout (nullable bool).
    """
    sales = _sales_by_series_day(daily_sales)
    end = pd.Timestamp(end_date).normalize() if end_date is not None else sales["ds"].max()
    sales = sales[sales["ds"] <= end]
    first = sales.groupby(SERIES_KEY, as_index=False)["ds"].min()
    lengths = ((end - first["ds"]).dt.days + 1).to_numpy()
    offsets = np.arange(lengths.sum()) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    grid = pd.DataFrame({
        "product_id": np.repeat(first["product_id"].to_numpy(), lengths),
        "location_id": np.repeat(first["location_id"].to_numpy(), lengths),
        "ds": np.repeat(first["ds"].to_numpy(), lengths) + pd.to_timedelta(offsets, unit="D"),
    })
    frame = grid.merge(sales[[*SERIES_KEY, "ds", "units"]], on=[*SERIES_KEY, "ds"], how="left")
    frame["filled"] = frame["units"].isna()
    frame["y"] = frame["units"].fillna(0).astype("float64")
    frame["stockout"] = _stockout_flags(frame, inventory)
    frame.insert(0, "unique_id", series_id(frame["product_id"], frame["location_id"]))
    return frame[["unique_id", "product_id", "location_id", "ds", "y", "filled", "stockout"]].sort_values(
        ["unique_id", "ds"], ignore_index=True)


def related_series(target: pd.DataFrame, daily_sales: pd.DataFrame, prices: pd.DataFrame, locations: pd.DataFrame,
                   holidays: pd.DataFrame, horizon: int = 28, promo_discount: float = 0.10) -> pd.DataFrame:
    """Price, promotion and holiday per series and day, for the history and the next ``horizon`` days.

    The list price is the price-list row in force on the day (latest ``valid_from`` on or before
    the day, in the currency the location sells in, unless its ``valid_to`` has passed); prices
    are effective-dated in UTC and a day is matched at its start. A day is a promotion when the
    realised selling price (revenue / units) is more than ``promo_discount`` below the list price:
    rounding and mixed baskets move the realised price by cents, a promotion by tens of percent.
    Future days carry the latest list price in force (a price change already scheduled in the list
    is honoured), promo False (not known in advance) and the holidays of the calendar.
    Output: unique_id, ds, future, list_price, selling_price, promo, holiday.
    """
    sales = _sales_by_series_day(daily_sales)
    last_day = target["ds"].max()
    series = target.drop_duplicates("unique_id")[["unique_id", "product_id", "location_id"]]
    future = series.loc[series.index.repeat(horizon)].assign(
        ds=np.tile(pd.date_range(last_day + pd.Timedelta(days=1), periods=horizon, freq="D").to_numpy(), len(series)))
    history = target[["unique_id", "product_id", "location_id", "ds"]].assign(future=False)
    frame = pd.concat([history, future.assign(future=True)], ignore_index=True)
    currency = sales.groupby("location_id")["currency"].agg(lambda c: c.mode().iat[0])
    frame["currency"] = frame["location_id"].map(currency)
    frame["list_price"] = _price_in_force(frame, prices)
    frame = frame.merge(sales[[*SERIES_KEY, "ds", "units", "revenue"]], on=[*SERIES_KEY, "ds"], how="left")
    frame["selling_price"] = (frame["revenue"] / frame["units"]).where(frame["units"] > 0)
    frame["promo"] = (frame["selling_price"] < frame["list_price"] * (1 - promo_discount)).fillna(False).astype(bool)
    country = frame["location_id"].map(locations.set_index("location_id")["country"])
    holiday_keys = pd.MultiIndex.from_frame(holidays[["country", "date"]].assign(date=pd.to_datetime(holidays["date"])))
    frame["holiday"] = pd.MultiIndex.from_arrays([country, frame["ds"]]).isin(holiday_keys)
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
