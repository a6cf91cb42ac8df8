"""Turn records read from one raw file into typed, standardized clean rows and quarantined rows.

Pure function of Arrow data and the contract. Every record ends in exactly one of the two outputs:
clean rows carry lineage columns (source, file checksum, row number, times); quarantined rows carry
the rule they broke, the reason in plain words and their original values as JSON.

Rules, in the order they are applied to each column:
  type     the value must parse as the declared type (timestamps: naive values are in the
           contract's time zone, stored as UTC; decimals are exact; units converted as declared)
  standardize  invalid values of *required* columns quarantine the row; of optional columns they
           become null and are listed in the row's ``_issues`` (the original stays beside PII values)
  required / allowed / range   as declared
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from hub_platform.defs.clean.read import FileError, Records, read_records
from hub_platform.defs.clean.standardize import match_key, standardize
from hub_platform.sources.contract import Column, Contract

MATCH_KEY_KINDS = {"name", "address", "email"}

QUARANTINE_SCHEMA = pa.schema(
    [
        ("_source", pa.string()),
        ("_file_checksum", pa.string()),
        ("_landing_key", pa.string()),
        ("_row_number", pa.int64()),
        ("rule", pa.string()),
        ("reason", pa.string()),
        ("original", pa.string()),
        ("_quarantined_at", pa.timestamp("us", tz="UTC")),
    ]
)


@dataclass(frozen=True)
class Delivery:
    """Where a file came from: carried into every row it produces."""

    source: str
    checksum: str
    landing_key: str
    received_at: datetime
    ingested_at: datetime


@dataclass(frozen=True)
class Conformed:
    clean: pa.Table
    quarantine: pa.Table
    unexpected_columns: tuple[str, ...]
    issues: dict[str, int]  # optional values nulled by standardization, per column


def arrow_type(column: Column) -> pa.DataType:
    if column.decimal:
        return pa.decimal128(*column.decimal)
    return {
        "string": pa.string(),
        "int": pa.int64(),
        "float": pa.float64(),
        "bool": pa.bool_(),
        "date": pa.date32(),
        "timestamp": pa.timestamp("us", tz="UTC"),
        "timestamptz": pa.timestamp("us", tz="UTC"),
    }[column.type]


def clean_schema(contract: Contract) -> pa.Schema:
    """The clean table's columns: contract columns, derived match keys and originals, lineage."""
    fields = []
    for column in contract.columns:
        fields.append(pa.field(column.name, arrow_type(column)))
        if column.standardize in MATCH_KEY_KINDS:
            fields.append(pa.field(f"{column.name}_key", pa.string()))
        if column.standardize and column.pii:
            fields.append(pa.field(f"{column.name}_original", pa.string()))
    fields += [
        pa.field("_source", pa.string()),
        pa.field("_file_checksum", pa.string()),
        pa.field("_row_number", pa.int64()),
        pa.field("_received_at", pa.timestamp("us", tz="UTC")),
        pa.field("_ingested_at", pa.timestamp("us", tz="UTC")),
        pa.field("_extra", pa.string()),  # columns the contract does not know, as JSON
        pa.field("_issues", pa.string()),  # optional values nulled by standardization, as JSON
    ]
    return pa.schema(fields)


class _Errors:
    """First failing rule and reason per row; later rules do not overwrite earlier ones."""

    def __init__(self, n: int):
        self.rule = np.full(n, None, dtype=object)
        self.reason = np.full(n, None, dtype=object)

    def add(self, mask: np.ndarray, rule: str, reasons: np.ndarray | pd.Series | str) -> None:
        fresh = np.asarray(mask, dtype=bool) & pd.isna(self.rule)
        if not fresh.any():
            return
        self.rule[fresh] = rule
        self.reason[fresh] = reasons if isinstance(reasons, str) else np.asarray(reasons, dtype=object)[fresh]

    @property
    def failed(self) -> np.ndarray:
        return ~pd.isna(self.rule)


def conform(records: Records, contract: Contract, delivery: Delivery) -> Conformed:
    table = records.table
    found = set(table.column_names)
    missing = [c.file_column for c in contract.required_columns if c.file_column not in found]
    if missing:
        raise FileError(f"required column(s) missing from the file: {', '.join(missing)}")
    known = {c.file_column for c in contract.columns}
    unexpected = tuple(name for name in table.column_names if name not in known)

    n = table.num_rows
    errors = _Errors(n)
    issues: dict[str, pd.Series] = {}
    raw = {c.name: _column(table, c.file_column, n) for c in contract.columns}
    out: dict[str, pa.Array] = {}
    for column in contract.columns:
        values, bad = _parse(raw[column.name], column, contract.format.timezone)
        errors.add(bad, "type", _describe(_text(raw[column.name]), bad, f"is not a valid {column.type}", column.name))
        if column.standardize:
            text = _series(values)
            region = _series(_text(raw[column.region_column])) if column.region_column else column.default_region
            result = standardize(column.standardize, text, region=region)
            invalid = result.error.notna().to_numpy()
            if column.required:
                errors.add(invalid, f"standardize:{column.standardize}", f"{column.name}: " + result.error.fillna(""))
            elif invalid.any():
                issues[column.name] = result.error
            values = pa.array(result.value, pa.string())
            if column.standardize in MATCH_KEY_KINDS:
                out[f"{column.name}_key"] = pa.array(match_key(column.standardize, result.value), pa.string())
            if column.pii:
                out[f"{column.name}_original"] = pa.array(text, pa.string())
        out[column.name] = values
        _check_rules(values, column, errors)

    if not contract.cdc:  # a change feed has many events per key; any other file, one row per key
        _flag_repeated_keys(out, contract.keys, errors)
    failed = errors.failed
    clean = pa.table(out)
    clean = _with_lineage(clean, records, delivery, table, unexpected, issues)
    clean = clean.select(clean_schema(contract).names).cast(clean_schema(contract))
    keep = pa.array(~failed)
    quarantine = _quarantine(table, records, delivery, failed, errors)
    return Conformed(
        clean=clean.filter(keep),
        quarantine=quarantine,
        unexpected_columns=unexpected,
        issues={name: int(s.notna().sum()) for name, s in issues.items()},
    )


def _flag_repeated_keys(out: dict[str, pa.Array], keys: list[str], errors: _Errors) -> None:
    """Within one file the last row of a key wins; the earlier ones are quarantined, not dropped."""
    frame = pd.DataFrame({k: out[k].to_pandas() for k in keys})
    valid = ~errors.failed
    repeated = np.zeros(len(frame), dtype=bool)
    repeated[valid] = frame[valid].duplicated(keep="last").to_numpy()
    if repeated.any():
        later = " and ".join(keys)
        errors.add(repeated, "duplicate_key", f"the same {later} appears again later in the file; the later row is kept")


def _column(table: pa.Table, name: str, n: int) -> pa.Array:
    if name not in table.column_names:
        return pa.nulls(n, pa.string())
    return table[name].combine_chunks()


def _text(array: pa.Array) -> pa.Array:
    """Values as trimmed text, blank as null: the common ground for parsing (all in Arrow)."""
    if pa.types.is_null(array.type):
        return pa.nulls(len(array), pa.string())
    text = pc.utf8_trim_whitespace(pc.cast(array, pa.string()))
    return pc.if_else(pc.equal(text, ""), pa.scalar(None, pa.string()), text)


def _series(array: pa.Array) -> pd.Series:
    """Arrow strings as an Arrow-backed pandas Series (no copy) for the standardizers."""
    return pd.Series(pd.arrays.ArrowStringArray(pc.cast(array, pa.string())), dtype="string[pyarrow]")


_INT = r"^[+-]?\d+(\.0*)?$"  # "468.0" is a whole number too (sources that went through a float)
_NUMBER = r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$"
_TRUE = ["true", "t", "yes", "y", "1"]
_FALSE = ["false", "f", "no", "n", "0"]


def _parse(array: pa.Array, column: Column, timezone: str) -> tuple[pa.Array, np.ndarray]:
    """Values in the column's Arrow type, and a mask of present values that failed to parse."""
    target = arrow_type(column)
    if column.type in ("timestamp", "timestamptz") and pa.types.is_timestamp(array.type):
        local = array if array.type.tz else pc.assume_timezone(array, timezone, ambiguous="earliest", nonexistent="earliest")
        return pc.cast(local, target), np.zeros(len(array), dtype=bool)
    if (pa.types.is_integer(array.type) and column.type == "int") or (pa.types.is_boolean(array.type) and column.type == "bool"):
        return pc.cast(array, target), np.zeros(len(array), dtype=bool)
    text = _text(array)
    if column.type == "string":
        return text, np.zeros(len(array), dtype=bool)
    present = _mask(pc.is_valid(text))
    if column.type == "bool":
        lowered = pc.utf8_lower(text)
        values = pc.if_else(pc.is_in(lowered, pa.array(_TRUE)), True, pc.if_else(pc.is_in(lowered, pa.array(_FALSE)), False, None))
        return values, present & ~_mask(pc.is_valid(values))
    if column.type in ("int", "float") or column.decimal:
        valid = _mask(pc.match_substring_regex(text, _INT if column.type == "int" else _NUMBER))
        kept = pc.if_else(pa.array(valid), text, pa.scalar(None, pa.string()))
        if column.type == "int":
            kept = pc.replace_substring_regex(kept, r"\.0*$", "")
        numbers = pc.cast(kept, pa.int64() if column.type == "int" else pa.float64())
        if column.unit:
            numbers = pc.multiply(pc.cast(numbers, pa.float64()), column.unit.factor)
        if column.decimal:
            numbers = pc.round(numbers, column.decimal[1])
        return pc.cast(numbers, target), present & ~valid
    return _parse_time(text, column, timezone, present)


def _parse_time(text: pa.Array, column: Column, timezone: str, present: np.ndarray) -> tuple[pa.Array, np.ndarray]:
    """Dates and timestamps: one Arrow cast when the whole column is plain ISO 8601 (the usual
    case), else pandas' lenient ISO parser value by value, with failures marked."""
    naive = pa.date32() if column.type == "date" else pa.timestamp("us")
    try:
        parsed = pc.cast(text, naive)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        series = pd.to_datetime(pd.Series(text.to_pylist(), dtype=object), errors="coerce", format="ISO8601", utc=False)
        if getattr(series.dt, "tz", None) is not None:
            series = series.dt.tz_convert(timezone).dt.tz_localize(None)
        parsed = pc.cast(pa.array(series.dt.normalize() if column.type == "date" else series, pa.timestamp("us"), from_pandas=True), naive)
    if column.type != "date":
        parsed = pc.cast(pc.assume_timezone(parsed, timezone, ambiguous="earliest", nonexistent="earliest"), arrow_type(column))
    return parsed, present & ~_mask(pc.is_valid(parsed))


def _mask(array: pa.Array) -> np.ndarray:
    return pc.fill_null(array, False).to_numpy(zero_copy_only=False)


def _describe(values, mask: np.ndarray, what: str, column: str) -> np.ndarray:
    """Plain-words reasons for the rows in ``mask`` only (building them for every row would be slow)."""
    reasons = np.full(len(mask), None, dtype=object)
    positions = np.flatnonzero(mask)
    if len(positions):
        picked = values.take(pa.array(positions)).to_pylist() if isinstance(values, pa.Array) else values.iloc[positions].tolist()
        reasons[positions] = [f"{column}: {v!r} {what}" for v in picked]
    return reasons


def _check_rules(array: pa.Array, column: Column, errors: _Errors) -> None:
    missing = array.is_null().to_numpy(zero_copy_only=False)
    if column.required:
        errors.add(missing, "required", f"{column.name}: a value is required")
    if column.allowed is not None:
        outside = ~missing & ~pc.is_in(array, pa.array(column.allowed, array.type)).to_numpy(zero_copy_only=False)
        errors.add(outside, "allowed_values", _describe(array, outside, f"is not one of {column.allowed}", column.name))
    if column.min is not None or column.max is not None:
        numbers = pc.cast(array, pa.float64())
        low = pc.less(numbers, column.min).to_numpy(zero_copy_only=False) if column.min is not None else False
        high = pc.greater(numbers, column.max).to_numpy(zero_copy_only=False) if column.max is not None else False
        out_of_range = ~missing & (np.asarray(low, dtype=bool) | np.asarray(high, dtype=bool))
        bounds = f"between {column.min} and {column.max}" if column.min is not None and column.max is not None else (
            f"at least {column.min}" if column.min is not None else f"at most {column.max}"
        )
        errors.add(out_of_range, "range", _describe(array, out_of_range, f"is not {bounds}", column.name))


def _with_lineage(clean, records: Records, delivery: Delivery, table: pa.Table, unexpected, issues) -> pa.Table:
    n = table.num_rows
    columns = {
        "_source": pa.repeat(pa.scalar(delivery.source, pa.string()), n),
        "_file_checksum": pa.repeat(pa.scalar(delivery.checksum, pa.string()), n),
        "_row_number": pa.array(records.row_numbers, pa.int64()),
        "_received_at": pa.repeat(pa.scalar(delivery.received_at, pa.timestamp("us", tz="UTC")), n),
        "_ingested_at": pa.repeat(pa.scalar(delivery.ingested_at, pa.timestamp("us", tz="UTC")), n),
        "_extra": _json_rows(table.select(list(unexpected)).to_pylist()) if unexpected else pa.nulls(n, pa.string()),
        "_issues": _issues_json(issues, n),
    }
    for name, array in columns.items():
        clean = clean.append_column(name, array)
    return clean


def _json_rows(rows: list[dict]) -> pa.Array:
    return pa.array(
        [json.dumps({k: v for k, v in row.items() if v is not None}, default=str, sort_keys=True) or None for row in rows],
        pa.string(),
    )


def _issues_json(issues: dict[str, pd.Series], n: int) -> pa.Array:
    texts: list[str | None] = [None] * n
    if issues:
        frame = pd.DataFrame({name: s.reset_index(drop=True) for name, s in issues.items()})
        for position in np.flatnonzero(frame.notna().any(axis=1).to_numpy()):
            row = frame.iloc[position]
            texts[position] = json.dumps({k: v for k, v in row.items() if pd.notna(v)}, sort_keys=True)
    return pa.array(texts, pa.string())


def _quarantine(table: pa.Table, records: Records, delivery: Delivery, failed: np.ndarray, errors: _Errors) -> pa.Table:
    positions = np.flatnonzero(failed)
    originals = table.take(pa.array(positions, pa.int64())).to_pylist() if len(positions) else []
    rows = [
        {
            "_row_number": int(records.row_numbers[p]),
            "rule": errors.rule[p],
            "reason": errors.reason[p],
            "original": json.dumps(original, default=str, ensure_ascii=False),
        }
        for p, original in zip(positions, originals, strict=True)
    ]
    rows += [{"_row_number": r.row_number, "rule": "parse", "reason": r.reason, "original": r.original} for r in records.rejected]
    return quarantine_table(rows, delivery)


def quarantine_table(rows: list[dict], delivery: Delivery) -> pa.Table:
    """Quarantine rows of one delivery; also used when a whole file fails."""
    now = delivery.ingested_at
    full = [
        {"_source": delivery.source, "_file_checksum": delivery.checksum, "_landing_key": delivery.landing_key, "_quarantined_at": now, **row}
        for row in rows
    ]
    return pa.Table.from_pylist(sorted(full, key=lambda r: r["_row_number"] or 0), schema=QUARANTINE_SCHEMA)


@dataclass(frozen=True)
class FileOutcome:
    """What became of one raw file: its clean rows, its quarantined rows, and how they add up."""

    delivery: Delivery
    clean: pa.Table | None
    quarantine: pa.Table
    rows_in_file: int | None  # None when the file could not be read at all
    failure: str | None  # why the whole file failed
    unexpected_columns: tuple[str, ...] = ()
    issues: dict[str, int] | None = None

    @property
    def rows_clean(self) -> int:
        return self.clean.num_rows if self.clean is not None else 0


def conform_file(data: bytes, contract: Contract, delivery: Delivery) -> FileOutcome:
    """Read and conform one file. A file that fails as a whole still accounts for its rows: each
    readable record is quarantined with the file's reason; an unreadable file leaves one row (0)."""
    try:
        records = read_records(data, contract)
    except FileError as error:
        row = {"_row_number": 0, "rule": "file", "reason": str(error), "original": None}
        return FileOutcome(delivery, None, quarantine_table([row], delivery), None, str(error))
    try:
        result = conform(records, contract, delivery)
    except FileError as error:
        rows = [
            {"_row_number": int(n), "rule": "file", "reason": str(error), "original": json.dumps(r, default=str, ensure_ascii=False)}
            for n, r in zip(records.row_numbers, records.table.to_pylist(), strict=True)
        ]
        rows += [{"_row_number": r.row_number, "rule": "parse", "reason": r.reason, "original": r.original} for r in records.rejected]
        return FileOutcome(delivery, None, quarantine_table(rows, delivery), records.total, str(error))
    return FileOutcome(
        delivery, result.clean, result.quarantine, records.total, None, result.unexpected_columns, result.issues
    )
