"""Read a raw file's bytes as its contract says, keeping every record: parsed, or rejected with a reason.

One path serves the raw probe and the clean zone, so both count the same records:

1. decompress: gzip, bz2, xz, zstd or a one-file zip, as the contract says or, by default, as the
   bytes' magic number says;
2. decode: the declared encoding, byte-order mark dropped. A byte that does not decode becomes a
   private-use marker character instead of an error, so no record moves or vanishes; the records
   holding one are rejected afterwards with the byte named;
3. parse: CSV through pyarrow, which takes LF, CRLF and CR line endings and quoted newlines (the
   whole file is one block, so a quoted value can span lines and a 50 MB line fits); JSON lines
   after CR/CRLF become LF (JSON strings cannot hold a raw line break, so this is safe).

Row numbers are 1-based ordinals of the file's records (the CSV header excluded, blank lines not
counted), the same way the raw manifest counts them, so any clean or quarantined row leads back to
its bytes.
"""

from __future__ import annotations

import bz2
import codecs
import csv
import gzip
import io
import json
import lzma
import re
import zipfile
import zlib
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pv
import pyarrow.json as pj
import pyarrow.parquet as pq

from hub_platform.sources.contract import Contract, FileFormat


class FileError(ValueError):
    """Nothing in the file can be read as its contract says (the whole file fails, with this reason)."""


@dataclass(frozen=True)
class Rejected:
    row_number: int
    reason: str
    original: str  # the record as it arrived (bytes that did not decode shown as latin-1)


@dataclass(frozen=True)
class Records:
    table: pa.Table  # columns as found in the file (strings for CSV, native types otherwise)
    row_numbers: np.ndarray  # int64, one per table row
    rejected: list[Rejected]
    notes: tuple[str, ...] = field(default_factory=tuple)  # what was adjusted to read the file

    @property
    def total(self) -> int:
        return self.table.num_rows + len(self.rejected)


# -- decompression ------------------------------------------------------------------------------
_MAGIC = {
    "gzip": re.compile(rb"\x1f\x8b"),
    "bz2": re.compile(rb"BZh[1-9]1AY&SY"),
    "xz": re.compile(rb"\xfd7zXZ\x00"),
    "zstd": re.compile(rb"\x28\xb5\x2f\xfd"),
    "zip": re.compile(rb"PK\x03\x04"),
}


def compression_of(data: bytes) -> str | None:
    """The compression the bytes' magic number announces, if any."""
    return next((kind for kind, magic in _MAGIC.items() if magic.match(data)), None)


def decompress(data: bytes, declared: str) -> bytes:
    """The file's content: ``declared`` is the contract's compression (``auto``: by magic number)."""
    if declared == "none":
        return data
    found = compression_of(data)
    if declared != "auto" and found != declared:
        raise FileError(f"the contract says {declared} but the bytes are {f'{found}-compressed' if found else 'not compressed'}")
    if found is None:
        return data
    try:
        if found == "gzip":
            return gzip.decompress(data)
        if found == "bz2":
            return bz2.decompress(data)
        if found == "xz":
            return lzma.decompress(data)
        if found == "zstd":
            return pa.CompressedInputStream(pa.BufferReader(data), "zstd").read()
        return _unzip(data)
    except (OSError, EOFError, lzma.LZMAError, zlib.error, zipfile.BadZipFile, pa.ArrowException) as error:
        raise FileError(f"not a readable {found} file ({error})") from None


def _unzip(data: bytes) -> bytes:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        members = [m for m in archive.infolist() if not m.is_dir() and not m.filename.startswith("__MACOSX/")]
        if len(members) != 1:
            names = ", ".join(m.filename for m in members[:5]) or "nothing"
            raise FileError(f"the zip archive holds {len(members)} files ({names}); a delivery is one file")
        return archive.read(members[0])


# -- decoding -----------------------------------------------------------------------------------
_MARKER = 0xF0000  # U+F0000 + byte: supplementary private use, which real text does not carry
_MARKED = "[\U000f0000-\U000f00ff]"


def _mark_undecodable(error: UnicodeDecodeError) -> tuple[str, int]:
    return "".join(chr(_MARKER + b) for b in error.object[error.start : error.end]), error.end


codecs.register_error("hub_mark_undecodable", _mark_undecodable)


def decode(data: bytes, encoding: str) -> tuple[bytes, bool]:
    """The text as UTF-8 bytes without a byte-order mark, and whether some bytes did not decode."""
    if codecs.lookup(encoding).name == "utf-8":
        try:
            data.decode("utf-8")  # validates; the bytes are used as they are
            text, marked = data, False
        except UnicodeDecodeError:
            text, marked = data.decode("utf-8", "hub_mark_undecodable").encode("utf-8"), True
        return text.removeprefix(codecs.BOM_UTF8), marked
    decoded = data.decode(encoding, "hub_mark_undecodable").removeprefix("\ufeff")
    return decoded.encode("utf-8"), re.search(_MARKED, decoded) is not None


def _unmark(text: str) -> str:
    """A marked value as it arrived, each undecodable byte shown as its latin-1 character."""
    return re.sub(_MARKED, lambda m: chr(ord(m.group()) - _MARKER), text)


# -- entry points -------------------------------------------------------------------------------
def read_records(data: bytes, contract: Contract) -> Records:
    if not data.strip():
        raise FileError("the file is empty")
    data = decompress(data, contract.format.compression)
    if contract.format.type == "parquet":
        return _read_parquet(data)
    text, marked = decode(data, contract.format.encoding)
    if contract.format.type == "csv":
        records = _read_csv(text, contract)
    else:
        records = _read_jsonl(text)
    return _reject_undecodable(records, contract.format.encoding) if marked else records


def count_records(text: bytes, file_format: FileFormat) -> int:
    """How many records :func:`read_records` will find in decoded ``text`` (what the manifest records).

    Non-blank lines, unless a CSV holds its quote character: a quoted value may then span lines,
    so the file is parsed exactly as the clean zone will parse it.
    """
    if file_format.type == "csv" and b'"' in text:
        names = [f"c{i}" for i, _ in enumerate(_header(text, file_format.delimiter))]  # names do not change the count
        return _parse_csv(text, names, file_format.delimiter).total
    return sum(1 for line in _lines(text) if line.strip()) - (1 if file_format.type == "csv" else 0)


def csv_header(text: bytes, file_format: FileFormat) -> list[str]:
    """The header's column names as written (trimmed); duplicates kept, for the caller to judge."""
    return _header(text, file_format.delimiter)


def _lines(text: bytes) -> list[bytes]:
    if b"\r" in text:
        text = text.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
    return text.split(b"\n")


# -- CSV ----------------------------------------------------------------------------------------
_FIRST_LINE = re.compile(rb"[ \t]*([^\r\n]*)")


def _header(text: bytes, delimiter: str) -> list[str]:
    body = text.lstrip(b" \t\r\n")
    line = _FIRST_LINE.match(body).group(1).decode("utf-8")
    if not line.strip():
        raise FileError("the CSV header is missing")
    if re.search(_MARKED, line) or "\x00" in line:
        raise FileError("the CSV header is not text in the contract's encoding")
    return [name.strip() for name in next(csv.reader([line], delimiter=delimiter))]


def header_names(found: list[str], contract: Contract) -> tuple[list[str], tuple[str, ...]]:
    """Unique column names for the table, and notes on what was renamed.

    A name given twice is ambiguous: the file is rejected when the contract reads that column, and
    otherwise the repeats are kept as ``name.2``, ``name.3`` (they reach ``_extra``). Blank names
    become ``column_<position>``.
    """
    wanted = {name for column in contract.columns for name in column.file_columns}
    repeated = sorted({n for n in found if n and found.count(n) > 1})
    ambiguous = [n for n in repeated if n in wanted]
    if ambiguous:
        raise FileError(f"the header names {', '.join(repr(n) for n in ambiguous)} more than once; "
                        "the contract cannot tell which column is meant")
    names, seen, notes = [], {}, []
    for position, name in enumerate(found, start=1):
        if not name:
            name = f"column_{position}"
            notes.append(f"column {position} has no name in the header; kept as {name}")
        seen[name] = seen.get(name, 0) + 1
        if seen[name] > 1:
            notes.append(f"header repeats {name!r}; occurrence {seen[name]} kept as {name}.{seen[name]}")
            name = f"{name}.{seen[name]}"
        names.append(name)
    return names, tuple(notes)


def _block_size(text: bytes) -> int:
    """One block for the whole file: records may then span lines, and no line is too long for a block."""
    return min(max(len(text) + 1, 1 << 20), (1 << 31) - 1)


@dataclass(frozen=True)
class _ParsedCsv:
    table: pa.Table  # the well-formed records, every column a string
    row_numbers: np.ndarray  # their ordinals
    rejected: list[Rejected]  # malformed records

    @property
    def total(self) -> int:
        return self.table.num_rows + len(self.rejected)


def _parse_csv(text: bytes, names: list[str], delimiter: str) -> _ParsedCsv:
    """Parse with pyarrow, numbering every record.

    pyarrow numbers each record it hands the invalid-row handler by its ordinal in the file (the
    header is 1, empty lines are not counted); the well-formed records take the other ordinals, in
    order. A line of whitespace only is not a record.
    """
    invalid: list[tuple[int, str, str]] = []
    blank: set[int] = set()

    def on_invalid(row) -> str:
        if row.number < 0:
            raise FileError("pyarrow could not number the file's records")
        if row.text.strip():
            invalid.append((row.number - 1, row.text, f"malformed record: expected {row.expected_columns} fields, found {row.actual_columns}"))
        else:
            blank.add(row.number - 1)
        return "skip"

    table = pv.read_csv(
        io.BytesIO(text.lstrip(b" \t\r\n")),
        read_options=pv.ReadOptions(use_threads=False, block_size=_block_size(text), column_names=names, skip_rows=1),
        parse_options=pv.ParseOptions(delimiter=delimiter, invalid_row_handler=on_invalid, newlines_in_values=True),
        convert_options=pv.ConvertOptions(column_types={n: pa.string() for n in names}, null_values=[""], strings_can_be_null=True),
    )
    taken = {number for number, _, _ in invalid} | blank
    numbers = np.array([n for n in range(1, table.num_rows + len(taken) + 1) if n not in taken], dtype=np.int64)
    if len(names) == 1 and table.num_rows:  # with one column, a whitespace line parses as a value
        whitespace = pc.fill_null(pc.match_substring_regex(table[names[0]], r"^\s+$"), False).to_numpy(zero_copy_only=False)
        table, numbers = table.filter(pa.array(~whitespace)), numbers[~whitespace]
    return _ParsedCsv(table, numbers, [Rejected(number, reason, line) for number, line, reason in invalid])


def _read_csv(text: bytes, contract: Contract) -> Records:
    """Strings for every column (types are the clean zone's job); malformed records are rejected."""
    delimiter = contract.format.delimiter
    names, notes = header_names(_header(text, delimiter), contract)
    parsed = _parse_csv(text, names, delimiter)
    return Records(parsed.table, parsed.row_numbers, parsed.rejected, notes)


# -- JSON lines ---------------------------------------------------------------------------------
def _read_jsonl(text: bytes) -> Records:
    """Fast path through pyarrow; line by line (rejecting what is not a JSON object) when that fails."""
    lines = [line for line in _lines(text) if line.strip()]
    body = b"\n".join(lines) + b"\n"
    numbers = np.arange(1, len(lines) + 1, dtype=np.int64)
    if not lines:
        return Records(pa.table({}), numbers, [])
    try:
        table = pj.read_json(io.BytesIO(body), read_options=pj.ReadOptions(use_threads=False, block_size=_block_size(body)))
        return Records(table, numbers, [])
    except pa.ArrowInvalid:
        pass
    objects, kept, rejected = [], [], []
    for raw, number in zip(lines, numbers, strict=True):
        try:
            value = json.loads(raw)
        except json.JSONDecodeError as error:
            rejected.append(Rejected(int(number), f"not valid JSON ({error.msg} at column {error.colno})", _unmark(raw.decode())))
            continue
        if not isinstance(value, dict):
            rejected.append(Rejected(int(number), f"a JSON {type(value).__name__}, not an object", _unmark(raw.decode())))
            continue
        objects.append({k: _scalar(v) for k, v in value.items()})
        kept.append(number)
    return Records(_table_from_objects(objects), np.array(kept, dtype=np.int64), rejected)


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


# -- Parquet ------------------------------------------------------------------------------------
def _read_parquet(data: bytes) -> Records:
    try:
        table = pq.read_table(io.BytesIO(data))
    except Exception as error:  # pyarrow raises several types for corrupt files
        raise FileError(f"not a readable Parquet file ({error})") from None
    return Records(table, np.arange(1, table.num_rows + 1, dtype=np.int64), [])


# -- undecodable bytes --------------------------------------------------------------------------
def _reject_undecodable(records: Records, encoding: str) -> Records:
    """Move the records holding an undecodable byte (a marker) out of the table, naming the byte."""
    table = records.table
    text_columns = [name for name, kind in zip(table.column_names, table.schema.types, strict=True) if pa.types.is_string(kind)]
    marked = np.zeros(table.num_rows, dtype=bool)
    for name in text_columns:
        marked |= pc.fill_null(pc.match_substring_regex(table[name], _MARKED), False).to_numpy(zero_copy_only=False)
    rejected = [Rejected(r.row_number, r.reason, _unmark(r.original)) for r in records.rejected]
    for position in np.flatnonzero(marked):
        row = table.slice(int(position), 1).to_pylist()[0]
        column, value = next((k, v) for k, v in row.items() if isinstance(v, str) and re.search(_MARKED, v))
        byte = ord(re.search(_MARKED, value).group()) - _MARKER
        original = json.dumps({k: _unmark(v) if isinstance(v, str) else v for k, v in row.items()}, default=str, ensure_ascii=False)
        reason = f"not valid {encoding}: byte 0x{byte:02x} in column {column}"
        rejected.append(Rejected(int(records.row_numbers[position]), reason, original))
    keep = pa.array(~marked)
    return Records(table.filter(keep), records.row_numbers[~marked], sorted(rejected, key=lambda r: r.row_number), records.notes)
