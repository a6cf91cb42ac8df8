"""Pairwise and B-cubed scores on cases small enough to count by hand."""

from __future__ import annotations

import pandas as pd
import pytest

from hub_platform.defs.customer360.identity.evaluation import evaluate, truth_by_record


def frame(assign: dict[str, str], column: str) -> pd.DataFrame:
    return pd.DataFrame({"record_id": list(assign), column: list(assign.values())})


def test_scores_of_a_mixed_clustering():
    # predicted A = {1, 2, 3}, B = {4, 5}; truth P = {1, 2}, Q = {3, 4, 5}
    predicted = frame({"1": "A", "2": "A", "3": "A", "4": "B", "5": "B"}, "customer_id")
    truth = frame({"1": "P", "2": "P", "3": "Q", "4": "Q", "5": "Q"}, "person_id")
    result = evaluate(predicted, truth)
    # pairs: predicted {12,13,23,45}, true {12,34,35,45}, both {12,45}
    assert (result.predicted_pairs, result.true_pairs, result.true_positive_pairs) == (4, 4, 2)
    assert result.pairwise.precision == result.pairwise.recall == result.pairwise.f1 == 0.5
    # B-cubed precision per record: 2/3, 2/3, 1/3, 1, 1; recall: 1, 1, 1/3, 2/3, 2/3 -> both 11/15
    assert result.bcubed.precision == pytest.approx(11 / 15)
    assert result.bcubed.recall == pytest.approx(11 / 15)
    assert result.bcubed.f1 == pytest.approx(11 / 15)


def test_linking_nothing_leaves_pairwise_precision_undefined_not_perfect():
    predicted = frame({"1": "A", "2": "B", "3": "C"}, "customer_id")
    truth = frame({"1": "P", "2": "P", "3": "P"}, "person_id")
    result = evaluate(predicted, truth)
    assert (result.pairwise.precision, result.pairwise.recall, result.pairwise.f1) == (None, 0.0, None)
    assert result.bcubed.precision == 1.0 and result.bcubed.recall == pytest.approx(1 / 3)


def test_records_without_truth_are_counted_not_scored():
    predicted = frame({"1": "A", "2": "A", "x": "A"}, "customer_id")
    truth = frame({"1": "P", "2": "P", "deleted": "P"}, "person_id")
    result = evaluate(predicted, truth)
    assert result.records_scored == 2 and result.records_without_truth == 1
    assert result.pairwise.f1 == 1.0 and result.as_dict()["bcubed_f1"] == 1.0


def test_truth_rows_are_keyed_like_person_records():
    persons = pd.DataFrame({"source": ["crm_contacts"], "record_key": ["C1"], "person_id": ["P0000001"]})
    assert truth_by_record(persons).to_dict("records") == [{"record_id": "crm_contacts:C1", "person_id": "P0000001"}]
