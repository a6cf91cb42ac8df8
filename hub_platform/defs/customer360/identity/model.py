"""The match model: Splink 5 (Fellegi-Sunter, EM-trained) on Spark by default, or on DuckDB.

Training follows Splink's recipe: the prior (probability two random records match) from deterministic
rules and their assumed recall, u probabilities from random pairs (almost all non-matches), then m
probabilities by expectation maximisation over a few blocking rules, each of which trains the fields it
does not block on. The trained model is Splink's settings dictionary with its parameters (JSON-
serializable), so it can be saved beside a run and given back to predict without retraining.

Prediction scores the pairs the blocking rules admit and keeps those above an evidence floor, with the
per-field match weights (log2 of Splink's Bayes factors, term-frequency adjustment included) and the
comparison level each field fell in, so every join can be explained.

The same functions serve both backends: Splink 5 registers data on a database API (``SparkAPI`` or
``DuckDBAPI``) and the settings are rendered in that backend's SQL dialect (settings.py).
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from splink import DuckDBAPI, Linker, SettingsCreator, SparkAPI
from splink.internals.database_api import DatabaseAPI

from hub_platform.defs.customer360.identity.settings import (
    Dialect,
    MatchingDescription,
    default_description,
    matching_columns,
    rule,
    splink_settings,
)

Backend = Dialect  # a backend is named by the SQL dialect it speaks
SPLINK_LOG_LEVEL = logging.WARNING  # Splink logs every training step at INFO; runs keep their own metadata


def linkage_api(backend: Backend = "spark", spark=None) -> DatabaseAPI:
    """Splink's database API for ``backend``: the hub's Spark session (default) or an in-process DuckDB.

    Splink on Spark needs a checkpoint directory; ``hub_platform.lib.spark.spark_session`` sets one.
    """
    if backend == "spark":
        from hub_platform.lib.spark import require_classic, spark_session

        spark = spark if spark is not None else spark_session()
        require_classic(spark, "identity resolution (Splink)")
        return SparkAPI(spark_session=spark)
    if backend == "duckdb":
        return DuckDBAPI()
    raise ValueError(f"unknown backend {backend!r}; use 'spark' or 'duckdb'")


def _dialect(api: DatabaseAPI) -> str:
    return api.sql_dialect.sql_dialect_str


def _linker(records: pa.Table, api: DatabaseAPI, settings: dict[str, Any], description: MatchingDescription) -> Linker:
    """A Linker over the matching columns of ``records`` registered on ``api``."""
    columns = [description.unique_id, *matching_columns(description)]
    frame = records.select(columns)
    if _dialect(api) == "spark":  # hand Spark the Arrow table directly (no pandas round trip)
        frame = api.spark.createDataFrame(frame)
    return Linker(api.register(frame), settings, log_level=SPLINK_LOG_LEVEL)


def rules_with_pairs(records: pa.Table, rules: list[list[str]]) -> list[list[str]]:
    """The rules that join at least one pair of ``records`` (a source without e-mails trains nothing on them).

    Training on a rule that admits no pair fails in Splink, and a deployment may lack a column entirely
    (FEBRL has neither e-mail nor phone), so the recipe keeps only the rules the data can use.
    """
    usable = []
    for columns in rules:
        keyed = records.select(columns).drop_null()
        if keyed.num_rows and pc.max(keyed.group_by(columns).aggregate([([], "count_all")])["count_all"]).as_py() > 1:
            usable.append(columns)
    return usable


def train_model(records: pa.Table, api: DatabaseAPI, description: MatchingDescription | None = None) -> dict[str, Any]:
    """Train a model on ``records`` (person records) and return it as a JSON-serializable dict.

    Prior from the description's deterministic rules, u by seeded random sampling, m by EM over each
    of the description's training blocking rules in turn (rules the data cannot use are skipped).
    """
    description = description or default_description()
    linker = _linker(records, api, splink_settings(_dialect(api), description), description)
    training = linker.training
    deterministic = rules_with_pairs(records, description.deterministic_rules)
    if not deterministic:
        raise ValueError(f"no deterministic rule joins any pair of the {records.num_rows} records: cannot estimate the prior")
    training.estimate_probability_two_random_records_match([rule(c) for c in deterministic],
                                                           recall=description.deterministic_recall)
    training.estimate_u_using_random_sampling(max_pairs=description.u_max_pairs, seed=description.u_seed,
                                              num_chunks=description.u_num_chunks)
    for columns in rules_with_pairs(records, description.em_blocking_rules):
        training.estimate_parameters_using_expectation_maximisation(rule(columns))
    return linker.misc.save_model_to_json()


_PARAMETERS = ("m_probability", "u_probability")


def _structure(model: dict[str, Any]) -> list[tuple[str, list[dict[str, Any]]]]:
    """What a model compares, without its trained parameters."""
    return [(c["output_column_name"], [{k: v for k, v in level.items() if k not in _PARAMETERS}
                                       for level in c["comparison_levels"]]) for c in model["comparisons"]]


def _blocking(model: dict[str, Any]) -> list[str]:
    return [rule["blocking_rule"] for rule in model["blocking_rules_to_generate_predictions"]]


def model_is_current(model: dict[str, Any], description: MatchingDescription | None = None) -> bool:
    """Whether ``model`` was trained on the settings the description gives now (else: retrain)."""
    rendered = splink_settings(model["sql_dialect"], description)
    return _structure(model) == _structure(rendered) and _blocking(model) == _blocking(rendered)


def model_for_dialect(model: dict[str, Any], dialect: Dialect,
                      description: MatchingDescription | None = None) -> dict[str, Any]:
    """The same trained model rendered for another backend's SQL dialect.

    Splink's saved model holds SQL in the dialect it was trained on; the description renders the same
    comparisons for ``dialect`` and the trained m and u probabilities and prior are carried over level by
    level. A model trained on other settings than the description's cannot be carried over.
    """
    if model["sql_dialect"] == dialect:
        return model
    if not model_is_current(model, description):
        raise ValueError("the model was trained on other matching settings than the description's: retrain it")
    rendered = splink_settings(dialect, description)
    rendered["probability_two_random_records_match"] = model["probability_two_random_records_match"]
    for trained, target in zip(model["comparisons"], rendered["comparisons"], strict=True):
        for trained_level, level in zip(trained["comparison_levels"], target["comparison_levels"], strict=True):
            level.update({k: trained_level[k] for k in _PARAMETERS if k in trained_level})
    return rendered


def predict_pairs(records: pa.Table, model: dict[str, Any], api: DatabaseAPI,
                  description: MatchingDescription | None = None, floor_match_weight: float | None = None) -> pa.Table:
    """Scored pairs with per-field evidence, for pairs whose match weight is at least the floor.

    ``model`` is a trained model (from train_model, on any backend). Output columns: record_id_l,
    record_id_r, match_weight, match_probability, then per comparison ``<name>_level`` (the label of the
    level the pair fell in) and ``<name>_weight`` (its match weight in bits, term-frequency adjustment
    included; 0 where a value was missing). Rows are sorted, with record_id_l < record_id_r.
    """
    description = description or default_description()
    model = model_for_dialect(model, _dialect(api), description)
    floor = description.evidence_floor_weight if floor_match_weight is None else floor_match_weight
    linker = _linker(records, api, model, description)
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

