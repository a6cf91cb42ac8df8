"""A cheap look at a landed file before it is stored: does it match its contract's shape?

The raw zone keeps every file whatever it holds; the probe only decides what the manifest says
about it. A file is *rejected* when nothing in it can be used as the contract says (not readable in
its compression, unreadable Parquet, not JSON lines, a header naming a contract column twice, a
required column missing); row-level problems are left to the clean zone, which quarantines the rows
and lets the rest flow. The probe never raises: whatever goes wrong becomes the rejection's reason,
so one file can never stop its feed.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass, field

import pyarrow.parquet as pq

from hub_platform.defs.clean.read import FileError, count_records, csv_header, decode, decompress, header_names
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
    try:
        return _probe(data, contract)
    except FileError as error:
        return Probe(None, str(error))
    except Exception as error:  # a file must never stop ingestion; the reason says what happened
        return Probe(None, f"could not be read: {type(error).__name__}: {error}")


def _probe(data: bytes, contract: Contract) -> Probe:
    if not data.strip():
        return Probe(0, "the file is empty")
    data = decompress(data, contract.format.compression)
    if not data.strip():
        return Probe(0, "the file is empty once decompressed")
    kind = contract.format.type
    if kind == "parquet":
        return _probe_parquet(data, contract)
    text, _ = decode(data, contract.format.encoding)
    rows = count_records(text, contract.format)
    if kind == "csv":
        names, notes = header_names(csv_header(text, contract.format), contract)
        return _check_columns(names, contract, rows, notes)
    return _probe_jsonl(text, rows)


def _check_columns(found: list[str], contract: Contract, row_count: int | None, notes: tuple[str, ...] = ()) -> Probe:
    known = {name for column in contract.columns for name in column.file_columns}
    unexpected = [c for c in found if c not in known]
    if unexpected:
        notes = (*notes, f"unexpected column(s) not in the contract: {', '.join(unexpected)}")
    missing = contract.missing_required(found)
    if missing:
        return Probe(row_count, f"required column(s) missing: {', '.join(missing)}", notes)
    return Probe(row_count, None, notes)


def _probe_parquet(data: bytes, contract: Contract) -> Probe:
    try:
        metadata = pq.ParquetFile(io.BytesIO(data)).metadata
    except Exception as error:  # pyarrow raises several types for corrupt files
        return Probe(None, f"not a readable Parquet file ({error})")
    return _check_columns(metadata.schema.to_arrow_schema().names, contract, metadata.num_rows)


def _probe_jsonl(text: bytes, rows: int) -> Probe:
    first_line = text.lstrip().splitlines()[0]
    try:
        first = json.loads(first_line)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        return Probe(rows, f"the first line is not a JSON object ({error})")
    if not isinstance(first, dict):
        return Probe(rows, f"the first line is a JSON {type(first).__name__}, not an object")
    return Probe(rows, None)
