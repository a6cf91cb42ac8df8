from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from hub_platform.defs.forecast.anomalies import detect_sales_anomalies, evaluate_anomalies, expected_sales

START = pd.Timestamp("2026-01-05")  # a Monday


def series(uid: str, y, stockout=None) -> pd.DataFrame:
    product, location = uid.split("@")
    days = len(y)
    return pd.DataFrame({"unique_id": uid, "product_id": product, "location_id": location,
                         "ds": pd.date_range(START, periods=days), "y": np.asarray(y, dtype=float),
                         "stockout": pd.array(stockout if stockout is not None else [pd.NA] * days, dtype="boolean")})


def test_expectation_of_a_constant_series_by_hand():
    target = series("P@S", [4] * 57)
    expected = expected_sales(target).set_index("ds")["expected"]
    # every weekday sells alike: index 1; a middle day sees 28 days x 4 units around it and a long-run
    # rate of 4 weighted as 28 days, plus half a unit: (0.5 + 28 * 4 + 112) / (28 + 28)
    assert expected.iloc[28] == pytest.approx(224.5 / 56)
    # the first day has only the 14 days after it: (0.5 + 112 + 56) / (28 + 14)
    assert expected.iloc[0] == pytest.approx(168.5 / 42)


def test_promotion_days_are_expected_to_sell_more():
    y = np.full(57, 4.0)
    y[[20, 21, 22]] = 8.0
    target = series("P@S", y)
    related = pd.DataFrame({"unique_id": "P@S", "ds": target.ds, "promo": np.isin(np.arange(57), [20, 21, 22])})
    frame = expected_sales(target, related).set_index("ds")
    assert frame.promo_lift.iloc[21] == pytest.approx(2.0, rel=0.01)
    assert frame.expected.iloc[21] == pytest.approx(8.0, rel=0.01)
    assert detect_sales_anomalies(target, related).empty


def synthetic_sales(seed: int = 11) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Three Poisson series with a weekly pattern and injected anomalies, plus the truth."""
    rng = np.random.default_rng(seed)
    weekday = np.array([0.85, 0.9, 0.95, 1.0, 1.2, 1.35, 0.75])
    days = 210
    pattern = weekday[np.arange(days) % 7]
    quiet = rng.poisson(0.3 * pattern)  # a slow mover: nothing it does is an anomaly
    busy = rng.poisson(5.0 * pattern)
    busy[100] = 30  # spike: six times the rate
    bulk = rng.poisson(20.0 * pattern)
    bulk[120] = 0  # drop: a zero where twenty sell, on a day a stock snapshot shows stock on hand
    bulk[140] = 0  # a zero on a day no snapshot covers: more likely an empty shelf, not reported
    bulk[160] = 0  # a zero on a stock-out day: lost supply, not an anomaly
    stockout = [pd.NA] * days
    stockout[120], stockout[160] = False, True
    target = pd.concat([series("Q@S1", quiet), series("B@S1", busy), series("K@S2", bulk, stockout)], ignore_index=True)
    truth = pd.DataFrame({"product_id": ["B", "K"], "location_id": ["S1", "S2"],
                          "sales_date": [START + pd.Timedelta(days=100), START + pd.Timedelta(days=120)],
                          "kind": ["spike", "drop"]})
    return target, truth


def test_injected_spike_and_drop_are_found_and_nothing_else():
    target, truth = synthetic_sales()
    found = detect_sales_anomalies(target)

    assert list(found.columns) == ["product_id", "location_id", "sales_date", "units", "expected", "score", "direction",
                                   "severity", "explanation"]
    assert evaluate_anomalies(found, truth) == {
        "detected": 2, "truth": 2, "true_positives": 2, "false_positives": 0, "false_negatives": 0,
        "precision": 1.0, "recall": 1.0, "recall_spike": 1.0, "recall_drop": 1.0}
    spike = found[found.direction == "spike"].iloc[0]
    assert spike.units == 30 and spike.expected == pytest.approx(5.0 * 0.95, rel=0.2)  # a Wednesday
    assert spike.severity == "high"  # P(X >= 30 | about 6) is far below 1e-12
    assert "Sold 30 units" in spike.explanation and f"{spike.expected:.1f} were expected" in spike.explanation
    drop = found[found.direction == "drop"].iloc[0]
    assert drop.units == 0 and drop.score == pytest.approx(drop.expected / np.log(10), rel=0.1)  # P(0) ~ e^-expected
    assert drop.explanation.endswith("Stock was on hand that day.")


def test_a_zero_is_a_drop_only_when_a_snapshot_shows_stock_on_hand():
    target = series("K@S", [20] * 40 + [0] + [20] * 40, stockout=[pd.NA] * 40 + [True] + [pd.NA] * 40)
    assert detect_sales_anomalies(target).empty
    target["stockout"] = pd.array([pd.NA] * 81, dtype="boolean")  # no snapshot: an empty shelf cannot be ruled out
    assert detect_sales_anomalies(target).empty
    target["stockout"] = pd.array([pd.NA] * 40 + [False] + [pd.NA] * 40, dtype="boolean")
    found = detect_sales_anomalies(target)
    assert found.sales_date.tolist() == [START + pd.Timedelta(days=40)]
    assert found.explanation.iat[0].endswith("Stock was on hand that day.")


def test_severity_grows_with_improbability():
    target = series("B@S", [5] * 60 + [19] + [5] * 30 + [24] + [5] * 30 + [40] + [5] * 30)
    found = detect_sales_anomalies(target).sort_values("units")
    assert found.units.tolist() == [19, 24, 40]
    assert found.severity.tolist() == ["low", "medium", "high"]
    assert found.score.is_monotonic_increasing


def test_evaluation_counts_by_hand():
    day = pd.Timestamp("2026-02-01")
    detected = pd.DataFrame({"product_id": ["A", "B", "C"], "location_id": "S", "sales_date": [day, day, day],
                             "direction": ["spike", "spike", "drop"]})
    truth = pd.DataFrame({"product_id": ["A", "B"], "location_id": "S", "sales_date": [day.date(), day.date()],
                          "kind": ["spike", "drop"]})
    figures = evaluate_anomalies(detected, truth)
    assert figures == {"detected": 3, "truth": 2, "true_positives": 1, "false_positives": 2, "false_negatives": 1,
                       "precision": pytest.approx(1 / 3), "recall": 0.5, "recall_spike": 1.0, "recall_drop": 0.0}
