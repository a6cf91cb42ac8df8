"""The GX bridge: contract-derived suites, results as asset checks that can fail (never on empty data)."""

from datetime import UTC, datetime
from decimal import Decimal

import dagster as dg
import pyarrow as pa
import pytest

from hub_platform.lib.gx import as_frame, check_table, suite_for, validate
from hub_platform.sources.contract import parse_contract

CONTRACT = parse_contract("""
name: shop
description: test
system: web
feed: shop
entity: sales_order_line
format: {type: csv}
keys: [order_id]
columns:
  - {name: order_id, type: string, required: true}
  - {name: qty, type: int, min: 1, max: 100}
  - {name: price, type: "decimal(10,2)", min: 0}
  - {name: status, type: string, allowed: [open, shipped]}
""")
KEY = dg.AssetKey(["clean", "shop"])


def table(**overrides) -> pa.Table:
    columns = {
        "order_id": ["A", "B", "C"],
        "qty": [1, 5, 100],
        "price": pa.array([Decimal("1.00"), Decimal("2.50"), Decimal("0.00")], pa.decimal128(10, 2)),
        "status": ["open", "shipped", "open"],
        "_source": ["s", "s", "s"],
        "_file_checksum": ["c", "c", "c"],
        "_row_number": [1, 2, 3],
        "_ingested_at": [datetime(2026, 10, 1, tzinfo=UTC)] * 3,
    }
    columns.update(overrides)
    return pa.table(columns)


def failures(result: dg.AssetCheckResult) -> dict[tuple[str, str], list]:
    return {(f["expectation"], f["column"]): f for f in result.metadata["failures_json"].value}


def test_a_good_table_passes():
    result = check_table(table(), CONTRACT, asset_key=KEY)
    assert result.passed and result.severity == dg.AssetCheckSeverity.ERROR
    assert result.metadata["expectations_failed"].value == 0
    assert result.metadata["expectations_evaluated"].value >= 12


@pytest.mark.parametrize(
    ("overrides", "expectation", "column", "count", "example"),
    [
        ({"order_id": ["A", None, "C"]}, "expect_column_values_to_not_be_null", "order_id", 1, None),
        ({"order_id": ["A", "A", "C"]}, "expect_compound_columns_to_be_unique", "_source, order_id", 2, None),
        ({"status": ["open", "lost", "open"]}, "expect_column_values_to_be_in_set", "status", 1, "lost"),
        ({"qty": [0, 5, 101]}, "expect_column_values_to_be_between", "qty", 2, "0"),
        ({"_file_checksum": ["c", None, "c"]}, "expect_column_values_to_not_be_null", "_file_checksum", 1, None),
    ],
)
def test_broken_rules_fail_with_column_count_and_examples(overrides, expectation, column, count, example):
    result = check_table(table(**overrides), CONTRACT, asset_key=KEY)
    assert not result.passed
    failure = failures(result)[(expectation, column)]
    assert failure["unexpected"] == count
    if example is not None:
        assert example in failure["examples"]
    assert failure["why"]


def test_an_empty_table_fails():
    empty = table().slice(0, 0)
    result = check_table(empty, CONTRACT, asset_key=KEY)
    assert not result.passed
    assert ("expect_table_row_count_to_be_between", "(table)") in failures(result)


def test_extra_expectations_run_too():
    import great_expectations as gx

    extra = gx.expectations.ExpectColumnValuesToBeBetween(column="qty", max_value=50)
    extra.notes = "hand-written: no basket holds more than 50 of one item"
    report = validate(as_frame(table()), suite_for(CONTRACT, [extra]))
    assert not report.success
    assert [f.description for f in report.failed] == ["hand-written: no basket holds more than 50 of one item"]


def test_hand_written_rules_catch_what_the_contract_cannot_say():
    from datetime import date

    from hub_platform.defs.clean.rules import hand_written
    from hub_platform.sources.contract import default_registry

    contract = default_registry().feed_contract("erp_purchase_orders")
    rows = {
        "po_id": ["P1", "P2"], "line_no": [1, 1], "supplier_id": ["S", "S"], "sku": ["A", "B"], "supplier_part_no": ["x", "y"],
        "qty": [10, 10], "order_date": [date(2026, 10, 1)] * 2, "expected_date": [date(2026, 10, 5), date(2026, 9, 30)],
        "received_date": [None, None], "received_qty": [10, 12],
        "_source": ["erp"] * 2, "_file_checksum": ["c"] * 2, "_row_number": [1, 2], "_ingested_at": [datetime(2026, 10, 1, tzinfo=UTC)] * 2,
    }
    result = check_table(pa.table(rows), contract, asset_key=dg.AssetKey(["clean", "erp_purchase_orders"]), extra=hand_written("erp_purchase_orders"))
    failed = {f["why"] for f in result.metadata["failures_json"].value}
    assert failed == {"a supplier cannot be expected to deliver before the order", "receipts never exceed what was ordered"}
