"""The match model: Splink 5 (Fellegi-Sunter, EM-trained) on Spark by default, or on DuckDB.

Training (train_model) follows Splink's recipe on settings generated from the roles present
(settings.make_plan), and says what it did:

1. u from seeded random pairs (almost all non-matches).
2. m by EM over the plan's kept blocking rules, from the most specific to coarser, until every
   comparison was trained in ``sessions_per_comparison`` sessions (em_rules); levels EM never observed
   are listed as untrained (a warning in the model's metadata), and a session EM cannot finish on
   (Splink raises when a level's m collapses to zero) is skipped with its reason.
3. The prior by Splink's deterministic-rule estimate with a DERIVED recall: Splink counts the pairs the
   deterministic rules join (recall 1 first: a lower bound); then, scoring the blocked pairs, the recall
   of those rules is the share of the model's expected matches (sum of match probabilities) they hold,
   and prior = rule pairs / (recall × comparable pairs), iterated to its fixed point (derive_prior).
   Measured against truth: 1.00e-3 vs 1.00e-3 (FEBRL 1), 1.55e-4 vs 1.55e-4 (FEBRL 2), 5.22e-4 vs 5.23e-4
   (FEBRL 3), 2.0e-4 vs 2.0e-4 (FEBRL 4, link-only), 3.2e-3 vs 4.1e-3 (fake_1000), where an assumed recall
   was off 2-6x.
4. The threshold: the lowest grid value from which every band of pairs between grid values has a mean
   probability of at least the description's target, so the last pairs accepted are as sure as the target
   (choose_threshold), with its reason.

The trained model is Splink's settings dictionary with its parameters (JSON-serializable) plus the
plan it was rendered from, so it can be saved beside a run, rendered for the other backend and given
back to predict without retraining. Prediction scores the pairs the blocking rules admit and keeps
those above an evidence floor, with per-field match weights (log2 Bayes factors, term-frequency
adjustment included) and the comparison level each field fell in, so every join can be explained.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from splink import DuckDBAPI, Linker, SettingsCreator
from splink.backends.spark import SparkAPI
from splink.internals.database_api import DatabaseAPI
from splink.internals.splink_dataframe import SplinkDataFrame

from hub_platform.defs.customer360.identity.records import match_columns
from hub_platform.defs.customer360.identity.settings import (
    CANONICAL,
    GIVEN,
    Dialect,
    MatchingDescription,
    Plan,
    Rule,
    default_description,
    input_columns,
    make_plan,
    plan_deterministic_rules,
    plan_from_json,
    splink_settings,
    within_source_exclusion,
)

Backend = Dialect  # a backend is named by the SQL dialect it speaks
SPLINK_LOG_LEVEL = logging.WARNING  # Splink logs every training step at INFO; runs keep their own metadata
CALIBRATION_FLOOR_BITS = -10.0  # pairs scored for the prior and threshold: down to this sum of Bayes factors
MAX_PRIOR = 0.5
AGREEMENT_PATTERN_COUNTS = "__splink__agreement_pattern_counts"  # Splink's name for EM's input table


def linkage_api(backend: Backend = "spark", spark=None) -> DatabaseAPI:
    """Splink's database API for ``backend``: the hub's Spark session (default) or an in-process DuckDB."""
    if backend == "spark":
        from hub_platform.lib.spark import require_classic, spark_session

        spark = spark if spark is not None else spark_session()
        require_classic(spark, "identity resolution (Splink)")
        return HubSparkAPI(spark_session=spark)
    if backend == "duckdb":
        return DuckDBAPI()
    raise ValueError(f"unknown backend {backend!r}; use 'spark' or 'duckdb'")


class HubSparkAPI(SparkAPI):
    """Splink's Spark API, with EM's agreement-pattern counts materialized once per training session.

    Splink 5.0 computes those counts (a few thousand rows) as a lazy view over the session's comparison
    vectors, so every EM iteration on Spark re-scanned and re-grouped millions of pairs; DuckDB holds the
    table. A local checkpoint (the executors' block store, as the registered records) makes each
    iteration a query over the counts alone. Overrides a private hook of the pinned Splink version."""

    def _break_lineage_and_repartition(self, spark_df, templated_name, physical_name):
        spark_df = super()._break_lineage_and_repartition(spark_df, templated_name, physical_name)
        return spark_df.localCheckpoint() if templated_name == AGREEMENT_PATTERN_COUNTS else spark_df


def _dialect(api: DatabaseAPI) -> str:
    return api.sql_dialect.sql_dialect_str


def _register(records: pa.Table, api: DatabaseAPI, plan: Plan, unique_id: str) -> SplinkDataFrame:
    """The columns the plan reads, registered on ``api``."""
    frame = records.select([unique_id, *input_columns(plan)])
    if _dialect(api) == "spark":
        # from Arrow Spark builds a LocalRelation: the rows live in the driver's plan, and the optimizer
        # re-evaluates projections over them in every query Splink plans, which ran a 4 GiB driver out of
        # memory on 221,605 records; a local checkpoint moves them to the executors' block store
        frame = api.spark.createDataFrame(frame).localCheckpoint()
    return api.register(frame)


def _linker(records: pa.Table, api: DatabaseAPI, settings: dict[str, Any], plan: Plan, unique_id: str) -> Linker:
    """A Linker over the columns the plan reads, registered on ``api``."""
    return Linker(_register(records, api, plan, unique_id), settings, log_level=SPLINK_LOG_LEVEL)


def pair_sample_sql(dialect: str, every: int, unique_id: str) -> str:
    """A blocking condition keeping about one pair in ``every``: a hash of both ids, so the same pairs every run."""
    hashed = f"hash(l.{unique_id}, r.{unique_id})"
    return f"pmod({hashed}, {every}) = 0" if dialect == "spark" else f"{hashed} % {every} = 0"


def calibration_settings(model: dict[str, Any], plan: Plan, description: MatchingDescription) -> tuple[dict[str, Any], int]:
    """(settings, every): the trained model with its blocking rules keeping one pair in ``every``, so that
    about ``calibration_pairs`` of the pairs the kept rules admit are scored (every = 1: all of them)."""
    blocked = sum(b["pairs"] or 0 for b in plan.blocking if b["kept"])
    every = max(1, math.ceil(blocked / description.calibration_pairs))
    if every == 1:
        return model, 1
    sample = pair_sample_sql(model["sql_dialect"], every, description.unique_id)
    rules = [{**rule, "blocking_rule": f"({rule['blocking_rule']}) and {sample}"}
             for rule in model["blocking_rules_to_generate_predictions"]]
    return {**model, "blocking_rules_to_generate_predictions": rules}, every


@dataclass
class Training:
    """A trained model and what training did: the metadata a person reads before trusting it."""

    model: dict[str, Any]  # Splink settings with trained parameters
    plan: Plan
    em_rules: list[str]
    em_skipped: list[str]
    untrained: dict[str, list[str]]  # comparison -> labels of levels without a trained m
    deterministic_pairs: int
    comparable_pairs: int
    derived_recall: float
    prior: float
    threshold: float
    threshold_reason: str
    expected_precision: float
    seconds: dict[str, float]  # wall time per training step: what generated settings and the derived prior cost

    def as_json(self) -> dict[str, Any]:
        return {**asdict(self), "plan": asdict(self.plan)}


def untrained_levels(model: dict[str, Any]) -> dict[str, list[str]]:
    """Comparison -> labels of its levels with no trained m (Splink saves m only once it is trained)."""
    missing = {}
    for comparison in model["comparisons"]:
        labels = [level.get("label_for_charts", "?") for level in comparison["comparison_levels"]
                  if not level.get("is_null_level") and "m_probability" not in level]
        if labels:
            missing[comparison["output_column_name"]] = labels
    return missing


def comparison_columns(model: dict[str, Any]) -> dict[str, set[str]]:
    """Comparison -> the input columns its levels read (a session blocking on one cannot train it)."""
    import re

    return {c["output_column_name"]: {name for level in c["comparison_levels"]
                                      for name in re.findall(r'"?(\w+?)"?_[lr]\b', level["sql_condition"])}
            for c in model["comparisons"]}


def held_by_source(records: pa.Table, columns: set[str], minimum: int) -> dict[str, set[str]]:
    """Source -> the matching columns that at least ``minimum`` of its records fill (every record of a smaller
    source); all records are one source when there is no source column."""
    frame = records.select([c for c in columns if c in records.column_names]).to_pandas()
    source = records["source"].to_pandas() if "source" in records.column_names else pd.Series("", index=frame.index)
    grouped = frame.notna().groupby(source.to_numpy())
    filled, sizes = grouped.sum(), grouped.size()
    return {str(name): {c for c in filled.columns if row[c] >= min(minimum, sizes[name])} for name, row in filled.iterrows()}


def em_rules(plan: Plan, columns_of: dict[str, set[str]], held: dict[str, set[str]], description: MatchingDescription,
             minimum: int) -> list[dict]:
    """Kept blocking rules for EM, most specific first, each used when it trains a comparison that has had
    fewer than ``sessions_per_comparison`` sessions for some source holding its columns (``held``). A rule
    trains what it does not block on, on the records of the sources holding what it blocks on: sessions
    blocked on a date of birth never see a source without one (a call centre's records), so counting them
    for every source left that source's contact levels untrained, at Splink's default m."""
    sessions = {(c, source): 0 for c, columns in columns_of.items() for source, has in held.items() if columns & has}
    # a comparison no source holds enough of is trained as before, by any session not blocking on it
    sessions |= {(c, None): 0 for c in columns_of if not any(key[0] == c for key in sessions)}
    chosen = []
    kept = sorted((b for b in plan.blocking if b["kept"] and (b["pairs"] is None or b["pairs"] >= minimum)),
                  key=lambda b: b["pairs"] or 0)
    for choice in kept:
        blocked = {c for c in plan.present if f"l.{c} " in choice["sql"] or f"(l.{c})" in choice["sql"]}
        taking_part = {source for source, has in held.items() if blocked <= has}
        if GIVEN in blocked:
            blocked.add(CANONICAL)
        trains = [(c, source) for (c, source), n in sessions.items() if n < description.sessions_per_comparison
                  and not columns_of[c] & blocked and (source is None or source in taking_part)]
        if trains:
            chosen.append(choice)
            for key in trains:
                sessions[key] += 1
        if all(n >= description.sessions_per_comparison for n in sessions.values()):
            break
    return chosen


def joined_by_sql(rules: list[Rule]) -> str:
    """SQL over scored pairs: true where at least one rule joins the pair (false, not null, on missing values)."""
    return "coalesce(" + " or ".join(f"({rule.sql(on_pairs=True)})" for rule in rules) + ", false)"


def probabilities(bits: np.ndarray, prior: float) -> np.ndarray:
    """Match probability from the sum of log2 Bayes factors and a prior."""
    weight = bits + math.log2(prior / (1 - prior))
    return 1.0 / (1.0 + np.power(2.0, -weight))


def derive_prior(bits: np.ndarray, in_deterministic: np.ndarray, deterministic_pairs: int, comparable_pairs: int,
                 start: float, iterations: int = 100) -> tuple[float, float]:
    """(prior, recall) at the fixed point prior = rule pairs / (recall × comparable pairs), where recall is
    the share of the expected matches among the scored pairs (sum of probabilities) the rules hold."""
    prior, recall = start, 1.0
    for _ in range(iterations):
        p = probabilities(bits, prior)
        expected = float(p.sum())
        recall = min(max(float(p[in_deterministic].sum()) / expected, 0.01), 1.0) if expected else 1.0
        updated = min(deterministic_pairs / recall / comparable_pairs, MAX_PRIOR)
        converged = abs(updated - prior) <= 1e-6 * prior
        prior = updated
        if converged:
            break
    return prior, recall


def choose_threshold(p: np.ndarray, grid: tuple[float, ...], target: float, every: int = 1) -> tuple[float, float, str]:
    """(threshold, expected precision, reason): the lowest grid value from which every band of scored pairs
    between neighbouring grid values (the top one up to 1) has a mean probability of at least ``target``;
    an empty band passes. So the last pairs accepted are as likely matches as the target says, not only the
    accepted pairs on average: a mean over many near-certain pairs hides a band of doubtful ones (on the large
    sample the mean reached 0.9993 at 0.7 where the clusters measured precision 0.985). Expected precision
    is the accepted pairs' mean probability. ``every``: each scored pair stands for that many blocked pairs
    (a sample), which the counts in the reason are scaled by."""
    sampled = f" (estimated from a sample of one blocked pair in {every})" if every > 1 else ""
    bands = list(zip(grid, [*grid[1:], math.inf]))
    chosen, stopped = None, None
    for low, high in reversed(bands):
        band = p[(p >= low) & (p < high)]
        if len(band) and float(band.mean()) < target:
            stopped = (low, high, len(band), float(band.mean()))
            break
        chosen = low
    none_reach = chosen is None or not len(p)
    threshold = grid[-1] if none_reach else chosen
    accepted = p[p >= threshold]
    expected = float(accepted.mean()) if len(accepted) else float("nan")
    if none_reach:
        return threshold, expected, f"no grid value's pairs reach a match probability of {target} on average; the highest ({threshold}) is used"
    below = ""
    if stopped:
        low, high, count, mean = stopped
        below = f"; below it, {count * every:,} pair{'s' if count * every != 1 else ''} between {low} and {high} average {mean:.4f}"
    return threshold, expected, (
        f"lowest of {list(grid)} from which every band of pairs between grid values has a mean match probability "
        f">= {target}: {len(accepted) * every:,} accepted pairs, expected precision {expected:.4f}, about "
        f"{float((1 - accepted).sum()) * every:.1f} false matches{below}{sampled}")


def comparable_pairs(records: pa.Table, plan: Plan) -> int:
    """Pairs that may be compared at all: every pair less those inside a source holding each person once."""
    n = records.num_rows
    total = n * (n - 1) // 2
    if plan.one_record_per_person:
        sizes = pc.value_counts(records["source"]).to_pylist()
        total -= sum(s["counts"] * (s["counts"] - 1) // 2 for s in sizes if s["values"] in plan.one_record_per_person)
    return max(total, 1)


def train_model(records: pa.Table, api: DatabaseAPI, description: MatchingDescription | None = None) -> Training:
    """Train a model on ``records`` (person records) with settings generated for the roles they carry."""
    description = description or default_description()
    seconds: dict[str, float] = {}
    started = time.perf_counter()

    def lap(step: str) -> None:
        nonlocal started
        now = time.perf_counter()
        seconds[step] = round(now - started, 2)
        started = now

    plan = make_plan(records, match_columns(records.schema), description)
    settings = splink_settings(plan, _dialect(api), description)
    lap("settings: blocking-rule pair counts, comparisons")
    registered = _register(records, api, plan, description.unique_id)
    linker = Linker(registered, settings, log_level=SPLINK_LOG_LEVEL)
    lap("records registered with the backend")
    training = linker.training
    deterministic = plan_deterministic_rules(plan)
    if not deterministic:
        raise ValueError(f"no deterministic rule fits the roles present ({', '.join(plan.match_columns.values())}): "
                         "cannot estimate the prior; declare names with a date of birth, an e-mail or a national id")
    exclusion = within_source_exclusion(plan.one_record_per_person)
    training.estimate_probability_two_random_records_match([r.sql() + exclusion for r in deterministic], recall=1.0)
    first = linker._settings_obj._probability_two_random_records_match
    n = records.num_rows
    deterministic_pairs = round(first * n * (n - 1) / 2)  # Splink's count over all pairs
    lap("prior: pairs the deterministic rules join")
    training.estimate_u_using_random_sampling(max_pairs=description.u_max_pairs, seed=description.u_seed,
                                              num_chunks=description.u_num_chunks)
    lap("u from random pairs")
    columns_of = comparison_columns(linker.misc.save_model_to_json())
    minimum = max(description.min_em_pairs, n // 100)
    held = held_by_source(records, set().union(*columns_of.values()), description.min_em_pairs)
    used, skipped = [], []
    for choice in em_rules(plan, columns_of, held, description, minimum):
        try:
            training.estimate_parameters_using_expectation_maximisation(
                choice["sql"], estimate_without_term_frequencies=not description.em_term_frequencies)
            used.append(choice["name"])
        except ValueError as error:  # EM collapsed on this block: its session is left out, and said so
            skipped.append(f"{choice['name']}: {str(error).splitlines()[0]}")
    model = linker.misc.save_model_to_json()
    lap("m by EM")
    floor = CALIBRATION_FLOOR_BITS + math.log2(first / (1 - first))
    # only two columns of the scored pairs leave the backend: collecting every pair's comparison columns
    # ran a 4 GiB Spark driver out of memory on the large sample (221,605 records, 2M pairs)
    sampled, every = calibration_settings(model, plan, description)
    scorer = linker if every == 1 else Linker(registered, sampled, log_level=SPLINK_LOG_LEVEL)
    predicted = scorer.inference.predict(threshold_match_weight=floor, warning_mode="never")
    scored = scorer.misc.query_sql(f"select match_weight, {joined_by_sql(deterministic)} as joined "
                                   f"from {predicted.physical_name}").as_pyarrow_table()
    predicted.drop_table_from_database_and_remove_from_cache()
    bits = scored["match_weight"].to_numpy().astype(float) - math.log2(first / (1 - first))
    comparable = comparable_pairs(records, plan)
    prior, recall = derive_prior(bits, scored["joined"].to_numpy(zero_copy_only=False).astype(bool),
                                 deterministic_pairs, comparable, first)
    model["probability_two_random_records_match"] = prior
    threshold, expected, reason = choose_threshold(probabilities(bits, prior), description.threshold_grid,
                                                   description.precision_target, every)
    lap("prior's recall and threshold: scoring the blocked pairs (or a sample)")
    return Training(model=model, plan=plan, em_rules=used, em_skipped=skipped, untrained=untrained_levels(model),
                    deterministic_pairs=deterministic_pairs, comparable_pairs=comparable, derived_recall=recall,
                    prior=prior, threshold=threshold, threshold_reason=reason, expected_precision=expected,
                    seconds=seconds)


_PARAMETERS = ("m_probability", "u_probability")


def model_is_current(plan: Plan | dict, records_schema: pa.Schema, description: MatchingDescription | None = None) -> bool:
    """Whether a model trained on ``plan`` still fits: same description, same roles in the records."""
    plan = plan_from_json(plan) if isinstance(plan, dict) else plan
    description = description or default_description()
    return plan.fingerprint == description.fingerprint() and set(plan.match_columns) <= set(match_columns(records_schema))


def settings_changed(model: dict[str, Any], plan: Plan, description: MatchingDescription | None = None) -> bool:
    """Whether the hub now renders ``plan`` into other comparison levels than ``model`` was trained with
    (the generating code changed since: the model must be retrained to use them)."""
    def conditions(settings: dict[str, Any]) -> list[list[str]]:
        return [[level["sql_condition"] for level in c["comparison_levels"]] for c in settings["comparisons"]]

    return conditions(splink_settings(plan, model["sql_dialect"], description)) != conditions(model)


def model_for_dialect(model: dict[str, Any], plan: Plan, dialect: Dialect,
                      description: MatchingDescription | None = None) -> dict[str, Any]:
    """The same trained model rendered for another backend's SQL dialect (parameters carried level by level)."""
    if model["sql_dialect"] == dialect:
        return model
    rendered = splink_settings(plan, dialect, description)
    rendered["probability_two_random_records_match"] = model["probability_two_random_records_match"]
    for trained, target in zip(model["comparisons"], rendered["comparisons"], strict=True):
        for trained_level, level in zip(trained["comparison_levels"], target["comparison_levels"], strict=True):
            level.update({k: trained_level[k] for k in _PARAMETERS if k in trained_level})
    return rendered


def predict_pairs(records: pa.Table, model: dict[str, Any], plan: Plan, api: DatabaseAPI,
                  description: MatchingDescription | None = None, floor_match_weight: float | None = None) -> pa.Table:
    """Scored pairs with per-field evidence, for pairs whose match weight is at least the floor.

    Output columns: record_id_l, record_id_r, match_weight, match_probability, then per comparison
    ``<name>_level`` (the label of the level the pair fell in) and ``<name>_weight`` (its match weight in
    bits, term-frequency adjustment included). Rows are sorted, with record_id_l < record_id_r.
    """
    description = description or default_description()
    model = model_for_dialect(model, plan, _dialect(api), description)
    floor = description.evidence_floor_weight if floor_match_weight is None else floor_match_weight
    linker = _linker(records, api, model, plan, description.unique_id)
    predictions = linker.inference.predict(threshold_match_weight=floor, warning_mode="never").as_pyarrow_table()
    return evidence_from_predictions(predictions, model, description.unique_id)


def evidence_from_predictions(predictions: pa.Table, model: dict[str, Any], unique_id: str = "record_id") -> pa.Table:
    """Turn Splink's per-comparison columns (gamma_, mw_, mw_tf_adj_) into readable per-field evidence."""
    left, right = predictions[f"{unique_id}_l"], predictions[f"{unique_id}_r"]
    swap = pc.greater(left, right)
    columns: dict[str, pa.Array] = {
        f"{unique_id}_l": pc.if_else(swap, right, left),
        f"{unique_id}_r": pc.if_else(swap, left, right),
        "match_weight": pc.cast(predictions["match_weight"], pa.float64()),
        "match_probability": pc.cast(predictions["match_probability"], pa.float64()),
    }
    present = set(predictions.column_names)
    for name, labels in level_labels(model).items():
        gamma = predictions[f"gamma_{name}"].to_numpy(zero_copy_only=False)
        columns[f"{name}_level"] = pa.array([labels[int(g)] for g in gamma], pa.string())
        weight = np.asarray(predictions[f"mw_{name}"].to_numpy(zero_copy_only=False), dtype=float)
        if f"mw_tf_adj_{name}" in present:
            weight = weight + np.asarray(predictions[f"mw_tf_adj_{name}"].to_numpy(zero_copy_only=False), dtype=float)
        columns[f"{name}_weight"] = pa.array(np.round(weight, 3), pa.float64())
    evidence = pa.table(columns)
    return evidence.sort_by([(f"{unique_id}_l", "ascending"), (f"{unique_id}_r", "ascending")])


def level_labels(model: dict[str, Any]) -> dict[str, dict[int, str]]:
    """Per comparison, the label of each comparison vector value (gamma) as Splink numbers them."""
    settings = SettingsCreator.from_path_or_dict(model).get_settings(model["sql_dialect"])
    return {comparison.output_column_name: {level.comparison_vector_value: level.label_for_charts
                                            for level in comparison.comparison_levels}
            for comparison in settings.comparisons}
