"""Matching settings as data: one description (matching.yaml) rendered into Splink settings per dialect.

The YAML file says what is compared and why (blocking rules, comparison levels, term-frequency
adjustments, the nickname table, the match threshold, the training recipe); this module turns it into
Splink comparison-level creators and lets Splink render the SQL for the backend it runs on. Functions
differ by dialect (Spark's ``levenshtein`` and cast syntax against DuckDB's, regex extraction, date
casts), so the settings are built for a dialect at the point of use rather than written as SQL once.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml
from splink import ColumnExpression, SettingsCreator, block_on
from splink import comparison_level_library as cll
from splink.comparison_library import CustomComparison
from splink.internals.blocking_rule_creator import BlockingRuleCreator
from splink.internals.comparison_level_creator import ComparisonLevelCreator

DESCRIPTION_FILE = Path(__file__).with_name("matching.yaml")
Dialect = Literal["spark", "duckdb"]
DIALECTS: tuple[Dialect, ...] = ("spark", "duckdb")
_LOCAL_PART = "^[^@]+"  # the mailbox name of an e-mail address


@dataclass(frozen=True)
class MatchingDescription:
    """The parsed description: plain data, independent of any backend."""

    unique_id: str
    match_threshold: float
    evidence_floor_weight: float
    blocking_rules: list[list[str]]
    comparisons: list[dict[str, Any]]
    nicknames: dict[str, str]
    deterministic_rules: list[list[str]]
    deterministic_recall: float
    u_max_pairs: float
    u_seed: int
    u_num_chunks: int
    em_blocking_rules: list[list[str]]


def parse_description(document: Mapping[str, Any]) -> MatchingDescription:
    """Read a description document (the YAML's content) into a MatchingDescription."""
    training = document["training"]
    return MatchingDescription(
        unique_id=document["unique_id"],
        match_threshold=float(document["match_threshold"]["match_probability"]),
        evidence_floor_weight=float(document["evidence_floor"]["match_weight"]),
        blocking_rules=[list(rule["columns"]) for rule in document["blocking_rules"]],
        comparisons=list(document["comparisons"]),
        nicknames={str(k): str(v) for k, v in document["nicknames"]["table"].items()},
        deterministic_rules=[list(rule["columns"]) for rule in training["deterministic_rules"]],
        deterministic_recall=float(training["deterministic_recall"]),
        u_max_pairs=float(training["u_max_pairs"]),
        u_seed=int(training["u_seed"]),
        u_num_chunks=int(training["u_num_chunks"]),
        em_blocking_rules=[list(rule["columns"]) for rule in training["em_blocking_rules"]],
    )


@functools.cache
def default_description() -> MatchingDescription:
    """The shipped description (matching.yaml beside this module)."""
    return parse_description(yaml.safe_load(DESCRIPTION_FILE.read_text(encoding="utf-8")))


def _local_part(column: str) -> ColumnExpression:
    return ColumnExpression(column).regex_extract(_LOCAL_PART)


_LEVELS: dict[str, Callable[[dict[str, Any]], ComparisonLevelCreator]] = {
    "missing": lambda level: cll.NullLevel(level["column"]),
    "exact": lambda level: cll.ExactMatchLevel(level["column"], term_frequency_adjustments=level.get("term_frequency", False)),
    "levenshtein": lambda level: cll.LevenshteinLevel(level["column"], level["distance"]),
    "damerau_levenshtein": lambda level: cll.DamerauLevenshteinLevel(level["column"], level["distance"]),
    # dates compared as written (yyyy-mm-dd): the cast is dialect-specific SQL that Splink renders
    "damerau_levenshtein_text": lambda level: cll.DamerauLevenshteinLevel(
        ColumnExpression(level["column"]).cast_to_string(), level["distance"]),
    "jaro_winkler": lambda level: cll.JaroWinklerLevel(level["column"], level["similarity"]),
    "jaro_winkler_local_part": lambda level: cll.JaroWinklerLevel(_local_part(level["column"]), level["similarity"]),
    "else": lambda _level: cll.ElseLevel(),
}


def comparison_level(level: dict[str, Any]) -> ComparisonLevelCreator:
    """One described level as a Splink level creator.

    ``kind: all`` is the conjunction of its ``levels`` (``missing: true`` makes it a null level);
    ``label`` names the level in evidence (else Splink's own label, e.g. "Exact match on dob").
    """
    if level.get("kind") == "all":
        creator = cll.And(*[comparison_level(part) for part in level["levels"]])
        if level.get("missing"):
            creator.configure(is_null_level=True)
    elif level.get("kind") in _LEVELS:
        creator = _LEVELS[level["kind"]](level)
    else:
        raise ValueError(f"unknown comparison level kind {level.get('kind')!r}; known: all, {', '.join(_LEVELS)}")
    if "label" in level:
        creator.configure(label_for_charts=level["label"])
    return creator


def rule(columns: list[str]) -> BlockingRuleCreator:
    """A blocking (or deterministic) rule: records agree exactly on every column, none of them null."""
    return block_on(*columns)


def splink_settings(dialect: Dialect, description: MatchingDescription | None = None) -> dict[str, Any]:
    """Splink settings (a JSON-serializable dict, SQL rendered in ``dialect``) from the description.

    Intermediate columns (gamma_, bf_, tf_) are retained because match evidence is built from them.
    """
    if dialect not in DIALECTS:
        raise ValueError(f"unknown dialect {dialect!r}; use one of {', '.join(DIALECTS)}")
    description = description or default_description()
    creator = SettingsCreator(
        link_type="dedupe_only",
        unique_id_column_name=description.unique_id,
        comparisons=[
            CustomComparison([comparison_level(level) for level in comparison["levels"]],
                             output_column_name=comparison["name"],
                             comparison_description=" ".join(str(comparison["why"]).split()))
            for comparison in description.comparisons
        ],
        blocking_rules_to_generate_predictions=[rule(columns) for columns in description.blocking_rules],
        retain_intermediate_calculation_columns=True,
        retain_matching_columns=True,
    )
    settings = creator.create_settings_dict(dialect)
    settings["sql_dialect"] = dialect
    return settings


def _level_columns(level: dict[str, Any]) -> list[str]:
    nested = [column for part in level.get("levels", []) for column in _level_columns(part)]
    return [level["column"], *nested] if "column" in level else nested


def matching_columns(description: MatchingDescription | None = None) -> list[str]:
    """Every input column the comparisons and rules read (what person records must provide)."""
    description = description or default_description()
    columns = {column for comparison in description.comparisons for level in comparison["levels"]
               for column in _level_columns(level)}
    for rules in (description.blocking_rules, description.deterministic_rules, description.em_blocking_rules):
        columns.update(column for columns_of_rule in rules for column in columns_of_rule)
    return sorted(columns)
