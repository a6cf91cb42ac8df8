"""forecast/: demand forecasts per product and location that earn their publication, and sales anomalies.

What is forecast is a definition (hub_platform/defs/forecast/forecast_definitions.toml; run config of
forecast/target_series picks one: daily store demand by default, weekly or hourly demand the same way):
target, related and item datasets → backtest (rolling origin, models chosen per series on the earlier
windows) → candidate forecast (p10/p50/p90), guarded by a blocking check: the portfolio must beat
the seasonal naive on the held-out window → published (only a forecast that passed reaches it; a
failed gate leaves the previous one published) → planning export (days of cover and stock-out risk
against forecast demand). Sales anomalies are scored on daily store demand and alerted when recent.

The nightly schedule refreshes the whole group; automation also refreshes it when daily sales change.
statsforecast runs on this machine's cores, or on Spark when the hub's Spark is a cluster.
"""

import base64
import io
import os
from datetime import timedelta

import dagster as dg
import pandas as pd
import pyarrow as pa
from pyspark.sql import functions as F

from hub_platform.defs.curated import planning
from hub_platform.defs.curated.assets import curated_key, planning_summary
from hub_platform.defs.forecast import anomalies, demand_series, forecasting
from hub_platform.defs.forecast.charts import forecast_chart
from hub_platform.lib.gx import check_rules
from hub_platform.lib.metadata import figures, markdown_table, table_metadata
from hub_platform.lib.resources import NotificationResource
from hub_platform.lib.tables import Findings, Inputs, State, Zone, ZoneAsset, gx_check, table_assets
from hub_platform.sources import reference

OWNER = "team:demand-planning"
PANDAS = frozenset({"pandas", "statsforecast", "delta"})
ALERT_RECENT_DAYS = 7  # anomalies on older days are recorded, not alerted: nobody can act on them now
# Anomalies are looked for in store sales, whose daily units are counts of independent purchases. B2B
# orders come in contracted lumps and web orders in lines of several units, so a unit-count model would
# call every such order a spike (measured on the medium sample: 657 web "spikes" in a year, none real).
RETAIL = ("store",)


_spec = Zone("forecast").spec


TARGET = _spec(
    "target_series", ("unique_id", "ds"),
    "Target time series at the forecast definition's frequency (daily by default; weekly or hourly by run config): "
    "units per product and location (or per location) and period, from its first sale to the last complete period, "
    "periods without sales filled with explicit zeros (filled = true), stock-out days marked where a stock snapshot "
    "says so (daily series; null elsewhere).",
    not_null=("y", "product_id", "location_id"),
    columns={
        "filled": "True for days without sales filled with an explicit zero.",
        "stockout": "True where a stock snapshot shows none on hand; empty where no snapshot exists.",
    },
)
DEFINITION = _spec(
    "definition", ("name",),
    "The forecast definition the zone's tables are built with (frequency, seasons, horizon in periods, history "
    "fitted, backtest windows, candidate models): one row, from forecast_definitions.toml and the run config of "
    "forecast/target_series. Every later forecast asset reads it.",
    not_null=("freq", "horizon", "seasons"),
)
RELATED = _spec(
    "related_series", ("unique_id", "ds"),
    "Related time series for the history and the forecast horizon (future = true): list price in force in the "
    "location's currency, selling price, promotion flag, public holiday.",
    not_null=("future", "holiday"),
    columns={
        "future": "True for days of the forecast horizon.",
        "list_price": "List price in force, in the location's currency.",
        "selling_price": "Average selling price that day; empty without sales.",
        "promo": "True when sold below list price.",
        "holiday": "True on a public holiday in the location's country.",
    },
)
ITEMS = _spec("item_metadata", ("unique_id",), "Item metadata per series: category, brand, lifecycle.", not_null=("product_id",))
SERIES_CLASS = _spec(
    "series_class", ("unique_id",),
    "Syntetos-Boylan demand class per series (ADI and CV²: smooth, erratic, intermittent, lumpy), which decides "
    "the candidate models.",
    allowed=(("demand_class", forecasting.DEMAND_CLASSES),),
    columns={
        "closed_periods": "Periods at positions of the main cycle where the series is closed (demand there in under a "
                          "tenth as many cycles as at its busiest position); left out of the ADI and forecast as 0.",
        "adi": "Average demand interval: (periods - closed_periods) / demand_periods.",
        "cv2": "Squared coefficient of variation of non-zero demand.",
    },
)
FOLDS = _spec(
    "backtest_folds", ("unique_id", "model", "cutoff", "ds"),
    "Every rolling-origin backtest forecast: each candidate model, each window (role: selection or holdout).",
    allowed=(("role", ("selection", "holdout")),),
    columns={
        "y": "Units actually sold that day.",
    },
)
METRICS = _spec(
    "backtest_metrics", ("unique_id", "model", "role"),
    "MASE, WAPE and bias per series, model and role (selection windows, held-out window).",
    columns={
        "windows": "Backtest windows scored.",
        "actual": "Units actually sold over the windows.",
        "abs_error": "Sum of absolute errors in units.",
        "error": "Sum of errors (forecast - actual) relative to actual.",
        "mase": "Mean absolute scaled error (below 1: better than the in-sample seasonal naive).",
        "wape": "Weighted absolute percentage error: abs_error / actual.",
        "bias": "Mean error relative to actual (positive: over-forecast).",
        "beats_combination": "Windows in which the model's error was below the combination's (what lets a single model replace it).",
    },
)
CHOICE = _spec(
    "model_choice", ("unique_id",),
    "The model chosen per series (the combination of the strong models, unless a single model beat it in every "
    "selection window; pinned when configured), the seasons it could use and whether a candidate fell back "
    "to the seasonal naive there.",
    not_null=("model", "selected_by", "fallback"),
    columns={
        "selected_by": "backtest (the combination unless a single model beat it in every selection window), forced (pinned in the run config) or short_history.",
        "fallback": "True where a candidate failed on the series and the seasonal naive stood in for it.",
    },
)
COST = _spec(
    "backtest_cost", ("model",),
    "CPU seconds per candidate model over the backtest (this machine's processes; NaN when statsforecast ran on "
    "Spark executors), per series fit.",
    not_null=("series_fits",),
)
CANDIDATE = _spec(
    "candidate", ("unique_id", "ds"),
    "The candidate forecast: p10, p50 and p90 for the definition's horizon (step = periods ahead, in its frequency "
    "freq) with each series' chosen model; p10-p90 are conformal by horizon step. It is published only if the "
    "blocking check beats_seasonal_naive passes.",
    not_null=("p10", "p50", "p90", "model"),
)
PUBLISHED = _spec(
    "published", ("unique_id", "ds"),
    "The published forecast: the last candidate that beat the seasonal naive on held-out MASE for most series, with "
    "its definition and frequency. What `hub forecast` and the read API serve.",
    not_null=("p10", "p50", "p90", "model"),
)
EXPORT = _spec(
    "planning_export", ("unique_id", "ds"),
    "The published forecast enriched for planners: product attributes, stock on hand and in transit now, and "
    "the cumulative p50 demand against it (projected_on_hand; stockout_expected once it goes below zero; both null "
    "where the location keeps no stock snapshot).",
    not_null=("p50", "product_key", "location_key"),
)
PLANNING = _spec(
    "inventory_planning", ("product_key", "location_key"),
    "The planning view against forecast demand: days of cover, stock-out risk and reorder suggestion per product "
    "and location (the same formulas as curated/inventory_planning, with demand from the published forecast, and "
    "from sales velocity where no forecast is published for the product there; demand_source says which).",
    not_null=("demand_per_day", "stockout_risk"), allowed=(("stockout_risk", ("none", "low", "medium", "high")),),
)
ANOMALIES = _spec(
    "sales_anomalies", ("product_id", "location_id", "sales_date"),
    "Days whose store sales are improbable given the days around them (negative-binomial tail probability; promotions "
    "expected to sell more; a drop only where a stock snapshot shows stock on hand), with severity and explanation. Recent ones are "
    "alerted through the notification channel; precision and recall against the sample's truth are in the metadata. "
    f"Alerts go out for anomalies in the last {ALERT_RECENT_DAYS} days of sales not alerted before (local outbox, or SNS "
    "when HUB_SNS_TOPIC_ARN is set), before they are recorded.",
    not_null=("severity", "explanation"), allowed=(("direction", ("spike", "drop")), ("severity", ("low", "medium", "high"))),
    may_be_empty=True,
    columns={
        "units": "Units sold that day.",
        "expected": "Units expected from the days around it.",
        "score": "How improbable the day is: -log10 of the negative-binomial tail probability.",
        "direction": "spike or drop.",
        "severity": "low, medium or high, from the score.",
        "explanation": "The anomaly in words.",
    },
)


# refreshed nightly: a forecast older than two nights means the gate keeps refusing it or the runs stopped
PUBLISHED_FRESHNESS = dg.FreshnessPolicy.time_window(fail_window=timedelta(hours=50), warn_window=timedelta(hours=26))
DEFINITION_CONFIG = {
    "definition": dg.Field(str, default_value="daily_store_demand", description=(
        "The forecast definition of hub_platform/defs/forecast/forecast_definitions.toml to build "
        "(daily_store_demand, weekly_store_demand, hourly_store_demand, or one added there).")),
    "horizon": dg.Field(int, is_required=False, description="Periods ahead, overriding the definition's horizon."),
    "history": dg.Field(int, is_required=False, description="Most recent periods fitted, overriding the definition."),
}


def _definition(read: Inputs) -> forecasting.ForecastConfig:
    """The definition this run's forecast tables were built with; statsforecast on every core of this machine."""
    row = read.pandas("forecast", "definition").iloc[0].to_dict()
    return forecasting.ForecastConfig.from_mapping(row, n_jobs=os.cpu_count() or 1)


def _target(read: Inputs):
    overrides = {k: read.config[k] for k in ("horizon", "history") if read.config.get(k) is not None}
    config = forecasting.forecast_definition(read.config.get("definition", "daily_store_demand"), **overrides)
    sales = read.pandas("curated", "sales_order_line" if config.source == "order_lines" else "daily_sales")
    target = demand_series.target_series(sales, read.pandas("curated", "inventory_position"), freq=config.freq,
                                         source=config.source, grain=config.grain)
    return {"target_series": target, "definition": pd.DataFrame([config.as_row()])}


def _related(read: Inputs):
    target, config = read.pandas("forecast", "target_series"), _definition(read)
    return {"related_series": demand_series.related_series(
        target, read.pandas("curated", "daily_sales"), read.pandas("curated", "price"), read.pandas("curated", "location"),
        reference.holidays(), horizon=config.horizon, freq=config.freq,
    )}


def _items(read: Inputs):
    products = read.pandas("curated", "product", filters=[("is_current", "=", True)])
    return {"item_metadata": demand_series.item_metadata(read.pandas("forecast", "target_series"), products)}


def _backtest(read: Inputs):
    config, target = _definition(read), read.pandas("forecast", "target_series")
    classes = forecasting.classify_series(target, config)
    folds, cost = forecasting.backtest(target, classes, config, engine=read.engine)
    metrics = forecasting.score_backtest(folds, forecasting.mase_scales(target, classes))
    choice = forecasting.choose_models(metrics, classes, force_model=read.config.get("pin_model"))
    return {"series_class": classes, "backtest_folds": folds, "backtest_metrics": metrics, "model_choice": choice,
            "backtest_cost": cost}


def _figures(read: Inputs) -> tuple[bool, dict]:
    """The gate's verdict and the held-out figures, from the backtest tables."""
    target, classes = read.pandas("forecast", "target_series"), read.pandas("forecast", "series_class")
    folds, metrics, choice = (read.pandas("forecast", n) for n in ("backtest_folds", "backtest_metrics", "model_choice"))
    return forecasting.gate(forecasting.portfolio_figures(folds, metrics, choice, forecasting.mase_scales(target, classes),
                                                          _definition(read).quantiles))


def _candidate(read: Inputs):
    config, target, classes = _definition(read), read.pandas("forecast", "target_series"), read.pandas("forecast", "series_class")
    folds, choice = read.pandas("forecast", "backtest_folds"), read.pandas("forecast", "model_choice")
    scales = forecasting.mase_scales(target, classes)
    intervals = forecasting.conformal_quantiles(folds, choice, scales, config.horizon, config.quantiles)
    units = forecasting.interval_units(folds, choice, scales)
    forecast = forecasting.forecast_series(target, choice, intervals, units, config, engine=read.engine)
    return {"candidate": forecast.assign(definition=config.name, freq=config.freq)}


def _png_markdown(png: bytes, title: str) -> str:
    return f"![{title}](data:image/png;base64,{base64.b64encode(png).decode()})"


def _candidate_report(tables: dict[str, pa.Table], read: Inputs) -> Findings:
    target, folds, metrics, choice, classes = (read.pandas("forecast", n) for n in ("target_series", "backtest_folds", "backtest_metrics",
                                                                  "model_choice", "series_class"))
    config, cost = _definition(read), read.pandas("forecast", "backtest_cost")
    passed, figures = _figures(read)
    scales = forecasting.mase_scales(target, classes)
    shown = forecasting.representative_series(classes, target)
    labels = {u: f"{c}, {m}" for u, c, m in zip(choice.unique_id, choice.demand_class, choice.model, strict=True) if u in shown}
    held_out = forecast_chart(target, forecasting.holdout_forecast(folds, choice, scales, config.quantiles), shown,
                              labels=labels, title="Held-out window: actuals vs the chosen models (p10-p90)")
    ahead = forecast_chart(target, tables["candidate"].to_pandas(), shown, labels=labels,
                           title=f"Candidate forecast, next {config.horizon} periods ({config.freq})")
    accuracy = pd.DataFrame([
        {"measure": "mean MASE", "portfolio": figures["portfolio_mase"], "seasonal naive": figures["baseline_mase"]},
        {"measure": "share of series no worse", "portfolio": figures["share_not_worse"], "seasonal naive": 1.0},
        {"measure": "WAPE (pooled)", "portfolio": figures["portfolio_wape"], "seasonal naive": figures["baseline_wape"]},
        {"measure": "bias", "portfolio": figures["portfolio_bias"], "seasonal naive": figures["baseline_bias"]},
    ]).round(4)
    fallbacks = choice[choice["fallback"]]
    closing = choice[choice["closed_positions"].astype(str) != ""]
    by_class = forecasting.accuracy_by_class(metrics, choice)
    gate_check = dg.AssetCheckResult(
        asset_key=CANDIDATE.key, check_name="beats_seasonal_naive", passed=passed,
        metadata={"verdict": figures["gate_verdict"], "portfolio_mase": float(figures["portfolio_mase"]),
                  "seasonal_naive_mase": float(figures["baseline_mase"]), "share_not_worse": float(figures["share_not_worse"]),
                  "portfolio_wape": float(figures["portfolio_wape"]), "seasonal_naive_wape": float(figures["baseline_wape"]),
                  "series_judged": figures["series_judged"]},
    )
    return Findings(
        metadata={"candidate": {
            "gate": figures["gate_verdict"],
            "accuracy_held_out": dg.MetadataValue.md(markdown_table(pa.Table.from_pandas(accuracy, preserve_index=False))),
            "accuracy_by_demand_class": dg.MetadataValue.md(markdown_table(pa.Table.from_pandas(by_class, preserve_index=False))),
            "definition": dg.MetadataValue.json(config.as_row()),
            "interval_coverage_held_out": dg.MetadataValue.float(round(figures["interval_coverage"], 4)),
            "models_chosen": dg.MetadataValue.json(figures["models"]),
            "selected_by": dg.MetadataValue.json(figures["selected_by"]),
            "fallbacks": dg.MetadataValue.md(
                f"{len(fallbacks)} series whose chosen model failed in a window and fell back to the seasonal naive there"
                + (": " + ", ".join(fallbacks["unique_id"].head(20)) if len(fallbacks) else "")),
            "closed_positions": dg.MetadataValue.md(
                f"{len(closing)} series closed at some positions of the main cycle (period {config.seasons[0]}), "
                "left out of their ADI and forecast as 0 there"
                + (": " + ", ".join(f"{u} ({c})" for u, c in zip(closing["unique_id"].head(10), closing["closed_positions"].head(10),
                                                                  strict=True)) if len(closing) else "")),
            "cpu_seconds_per_candidate": dg.MetadataValue.md(markdown_table(pa.Table.from_pandas(
                cost.round(5), preserve_index=False))),
            "chart_held_out": dg.MetadataValue.md(_png_markdown(held_out, "held-out")),
            "chart_forecast": dg.MetadataValue.md(_png_markdown(ahead, "forecast")),
        }},
        checks=[gate_check],
    )


def _published(read: Inputs):
    """The candidate, if the gate passes. The blocking check holds publication back in a run (or an
    automation tick) that builds the candidate; judging again here refuses it in a run of this asset alone."""
    passed, figures = _figures(read)
    if not passed:
        raise dg.Failure(f"forecast/candidate is refused ({figures['gate_verdict']}); the previous forecast stays published")
    return {"published": read.pandas("forecast", "candidate")}


def _export(read: Inputs):
    forecast = read("forecast", "published")
    products = read.curated("product").where("is_current").select(
        "product_key", "product_id", "product_name", "brand", "category", "lifecycle")
    places = read.curated("location").select("location_key", "location_id", "location_type")
    keyed = forecast.join(products, "product_id").join(places, "location_id")
    # planning works in units per day: a weekly or hourly forecast's units are spread over its period's days
    days = demand_series.days_per_period(_definition(read).freq)
    per_day = keyed.select(*[(F.col(c) / days).alias(c) if c in ("p10", "p50", "p90") else F.col(c) for c in keyed.columns])
    latest = planning.as_of(read.curated("inventory_position"))
    lead = planning.lead_times(read.curated("product"), read.curated("supplier"), read.curated("purchase_order"))
    velocity = planning.sales_velocity(read.curated("daily_sales"), latest.select("product_key", "location_key", "snapshot_date"))
    return {
        "planning_export": planning.forecast_against_stock(keyed, latest),
        "inventory_planning": planning.inventory_plan(latest, planning.preferring(planning.forecast_demand(per_day), velocity), lead),
    }


def _export_report(tables: dict[str, pa.Table], _read: Inputs) -> Findings:
    return Findings(metadata={"inventory_planning": planning_summary(tables["inventory_planning"])})


ANOMALY_KEYS = ["product_id", "location_id", "sales_date"]


def _anomaly_id(frame: pd.DataFrame) -> pd.Series:
    """What makes an anomaly one: the product, the place and the day (the alert's id too)."""
    return frame.product_id + "@" + frame.location_id + ":" + pd.to_datetime(frame.sales_date).dt.strftime("%Y-%m-%d")


def _anomaly_messages(found: pd.DataFrame) -> list[dict]:
    return [{
        "id": anomaly_id,
        "recipients": [f"planner:{row.location_id}"],
        "subject": f"Sales {row.direction} ({row.severity}): {row.product_id} at {row.location_id} on {row.sales_date:%d %b %Y}",
        "body": row.explanation,
        "data": {"product_id": row.product_id, "location_id": row.location_id, "sales_date": f"{row.sales_date:%Y-%m-%d}",
                 "units": float(row.units), "expected": float(row.expected), "score": float(row.score),
                 "direction": row.direction, "severity": row.severity},
    } for anomaly_id, row in zip(_anomaly_id(found), found.itertuples(), strict=True)]


def _sales_anomalies_asset() -> dg.AssetsDefinition:
    spec = ANOMALIES

    inputs = [curated_key(n) for n in ("daily_sales", "inventory_position", "price", "location")]
    asset = ZoneAsset(specs=[spec], deps=inputs, owners=[OWNER], kinds=PANDAS,
                      checks=[gx_check(spec, "One row per product, location and day; declared values.")])

    def sales_anomalies(_context: dg.AssetExecutionContext, tables: State, notifications: NotificationResource):
        # daily store demand whatever the forecast definition: the detector models daily counts
        retail = tables.arrow("curated", "location", columns=["location_id"], filters=[("location_type", "in", RETAIL)])
        daily = tables.pandas("curated", "daily_sales", filters=[("location_id", "in", retail["location_id"].to_pylist())])
        target = demand_series.target_series(daily, tables.pandas("curated", "inventory_position"))
        related = demand_series.related_series(target, daily, tables.pandas("curated", "price"),
                                               tables.pandas("curated", "location"), reference.holidays(), horizon=1)
        found = anomalies.detect_sales_anomalies(target, related)
        known = set(_anomaly_id(tables.pandas("forecast", spec.name, columns=ANOMALY_KEYS))) \
            if tables.exists("forecast", spec.name) else set()
        recent = found.sales_date > pd.Timestamp(target.ds.max()) - pd.Timedelta(days=ALERT_RECENT_DAYS)
        fresh = found[recent & ~_anomaly_id(found).isin(known)]
        sent = notifications.send("sales_anomaly", _anomaly_messages(fresh))
        # Delta stores timestamps in microseconds: a nanosecond sales_date would differ from the stored
        # schema on every rerun and make Lake.sync replace the table instead of committing nothing
        table = pa.Table.from_pandas(found, preserve_index=False)
        table = table.set_column(table.schema.get_field_index("sales_date"), "sales_date",
                                 table["sales_date"].cast(pa.timestamp("us")))
        tables.sync(table, "forecast", spec.name, keys=ANOMALY_KEYS)
        metadata = {
            **table_metadata(table, descriptions=dict(spec.columns)),
            "alerts_sent": sent,
            "by_severity": dg.MetadataValue.json(found.severity.value_counts().to_dict()),
            "most_severe": dg.MetadataValue.md(markdown_table(
                pa.Table.from_pandas(found.sort_values("score", ascending=False), preserve_index=False),
                ["product_id", "location_id", "sales_date", "units", "expected", "severity", "explanation"], limit=15)),
        }
        truth = tables.truth()
        if truth.exists("sales_anomalies.csv"):
            injected = pd.read_csv(io.BytesIO(truth.read_bytes("sales_anomalies.csv")))
            injected = injected.assign(product_id=injected.sku, sales_date=pd.to_datetime(injected.date))
            quality = anomalies.evaluate_anomalies(found, injected)
            metadata["quality_vs_truth"] = figures(quality, undefined="nothing was detected, or nothing injected, in this sample")
        yield dg.MaterializeResult(asset_key=spec.key, metadata=metadata)
        yield check_rules(tables.arrow("forecast", spec.name), spec, asset_key=spec.key)

    return asset.define(sales_anomalies)


def forecast_assets() -> list[dg.AssetsDefinition]:
    common = {"group": "forecast", "owners": [OWNER], "kinds": PANDAS}
    backtest = [DEFINITION.key, SERIES_CLASS.key, FOLDS.key, METRICS.key, CHOICE.key, COST.key]
    return [
        table_assets([TARGET, DEFINITION], deps=[curated_key(n) for n in ("daily_sales", "sales_order_line", "inventory_position")],
                     build=_target, name="forecast__target", config_schema=DEFINITION_CONFIG, **common),
        table_assets([RELATED], deps=[TARGET.key, DEFINITION.key, *map(curated_key, ("daily_sales", "price", "location"))],
                     build=_related, **common),
        table_assets([ITEMS], deps=[TARGET.key, curated_key("product")], build=_items, **common),
        table_assets([SERIES_CLASS, FOLDS, METRICS, CHOICE, COST], deps=[TARGET.key, DEFINITION.key], build=_backtest,
                     name="forecast__backtest",
                     config_schema={"pin_model": dg.Field(str, is_required=False, description=(
                         "Give every series this model instead of choosing (it must be backtested on all of them, "
                         "e.g. SeasonalNaive); the gate still judges the result."))}, **common),
        table_assets([CANDIDATE], deps=[TARGET.key, *backtest], build=_candidate, report=_candidate_report,
                     extra_checks=[dg.AssetCheckSpec(
                         "beats_seasonal_naive", asset=CANDIDATE.key, blocking=True,
                         description="The chosen models' held-out mean MASE is below the seasonal naive's on the same series "
                         "and they are no worse on most series: otherwise the candidate is not published and the previous "
                         "forecast stays.")], **common),
        table_assets([PUBLISHED], deps=[TARGET.key, CANDIDATE.key, *backtest], build=_published, freshness=PUBLISHED_FRESHNESS,
                     **common),
        table_assets([EXPORT, PLANNING], deps=[PUBLISHED.key, DEFINITION.key, *map(curated_key, ("product", "location", "inventory_position",
                                                                                 "daily_sales", "supplier", "purchase_order"))],
                     build=_export, report=_export_report, name="forecast__planning", kinds=frozenset({"spark", "delta"}),
                     group="forecast", owners=[OWNER]),
        _sales_anomalies_asset(),
    ]


forecast_nightly = dg.ScheduleDefinition(
    name="forecast_nightly",
    description="Refreshes the forecast every night: datasets, backtest, candidate, gate, publication, planning, anomalies.",
    cron_schedule="0 2 * * *",
    target=dg.AssetSelection.groups("forecast"),
    default_status=dg.DefaultScheduleStatus.RUNNING,
)
