"""customer360's stateful assets under Dagster: why the match model is (re)trained, the identity asset's
threshold (the model's, then the stewards'), stable ids with history on merge and split, and the gate
that uses truth, else labels, else says it has neither."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import dagster as dg
import pandas as pd
import pyarrow as pa
import pytest

from hub_platform.defs.customer360 import assets
from hub_platform.defs.customer360.identity.records import RECORD_SCHEMA
from hub_platform.defs.customer360.identity.settings import Plan, default_description, splink_settings
from hub_platform.defs.review.queue import pair_id
from hub_platform.lib.resources import build_resources

IDS = ["s:1", "s:2", "s:3", "s:4"]


def _plan(fingerprint: str | None = None) -> Plan:
    return Plan(match_columns={"first_name_key": "given_name", "dob": "dob"}, blocking=[], deterministic=[], link_type="dedupe_only",
                one_record_per_person=[], fingerprint=fingerprint or default_description().fingerprint())


def test_retrain_reasons_name_what_changed():
    current = {"plan": _plan()}
    assert assets.retrain_reason(current, False, RECORD_SCHEMA) is None
    assert assets.retrain_reason(current, True, RECORD_SCHEMA) == "asked to retrain"
    assert assets.retrain_reason(None, False, RECORD_SCHEMA) == "no model yet"
    assert assets.retrain_reason({"plan": None}, False, RECORD_SCHEMA) == "the model predates generated settings"
    assert assets.retrain_reason({"plan": _plan("old")}, False, RECORD_SCHEMA) == "matching.yaml changed"
    without_dob = RECORD_SCHEMA.remove(RECORD_SCHEMA.get_field_index("dob"))
    assert assets.retrain_reason(current, False, without_dob) == "the identity roles of the person records changed"
    trained = splink_settings(_plan(), "spark")
    assert assets.retrain_reason({"plan": _plan(), "model": trained}, False, RECORD_SCHEMA) is None
    trained["comparisons"][0]["comparison_levels"][1]["sql_condition"] = '"first_name_key_l" = "dob_r"'  # older code's SQL
    assert assets.retrain_reason({"plan": _plan(), "model": trained}, False, RECORD_SCHEMA) == (
        "the hub generates other comparisons for these roles now")


def test_the_gate_uses_truth_else_labels_else_warns_that_it_has_neither():
    passed, severity, meta = assets.accuracy_gate({"pairwise_f1": 0.99}, None)
    assert passed and severity == dg.AssetCheckSeverity.ERROR and "ground truth" in meta["measured_against"]
    labelled = {"decisive_labels_scored": 25, "precision": 0.9, "recall": 0.8}
    passed, severity, meta = assets.accuracy_gate(None, labelled)
    assert not passed and severity == dg.AssetCheckSeverity.ERROR and meta["precision"] == 0.9
    passed, severity, meta = assets.accuracy_gate(None, {"decisive_labels_scored": 3, "precision": 1.0, "recall": 1.0})
    assert not passed and severity == dg.AssetCheckSeverity.WARN and "3 of the 20" in meta["measured_against"]


def test_review_pairs_are_the_scored_pairs_near_the_threshold_with_both_records():
    evidence = pd.DataFrame({"record_id_l": ["s:1", "s:1"], "record_id_r": ["s:2", "s:3"], "match_weight": [3.0, -20.0],
                             "match_probability": [0.89, 1e-6]})
    records = pd.DataFrame({"record_id": ["s:1", "s:2", "s:3"], "source": "s", "first_name": ["Ann", "Anne", None],
                            "attr_state": ["vic", "vic", "nsw"]})
    pairs = assets.review_pairs(evidence, records, threshold=0.9)
    assert pairs[["left_id", "right_id", "threshold"]].values.tolist() == [["s:1", "s:2", 0.9]]  # -20 bits is far off
    assert json.loads(pairs.left_record[0]) == {"source": "s", "first_name": "Ann", "attr_state": "vic"}


def _seed(lake, edges: list[tuple[str, str, float]], threshold: float = 0.9) -> None:
    records = pa.table({"record_id": sorted(set(IDS) | {r for a, b, _ in edges for r in (a, b)})})
    lake.write(records, "customer360", "person_records", mode="overwrite", schema_mode="overwrite")
    evidence = pa.table({"record_id_l": [a for a, _, _ in edges], "record_id_r": [b for _, b, _ in edges],
                         "match_probability": [p for _, _, p in edges]})
    lake.write(evidence, "customer360", "match_evidence", mode="overwrite", schema_mode="overwrite")
    report = {"plan": json.loads(json.dumps(_plan().__dict__)), "threshold_reason": "test"}
    row = {"model_id": "m1", "trained_at": datetime(2026, 11, 1, tzinfo=UTC), "records": 4, "prior": 0.01, "threshold": threshold,
           "threshold_reason": "expected precision (test)", "artefact": "", "model_json": "{}", "plan_json": json.dumps(report)}
    lake.write(pa.Table.from_pylist([row]), "customer360", "match_model", mode="overwrite", schema_mode="overwrite")


def _run_identity(succeeds: bool = True):
    """Materialize identity; a blocking gate that fails at ERROR severity fails the run (``succeeds=False``)."""
    result = dg.materialize([assets._identity_asset()], resources=build_resources(), raise_on_error=succeeds)
    assert result.success is succeeds
    (identity,) = [m for m in result.asset_materializations_for_node("customer360__identity") if m.asset_key.path[-1] == "identity"]
    (gate,) = [c for c in result.get_asset_check_evaluations() if c.check_name == "accuracy_gate"]
    return identity.metadata, gate


@pytest.mark.spark
def test_identity_keeps_ids_records_merges_and_lets_labels_set_the_threshold(hub_home, spark):
    lake = build_resources()["storage"].lake()
    _seed(lake, [("s:1", "s:2", 0.99), ("s:2", "s:3", 0.8)])  # 0.8 is below the model's 0.9
    metadata, gate = _run_identity()
    first = lake.read("customer360", "identity").to_pandas().set_index("record_id").customer_id
    assert first["s:1"] == first["s:2"] != first["s:3"] and metadata["threshold"].value == 0.9
    assert not gate.passed and gate.severity == dg.AssetCheckSeverity.WARN  # neither truth nor labels: says so

    # stewards label 25 pairs at 0.8 as matches: precision 1.0 from 0.8 up, so the threshold comes down to it
    labelled = [pair_id("customer", "s:2", "s:3")] + [pair_id("customer", f"x:{i}", f"y:{i}") for i in range(24)]
    labels = pd.DataFrame({"domain": "customer", "pair_id": labelled, "left_id": ["s:2"] + [f"x:{i}" for i in range(24)],
                           "right_id": ["s:3"] + [f"y:{i}" for i in range(24)], "label": "match", "labelled_by": "ann",
                           "labelled_at": datetime(2026, 11, 2, tzinfo=UTC), "note": ""})
    lake.write(pa.Table.from_pandas(labels), "review", "labels", mode="overwrite")
    _seed(lake, [("s:1", "s:2", 0.99), ("s:2", "s:3", 0.8)] + [(f"x:{i}", f"y:{i}", 0.85) for i in range(24)])
    metadata, gate = _run_identity()
    second = lake.read("customer360", "identity").to_pandas().set_index("record_id").customer_id
    assert metadata["threshold"].value == 0.8 and "stewards' labels" in metadata["threshold_reason"].value
    assert second["s:1"] == second["s:2"] == second["s:3"] == first["s:1"]  # the merged customer keeps its id
    history = lake.read("customer360", "id_history").to_pandas()
    assert (history.event == "merged").sum() == 1 and history[history.event == "merged"].old_customer_id.iloc[0] == first["s:3"]
    assert gate.passed and "labels" in gate.metadata["measured_against"].value

    _seed(lake, [("s:1", "s:2", 0.99)])  # the s:2/s:3 evidence is gone: s:3 splits off again
    _run_identity()
    third = lake.read("customer360", "identity").to_pandas().set_index("record_id").customer_id
    assert third["s:1"] == first["s:1"] and third["s:3"] != third["s:1"]
    assert "split" in set(lake.read("customer360", "id_history").to_pandas().event)


@pytest.mark.slow
@pytest.mark.spark
def test_the_match_model_trains_once_then_is_reused_until_asked(hub_home, spark):
    from hub_platform_tests.defs.customer360.identity.generated import generated_people

    lake = build_resources()["storage"].lake()
    records, _, _ = generated_people(120, seed=3)
    lake.write(records, "customer360", "person_records", mode="overwrite")

    def run(retrain: bool = False) -> dict:
        config = {"ops": {"customer360__match_model": {"config": {"retrain": retrain}}}}
        result = dg.materialize([assets._match_model_asset()], resources=build_resources(), run_config=config)
        assert result.success
        return result.asset_materializations_for_node("customer360__match_model")[0].metadata

    first = run()
    assert first["reason"].text == "no model yet" and first["trained_this_run"].value is True
    assert 0.5 <= first["threshold"].value < 1 and "expected precision" in first["threshold_reason"].text
    assert first["link_type"].text == "dedupe_only" and "given name and surname" in first["blocking_rules"].md_str
    second = run()
    assert second["reason"].text == "reused the current model" and second["trained_this_run"].value is False
    assert run(retrain=True)["reason"].text == "asked to retrain"
    assert lake.read("customer360", "match_model").num_rows == 2


def _seed_scored_people(lake, edges: list[tuple[str, str, float]], threshold: float = 0.9) -> None:
    """Person records a steward can read, their scored pairs (weights consistent with the probabilities), a model."""
    import math

    _seed(lake, edges, threshold)
    ids = sorted({r for a, b, _ in edges for r in (a, b)})
    lake.write(pa.table({"record_id": ids, "source": ["crm"] * len(ids), "first_name": [f"Ann {i[:1]}" for i in ids]}),
               "customer360", "person_records", mode="overwrite", schema_mode="overwrite")
    lake.write(pa.table({"record_id_l": [a for a, _, _ in edges], "record_id_r": [b for _, b, _ in edges],
                         "match_weight": [math.log2(p / (1 - p)) for _, _, p in edges],
                         "match_probability": [p for _, _, p in edges]}),
               "customer360", "match_evidence", mode="overwrite", schema_mode="overwrite")


@pytest.mark.slow
@pytest.mark.spark
def test_a_labelled_review_round_goes_from_the_queue_through_hub_review_to_the_gate(hub_home, spark, monkeypatch, capsys):
    """No ground truth: review_pairs → review/queue → labels given in `hub review` → accuracy from the labels in
    identity's metadata → the gate, which passes on labels that confirm the joins and fails on labels that refute them."""
    from hub_platform.defs.review.assets import QUEUE, review_assets
    from hub_platform.serving.cli import main
    from hub_platform.sources.contract import default_registry

    lake = build_resources()["storage"].lake()
    graph = [*assets.customer360_assets(default_registry()), *review_assets()]

    def rebuild_queue() -> pd.DataFrame:
        result = dg.materialize(graph, resources=build_resources(), selection=[assets.REVIEW_PAIRS.key, QUEUE.key])
        assert result.success
        return lake.read("review", "queue").to_pandas()

    def label_in_terminal(answer: str, steward: str, pairs: int) -> None:
        answers = iter([answer, ""] * pairs)  # the answer, then an empty note, per pair
        monkeypatch.setattr("builtins.input", lambda _prompt: next(answers))
        assert main(["review", "--domain", "customer", "--by", steward]) == 0
        assert f"{pairs} label(s) saved" in capsys.readouterr().out

    joined = [(f"a:{i}", f"b:{i}", 0.95) for i in range(25)]  # the model's 0.9 joins every pair
    _seed_scored_people(lake, joined)
    queue = rebuild_queue()
    assert len(queue) == 25 and set(queue.domain) == {"customer"} and "Ann" in queue.left_record.iloc[0]
    metadata, gate = _run_identity()
    assert "accuracy_from_labels" not in metadata and not gate.passed and gate.severity == dg.AssetCheckSeverity.WARN

    label_in_terminal("m", "ann", 25)
    labels = lake.read("review", "labels").to_pandas()
    assert len(labels) == 25 and set(labels.label) == {"match"} and set(labels.labelled_by) == {"ann"}
    assert labels.labelled_at.notna().all()
    metadata, gate = _run_identity()
    from_labels = metadata["accuracy_from_labels"].value
    assert from_labels["decisive_labels_scored"] == 25 and from_labels["precision"] == 1.0 and from_labels["recall"] == 1.0
    assert "stewards' labels" in metadata["threshold_reason"].value
    assert gate.passed and gate.severity == dg.AssetCheckSeverity.ERROR
    assert gate.metadata["measured_against"].value == "25 stewards' labels"

    # new pairs the model joins; a second steward says they are different people: precision from labels drops
    refuted = [(f"c:{i}", f"d:{i}", 0.97) for i in range(5)]
    _seed_scored_people(lake, joined + refuted)
    queue = rebuild_queue()
    assert sorted(queue.left_id) == sorted(a for a, _, _ in refuted)  # labelled pairs do not come back
    label_in_terminal("n", "bob", 5)
    metadata, gate = _run_identity(succeeds=False)  # the gate blocks: the run fails
    from_labels = metadata["accuracy_from_labels"].value
    assert from_labels["decisive_labels_scored"] == 30 and from_labels["precision"] == pytest.approx(25 / 30)
    assert metadata["threshold"].value == 0.9  # labels support no lower threshold any more: the model's again
    assert not gate.passed and gate.severity == dg.AssetCheckSeverity.ERROR
