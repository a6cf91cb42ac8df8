"""Materialization metadata that makes the UI worth looking at: counts, schemas, previews."""

from __future__ import annotations

import math

import dagster as dg
import pyarrow as pa

from hub_platform.lib.columns import describe
from hub_platform.lib.governance import redact_columns, redact_text

MAX_CELL_CHARS = 120  # a preview shows a value's start, never a whole field (a 50 MB field once went in uncut)
MAX_PREVIEW_CHARS = 16_000


def display_value(value) -> str:
    """A cell as a person reads it: floats rounded (37.80000000000001 shows as 37.8), nothing else changed."""
    if value is None:
        return ""
    if isinstance(value, float):
        if not math.isfinite(value):
            return "" if math.isnan(value) else str(value)
        if value != 0 and abs(value) < 0.01:
            return f"{value:.3g}"
        return f"{value:.4f}".rstrip("0").rstrip(".")
    return str(value)


def markdown_table(table: pa.Table, columns: list[str] | None = None, limit: int = 20) -> str:
    """A markdown rendering of the first ``limit`` rows, for metadata previews.

    Personal data never reaches the instance through it: PII (and unclassified) columns are shown as
    a mark, free text is redacted (:func:`governance.redact_text`), each cell is cut at MAX_CELL_CHARS
    and the whole at MAX_PREVIEW_CHARS.
    """
    if table.num_rows == 0:
        return "_no rows_"
    columns = columns or table.column_names
    shown = redact_columns(table.select(columns).slice(0, limit))
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    size = sum(map(len, lines))
    for row in shown.to_pylist():
        cells = (_cell(row[c]) for c in columns)
        line = "| " + " | ".join(cells) + " |"
        if size + len(line) > MAX_PREVIEW_CHARS:
            lines.append(f"\n… preview cut at {MAX_PREVIEW_CHARS:,} characters")
            break
        lines.append(line)
        size += len(line)
    if table.num_rows > limit:
        lines.append(f"\n… {table.num_rows - limit:,} more rows")
    return "\n".join(lines)


def bounded_text(value: object, limit: int = MAX_CELL_CHARS) -> str:
    """A value as text for metadata or a log line: personal values redacted, at most ``limit`` characters."""
    text = redact_text(str(value)[: limit * 4])
    return text if len(text) <= limit else f"{text[: limit - 1]}…"


def _cell(value: object) -> str:
    return "" if value is None else bounded_text(display_value(value)).replace("|", "\\|").replace("\n", " ")


def column_schema(schema: pa.Schema, descriptions: dict[str, str] | None = None, pii: set[str] | None = None) -> dg.TableSchema:
    """Dagster's column schema, with PII columns tagged so the classification is visible in the UI, and every
    column described: the table's own descriptions first, the hub's shared meanings (lib/columns.py) after."""
    descriptions, pii = describe(schema.names, descriptions), pii or set()
    return dg.TableSchema(
        columns=[
            dg.TableColumn(
                name=field.name,
                type=str(field.type),
                description=descriptions.get(field.name),
                tags={"pii": ""} if field.name in pii else {},
            )
            for field in schema
        ]
    )


def table_metadata(
    table: pa.Table,
    *,
    preview: bool = True,
    pii: set[str] | None = None,
    descriptions: dict[str, str] | None = None,
) -> dict[str, dg.MetadataValue]:
    metadata: dict[str, dg.MetadataValue] = {
        "dagster/row_count": dg.MetadataValue.int(table.num_rows),
        "dagster/column_schema": dg.MetadataValue.table_schema(column_schema(table.schema, descriptions, pii)),
    }
    if preview:
        metadata["preview"] = dg.MetadataValue.md(markdown_table(table))
    return metadata


def figures(values: dict[str, float], undefined: str = "not defined on this data") -> dg.MetadataValue:
    """Quality figures for the UI: rounded to 4 places; a figure that is undefined (NaN, e.g. precision
    with nothing alerted) is null and said so, never a raw NaN."""
    shown = {name: round(float(v), 4) if math.isfinite(float(v)) else None for name, v in values.items()}
    missing = sorted(name for name, v in shown.items() if v is None)
    return dg.MetadataValue.json({**shown, **({"null_means": f"{', '.join(missing)}: {undefined}"} if missing else {})})

