"""Shared fixtures: a private hub home per test, one small sample and one Spark session per run."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")


@pytest.fixture
def hub_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh HUB_HOME (lake, landing, truth, Dagster instance) that no other test sees."""
    home = tmp_path / "hub"
    (home / "dagster").mkdir(parents=True)
    (home / "dagster" / "dagster.yaml").write_text((Path(__file__).parents[1] / "dagster.yaml").read_text())
    monkeypatch.setenv("HUB_HOME", str(home))
    monkeypatch.setenv("DAGSTER_HOME", str(home / "dagster"))
    for name in ("HUB_LAKE_ROOT", "HUB_LANDING_ROOT", "HUB_TRUTH_ROOT", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)
    return home


SHOP_CONTRACT = """
name: {name}
description: Test shop orders.
system: web
feed: shop_orders
entity: sales_order_line
format: {{type: csv}}
keys: [order_id]
columns:
  - {{name: order_id, type: string, required: true}}
  - {{name: amount, type: "decimal(12,2)", min: 0}}
"""
SHOP_FILE = b"order_id,amount\nA1,10.50\nA2,3.00\n"
CRM_CONTRACT = """
name: crm
description: test change feed
system: crm
feed: crm
entity: customer
format: {type: cdc_jsonl}
cdc: {sequence: lsn, operation: op}
keys: [contact_id]
columns:
  - {name: lsn, type: int, required: true}
  - {name: op, type: string, required: true}
  - {name: contact_id, type: string, required: true}
  - {name: city, type: string}
"""


@pytest.fixture
def shop_registry(tmp_path: Path):
    """Two tiny sources (shop_eu, shop_us) of one feed, independent of the shipped contracts."""
    from hub_platform.sources.contract import load_registry

    folder = tmp_path / "contracts"
    folder.mkdir()
    for name in ("shop_eu", "shop_us"):
        (folder / f"{name}.yaml").write_text(SHOP_CONTRACT.format(name=name))
    return load_registry(folder)


@pytest.fixture(scope="session")
def small_sample(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The small sample with faults, generated once per test run; treat it as read-only."""
    from hub_platform.seed.generator import generate

    out = tmp_path_factory.mktemp("sample")
    generate("small", out, seed=7, faults=True)
    return out


@pytest.fixture(scope="session")
def spark():
    from hub_platform.lib.spark import spark_session

    return spark_session("local[2]", 2, str(Path(os.environ.get("PYTEST_SPARK_SCRATCH", "/tmp")) / f"hub-test-spark-{os.getpid()}"))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


MOTO_KEYS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}


@pytest.fixture(scope="session")
def moto_endpoint():
    """moto's threaded server on 127.0.0.1: a real HTTP endpoint for S3 and SNS/SQS."""
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()
