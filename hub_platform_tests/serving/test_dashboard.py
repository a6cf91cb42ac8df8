"""The planners' dashboard: what it reads and says, and a real headless Chromium rendering its charts."""

import shutil
import subprocess
import threading
import time
import urllib.request
from collections import Counter
from datetime import date, datetime, timedelta

import pyarrow as pa
import pytest
from fastapi.testclient import TestClient
from PIL import Image

from hub_platform.lib.lake.store import Lake, Location
from hub_platform.serving.api import create_app
from hub_platform.serving.dashboard import BAND, KPI_COLOURS, RISK_COLOURS
from hub_platform_tests.conftest import free_port

CHROMIUM = next((found for name in ("chromium", "chromium-browser", "google-chrome") if (found := shutil.which(name))), None)
LAST_DAY = datetime(2026, 10, 30)


@pytest.fixture
def lake(tmp_path) -> Lake:
    lake = Lake(Location(str(tmp_path / "lake")))
    days = [LAST_DAY + timedelta(days=i) for i in range(1, 29)]
    lake.write(pa.table({
        "unique_id": ["SKU-1@ST-1"] * 28, "product_id": ["SKU-1"] * 28, "location_id": ["ST-1"] * 28, "ds": days,
        "model": ["AutoETS"] * 28, "p10": [1.0] * 28, "p50": [3.0 + (i % 7 == 5) for i in range(28)], "p90": [6.0] * 28,
    }), "forecast", "published")
    history = [LAST_DAY - timedelta(days=i) for i in range(60)]
    lake.write(pa.table({"unique_id": ["SKU-1@ST-1"] * 60, "product_id": ["SKU-1"] * 60, "location_id": ["ST-1"] * 60,
                         "ds": history, "y": [float(i % 5) for i in range(60)]}), "forecast", "target_series")
    lake.write(pa.table({
        "product_id": ["SKU-1", "SKU-2", "SKU-3"], "location_id": ["ST-1", "ST-1", "ST-2"],
        "snapshot_date": [date(2026, 10, 20)] * 3, "on_hand": [2, 40, 9], "in_transit": [0, 0, 3],
        "demand_per_day": [3.0, 1.0, 0.5], "demand_std": [1.0, 0.5, 0.2], "days_of_cover": [0.7, 40.0, 18.0],
        "lead_time_days": [5.0, 5.0, 20.0], "suggested_order_qty": [30, 0, 4],
        "stockout_risk": ["high", "low", "medium"],
        "risk_reason": ["on hand 2 lasts 0.7 days at 3.00/day; an order placed now arrives in 5.0 days (observed)",
                        "on hand + in transit 40 covers the reorder point 8.2", "<below> the reorder point"],
    }), "forecast", "inventory_planning")
    kpi_days = [str(date(2026, 9, 1) + timedelta(days=i)) for i in range(42)]
    level = {"on_time": 0.9, "in_full": 0.95, "damage_free": 0.97, "documented": 0.96, "perfect": 0.6}
    rates = {f"{m}_{k}": [10 if k == "known" else level[m] + 0.05 * (i % 2) for i in range(44)]
             for m in level for k in ("known", "rate")}
    lake.write(pa.table({"dimension": ["delivery_date"] * 42 + ["carrier"] * 2, "key": [*kpi_days, "fleet", "carrier_x"],
                         "orders": [10] * 44, **rates}), "orders", "perfect_order_kpis")
    return lake


def test_the_page_says_what_planners_act_on(lake):
    page = TestClient(create_app(lake)).get("/")
    assert page.status_code == 200
    text = page.text
    for part in ("forecast-chart", "risk-chart", "kpi-chart", "reorder-table", "carrier-table"):
        assert f"id='{part}'" in text or f'id="{part}"' in text
    assert "Sales data runs to <b>30 Oct 2026</b>" in text and "10 day(s) older than the sales data" in text
    assert "SKU-1@ST-1" in text and "Model AutoETS, 31 Oct 2026 to 27 Nov 2026" in text
    assert "an order placed now arrives in 5.0 days" in text
    assert "&lt;below&gt; the reorder point" in text  # values are escaped
    assert "SKU-2" not in text.split("id=\"reorder-table\"")[1].split("</table>")[0]  # nothing to order: not listed
    assert "<script" not in text and "src=\"http" not in text and "href='http" not in text  # nothing fetched from elsewhere


def test_unknown_series_and_an_empty_lake_are_plain_answers(lake, tmp_path):
    client = TestClient(create_app(lake))
    assert client.get("/", params={"series": "SKU-9@ST-9"}).status_code == 404
    assert client.get("/", params={"series": "not a series"}).status_code == 422
    empty = TestClient(create_app(Lake(Location(str(tmp_path / "empty"))))).get("/")
    assert empty.status_code == 503 and "hub materialize" in empty.text


def _serve(lake: Lake) -> tuple[str, object]:
    import uvicorn

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(lake), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}/"
    for _ in range(100):
        try:
            urllib.request.urlopen(url + "health", timeout=1)
            return url, server
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("the dashboard server did not start")


@pytest.mark.skipif(CHROMIUM is None, reason="headless Chromium is not installed (Debian: apt-get install chromium; .ci/run does)")
def test_a_real_browser_renders_the_charts(lake, tmp_path):
    url, server = _serve(lake)
    shot = tmp_path / "dashboard.png"
    try:
        subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", f"--screenshot={shot}",
                        "--window-size=1280,2400", url], check=True, capture_output=True, timeout=120)
    finally:
        server.should_exit = True
    colours = Counter(Image.open(shot).convert("RGB").get_flattened_data())

    def pixels(hex_colour: str) -> int:
        return colours[tuple(int(hex_colour[i:i + 2], 16) for i in (1, 3, 5))]

    assert len(colours) > 50  # a rendered page, not a blank or error screen
    assert pixels(BAND) > 5_000  # the forecast's p10-p90 band
    assert pixels(RISK_COLOURS["high"]) > 300 and pixels(RISK_COLOURS["medium"]) > 300  # risk bars
    assert pixels(KPI_COLOURS["perfect"]) > 100 and pixels(KPI_COLOURS["on_time"]) > 100  # KPI lines
