"""Conforming one file: typed clean rows with lineage, and every other record quarantined with every
rule it broke; one rule for invalid values (quarantine, or null with an `_issues` entry)."""

import json
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from hub_platform.defs.clean.conform import Delivery, conform, conform_file
from hub_platform.defs.clean.read import read_records
from hub_platform.sources.contract import parse_contract

CONTRACT_TEXT = """
name: shop
description: test
system: web
feed: shop
entity: sales_order_line
format: {type: csv, timezone: Europe/Berlin}
keys: [order_id]
columns:
  - {name: order_id, type: string, required: true, standardize: product_code}
  - {name: qty, type: int, min: 1, max: 100, on_invalid: quarantine}
  - {name: price, type: "decimal(10,2)"}
  - {name: weight_kg, type: float, source: weight_lb, unit: {from: lb, to: kg, factor: 0.5}}
  - {name: placed_at, type: timestamp, required: true}
  - {name: ship_date, type: date}
  - {name: gift, type: bool, on_invalid: quarantine}
  - {name: status, type: string, allowed: [open, shipped], on_invalid: quarantine}
  - {name: email, type: string, pii: true, standardize: email}
  - {name: customer_email, type: string, standardize: email, required: false}
"""
CONTRACT = parse_contract(CONTRACT_TEXT)
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


def test_every_rule_a_row_broke_is_listed_with_the_original_values():
    result = run("A,0,1.00,1,yesterday,,maybe,lost,,\n")
    row = result.quarantine.to_pylist()[0]
    assert row["rule"] == "range, type, allowed_values"
    assert row["reason"] == ("qty: 0 is not between 1.0 and 100.0; placed_at: 'yesterday' is not a valid timestamp; "
                             "gift: 'maybe' is not a valid bool; status: 'lost' is not one of ['open', 'shipped']")
    assert [(v["rule"], v["column"]) for v in json.loads(row["violations"])] == [
        ("range", "qty"), ("type", "placed_at"), ("type", "gift"), ("allowed_values", "status")]
    assert json.loads(row["original"])["gift"] == "maybe"


def test_optional_columns_null_what_they_cannot_hold_whichever_check_finds_it():
    """Typing, standardization, allowed values and ranges follow one rule: an optional column
    (on_invalid: null by default) nulls the value and names the reason in ``_issues``."""
    optional = parse_contract(CONTRACT_TEXT.replace(", on_invalid: quarantine", ""))
    result = conform(read_records((HEADER + "A,0,1.00,x,2026-10-01 10:00:00,someday,maybe,lost,,nope\n").encode(), optional),
                     optional, DELIVERY)
    assert result.quarantine.num_rows == 0
    row = result.clean.to_pylist()[0]
    assert [row[c] for c in ("qty", "weight_kg", "ship_date", "gift", "status", "customer_email")] == [None] * 6
    assert sorted(json.loads(row["_issues"])) == ["customer_email", "gift", "qty", "ship_date", "status", "weight_kg"]
    assert result.issues == dict.fromkeys(["customer_email", "gift", "qty", "ship_date", "status", "weight_kg"], 1)


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


REAL = parse_contract("""
name: scms
description: A shipment-line extract as a government programme publishes it.
system: erp
feed: scms
entity: shipment_extract
format: {type: csv, null_values: ["N/A", "Date Not Captured"], timezone: Europe/London}
keys: [id]
columns:
  - {name: id, type: string, required: true}
  - {name: delivered, type: date, format: ["%d-%b-%y", "%m/%d/%y"]}
  - {name: recorded, type: date}
  - {name: picked_at, type: timestamp, format: "%d/%m/%Y %H:%M"}
  - {name: freight_usd, type: float, thousands_separator: ","}
  - {name: price_eur, type: "decimal(10,2)", decimal_separator: ",", thousands_separator: "."}
  - {name: country, type: string, standardize: country, null_values: []}
  - {name: currency, type: string, default: USD}
  - {name: street, type: string, derive: {concat: [house_no, street_name]}}
  - {name: contact, type: string, derive: {coalesce: [mobile, landline]}}
""")
REAL_HEADER = "id,delivered,recorded,picked_at,freight_usd,price_eur,country,house_no,street_name,mobile,landline\n"


def real(body: str):
    records = read_records((REAL_HEADER + body).encode(), REAL)
    return conform(records, REAL, DELIVERY)


def test_declared_date_formats_are_tried_in_order_and_a_rolled_over_date_is_invalid():
    result = real("1,2-Jun-06,,,,,,,,,\n2,9/11/14,,,,,,,,,\n3,30-Feb-06,,,,,,,,,\n4,Date Not Captured,,,,,,,,,\n")
    rows = {r["id"]: r for r in result.clean.to_pylist()}
    assert [rows[k]["delivered"] for k in "1234"] == [date(2006, 6, 2), date(2014, 9, 11), None, None]
    assert json.loads(rows["3"]["_issues"]) == {"delivered": "delivered: '30-Feb-06' is not a valid date (formats %d-%b-%y, %m/%d/%y)"}
    assert rows["4"]["_issues"] is None  # a declared null token is missing, not invalid


def test_iso_dates_cover_years_1_to_9999_whatever_else_the_column_holds():
    result = real("1,,1630-08-01,,,,,,,,\n2,,0001-01-01,,,,,,,,\n3,,9999-12-31,,,,,,,,\n4,,2026-10-01T23:30:00-05:00,,,,,,,,\n5,,soon,,,,,,,,\n")
    rows = {r["id"]: r["recorded"] for r in result.clean.to_pylist()}
    assert rows == {"1": date(1630, 8, 1), "2": date(1, 1, 1), "3": date(9999, 12, 31), "4": date(2026, 10, 2), "5": None}


def test_timestamps_by_format_are_local_time_stored_as_utc():
    result = real("1,,,02/06/2006 13:05,,,,,,,\n")
    assert result.clean["picked_at"].to_pylist() == [datetime(2006, 6, 2, 12, 5, tzinfo=UTC)]


def test_numbers_with_separators_and_text_in_numbers():
    result = real('1,,,,"4,521.50","1.234,50",,,,,\n2,,,,See ASN-93 (ID#:1281),"3,5",,,,,\n3,,,,N/A,,,,,,\n')
    rows = {r["id"]: r for r in result.clean.to_pylist()}
    assert (rows["1"]["freight_usd"], rows["1"]["price_eur"]) == (4521.5, Decimal("1234.50"))
    assert (rows["2"]["freight_usd"], rows["2"]["price_eur"]) == (None, Decimal("3.50"))
    assert json.loads(rows["2"]["_issues"]) == {"freight_usd": "freight_usd: 'See ASN-93 (ID#:1281)' is not a valid float"}
    assert rows["3"]["freight_usd"] is None and rows["3"]["_issues"] is None


def test_null_tokens_are_only_those_declared_and_a_column_may_declare_none():
    result = real("1,,,,,,NA,,,,\n2,,,,,,N/A,,,,\n3,,,,,,nan,,,,\n")
    rows = {r["id"]: (r["country"], r["_issues"]) for r in result.clean.to_pylist()}
    assert rows["1"] == ("NA", None)  # Namibia: the country column declares no null tokens
    assert rows["2"][0] is None and "'N/A' is not a known country" in rows["2"][1]
    assert rows["3"][0] is None and "'nan' is not a known country" in rows["3"][1]


def test_defaults_fill_missing_values_and_derived_columns_join_file_columns():
    result = real("1,,,,,,,12,High St,,0161 555\n2,,,,,,,,Low Rd,07700,0161 556\n3,,,,,,,,,,\n")
    rows = {r["id"]: (r["currency"], r["street"], r["contact"]) for r in result.clean.to_pylist()}
    assert rows == {"1": ("USD", "12 High St", "0161 555"), "2": ("USD", "Low Rd", "07700"), "3": ("USD", None, None)}
    assert result.unexpected_columns == ()  # the parts of derived columns are known columns
