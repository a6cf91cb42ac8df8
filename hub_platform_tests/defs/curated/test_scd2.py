"""Type-2 history from observations: versions open on change only, close when the next one opens."""

from datetime import datetime

import pytest

from hub_platform.defs.curated.scd2 import effective_versions

pytestmark = pytest.mark.spark


def versions(spark, rows):
    frame = spark.createDataFrame(rows, "sku string, name string, updated_at timestamp, received timestamp")
    out = effective_versions(frame, ["sku"], ["name"], "updated_at", tie_breaker="received")
    return [(r.sku, r.name, r.valid_from.month, r.valid_to.month if r.valid_to else None, r.is_current)
            for r in out.orderBy("sku", "valid_from").collect()]


def test_a_repeated_extract_is_not_a_version_and_a_change_closes_the_previous_one(spark):
    rows = [("A", "Cola", datetime(2026, 1, 1), datetime(2026, 1, 1)),
            ("A", "Cola", datetime(2026, 2, 1), datetime(2026, 2, 1)),
            ("A", "Cola Zero", datetime(2026, 3, 1), datetime(2026, 3, 1)),
            ("B", "Tea", datetime(2026, 1, 1), datetime(2026, 1, 1))]
    assert versions(spark, rows) == [("A", "Cola", 1, 3, False), ("A", "Cola Zero", 3, None, True), ("B", "Tea", 1, None, True)]


def test_a_late_extract_lands_in_its_place_in_history(spark):
    rows = [("A", "Cola", datetime(2026, 1, 1), datetime(2026, 1, 1)),
            ("A", "Cola", datetime(2026, 3, 1), datetime(2026, 3, 1)),
            ("A", "Cola Classic", datetime(2026, 2, 1), datetime(2026, 4, 1))]  # February's extract arrives in April
    assert versions(spark, rows) == [("A", "Cola", 1, 2, False), ("A", "Cola Classic", 2, 3, False), ("A", "Cola", 3, None, True)]


def test_of_two_extracts_at_the_same_instant_the_later_delivery_wins(spark):
    rows = [("A", "Cola", datetime(2026, 1, 1), datetime(2026, 1, 1)),
            ("A", "Cola (corrected)", datetime(2026, 1, 1), datetime(2026, 1, 2))]
    assert versions(spark, rows) == [("A", "Cola (corrected)", 1, None, True)]
