"""Anomalous daily sales per product and location: how improbable was what sold, given what was expected?

Daily sales per product and store are small counts. A robust z-score treats a residual of +4 the
same whether 1 or 40 units were expected, although a count's spread grows with its mean (for
Poisson demand the variance is the mean): it floods busy series with alerts on ordinary days and
is blind in quiet ones. A normal prediction interval from a fitted model has the same flaw and is
symmetric, so at one unit expected its lower bound is negative and a zero can never breach it. So
the detector asks the question directly: given the demand rate the days around it show, how
likely was a count at least this high (spike) or at most this low (drop)? The score is that tail
probability in decimal digits, ``-log10 p``: 6 means one chance in a million. This is a
prediction-interval breach whose interval is the count distribution's own, and whose width is set
by how rare a breach must be to be worth a person's time: at the default ``min_score`` 5, a
series-year (365 days) of ordinary sales raises an alert with probability below 0.4%.

The predictive distribution is Poisson demand with a rate known only as well as the data say
(Gamma-Poisson, i.e. negative binomial): the rate's evidence is the series' sales over the 14 days
either side (not the day itself, so a spike cannot raise its own expectation; not promotion or
stock-out days), plus its long-run rate weighted as ``prior_days`` days. For a busy series this is
Poisson in all but name; for a slow mover after four quiet weeks it keeps the tails wide, so one
unit of an item that sells every fifth day on average is not a one-in-a-million event.

What that means for these data: a spike is detectable when the expected count is large enough for
its multiple to be rare (4 expected, 20 sold: score about 8; 1 expected, 4 sold: under 2, an
ordinary day for a slow mover), and a drop to zero only where a zero is itself rare, about
e^-expected (score 5 needs some 12 units expected). A drop is reported only on a day a stock
snapshot shows stock on hand: a low day at a shop is far more often an empty shelf (lost supply,
not a demand anomaly) than lost demand, and shelves empty exactly when demand is high. On the
medium sample, reporting drops on days without a snapshot flagged 8,600 store-days in a year,
nearly all promotion days that had sold out; spikes need no such evidence (stock cannot sell twice).

The expected units for a day are ``rate x weekday index x promotion lift``, where the weekday
index is the series' own weekday profile shrunk towards that of all series (``weekday_prior``
units of pseudo-evidence: a slow mover's weekday means are noise), and the promotion lift is the
ratio of sales to the non-promotion expectation over all promotion days of all series (the related
series' ``promo`` flag), so a promotion is expected to sell more.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import nbinom

SEVERITY_SCORES = {"low": 5.0, "medium": 8.0, "high": 12.0}
WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]


def expected_sales(target: pd.DataFrame, related: pd.DataFrame | None = None, *, half_window: int = 14,
                   prior_days: float = 28.0, weekday_prior: float = 20.0) -> pd.DataFrame:
    """The predictive distribution of each series-day's units (see the module docstring).

    ``target``: unique_id, product_id, location_id, ds, y, stockout (the target series);
    ``related``: unique_id, ds, promo (optional; without it no day counts as a promotion).
    Output: the target's columns plus promo, weekday_index, promo_lift, shape and exposure (the
    rate's Gamma posterior: evidence in units and in index-weighted days) and expected.
    """
    frame = target.sort_values(["unique_id", "ds"], ignore_index=True)
    promo = (frame[["unique_id", "ds"]].merge(related[["unique_id", "ds", "promo"]], how="left")["promo"]
             if related is not None else pd.Series(False, index=frame.index))
    frame["promo"] = promo.fillna(False).astype(bool).to_numpy()
    ordinary = ~frame["promo"] & ~frame["stockout"].fillna(False).astype(bool)
    frame["weekday_index"] = _weekday_index(frame["unique_id"], frame["ds"].dt.dayofweek, frame["y"], ordinary,
                                            weekday_prior)
    units = frame["y"].where(ordinary, 0.0)
    days = frame["weekday_index"].where(ordinary, 0.0)
    window_units = _window_sum_excluding_self(frame["unique_id"], units, half_window)
    window_days = _window_sum_excluding_self(frame["unique_id"], days, half_window)
    long_run_rate = ((units.groupby(frame["unique_id"]).transform("sum") - units)
                     / (days.groupby(frame["unique_id"]).transform("sum") - days).where(lambda d: d > 0))
    # half a unit of evidence keeps a series that never sold elsewhere from making any sale impossible
    frame["shape"] = 0.5 + prior_days * long_run_rate.fillna(0.0) + window_units
    frame["exposure"] = prior_days + window_days
    base = frame["shape"] / frame["exposure"] * frame["weekday_index"]
    on_promo = base[frame["promo"]].sum()
    lift = frame.loc[frame["promo"], "y"].sum() / on_promo if on_promo > 0 else 1.0
    frame["promo_lift"] = np.where(frame["promo"], lift, 1.0)
    frame["expected"] = base * frame["promo_lift"]
    return frame


def detect_sales_anomalies(target: pd.DataFrame, related: pd.DataFrame | None = None, *,
                           min_score: float = SEVERITY_SCORES["low"], half_window: int = 14,
                           prior_days: float = 28.0) -> pd.DataFrame:
    """Days whose sales are improbable under their predictive distribution, most improbable first.

    Output: product_id, location_id, sales_date, units, expected, score (-log10 of the tail
    probability), direction (spike | drop), severity (low | medium | high), explanation.
    """
    frame = expected_sales(target, related, half_window=half_window, prior_days=prior_days)
    # y | rate ~ Poisson(rate * c), rate ~ Gamma(shape, exposure)  =>  y ~ NB(shape, exposure / (exposure + c))
    success = frame["exposure"] / (frame["exposure"] + frame["weekday_index"] * frame["promo_lift"])
    spike = frame["y"] > frame["expected"]
    log_tail = np.where(spike, nbinom.logsf(frame["y"] - 1, frame["shape"], success),
                        nbinom.logcdf(frame["y"], frame["shape"], success))
    frame["score"] = -log_tail / np.log(10)
    frame["direction"] = np.where(spike, "spike", "drop")
    stock_on_hand = frame["stockout"].astype("boolean").eq(False).fillna(False).to_numpy(dtype=bool)
    flagged = frame[(frame["score"] >= min_score) & (spike | stock_on_hand)].copy()
    flagged["severity"] = pd.cut(flagged["score"], [-np.inf, SEVERITY_SCORES["medium"], SEVERITY_SCORES["high"], np.inf],
                                 labels=["low", "medium", "high"], right=False).astype(str)
    flagged["explanation"] = [_explain(row) for row in flagged.itertuples()]
    result = flagged.rename(columns={"ds": "sales_date", "y": "units"})
    result["units"] = result["units"].astype("int64")
    return result[["product_id", "location_id", "sales_date", "units", "expected", "score", "direction", "severity",
                   "explanation"]].sort_values("score", ascending=False, ignore_index=True)


def evaluate_anomalies(detected: pd.DataFrame, truth: pd.DataFrame) -> dict[str, float | int]:
    """Precision and recall against known anomalies (product_id, location_id, sales_date, kind).

    A detection counts as true when product, location and day match and its direction is the
    truth's kind (spike | drop). Recall is also given per kind, since drops to zero are
    detectable only where a zero is itself rare.
    """
    keys = ["product_id", "location_id", "sales_date"]
    truth = truth.assign(sales_date=pd.to_datetime(truth["sales_date"]))
    detected = detected.assign(sales_date=pd.to_datetime(detected["sales_date"]))
    matched = detected.merge(truth, on=keys)
    hits = matched[matched["direction"] == matched["kind"]]
    figures: dict[str, float | int] = {
        "detected": len(detected),
        "truth": len(truth),
        "true_positives": len(hits),
        "false_positives": len(detected) - len(hits),
        "false_negatives": len(truth) - len(hits),
        "precision": len(hits) / len(detected) if len(detected) else float("nan"),
        "recall": len(hits) / len(truth) if len(truth) else float("nan"),
    }
    for kind in ("spike", "drop"):
        of_kind = int((truth["kind"] == kind).sum())
        figures[f"recall_{kind}"] = int((hits["kind"] == kind).sum()) / of_kind if of_kind else float("nan")
    return figures


def _weekday_index(series: pd.Series, weekday: pd.Series, y: pd.Series, ordinary: pd.Series, prior: float) -> pd.Series:
    """Weekday profile per series (mean 1), shrunk towards the all-series profile, leaving each day out
    of its own estimate (a spike would otherwise raise its weekday's index and hide itself)."""
    units = y.where(ordinary, 0.0)
    counted = ordinary.astype(float)
    pooled_means = units.groupby(weekday).sum() / counted.groupby(weekday).sum()
    pooled = (pooled_means / pooled_means.mean()).reindex(weekday).to_numpy()
    by_day = [series, weekday]
    day_units = units.groupby(by_day).transform("sum") - units
    day_count = counted.groupby(by_day).transform("sum") - counted
    rate = ((units.groupby(series).transform("sum") - units)
            / (counted.groupby(series).transform("sum") - counted).where(lambda n: n > 0)).fillna(0.0)
    return (day_units + prior * pooled) / (day_count * rate + prior)


def _window_sum_excluding_self(series: pd.Series, values: pd.Series, half_window: int) -> np.ndarray:
    """Sum of ``values`` over +-half_window rows of the same series, without the row itself.

    Rows must be sorted by series and day (one row per day): window sums from cumulative sums.
    """
    position = np.arange(len(series))
    codes = pd.factorize(series)[0]
    start = pd.Series(position).groupby(codes).transform("min").to_numpy()
    end = pd.Series(position).groupby(codes).transform("max").to_numpy()
    low, high = np.maximum(position - half_window, start), np.minimum(position + half_window, end)
    own = values.to_numpy(dtype=float)
    running = np.concatenate([[0.0], np.cumsum(own)])
    return running[high + 1] - running[low] - own


def _explain(row) -> str:
    units = f"{int(row.y)} unit{'' if row.y == 1 else 's'}"
    context = f"{WEEKDAYS[row.ds.dayofweek]}, {'a promotion day' if row.promo else 'no promotion'}"
    odds = (f"about once in {10 ** row.score:,.0f} days" if row.score < 9 else "less than once in a billion days")
    text = (f"Sold {units} on {row.ds:%Y-%m-%d} ({context}) where about {row.expected:.1f} were expected from the "
            f"days around it; a day this {'high' if row.direction == 'spike' else 'low'} happens by chance {odds}.")
    if row.direction == "drop":
        text += " Stock was on hand that day."
    return text
