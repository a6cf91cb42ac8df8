"""Reading raw bytes by contract: every record is either read or rejected with its row number."""

import io

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from hub_platform.defs.clean.read import FileError, read_records
from hub_platform.defs.raw.probe import probe
from hub_platform.sources.contract import parse_contract

CONTRACT = """
name: shop
description: test
system: web
feed: shop
entity: sales_order_line
format: {{type: {kind}, encoding: utf-8}}
keys: [order_id]
columns:
  - {{name: order_id, type: string, required: true}}
  - {{name: amount, type: float}}
"""


def contract(kind="csv"):
    return parse_contract(CONTRACT.format(kind=kind))


def test_csv_keeps_good_records_and_rejects_bad_ones_with_their_row_numbers():
    data = b"order_id,amount\r\nA,1\r\nB,caf\xe9\r\n\r\nC,1,extra\r\nD,4\r\nE"
    records = read_records(data, contract())
    assert records.table.to_pylist() == [{"order_id": "A", "amount": "1"}, {"order_id": "D", "amount": "4"}]
    assert records.row_numbers.tolist() == [1, 4]
    assert [(r.row_number, r.reason.split(":")[0]) for r in records.rejected] == [
        (2, "not valid utf-8"), (3, "malformed record"), (5, "malformed record")]
    assert records.rejected[0].original == '{"order_id": "B", "amount": "café"}'  # the bad byte shown as latin-1
    assert records.total == probe(data, contract()).row_count == 5


def test_csv_fast_path_numbers_rows_in_order():
    records = read_records(b"order_id,amount\nA,1\nB,2\n", contract())
    assert records.row_numbers.tolist() == [1, 2] and not records.rejected


def test_csv_other_encodings_are_decoded_as_declared():
    latin = parse_contract(CONTRACT.format(kind="csv").replace("utf-8", "latin-1"))
    records = read_records("order_id,amount\nCafé,1\n".encode("latin-1"), latin)
    assert records.table["order_id"].to_pylist() == ["Café"]


def test_jsonl_rejects_lines_that_are_not_objects_and_keeps_all_keys():
    data = b'{"order_id": "A", "amount": 1}\n{"order_id": "B", "amount": "x", "new": {"k": 1}}\n{oops\n[1, 2]\n'
    records = read_records(data, contract("jsonl"))
    assert records.table.to_pylist() == [
        {"order_id": "A", "amount": "1", "new": None},
        {"order_id": "B", "amount": "x", "new": '{"k": 1}'},
    ]
    assert [(r.row_number, r.reason[:14]) for r in records.rejected] == [(3, "not valid JSON"), (4, "a JSON list, n")]


def test_parquet_reads_natively_and_a_corrupt_one_fails_as_a_whole():
    buffer = io.BytesIO()
    pq.write_table(pa.table({"order_id": ["A", "B"], "amount": [1.0, 2.0]}), buffer)
    records = read_records(buffer.getvalue(), contract("parquet"))
    assert records.row_numbers.tolist() == [1, 2]
    with pytest.raises(FileError, match="not a readable Parquet file"):
        read_records(buffer.getvalue()[: len(buffer.getvalue()) // 2], contract("parquet"))
    assert probe(buffer.getvalue()[:100], contract("parquet")).rejected.startswith("not a readable Parquet file")


def test_probe_counts_rows_and_names_missing_required_columns():
    assert probe(b"order_id,amount\nA,1\nB,2\n", contract()).row_count == 2
    result = probe(b"amount,colour\n1,red\n", contract())
    assert result.rejected == "required column(s) missing: order_id"
    assert result.notes == ("unexpected column(s) not in the contract: colour",)
    assert probe(b"not json\n", contract("jsonl")).rejected.startswith("the first line is not a JSON object")


def test_json_lines_with_any_line_ending_a_bom_and_compression():
    import gzip

    data = b'\xef\xbb\xbf{"order_id": "A", "amount": 1}\r{"order_id": "B", "amount": 2}\r\n\r\n{"order_id": "C", "amount": 3}'
    for delivered in (data, gzip.compress(data)):
        records = read_records(delivered, contract("jsonl"))
        assert records.table["order_id"].to_pylist() == ["A", "B", "C"] and records.row_numbers.tolist() == [1, 2, 3]
        assert probe(delivered, contract("jsonl")).row_count == 3


def test_the_probe_never_raises_whatever_the_bytes():
    for data in (b"\x1f\x8b\x08garbage", b"PK\x03\x04broken", b"\x00" * 64, b'order_id,amount\n"unterminated,1\n'):
        result = probe(data, contract())
        assert result.status in ("ingested", "rejected") and (result.rejected or result.row_count is not None)
