"""The read API: the published forecast as JSON for a web page (`hub serve`, FastAPI).

GET /forecast/{product_id}?location=ST-001&days=14 gives, per location, the model chosen and p10/p50/p90
per day; 404 when nothing is published for the product (or location), 422 for malformed input. It
reads the same table and through the same function as `hub forecast`.

POST /sql and POST /cleanroom answer as the role of the caller's bearer token (governed_api).
"""

from __future__ import annotations

from datetime import date

from fastapi import FastAPI, HTTPException, Path, Query
from pydantic import BaseModel

from hub_platform.lib.lake.store import Lake, TableNotFound
from hub_platform.serving.governed_api import Principal, governed_router, load_tokens
from hub_platform.serving.query import published_forecast

CODE = r"^[A-Za-z0-9][A-Za-z0-9:._@-]{0,63}$"  # product and location ids: what the hub's codes look like


class Point(BaseModel):
    date: date
    p10: float
    p50: float
    p90: float


class LocationForecast(BaseModel):
    location_id: str
    model: str
    points: list[Point]


class ProductForecast(BaseModel):
    product_id: str
    locations: list[LocationForecast]


def create_app(lake: Lake, tokens: dict[str, Principal] | None = None) -> FastAPI:
    """``tokens``: who may use the governed endpoints (default: the HUB_API_TOKENS file; none: no one)."""
    app = FastAPI(title="hub_platform read API", description=__doc__)
    app.include_router(governed_router(lake, load_tokens() if tokens is None else tokens))

    @app.get("/health")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/forecast/{product_id}", response_model=ProductForecast)
    def forecast(
        product_id: str = Path(pattern=CODE, description="the product id (its ERP SKU)"),
        location: str | None = Query(None, pattern=CODE, description="one location; all where it is sold when left out"),
        days: int = Query(28, ge=1, le=28, description="how many days ahead"),
    ) -> ProductForecast:
        try:
            rows = published_forecast(lake, product_id, location).to_pylist()
        except TableNotFound as error:
            raise HTTPException(status_code=404, detail=str(error)) from None
        by_location: dict[str, LocationForecast] = {}
        for row in rows:
            entry = by_location.setdefault(row["location_id"], LocationForecast(location_id=row["location_id"], model=row["model"], points=[]))
            if len(entry.points) < days:
                entry.points.append(Point(date=row["ds"].date(), p10=row["p10"], p50=row["p50"], p90=row["p90"]))
        return ProductForecast(product_id=product_id, locations=list(by_location.values()))

    return app
