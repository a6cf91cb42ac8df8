"""Every `hub` command resolves storage exactly as runs do: against an S3 lake and landing (moto's
server) and against a local root outside HUB_HOME, never the defaults and never a variable's name."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from pathlib import Path

import boto3
import pyarrow as pa
import pytest
from fastapi.testclient import TestClient

from hub_platform.lib.resources import configured
from hub_platform.serving.cli import main
from hub_platform_tests.conftest import MOTO_KEYS

PRODUCTS = (b"sku,gtin,product_name,brand,category,size,unit_weight_lb,lifecycle,supplier_id,updated_at\n"
            b"SKU-1,4006381333931,Pen,Stabilo,office,1 pc,0.1,active,S1,2026-10-01 10:00:00\n")
DAYS = [datetime(2026, 11, 1) + timedelta(days=i) for i in range(3)]


@pytest.fixture(params=["s3", "local"])
def configured_hub(request, hub_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """HUB_LAKE_ROOT/HUB_LANDING_ROOT pointing away from HUB_HOME; returns the lake root."""
    if request.param == "s3":
        endpoint = request.getfixturevalue("moto_endpoint")
        boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", **MOTO_KEYS).create_bucket(Bucket="hub")
        root = f"s3://hub/{request.node.name.replace('[', '-').rstrip(']')}"
        monkeypatch.setenv("AWS_ENDPOINT_URL_S3", endpoint)
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", MOTO_KEYS["aws_access_key_id"])
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", MOTO_KEYS["aws_secret_access_key"])
    else:
        root = str(tmp_path / "elsewhere")
    monkeypatch.setenv("HUB_LAKE_ROOT", f"{root}/lake")
    monkeypatch.setenv("HUB_LANDING_ROOT", f"{root}/landing")
    monkeypatch.setenv("HUB_TRUTH_ROOT", f"{root}/truth")
    monkeypatch.chdir(tmp_path)  # a variable's name taken as a folder would appear here
    return f"{root}/lake"


def _publish_forecast(lake) -> None:
    rows = [{"unique_id": "SKU-1@ST-001", "product_id": "SKU-1", "location_id": "ST-001", "ds": day, "model": "ETS",
             "p10": 1.0, "p50": 2.0, "p90": 3.0} for day in DAYS]
    lake.write(pa.Table.from_pylist(rows), "forecast", "published")


def _no_folder_named_after_a_variable(cwd: Path) -> None:
    assert not [p.name for p in cwd.iterdir() if p.name.startswith(("HUB_", "AWS_", "s3:"))]


def test_the_cli_resolves_what_runs_resolve(configured_hub):
    storage = configured()["storage"]
    assert storage.lake().root == configured_hub
    assert storage.landing().location.root == configured_hub.removesuffix("/lake") + "/landing"


@pytest.mark.slow
def test_land_materialize_status_sql_history(configured_hub, tmp_path, capsys):
    delivery = tmp_path / "products.csv"
    delivery.write_bytes(PRODUCTS)
    assert main(["land", "--source", "erp_products", str(delivery)]) == 0
    landing = configured()["storage"].landing()
    [landed] = landing.list_after("erp_products")
    assert landing.read(landed.key) == PRODUCTS

    assert main(["materialize", "--select", "raw/erp_products"]) == 0
    lake = configured()["storage"].lake()
    assert lake.read("raw", "manifest")["landing_key"].to_pylist() == [landed.key]

    capsys.readouterr()
    assert main(["status"]) == 0
    status = capsys.readouterr().out
    assert configured_hub in status and "erp_products" in status
    assert main(["sql", "--role", "steward", "SELECT landing_key, status FROM raw.manifest"]) == 0
    assert landed.key in capsys.readouterr().out
    assert main(["history", "raw/manifest"]) == 0
    assert "committed_utc" in capsys.readouterr().out
    _no_folder_named_after_a_variable(tmp_path)


def test_forecast_and_serve_read_the_configured_lake(configured_hub, tmp_path, capsys, monkeypatch):
    _publish_forecast(configured()["storage"].lake())
    assert main(["forecast", "SKU-1", "--days", "2"]) == 0
    assert "SKU-1 at ST-001: model ETS" in capsys.readouterr().out

    import uvicorn

    served = {}
    monkeypatch.setattr(uvicorn, "run", lambda app, **_: served.setdefault("app", app))
    assert main(["serve"]) == 0
    response = TestClient(served["app"]).get("/forecast/SKU-1")
    assert response.status_code == 200 and len(response.json()["locations"][0]["points"]) == 3
    _no_folder_named_after_a_variable(tmp_path)


def test_cleanroom_and_customer_look_in_the_configured_lake(configured_hub, tmp_path, capsys):
    profile = pa.table({"customer_id": [f"CUS-{i}" for i in range(12)], "rfm_segment": ["loyal"] * 12,
                        "lifetime_value_gbp": [10.0] * 12})
    configured()["storage"].lake().write(profile, "customer360", "profile")
    assert main(["cleanroom", "--by", "rfm_segment", "--measure", "lifetime_value_gbp:sum"]) == 0
    assert re.search(r"loyal\s+12\s+120\b", capsys.readouterr().out)  # 12 customers, their value summed
    # the configured lake has a profile (the clean room found it) but no identity tables yet: said plainly
    assert main(["customer", "CUS-1"]) == 2
    assert "no table customer360.identity" in capsys.readouterr().err
    _no_folder_named_after_a_variable(tmp_path)


def test_review_labels_the_configured_lakes_queue(configured_hub, tmp_path, capsys, monkeypatch):
    import json

    import pandas as pd

    from hub_platform.defs.review.queue import review_queue

    lake = configured()["storage"].lake()
    scored = pd.DataFrame({"left_id": ["a"], "right_id": ["b"], "match_probability": [0.95], "threshold": 0.9,
                           "left_record": json.dumps({"name": "Ann"}), "right_record": json.dumps({"name": "Anne"})})
    lake.write(pa.Table.from_pandas(review_queue({"customer": scored})), "review", "queue")
    monkeypatch.setattr("builtins.input", lambda _prompt: "m")
    assert main(["review", "--by", "ann"]) == 0
    assert lake.read("review", "labels")["label"].to_pylist() == ["match"]
    _no_folder_named_after_a_variable(tmp_path)


@pytest.mark.slow
def test_replay_conforms_the_configured_lakes_raw_files_again(configured_hub, tmp_path, capsys):
    delivery = tmp_path / "products.csv"
    delivery.write_bytes(PRODUCTS)
    assert main(["land", "--source", "erp_products", str(delivery)]) == 0
    assert main(["materialize", "--select", "raw/erp_products", "--select", "clean/erp_products"]) == 0
    capsys.readouterr()
    assert main(["replay", "erp_products"]) == 0
    assert "replayed erp_products: 1 file(s), 1 rows clean" in capsys.readouterr().out
    assert configured()["storage"].lake().has_table("clean", "erp_products")
    _no_folder_named_after_a_variable(tmp_path)


@pytest.mark.slow
def test_seed_writes_to_s3(configured_hub, capsys):
    if not configured_hub.startswith("s3://"):
        pytest.skip("the local case of `hub seed --out` is the generator's own test")
    out = configured_hub.removesuffix("/lake") + "/seeded"
    assert main(["seed", "--scale", "small", "--out", out]) == 0
    storage = configured()["storage"]
    landing = storage.location(f"{out}/landing")
    assert landing.exists("erp_products") and storage.location(f"{out}/truth").exists("persons.csv")
    from hub_platform.defs.raw.landing import Landing

    assert Landing(landing).list_after("erp_products")
