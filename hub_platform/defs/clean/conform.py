"""Turn records read from one raw file into typed, standardized clean rows and quarantined rows.

Pure function of Arrow data and the contract. Every record ends in exactly one of the two outputs:
clean rows carry lineage columns (source, file checksum, row number, times); quarantined rows carry
every rule they broke, each reason in plain words, and their original values as JSON.

Each column's value is taken from its file column (or derived from several), with the contract's
null tokens and default applied; then, in order:
  required     a missing value quarantines the row
  type         the value must parse as the declared type (dates and timestamps by the column's
               ``format`` patterns, else ISO 8601, years 1-9999; naive times are in the contract's
               time zone, stored as UTC; decimals are exact; units converted as declared)
  standardize / allowed / range
One rule for a present value the column cannot hold, whichever check finds it: ``on_invalid:
quarantine`` (the default for required columns) quarantines the row; ``on_invalid: null`` (the
default for optional ones) nulls the value and lists the reason in the row's ``_issues``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

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
        ("violations", pa.string()),  # JSON list of {rule, column, reason}: every rule the record broke
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


class _Violations:
    """Every rule each row broke, in column order: a quarantined row lists them all."""

    def __init__(self, n: int):
        self.failed = np.zeros(n, dtype=bool)
        self._found: list[tuple[np.ndarray, str, str | None, list]] = []

    def add(self, mask: np.ndarray, rule: str, column: str | None, reasons: np.ndarray | str) -> None:
        positions = np.flatnonzero(np.asarray(mask, dtype=bool))
        if not len(positions):
            return
        texts = [reasons] * len(positions) if isinstance(reasons, str) else list(np.asarray(reasons, dtype=object)[positions])
        self._found.append((positions, rule, column, texts))
        self.failed[positions] = True

    def by_row(self) -> dict[int, list[dict]]:
        rows: dict[int, list[dict]] = {}
        for positions, rule, column, texts in self._found:
            for position, text in zip(positions.tolist(), texts, strict=True):
                rows.setdefault(position, []).append({"rule": rule, "column": column, "reason": text})
        return rows


class _Issues:
    """Values nulled under ``on_invalid: null``: the first reason per (row, column)."""

    def __init__(self, n: int):
        self.n = n
        self.columns: dict[str, np.ndarray] = {}

    def add(self, mask: np.ndarray, column: str, reasons: np.ndarray | str) -> None:
        mask = np.asarray(mask, dtype=bool)
        if not mask.any():
            return
        found = self.columns.setdefault(column, np.full(self.n, None, dtype=object))
        fresh = mask & pd.isna(found)
        found[fresh] = reasons if isinstance(reasons, str) else np.asarray(reasons, dtype=object)[fresh]

    def counts(self) -> dict[str, int]:
        return {name: int((~pd.isna(found)).sum()) for name, found in self.columns.items()}

    def as_json(self) -> pa.Array:
        texts: list[str | None] = [None] * self.n
        if self.columns:
            frame = pd.DataFrame(self.columns)
            for position in np.flatnonzero(frame.notna().any(axis=1).to_numpy()):
                row = frame.iloc[position]
                texts[position] = json.dumps({k: v for k, v in row.items() if pd.notna(v)}, sort_keys=True, ensure_ascii=False)
        return pa.array(texts, pa.string())


def conform(records: Records, contract: Contract, delivery: Delivery) -> Conformed:
    table = records.table
    missing = contract.missing_required(table.column_names)
    if missing:
        raise FileError(f"required column(s) missing from the file: {', '.join(missing)}")
    known = {name for column in contract.columns for name in column.file_columns}
    unexpected = tuple(name for name in table.column_names if name not in known)

    n = table.num_rows
    violations, issues = _Violations(n), _Issues(n)
    inputs = {c.name: column_input(table, c, contract.format.null_values, n) for c in contract.columns}
    out: dict[str, pa.Array] = {}
    for column in contract.columns:
        given = inputs[column.name]
        if column.required:
            violations.add(given.is_null().to_numpy(zero_copy_only=False), "required", column.name, f"{column.name}: a value is required")

        def invalid(mask: np.ndarray, rule: str, reasons, values: pa.Array, column: Column = column) -> pa.Array:
            """The one rule for a value the column cannot hold: quarantine the row, or null the value."""
            if column.quarantines_invalid:
                violations.add(mask, rule, column.name, reasons)
                return values
            issues.add(mask, column.name, reasons)
            return pc.if_else(pa.array(mask), pa.nulls(len(values), values.type), values) if mask.any() else values

        values, bad = parse_column(given, column, contract.format.timezone)
        values = invalid(bad, "type", _describe(given, bad, f"is not a valid {column.type}{_formats(column)}", column.name), values)
        if column.standardize:
            text = _series(values)
            region = _series(inputs[column.region_column]) if column.region_column else column.default_region
            result = standardize(column.standardize, text, region=region)
            wrong = result.error.notna().to_numpy()
            values = invalid(wrong, f"standardize:{column.standardize}", (f"{column.name}: " + result.error.fillna("")).to_numpy(dtype=object),
                             pa.array(result.value, pa.string()))
            if column.standardize in MATCH_KEY_KINDS:
                out[f"{column.name}_key"] = pa.array(match_key(column.standardize, result.value), pa.string())
            if column.pii:
                out[f"{column.name}_original"] = pa.array(text, pa.string())
        for rule, mask, reasons in _rule_checks(values, column):
            values = invalid(mask, rule, reasons, values)
        out[column.name] = values

    if not contract.cdc:  # a change feed has many events per key; any other file, one row per key
        _flag_repeated_keys(out, contract.keys, violations)
    clean = pa.table(out)
    clean = _with_lineage(clean, records, delivery, table, unexpected, issues.as_json())
    clean = clean.select(clean_schema(contract).names).cast(clean_schema(contract))
    quarantine = _quarantine(table, records, delivery, violations)
    return Conformed(
        clean=clean.filter(pa.array(~violations.failed)),
        quarantine=quarantine,
        unexpected_columns=unexpected,
        issues=issues.counts(),
    )


def _formats(column: Column) -> str:
    return f" (formats {', '.join(column.format)})" if column.format else ""


def column_input(table: pa.Table, column: Column, file_null_values: list[str], n: int) -> pa.Array:
    """The column's values as the file gives them: one file column, or several derived into one; text
    trimmed, blanks and the null tokens missing, and the default where a value is missing."""
    tokens = column.null_values if column.null_values is not None else file_null_values
    if column.derive:
        parts = [_text(_column(table, name, n), tokens) for name in column.derive.parts]
        values = parts[0]
        for part in parts[1:]:  # the present parts joined (pyarrow's null_handling="skip" drops all-null rows)
            joined = pc.binary_join_element_wise(values, part, column.derive.separator)
            values = pc.coalesce(joined, values, part) if column.derive.concat is not None else pc.coalesce(values, part)
    else:
        values = _column(table, column.file_column, n)
        if pa.types.is_string(values.type) or pa.types.is_large_string(values.type) or pa.types.is_null(values.type) or column.default is not None:
            values = _text(values, tokens)
    if column.default is not None:
        values = pc.fill_null(values, pa.scalar(column.default_text, pa.string()))
    return values


def _flag_repeated_keys(out: dict[str, pa.Array], keys: list[str], violations: _Violations) -> None:
    """Within one file the last row of a key wins; the earlier ones are quarantined, not dropped."""
    frame = pd.DataFrame({k: out[k].to_pandas() for k in keys})
    valid = ~violations.failed
    repeated = np.zeros(len(frame), dtype=bool)
    repeated[valid] = frame[valid].duplicated(keep="last").to_numpy()
    if repeated.any():
        later = " and ".join(keys)
        violations.add(repeated, "duplicate_key", None, f"the same {later} appears again later in the file; the later row is kept")


def _column(table: pa.Table, name: str, n: int) -> pa.Array:
    if name not in table.column_names:
        return pa.nulls(n, pa.string())
    return table[name].combine_chunks()


def _text(array: pa.Array, null_values: list[str] = ()) -> pa.Array:
    """Values as trimmed text, blank and ``null_values`` as null: the common ground for parsing (all in Arrow)."""
    if pa.types.is_null(array.type):
        return pa.nulls(len(array), pa.string())
    text = pc.utf8_trim_whitespace(pc.cast(array, pa.string()))
    missing = pc.equal(text, "")
    if null_values:
        missing = pc.or_(missing, pc.is_in(text, pa.array(null_values, pa.string())))
    return pc.if_else(missing, pa.scalar(None, pa.string()), text)


def _series(array: pa.Array) -> pd.Series:
    """Arrow strings as an Arrow-backed pandas Series (no copy) for the standardizers."""
    return pd.Series(pd.arrays.ArrowStringArray(pc.cast(array, pa.string())), dtype="string[pyarrow]")


_INT = r"^[+-]?\d+(\.0*)?$"  # "468.0" is a whole number too (sources that went through a float)
_NUMBER = r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$"
_TRUE = ["true", "t", "yes", "y", "1"]
_FALSE = ["false", "f", "no", "n", "0"]


def parse_column(array: pa.Array, column: Column, timezone: str) -> tuple[pa.Array, np.ndarray]:
    """Values in the column's Arrow type, and a mask of present values that failed to parse.

    ``array`` is what :func:`column_input` gives: text already trimmed with its null tokens applied,
    or a file's native type (Parquet, JSON numbers), which is turned into text where it must be parsed.
    """
    target = arrow_type(column)
    if column.type in ("timestamp", "timestamptz") and pa.types.is_timestamp(array.type):
        local = array if array.type.tz else pc.assume_timezone(array, timezone, ambiguous="earliest", nonexistent="earliest")
        return pc.cast(local, target), np.zeros(len(array), dtype=bool)
    if column.type == "date" and (pa.types.is_date(array.type) or pa.types.is_timestamp(array.type)):
        return pc.cast(array, target), np.zeros(len(array), dtype=bool)
    if (pa.types.is_integer(array.type) and column.type == "int") or (pa.types.is_boolean(array.type) and column.type == "bool"):
        return pc.cast(array, target), np.zeros(len(array), dtype=bool)
    text = array if pa.types.is_string(array.type) else _text(array)
    if column.type == "string":
        return text, np.zeros(len(array), dtype=bool)
    present = _mask(pc.is_valid(text))
    if column.type == "bool":
        lowered = pc.utf8_lower(text)
        values = pc.if_else(pc.is_in(lowered, pa.array(_TRUE)), True, pc.if_else(pc.is_in(lowered, pa.array(_FALSE)), False, None))
        return values, present & ~_mask(pc.is_valid(values))
    if column.type in ("int", "float") or column.decimal:
        return _parse_number(text, column, present)
    return _parse_time(text, column, timezone, present)


def _parse_number(text: pa.Array, column: Column, present: np.ndarray) -> tuple[pa.Array, np.ndarray]:
    """Plain numbers (the column's separators first taken out); anything else is invalid, never guessed."""
    if column.thousands_separator:
        text = pc.replace_substring(text, column.thousands_separator, "")
    if column.decimal_separator != ".":
        text = pc.replace_substring(text, column.decimal_separator, ".")
    valid = _mask(pc.match_substring_regex(text, _INT if column.type == "int" else _NUMBER))
    kept = pc.if_else(pa.array(valid), text, pa.scalar(None, pa.string()))
    if column.type == "int":
        kept = pc.replace_substring_regex(kept, r"\.0*$", "")
    numbers = pc.cast(kept, pa.int64() if column.type == "int" else pa.float64())
    if column.unit:
        numbers = pc.multiply(pc.cast(numbers, pa.float64()), column.unit.factor)
    if column.decimal:
        numbers = pc.round(numbers, column.decimal[1])
    return pc.cast(numbers, arrow_type(column)), present & ~valid


def _parse_time(text: pa.Array, column: Column, timezone: str, present: np.ndarray) -> tuple[pa.Array, np.ndarray]:
    """Dates and timestamps in Arrow types (years 1-9999 and beyond; no pandas Timestamps).

    Without ``format``: ISO 8601, one Arrow cast when the whole column is plain (the usual case),
    else Python's ``fromisoformat`` once per distinct value (offsets, ``Z``, ``T``, any year). With
    ``format``: each pattern in order through Arrow's strptime, then a round trip to catch what
    strptime rolls over (``2026-02-30`` read as March 2); values that fail either way are judged by
    Python's strict ``strptime``. Aware values are converted to UTC; naive ones are in ``timezone``.
    """
    kind = pa.date32() if column.type == "date" else pa.timestamp("us")
    if column.format:
        parsed = _strptime(text, column.format, kind)
    else:
        try:
            parsed = pc.cast(text, kind)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            parsed = _per_distinct_time(text, lambda value: _iso(value, timezone), kind)
    if column.type != "date":
        parsed = pc.cast(pc.assume_timezone(parsed, timezone, ambiguous="earliest", nonexistent="earliest"), arrow_type(column))
    return parsed, present & ~_mask(pc.is_valid(parsed))


def _iso(value: str, timezone: str) -> datetime | None:
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    if parsed.tzinfo is not None:  # an explicit offset wins over the contract's zone
        parsed = parsed.astimezone(ZoneInfo(timezone)).replace(tzinfo=None)
    return parsed


def _strptime(text: pa.Array, patterns: list[str], kind: pa.DataType) -> pa.Array:
    parsed = pa.nulls(len(text), pa.timestamp("us"))
    for pattern in patterns:
        todo = pc.if_else(pc.is_null(parsed), text, pa.scalar(None, pa.string()))
        attempt = pc.strptime(todo, format=pattern, unit="us", error_is_null=True)
        if pa.types.is_timestamp(attempt.type) and attempt.type.tz:
            attempt = pc.cast(attempt, pa.timestamp("us"))
        elif "%z" not in pattern:
            round_trip = pc.equal(_fold(pc.strftime(attempt, format=pattern)), _fold(todo))
            attempt = pc.if_else(pc.fill_null(round_trip, False), attempt, pa.scalar(None, pa.timestamp("us")))
        parsed = pc.coalesce(parsed, attempt)
    left = pc.if_else(pc.is_null(parsed), text, pa.scalar(None, pa.string()))
    if pc.any(pc.is_valid(left)).as_py():
        parsed = pc.coalesce(parsed, _per_distinct_time(left, lambda value: _strict(value, patterns), pa.timestamp("us")))
    return pc.cast(parsed, kind)


def _fold(text: pa.Array) -> pa.Array:
    """Text compared case-blind, without leading zeros or repeated spaces (``2-Jun-06`` = ``02-JUN-06``)."""
    unpadded = pc.replace_substring_regex(pc.utf8_lower(text), r"(^|[^0-9])0+([0-9])", r"\1\2")
    return pc.replace_substring_regex(unpadded, r"\s+", " ")


def _strict(value: str, patterns: list[str]) -> datetime | None:
    for pattern in patterns:
        try:
            parsed = datetime.strptime(value, pattern)
        except ValueError:
            continue
        return parsed.astimezone(UTC).replace(tzinfo=None) if parsed.tzinfo else parsed
    return None


def _per_distinct_time(text: pa.Array, parse, kind: pa.DataType) -> pa.Array:
    """``parse`` once per distinct present value (real columns repeat their dates), mapped back."""
    encoded = pc.dictionary_encode(text).combine_chunks() if isinstance(text, pa.ChunkedArray) else pc.dictionary_encode(text)
    results = [parse(value) for value in encoded.dictionary.to_pylist()]
    if pa.types.is_date(kind):
        results = [None if r is None else r.date() if isinstance(r, datetime) else r for r in results]
    return pa.array(results, kind).take(encoded.indices)


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


def _rule_checks(array: pa.Array, column: Column):
    """(rule, mask, reasons) for the declared allowed values and range, over present values."""
    missing = array.is_null().to_numpy(zero_copy_only=False)
    if column.allowed is not None:
        outside = ~missing & ~pc.is_in(array, pa.array(column.allowed, array.type)).to_numpy(zero_copy_only=False)
        yield "allowed_values", outside, _describe(array, outside, f"is not one of {column.allowed}", column.name)
    if column.min is not None or column.max is not None:
        numbers = pc.cast(array, pa.float64())
        low = pc.less(numbers, column.min).to_numpy(zero_copy_only=False) if column.min is not None else False
        high = pc.greater(numbers, column.max).to_numpy(zero_copy_only=False) if column.max is not None else False
        out_of_range = ~missing & (np.asarray(low, dtype=bool) | np.asarray(high, dtype=bool))
        bounds = f"between {column.min} and {column.max}" if column.min is not None and column.max is not None else (
            f"at least {column.min}" if column.min is not None else f"at most {column.max}"
        )
        yield "range", out_of_range, _describe(array, out_of_range, f"is not {bounds}", column.name)


def _with_lineage(clean, records: Records, delivery: Delivery, table: pa.Table, unexpected, issues: pa.Array) -> pa.Table:
    n = table.num_rows
    columns = {
        "_source": pa.repeat(pa.scalar(delivery.source, pa.string()), n),
        "_file_checksum": pa.repeat(pa.scalar(delivery.checksum, pa.string()), n),
        "_row_number": pa.array(records.row_numbers, pa.int64()),
        "_received_at": pa.repeat(pa.scalar(delivery.received_at, pa.timestamp("us", tz="UTC")), n),
        "_ingested_at": pa.repeat(pa.scalar(delivery.ingested_at, pa.timestamp("us", tz="UTC")), n),
        "_extra": _json_rows(table.select(list(unexpected)).to_pylist()) if unexpected else pa.nulls(n, pa.string()),
        "_issues": issues,
    }
    for name, array in columns.items():
        clean = clean.append_column(name, array)
    return clean


def _json_rows(rows: list[dict]) -> pa.Array:
    return pa.array(
        [json.dumps({k: v for k, v in row.items() if v is not None}, default=str, sort_keys=True) or None for row in rows],
        pa.string(),
    )


def _quarantine(table: pa.Table, records: Records, delivery: Delivery, violations: _Violations) -> pa.Table:
    broken = violations.by_row()
    positions = sorted(broken)
    originals = table.take(pa.array(positions, pa.int64())).to_pylist() if positions else []
    rows = [quarantine_row(int(records.row_numbers[p]), broken[p], json.dumps(original, default=str, ensure_ascii=False))
            for p, original in zip(positions, originals, strict=True)]
    rows += [quarantine_row(r.row_number, [{"rule": "parse", "column": None, "reason": r.reason}], r.original) for r in records.rejected]
    return quarantine_table(rows, delivery)


def quarantine_row(row_number: int, broken: list[dict], original: str | None) -> dict:
    """One quarantined record: every rule it broke (``rule``, ``reason`` joined for people, ``violations`` as JSON)."""
    return {
        "_row_number": row_number,
        "rule": ", ".join(dict.fromkeys(v["rule"] for v in broken)),
        "reason": "; ".join(v["reason"] for v in broken),
        "violations": json.dumps(broken, ensure_ascii=False),
        "original": original,
    }


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
    notes: tuple[str, ...] = ()  # how the file was read (e.g. a repeated header name renamed)

    @property
    def rows_clean(self) -> int:
        return self.clean.num_rows if self.clean is not None else 0


def conform_file(data: bytes, contract: Contract, delivery: Delivery) -> FileOutcome:
    """Read and conform one file. A file that fails as a whole still accounts for its rows: each
    readable record is quarantined with the file's reason; an unreadable file leaves one row (0).
    Nothing a file holds raises out of here: an unexpected error fails that file, with its text."""
    try:
        records = read_records(data, contract)
    except Exception as error:  # FileError, or whatever else a file's bytes provoke
        reason = _failure(error)
        return FileOutcome(delivery, None, quarantine_table([quarantine_row(0, [_file_rule(reason)], None)], delivery), None, reason)
    try:
        result = conform(records, contract, delivery)
    except Exception as error:
        reason = _failure(error)
        rows = [quarantine_row(int(n), [_file_rule(reason)], json.dumps(r, default=str, ensure_ascii=False))
                for n, r in zip(records.row_numbers, records.table.to_pylist(), strict=True)]
        rows += [quarantine_row(r.row_number, [{"rule": "parse", "column": None, "reason": r.reason}], r.original) for r in records.rejected]
        return FileOutcome(delivery, None, quarantine_table(rows, delivery), records.total, reason)
    return FileOutcome(
        delivery, result.clean, result.quarantine, records.total, None, result.unexpected_columns, result.issues, records.notes
    )


def _failure(error: Exception) -> str:
    return str(error) if isinstance(error, FileError) else f"could not be conformed: {type(error).__name__}: {error}"


def _file_rule(reason: str) -> dict:
    return {"rule": "file", "column": None, "reason": reason}
