"""The planners' dashboard (``hub serve``, GET /): one HTML page, charts drawn on the server.

It shows what planners act on, read through the role-governed query path (:class:`QuerySession`,
the role ``hub serve`` runs as): the published forecast of a product at a location with its p10-p90
interval against recent sales, stock-out risk and reorder suggestions with the reason for each, and
perfect-order KPIs by delivery day and carrier.

Charts are SVG drawn by matplotlib (the hub's chart library already), inlined in the page: no
JavaScript, nothing fetched from a CDN (none is reachable where the hub runs), the page works
offline and prints. A JS charting package from PyPI (Altair/Vega, Bokeh, Plotly) would add
interaction but ship megabytes of JS and a second way of drawing the same charts.
"""

from __future__ import annotations

import html
import io
from dataclasses import dataclass
from urllib.parse import quote

import pandas as pd
from matplotlib.backends.backend_svg import FigureCanvasSVG
from matplotlib.figure import Figure

from hub_platform.serving.query import QuerySession

BAND, MEDIAN, ACTUAL = "#90caf9", "#1565c0", "#212121"
RISK_COLOURS = {"high": "#c62828", "medium": "#ef6c00", "low": "#2e7d32", "none": "#9e9e9e"}
KPI_COLOURS = {"perfect": "#6a1b9a", "on_time": "#00838f"}
HISTORY_DAYS = 56
URGENT_ROWS = 25


@dataclass
class Dashboard:
    """What the page shows, read as one role."""

    series: str  # product_id@location_id of the forecast shown
    choices: list[str]  # every series with a published forecast, most urgent first
    forecast: pd.DataFrame  # ds, p10, p50, p90, model
    history: pd.DataFrame  # ds, y
    plan: pd.DataFrame  # forecast/inventory_planning
    kpis: pd.DataFrame  # orders/perfect_order_kpis
    last_sales_day: pd.Timestamp | None


def _quoted(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def read_dashboard(session: QuerySession, series: str | None = None) -> Dashboard:
    """Reads what the page needs; ``series`` (product@location) picks the forecast shown (default: the
    product-location with a forecast and the fewest days of cover)."""
    plan = session.sql("SELECT * FROM forecast.inventory_planning").to_pandas()
    published = session.sql("SELECT product_id, location_id, ds, p10, p50, p90, model FROM forecast.published").to_pandas()
    kpis = session.sql("SELECT * FROM orders.perfect_order_kpis").to_pandas()
    published["series"] = published.product_id + "@" + published.location_id
    ranked = plan.assign(series=plan.product_id + "@" + plan.location_id).sort_values(
        ["days_of_cover", "series"], na_position="last")
    with_forecast = set(published.series)
    choices = [s for s in ranked.series if s in with_forecast] + sorted(with_forecast - set(ranked.series))
    if series not in with_forecast:
        if series is not None:
            raise LookupError(f"no published forecast for {series!r}; pick one of the list on the page")
        series = choices[0] if choices else None
    product, _, location = (series or "@").partition("@")
    history = session.sql(
        f"SELECT ds, y FROM forecast.target_series WHERE product_id = {_quoted(product)} AND location_id = {_quoted(location)} "
        f"ORDER BY ds DESC LIMIT {HISTORY_DAYS}").to_pandas().sort_values("ds")
    last = session.sql("SELECT max(ds) AS last FROM forecast.target_series").to_pandas()["last"].iloc[0]
    return Dashboard(series=series or "", choices=choices, forecast=published[published.series == series].sort_values("ds"),
                     history=history, plan=plan, kpis=kpis, last_sales_day=None if pd.isna(last) else pd.Timestamp(last))


def _svg(figure: Figure, label: str) -> str:
    buffer = io.StringIO()
    FigureCanvasSVG(figure).print_svg(buffer)
    text = buffer.getvalue()
    return text[text.index("<svg"):].replace("<svg ", f'<svg role="img" aria-label="{html.escape(label)}" ', 1)


def forecast_svg(history: pd.DataFrame, forecast: pd.DataFrame, title: str) -> str:
    figure = Figure(figsize=(9.5, 3.2), dpi=96, layout="constrained")
    axis = figure.subplots()
    axis.fill_between(forecast.ds, forecast.p10, forecast.p90, color=BAND, linewidth=0, label="p10–p90 (80% of days)")
    axis.plot(forecast.ds, forecast.p50, color=MEDIAN, linestyle="--", linewidth=1.6, label="p50 forecast")
    axis.plot(history.ds, history.y, color=ACTUAL, linewidth=1, marker=".", markersize=3, label="units sold")
    if len(forecast):
        axis.axvline(forecast.ds.min(), color="#9e9e9e", linewidth=0.8)
    axis.set_title(title, loc="left", fontsize=10)
    axis.set_ylim(bottom=0)
    axis.set_ylabel("units per day")
    axis.legend(loc="upper left", fontsize=8, ncols=3, frameon=False)
    return _svg(figure, f"forecast {title}")


def risk_svg(plan: pd.DataFrame) -> str:
    counts = plan.stockout_risk.value_counts()
    risks = ["none", "low", "medium", "high"]
    figure = Figure(figsize=(4.2, 2.0), dpi=96, layout="constrained")
    axis = figure.subplots()
    bars = axis.barh(risks, [int(counts.get(r, 0)) for r in risks], color=[RISK_COLOURS[r] for r in risks])
    axis.bar_label(bars, fontsize=8, padding=2)
    axis.set_xlabel("product-locations")
    axis.spines[["top", "right"]].set_visible(False)
    return _svg(figure, "stock-out risk by product-location")


def kpi_svg(kpis: pd.DataFrame) -> str:
    daily = kpis[kpis.dimension == "delivery_date"].assign(day=lambda f: pd.to_datetime(f.key)).sort_values("day")
    weekly = daily.set_index("day").resample("W")[["orders", "perfect_known", "on_time_known"]].sum()
    for measure in KPI_COLOURS:  # weekly rates weighted by the orders each measure is known for
        known = daily.set_index("day")[f"{measure}_known"]
        hits = (daily.set_index("day")[f"{measure}_rate"].fillna(0) * known).resample("W").sum()
        weekly[measure] = hits / weekly[f"{measure}_known"].where(weekly[f"{measure}_known"] > 0)
    figure = Figure(figsize=(9.5, 2.6), dpi=96, layout="constrained")
    axis = figure.subplots()
    for measure, colour in KPI_COLOURS.items():
        axis.plot(weekly.index, weekly[measure], label=measure.replace("_", " ") + " rate", color=colour, marker="o", markersize=3)
    axis.set_ylim(0, 1.02)
    axis.set_ylabel("share of orders (weekly)")
    axis.legend(loc="lower left", fontsize=8, frameon=False, ncols=2)
    return _svg(figure, "perfect-order rate by week")


def _table(frame: pd.DataFrame, element_id: str) -> str:
    shown = frame.copy()
    for column in shown.select_dtypes("number"):
        if column.endswith("_rate"):
            shown[column] = shown[column].map(_rate)
        elif shown[column].dtype.kind == "f":
            shown[column] = shown[column].map(lambda v: "" if pd.isna(v) else f"{v:,.1f}")
    return shown.to_html(index=False, table_id=element_id, border=0, na_rep="", escape=True)


def _rate(value) -> str:
    return "–" if pd.isna(value) else f"{value:.0%}"


STYLE = """
body{font-family:system-ui,sans-serif;margin:1.2em 2em;color:#212121;max-width:1200px}
h1{margin-bottom:.1em}.note{color:#616161;font-size:13px;margin-top:0}
section{margin:1.2em 0 2em}table{border-collapse:collapse;font-size:13px;margin-top:.5em}
td,th{border-bottom:1px solid #e0e0e0;padding:3px 8px;text-align:right}th{background:#f5f5f5}
td:last-child,th:last-child{text-align:left}td{white-space:nowrap}td:last-child{white-space:normal;min-width:26em}.row{display:flex;gap:2em;align-items:flex-start;flex-wrap:wrap}
.kpi{font-size:26px;font-weight:600}.kpi small{display:block;font-size:12px;font-weight:400;color:#616161}
"""


def render(board: Dashboard, role: str) -> str:
    """The page's HTML (every value escaped)."""
    plan, kpis = board.plan, board.kpis
    snapshot = plan.snapshot_date.max() if len(plan) else None
    stale = (board.last_sales_day.date() - pd.Timestamp(snapshot).date()).days if snapshot is not None and board.last_sales_day is not None else None
    urgent = plan[plan.suggested_order_qty > 0].sort_values(["days_of_cover", "product_id"], na_position="last")
    columns = ["product_id", "location_id", "stockout_risk", "on_hand", "in_transit", "demand_per_day", "days_of_cover",
               "lead_time_days", "suggested_order_qty", *(["risk_reason"] if "risk_reason" in plan else [])]
    carriers = kpis[kpis.dimension == "carrier"][["key", "orders", "on_time_rate", "in_full_rate", "perfect_rate"]] \
        .rename(columns={"key": "carrier"})
    overall = kpis[kpis.dimension == "carrier"]
    totals = {m: (overall[f"{m}_rate"].fillna(0) * overall[f"{m}_known"]).sum() / overall[f"{m}_known"].sum()
              if overall[f"{m}_known"].sum() else float("nan") for m in ("perfect", "on_time", "in_full")}
    options = "".join(f'<option value="{html.escape(s)}"{" selected" if s == board.series else ""}>{html.escape(s)}</option>'
                      for s in board.choices)
    model = board.forecast.model.iloc[0] if len(board.forecast) else "—"
    span = (f"{board.forecast.ds.min():%d %b %Y} to {board.forecast.ds.max():%d %b %Y}" if len(board.forecast) else "—")
    parts = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'><title>Planning dashboard · hub_platform</title>",
        f"<style>{STYLE}</style></head><body>",
        "<h1>Planning dashboard</h1>",
        f"<p class='note'>Read as role <b>{html.escape(role)}</b>. Sales data runs to "
        f"<b>{board.last_sales_day:%d %b %Y}</b>; stock snapshot of <b>{snapshot}</b>"
        + (f" ({stale} day(s) older than the sales data)" if stale else "") + ".</p>"
        if board.last_sales_day is not None else "<p class='note'>No sales data yet.</p>",
        "<section id='forecast'><h2>Forecast</h2>",
        f"<form method='get' action='/'><label>Product at location <select name='series'>{options}"
        "</select></label> <button>Show</button></form>",
        f"<p class='note'>Model {html.escape(str(model))}, {span}. The band holds 80% of days if the model's backtest "
        "errors hold; the dashed line is the median.</p>",
        f"<figure id='forecast-chart'>{forecast_svg(board.history, board.forecast, board.series)}</figure></section>",
        "<section id='risk'><h2>Stock-out risk and reorder suggestions</h2><div class='row'>",
        f"<figure id='risk-chart'>{risk_svg(plan)}</figure>",
        f"<div><p class='kpi'>{int(plan.suggested_order_qty.sum()):,}<small>units suggested over "
        f"{int((plan.suggested_order_qty > 0).sum()):,} of {len(plan):,} product-locations</small></p>"
        "<p class='note'>high: on hand runs out before an order placed now arrives (on hand &lt; demand × lead time); "
        "medium: stock and stock in transit are below the reorder point. Lead times are the supplier's; demand is the "
        "published forecast's p50, or sales velocity where none is published.</p></div></div>",
        f"<h3>Most urgent ({min(len(urgent), URGENT_ROWS)} of {len(urgent):,} with a suggestion)</h3>",
        _table(urgent[columns].head(URGENT_ROWS), "reorder-table"), "</section>",
        "<section id='kpis'><h2>Perfect order</h2><div class='row'>",
        *(f"<p class='kpi'>{_rate(totals[m])}<small>{m.replace('_', ' ')} rate</small></p>" for m in totals),
        "</div>",
        f"<figure id='kpi-chart'>{kpi_svg(kpis)}</figure>",
        "<h3>By carrier</h3>", _table(carriers, "carrier-table"),
        "<p class='note'>Carriers report no quantities, damage or documents, so in full and perfect are unknown for them "
        "(shown empty).</p></section>",
        f"<p class='note'>JSON: <a href='/forecast/{quote(board.series.partition('@')[0])}'>/forecast/…</a> · "
        "API docs: <a href='/docs'>/docs</a></p>",
        "</body></html>",
    ]
    return "".join(parts)
