"""Spark ↔ the lake. Spark computes; Delta tables are read through their current snapshot and
written through deltalake, so both paths produce the same Delta protocol.

Where delta-spark's jar is on Spark's classpath (a cluster such as EMR), Spark reads and writes
Delta natively instead; that branch is deliberately small. Here no Maven repository is reachable,
so the jar cannot be fetched and the Arrow path is the one that runs.
"""

from __future__ import annotations

from typing import Literal

from hub_platform.lib.lake.store import Lake
from hub_platform.lib.spark import SparkConfigurationError, delta_jar_on_classpath, is_connect_session, is_remote_master


def read_spark(spark, lake: Lake, zone: str, name: str, version: int | None = None):
    """A Delta table (optionally as of ``version``) as a Spark DataFrame."""
    uri = lake.table_uri(zone, name)
    if not lake.location.is_s3 and not is_connect_session(spark) and is_remote_master(spark.conf.get("spark.master")):
        raise SparkConfigurationError(
            f"the lake is the local folder {lake.root}, which executors on other hosts cannot read, but Spark's master "
            f"{spark.conf.get('spark.master')} runs them there: put the lake on S3 (HUB_LAKE_ROOT=s3://bucket/prefix) "
            "or use a local[N] or loopback spark:// master")
    if delta_jar_on_classpath(spark):
        reader = spark.read.format("delta")
        return (reader.option("versionAsOf", version) if version is not None else reader).load(uri)
    files = lake.delta(zone, name, version).file_uris()
    if lake.location.is_s3 or not files:
        # no S3 filesystem jar in Spark here (and nothing to list for an empty table): go through Arrow
        return spark.createDataFrame(lake.read(zone, name, version=version))
    # only the snapshot's files: replaced files stay in the folder until vacuumed
    return spark.read.option("basePath", uri).parquet(*files)


def write_spark(frame, lake: Lake, zone: str, name: str, mode: Literal["append", "overwrite"] = "overwrite") -> int:
    """Commit a Spark result to a Delta table; returns the table's new version."""
    if delta_jar_on_classpath(frame.sparkSession):
        frame.write.format("delta").mode(mode).save(lake.table_uri(zone, name))
        return lake.version(zone, name)
    return lake.write(frame.toArrow(), zone, name, mode=mode)
