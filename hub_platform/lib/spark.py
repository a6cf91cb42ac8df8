"""One Spark session per process, started on first use.

Starting the JVM costs ~5 s, so the session is shared by every asset that runs in the process;
with Dagster's in-process executor (the hub's default) a whole run starts Spark at most once, and
runs that never touch Spark never start it. ``HUB_SPARK_MASTER`` points it at a cluster
(``spark://…``, ``yarn``) or at a Spark Connect server (``sc://host:15002``), which lets many runs
share one long-lived Spark instead of starting their own.
"""

from __future__ import annotations

import ipaddress
import os
import sys
import tempfile
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

_lock = threading.Lock()
_session = None
_LOOPBACK_NAMES = {"localhost", "127.0.0.1", "::1"}


class SparkConfigurationError(ValueError):
    """Spark settings that cannot work together (said before any work starts)."""


@dataclass(frozen=True)
class SparkSettings:
    """How the hub's session is built; :class:`hub_platform.lib.resources.SparkResource` fills it from the environment."""

    master: str = "local[2]"
    shuffle_partitions: int = 4
    driver_memory: str = "4g"
    scratch_dir: str | None = None  # warehouse and local dirs (driver side); a temporary folder when unset
    checkpoint_dir: str | None = None  # default: <scratch>/checkpoints, which only a single host can use
    driver_host: str | None = None
    bind_address: str | None = None
    driver_port: int | None = None
    block_manager_port: int | None = None
    python: str = sys.executable  # executors' Python workers: the interpreter that has the hub's packages

    @property
    def is_connect(self) -> bool:
        return self.master.startswith("sc://")

    @property
    def remote(self) -> bool:
        """Whether executors may run on other hosts: any cluster master that is not a loopback address."""
        return is_remote_master(self.master)


def is_remote_master(master: str) -> bool:
    if master.startswith("local"):
        return False
    if master.startswith(("spark://", "sc://")):
        hosts = master.split("://", 1)[1].split("/")[0].split(",")  # standalone HA lists several masters
        return not all(_loopback(urlparse(f"spark://{host}").hostname or "") for host in hosts)
    return True  # yarn, k8s://...: executors elsewhere by construction


def _loopback(host: str) -> bool:
    if host in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _local_path(uri: str) -> bool:
    return "://" not in uri or uri.startswith("file://")


def check_settings(settings: SparkSettings, checkpoint_dir: str) -> None:
    """Refuse a multi-host cluster paired with what only this host can reach, with the fix."""
    if not settings.remote:
        return
    if _local_path(checkpoint_dir):
        raise SparkConfigurationError(
            f"Spark master {settings.master} runs executors on other hosts, but the checkpoint folder {checkpoint_dir} "
            "is on this host: set HUB_SPARK_CHECKPOINT_DIR to a folder every executor reaches (hdfs://..., or s3a://... "
            "with the S3A jars on the cluster)")
    advertised = settings.driver_host or os.environ.get("SPARK_LOCAL_IP")
    if advertised and _loopback(advertised):
        raise SparkConfigurationError(
            f"Spark master {settings.master} runs executors on other hosts, but the driver would advertise {advertised}: "
            "set HUB_SPARK_DRIVER_HOST to an address the executors can reach (and unset SPARK_LOCAL_IP)")


def spark_session(settings: SparkSettings | None = None):
    """The process's Spark session, created with the hub's settings the first time it is asked for."""
    global _session
    settings = settings or SparkSettings()
    with _lock:
        if _session is not None and not _stopped(_session):
            return _session
        if not settings.remote:  # one host: keep Spark off the network
            os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
        os.environ.setdefault("PYARROW_IGNORE_TIMEZONE", "1")
        # PySpark sends its workers' interpreter from PYSPARK_PYTHON (SparkContext.pythonExec, default
        # "python3"), not from spark.pyspark.python: set it, or local workers run a python3 without the
        # hub's packages. This interpreter by default; settings.python (HUB_SPARK_PYTHON) for clusters.
        os.environ["PYSPARK_PYTHON"] = settings.python or sys.executable
        from pyspark.sql import SparkSession

        if settings.is_connect:  # Spark Connect: the server owns jars, memory and checkpoints
            _session = SparkSession.builder.remote(settings.master).getOrCreate()
            return _session
        from splink.backends.spark import similarity_jar_location

        scratch = Path(settings.scratch_dir or tempfile.mkdtemp(prefix="hub-spark-"))
        checkpoints = settings.checkpoint_dir or str(scratch / "checkpoints")
        check_settings(settings, checkpoints)
        optional = {
            "spark.driver.host": settings.driver_host,
            "spark.driver.bindAddress": settings.bind_address,
            "spark.driver.port": settings.driver_port,
            "spark.blockManager.port": settings.block_manager_port,
        }
        builder = (
            SparkSession.builder.master(settings.master)
            .appName("hub_platform")
            .config("spark.jars", similarity_jar_location())
            .config("spark.sql.shuffle.partitions", str(settings.shuffle_partitions))
            .config("spark.default.parallelism", str(settings.shuffle_partitions))
            .config("spark.sql.session.timeZone", "UTC")
            .config("spark.sql.execution.arrow.pyspark.enabled", "true")
            .config("spark.sql.warehouse.dir", str(scratch / "warehouse"))
            .config("spark.local.dir", str(scratch / "local"))
            .config("spark.driver.memory", settings.driver_memory)
            # Python workers run the hub's interpreter on any master, not whatever python3 a worker finds
            .config("spark.pyspark.python", settings.python or sys.executable)
            .config("spark.pyspark.driver.python", sys.executable)
            .config("spark.ui.enabled", "false")
            .config("spark.ui.showConsoleProgress", "false")
        )
        for key, value in optional.items():
            if value is not None:
                builder = builder.config(key, str(value))
        _session = builder.getOrCreate()
        _session.sparkContext.setLogLevel("ERROR")
        _session.sparkContext.setCheckpointDir(checkpoints)
        return _session


def require_classic(spark, purpose: str) -> None:
    """Refuse a Spark Connect session up front for work that needs Spark's JVM context."""
    if is_connect_session(spark):
        raise SparkConfigurationError(
            f"{purpose} does not work through Spark Connect: Splink on Spark needs the JVM SparkContext "
            "(checkpoint directory, its similarity jar), which a Connect client does not have. Point "
            "HUB_SPARK_MASTER at local[N] or a cluster master (spark://, yarn) for this zone.")


def is_connect_session(spark) -> bool:
    try:
        from pyspark.sql.connect.session import SparkSession as ConnectSession
    except ImportError:  # pyspark without the connect extra
        return False
    return isinstance(spark, ConnectSession)


def _stopped(session) -> bool:
    try:
        return session.sparkContext._jsc.sc().isStopped()
    except Exception:  # a Spark Connect session has no local context to ask
        return False


def delta_jar_on_classpath(spark) -> bool:
    """Whether delta-spark's JVM classes are loadable: true on clusters that ship the Delta jar."""
    try:
        spark._jvm.java.lang.Class.forName("io.delta.tables.DeltaTable")
        return True
    except Exception:  # py4j wraps ClassNotFoundException
        return False


@contextmanager
def releasing(spark):
    """Drop whatever a block cached on ``spark`` when it ends: one asset's intermediates (transforms
    cache what they read twice, Splink caches its tables) must not pile up in a process that runs many."""
    try:
        yield spark
    finally:
        spark.catalog.clearCache()
