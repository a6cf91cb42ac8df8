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

from hub_platform.metadata import markdown_table
from hub_platform.sources.contract import Contract

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


def suite_for(contract: Contract, extra: Sequence = ()):
    """The contract's rules as an expectation suite, each with a plain-words note of why it exists."""
    gx = _gx()
    _batch_definition()  # GX wants its context active before a suite exists
    expect = gx.expectations
    suite = gx.ExpectationSuite(name=f"{contract.feed}_contract")

    def add(expectation, why: str) -> None:
        expectation.notes = why
        suite.add_expectation(expectation)

    add(expect.ExpectTableRowCountToBeBetween(min_value=1), "an empty table is a failed load, never a success")
    add(
        expect.ExpectCompoundColumnsToBeUnique(column_list=["_source", *contract.keys]),
        f"one row per {' + '.join(contract.keys)} and source (the contract's keys)",
    )
    for column in contract.columns:
        add(expect.ExpectColumnToExist(column=column.name), "declared in the contract")
        if column.required or column.name in contract.keys:
            add(expect.ExpectColumnValuesToNotBeNull(column=column.name), "required by the contract")
        if column.unique and column.name not in contract.keys:
            add(expect.ExpectCompoundColumnsToBeUnique(column_list=["_source", column.name]), "declared unique per source")
        if column.allowed is not None:
            add(expect.ExpectColumnValuesToBeInSet(column=column.name, value_set=column.allowed), "the contract's allowed values")
        if column.min is not None or column.max is not None:
            add(
                expect.ExpectColumnValuesToBeBetween(column=column.name, min_value=column.min, max_value=column.max),
                "the contract's range",
            )
    for name in LINEAGE_COLUMNS:  # what no contract says but every clean row must have
        add(expect.ExpectColumnValuesToNotBeNull(column=name), "lineage: every clean row leads back to its raw bytes")
    for expectation in extra:
        suite.add_expectation(expectation)
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
        failed.append(
            FailedExpectation(
                expectation=config.type,
                column=columns,
                description=config.notes or "",
                unexpected_count=details.get("unexpected_count"),
                unexpected_percent=details.get("unexpected_percent"),
                examples=tuple(str(e) for e in examples[:5]),
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


def check_table(table: pa.Table, contract: Contract, *, asset_key: dg.AssetKey, extra: Sequence = ()) -> dg.AssetCheckResult:
    return to_check_result(validate(as_frame(table), suite_for(contract, extra)), asset_key=asset_key)
