"""The UI's backend serves the hub: the asset graph over GraphQL, and a materialization launched through it."""

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from hub_platform_tests.conftest import free_port

REPO = Path(__file__).parents[1]
ZONES = {"raw", "clean", "curated", "product360", "customer360", "forecast", "orders", "review"}

ASSETS = "{ assetNodes { assetKey { path } groupName } }"
LAUNCH = """
mutation($params: ExecutionParams!) {
  launchRun(executionParams: $params) {
    __typename
    ... on LaunchRunSuccess { run { runId } }
    ... on PythonError { message }
    ... on RunConfigValidationInvalid { errors { message } }
    ... on InvalidSubsetError { message }
  }
}"""
STATUS = "query($id: ID!) { runOrError(runId: $id) { ... on Run { status } } }"


def graphql(port: int, query: str, variables: dict | None = None) -> dict:
    body = json.dumps({"query": query, "variables": variables or {}}).encode()
    request = urllib.request.Request(f"http://127.0.0.1:{port}/graphql", body, {"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=60) as response:
        payload = json.load(response)
    assert "errors" not in payload, payload
    return payload["data"]


@pytest.fixture
def webserver(hub_home: Path):
    # Without a daemon, queued runs would never start: the test instance launches runs directly.
    (hub_home / "dagster" / "dagster.yaml").write_text(
        "telemetry:\n  enabled: false\n"
        "run_coordinator:\n  module: dagster._core.run_coordinator\n  class: DefaultRunCoordinator\n"
    )
    landing = hub_home / "landing" / "erp_products"
    landing.mkdir(parents=True)
    (landing / "20261001T000000Z_products.csv").write_bytes(
        b"sku,gtin,product_name,brand,category,size,unit_weight_lb,lifecycle,supplier_id,updated_at\n"
        b"SKU-1,4006381333931,Pen,Stabilo,office,1 pc,0.1,active,S1,2026-10-01 10:00:00\n"
    )
    port = free_port()
    bin_dir = Path(sys.executable).parent
    server = subprocess.Popen(
        [str(bin_dir / "dagster-webserver"), "-w", "workspace.yaml", "-h", "127.0.0.1", "-p", str(port)],
        cwd=REPO,
        env={**os.environ, "HUB_HOME": str(hub_home), "DAGSTER_HOME": str(hub_home / "dagster")},
        stdout=subprocess.DEVNULL,
        stderr=(hub_home / "webserver.log").open("wb"),
        start_new_session=True,  # its own process group, so the whole tree can be stopped
    )
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                graphql(port, "{ version }")
                break
            except OSError:
                assert server.poll() is None, (hub_home / "webserver.log").read_text()[-3000:]
                assert time.monotonic() < deadline, "webserver did not come up in 120 s"
                time.sleep(1)
        yield port
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()


@pytest.mark.slow
def test_asset_graph_and_a_launched_materialization(webserver):
    nodes = graphql(webserver, ASSETS)["assetNodes"]
    zones = {node["assetKey"]["path"][0] for node in nodes}
    assert zones == ZONES
    assert ["raw", "erp_products"] in [node["assetKey"]["path"] for node in nodes]
    assert all(node["groupName"] == node["assetKey"]["path"][0] for node in nodes)

    params = {
        "selector": {"repositoryLocationName": "hub_platform", "repositoryName": "__repository__", "pipelineName": "__ASSET_JOB",
                     "assetSelection": [{"path": ["raw", "erp_products"]}]},
        "runConfigData": {},
    }
    launched = graphql(webserver, LAUNCH, {"params": params})["launchRun"]
    assert launched["__typename"] == "LaunchRunSuccess", launched
    run_id = launched["run"]["runId"]
    deadline = time.monotonic() + 180
    status = None
    while time.monotonic() < deadline:
        status = graphql(webserver, STATUS, {"id": run_id})["runOrError"]["status"]
        if status in {"SUCCESS", "FAILURE", "CANCELED"}:
            break
        time.sleep(1)
    assert status == "SUCCESS"
