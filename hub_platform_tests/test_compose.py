"""docker-compose.yml, the Dockerfile and the configuration surface checked against the code and the
platform (no compose engine here): what broke before — a base image without the Java the Makefile
accepts, a Postgres URL for a driver that is not installed, settings the code reads but compose does
not pass, live default secrets, unpinned images — fails here."""

import ast
import importlib.metadata
import re
import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest
import yaml

from hub_platform.lib.resources import SETTINGS, settings_table

REPO = Path(__file__).parents[1]
COMPOSE = yaml.safe_load((REPO / "docker-compose.yml").read_text())
HUB_SERVICES = ("user-code", "webserver", "daemon", "api")
INSTANCE = yaml.safe_load(COMPOSE["configs"]["dagster_instance"]["content"])
DEBIAN_RELEASES = {"12": "bookworm", "13": "trixie"}  # Debian's major version -> codename (what apt calls a release)


def names_read_by_the_code() -> set[str]:
    """Environment variables named in the package: `_setting("X", …)`, `os.environ.get("X")`, `dg.EnvVar("X")`, ..."""
    readers = {"_setting", "_int_setting", "os.environ.get", "dg.EnvVar", "dg.EnvVar.int", "os.environ.setdefault", "os.getenv"}
    names = set()
    for path in (REPO / "hub_platform").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and ast.unparse(node.func) in readers:
                named = node.args if ast.unparse(node.func) == "_setting" else node.args[:1]  # the rest are defaults
                names |= {a.value for a in named if isinstance(a, ast.Constant) and isinstance(a.value, str)}
    return names


def env(service: str) -> dict[str, str]:
    return {k: str(v) for k, v in COMPOSE["services"][service]["environment"].items()}


def base_image() -> str:
    return re.search(r"^ARG BASE=(\S+)", (REPO / "Dockerfile").read_text(), re.MULTILINE).group(1)


def test_every_variable_the_code_reads_is_declared_once_with_default_and_meaning():
    declared = [s.name for s in SETTINGS]
    assert len(declared) == len(set(declared))
    spark_sets_for_itself = {"SPARK_LOCAL_IP", "PYARROW_IGNORE_TIMEZONE", "GX_ANALYTICS_ENABLED"}  # defaults for libraries
    assert names_read_by_the_code() - spark_sets_for_itself <= set(declared)
    assert all(s.meaning and s.default for s in SETTINGS)


def test_the_readme_table_is_the_declared_settings():
    assert settings_table() in (REPO / "README.md").read_text()


def test_every_deployment_setting_is_passed_to_every_hub_service_and_nothing_undeclared():
    wanted = {s.name for s in SETTINGS if s.scope == "deployment"}
    declared = {s.name for s in SETTINGS}
    for service in HUB_SERVICES:
        passed = set(env(service))
        assert wanted <= passed, (service, wanted - passed)
        assert not {n for n in passed if n.startswith(("HUB_", "AWS_")) and n not in declared}, service


def test_secrets_have_no_default_in_compose():
    text = (REPO / "docker-compose.yml").read_text()
    for setting in [*(s for s in SETTINGS if s.secret)]:
        uses = re.findall(r"(?<!\$)\$\{" + setting.name + r"([^}]*)\}", text)  # $${X} is the container's shell
        if setting.name in env("user-code"):
            assert uses and all(use.startswith(":?") for use in uses), (setting.name, uses)
    assert "DAGSTER_POSTGRES_PASSWORD:?" in text and "DAGSTER_POSTGRES_PASSWORD:-" not in text


def test_s3_and_sns_have_separate_endpoints():
    hub = env("user-code")
    assert hub["AWS_ENDPOINT_URL_S3"] == "http://minio:9000"
    assert "AWS_ENDPOINT_URL" not in hub and "AWS_ENDPOINT_URL_SNS" not in hub  # boto3 would send SNS to MinIO


def test_images_are_pinned():
    images = [s["image"] for s in COMPOSE["services"].values()] + [base_image()]
    for image in images:
        name, _, tag = image.rpartition(":")
        assert name and tag and tag != "latest", image


def test_the_base_image_has_the_java_the_makefile_accepts_and_the_python_pyproject_wants():
    dockerfile = (REPO / "Dockerfile").read_text()
    java = re.search(r"openjdk-(\d+)-jre-headless", dockerfile).group(1)
    accepted = re.search(r"version \"\(([\d|]+)\)", (REPO / "Makefile").read_text()).group(1).split("|")
    assert java in accepted
    name, tag = base_image().split(":")
    assert name == "debian"
    release = DEBIAN_RELEASES[tag.split(".")[0]]
    host = dict(line.split("=", 1) for line in Path("/etc/os-release").read_text().splitlines() if "=" in line)
    if host.get("VERSION_CODENAME") != release or not shutil.which("apt-cache"):
        pytest.skip(f"the host is not Debian {release}: apt cannot say what {release} ships")
    shown = subprocess.run(["apt-cache", "show", f"openjdk-{java}-jre-headless", "python3"], capture_output=True, text=True)
    assert shown.returncode == 0, shown.stderr
    python = re.search(r"Package: python3\n(?:.*\n)*?Version: (\d+\.\d+)", shown.stdout).group(1)
    requires = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["requires-python"]
    low, high = re.match(r">=(\d+\.\d+),<(\d+\.\d+)", requires).groups()
    as_tuple = lambda v: tuple(map(int, v.split(".")))  # noqa: E731
    assert as_tuple(low) <= as_tuple(python) < as_tuple(high)


def test_postgres_driver_scheme_is_the_driver_dagster_postgres_installs():
    assert INSTANCE["storage"]["postgres"]["postgres_db"]["scheme"] == "postgresql+psycopg2"
    requires = importlib.metadata.requires("dagster-postgres")
    assert any(r.startswith("psycopg2-binary") for r in requires)
    deploy = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["optional-dependencies"]["deploy"]
    assert {"dagster-postgres", "psycopg2-binary"} <= {p.split("==")[0] for p in deploy}
    assert "'.[deploy]'" in (REPO / "Dockerfile").read_text()


def test_healthchecks_gate_startup():
    services = COMPOSE["services"]
    for name in ("postgres", "minio", *HUB_SERVICES):
        assert "healthcheck" in services[name], name
    for name in ("webserver", "daemon"):
        assert services[name]["depends_on"]["user-code"]["condition"] == "service_healthy"
        assert services[name]["depends_on"]["postgres"]["condition"] == "service_healthy"


def test_state_survives_a_recreated_container_and_logs_reach_the_webserver():
    volumes = COMPOSE["services"]["user-code"]["volumes"]
    home = re.search(r"^ENV(?:.*\n)*?.*HUB_HOME=(\S+)", (REPO / "Dockerfile").read_text(), re.MULTILINE).group(1)
    assert f"hub-home:{home}" in volumes and "hub-home" in COMPOSE["volumes"]
    logs = INSTANCE["compute_logs"]
    assert logs["class"] == "S3ComputeLogManager"  # step logs in the bucket, not in the container that ran the step
    buckets = set(re.findall(r"mc mb --ignore-existing local/([\w-]+)", COMPOSE["services"]["minio-setup"]["entrypoint"]))
    assert logs["config"]["bucket"] in buckets
    assert logs["config"]["endpoint_url"] == {"env": "AWS_ENDPOINT_URL_S3"}
    for name in ("HUB_LAKE_ROOT", "HUB_LANDING_ROOT"):
        assert env("user-code")[name].removeprefix("s3://").split("/")[0] in buckets


def test_dockerignore_keeps_local_state_out_of_the_image():
    ignored = set((REPO / ".dockerignore").read_text().split())
    assert {".git", ".venv", ".hub", ".env", "benchmarks"} <= ignored


def test_user_code_serves_the_code_location_the_project_declares():
    declared = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["dagster"]
    command = COMPOSE["services"]["user-code"]["command"]
    assert command[command.index("-m") + 1] == declared["module_name"] == "hub_platform.definitions"
    local = yaml.safe_load((REPO / "workspace.yaml").read_text())["load_from"][0]["python_module"]
    assert command[command.index("-a") + 1] == local["attribute"]
    workspace = yaml.safe_load(COMPOSE["configs"]["dagster_workspace"]["content"])["load_from"][0]["grpc_server"]
    assert (workspace["host"], str(workspace["port"])) == ("user-code", command[command.index("-p") + 1])
    assert workspace["location_name"] == local["location_name"]


def test_instance_config_is_valid_for_dagster(monkeypatch: pytest.MonkeyPatch):
    from dagster._config import Shape, process_config
    from dagster._core.instance.config import dagster_instance_config_schema

    for name in env("daemon"):
        monkeypatch.setenv(name, "5432" if name.endswith("_PORT") else "x")
    result = process_config(Shape(dagster_instance_config_schema()), INSTANCE)
    assert result.success, [e.message for e in result.errors]
    for value in INSTANCE["storage"]["postgres"]["postgres_db"].values():
        if isinstance(value, dict):
            assert value["env"] in env("daemon")
