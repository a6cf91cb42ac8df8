"""Spark settings from configuration, and the combinations that cannot work refused with the fix."""

import sys

import pytest

from hub_platform.lib.lake.spark_bridge import read_spark
from hub_platform.lib.lake.store import Lake, Location
from hub_platform.lib.resources import build_resources, configured
from hub_platform.lib.spark import SparkConfigurationError, SparkSettings, check_settings, is_remote_master, require_classic


@pytest.mark.parametrize("master, remote", [
    ("local[2]", False), ("spark://127.0.0.1:7077", False), ("spark://localhost:7077,127.0.0.1:7078", False),
    ("spark://10.0.0.5:7077", True), ("spark://127.0.0.1:7077,10.0.0.5:7077", True), ("yarn", True), ("k8s://https://k:443", True),
])
def test_which_masters_put_executors_on_other_hosts(master, remote):
    assert is_remote_master(master) is remote


def test_spark_settings_come_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("HUB_HOME", str(tmp_path))
    for name, value in {"HUB_SPARK_MASTER": "spark://10.0.0.5:7077", "HUB_SPARK_DRIVER_HOST": "10.0.0.9",
                        "HUB_SPARK_BIND_ADDRESS": "0.0.0.0", "HUB_SPARK_DRIVER_PORT": "7078", "HUB_SPARK_BLOCK_MANAGER_PORT": "7079",
                        "HUB_SPARK_CHECKPOINT_DIR": "hdfs://nn/hub/checkpoints", "HUB_SPARK_DRIVER_MEMORY": "8g",
                        "HUB_SPARK_SHUFFLE_PARTITIONS": "64", "HUB_SPARK_PYTHON": "/opt/venv/bin/python"}.items():
        monkeypatch.setenv(name, value)
    assert build_resources()["spark"].master != "spark://10.0.0.5:7077"  # an EnvVar until initialized
    settings = configured()["spark"].settings()
    assert (settings.master, settings.driver_host, settings.bind_address, settings.driver_port, settings.block_manager_port) == (
        "spark://10.0.0.5:7077", "10.0.0.9", "0.0.0.0", 7078, 7079)
    assert (settings.checkpoint_dir, settings.driver_memory, settings.shuffle_partitions, settings.python) == (
        "hdfs://nn/hub/checkpoints", "8g", 64, "/opt/venv/bin/python")
    check_settings(settings, settings.checkpoint_dir)  # a workable multi-host configuration


def test_executors_run_this_interpreter_by_default(monkeypatch):
    monkeypatch.delenv("HUB_SPARK_PYTHON", raising=False)
    assert configured()["spark"].settings().python == sys.executable


def test_a_remote_cluster_with_a_local_checkpoint_folder_or_loopback_driver_is_refused(monkeypatch):
    remote = SparkSettings(master="spark://10.0.0.5:7077")
    with pytest.raises(SparkConfigurationError, match="HUB_SPARK_CHECKPOINT_DIR"):
        check_settings(remote, "/home/hub/.hub/spark/checkpoints")
    monkeypatch.setenv("SPARK_LOCAL_IP", "127.0.0.1")
    with pytest.raises(SparkConfigurationError, match="HUB_SPARK_DRIVER_HOST"):
        check_settings(remote, "hdfs://nn/checkpoints")
    check_settings(SparkSettings(master="spark://127.0.0.1:7077"), "/tmp/checkpoints")  # one host: fine


class _RemoteSession:
    class conf:  # named as on a SparkSession
        @staticmethod
        def get(key):
            return {"spark.master": "spark://10.0.0.5:7077"}[key]


def test_a_remote_cluster_is_not_handed_a_local_lake(tmp_path):
    with pytest.raises(SparkConfigurationError, match="HUB_LAKE_ROOT=s3://"):
        read_spark(_RemoteSession(), Lake(Location(str(tmp_path / "lake"))), "clean", "pos")


def test_identity_refuses_spark_connect_up_front():
    from pyspark.sql.connect.session import SparkSession as ConnectSession

    connect = object.__new__(ConnectSession)  # no server needed: the refusal comes before any call
    with pytest.raises(SparkConfigurationError, match="Spark Connect"):
        require_classic(connect, "identity resolution (Splink)")
    require_classic(object(), "identity resolution (Splink)")
