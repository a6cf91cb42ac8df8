"""Matching settings derived from the identity roles the person records carry; matching.yaml overrides.

The person contracts say which roles exist (records.match_columns); from them, and from the data,
this module builds Splink settings:

- **Blocking rules** from a fixed list of candidates, strongest first: single identifiers (national id,
  e-mail, phone), given name and surname, the two swapped, names with date of birth, birth year,
  postcode, street or city, street with postcode, then single fields. A candidate is kept when the
  pairs it admits (counted exactly from group sizes, no backend needed) fit the budget of
  ``pairs_per_record`` × records (at least ``min_rule_pairs``): small data affords coarse rules, large
  data keeps only specific ones, so cost stays near-linear. The kept rules together fit
  ``total_pairs_per_record`` × records (at least ``min_total_pairs``), the most specific (fewest
  pairs) first: on 221,605 records sixteen rules that each fit admitted 15.7M pairs together, and
  scoring them ran Spark's driver and DuckDB out of memory.
- **Comparisons** from Splink's comparison(-level) library per role: names with Jaro-Winkler, term
  frequencies, nicknames and a crossed level for swapped names; ``DateOfBirthComparison`` (typo, month,
  year and ten-year levels); e-mail (EmailComparison's levels, the fuzzy ones requiring equal digits);
  national id with Damerau-Levenshtein typo levels; exact-with-TF for attributes and country. Phone,
  street, postcode and city are one *contact* comparison: a household shares them, and counted as
  independent fields they would add up to a merge of the household (measured: cluster precision 0.41
  on the generator's households).
- **Deterministic rules** for the prior (national id; e-mail with given name; names with dob, straight
  or swapped; phone with both names), the ones whose roles are present.

matching.yaml holds the knobs (budgets, training, precision target, the nickname table, which sources
hold each person once) and may override the generated blocking rules or comparisons with its own,
written in the small level language below (validated, each with a ``why``).
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
import pyarrow as pa
import yaml
from splink import ColumnExpression, SettingsCreator
from splink import comparison_level_library as cll
from splink import comparison_library as cl
from splink.internals.comparison_creator import ComparisonCreator
from splink.internals.comparison_level_creator import ComparisonLevelCreator

DESCRIPTION_FILE = Path(__file__).with_name("matching.yaml")
Dialect = Literal["spark", "duckdb"]
DIALECTS: tuple[Dialect, ...] = ("spark", "duckdb")
_LOCAL_PART = "^[^@]+"  # the mailbox name of an e-mail address
GIVEN, SURNAME, CANONICAL = "first_name_key", "last_name_key", "first_name_canonical"
MAILBOX, DIGITS = "email_mailbox", "email_digits"  # derived from email_key in person records
HOUSEHOLD_ROLES = ("phone", "street", "postcode", "city")
IDENTIFIER_ROLES = ("national_id", "email", "phone")


@dataclass(frozen=True)
class MatchingDescription:
    """matching.yaml parsed: plain data, independent of any backend."""

    unique_id: str
    precision_target: float
    threshold_grid: tuple[float, ...]
    evidence_floor_weight: float
    pairs_per_record: int
    min_rule_pairs: int
    total_pairs_per_record: int
    min_total_pairs: int
    u_max_pairs: float
    u_seed: int
    u_num_chunks: int
    sessions_per_comparison: int
    em_term_frequencies: bool
    calibration_pairs: int
    min_em_pairs: int
    one_record_per_person: tuple[str, ...]
    nicknames: dict[str, str]
    blocking_override: tuple[tuple[str, ...], ...] = ()
    comparisons_override: tuple[dict[str, Any], ...] = ()

    def fingerprint(self) -> str:
        """Changes whenever anything in the description does (a trained model records it)."""
        return hashlib.sha256(json.dumps(asdict(self), sort_keys=True, default=str).encode()).hexdigest()[:16]


class DescriptionError(ValueError):
    """matching.yaml is malformed; the message says where."""


def parse_description(document: Mapping[str, Any]) -> MatchingDescription:
    """Read a description document (the YAML's content), with a clear error for what is wrong."""
    try:
        threshold, generation, training = document["match_threshold"], document["blocking"], document["training"]
        override = document.get("override") or {}
        unknown = set(override) - {"blocking_rules", "comparisons"}
        if unknown:
            raise DescriptionError(f"override: unknown section(s) {sorted(unknown)}; use blocking_rules, comparisons")
        description = MatchingDescription(
            unique_id=document["unique_id"],
            precision_target=float(threshold["precision_target"]),
            threshold_grid=tuple(float(t) for t in threshold["grid"]),
            evidence_floor_weight=float(document["evidence_floor"]["match_weight"]),
            pairs_per_record=int(generation["pairs_per_record"]),
            min_rule_pairs=int(generation["min_rule_pairs"]),
            total_pairs_per_record=int(generation["total_pairs_per_record"]),
            min_total_pairs=int(generation["min_total_pairs"]),
            u_max_pairs=float(training["u_max_pairs"]),
            u_seed=int(training["u_seed"]),
            u_num_chunks=int(training["u_num_chunks"]),
            sessions_per_comparison=int(training["sessions_per_comparison"]),
            em_term_frequencies=bool(training["em_term_frequencies"]),
            calibration_pairs=int(training["calibration_pairs"]),
            min_em_pairs=int(training["min_em_pairs"]),
            one_record_per_person=tuple(document["link"]["one_record_per_person"] or ()),
            nicknames={str(k): str(v) for k, v in document["nicknames"]["table"].items()},
            blocking_override=tuple(tuple(rule["columns"]) for rule in override.get("blocking_rules", [])),
            comparisons_override=tuple(override.get("comparisons", [])),
        )
    except KeyError as missing:
        raise DescriptionError(f"matching description: missing {missing}") from None
    if not 0.5 <= description.precision_target < 1:
        raise DescriptionError("match_threshold.precision_target must be in [0.5, 1)")
    if not description.threshold_grid or sorted(description.threshold_grid) != list(description.threshold_grid):
        raise DescriptionError("match_threshold.grid must be a non-empty ascending list of probabilities")
    for comparison in description.comparisons_override:
        for level in comparison["levels"]:
            comparison_level(level)  # raises on an unknown kind
    return description


@functools.cache
def default_description() -> MatchingDescription:
    """The shipped description (matching.yaml beside this module)."""
    return parse_description(yaml.safe_load(DESCRIPTION_FILE.read_text(encoding="utf-8")))


# ---- the override language (also used for the levels generated settings cannot express) -------------
def _local_part(column: str) -> ColumnExpression:
    return ColumnExpression(column).regex_extract(_LOCAL_PART)


_LEVELS: dict[str, Callable[[dict[str, Any]], ComparisonLevelCreator]] = {
    "missing": lambda level: cll.NullLevel(level["column"]),
    "exact": lambda level: cll.ExactMatchLevel(level["column"], term_frequency_adjustments=level.get("term_frequency", False)),
    "levenshtein": lambda level: cll.LevenshteinLevel(level["column"], level["distance"]),
    "damerau_levenshtein": lambda level: cll.DamerauLevenshteinLevel(level["column"], level["distance"]),
    "jaro_winkler": lambda level: cll.JaroWinklerLevel(level["column"], level["similarity"]),
    "jaro_winkler_local_part": lambda level: cll.JaroWinklerLevel(_local_part(level["column"]), level["similarity"]),
    "else": lambda _level: cll.ElseLevel(),
}


def comparison_level(level: dict[str, Any]) -> ComparisonLevelCreator:
    """One described level as a Splink level creator (``kind: all`` is the conjunction of ``levels``)."""
    if level.get("kind") == "all":
        creator = cll.And(*[comparison_level(part) for part in level["levels"]])
        if level.get("missing"):
            creator.configure(is_null_level=True)
    elif level.get("kind") in _LEVELS:
        creator = _LEVELS[level["kind"]](level)
    else:
        raise DescriptionError(f"unknown comparison level kind {level.get('kind')!r}; known: all, {', '.join(_LEVELS)}")
    if "label" in level:
        creator.configure(label_for_charts=level["label"])
    return creator


# ---- blocking -----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Rule:
    """Records agree on every key (``year``: on the year of a date); ``swapped``: given name and surname crossed."""

    name: str
    keys: tuple[tuple[str, str], ...]  # (column, "exact" | "year")
    swapped: bool = False

    @property
    def columns(self) -> set[str]:
        return {column for column, _ in self.keys}

    def sql(self, on_pairs: bool = False) -> str:
        """The rule as a Splink SQL condition (the same text in DuckDB and Spark SQL): over the two records
        (``l.c = r.c``, for blocking), or, ``on_pairs``, over a scored pair's ``c_l``/``c_r`` columns."""
        def side(which: str, column: str) -> str:
            return f"{column}_{which}" if on_pairs else f"{which}.{column}"

        def same(left: str, right: str, transform: str = "exact") -> str:
            a, b = side("l", left), side("r", right)
            return f"year({a}) = year({b})" if transform == "year" else f"{a} = {b}"

        parts = [same(GIVEN, SURNAME), same(SURNAME, GIVEN)] if self.swapped else []
        parts += [same(column, column, transform) for column, transform in self.keys
                  if not (self.swapped and column in (GIVEN, SURNAME))]
        return " and ".join(parts)


def _names(present: set[str]) -> list[str]:
    return [c for c in (GIVEN, SURNAME, "full_name_key") if c in present]


def candidate_rules(present: set[str]) -> list[Rule]:
    """Blocking candidates for the matching columns ``present``, strongest first."""
    rules: list[Rule] = []

    def add(name: str, *keys: tuple[str, str], swapped: bool = False) -> None:
        if {column for column, _ in keys} <= present:
            rules.append(Rule(name, keys, swapped))

    exact, dob = "exact", "dob"
    for column, label in (("national_id", "national id"), ("email_key", "e-mail"), ("phone", "phone"),
                          ("full_name_key", "full name")):
        add(label, (column, exact))
    add("given name and surname", (GIVEN, exact), (SURNAME, exact))
    add("given name and surname swapped", (GIVEN, exact), (SURNAME, exact), swapped=True)
    labels = {GIVEN: "given name", SURNAME: "surname", "full_name_key": "full name"}
    for name in _names(present):
        add(f"date of birth and {labels[name]}", (dob, exact), (name, exact))
    for name in _names(present):
        add(f"birth year and {labels[name]}", (dob, "year"), (name, exact))
    for place, label in (("postcode", "postcode"), ("street_key", "street"), ("city_key", "city")):
        for name in _names(present):
            add(f"{label} and {labels[name]}", (place, exact), (name, exact))
        add(f"{label} and date of birth", (place, exact), (dob, exact))
    add("street and postcode", ("street_key", exact), ("postcode", exact))
    for column, label in ((dob, "date of birth"), (SURNAME, "surname"), (GIVEN, "given name"), ("postcode", "postcode"),
                          ("street_key", "street")):
        add(label, (column, exact))
    return rules


def _keys(records: pd.DataFrame, rule: Rule) -> pd.DataFrame:
    return pd.DataFrame({column: pd.to_datetime(records[column]).dt.year if transform == "year" else records[column]
                         for column, transform in rule.keys}).dropna()


def rule_pairs(records: pd.DataFrame, rule: Rule) -> int:
    """How many pairs of ``records`` the rule admits, from its group sizes (no pair enumerated)."""
    keys = _keys(records, rule)
    if rule.swapped:
        straight = keys.groupby([GIVEN, SURNAME]).size()
        crossed = keys.rename(columns={GIVEN: SURNAME, SURNAME: GIVEN}).groupby([GIVEN, SURNAME]).size()
        both = pd.concat([straight.rename("a"), crossed.rename("b")], axis=1, join="inner")
        return int((both.a * both.b).sum() // 2)
    sizes = keys.groupby(list(keys.columns)).size().to_numpy(dtype=np.int64)
    return int((sizes * (sizes - 1) // 2).sum())


@dataclass(frozen=True)
class RuleChoice:
    rule: Rule
    pairs: int
    kept: bool
    why: str


def choose_blocking(records: pd.DataFrame, present: set[str], description: MatchingDescription) -> list[RuleChoice]:
    """Every candidate with its pair count and whether it is kept: within the budget of one rule, and,
    the most specific first, within what the kept rules may admit together."""
    budget = max(description.pairs_per_record * len(records), description.min_rule_pairs)
    total = max(description.total_pairs_per_record * len(records), description.min_total_pairs)
    counted = [(rule, rule_pairs(records, rule)) for rule in candidate_rules(present)]
    verdicts: dict[str, tuple[bool, str]] = {}
    admitted = 0
    for rule, pairs in sorted(counted, key=lambda rule_and_pairs: rule_and_pairs[1]):
        if pairs == 0:
            verdicts[rule.name] = False, "joins no pair of these records"
        elif pairs > budget:
            verdicts[rule.name] = False, f"{pairs:,} pairs exceed the budget of {budget:,}"
        elif admitted + pairs > total:
            verdicts[rule.name] = False, (f"{pairs:,} pairs would take the kept rules past {total:,} together "
                                          f"({admitted:,} already); more specific rules come first")
        else:
            admitted += pairs
            verdicts[rule.name] = True, f"{pairs:,} pairs within the budget of {budget:,} ({admitted:,} of {total:,} together)"
    return [RuleChoice(rule, pairs, *verdicts[rule.name]) for rule, pairs in counted]


def deterministic_rules(present: set[str]) -> list[Rule]:
    """Near-certain rules whose pair count, over their derived recall, gives the prior."""
    exact = "exact"
    candidates = [
        Rule("same national id", (("national_id", exact),)),
        Rule("same e-mail and given name", (("email_key", exact), (GIVEN, exact))),
        Rule("same names and date of birth", ((GIVEN, exact), (SURNAME, exact), ("dob", exact))),
        Rule("swapped names, same date of birth", ((GIVEN, exact), (SURNAME, exact), ("dob", exact)), swapped=True),
        Rule("same full name and date of birth", (("full_name_key", exact), ("dob", exact))),
        Rule("same phone and names", (("phone", exact), (GIVEN, exact), (SURNAME, exact))),
    ]
    return [rule for rule in candidates if rule.columns <= present]


# ---- comparisons --------------------------------------------------------------------------------------
def _name_comparison(column: str, label: str, crossed: str | None, canonical: str | None) -> ComparisonCreator:
    """NameComparison's levels (exact with TF, Jaro-Winkler 0.92/0.88/0.7), plus nicknames and a level
    for the value written in the other name field (first and last name swapped)."""
    levels = [cll.NullLevel(column), cll.ExactMatchLevel(column, term_frequency_adjustments=True)]
    if canonical:
        levels.append(cll.ExactMatchLevel(canonical).configure(label_for_charts=f"{label}: same name through a nickname"))
    levels += [cll.JaroWinklerLevel(column, 0.92), cll.JaroWinklerLevel(column, 0.88)]
    if crossed:
        # Splink's level, which quotes the columns for each dialect: a hand-written '"a_l" = "b_r"' is two string
        # literals on Spark SQL, never equal, so the level stayed empty on Spark (measured: fake_1000 F1 0.785 vs 0.861)
        levels.append(cll.ColumnsReversedLevel(column, crossed).configure(
            label_for_charts=f"{label} written in the other name field"))
    levels += [cll.JaroWinklerLevel(column, 0.7), cll.ElseLevel()]
    return cl.CustomComparison(levels, output_column_name=label,
                               comparison_description=f"{label}: typo, nickname and swapped-field levels")


def _email_comparison() -> ComparisonCreator:
    """EmailComparison's levels; the fuzzy ones need equal digits (anna.smith12 vs anna.smith71 are two people)."""
    same_digits = cll.ExactMatchLevel(DIGITS)
    return cl.CustomComparison([
        cll.NullLevel("email_key"),
        cll.ExactMatchLevel("email_key", term_frequency_adjustments=True),
        cll.ExactMatchLevel(MAILBOX).configure(label_for_charts="same mailbox name, other domain"),
        cll.And(cll.JaroWinklerLevel("email_key", 0.88), same_digits).configure(label_for_charts="similar address, same digits"),
        cll.And(cll.JaroWinklerLevel(MAILBOX, 0.88), same_digits).configure(label_for_charts="similar mailbox name, same digits"),
        cll.ElseLevel(),
    ], output_column_name="email", comparison_description="e-mail: exact (TF), same mailbox, similar with equal digits")


def _contact_comparison(present: set[str]) -> ComparisonCreator:
    """Phone and address as one comparison (a household shares them), most specific level first."""
    columns = [c for c in ("phone", "street_key", "postcode", "city_key") if c in present]
    levels: list[ComparisonLevelCreator] = [
        cll.And(*[cll.NullLevel(c) for c in columns]).configure(is_null_level=True, label_for_charts="no contact to compare")]
    if {"phone", "street_key"} <= present:
        levels.append(cll.And(cll.ExactMatchLevel("phone"), cll.ExactMatchLevel("street_key"))
                      .configure(label_for_charts="same phone and street"))
    if "phone" in present:
        levels.append(cll.ExactMatchLevel("phone", term_frequency_adjustments=True).configure(label_for_charts="same phone"))
    if {"street_key", "postcode"} <= present:
        levels.append(cll.And(cll.ExactMatchLevel("street_key"), cll.ExactMatchLevel("postcode"))
                      .configure(label_for_charts="same street and postcode"))
    if "street_key" in present:
        levels.append(cll.ExactMatchLevel("street_key", term_frequency_adjustments=True).configure(label_for_charts="same street"))
        levels.append(cll.JaroWinklerLevel("street_key", 0.9).configure(label_for_charts="similar street"))
    if "phone" in present:
        levels.append(cll.DamerauLevenshteinLevel("phone", 1).configure(label_for_charts="phone one digit apart"))
    if "postcode" in present:
        levels += _agreement_where_finer_unknown("postcode", ("street_key",), present)
        levels.append(cll.ExactMatchLevel("postcode", term_frequency_adjustments=True).configure(label_for_charts="same postcode"))
        levels.append(cll.DamerauLevenshteinLevel("postcode", 1).configure(label_for_charts="postcode one character apart"))
    if "city_key" in present:
        levels += _agreement_where_finer_unknown("city_key", ("street_key", "postcode"), present)
        levels.append(cll.ExactMatchLevel("city_key", term_frequency_adjustments=True).configure(label_for_charts="same city"))
        levels.append(cll.JaroWinklerLevel("city_key", 0.9).configure(label_for_charts="similar city"))
    levels.append(cll.ElseLevel())
    return cl.CustomComparison(levels, output_column_name="contact",
                               comparison_description="phone and address together: a household shares them")


def _agreement_where_finer_unknown(column: str, finer: tuple[str, ...], present: set[str]) -> list[ComparisonLevelCreator]:
    """A level for agreeing on ``column`` where every finer address field present is missing on one side,
    before the plain agreement. Contact levels are ranked (the best agreement wins), so "same postcode" alone
    would otherwise mean "the streets differ" for every pair a source without streets takes part in: EM
    learns it as evidence against a match (a call centre's record, postcode only, against the same person's
    CRM record: -7.6 on the large sample, 1,950 true pairs lost below the threshold)."""
    compared = [c for c in finer if c in present]
    if not compared:
        return []
    missing = " or ".join(c.removesuffix("_key") for c in compared)
    return [cll.And(cll.ExactMatchLevel(column), *[cll.NullLevel(c) for c in compared])
            .configure(tf_adjustment_column=column, tf_adjustment_weight=1.0,
                       label_for_charts=f"same {column.removesuffix('_key')}, no {missing} to compare")]


def generated_comparisons(present: set[str]) -> list[ComparisonCreator]:
    """Comparisons for the matching columns ``present`` (see the module docstring)."""
    both_names = {GIVEN, SURNAME} <= present
    comparisons: list[ComparisonCreator] = []
    if GIVEN in present:
        comparisons.append(_name_comparison(GIVEN, "first_name", SURNAME if both_names else None, CANONICAL))
    if SURNAME in present:
        comparisons.append(_name_comparison(SURNAME, "last_name", GIVEN if both_names else None, None))
    if "full_name_key" in present:
        comparisons.append(cl.NameComparison("full_name_key"))
    if "dob" in present:
        comparisons.append(cl.DateOfBirthComparison("dob", input_is_string=False))
    if "email_key" in present:
        comparisons.append(_email_comparison())
    if "national_id" in present:
        comparisons.append(cl.DamerauLevenshteinAtThresholds("national_id", [1, 2]))
    if present & {"phone", "street_key", "postcode", "city_key"}:
        comparisons.append(_contact_comparison(present))
    for column in sorted(c for c in present if c.startswith("attr_") or c == "country"):
        comparisons.append(cl.ExactMatch(column).configure(term_frequency_adjustments=True))
    return comparisons


def override_comparisons(description: MatchingDescription) -> list[ComparisonCreator]:
    return [cl.CustomComparison([comparison_level(level) for level in c["levels"]], output_column_name=c["name"],
                                comparison_description=" ".join(str(c.get("why", "")).split()))
            for c in description.comparisons_override]


# ---- the plan: what a model is trained on, saved with it ---------------------------------------------
@dataclass
class Plan:
    """Everything settings are rendered from, as JSON-able data (saved with the trained model)."""

    match_columns: dict[str, str]  # matching column -> role
    blocking: list[dict[str, Any]]  # every candidate: name, sql, pairs, kept, why
    deterministic: list[str]  # rule names
    link_type: str
    one_record_per_person: list[str]
    fingerprint: str
    overridden: list[str] = field(default_factory=list)

    @property
    def present(self) -> set[str]:
        return set(self.match_columns)

    def blocking_sql(self) -> list[str]:
        return [choice["sql"] for choice in self.blocking if choice["kept"]]


def link_type(sources: list[str], one_record_per_person: tuple[str, ...]) -> str:
    """Splink's word for the task: link_only when every source holds each person once, link_and_dedupe
    when some do, else dedupe_only."""
    unique = [s for s in sources if s in one_record_per_person]
    if len(sources) > 1 and len(unique) == len(sources):
        return "link_only"
    return "link_and_dedupe" if unique else "dedupe_only"


def within_source_exclusion(one_record_per_person: list[str]) -> str:
    """The SQL that keeps pairs inside a source holding each person once out of every rule."""
    if not one_record_per_person:
        return ""
    names = ", ".join(f"'{s}'" for s in sorted(one_record_per_person))
    return f" and not (l.source = r.source and l.source in ({names}))"


def make_plan(records: pa.Table | pd.DataFrame, match_columns: Mapping[str, str],
              description: MatchingDescription | None = None) -> Plan:
    """The plan for ``records`` (person records) carrying ``match_columns`` (column -> role)."""
    description = description or default_description()
    frame = records.to_pandas() if isinstance(records, pa.Table) else records
    # a role with no value, or one value for everybody (a country column of one country), tells no one apart
    present = {c for c in match_columns if c in frame.columns and frame[c].nunique(dropna=True) > 1}
    if not present:
        raise ValueError("the person records carry no identity role with any value: declare roles in the person contracts")
    sources = sorted(frame["source"].dropna().unique()) if "source" in frame.columns else []
    unique = [s for s in sources if s in description.one_record_per_person]
    overridden = []
    if description.blocking_override:
        overridden.append("blocking_rules")
        blocking = [{"name": " and ".join(cols), "sql": Rule("", tuple((c, "exact") for c in cols)).sql(),
                     "pairs": None, "kept": True, "why": "matching.yaml override"} for cols in description.blocking_override]
    else:
        blocking = [{"name": c.rule.name, "sql": c.rule.sql(), "pairs": c.pairs, "kept": c.kept, "why": c.why}
                    for c in choose_blocking(frame, present, description)]
    if description.comparisons_override:
        overridden.append("comparisons")
    if not any(choice["kept"] for choice in blocking):
        raise ValueError("no blocking rule fits these records: " + "; ".join(f"{b['name']}: {b['why']}" for b in blocking))
    exclusion = within_source_exclusion(unique)
    for choice in blocking:
        choice["sql"] += exclusion
    return Plan(match_columns={c: match_columns[c] for c in sorted(present)}, blocking=blocking,
                deterministic=[r.name for r in deterministic_rules(present)],
                link_type=link_type(sources, description.one_record_per_person), one_record_per_person=unique,
                fingerprint=description.fingerprint(), overridden=overridden)


def plan_deterministic_rules(plan: Plan) -> list[Rule]:
    return [r for r in deterministic_rules(plan.present) if r.name in plan.deterministic]


def input_columns(plan: Plan) -> list[str]:
    """The record columns Splink needs for the plan: matching columns, their derived helpers, source."""
    extra = {CANONICAL} if GIVEN in plan.present else set()
    if "email_key" in plan.present:
        extra |= {MAILBOX, DIGITS}
    return sorted(plan.present | extra | {"source"})


def splink_settings(plan: Plan, dialect: Dialect, description: MatchingDescription | None = None) -> dict[str, Any]:
    """Splink settings (a JSON-serializable dict, SQL rendered in ``dialect``) for a plan.

    Intermediate columns (gamma_, bf_, tf_) are retained because match evidence is built from them.
    """
    if dialect not in DIALECTS:
        raise ValueError(f"unknown dialect {dialect!r}; use one of {', '.join(DIALECTS)}")
    description = description or default_description()
    comparisons = override_comparisons(description) if description.comparisons_override else generated_comparisons(plan.present)
    creator = SettingsCreator(
        link_type="dedupe_only",  # link tasks exclude within-source pairs in every rule (within_source_exclusion)
        unique_id_column_name=description.unique_id,
        comparisons=comparisons,
        blocking_rules_to_generate_predictions=plan.blocking_sql(),
        retain_intermediate_calculation_columns=True,
        retain_matching_columns=True,
    )
    settings = creator.create_settings_dict(dialect)
    settings["sql_dialect"] = dialect
    return settings


def plan_from_json(data: Mapping[str, Any]) -> Plan:
    return Plan(**data)


def plan_markdown(plan: Plan) -> str:
    """The generated blocking rules as a table for the UI: kept or not, pairs, why."""
    lines = ["| rule | kept | pairs | why |", "|---|---|---|---|"]
    lines += [f"| {b['name']} | {'yes' if b['kept'] else 'no'} | {b['pairs'] if b['pairs'] is not None else ''} | {b['why']} |"
              for b in plan.blocking]
    return "\n".join(lines)
