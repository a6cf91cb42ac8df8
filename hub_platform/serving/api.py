"""The read API: the published forecast as JSON for a web page (`hub serve`, FastAPI).

GET / is the planners' dashboard (:mod:`hub_platform.serving.dashboard`). GET /forecast/{product_id}?location=ST-001&horizon=14 gives, per location, the model chosen and p10/p50/p90
per period of the published forecast's own frequency (days for the daily definition, weeks for weekly,
hours for hourly: ``freq`` and ``definition`` say which); ``horizon`` is in those periods and at most what
was published (422 beyond it). 404 when nothing is published for the product (or location), 422 for
malformed input. It reads the same table and through the same function as `hub forecast`.

POST /sql and POST /cleanroom answer as the role of the caller's bearer token (governed_api).
"""

from __future__ import annotations

from datetime import datetime
from html import escape

from fastapi import FastAPI, HTTPException, Path, Query
from fastapi.responses import HTMLResponse
from pydantic import BaseModel

from hub_platform.lib.lake.store import Lake, TableNotFound
from hub_platform.serving.dashboard import read_dashboard, render
from hub_platform.serving.governed_api import Principal, governed_router, load_tokens
from hub_platform.serving.query import HorizonTooLong, QuerySession, published_forecast

CODE = r"^[A-Za-z0-9][A-Za-z0-9:._@-]{0,63}$"  # product and location ids: what the hub's codes look like
SERIES = r"^[A-Za-z0-9][A-Za-z0-9:._-]{0,63}@[A-Za-z0-9][A-Za-z0-9:._-]{0,63}$"


class Point(BaseModel):
    ds: datetime
    step: int
    p10: float
    p50: float
    p90: float


class LocationForecast(BaseModel):
    location_id: str
    model: str
    points: list[Point]


class ProductForecast(BaseModel):
    product_id: str
    definition: str
    freq: str
    locations: list[LocationForecast]


def create_app(lake: Lake, tokens: dict[str, Principal] | None = None, role: str = "analyst") -> FastAPI:
    """``tokens``: who may use the governed endpoints (default: the HUB_API_TOKENS file; none: no one);
    ``role``: what the planners' dashboard reads as (through the query path's masking)."""
    app = FastAPI(title="hub_platform read API", description=__doc__)
    app.include_router(governed_router(lake, load_tokens() if tokens is None else tokens))

    @app.get("/", response_class=HTMLResponse, summary="The planners' dashboard")
    def dashboard(series: str | None = Query(None, pattern=SERIES, description="product_id@location_id to chart")) -> str:
        try:
            board = read_dashboard(QuerySession(lake, role=role), series)
        except TableNotFound as error:
            return HTMLResponse(f"<!doctype html><title>Planning dashboard</title><h1>Nothing to show yet</h1><p>{escape(str(error))}. "
                                "Run <code>hub materialize</code> (or <code>make run</code>) first.</p>", status_code=503)
        except LookupError as error:
            raise HTTPException(status_code=404, detail=str(error)) from None
        return render(board, role)

    @app.get("/health")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/forecast/{product_id}", response_model=ProductForecast)
    def forecast(
        product_id: str = Path(pattern=CODE, description="the product id (its ERP SKU)"),
        location: str | None = Query(None, pattern=CODE, description="one location; all where it is sold when left out"),
        horizon: int | None = Query(None, ge=1, le=10_000, description=(
            "periods ahead in the forecast's own frequency, at most the published horizon (default: all of it)")),
    ) -> ProductForecast:
        try:
            rows = published_forecast(lake, product_id, location, horizon).to_pylist()
        except HorizonTooLong as error:
            raise HTTPException(status_code=422, detail=str(error)) from None
        except TableNotFound as error:
            raise HTTPException(status_code=404, detail=str(error)) from None
        by_location: dict[str, LocationForecast] = {}
        for row in rows:
            entry = by_location.setdefault(row["location_id"], LocationForecast(location_id=row["location_id"], model=row["model"], points=[]))
            entry.points.append(Point(ds=row["ds"], step=row["step"], p10=row["p10"], p50=row["p50"], p90=row["p90"]))
        return ProductForecast(product_id=product_id, definition=rows[0]["definition"], freq=rows[0]["freq"],
                               locations=list(by_location.values()))

    return app
