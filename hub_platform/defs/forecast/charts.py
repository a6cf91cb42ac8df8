"""PNG charts for asset metadata (Dagster shows them inline when attached as a markdown image).

Figures are drawn on matplotlib's Agg canvas directly (``Figure`` + ``FigureCanvasAgg``), never through
pyplot: no global backend switch, no figure registry to leak between runs, safe in threads.
"""

from __future__ import annotations

import io

import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

ACTUAL_COLOUR, FORECAST_COLOUR = "#1f1f1f", "#1565c0"


def forecast_chart(actuals: pd.DataFrame, forecast: pd.DataFrame, unique_ids: list[str], *, history_days: int = 56,
                   labels: dict[str, str] | None = None, title: str | None = None) -> bytes:
    """One panel per series: actual units, the p50 forecast and its p10-p90 band, as PNG bytes.

    ``actuals``: unique_id, ds, y; ``forecast``: unique_id, ds, p10, p50, p90. Each panel shows the
    ``history_days`` before the forecast starts and any actuals inside the forecast period, so the
    same function draws a published forecast (history, then the band) and a held-out backtest
    (actuals over the band, which shows the accuracy). ``labels`` adds a caption per series.
    """
    figure = Figure(figsize=(10, 2.6 * max(len(unique_ids), 1)), dpi=90, layout="constrained")
    axes = figure.subplots(max(len(unique_ids), 1), 1, squeeze=False)[:, 0]
    for axis, unique_id in zip(axes, unique_ids, strict=False):
        predicted = forecast[forecast["unique_id"] == unique_id].sort_values("ds")
        start, end = predicted["ds"].min(), predicted["ds"].max()
        seen = actuals[(actuals["unique_id"] == unique_id) & (actuals["ds"] >= start - pd.Timedelta(days=history_days))
                       & (actuals["ds"] <= end)].sort_values("ds")
        axis.fill_between(predicted["ds"], predicted["p10"], predicted["p90"], color=FORECAST_COLOUR, alpha=0.2,
                          linewidth=0, label="p10-p90")
        axis.plot(predicted["ds"], predicted["p50"], color=FORECAST_COLOUR, linestyle="--", label="p50")
        axis.plot(seen["ds"], seen["y"], color=ACTUAL_COLOUR, linewidth=1, marker=".", markersize=3, label="actual")
        axis.axvline(start, color="grey", linewidth=0.6)
        caption = f"{unique_id}  {labels[unique_id]}" if labels and unique_id in labels else unique_id
        axis.set_title(caption, loc="left", fontsize=9)
        axis.set_ylabel("units")
        axis.set_ylim(bottom=0)
        axis.legend(loc="upper left", fontsize=7, ncols=3, frameon=False)
    if title:
        figure.suptitle(title, fontsize=10)
    return png_bytes(figure)


def png_bytes(figure: Figure) -> bytes:
    """Render a matplotlib Figure to PNG bytes on the Agg canvas."""
    buffer = io.BytesIO()
    FigureCanvasAgg(figure).print_png(buffer)
    return buffer.getvalue()
