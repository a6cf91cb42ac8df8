"""The shared review loop on tiny frames: the queue, labels with who and when, accuracy and a threshold
from labels, a terminal session driven by a list of answers."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pandas as pd
import pytest

from hub_platform.defs.review.accuracy import accuracy_from_labels, latest_labels, threshold_from_labels
from hub_platform.defs.review.queue import LABEL_COLUMNS, QUEUE_COLUMNS, label_rows, pair_id, review_queue
from hub_platform.defs.review.session import review_session

AT = datetime(2026, 11, 1, tzinfo=UTC)


def _scored(probabilities: list[float], threshold: float = 0.9) -> pd.DataFrame:
    return pd.DataFrame({"left_id": [f"b{i}" for i in range(len(probabilities))], "right_id": [f"a{i}" for i in range(len(probabilities))],
                         "match_probability": probabilities, "threshold": threshold,
                         "left_record": json.dumps({"name": "Ann"}), "right_record": json.dumps({"name": "Anne"})})


def _labels(pairs: list[str], labels: list[str], at: datetime = AT, domain: str = "customer") -> pd.DataFrame:
    return pd.DataFrame({"domain": domain, "pair_id": pairs, "left_id": "x", "right_id": "y", "label": labels,
                         "labelled_by": "steward", "labelled_at": at, "note": ""})


def test_pair_ids_are_stable_whatever_side_a_record_is_on():
    assert pair_id("customer", "b", "a") == pair_id("customer", "a", "b") == "customer:a|b"


def test_the_queue_holds_the_unlabelled_pairs_closest_to_each_domains_threshold():
    customers, products = _scored([0.5, 0.89, 0.999, 0.91]), _scored([0.2, 0.6], threshold=0.6)
    labels = _labels([pair_id("customer", "b1", "a1"), pair_id("customer", "b3", "a3")], ["match", "unsure"])
    queue = review_queue({"customer": customers, "product": products}, labels, size=2)
    assert list(queue.columns) == list(QUEUE_COLUMNS)
    assert queue[queue.domain == "customer"].left_id.tolist() == ["b3", "b0"]  # b1 labelled; unsure b3 comes back first
    assert queue[queue.domain == "product"].left_id.tolist() == ["b1", "b0"]
    assert review_queue({}, None).empty and list(review_queue({}, None).columns) == list(QUEUE_COLUMNS)
    with pytest.raises(ValueError, match="lack column"):
        review_queue({"customer": customers.drop(columns=["threshold"])})
    with pytest.raises(ValueError, match="unknown review domain"):
        review_queue({"supplier": customers})


def test_labels_record_who_and_when_and_only_known_labels():
    queue = review_queue({"customer": _scored([0.9])})
    rows = label_rows(queue, ["match"], "ann", AT, ["same person"])
    assert list(rows.columns) == list(LABEL_COLUMNS)
    assert rows.iloc[0][["label", "labelled_by", "note"]].tolist() == ["match", "ann", "same person"]
    with pytest.raises(ValueError, match="unknown label"):
        label_rows(queue, ["maybe"], "ann", AT)
    with pytest.raises(ValueError, match="who"):
        label_rows(queue, ["match"], "", AT)


def test_the_latest_label_is_in_force_and_accuracy_comes_from_labels():
    later = datetime(2026, 11, 2, tzinfo=UTC)
    labels = pd.concat([_labels(["p1", "p2", "p3", "p4"], ["match", "match", "non_match", "unsure"]),
                        _labels(["p2"], ["non_match"], at=later), _labels(["q1"], ["match"], domain="product")])
    assert latest_labels(labels).set_index("pair_id").loc["p2", "label"] == "non_match"
    predicted = pd.DataFrame({"pair_id": ["p1", "p2", "p3", "p4"], "predicted_match": [True, True, False, True]})
    figures = accuracy_from_labels(predicted, labels, "customer")
    assert figures["labels"] == 4 and figures["unsure"] == 1 and figures["decisive_labels_scored"] == 3
    assert (figures["precision"], figures["recall"]) == (0.5, 1.0) and figures["f1"] == pytest.approx(2 / 3)
    nothing_joined = accuracy_from_labels(predicted.assign(predicted_match=False), labels, "customer")
    assert nothing_joined["precision"] is None and nothing_joined["recall"] == 0.0  # undefined, never 1.0
    assert accuracy_from_labels(predicted, labels.iloc[0:0], "customer")["precision"] is None


def test_labels_choose_the_lowest_threshold_with_the_precision_once_there_are_enough():
    labelled = pd.DataFrame({"match_probability": [0.55] * 5 + [0.75] * 30, "label": ["non_match"] * 5 + ["match"] * 30})
    threshold, reason = threshold_from_labels(labelled, (0.5, 0.7, 0.9), target=0.99, minimum=20)
    assert threshold == 0.7 and "30 labelled pairs" in reason
    assert threshold_from_labels(labelled.head(10), (0.5, 0.7), 0.99, minimum=20) is None  # too few to decide
    only_high = labelled.tail(30)  # nobody looked at scores below 0.75: 0.5 is not chosen on their word
    assert threshold_from_labels(only_high, (0.5, 0.7, 0.9), 0.99, minimum=20)[0] == 0.7


def test_a_terminal_session_labels_skips_and_quits():
    queue = review_queue({"customer": _scored([0.9, 0.8, 0.7])})
    answers = iter(["x", "m", "looks the same", "s", "q"])
    said = []
    labels = review_session(queue, "ann", lambda: AT, ask=lambda _prompt: next(answers), say=said.append)
    assert labels[["left_id", "label", "labelled_by", "note"]].values.tolist() == [["b0", "match", "ann", "looks the same"]]
    assert any("answer m, n, u, s or q" in line for line in said) and any("≠ name" in line for line in said)
    assert review_session(queue, "ann", lambda: AT, ask=lambda _p: "q", say=said.append).empty
