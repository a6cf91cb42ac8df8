"""Shared fixtures: a private hub home per test, one small sample and one Spark session per run."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
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
    from hub_platform.lib.spark import SparkSettings, spark_session

    scratch = Path(os.environ.get("PYTEST_SPARK_SCRATCH", "/tmp")) / f"hub-test-spark-{os.getpid()}"
    return spark_session(SparkSettings(master="local[2]", shuffle_partitions=2, scratch_dir=str(scratch), python=sys.executable))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


MOTO_KEYS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}


@pytest.fixture(scope="session")
def moto_endpoint():
    """moto's server in its own process on 127.0.0.1: a real HTTP endpoint for S3 and SNS/SQS.

    Not moto's in-process threaded server: deltalake's ``DeltaTable.history`` holds the GIL while it
    waits for S3, so an S3 server thread in the same interpreter never answers it.
    """
    port = free_port()
    server = subprocess.Popen([str(Path(sys.executable).parent / "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    endpoint = f"http://127.0.0.1:{port}"
    try:
        wait_for_http(f"{endpoint}/moto-api/", server, timeout=60)
        yield endpoint
    finally:
        stop_group(server)


def wait_for_http(url: str, process: subprocess.Popen, timeout: float) -> None:
    """Until ``url`` answers 200; fails at once if ``process`` exits, or after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        assert process.poll() is None, f"{process.args[0]} exited with {process.returncode}"
        assert time.monotonic() < deadline, f"{url} did not answer in {timeout:.0f} s"
        time.sleep(0.3)


def stop_group(process: subprocess.Popen, timeout: float = 20) -> None:
    """Stop a process started with ``start_new_session=True`` and everything it started, by its group id."""
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
