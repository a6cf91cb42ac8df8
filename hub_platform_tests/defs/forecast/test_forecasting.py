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
    conformal_quantiles,
    forecast_definition,
    forecast_definitions,
    forecast_demand,
    forecast_series,
    gate,
    holdout_forecast,
    interval_units,
    mase_scales,
    portfolio_figures,
    representative_series,
    run_statsforecast,
    score_backtest,
)

DAY = pd.Timestamp("2026-01-01")


def frame(values: dict[str, list[float]], freq: str = "D") -> pd.DataFrame:
    """A target frame from hand-written values per series (daily unless told), all starting on DAY."""
    return pd.concat([pd.DataFrame({"unique_id": uid, "product_id": uid.split("@")[0], "location_id": "ST-1",
                                    "ds": pd.date_range(DAY, periods=len(y), freq=freq), "y": np.asarray(y, dtype=float)})
                      for uid, y in values.items()], ignore_index=True)


def test_classification_by_adi_and_cv2_on_hand_made_series():
    target = frame({
        "smooth@S": [4, 5, 4, 5, 4, 5, 4, 5],  # ADI 1, CV² (0.5 / 4.5)² = 0.0123
        "erratic@S": [1, 9, 1, 9, 1, 9, 1, 9],  # ADI 1, CV² (4 / 5)² = 0.64
        "intermittent@S": [0, 3, 0, 3, 0, 0, 3, 0],  # ADI 8 / 3, sizes all 3: CV² 0
        "lumpy@S": [0, 1, 0, 0, 9, 0, 0, 0],  # ADI 4, sizes 1 and 9: CV² 0.64
    })
    classes = classify_series(target, ForecastConfig(horizon=2)).set_index("unique_id")
    assert classes.demand_class.to_dict() == {"erratic@S": "erratic", "intermittent@S": "intermittent",
                                               "lumpy@S": "lumpy", "smooth@S": "smooth"}
    assert classes.adi.to_dict() == pytest.approx({"erratic@S": 1.0, "intermittent@S": 8 / 3, "lumpy@S": 4.0,
                                                    "smooth@S": 1.0})
    assert classes.cv2.to_dict() == pytest.approx({"erratic@S": 0.64, "intermittent@S": 0.0, "lumpy@S": 0.64,
                                                    "smooth@S": (0.5 / 4.5) ** 2})
    assert classes.loc["lumpy@S", "demand_periods"] == 2


def test_zeros_at_closed_positions_of_the_cycle_are_not_intermittency():
    hours = np.arange(24 * 10) % 24
    departures = np.where(hours >= 6, 5 + hours % 3, 0)  # nothing leaves between midnight and six
    slow = np.where(np.arange(24 * 10) % 13 == 0, 4, 0)  # demand every 13 hours: intermittent at every hour
    config = ForecastConfig(freq="h", seasons=(24,), horizon=24)
    classes = classify_series(frame({"departures@S": departures, "slow@S": slow}, freq="h"), config).set_index("unique_id")
    assert classes.closed_periods.to_dict() == {"departures@S": 60, "slow@S": 0}
    assert classes.adi.to_dict() == pytest.approx({"departures@S": 1.0, "slow@S": 240 / 19})
    assert classes.demand_class.to_dict() == {"departures@S": "smooth", "slow@S": "intermittent"}
    short = classify_series(frame({"departures@S": departures[:72]}, freq="h"), config)  # three cycles: not judged
    assert short.closed_periods.tolist() == [0] and short.demand_class.tolist() == ["intermittent"]




def test_candidate_sets_by_class_and_usable_seasons():
    config = ForecastConfig(seasons=(24, 168), models=("AutoETS", "Theta", "AutoARIMA", "MSTL"))
    names = lambda c, s: [repr(m) for m in candidate_models(c, s, config)]  # noqa: E731
    assert names("smooth", (24, 168)) == ["SeasonalNaive", "Naive", "AutoETS", "Theta", "AutoARIMA", "MSTL"]
    assert names("lumpy", (24,)) == ["SeasonalNaive", "CrostonOptimized", "ADIDA", "IMAPA", "TSB"]
    assert names("smooth", ()) == ["SeasonalNaive", "AutoETS", "Theta", "AutoARIMA"]  # no season: no MSTL, no 2nd naive
    hourly = {repr(m): m for m in candidate_models("smooth", (24, 168), config)}
    assert hourly["SeasonalNaive"].season_length == 24 and hourly["MSTL"].season_length == [24, 168]
    # a seasonal ARIMA search at 24 costs more than the rest together: ARIMA on the seasonally adjusted series instead
    assert hourly["AutoARIMA"].season_length == [24, 168] and hourly["AutoARIMA"].trend_forecaster.season_length == 1
    assert {repr(m): m for m in candidate_models("smooth", (12,), config)}["AutoARIMA"].season_length == 12
    weekly = {repr(m): m for m in candidate_models("smooth", (52,), config)}
    assert weekly["AutoETS"].season_length == 1 and weekly["AutoETS"].model == "ZZN"  # statsforecast's ETS stops at 24
    daily = {repr(m): m for m in candidate_models("smooth", (7,), forecast_definition("daily_store_demand"))}
    assert list(daily) == ["SeasonalNaive", "Naive", "AutoETS", "Theta", "MSTL"] and daily["AutoETS"].model == "ZNA"


def test_short_histories_get_shorter_seasons_and_fewer_windows():
    config = ForecastConfig(freq="h", seasons=(24, 168), horizon=12, windows=4)
    lengths = {"long@S": 600, "mid@S": 150, "short@S": 40, "tiny@S": 20}
    target = frame({uid: np.ones(n) for uid, n in lengths.items()})
    plan = classify_series(target, config).set_index("unique_id")
    # windows: (periods - horizon - 2 x horizon) // step + 1, at most 4; seasons: two cycles in the shortest training
    assert plan.windows.to_dict() == {"long@S": 4, "mid@S": 4, "short@S": 1, "tiny@S": 0}
    assert plan.seasons.to_dict() == {"long@S": "24,168", "mid@S": "24", "short@S": "", "tiny@S": ""}


def test_definitions_come_from_the_settings_file_and_round_trip_through_a_table_row():
    definitions = forecast_definitions()
    assert {"daily_store_demand", "weekly_store_demand", "hourly_store_demand"} <= set(definitions)
    daily = definitions["daily_store_demand"]
    assert (daily.freq, daily.seasons, daily.horizon) == ("D", (7,), 28) and daily == ForecastConfig(
        history=730, models=("AutoETS", "Theta", "MSTL"), ets_model="ZNA")
    hourly = forecast_definition("hourly_store_demand", horizon=24)
    assert (hourly.freq, hourly.seasons, hourly.horizon, hourly.source) == ("h", (24, 168), 24, "order_lines")
    assert ForecastConfig.from_mapping(hourly.as_row()) == hourly
    with pytest.raises(ValueError, match="no forecast definition 'monthly'"):
        forecast_definition("monthly")
    with pytest.raises(ValueError, match="unknown models"):
        ForecastConfig(models=("Prophet",))
    with pytest.raises(ValueError, match="unknown forecast settings"):
        ForecastConfig.from_mapping({"horizn": 3})


def test_backtest_metrics_by_hand():
    folds = pd.DataFrame({
        "unique_id": "A@S", "model": "M", "window": [2, 2, 1, 1, 0, 0], "fallback": False,
        "y": [2.0, 5.0, 3.0, 5.0, 5.0, 9.0],
        "forecast": [2.0, 2.0, 3.0, 3.0, 6.0, 6.0],
        "role": ["selection"] * 4 + ["holdout"] * 2,
    })
    metrics = score_backtest(folds, pd.Series({"A@S": 2.0})).set_index("role")
    selection = metrics.loc["selection"]  # windows: MAE 1.5 and 1 over the scale 2
    assert selection.windows == 2 and selection.mase == pytest.approx((0.75 + 0.5) / 2)
    assert selection.actual == 15 and selection.abs_error == 5 and selection.error == -5
    assert selection.wape == pytest.approx(5 / 15) and selection.bias == pytest.approx(-5 / 15)
    assert metrics.loc["holdout"].mase == pytest.approx(2 / 2)


def test_scales_use_the_main_usable_season():
    target = frame({"A@S": [1, 3, 2, 5, 3, 5], "B@S": [1, 3, 2, 5, 3, 5]})
    classes = pd.DataFrame({"unique_id": ["A@S", "B@S"], "seasons": ["2", ""]})
    scales = mase_scales(target, classes)
    assert scales.to_dict() == pytest.approx({"A@S": (1 + 2 + 1 + 0) / 4, "B@S": (2 + 1 + 3 + 2 + 2) / 5})


def test_choice_keeps_the_combination_unless_a_single_model_beats_it_in_every_window():
    metrics = pd.DataFrame({
        "unique_id": ["A"] * 3 + ["B"] * 3 + ["C"] * 3 + ["F"] * 2,
        "model": ["AutoETS", "SeasonalNaive", "Combination"] * 3 + ["AutoETS", "SeasonalNaive"],
        "role": "selection", "windows": [3, 3, 3, 3, 3, 3, 1, 1, 1, 3, 3],
        "beats_combination": [2, 0, 0, 3, 3, 0, 1, 0, 0, 0, 0],  # A: AutoETS lower on average, not in every window
        "fallback": [False, False, False, True, False, False, False, False, False, False, False],
        "mase": [0.9, 1.2, 1.0, 0.5, 0.6, 0.8, 0.5, 1.2, 1.0, 0.7, 0.7], "abs_error": 1.0,
    })
    classes = pd.DataFrame({"unique_id": ["A", "B", "C", "D", "E", "F"], "demand_class": "smooth", "seasons": "7", "closed_positions": "",
                            "periods": [400, 400, 400, 20, 1, 400]})
    choice = choose_models(metrics, classes).set_index("unique_id")
    assert choice.model.to_dict() == {"A": "Combination", "B": "AutoETS", "C": "Combination", "D": "Naive",
                                      "E": "HistoricAverage", "F": "SeasonalNaive"}  # C: one window is no evidence
    assert choice.fallback.to_dict() == {"A": False, "B": True, "C": False, "D": False, "E": False, "F": False}
    assert choice.selected_by.to_dict() == {"A": "backtest", "B": "backtest", "C": "backtest", "D": "short_history",
                                            "E": "short_history", "F": "backtest"}  # F: no combination, tie to the baseline


def test_windows_beating_the_combination_are_counted_per_model():
    folds = pd.DataFrame({
        "unique_id": "A", "window": [2, 1, 2, 1], "role": "selection", "fallback": False, "y": 10.0,
        "model": ["Combination", "Combination", "AutoETS", "AutoETS"], "forecast": [12.0, 11.0, 11.0, 13.0],
    })
    metrics = score_backtest(folds, pd.Series({"A": 1.0})).set_index("model")
    assert metrics.beats_combination.to_dict() == {"AutoETS": 1, "Combination": 0}


def poisson_series(count: int, days: int, seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    weekday = np.array([0.8, 0.9, 1.0, 1.0, 1.3, 1.5, 0.5])
    rates = {f"P{i}@ST-1": 4 + i for i in range(count)}
    return frame({uid: rng.poisson(rate * weekday[np.arange(days) % 7]) for uid, rate in rates.items()})


CONFIG = ForecastConfig(horizon=14, windows=3, models=("AutoETS", "Theta"), ets_model="ZNA")


class Failing(ConstantModel):
    """A candidate that raises on every series."""

    def forecast(self, y, h, X=None, X_future=None, fitted=False):
        raise RuntimeError("no fit")


def with_failing(demand_class, seasons, config) -> list:
    return [*candidate_models(demand_class, seasons, config), Failing(constant=0.0, alias="Failing")]


def with_overshoot(demand_class, seasons, config) -> list:
    """The normal candidates plus a model that always forecasts 40 units a day."""
    return [*candidate_models(demand_class, seasons, config), ConstantModel(constant=40.0, alias="Overshoot")]


def test_a_failing_candidate_falls_back_to_the_baseline_and_says_so():
    target = poisson_series(count=2, days=90)
    folds, cost = backtest(target, classify_series(target, CONFIG), CONFIG, candidates=with_failing)
    failing, baseline = (folds[folds.model == m].set_index(["unique_id", "ds", "window"]) for m in ("Failing", "SeasonalNaive"))
    assert failing.fallback.all() and not baseline.fallback.any()
    assert failing.forecast.tolist() == baseline.loc[failing.index].forecast.tolist()
    assert folds[folds.model == "Combination"].fallback.all()  # it averages the failed one too
    assert set(cost.model) >= {"Failing", "SeasonalNaive", "Combination"} and (cost.cpu_seconds >= 0).all()
    forced = forecast_demand(target, CONFIG, candidates=with_failing, force_model="Failing")
    assert forced.choice.fallback.all() and forced.forecast.fallback.all()


def test_gate_passes_the_selected_portfolio_and_refuses_a_forced_bad_model():
    target = poisson_series(count=4, days=120)

    chosen = forecast_demand(target, CONFIG, candidates=with_overshoot)
    assert chosen.passed
    assert "Overshoot" not in chosen.choice.model.values
    assert chosen.figures["portfolio_mase"] < chosen.figures["baseline_mase"]

    forced = forecast_demand(target, CONFIG, candidates=with_overshoot, force_model="Overshoot")
    assert set(forced.choice.model) == {"Overshoot"}
    assert not forced.passed
    assert forced.figures["portfolio_mase"] > forced.figures["baseline_mase"]
    assert "does not beat" in forced.figures["gate_verdict"]
    with pytest.raises(ValueError, match="Overshoot was not backtested"):
        forecast_demand(target, CONFIG, force_model="Overshoot")


def test_accuracy_by_class_by_hand_and_undefined_without_sales():
    metrics = pd.DataFrame({
        "unique_id": ["a", "a", "b", "b", "z", "z"], "role": "holdout",
        "model": ["ETS", "SeasonalNaive", "ETS", "SeasonalNaive", "ETS", "SeasonalNaive"],
        "abs_error": [2.0, 4.0, 1.0, 3.0, 1.0, 2.0], "actual": [10.0, 10.0, 10.0, 10.0, 0.0, 0.0],
        "mase": [1.0, 2.0, 0.5, 1.5, 1.0, 1.0]})
    choice = pd.DataFrame({"unique_id": ["a", "b", "z"], "model": ["ETS", "SeasonalNaive", "ETS"],
                           "demand_class": ["smooth", "smooth", "lumpy"]})
    rows = accuracy_by_class(metrics, choice).set_index("demand_class")
    assert rows.loc["smooth", ["series", "portfolio_wape", "seasonal_naive_wape"]].tolist() == [2, 0.25, 0.35]  # (2+3)/20, (4+3)/20
    assert rows.loc["smooth", ["portfolio_mase", "seasonal_naive_mase"]].tolist() == [1.25, 1.75]
    assert rows.loc["lumpy"].isna()[["portfolio_wape", "seasonal_naive_wape"]].all()  # nothing sold: WAPE undefined


def test_each_series_is_judged_on_its_own_last_window():
    target = poisson_series(count=2, days=100)
    target = target[~((target.unique_id == "P1@ST-1") & (target.ds > target.ds.max() - pd.Timedelta(days=5)))]
    folds, _ = backtest(target, classify_series(target, CONFIG), CONFIG)
    cutoffs = folds.groupby(["unique_id", "role"]).cutoff.unique()
    assert cutoffs.loc[("P0@ST-1", "holdout")].tolist() == [DAY + pd.Timedelta(days=99 - 14)]
    assert cutoffs.loc[("P1@ST-1", "holdout")].tolist() == [DAY + pd.Timedelta(days=94 - 14)]
    assert all(len(cutoffs.loc[(uid, "selection")]) == 2 for uid in ("P0@ST-1", "P1@ST-1"))


def test_gate_is_scale_free_strict_and_needs_judged_series():
    figures = {"series_judged": 3, "portfolio_mase": 0.9, "baseline_mase": 1.0, "share_not_worse": 2 / 3,
               "portfolio_wape": 0.7, "baseline_wape": 0.5}
    assert gate(figures)[0] is True  # a worse pooled WAPE (one large series) does not fail it
    assert gate({**figures, "portfolio_mase": 1.0})[0] is False
    assert gate({**figures, "share_not_worse": 0.5})[0] is False  # better on average, but not for most series
    assert gate({**figures, "series_judged": 0, "portfolio_mase": float("nan")})[0] is False


def test_portfolio_figures_pair_series_and_count_the_share_no_worse():
    metrics = pd.DataFrame({"unique_id": ["a", "a", "b", "b", "c", "c"], "role": "holdout",
                            "model": ["AutoETS", "SeasonalNaive"] * 3, "mase": [0.5, 1.0, 2.0, 1.0, 1.0, 1.0],
                            "abs_error": [1.0, 2.0, 90.0, 10.0, 1.0, 1.0], "error": 0.0,
                            "actual": [10.0, 10.0, 100.0, 100.0, 5.0, 5.0]})
    choice = pd.DataFrame({"unique_id": ["a", "b", "c"], "model": ["AutoETS", "AutoETS", "SeasonalNaive"],
                           "demand_class": "smooth", "selected_by": "backtest", "fallback": False})
    folds = pd.DataFrame(columns=["unique_id", "ds", "model", "role", "window", "step", "y", "forecast"])
    figures = portfolio_figures(folds, metrics, choice, pd.Series(dtype=float))
    assert figures["portfolio_mase"] == pytest.approx((0.5 + 2.0 + 1.0) / 3) and figures["baseline_mase"] == 1.0
    assert figures["share_not_worse"] == pytest.approx(2 / 3) and figures["share_beaten"] == pytest.approx(1 / 3)
    assert figures["portfolio_wape"] == pytest.approx(92 / 115)


def test_published_forecast_intervals_are_ordered_and_never_negative():
    target = poisson_series(count=3, days=100)
    run = forecast_demand(target, CONFIG)
    published = run.forecast
    assert list(published.columns) == ["unique_id", "product_id", "location_id", "ds", "step", "model", "fallback",
                                       "p10", "p50", "p90"]
    assert len(published) == 3 * CONFIG.horizon
    assert (published.groupby("unique_id").step.apply(list).map(lambda s: s == list(range(1, 15)))).all()
    assert published.ds.min() == target.ds.max() + pd.Timedelta(days=1)
    assert (published.p10 >= 0).all()
    assert (published.p10 <= published.p50).all() and (published.p50 <= published.p90).all()
    assert (published.p90 > published.p10).any()
    assert 0 <= run.figures["interval_coverage"] <= 1 and set(run.intervals.step) == set(range(1, 15))


def test_series_ending_on_different_dates_get_every_step_and_an_interval():
    target = poisson_series(count=2, days=100)
    target = target[(target.unique_id == "P0@ST-1") | (target.ds < target.ds.max() - pd.Timedelta(days=9))]
    run = forecast_demand(target, CONFIG)
    assert len(run.forecast) == 2 * CONFIG.horizon and run.forecast.p50.notna().all()
    assert (run.forecast.groupby("unique_id").step.apply(list).map(lambda s: s == list(range(1, 15)))).all()
    assert (run.forecast.p90 > run.forecast.p10).all()
    assert set(run.folds.step) == set(range(1, 15))


def test_conformal_quantiles_use_the_chosen_models_residuals_over_units_left_out_of_their_window():
    # A's chosen Theta errs +1, -2, +3 at both steps of windows 1, 2, 3 (mean absolute error 1, 2, 3); a
    # candidate it was preferred to (AutoETS) errs by 99 and must not widen A's intervals
    rows = [{"unique_id": "A", "model": "Theta", "window": w, "step": step, "y": r, "forecast": 0.0}
            for w, r in ((1, 1.0), (2, -2.0), (3, 3.0)) for step in (1, 2)]
    rows += [{"unique_id": "A", "model": "AutoETS", "window": 1, "step": step, "y": 99.0, "forecast": 0.0} for step in (1, 2)]
    folds, choice = pd.DataFrame(rows), pd.DataFrame({"unique_id": ["A", "C"], "model": ["Theta", "Naive"]})
    scales = pd.Series({"A": 1.0, "C": 4.0})
    # each window over the mean absolute error of the other two: 1 / 2.5, -2 / 2, 3 / 1.5
    table = conformal_quantiles(folds, choice, scales, horizon=2, quantiles=(0.0, 1.0))
    assert table.step.tolist() == [1, 2]
    assert table.q_low.tolist() == pytest.approx([-1.0, -1.0]) and table.q_high.tolist() == pytest.approx([2.0, 2.0])
    assert conformal_quantiles(folds, choice, scales, horizon=2, quantiles=(0.5, 0.5)).q_low.tolist() == pytest.approx([0.4, 0.4])
    # units: A's own mean absolute error; C, never backtested, its MASE scale times the others' unit / scale (2)
    assert interval_units(folds, choice, scales).to_dict() == pytest.approx({"A": 2.0, "C": 8.0})


def test_held_out_coverage_is_nominal_for_steady_and_noisy_series_alike():
    # same MASE scale, chosen-model errors 1 and 6 wide: one unit for all would over-cover the steady
    # series and under-cover the noisy ones; a unit per series covers about 80% of each
    rng = np.random.default_rng(5)
    ids = {f"steady{i}": 1.0 for i in range(300)} | {f"noisy{i}": 6.0 for i in range(300)}
    rows = [{"unique_id": u, "model": "Theta", "window": w, "step": step, "ds": DAY + pd.Timedelta(days=10 * w + step),
             "role": "holdout" if w == 0 else "selection", "y": 30 + rng.normal(0, width), "forecast": 30.0}
            for u, width in ids.items() for w in range(4) for step in (1, 2, 3)]
    folds, choice = pd.DataFrame(rows), pd.DataFrame({"unique_id": list(ids), "model": "Theta"})
    held = holdout_forecast(folds, choice, pd.Series(1.0, index=list(ids)))
    covered = ((held.y >= held.p10) & (held.y <= held.p90)).groupby(held.unique_id.str.rstrip("0123456789")).mean()
    assert covered.to_dict() == pytest.approx({"noisy": 0.8, "steady": 0.8}, abs=0.05)


def test_intervals_around_the_forecast_are_ordered_and_clipped_at_zero():
    # p10 / p90 = p50 + the series' interval unit (4 for A, 1 for B) x the step's quantiles
    target = frame({"A@S": [0, 1, 2, 3, 4, 5, 6] * 2, "B@S": [0, 1, 2, 3, 4, 5, 6] * 2})
    choice = pd.DataFrame({"unique_id": ["A@S", "B@S"], "demand_class": "smooth", "seasons": "", "closed_positions": "",
                           "model": "Naive", "selected_by": "short_history", "fallback": False})
    table = pd.DataFrame({"step": [1, 2], "q_low": [-1.0, -2.0], "q_high": [0.5, 1.0]})
    published = forecast_series(target, choice, table, pd.Series({"A@S": 4.0, "B@S": 1.0}),
                                ForecastConfig(horizon=2)).set_index(["unique_id", "step"])
    assert published.p50.tolist() == [6, 6, 6, 6]  # the naive repeats the last value
    assert published.loc["A@S"].p10.tolist() == [2, 0] and published.loc["A@S"].p90.tolist() == [8, 10]
    assert published.loc["B@S"].p10.tolist() == [5, 4] and published.loc["B@S"].p90.tolist() == [6.5, 7]


def test_representative_series_one_per_class_by_volume():
    target = frame({"a@S": [5, 5, 5, 5], "b@S": [9, 9, 9, 9], "c@S": [0, 1, 0, 0]})
    classes = pd.DataFrame({"unique_id": ["a@S", "b@S", "c@S"], "demand_class": ["smooth", "smooth", "lumpy"]})
    assert representative_series(classes, target) == ["b@S", "c@S"]


def test_chart_of_held_out_forecasts_is_a_png_with_one_panel_per_series():
    target = poisson_series(count=2, days=100)
    run = forecast_demand(target, CONFIG)
    held_out = holdout_forecast(run.folds, run.choice, mase_scales(target, run.classes))
    assert set(held_out.columns) == {"unique_id", "ds", "step", "model", "y", "p10", "p50", "p90"}
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
    config = ForecastConfig(horizon=7)
    local, local_cpu = run_statsforecast(target, models, config)
    distributed, spark_cpu = run_statsforecast(target, models, config, engine=spark)
    local, distributed = (f.sort_values(["unique_id", "model", "ds"], ignore_index=True) for f in (local, distributed))
    pd.testing.assert_frame_equal(distributed[local.columns], local, check_exact=False, rtol=1e-5)
    assert local_cpu >= 0 and np.isnan(spark_cpu)  # the executors' CPU is not this process's


def test_closed_hours_are_forecast_as_zero_in_the_backtest_and_the_forecast():
    rng = np.random.default_rng(5)
    hours = np.arange(24 * 14) % 24
    target = frame({f"dep{i}@S": np.where(hours >= 6, rng.poisson(8, hours.size), 0) for i in range(2)}, freq="h")
    config = ForecastConfig(freq="h", seasons=(24,), horizon=24, windows=2, models=("Theta",))
    run = forecast_demand(target, config)
    assert run.classes.closed_positions.tolist() == ["0,1,2,3,4,5"] * 2
    night = run.folds[run.folds.ds.dt.hour < 6]
    assert len(night) and (night.forecast == 0).all()
    assert (run.folds.loc[run.folds.ds.dt.hour >= 6, "forecast"] > 0).all()
    published = run.forecast.assign(hour=run.forecast.ds.dt.hour)
    assert (published.loc[published.hour < 6, "p50"] == 0).all() and (published.loc[published.hour >= 6, "p50"] > 0).all()
