"""Conforming one file: typed clean rows with lineage, and every other record quarantined with a reason."""

import json
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from hub_platform.defs.clean.conform import Delivery, conform, conform_file
from hub_platform.defs.clean.read import read_records
from hub_platform.sources.contract import parse_contract

CONTRACT = parse_contract("""
name: shop
description: test
system: web
feed: shop
entity: sales_order_line
format: {type: csv, timezone: Europe/Berlin}
keys: [order_id]
columns:
  - {name: order_id, type: string, required: true, standardize: product_code}
  - {name: qty, type: int, min: 1, max: 100}
  - {name: price, type: "decimal(10,2)"}
  - {name: weight_kg, type: float, source: weight_lb, unit: {from: lb, to: kg, factor: 0.5}}
  - {name: placed_at, type: timestamp, required: true}
  - {name: ship_date, type: date}
  - {name: gift, type: bool}
  - {name: status, type: string, allowed: [open, shipped]}
  - {name: email, type: string, pii: true, standardize: email}
  - {name: customer_email, type: string, standardize: email, required: false}
""")
DELIVERY = Delivery("shop_eu", "abc123", "shop_eu/x.csv", datetime(2026, 10, 2, tzinfo=UTC), datetime(2026, 10, 3, tzinfo=UTC))
HEADER = "order_id,qty,price,weight_lb,placed_at,ship_date,gift,status,email,customer_email\n"


def run(body: str, header: str = HEADER):
    return conform(read_records((header + body).encode(), CONTRACT), CONTRACT, DELIVERY)


def test_a_good_row_is_typed_standardized_and_traceable():
    result = run(" a-1 ,3,19.99,4,2026-10-01 12:30:00,2026-10-05,yes,open, Ann@Example.COM ,\n")
    assert result.quarantine.num_rows == 0
    row = result.clean.to_pylist()[0]
    assert row["order_id"] == "A-1"
    assert row["qty"] == 3 and row["price"] == Decimal("19.99") and row["weight_kg"] == 2.0
    assert row["placed_at"] == datetime(2026, 10, 1, 10, 30, tzinfo=UTC)  # Berlin summer time → UTC
    assert row["ship_date"] == date(2026, 10, 5) and row["gift"] is True
    assert row["email"] == "ann@example.com" and row["email_original"] == "Ann@Example.COM"
    assert row["email_key"]
    assert (row["_source"], row["_file_checksum"], row["_row_number"]) == ("shop_eu", "abc123", 1)
    assert row["_extra"] is None and row["_issues"] is None


@pytest.mark.parametrize(
    ("line", "rule", "reason"),
    [
        ("A,three,1.00,1,2026-10-01 10:00:00,,,open,,", "type", "qty: 'three' is not a valid int"),
        ("A,2.5,1.00,1,2026-10-01 10:00:00,,,open,,", "type", "qty: '2.5' is not a valid int"),
        ("A,1e3,1.00,1,2026-10-01 10:00:00,,,open,,", "type", "qty: '1e3' is not a valid int"),
        ("A,0,1.00,1,2026-10-01 10:00:00,,,open,,", "range", "qty: 0 is not between 1.0 and 100.0"),
        ("A,1,1.00,1,,,,open,,", "required", "placed_at: a value is required"),
        ("A,1,1.00,1,yesterday,,,open,,", "type", "placed_at: 'yesterday' is not a valid timestamp"),
        ("A,1,1.00,1,2026-10-01 10:00:00,,maybe,open,,", "type", "gift: 'maybe' is not a valid bool"),
        ("A,1,1.00,1,2026-10-01 10:00:00,,,lost,,", "allowed_values", "status: 'lost' is not one of ['open', 'shipped']"),
    ],
)
def test_a_row_breaking_a_rule_is_quarantined_with_the_rule_and_reason(line, rule, reason):
    result = run(line + "\n")
    assert result.clean.num_rows == 0
    row = result.quarantine.to_pylist()[0]
    assert (row["rule"], row["reason"], row["_row_number"], row["_landing_key"]) == (rule, reason, 1, "shop_eu/x.csv")
    assert json.loads(row["original"])["order_id"] == "A"


def test_whole_numbers_written_as_floats_are_accepted_as_ints():
    result = run("A,68.0,1.00,1,2026-10-01 10:00:00,,,open,,\n")
    assert result.quarantine.num_rows == 0 and result.clean["qty"].to_pylist() == [68]


def test_an_invalid_optional_value_is_nulled_and_listed_but_the_row_flows():
    result = run("A,1,1.00,1,2026-10-01 10:00:00,,,open,,not-an-email\n")
    row = result.clean.to_pylist()[0]
    assert row["customer_email"] is None
    assert "customer_email" in json.loads(row["_issues"])
    assert result.issues == {"customer_email": 1}


def test_repeated_keys_keep_the_last_row_and_quarantine_the_earlier():
    result = run("A,1,1.00,1,2026-10-01 10:00:00,,,open,,\nA,2,1.00,1,2026-10-01 11:00:00,,,open,,\n")
    assert result.clean["qty"].to_pylist() == [2]
    assert result.quarantine["rule"].to_pylist() == ["duplicate_key"]


def test_unknown_columns_are_kept_as_json_and_reported():
    result = run("A,1,1.00,1,2026-10-01 10:00:00,,,open,,,blue\n", header=HEADER.strip() + ",colour\n")
    assert result.unexpected_columns == ("colour",)
    assert json.loads(result.clean["_extra"][0].as_py()) == {"colour": "blue"}


def test_a_file_missing_a_required_column_fails_whole_but_every_row_is_quarantined():
    data = b"qty,price\n1,2.00\n3,4.00\n"
    outcome = conform_file(data, CONTRACT, DELIVERY)
    assert outcome.failure == "required column(s) missing from the file: order_id, placed_at"
    assert outcome.clean is None and outcome.rows_in_file == 2
    assert outcome.quarantine["rule"].to_pylist() == ["file", "file"]


def test_every_record_ends_clean_or_quarantined():
    body = "A,1,1.00,1,2026-10-01 10:00:00,,,open,,\nB,x,1,1,2026-10-01,,,open,,\nC,1,1,1\n\xff\n"
    outcome = conform_file((HEADER + body).encode("utf-8", "surrogateescape"), CONTRACT, DELIVERY)
    assert outcome.rows_clean + outcome.quarantine.num_rows == outcome.rows_in_file == 4
