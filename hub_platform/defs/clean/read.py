"""Read a raw file's bytes as its contract says, keeping every record: parsed, or rejected with a reason.

Row numbers are 1-based ordinals of the file's non-blank records (the CSV header excluded), the
same way the raw manifest counts them, so any clean or quarantined row leads back to its bytes.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.csv as pv
import pyarrow.json as pj
import pyarrow.parquet as pq

from hub_platform.sources.contract import Contract


class FileError(ValueError):
    """Nothing in the file can be read as its contract says (the whole file fails, with this reason)."""


@dataclass(frozen=True)
class Rejected:
    row_number: int
    reason: str
    original: str  # the record as it arrived (decoded leniently where its encoding was wrong)


@dataclass(frozen=True)
class Records:
    table: pa.Table  # columns as found in the file (strings for CSV, native types otherwise)
    row_numbers: np.ndarray  # int64, one per table row
    rejected: list[Rejected]

    @property
    def total(self) -> int:
        return self.table.num_rows + len(self.rejected)


def read_records(data: bytes, contract: Contract) -> Records:
    if contract.format.type == "parquet":
        return _read_parquet(data)
    lines = _decode_lines(data, contract.format.encoding)
    if contract.format.type == "csv":
        return _read_csv(lines, contract)
    return _read_jsonl(lines)


@dataclass(frozen=True)
class _Lines:
    """Decoded non-blank lines as UTF-8 bytes, with each line's 0-based ordinal in the file."""

    text: bytes
    ordinals: np.ndarray
    rejected: list[Rejected]


def _decode_lines(data: bytes, encoding: str) -> _Lines:
    """Fast path when the whole file decodes and has no blank lines; otherwise line by line,
    rejecting the lines that do not decode so that the rest of the file still flows."""
    normalized = data.replace(b"\r\n", b"\n")
    try:
        decoded = normalized.decode(encoding)
        if "\n\n" not in decoded and decoded.strip() == decoded.rstrip("\n"):
            text = decoded.encode("utf-8") if encoding.replace("-", "").lower() != "utf8" else normalized
            count = text.count(b"\n") + (0 if text.endswith(b"\n") else 1)
            return _Lines(text, np.arange(count, dtype=np.int64), [])
    except UnicodeDecodeError:
        pass
    kept, ordinals, rejected = [], [], []
    for ordinal, raw in enumerate(line for line in normalized.split(b"\n") if line.strip()):
        try:
            kept.append(raw.decode(encoding).encode("utf-8"))
            ordinals.append(ordinal)
        except UnicodeDecodeError as error:
            reason = f"not valid {encoding}: byte 0x{raw[error.start]:02x} at position {error.start} of the record"
            rejected.append(Rejected(ordinal, reason, raw.decode("latin-1")))
    return _Lines(b"\n".join(kept) + b"\n", np.array(ordinals, dtype=np.int64), rejected)


def _read_csv(lines: _Lines, contract: Contract) -> Records:
    """Strings for every column (types are the clean zone's job); malformed records are rejected."""
    if not len(lines.ordinals) or lines.ordinals[0] != 0:
        raise FileError("the CSV header is missing or could not be decoded")
    header_line = lines.text.split(b"\n", 1)[0].decode("utf-8").lstrip("\ufeff")
    header = [h.strip() for h in next(csv.reader([header_line], delimiter=contract.format.delimiter))]
    invalid: list[tuple[int, str, str]] = []

    def on_invalid(row) -> str:
        invalid.append((row.number, row.text, f"malformed record: expected {row.expected_columns} fields, found {row.actual_columns}"))
        return "skip"

    table = pv.read_csv(
        io.BytesIO(lines.text),
        read_options=pv.ReadOptions(use_threads=False, block_size=1 << 26, column_names=header, skip_rows=1),
        parse_options=pv.ParseOptions(delimiter=contract.format.delimiter, invalid_row_handler=on_invalid),
        convert_options=pv.ConvertOptions(column_types={h: pa.string() for h in header}, strings_can_be_null=True),
    )
    body = lines.ordinals[1:]  # a CSV row's number is its ordinal: the header is ordinal 0
    bad = np.array([number - 2 for number, _, _ in invalid], dtype=np.int64)  # pyarrow counts the header as 1
    rejected = lines.rejected + [Rejected(int(body[i]), reason, text) for i, (_, text, reason) in zip(bad, invalid, strict=True)]
    row_numbers = np.delete(body, bad) if len(bad) else body
    if len(row_numbers) != table.num_rows:
        raise FileError("records span several lines (quoted newlines), which this CSV contract does not allow")
    return Records(table, row_numbers, sorted(rejected, key=lambda r: r.row_number))


def _read_jsonl(lines: _Lines) -> Records:
    """Fast path through pyarrow; line by line (rejecting what is not a JSON object) when that fails."""
    numbers = lines.ordinals + 1  # JSON lines have no header: the first record is row 1
    rejected = [Rejected(r.row_number + 1, r.reason, r.original) for r in lines.rejected]
    try:
        table = pj.read_json(io.BytesIO(lines.text), read_options=pj.ReadOptions(use_threads=False, block_size=1 << 26))
        return Records(table, numbers, rejected)
    except pa.ArrowInvalid:
        pass
    objects, kept = [], []
    for raw, number in zip(lines.text.split(b"\n"), numbers, strict=False):
        try:
            value = json.loads(raw)
        except json.JSONDecodeError as error:
            rejected.append(Rejected(int(number), f"not valid JSON ({error.msg} at column {error.colno})", raw.decode()))
            continue
        if not isinstance(value, dict):
            rejected.append(Rejected(int(number), f"a JSON {type(value).__name__}, not an object", raw.decode()))
            continue
        objects.append({k: _scalar(v) for k, v in value.items()})
        kept.append(number)
    return Records(_table_from_objects(objects), np.array(kept, dtype=np.int64), sorted(rejected, key=lambda r: r.row_number))


def _table_from_objects(objects: list[dict]) -> pa.Table:
    """Columns over the union of keys; a column whose values mix types is kept as text."""
    columns = {}
    for key in dict.fromkeys(k for o in objects for k in o):
        values = [o.get(key) for o in objects]
        try:
            columns[key] = pa.array(values)
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            columns[key] = pa.array([None if v is None else str(v) for v in values], pa.string())
    return pa.table(columns) if columns else pa.table({"_empty": pa.array([], pa.null())}).drop(["_empty"])


def _scalar(value):
    """Nested values are kept as JSON text; the contract's types are applied later."""
    return json.dumps(value, sort_keys=True) if isinstance(value, (dict, list)) else value


def _read_parquet(data: bytes) -> Records:
    try:
        table = pq.read_table(io.BytesIO(data))
    except Exception as error:  # pyarrow raises several types for corrupt files
        raise FileError(f"not a readable Parquet file ({error})") from None
    return Records(table, np.arange(1, table.num_rows + 1, dtype=np.int64), [])
