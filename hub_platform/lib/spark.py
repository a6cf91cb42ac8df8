"""One Spark session per process, started on first use.

Starting the JVM costs ~5 s, so the session is shared by every asset that runs in the process;
with Dagster's in-process executor (the hub's default) a whole run starts Spark at most once, and
runs that never touch Spark never start it. ``HUB_SPARK_MASTER`` points it at a cluster
(``spark://…``, ``yarn``) or at a Spark Connect server (``sc://host:15002``), which lets many runs
share one long-lived Spark instead of starting their own.
"""

from __future__ import annotations

import os
import sys
import tempfile
import threading
from contextlib import contextmanager
from pathlib import Path

_lock = threading.Lock()
_session = None


def spark_session(master: str = "local[2]", shuffle_partitions: int = 4, scratch_dir: str | None = None):
    """The process's Spark session, created with the hub's settings the first time it is asked for."""
    global _session
    with _lock:
        if _session is not None and not _stopped(_session):
            return _session
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
        os.environ.setdefault("PYARROW_IGNORE_TIMEZONE", "1")
        if master.startswith("local"):  # local Python workers run this interpreter (the venv's): they import what the driver does
            os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
        from pyspark.sql import SparkSession

        if master.startswith("sc://"):  # Spark Connect: the server owns jars, memory and checkpoints
            _session = SparkSession.builder.remote(master).getOrCreate()
            return _session
        from splink.backends.spark import similarity_jar_location

        scratch = Path(scratch_dir or tempfile.mkdtemp(prefix="hub-spark-"))
        builder = (
            SparkSession.builder.master(master)
            .appName("hub_platform")
            .config("spark.jars", similarity_jar_location())
            .config("spark.sql.shuffle.partitions", str(shuffle_partitions))
            .config("spark.default.parallelism", str(shuffle_partitions))
            .config("spark.sql.session.timeZone", "UTC")
            .config("spark.sql.execution.arrow.pyspark.enabled", "true")
            .config("spark.sql.warehouse.dir", str(scratch / "warehouse"))
            .config("spark.local.dir", str(scratch / "local"))
            .config("spark.driver.memory", os.environ.get("HUB_SPARK_DRIVER_MEMORY", "4g"))
            .config("spark.ui.enabled", "false")
            .config("spark.ui.showConsoleProgress", "false")
        )
        _session = builder.getOrCreate()
        _session.sparkContext.setLogLevel("ERROR")
        _session.sparkContext.setCheckpointDir(str(scratch / "checkpoints"))
        return _session


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
