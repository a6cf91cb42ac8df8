"""Great Expectations 1.x suites as Dagster asset checks (dagster-ge does not support GX 1.x).

A suite is derived from the contract (keys, required columns, allowed values, ranges, uniqueness,
a non-empty table) plus expectations the contract cannot say; it runs in one ephemeral GX context
per process (no project folder, no network), and its result becomes an ``AssetCheckResult`` with
the failing expectations, counts and example values in the metadata.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Sequence
from dataclasses import dataclass

import dagster as dg
import pandas as pd
import pyarrow as pa

from hub_platform.lib.governance import REDACTED, pii_columns
from hub_platform.lib.metadata import bounded_text, markdown_table
from hub_platform.sources.contract import Contract
from hub_platform.sources.entity import Entity

os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")

LINEAGE_COLUMNS = ("_source", "_file_checksum", "_row_number", "_ingested_at")


@dataclass(frozen=True)
class FailedExpectation:
    expectation: str
    column: str
    description: str
    unexpected_count: int | None
    unexpected_percent: float | None
    examples: tuple[str, ...]


@dataclass(frozen=True)
class ValidationReport:
    success: bool
    evaluated: int
    failed: tuple[FailedExpectation, ...]
    row_count: int


def _gx():
    import great_expectations as gx  # imported on first use: it takes seconds

    return gx


@functools.cache
def _batch_definition():
    """One ephemeral context, pandas data source and whole-frame batch definition per process."""
    gx = _gx()
    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = gx.data_context.types.base.ProgressBarsConfig(globally=False)
    source = context.data_sources.add_pandas("hub")
    return source.add_dataframe_asset("frame").add_batch_definition_whole_dataframe("whole")


@dataclass(frozen=True)
class TableRules:
    """What a table promises, whoever derived it: the suite GX checks it against."""

    name: str
    keys: tuple[str, ...]
    not_null: tuple[str, ...] = ()
    allowed: tuple[tuple[str, tuple], ...] = ()  # (column, allowed values)
    ranges: tuple[tuple[str, float | None, float | None], ...] = ()  # (column, min, max)
    may_be_empty: bool = False  # true only for tables where no rows is a real answer (no alert was due)


def table_suite(rules: TableRules, extra: Sequence = ()):
    """The rules as an expectation suite, each expectation with a plain-words note of why it exists."""
    gx = _gx()
    _batch_definition()  # GX wants its context active before a suite exists
    expect = gx.expectations
    suite = gx.ExpectationSuite(name=rules.name)

    def add(expectation, why: str) -> None:
        expectation.notes = why
        suite.add_expectation(expectation)

    if not rules.may_be_empty:
        add(expect.ExpectTableRowCountToBeBetween(min_value=1), "an empty table is a failed load, never a success")
    unique = (
        expect.ExpectColumnValuesToBeUnique(column=rules.keys[0])
        if len(rules.keys) == 1
        else expect.ExpectCompoundColumnsToBeUnique(column_list=list(rules.keys))
    )
    add(unique, f"one row per {' + '.join(rules.keys)}")
    for column in rules.keys:
        add(expect.ExpectColumnValuesToNotBeNull(column=column), "part of the key")
    for column in rules.not_null:
        add(expect.ExpectColumnValuesToNotBeNull(column=column), "required")
    for column, values in rules.allowed:
        add(expect.ExpectColumnValuesToBeInSet(column=column, value_set=list(values)), "the allowed values")
    for column, low, high in rules.ranges:
        add(expect.ExpectColumnValuesToBeBetween(column=column, min_value=low, max_value=high), "the allowed range")
    for expectation in extra:
        suite.add_expectation(expectation)
    return suite


def contract_rules(shape: Contract | Entity, name: str | None = None) -> TableRules:
    """A clean feed's rules: the keys (per source), required columns, values and ranges of its shape
    (the feed's entity, or its contract where no entity is catalogued), and lineage on every row."""
    keys = ("_source", *shape.keys)
    required = [c.name for c in shape.required_columns] + list(LINEAGE_COLUMNS)
    return TableRules(
        name=name or f"{shape.feed}_contract",
        keys=keys,
        not_null=tuple(c for c in required if c not in keys),
        allowed=tuple((c.name, tuple(c.allowed)) for c in shape.columns if c.allowed is not None),
        ranges=tuple((c.name, c.min, c.max) for c in shape.columns if c.min is not None or c.max is not None),
    )


def suite_for(shape: Contract | Entity, extra: Sequence = (), name: str | None = None):
    """The feed's suite: its rules, every declared column present, declared-unique columns unique."""
    gx = _gx()
    suite = table_suite(contract_rules(shape, name), extra)
    for column in shape.columns:
        expectation = gx.expectations.ExpectColumnToExist(column=column.name)
        expectation.notes = f"declared in the {'entity' if isinstance(shape, Entity) else 'contract'}"
        suite.add_expectation(expectation)
        if getattr(column, "unique", False) and column.name not in shape.keys:
            unique = gx.expectations.ExpectCompoundColumnsToBeUnique(column_list=["_source", column.name])
            unique.notes = "declared unique per source"
            suite.add_expectation(unique)
    return suite


def as_frame(table: pa.Table) -> pd.DataFrame:
    """Pandas for GX, with decimals as floats (GX's range expectations compare numbers, not Decimals)."""
    fields = [pa.field(f.name, pa.float64()) if pa.types.is_decimal(f.type) else f for f in table.schema]
    return table.cast(pa.schema(fields)).to_pandas()


def validate(frame: pd.DataFrame, suite) -> ValidationReport:
    result = _batch_definition().get_batch(batch_parameters={"dataframe": frame}).validate(suite)
    failed = []
    for outcome in result.results:
        if outcome.success:
            continue
        config = outcome.expectation_config
        details = outcome.result or {}
        columns = config.kwargs.get("column") or ", ".join(config.kwargs.get("column_list") or []) or "(table)"
        examples = details.get("partial_unexpected_list") or ([details["observed_value"]] if "observed_value" in details else [])
        personal = bool(pii_columns([c.strip() for c in columns.split(",")]))
        failed.append(
            FailedExpectation(
                expectation=config.type,
                column=columns,
                description=config.notes or "",
                unexpected_count=details.get("unexpected_count"),
                unexpected_percent=details.get("unexpected_percent"),
                examples=tuple(REDACTED if personal else bounded_text(e) for e in examples[:5]),
            )
        )
    return ValidationReport(bool(result.success), len(result.results), tuple(failed), len(frame))


def to_check_result(report: ValidationReport, *, asset_key: dg.AssetKey, check_name: str = "great_expectations") -> dg.AssetCheckResult:
    rows = [
        {
            "expectation": f.expectation,
            "column": f.column,
            "unexpected": f.unexpected_count,
            "percent": None if f.unexpected_percent is None else round(f.unexpected_percent, 3),
            "examples": "; ".join(f.examples),
            "why": f.description,
        }
        for f in report.failed
    ]
    return dg.AssetCheckResult(
        asset_key=asset_key,
        check_name=check_name,
        passed=report.success,
        severity=dg.AssetCheckSeverity.ERROR,
        metadata={
            "expectations_evaluated": report.evaluated,
            "expectations_failed": len(report.failed),
            "rows_validated": report.row_count,
            "failures": dg.MetadataValue.md(markdown_table(pa.Table.from_pylist(rows)) if rows else "all expectations met"),
            "failures_json": dg.MetadataValue.json(rows),
        },
    )


def check_table(table: pa.Table, shape: Contract | Entity, *, asset_key: dg.AssetKey, extra: Sequence = (),
                name: str | None = None) -> dg.AssetCheckResult:
    return to_check_result(validate(as_frame(table), suite_for(shape, extra, name)), asset_key=asset_key)


def check_rules(table: pa.Table, rules: TableRules, *, asset_key: dg.AssetKey) -> dg.AssetCheckResult:
    return to_check_result(validate(as_frame(table), table_suite(rules)), asset_key=asset_key)
