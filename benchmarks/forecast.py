"""Forecast zone: speed on the large sample, accuracy on public series, anomalies against ground truth.

1. Large sample, through the hub's own path (curated daily sales -> target series -> classify,
   backtest, select, gate, forecast) with n_jobs = cores: series per second, next to the same
   statsforecast calls done bare on the same frames (prepared outside the clock) - the hub's
   overhead, target under 20% - and the time spent outside statsforecast within the hub's own run.
2. Public data: the same model selection on real series shipped with installed packages:
   AirPassengers (statsforecast), the euro-area electrical equipment index, Nino 3 sea surface
   temperatures and Mauna Loa CO2 as monthly means (statsmodels), and ten US quarterly macro series
   (statsmodels macrodata); held-out MASE of the hub's portfolio next to the seasonal naive and each
   candidate used alone, all computed in this run.
3. Store-sales anomalies on the large sample against its injected truth (truth/sales_anomalies.csv).

The large sample's curated zone comes from the curated_zone benchmark's hub (built here if missing).
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterator
from contextlib import contextmanager

import pandas as pd
from statsforecast import StatsForecast
from statsforecast.utils import AirPassengersDF
from statsmodels.datasets import co2, elec_equip, elnino, macrodata

from benchmarks.common import Report, Stopwatch, clean_hub, hub_home, timed
from hub_platform.defs.forecast.anomalies import detect_sales_anomalies, evaluate_anomalies
from hub_platform.defs.forecast.demand_series import related_series, target_series
from hub_platform.defs.forecast.forecasting import (
    BASELINE,
    FailedFit,
    ForecastConfig,
    candidate_models,
    forecast_definition,
    forecast_demand,
    season_tuple,
)
from hub_platform.lib.lake.store import Lake, Location
from hub_platform.serving.cli import materialize
from hub_platform.sources.reference import holidays

MACRO = ["realgdp", "realcons", "realinv", "realgovt", "realdpi", "cpi", "m1", "tbilrate", "unemp", "pop"]
MONTHLY = ForecastConfig(name="public_monthly", horizon=12, windows=3, seasons=(12,), freq="MS", nonnegative=False)
QUARTERLY = ForecastConfig(name="public_quarterly", horizon=8, windows=3, seasons=(4,), freq="QS", nonnegative=False)
HELD_OUT = [("WAPE", "wape", ".3f"), ("bias", "bias", "+.3f"), ("mean MASE", "mase", ".3f")]
CURATED_INPUTS = ("daily_sales", "inventory_position", "price", "location")


def run() -> Report:
    report = Report("forecast")
    warnings.filterwarnings("ignore", category=UserWarning)
    public_accuracy(report)
    data = large_sample()
    large_forecast(report, data)
    anomalies(report, data)
    report.save()
    return report


def large_sample() -> dict[str, pd.DataFrame]:
    """The curated inputs of the forecast zone on the large sample, and its truth."""
    home = clean_hub("large")
    lake = Lake(Location(str(home / "lake")))
    if not all(lake.has_table("curated", name) for name in CURATED_INPUTS):
        with hub_home(home):
            materialize(["group:curated"], raise_on_error=True)
    data = {name: lake.read("curated", name).to_pandas() for name in CURATED_INPUTS}
    truth = pd.read_csv(home / "truth" / "sales_anomalies.csv")
    data["truth"] = truth.assign(product_id=truth.sku, sales_date=pd.to_datetime(truth.date))
    return data


def public_accuracy(report: Report) -> None:
    held_out = []
    for frame, config in ((monthly_series(), MONTHLY), (quarterly_series(), QUARTERLY)):
        result = forecast_demand(frame, config)
        holdout = result.metrics[result.metrics["role"] == "holdout"]
        chosen = holdout.merge(result.choice[["unique_id", "model"]], on=["unique_id", "model"])
        held_out.append(pd.concat([holdout, chosen.assign(model="hub portfolio")]))
    mase = pd.concat(held_out).groupby("model")["mase"].agg(["mean", "size"])
    report.add(f"public series (4 monthly, {len(MACRO)} quarterly), held-out MASE", f"{mase.loc[BASELINE, 'size']} series")
    report.add("  hub portfolio (selected per series)", f"{mase.loc['hub portfolio', 'mean']:8.3f}")
    report.add(f"  {BASELINE} (reference)", f"{mase.loc[BASELINE, 'mean']:8.3f}")
    for model in mase.index.difference(["hub portfolio", BASELINE]):
        report.add(f"  {model} for every series", f"{mase.loc[model, 'mean']:8.3f}")


def monthly_series() -> pd.DataFrame:
    months = lambda start, count: pd.date_range(start, periods=count, freq="MS")  # noqa: E731
    nino = elnino.load_pandas().data.set_index("YEAR").stack()
    return _long({
        "air_passengers": pd.Series(AirPassengersDF["y"].to_numpy(), index=months("1949-01-01", len(AirPassengersDF))),
        "elec_equip": elec_equip.load_pandas().data.iloc[:, 0],
        "nino3_sst": pd.Series(nino.to_numpy(), index=months(f"{int(nino.index[0][0])}-01-01", len(nino))),
        "co2_mauna_loa": co2.load_pandas().data["co2"].resample("MS").mean().interpolate(),
    })


def quarterly_series() -> pd.DataFrame:
    macro = macrodata.load_pandas().data
    quarters = pd.date_range("1959-01-01", periods=len(macro), freq="QS")
    return _long({name: pd.Series(macro[name].to_numpy(), index=quarters) for name in MACRO})


def _long(named: dict[str, pd.Series]) -> pd.DataFrame:
    return pd.concat([pd.DataFrame({"unique_id": name, "product_id": name, "location_id": "public", "ds": values.index,
                                    "y": values.to_numpy(dtype=float)}) for name, values in named.items()],
                     ignore_index=True)


def large_forecast(report: Report, data: dict[str, pd.DataFrame]) -> None:
    datasets = timed()
    with datasets.running():
        target = target_series(data["daily_sales"], data["inventory_position"])
    series = target["unique_id"].nunique()
    report.add("large sample: series x days", f"{series:,} x {target.ds.nunique()} ({len(target):,} rows)")
    report.add("  target series from curated daily sales", f"{datasets.seconds:8.1f} s")
    config = forecast_definition("daily_store_demand", n_jobs=os.cpu_count() or 1)
    hub, inside = timed(), timed()
    with hub.running(), statsforecast_clock(inside):
        result = forecast_demand(target, config)
    bare = bare_statsforecast(target, result, config)
    report.add(f"  hub: classify + backtest ({config.windows} x {config.horizon} d) + forecast, n_jobs={config.n_jobs}",
               f"{hub.seconds:8.1f} s  {series / hub.seconds:6.1f} series/s")
    report.add("  the same statsforecast calls, bare (reference)", f"{bare:8.1f} s  {series / bare:6.1f} series/s")
    report.add("  hub / bare - 1 (target < 20%)", f"{hub.seconds / bare - 1:8.1%}")
    report.add("  hub code outside its statsforecast calls, same run",
               f"{hub.seconds - inside.seconds:8.1f} s  ({(hub.seconds - inside.seconds) / inside.seconds:.1%} of their time)")
    figures = result.figures
    for label, key, style in HELD_OUT:
        report.add(f"  held-out {label}: portfolio vs seasonal naive",
                   f"{figures[f'portfolio_{key}']:{style}} vs {figures[f'baseline_{key}']:{style}}")
    report.add("  held-out share of series no worse than the seasonal naive", f"{figures['share_not_worse']:.3f}")
    report.add("  held-out p10-p90 coverage (target 0.80)", f"{figures['interval_coverage']:.3f}")
    report.add("  CPU s per series fit, by candidate", ", ".join(
        f"{r.model} {r.cpu_seconds_per_series_fit:.4f}" for r in result.cost.itertuples()))
    report.add("  gate", figures["gate_verdict"])
    report.add("  models chosen", ", ".join(f"{m} {n}" for m, n in figures["models"].items()))


def anomalies(report: Report, data: dict[str, pd.DataFrame]) -> None:
    stores = data["location"].loc[data["location"].location_type == "store", "location_id"]
    sales = data["daily_sales"][data["daily_sales"].location_id.isin(stores)]
    target = target_series(sales, data["inventory_position"])
    related = related_series(target, sales, data["price"], data["location"], holidays())
    detection = timed()
    with detection.running():
        found = detect_sales_anomalies(target, related)
    report.add("store-sales anomalies, large sample: detection", f"{detection.seconds:8.1f} s ({len(target):,} series-days)")
    report_anomalies(report, evaluate_anomalies(found, data["truth"]), data["truth"])


def report_anomalies(report: Report, scores: dict, truth: pd.DataFrame) -> None:
    kinds = truth["kind"].value_counts()
    report.add("  detected / injected (spikes, drops) / true positives",
               f"{scores['detected']} / {scores['truth']} ({kinds.get('spike', 0)}, {kinds.get('drop', 0)})"
               f" / {scores['true_positives']}")
    report.add("  precision, recall (spikes, drops)", f"{scores['precision']:.2f}, {scores['recall']:.2f} "
               f"({scores['recall_spike']:.2f}, {scores['recall_drop']:.2f})")


@contextmanager
def statsforecast_clock(clock: Stopwatch) -> Iterator[None]:
    """Add the time spent inside StatsForecast.cross_validation and .forecast to ``clock``."""
    originals = {name: getattr(StatsForecast, name) for name in ("cross_validation", "forecast")}

    def timed_call(original):
        def call(self, *args, **kwargs):
            with clock.running():
                return original(self, *args, **kwargs)
        return call

    for name, original in originals.items():
        setattr(StatsForecast, name, timed_call(original))
    try:
        yield
    finally:
        for name, original in originals.items():
            setattr(StatsForecast, name, original)


def bare_statsforecast(target: pd.DataFrame, result, config: ForecastConfig) -> float:
    """Seconds for the hub's statsforecast calls alone: per demand-class group and backtest origin one forecast
    per candidate, and one per candidate for the final forecast, on frames cut beforehand (outside the clock)."""
    ordered = target[["unique_id", "ds", "y"]].sort_values(["unique_id", "ds"])
    from_end = ordered.groupby("unique_id").cumcount(ascending=False)
    calls = []
    for (demand_class, seasons), members in result.classes[result.classes.windows > 0].groupby(["demand_class", "seasons"]):
        models = candidate_models(demand_class, season_tuple(seasons), config)
        for window in range(-1, int(members.windows.max())):  # -1: the final forecast on the whole history
            ids = members.unique_id if window < 0 else members.loc[members.windows > window, "unique_id"]
            back = 0 if window < 0 else config.horizon + window * config.step
            fitted = ordered.unique_id.isin(ids) & (from_end >= back) & (from_end < back + (config.history or len(ordered)))
            calls += [(ordered[fitted], model) for model in models]
    clock = timed()
    with clock.running():
        for data, model in calls:
            StatsForecast(models=[model], freq=config.freq, n_jobs=config.n_jobs, fallback_model=FailedFit()).forecast(
                df=data, h=config.horizon)
    return clock.seconds


if __name__ == "__main__":
    run()
