"""Materialization metadata that makes the UI worth looking at: counts, schemas, previews."""

from __future__ import annotations

import dagster as dg
import pyarrow as pa

from hub_platform.lib.governance import redact_columns, redact_text

MAX_CELL_CHARS = 120  # a preview shows a value's start, never a whole field (a 50 MB field once went in uncut)
MAX_PREVIEW_CHARS = 16_000


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
    return "" if value is None else bounded_text(value).replace("|", "\\|").replace("\n", " ")


def column_schema(schema: pa.Schema, descriptions: dict[str, str] | None = None, pii: set[str] | None = None) -> dg.TableSchema:
    """Dagster's column schema, with PII columns tagged so the classification is visible in the UI."""
    descriptions, pii = descriptions or {}, pii or set()
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
