from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from statsforecast.models import ConstantModel, CrostonOptimized, SeasonalNaive

from hub_platform.defs.forecast.charts import forecast_chart
from hub_platform.defs.forecast.forecasting import (
    ForecastConfig,
    accuracy_by_class,
    backtest,
    candidate_models,
    choose_models,
    classify_series,
    forecast_demand,
    forecast_series,
    gate,
    holdout_forecast,
    representative_series,
    residual_quantiles,
    run_statsforecast,
    score_backtest,
)

DAY = pd.Timestamp("2026-01-01")


def frame(values: dict[str, list[float]]) -> pd.DataFrame:
    """A target frame from hand-written daily values per series, all starting on DAY."""
    return pd.concat([pd.DataFrame({"unique_id": uid, "product_id": uid.split("@")[0], "location_id": "ST-1",
                                    "ds": pd.date_range(DAY, periods=len(y)), "y": np.asarray(y, dtype=float)})
                      for uid, y in values.items()], ignore_index=True)


def test_classification_by_adi_and_cv2_on_hand_made_series():
    target = frame({
        "smooth@S": [4, 5, 4, 5, 4, 5, 4, 5],  # ADI 1, CV² (0.5 / 4.5)² = 0.0123
        "erratic@S": [1, 9, 1, 9, 1, 9, 1, 9],  # ADI 1, CV² (4 / 5)² = 0.64
        "intermittent@S": [0, 3, 0, 3, 0, 0, 3, 0],  # ADI 8 / 3, sizes all 3: CV² 0
        "lumpy@S": [0, 1, 0, 0, 9, 0, 0, 0],  # ADI 4, sizes 1 and 9: CV² 0.64
    })
    classes = classify_series(target).set_index("unique_id")
    assert classes.demand_class.to_dict() == {"erratic@S": "erratic", "intermittent@S": "intermittent",
                                               "lumpy@S": "lumpy", "smooth@S": "smooth"}
    assert classes.adi.to_dict() == pytest.approx({"erratic@S": 1.0, "intermittent@S": 8 / 3, "lumpy@S": 4.0,
                                                    "smooth@S": 1.0})
    assert classes.cv2.to_dict() == pytest.approx({"erratic@S": 0.64, "intermittent@S": 0.0, "lumpy@S": 0.64,
                                                    "smooth@S": (0.5 / 4.5) ** 2})
    assert classes.loc["lumpy@S", "demand_days"] == 2


def test_candidate_sets_always_hold_the_seasonal_naive_baseline():
    for demand_class in ("smooth", "erratic", "intermittent", "lumpy"):
        names = [repr(m) for m in candidate_models(demand_class, 7)]
        assert names[0] == "SeasonalNaive"
    assert [repr(m) for m in candidate_models("lumpy", 7)] == ["SeasonalNaive", "CrostonOptimized", "ADIDA", "IMAPA"]
    assert [repr(m) for m in candidate_models("smooth", 7)] == ["SeasonalNaive", "ETS", "Theta"]


def test_backtest_metrics_by_hand():
    # season 2; y = 1 3 2 5 3 5 5 9 on days 1..8; origins after days 2, 4 and 6, horizon 2
    target = frame({"A@S": [1, 3, 2, 5, 3, 5, 5, 9]})
    day = lambda n: DAY + pd.Timedelta(days=n - 1)  # noqa: E731
    folds = pd.DataFrame({
        "unique_id": "A@S", "model": "M",
        "cutoff": [day(2), day(2), day(4), day(4), day(6), day(6)],
        "ds": [day(3), day(4), day(5), day(6), day(7), day(8)],
        "y": [2.0, 5.0, 3.0, 5.0, 5.0, 9.0],
        "forecast": [2.0, 2.0, 3.0, 3.0, 6.0, 6.0],
        "role": ["selection"] * 4 + ["holdout"] * 2,
    })
    metrics = score_backtest(folds, target, season_length=2).set_index("role")

    # origin day 2: no seasonal difference yet, MASE undefined (left out of the mean)
    # origin day 4: training 1 3 2 5, |2-1|, |5-3| -> scale 1.5; MAE (0 + 2) / 2 = 1 -> MASE 2/3
    selection = metrics.loc["selection"]
    assert selection.windows == 2
    assert selection.actual == 15 and selection.abs_error == 5 and selection.error == -5
    assert selection.mase == pytest.approx(2 / 3)
    assert selection.wape == pytest.approx(5 / 15)
    assert selection.bias == pytest.approx(-5 / 15)
    # origin day 6: training diffs 1 2 1 0 -> scale 1; errors +1 and -3: MAE 2 -> MASE 2
    holdout = metrics.loc["holdout"]
    assert holdout.mase == pytest.approx(2.0)
    assert holdout.wape == pytest.approx(4 / 14)
    assert holdout.bias == pytest.approx(-2 / 14)


def test_selection_prefers_the_baseline_on_ties_and_covers_short_series():
    metrics = pd.DataFrame({
        "unique_id": ["A", "A", "A", "B", "B"],
        "model": ["ETS", "SeasonalNaive", "Theta", "ETS", "SeasonalNaive"],
        "role": "selection",
        "abs_error": [10.0, 10.0, 12.0, 4.0, 9.0],
    })
    classes = pd.DataFrame({"unique_id": ["A", "B", "C", "D"], "demand_class": ["smooth", "smooth", "smooth", "lumpy"],
                            "days": [400, 400, 20, 3]})
    choice = choose_models(metrics, classes).set_index("unique_id")
    assert choice.model.to_dict() == {"A": "SeasonalNaive", "B": "ETS", "C": "SeasonalNaive", "D": "HistoricAverage"}
    assert choice.selected_by.to_dict() == {"A": "backtest", "B": "backtest", "C": "short_history", "D": "short_history"}


def poisson_series(count: int, days: int, seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    weekday = np.array([0.8, 0.9, 1.0, 1.0, 1.3, 1.5, 0.5])
    rates = {f"P{i}@ST-1": 4 + i for i in range(count)}
    return frame({uid: rng.poisson(rate * weekday[np.arange(days) % 7]) for uid, rate in rates.items()})


def with_overshoot(demand_class: str, season_length: int) -> list:
    """The normal candidates plus a model that always forecasts 40 units a day."""
    return [*candidate_models(demand_class, season_length), ConstantModel(constant=40.0, alias="Overshoot")]


CONFIG = ForecastConfig(horizon=14, step_size=14, n_windows=3)


def test_gate_passes_the_selected_portfolio_and_refuses_a_forced_bad_model():
    target = poisson_series(count=4, days=120)

    chosen = forecast_demand(target, CONFIG, candidates=with_overshoot)
    assert chosen.passed
    assert "Overshoot" not in chosen.choice.model.values
    assert chosen.figures["portfolio_wape"] < chosen.figures["baseline_wape"]

    forced = forecast_demand(target, CONFIG, candidates=with_overshoot, force_model="Overshoot")
    assert set(forced.choice.model) == {"Overshoot"}
    assert not forced.passed
    assert forced.figures["portfolio_wape"] > forced.figures["baseline_wape"]
    assert "does not beat" in forced.figures["gate_verdict"]
    with pytest.raises(ValueError, match="Overshoot was not backtested"):
        forecast_demand(target, CONFIG, force_model="Overshoot")


def test_accuracy_by_class_by_hand_and_undefined_without_sales():
    metrics = pd.DataFrame({
        "unique_id": ["a", "a", "b", "b", "z", "z"], "role": "holdout",
        "model": ["ETS", "SeasonalNaive", "ETS", "SeasonalNaive", "ETS", "SeasonalNaive"],
        "abs_error": [2.0, 4.0, 1.0, 3.0, 1.0, 2.0], "actual": [10.0, 10.0, 10.0, 10.0, 0.0, 0.0]})
    choice = pd.DataFrame({"unique_id": ["a", "b", "z"], "model": ["ETS", "SeasonalNaive", "ETS"],
                           "demand_class": ["smooth", "smooth", "lumpy"]})
    rows = accuracy_by_class(metrics, choice).set_index("demand_class")
    assert rows.loc["smooth", ["series", "portfolio_wape", "seasonal_naive_wape"]].tolist() == [2, 0.25, 0.35]  # (2+3)/20, (4+3)/20
    assert rows.loc["lumpy"].isna()[["portfolio_wape", "seasonal_naive_wape"]].all()  # nothing sold: WAPE undefined


def test_each_series_is_judged_on_its_own_last_window():
    target = poisson_series(count=2, days=100)
    target = target[~((target.unique_id == "P1@ST-1") & (target.ds > target.ds.max() - pd.Timedelta(days=5)))]
    folds = backtest(target, classify_series(target), CONFIG)
    cutoffs = folds.groupby(["unique_id", "role"]).cutoff.unique()
    assert cutoffs.loc[("P0@ST-1", "holdout")].tolist() == [DAY + pd.Timedelta(days=99 - 14)]
    assert cutoffs.loc[("P1@ST-1", "holdout")].tolist() == [DAY + pd.Timedelta(days=94 - 14)]
    assert all(len(cutoffs.loc[(uid, "selection")]) == 2 for uid in ("P0@ST-1", "P1@ST-1"))


def test_gate_is_strict_and_needs_judged_series():
    figures = {"series_judged": 3, "portfolio_wape": 0.5, "baseline_wape": 0.5}
    assert gate(figures)[0] is False
    assert gate({**figures, "portfolio_wape": 0.49})[0] is True
    assert gate({**figures, "series_judged": 0, "portfolio_wape": float("nan")})[0] is False


def test_published_forecast_intervals_are_ordered_and_never_negative():
    target = poisson_series(count=3, days=100)
    run = forecast_demand(target, CONFIG)
    published = run.forecast
    assert list(published.columns) == ["unique_id", "product_id", "location_id", "ds", "model", "p10", "p50", "p90"]
    assert len(published) == 3 * CONFIG.horizon
    assert published.ds.min() == target.ds.max() + pd.Timedelta(days=1)
    assert (published.p10 >= 0).all()
    assert (published.p10 <= published.p50).all() and (published.p50 <= published.p90).all()
    assert (published.p90 > published.p10).any()
    assert 0 <= run.figures["interval_coverage"] <= 1


def test_residual_quantiles_and_interval_clipping_by_hand():
    target = frame({"A@S": [0, 1, 2, 3, 4, 5, 6] * 2, "B@S": [0, 1, 2, 3, 4, 5, 6] * 2})
    folds = pd.DataFrame({"unique_id": "A@S", "model": "SeasonalNaive", "y": np.arange(11.0), "forecast": 0.0})
    choice = pd.DataFrame({"unique_id": ["A@S", "B@S"], "demand_class": "smooth", "model": "SeasonalNaive"})
    quantiles = residual_quantiles(folds, choice).set_index("unique_id")
    assert quantiles.loc["A@S"].tolist() == pytest.approx([1.0, 9.0])  # residuals 0..10

    # A's residuals are all positive (a model that under-forecasts): p10 cannot rise above p50
    hand = pd.DataFrame({"unique_id": ["A@S", "B@S"], "q_low": [1.0, -3.0], "q_high": [2.0, 0.5]})
    published = forecast_series(target, choice, hand, ForecastConfig(horizon=7)).set_index(["unique_id", "ds"])
    a, b = published.loc["A@S"], published.loc["B@S"]
    assert a.p50.tolist() == [0, 1, 2, 3, 4, 5, 6]  # the seasonal naive repeats the last week
    assert a.p10.tolist() == a.p50.tolist()
    assert a.p90.tolist() == [2, 3, 4, 5, 6, 7, 8]
    assert b.p10.tolist() == [0, 0, 0, 0, 1, 2, 3]
    assert b.p90.tolist() == [0.5, 1.5, 2.5, 3.5, 4.5, 5.5, 6.5]


def test_short_series_get_in_sample_residuals():
    target = frame({"new@S": [2, 4, 3]})
    choice = pd.DataFrame({"unique_id": ["new@S"], "demand_class": ["smooth"], "model": ["HistoricAverage"]})
    empty = pd.DataFrame(columns=["unique_id", "model", "y", "forecast"])
    quantiles = residual_quantiles(empty, choice, target).set_index("unique_id")
    assert quantiles.loc["new@S"].tolist() == pytest.approx([-0.8, 0.8])  # deviations -1, 1, 0 from the mean 3
    published = forecast_series(target, choice, quantiles.reset_index(), ForecastConfig(horizon=2))
    assert published.p50.tolist() == pytest.approx([3.0, 3.0])


def test_representative_series_one_per_class_by_volume():
    target = frame({"a@S": [5, 5, 5, 5], "b@S": [9, 9, 9, 9], "c@S": [0, 1, 0, 0]})
    classes = pd.DataFrame({"unique_id": ["a@S", "b@S", "c@S"], "demand_class": ["smooth", "smooth", "lumpy"]})
    assert representative_series(classes, target) == ["b@S", "c@S"]


def test_chart_of_held_out_forecasts_is_a_png_with_one_panel_per_series():
    target = poisson_series(count=2, days=100)
    run = forecast_demand(target, CONFIG)
    held_out = holdout_forecast(run.folds, run.choice)
    assert set(held_out.columns) == {"unique_id", "ds", "model", "y", "p10", "p50", "p90"}
    one = forecast_chart(target, held_out, ["P0@ST-1"])
    two = forecast_chart(target, held_out, ["P0@ST-1", "P1@ST-1"], labels={"P0@ST-1": "smooth, ETS"}, title="held out")
    assert one.startswith(b"\x89PNG\r\n\x1a\n") and two.startswith(b"\x89PNG\r\n\x1a\n")
    height = lambda png: int.from_bytes(png[20:24], "big")  # noqa: E731 (the IHDR chunk)
    assert height(two) > 1.8 * height(one)


@pytest.mark.spark
def test_spark_engine_gives_the_local_result(spark):
    # statsforecast runs in Spark's Python workers: the local session starts them with this interpreter
    target = poisson_series(count=3, days=60)
    models = [SeasonalNaive(season_length=7, alias="SeasonalNaive"), CrostonOptimized(alias="CrostonOptimized")]
    config = ForecastConfig(horizon=7, step_size=7, n_windows=2)
    for is_backtest in (True, False):
        local = run_statsforecast(target, models, config, backtest=is_backtest)
        distributed = run_statsforecast(target, models, config, backtest=is_backtest, engine=spark)
        keys = [c for c in ("unique_id", "model", "cutoff", "ds") if c in local]
        local, distributed = (f.sort_values(keys, ignore_index=True) for f in (local, distributed))
        pd.testing.assert_frame_equal(distributed[local.columns], local, check_exact=False, rtol=1e-5)
