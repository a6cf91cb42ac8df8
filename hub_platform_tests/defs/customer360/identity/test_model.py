"""The Splink model on hand-built people: training, evidence, portability between backends, and a
small Spark run that links obvious duplicates and keeps a household apart."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from hub_platform.defs.clean.conform import Delivery, conform_file
from hub_platform.defs.customer360.identity.clusters import assign_customer_ids, cluster_records
from hub_platform.defs.customer360.identity.evaluation import evaluate
from hub_platform.defs.customer360.identity.model import (
    linkage_api,
    model_for_dialect,
    model_is_current,
    predict_pairs,
    rules_with_pairs,
    train_model,
)
from hub_platform.defs.customer360.identity.records import person_records
from hub_platform.defs.customer360.identity.settings import default_description
from hub_platform.seed.generator import encode
from hub_platform.seed.people import noisy_records, true_people
from hub_platform.sources.contract import default_registry

@pytest.fixture(scope="module")
def people():
    return generated_people()


@pytest.fixture(scope="module")
def duckdb_model(people):
    records, _, _ = people
    return train_model(records, linkage_api("duckdb"))


def test_rules_with_pairs_keeps_only_rules_the_data_can_use():
    records = pa.table({"a": ["x", "x", "y"], "b": [None, None, "z"], "c": ["1", "2", "3"]})
    assert rules_with_pairs(records, [["a"], ["b"], ["c"], ["a", "c"]]) == [["a"]]


def test_a_trained_model_is_json_data_with_trained_parameters(duckdb_model):
    assert json.loads(json.dumps(duckdb_model)) == duckdb_model
    assert 0 < duckdb_model["probability_two_random_records_match"] < 0.1
    email = next(c for c in duckdb_model["comparisons"] if c["output_column_name"] == "email")
    exact = email["comparison_levels"][1]
    assert exact["m_probability"] > exact["u_probability"]
    assert model_is_current(duckdb_model)


def test_evidence_weights_add_up_to_the_match_weight(people, duckdb_model):
    records, _, _ = people
    evidence = predict_pairs(records, duckdb_model, linkage_api("duckdb")).to_pandas()
    prior = duckdb_model["probability_two_random_records_match"]
    names = [c["output_column_name"] for c in duckdb_model["comparisons"]]
    total = evidence[[f"{n}_weight" for n in names]].sum(axis=1) + math.log2(prior / (1 - prior))
    assert (total - evidence["match_weight"]).abs().max() < 0.01
    assert (evidence["record_id_l"] < evidence["record_id_r"]).all()
    assert evidence["match_weight"].min() >= default_description().evidence_floor_weight
    same = evidence[evidence["email_weight"] > 0].iloc[0]
    assert same["email_level"] == "Exact match on email_key"


def test_a_model_trained_on_duckdb_predicts_on_the_spark_dialect(duckdb_model):
    spark_model = model_for_dialect(duckdb_model, "spark")
    assert spark_model["sql_dialect"] == "spark" and model_is_current(spark_model)
    assert spark_model["probability_two_random_records_match"] == duckdb_model["probability_two_random_records_match"]
    levels = [(lv.get("m_probability"), lv.get("u_probability"))
              for c in spark_model["comparisons"] for lv in c["comparison_levels"]]
    assert levels == [(lv.get("m_probability"), lv.get("u_probability"))
                      for c in duckdb_model["comparisons"] for lv in c["comparison_levels"]]
    changed = {**duckdb_model, "comparisons": duckdb_model["comparisons"][1:]}
    assert not model_is_current(changed)
    with pytest.raises(ValueError, match="retrain"):
        model_for_dialect(changed, "spark")


def _resolve(records: pa.Table, api) -> pd.DataFrame:
    model = train_model(records, api)
    evidence = predict_pairs(records, model, api)
    clusters = cluster_records(records["record_id"], evidence, default_description().match_threshold, api)
    assignment, _ = assign_customer_ids(clusters)
    return assignment


def _check_resolution(assignment: pd.DataFrame, records: pa.Table, truth: dict[str, str],
                      households: list[tuple[str, str]]) -> None:
    """Household members are never one customer; records agreeing on name and e-mail always are."""
    persons = assignment.assign(person=assignment["record_id"].map(truth))
    customers_of = persons.groupby("person")["customer_id"].agg(set)
    held = [(a, b) for a, b in households if a in customers_of and b in customers_of]
    assert held and all(not customers_of[a] & customers_of[b] for a, b in held)
    frame = records.to_pandas().merge(assignment, on="record_id").dropna(subset=["email_key"])
    obvious = frame.groupby(["first_name_key", "last_name_key", "email_key"])["customer_id"].nunique()
    assert (obvious == 1).all()
    scores = evaluate(assignment, pd.DataFrame({"record_id": list(truth), "person_id": list(truth.values())}))
    assert scores.pairwise.precision > 0.97 and scores.pairwise.recall > 0.9


def test_duckdb_run_links_duplicates_and_keeps_households_apart(people):
    records, truth, households = people
    _check_resolution(_resolve(records, linkage_api("duckdb")), records, truth, households)


@pytest.mark.spark
def test_spark_scores_and_clusters_like_duckdb_with_the_same_model(people, duckdb_model, spark):
    records, truth, households = people
    api = linkage_api("spark", spark)
    on_spark = predict_pairs(records, duckdb_model, api).to_pandas()
    on_duckdb = predict_pairs(records, duckdb_model, linkage_api("duckdb")).to_pandas()
    pairs = ["record_id_l", "record_id_r"]
    assert on_spark[pairs].equals(on_duckdb[pairs])
    assert (on_spark["match_weight"] - on_duckdb["match_weight"]).abs().max() < 1e-6
    assert (on_spark.filter(like="_level") == on_duckdb.filter(like="_level")).all().all()
    clusters = cluster_records(records["record_id"], pa.Table.from_pandas(on_spark), default_description().match_threshold, api)
    assignment, _ = assign_customer_ids(clusters)
    _check_resolution(assignment, records, truth, households)


@pytest.mark.slow
@pytest.mark.spark
def test_spark_training_links_duplicates_and_keeps_households_apart(people, spark):
    records, truth, households = people
    _check_resolution(_resolve(records, linkage_api("spark", spark)), records, truth, households)
