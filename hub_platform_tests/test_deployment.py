"""The compose topology, started for real without Docker: Postgres (Debian's package), moto's server as
S3, the user-code gRPC server, dagster-webserver, dagster-daemon and `hub serve`, each a separate
process in its own process group, with the instance, workspace, commands and environment of
docker-compose.yml (only hosts, ports and secrets differ).

A file landed with `hub land` to the S3 landing prefix is noticed by the daemon's sensor, queued and
launched by the run coordinator through the gRPC server, ingested into the S3 lake, recorded in
Postgres run storage with its step logs in S3; `hub serve` answers from a table in the S3 lake.
"""

from __future__ import annotations

import glob
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from contextlib import ExitStack
from datetime import datetime, timedelta
from pathlib import Path

import boto3
import pyarrow as pa
import pytest
import yaml

from hub_platform.lib.resources import StorageResource
from hub_platform_tests.conftest import MOTO_KEYS, free_port, stop_group

REPO = Path(__file__).parents[1]
BIN = Path(sys.executable).parent
COMPOSE = yaml.safe_load((REPO / "docker-compose.yml").read_text())
POSTGRES_BIN = sorted(glob.glob("/usr/lib/postgresql/*/bin"))
DEADLINE_SECONDS = 600  # the whole topology and one sensor run: 330 s measured at load 30 on 2 cores
PRODUCTS = (b"sku,gtin,product_name,brand,category,size,unit_weight_lb,lifecycle,supplier_id,updated_at\n"
            b"SKU-1,4006381333931,Pen,Stabilo,office,1 pc,0.1,active,S1,2026-10-01 10:00:00\n")
SENSOR_RUNS = """
SELECT r.run_id, r.status FROM runs r JOIN run_tags t ON t.run_id = r.run_id
WHERE t.key = 'hub/trigger' AND t.value = 'landing_sensor'"""


class Topology:
    """Processes of one deployment, each in its own group, stopped by group id in reverse order."""

    def __init__(self, folder: Path, env: dict[str, str], stack: ExitStack):
        self.folder, self.env, self.stack = folder, env, stack
        self.started = time.monotonic()

    def start(self, name: str, command: list[str], **kwargs) -> subprocess.Popen:
        log = (self.folder / f"{name}.log").open("wb")
        process = subprocess.Popen(command, env=kwargs.pop("env", self.env), stdout=log, stderr=subprocess.STDOUT,
                                   start_new_session=True, cwd=self.folder, **kwargs)
        self.stack.callback(stop_group, process)
        self.stack.callback(log.close)
        return process

    def wait(self, name: str, process: subprocess.Popen, ready, what: str) -> float:
        """Until ``ready()`` holds; returns the seconds since the topology started."""
        while not _quietly(ready):
            assert process.poll() is None, f"{name} exited:\n" + (self.folder / f"{name}.log").read_text()[-3000:]
            self.check_deadline(what)
            time.sleep(0.5)
        return time.monotonic() - self.started

    def check_deadline(self, what: str) -> None:
        if time.monotonic() - self.started > DEADLINE_SECONDS:
            logs = {p.name: p.read_text()[-1500:] for p in self.folder.glob("*.log")}
            pytest.fail(f"{what} not within {DEADLINE_SECONDS} s; logs:\n" + "\n".join(f"== {k}\n{v}" for k, v in logs.items()))


def _quietly(check) -> bool:
    try:
        return bool(check())
    except Exception:
        return False


def _replace(command: list[str], replacements: dict[str, str]) -> list[str]:
    return [replacements.get(part, part) for part in command]


HUB = [sys.executable, "-m", "hub_platform.serving.cli"]  # the `hub` script, as this interpreter runs it


def _executable(command: list[str]) -> list[str]:
    return [*HUB, *command[1:]] if command[0] == "hub" else [str(BIN / command[0]), *command[1:]]


@pytest.fixture
def postgres(tmp_path: Path):
    """A throwaway Postgres from Debian's package on 127.0.0.1 with password authentication."""
    if not POSTGRES_BIN:
        pytest.skip("Debian's postgresql is not installed (`apt-get install postgresql`; .ci/run installs it)")
    pg = Path(POSTGRES_BIN[-1])
    user = "postgres" if os.geteuid() == 0 else None  # initdb and postgres refuse to run as root
    folder = Path(tempfile.mkdtemp(prefix="hub-pg-"))  # under /tmp: the postgres user cannot enter pytest's 0700 folders
    password = "deployment-test-only"
    (folder / "password").write_text(password)
    if user:
        shutil.chown(folder, user)
        shutil.chown(folder / "password", user)
    as_user = {"user": user} if user else {}
    subprocess.run([str(pg / "initdb"), "-D", str(folder / "data"), "-U", "hub", "--pwfile", str(folder / "password"),
                    "-A", "scram-sha-256", "--no-sync"], check=True, capture_output=True, **as_user)
    port = free_port()
    server = subprocess.Popen([str(pg / "postgres"), "-D", str(folder / "data"), "-h", "127.0.0.1", "-p", str(port),
                               "-k", str(folder)], stdout=subprocess.DEVNULL, stderr=(tmp_path / "postgres.log").open("wb"),
                              start_new_session=True, **as_user)
    env = {**os.environ, "PGPASSWORD": password}
    try:
        deadline = time.monotonic() + 60
        while subprocess.run([str(pg / "pg_isready"), "-h", "127.0.0.1", "-p", str(port)], capture_output=True).returncode:
            assert server.poll() is None, (tmp_path / "postgres.log").read_text()
            assert time.monotonic() < deadline, "postgres did not start in 60 s"
            time.sleep(0.3)
        subprocess.run([str(pg / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", "hub", "dagster"],
                       check=True, env=env, capture_output=True)
        yield {"host": "127.0.0.1", "port": port, "user": "hub", "password": password, "db": "dagster"}
    finally:
        stop_group(server)
        shutil.rmtree(folder, ignore_errors=True)


@pytest.mark.slow
def test_the_compose_topology_runs_a_landed_file_end_to_end(postgres, moto_endpoint, tmp_path: Path):
    import psycopg2

    s3 = boto3.client("s3", endpoint_url=moto_endpoint, region_name="us-east-1", **MOTO_KEYS)
    s3.create_bucket(Bucket="hub")  # what compose's minio-setup creates
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text(COMPOSE["configs"]["dagster_instance"]["content"])
    grpc_port, web_port, api_port = free_port(), free_port(), free_port()
    workspace = yaml.safe_load(COMPOSE["configs"]["dagster_workspace"]["content"])
    workspace["load_from"][0]["grpc_server"] |= {"host": "127.0.0.1", "port": grpc_port}
    (tmp_path / "workspace.yaml").write_text(yaml.safe_dump(workspace))

    compose_env = COMPOSE["services"]["user-code"]["environment"]
    here = {"AWS_ENDPOINT_URL_S3": moto_endpoint, "AWS_ACCESS_KEY_ID": MOTO_KEYS["aws_access_key_id"],
            "AWS_SECRET_ACCESS_KEY": MOTO_KEYS["aws_secret_access_key"], "AWS_REGION": "us-east-1",
            "HUB_SPARK_MASTER": "local[2]", "HUB_SNS_TOPIC_ARN": "", "HUB_PII_HASH_KEY": "deployment-test-only",
            "DAGSTER_POSTGRES_HOST": postgres["host"], "DAGSTER_POSTGRES_PORT": str(postgres["port"]),
            "DAGSTER_POSTGRES_DB": postgres["db"], "DAGSTER_POSTGRES_USER": postgres["user"],
            "DAGSTER_POSTGRES_PASSWORD": postgres["password"]}
    fixed = {k: v for k, v in compose_env.items() if "${" not in str(v) and k not in here}
    assert set(compose_env) == set(here) | set(fixed)  # every variable compose passes, and no other
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HUB_", "AWS_", "DAGSTER_"))}
    env |= {**fixed, **here, "DAGSTER_HOME": str(home), "HUB_HOME": str(tmp_path / "hub"), "GX_ANALYTICS_ENABLED": "false"}
    services = COMPOSE["services"]
    grpc_command = _replace(services["user-code"]["command"], {"0.0.0.0": "127.0.0.1", "4000": str(grpc_port)})
    ws = {"/opt/dagster/workspace.yaml": str(tmp_path / "workspace.yaml"), "0.0.0.0": "127.0.0.1"}
    web_command = _replace(services["webserver"]["command"], ws | {"3000": str(web_port)})
    daemon_command = _replace(services["daemon"]["command"], ws)
    api_command = _replace(services["api"]["command"], {"0.0.0.0": "127.0.0.1", "8000": str(api_port)})

    storage = StorageResource(lake_root=env["HUB_LAKE_ROOT"], landing_root=env["HUB_LANDING_ROOT"], s3_endpoint_url=moto_endpoint,
                              aws_access_key_id=env["AWS_ACCESS_KEY_ID"], aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"])
    days = [datetime(2026, 11, 1) + timedelta(days=i) for i in range(3)]
    storage.lake().write(pa.Table.from_pylist([
        {"unique_id": "SKU-1@ST-001", "product_id": "SKU-1", "location_id": "ST-001", "ds": day, "model": "ETS",
         "p10": 1.0, "p50": 2.0, "p90": 3.0} for day in days]), "forecast", "published")

    timings = {}
    with ExitStack() as stack:
        topology = Topology(tmp_path, env, stack)
        grpc = topology.start("user-code", _executable(grpc_command))
        api = topology.start("api", _executable(api_command))
        health = [str(BIN / "dagster"), "api", "grpc-health-check", "-p", str(grpc_port)]
        timings["user-code"] = topology.wait("user-code", grpc, lambda: subprocess.run(health, capture_output=True).returncode == 0,
                                             "the gRPC server's health check")
        webserver = topology.start("webserver", _executable(web_command))
        daemon = topology.start("daemon", _executable(daemon_command))
        timings["webserver"] = topology.wait("webserver", webserver, lambda: _graphql(web_port, "{ version }"), "the webserver")
        # zone automation would carry the delivery on through clean and beyond: not this test's subject
        _stop_sensor(web_port, "zone_automation")
        liveness = [str(BIN / "dagster-daemon"), "liveness-check"]
        timings["daemon"] = topology.wait("daemon", daemon, lambda: subprocess.run(liveness, env=env, capture_output=True).returncode == 0,
                                          "the daemon's heartbeat")

        delivery = tmp_path / "products.csv"
        delivery.write_bytes(PRODUCTS)
        land = subprocess.run([*HUB, "land", "--source", "erp_products", str(delivery)], env=env,
                              capture_output=True, text=True, timeout=120)
        assert land.returncode == 0, land.stderr[-3000:]
        landed_at = time.monotonic()
        [landed] = storage.landing().list_after("erp_products")

        connection = psycopg2.connect(host=postgres["host"], port=postgres["port"], user=postgres["user"],
                                      password=postgres["password"], dbname=postgres["db"])
        stack.callback(connection.close)
        connection.autocommit = True

        def sensor_runs() -> list[tuple[str, str]]:
            with connection.cursor() as cursor:
                cursor.execute(SENSOR_RUNS)
                return cursor.fetchall()

        while not any(status in {"SUCCESS", "FAILURE", "CANCELED"} for _, status in sensor_runs()):
            assert grpc.poll() is None and daemon.poll() is None, "a Dagster process exited"
            topology.check_deadline("a finished sensor run in Postgres")
            time.sleep(1)
        timings["landed to run finished"] = time.monotonic() - landed_at
        [(run_id, status)] = sensor_runs()
        assert status == "SUCCESS", (tmp_path / "user-code.log").read_text()[-3000:]
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM event_logs WHERE run_id = %s", (run_id,))
            assert cursor.fetchone()[0] > 0

        manifest = storage.lake().read("raw", "manifest")
        assert manifest["landing_key"].to_pylist() == [landed.key] and manifest["status"].to_pylist() == ["ingested"]
        logs = s3.list_objects_v2(Bucket="hub", Prefix="dagster/compute-logs/").get("Contents", [])
        assert any(run_id in item["Key"] for item in logs), "the run's step logs are not in the bucket"

        api_url = f"http://127.0.0.1:{api_port}"
        topology.wait("api", api, lambda: urllib.request.urlopen(f"{api_url}/health", timeout=5).status == 200, "hub serve")
        with urllib.request.urlopen(f"{api_url}/forecast/SKU-1", timeout=30) as response:
            assert [len(loc["points"]) for loc in json.load(response)["locations"]] == [3]
    print("deployment timings (s since start):", {k: round(v, 1) for k, v in timings.items()})


def _graphql(port: int, query: str, variables: dict | None = None) -> dict:
    body = json.dumps({"query": query, "variables": variables or {}}).encode()
    request = urllib.request.Request(f"http://127.0.0.1:{port}/graphql", body, {"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=60) as response:
        payload = json.load(response)
    assert "errors" not in payload, payload
    return payload["data"]


def _stop_sensor(port: int, name: str) -> None:
    sensors = _graphql(port, """{ sensorsOrError(repositorySelector: {repositoryName: "__repository__",
        repositoryLocationName: "hub_platform"}) { ... on Sensors { results { name sensorState { id } } } } }""")
    [state] = [s["sensorState"]["id"] for s in sensors["sensorsOrError"]["results"] if s["name"] == name]
    stopped = _graphql(port, """mutation($id: String!) { stopSensor(id: $id) { __typename
        ... on StopSensorMutationResult { instigationState { status } } } }""", {"id": state})
    assert stopped["stopSensor"]["instigationState"]["status"] == "STOPPED", stopped
