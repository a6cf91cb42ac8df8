"""Materialization metadata that makes the UI worth looking at: counts, schemas, previews."""

from __future__ import annotations

import dagster as dg
import pyarrow as pa


def markdown_table(table: pa.Table, columns: list[str] | None = None, limit: int = 20) -> str:
    """A markdown rendering of the first ``limit`` rows, for metadata previews."""
    if table.num_rows == 0:
        return "_no rows_"
    columns = columns or table.column_names
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for row in table.select(columns).slice(0, limit).to_pylist():
        cells = ("" if row[c] is None else str(row[c]).replace("|", "\\|").replace("\n", " ") for c in columns)
        lines.append("| " + " | ".join(cells) + " |")
    if table.num_rows > limit:
        lines.append(f"\n… {table.num_rows - limit:,} more rows")
    return "\n".join(lines)


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
