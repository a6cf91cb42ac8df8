"""docker-compose.yml checked against the code (no Docker engine here): services, the environment
the code reads, commands, ports, volumes, and the instance config against Dagster's own schema."""

import ast
import re
import tomllib
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).parents[1]
COMPOSE = yaml.safe_load((REPO / "docker-compose.yml").read_text())
DAGSTER_SERVICES = ("user-code", "webserver", "daemon")
# read by the code but deliberately left to their defaults in compose
# read by the code but chosen per person or per machine, not per deployment (roles and k are the CLI user's)
OPTIONAL = {"HUB_HOME", "HUB_SPARK_DRIVER_MEMORY", "AWS_S3_LOCKING_PROVIDER", "HUB_ROLE", "HUB_CLEANROOM_K"}


def names_read_by_the_code() -> set[str]:
    """Environment variables the hub reads: `_setting("X", …)`, `os.environ.get("X")`, `dg.EnvVar("X")`."""
    names = set()
    for path in (REPO / "hub_platform").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str):
                function = ast.unparse(node.func)
                if function in {"_setting", "os.environ.get", "dg.EnvVar", "os.environ.setdefault", "os.getenv"}:
                    names.add(node.args[0].value)
    return names


def env(service: str) -> dict[str, str]:
    return {k: str(v) for k, v in COMPOSE["services"][service]["environment"].items()}


def test_all_services_are_there():
    assert set(COMPOSE["services"]) == {"postgres", "minio", "minio-setup", "api", *DAGSTER_SERVICES}


def test_every_setting_the_code_reads_is_set_on_every_dagster_service():
    wanted = {n for n in names_read_by_the_code() if n.startswith(("HUB_", "AWS_")) and n not in OPTIONAL}
    assert {"HUB_LAKE_ROOT", "HUB_LANDING_ROOT", "AWS_ENDPOINT_URL", "AWS_SECRET_ACCESS_KEY", "HUB_SPARK_MASTER"} <= wanted
    for service in DAGSTER_SERVICES:
        assert wanted <= set(env(service)), service


def test_no_service_sets_a_hub_or_aws_name_the_code_does_not_read():
    read = names_read_by_the_code()
    for service in DAGSTER_SERVICES:
        unknown = {n for n in env(service) if n.startswith(("HUB_", "AWS_")) and n not in read}
        assert not unknown, (service, unknown)


def test_the_lake_and_landing_live_in_the_bucket_minio_setup_creates():
    buckets = set(re.findall(r"mc mb --ignore-existing local/([\w-]+)", COMPOSE["services"]["minio-setup"]["entrypoint"]))
    for name in ("HUB_LAKE_ROOT", "HUB_LANDING_ROOT"):
        assert env("user-code")[name].removeprefix("s3://").split("/")[0] in buckets
    assert env("user-code")["AWS_ENDPOINT_URL"] == "http://minio:9000"


def test_user_code_serves_the_code_location_the_project_declares():
    declared = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["dagster"]
    command = COMPOSE["services"]["user-code"]["command"]
    assert command[command.index("-m") + 1] == declared["module_name"] == "hub_platform.definitions"
    local = yaml.safe_load((REPO / "workspace.yaml").read_text())["load_from"][0]["python_module"]
    assert command[command.index("-a") + 1] == local["attribute"]
    workspace = yaml.safe_load(COMPOSE["configs"]["dagster_workspace"]["content"])["load_from"][0]["grpc_server"]
    assert (workspace["host"], str(workspace["port"])) == ("user-code", command[command.index("-p") + 1])
    assert workspace["location_name"] == local["location_name"]


def test_ports_volumes_and_image():
    assert "3000:3000" in COMPOSE["services"]["webserver"]["ports"]
    api = COMPOSE["services"]["api"]
    assert "8000:8000" in api["ports"] and api["command"][:2] == ["hub", "serve"] and api["environment"] == env("webserver")
    assert "9000:9000" in COMPOSE["services"]["minio"]["ports"]
    assert set(COMPOSE["volumes"]) == {"postgres-data", "minio-data"}
    dockerfile = COMPOSE["services"]["user-code"]["build"]["dockerfile_inline"]
    assert "openjdk-17-jre-headless" in dockerfile and "pip install --no-cache-dir . dagster-postgres==0.29.27" in dockerfile


def test_instance_config_is_valid_for_dagster(monkeypatch: pytest.MonkeyPatch):
    from dagster._config import Shape, process_config
    from dagster._core.instance.config import dagster_instance_config_schema

    for name, value in env("daemon").items():
        monkeypatch.setenv(name, value)
    config = yaml.safe_load(COMPOSE["configs"]["dagster_instance"]["content"])
    assert config["telemetry"] == {"enabled": False}
    result = process_config(Shape(dagster_instance_config_schema()), config)
    assert result.success, [e.message for e in result.errors]
    for value in config["storage"]["postgres"]["postgres_db"].values():
        if isinstance(value, dict):
            assert value["env"] in env("daemon")
