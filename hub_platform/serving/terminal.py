"""What the CLI shares between commands: tables printed as text, JSON or CSV, times people type, near names."""

from __future__ import annotations

import argparse
import difflib
import json
import re
import sys
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import TextIO

import pandas as pd
import pyarrow as pa

_RELATIVE = re.compile(r"^-(\d+)\s*(m|h|d|w)$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
TIME_FORMATS = ("ISO 8601 such as 2026-11-23 or 2026-11-23T08:00 (UTC unless an offset is given), "
                "now, today (midnight UTC), yesterday (24 hours ago), or a time back from now: -30m, -12h, -7d, -2w")


def point_in_time(text: str, now: datetime | None = None) -> datetime:
    """A time as people type it (see TIME_FORMATS), in UTC. ValueError names the formats that work."""
    now = now or datetime.now(UTC)
    word = text.strip().lower()
    if word == "now":
        return now
    if word == "today":
        return now.replace(hour=0, minute=0, second=0, microsecond=0)
    if word == "yesterday":
        return now - timedelta(days=1)
    if relative := _RELATIVE.match(word):
        return now - timedelta(**{_UNITS[relative[2]]: int(relative[1])})
    try:
        parsed = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(f"{text!r} is not a time this hub reads; use {TIME_FORMATS}") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def time_argument(text: str) -> datetime:
    """:func:`point_in_time` as an argparse type (its error is argparse's usage error)."""
    try:
        return point_in_time(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def add_output_options(parser: argparse.ArgumentParser) -> None:
    """--json and --csv for a command that prints a table."""
    shape = parser.add_mutually_exclusive_group()
    shape.add_argument("--json", dest="output", action="store_const", const="json",
                       help="print the rows as JSON (a list of objects) instead of a table")
    shape.add_argument("--csv", dest="output", action="store_const", const="csv", help="print CSV instead of a table")
    parser.set_defaults(output="text")


def print_rows(rows: pd.DataFrame | pa.Table, output: str = "text", out: TextIO | None = None, *, empty: str = "(no rows)") -> None:
    """Rows as a text table (floats rounded for reading), JSON records or CSV (both at full precision)."""
    out = out or sys.stdout
    frame = rows.to_pandas() if isinstance(rows, pa.Table) else rows
    if output == "json":
        out.write(frame.to_json(orient="records", date_format="iso", force_ascii=False, indent=1, double_precision=15) + "\n")
    elif output == "csv":
        frame.to_csv(out, index=False)
    elif not len(frame):
        print(empty, file=out)
    else:
        text = frame.select_dtypes("object").columns
        widths = {c: max(len(str(c)), *(len(str(v)) for v in frame[c])) for c in text}
        with pd.option_context("display.max_rows", 500, "display.max_columns", 60, "display.width", 220,
                               "display.max_colwidth", 60, "display.float_format", _float):
            print(frame.to_string(index=False, justify="left",  # text reads left-aligned, numbers right
                                  formatters={c: (lambda w: lambda v: f"{'' if v is None else v!s:<{w}}")(widths[c]) for c in text}),
                  file=out)


def _float(value: float) -> str:
    return f"{value:,.4f}".rstrip("0").rstrip(".") if abs(value) >= 0.01 or value == 0 else f"{value:.3g}"


def near(name: str, choices: Iterable[str], limit: int = 5) -> list[str]:
    """The choices that look like ``name`` (a typo, or a part of it), closest first."""
    choices = list(choices)
    close = difflib.get_close_matches(name, choices, n=limit, cutoff=0.6)
    return (close + [c for c in choices if name and name in c and c not in close])[:limit]


def json_text(value) -> str:
    return json.dumps(value, indent=1, default=str, ensure_ascii=False)
