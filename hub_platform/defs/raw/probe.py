"""A cheap look at a landed file before it is stored: does it match its contract's shape?

The raw zone keeps every file whatever it holds; the probe only decides what the manifest says
about it. A file is *rejected* when nothing in it can be used as the contract says (unreadable
Parquet, not JSON lines, a required column missing from the header); row-level problems are left
to the clean zone, which quarantines the rows and lets the rest flow.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field

import pyarrow.parquet as pq

from hub_platform.sources.contract import Contract


@dataclass(frozen=True)
class Probe:
    row_count: int | None
    rejected: str | None = None  # why the file cannot be used at all
    notes: tuple[str, ...] = field(default_factory=tuple)  # worth a warning, not a rejection

    @property
    def status(self) -> str:
        return "rejected" if self.rejected else "ingested"


def probe(data: bytes, contract: Contract) -> Probe:
    kind = contract.format.type
    if not data.strip():
        return Probe(0, "the file is empty")
    if kind == "parquet":
        return _probe_parquet(data, contract)
    if kind == "csv":
        return _probe_csv(data, contract)
    return _probe_jsonl(data)


def _check_columns(found: list[str], contract: Contract, row_count: int | None) -> Probe:
    found_set = set(found)
    missing = [c.file_column for c in contract.required_columns if c.file_column not in found_set]
    known = {c.file_column for c in contract.columns}
    unexpected = [c for c in found if c not in known]
    notes = (f"unexpected column(s) not in the contract: {', '.join(unexpected)}",) if unexpected else ()
    if missing:
        return Probe(row_count, f"required column(s) missing: {', '.join(missing)}", notes)
    return Probe(row_count, None, notes)


def _probe_parquet(data: bytes, contract: Contract) -> Probe:
    try:
        metadata = pq.ParquetFile(io.BytesIO(data)).metadata
    except Exception as error:  # pyarrow raises several types for corrupt files
        return Probe(None, f"not a readable Parquet file ({error})")
    return _check_columns(metadata.schema.to_arrow_schema().names, contract, metadata.num_rows)


def count_records(data: bytes) -> int:
    """Non-blank lines: how CSV and JSON-lines files are counted here and in the clean zone.

    A truncated file's last, partial line counts too: it arrived, so it must be accounted for.
    """
    return sum(1 for line in data.split(b"\n") if line.strip())


def _probe_csv(data: bytes, contract: Contract) -> Probe:
    first_line = data.split(b"\n", 1)[0]
    try:
        header_text = first_line.decode(contract.format.encoding).lstrip("\ufeff").rstrip("\r")
    except UnicodeDecodeError as error:
        return Probe(None, f"the header is not valid {contract.format.encoding} ({error.reason} at byte {error.start})")
    header = next(csv.reader([header_text], delimiter=contract.format.delimiter), [])
    rows = count_records(data) - 1
    return _check_columns([h.strip() for h in header], contract, rows)


def _probe_jsonl(data: bytes) -> Probe:
    rows = count_records(data)
    first_line = data.lstrip().split(b"\n", 1)[0]
    try:
        first = json.loads(first_line)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        return Probe(rows, f"the first line is not a JSON object ({error})")
    if not isinstance(first, dict):
        return Probe(rows, f"the first line is a JSON {type(first).__name__}, not an object")
    return Probe(rows, None)
