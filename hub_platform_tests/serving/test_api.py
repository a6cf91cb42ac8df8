"""The read API and `hub forecast` serve the published forecast: JSON shape, 404s, input validation."""

from datetime import datetime, timedelta

import pyarrow as pa
import pytest
from fastapi.testclient import TestClient

from hub_platform.lib.lake.store import Lake, Location
from hub_platform.serving.api import create_app

DAYS = [datetime(2026, 11, 1) + timedelta(days=i) for i in range(28)]


@pytest.fixture
def lake(tmp_path) -> Lake:
    lake = Lake(Location(str(tmp_path / "lake")))
    rows = [{"unique_id": f"SKU-1@{loc}", "product_id": "SKU-1", "location_id": loc, "ds": day, "model": model,
             "step": i + 1, "p10": 1.0, "p50": 2.0 + i, "p90": 4.0 + i, "definition": "daily_store_demand", "freq": "D"}
            for loc, model in (("ST-001", "ETS"), ("ST-002", "CrostonOptimized")) for i, day in enumerate(DAYS)]
    lake.write(pa.Table.from_pylist(rows), "forecast", "published")
    return lake


@pytest.fixture
def client(lake) -> TestClient:
    return TestClient(create_app(lake))


def test_a_product_forecast_per_location_with_intervals_and_model(client):
    response = client.get("/forecast/SKU-1", params={"horizon": 3})
    assert response.status_code == 200
    body = response.json()
    assert body["definition"] == "daily_store_demand" and body["freq"] == "D"
    assert body["product_id"] == "SKU-1" and [loc["location_id"] for loc in body["locations"]] == ["ST-001", "ST-002"]
    first = body["locations"][0]
    assert first["model"] == "ETS" and len(first["points"]) == 3
    assert first["points"][1] == {"ds": "2026-11-02T00:00:00", "step": 2, "p10": 1.0, "p50": 3.0, "p90": 5.0}
    one = client.get("/forecast/SKU-1", params={"location": "ST-002"}).json()
    assert [loc["model"] for loc in one["locations"]] == ["CrostonOptimized"] and len(one["locations"][0]["points"]) == 28


def test_unknown_products_and_locations_are_404(client):
    assert client.get("/forecast/SKU-9").status_code == 404
    missing = client.get("/forecast/SKU-1", params={"location": "ST-404"})
    assert missing.status_code == 404 and "ST-404" in missing.json()["detail"]


@pytest.mark.parametrize("path, params", [
    ("/forecast/bad id!", {}), ("/forecast/" + "X" * 65, {}), ("/forecast/SKU-1", {"horizon": 0}),
    ("/forecast/SKU-1", {"horizon": 29}), ("/forecast/SKU-1", {"horizon": "soon"}), ("/forecast/SKU-1", {"location": "../etc"}),
])
def test_malformed_input_and_a_horizon_beyond_the_published_one_are_refused(client, path, params):
    assert client.get(path, params=params).status_code == 422


def test_no_published_forecast_yet_is_404_not_a_crash(tmp_path):
    empty = TestClient(create_app(Lake(Location(str(tmp_path / "empty")))))
    assert empty.get("/forecast/SKU-1").status_code == 404
    assert empty.get("/health").json() == {"status": "ok"}


def test_hub_forecast_prints_the_same_forecast(lake, tmp_path, monkeypatch, capsys):
    from hub_platform.serving.cli import main

    monkeypatch.setenv("HUB_HOME", str(tmp_path))
    monkeypatch.delenv("HUB_LAKE_ROOT", raising=False)
    assert main(["forecast", "SKU-1", "--location", "ST-001", "--horizon", "2"]) == 0
    printed = capsys.readouterr().out
    assert "SKU-1 at ST-001: model ETS" in printed and "2026-11-02" in printed and "2026-11-03" not in printed
    assert main(["forecast", "SKU-9"]) == 2
    assert main(["forecast", "SKU-1", "--horizon", "29"]) == 2  # beyond the published 28 days
