"""Spark beyond one process: a standalone master and worker from pyspark's bundled scripts on
127.0.0.1, and the curated and customer-360 zones built on them by `hub materialize`."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from contextlib import ExitStack
from pathlib import Path

import pytest

from hub_platform_tests.conftest import free_port, stop_group

BIN = Path(sys.executable).parent
BUILD_SECONDS = 1080  # raw through customer-360 on the small sample; more than 15 min at load 37 on 2 cores


def _spark_home() -> Path:
    import pyspark

    return Path(pyspark.__file__).parent


def _start(stack: ExitStack, folder: Path, name: str, args: list[str], ready: str, env: dict[str, str]) -> None:
    log = folder / f"{name}.log"
    process = subprocess.Popen([str(_spark_home() / "bin" / "spark-class"), *args], env=env, stdout=log.open("wb"),
                               stderr=subprocess.STDOUT, start_new_session=True)
    stack.callback(stop_group, process)
    deadline = time.monotonic() + 180
    while ready not in log.read_text(errors="replace"):
        assert process.poll() is None, log.read_text()[-3000:]
        assert time.monotonic() < deadline, f"{name} not ready in 180 s:\n{log.read_text()[-3000:]}"
        time.sleep(0.5)


@pytest.mark.slow
@pytest.mark.cluster
@pytest.mark.spark
def test_curated_and_customer360_build_on_a_standalone_cluster(small_sample: Path, tmp_path: Path):
    if not shutil.which("java"):
        pytest.skip("no Java: Spark's master and worker need it")
    home = tmp_path / "hub"
    shutil.copytree(small_sample / "landing", home / "landing")
    shutil.copytree(small_sample / "truth", home / "truth")
    (home / "dagster").mkdir()
    (home / "dagster" / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    port, work = free_port(), tmp_path / "worker"
    spark_env = {**os.environ, "SPARK_HOME": str(_spark_home()), "SPARK_LOCAL_IP": "127.0.0.1",
                 "SPARK_LOG_DIR": str(tmp_path), "SPARK_WORKER_DIR": str(work)}
    with ExitStack() as stack:
        _start(stack, tmp_path, "master", ["org.apache.spark.deploy.master.Master", "--host", "127.0.0.1", "--port", str(port),
                                            "--webui-port", str(free_port())], "I have been elected leader", spark_env)
        _start(stack, tmp_path, "worker", ["org.apache.spark.deploy.worker.Worker", "--host", "127.0.0.1", "--cores", "2",
                                            "--memory", "3g", "--webui-port", str(free_port()), "--work-dir", str(work),
                                            f"spark://127.0.0.1:{port}"], "Successfully registered with master", spark_env)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("HUB_", "AWS_"))}
        env |= {"HUB_HOME": str(home), "DAGSTER_HOME": str(home / "dagster"), "HUB_SPARK_MASTER": f"spark://127.0.0.1:{port}",
                "HUB_SPARK_DRIVER_MEMORY": "2g", "HUB_SPARK_SHUFFLE_PARTITIONS": "2", "GX_ANALYTICS_ENABLED": "false"}
        selection = [arg for group in ("raw", "clean", "curated", "customer360") for arg in ("--select", f"group:{group}")]
        hub = subprocess.Popen([sys.executable, "-m", "hub_platform.serving.cli", "materialize", *selection], env=env, cwd=tmp_path,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
        stack.callback(stop_group, hub)  # the run and the Spark driver it started
        try:
            stdout, stderr = hub.communicate(timeout=BUILD_SECONDS)
        except subprocess.TimeoutExpired:
            pytest.fail(f"raw through customer-360 on the cluster took more than {BUILD_SECONDS} s")
        assert hub.returncode == 0, stdout[-3000:] + stderr[-3000:]
        # the work ran in the worker's executors, with the hub's interpreter
        executor_logs = list(work.glob("app-*/*/stderr"))
        assert executor_logs, "no executor ran on the worker"
    assert "did not pass (ERROR)" not in stdout
    for table in ("curated/product", "customer360/identity", "customer360/profile"):
        assert table in stdout, table
