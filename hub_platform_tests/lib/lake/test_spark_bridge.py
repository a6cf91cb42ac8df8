"""Spark reads the lake's current snapshot and hands results back through Arrow (same Delta protocol)."""

import pyarrow as pa
import pytest

from hub_platform.lib.lake.spark_bridge import read_spark, write_spark
from hub_platform.lib.lake.store import Lake, Location
from hub_platform.lib.spark import delta_jar_on_classpath

pytestmark = pytest.mark.spark


@pytest.fixture
def lake(tmp_path) -> Lake:
    return Lake(Location(str(tmp_path / "lake")))


def test_spark_reads_only_the_current_snapshot_and_writes_back(spark, lake):
    lake.write(pa.table({"sku": ["A", "B"], "units": [1, 2]}), "clean", "sales")
    lake.write(pa.table({"sku": ["A", "B", "C"], "units": [5, 6, 7]}), "clean", "sales", mode="overwrite")
    frame = read_spark(spark, lake, "clean", "sales")
    assert sorted(frame.toArrow()["units"].to_pylist()) == [5, 6, 7]  # the old files are still on disk
    total = frame.groupBy().sum("units").withColumnRenamed("sum(units)", "units")
    version = write_spark(total, lake, "curated", "totals")
    assert version == 0 and lake.read("curated", "totals")["units"].to_pylist() == [18]


def test_time_travel_through_spark(spark, lake):
    lake.write(pa.table({"sku": ["A"], "units": [1]}), "clean", "sales")
    lake.write(pa.table({"sku": ["A"], "units": [9]}), "clean", "sales", mode="overwrite")
    assert read_spark(spark, lake, "clean", "sales", version=0).toArrow()["units"].to_pylist() == [1]


def test_native_delta_when_the_jar_is_on_the_classpath(spark, lake):
    if not delta_jar_on_classpath(spark):
        pytest.skip("delta-spark's jar is not on Spark's classpath here (no Maven repository is reachable)")
    frame = spark.createDataFrame([("A", 1)], ["sku", "units"])
    write_spark(frame, lake, "curated", "native")
    assert lake.read("curated", "native").to_pylist() == [{"sku": "A", "units": 1}]  # delta-rs reads what Spark wrote
