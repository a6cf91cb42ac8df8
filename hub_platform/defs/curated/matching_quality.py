"""How well product matching did: against the sample generator's ground truth when it lies beside the
lake, else against a steward's labels from the review queue, else not at all (and the metadata says so).

Truth, pairwise: two codes the hub puts in one product are a predicted pair; two codes of one true
product are a true pair. Precision is the share of predicted pairs that are true, recall the share
of true pairs found; per code type, the share of codes linked to their true product. Only codes both
sides know are compared.

Labels: each labelled pair (a product and a code) the hub links is a predicted match; precision is
the share of those a steward called a match, recall the share of the steward's matches the hub
links. Labels are asked for near the threshold, so these figures describe the hard pairs, not all.

Precision is undefined (None), not 1.0, when nothing is linked: a matcher that links nothing has not
shown it is precise.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import dagster as dg
import numpy as np
import pandas as pd
import pyarrow as pa

from hub_platform.defs.review.accuracy import accuracy_from_labels
from hub_platform.lib.lake.store import Location

TRUTH_FILE = "products.csv"
REVIEW_DOMAIN = "product"


@dataclass(frozen=True)
class MatchingQuality:
    basis: str  # "ground truth" or "steward labels"
    precision: float | None
    recall: float | None
    f1: float | None
    compared: int
    linked_correctly_by_type: dict[str, float]

    def metadata(self) -> dict[str, dg.MetadataValue]:
        def figure(value: float | None) -> dg.MetadataValue:
            return dg.MetadataValue.float(round(value, 4)) if value is not None else dg.MetadataValue.text("undefined")

        return {
            "matching_quality_basis": dg.MetadataValue.text(self.basis),
            "matching_precision": figure(self.precision),
            "matching_recall": figure(self.recall),
            "matching_f1": figure(self.f1),
            ("codes_compared_with_truth" if self.basis == "ground truth" else "labelled_pairs_compared"): self.compared,
            **({"linked_correctly_by_code_type": dg.MetadataValue.json(self.linked_correctly_by_type)}
               if self.linked_correctly_by_type else {}),
        }


def _scores(hits: int, predicted: int, actual: int) -> tuple[float | None, float | None, float | None]:
    precision = hits / predicted if predicted else None
    recall = hits / actual if actual else None
    if precision is None or recall is None:
        return precision, recall, None
    return precision, recall, (2 * precision * recall / (precision + recall) if hits else 0.0)


def _pairs_within(groups: pd.Series) -> int:
    sizes = groups.value_counts().to_numpy(dtype=np.int64)
    return int((sizes * (sizes - 1) // 2).sum())


def pairwise_quality(predicted: pd.DataFrame, truth: pd.DataFrame) -> MatchingQuality:
    """``predicted``: code, code_type, product_id. ``truth``: code, product_id (true product)."""
    both = predicted.merge(truth.rename(columns={"product_id": "true_id"}), on="code")
    hits = _pairs_within(both.product_id + "\x00" + both.true_id)
    precision, recall, f1 = _scores(hits, _pairs_within(both.product_id), _pairs_within(both.true_id))
    # the true product of each code, named by the product most of its codes were put in
    majority = both.groupby("true_id").product_id.agg(lambda ids: ids.value_counts().index[0])
    both["correct"] = both.product_id == both.true_id.map(majority)
    by_type = both.groupby("code_type").correct.mean().round(4).to_dict()
    return MatchingQuality("ground truth", precision, recall, f1, len(both), by_type)


def label_quality(linked: pd.DataFrame, labels: pd.DataFrame) -> MatchingQuality | None:
    """Figures from the stewards' labels of product pairs (review/labels rows), by the review queue's one
    accuracy function: a labelled pair is predicted a match when the hub links its product and code
    (``linked``: left_id, right_id). None when no pair was labelled match or non_match."""
    hub_links = set(zip(linked.left_id, linked.right_id, strict=True))
    own = labels[labels.domain == REVIEW_DOMAIN]
    predicted = pd.DataFrame({"pair_id": own.pair_id, "predicted_match": [
        (a, b) in hub_links or (b, a) in hub_links for a, b in zip(own.left_id, own.right_id, strict=True)]})
    figures = accuracy_from_labels(predicted, labels, REVIEW_DOMAIN)
    if not figures["decisive_labels_scored"]:
        return None
    return MatchingQuality("steward labels", figures["precision"], figures["recall"], figures["f1"],
                           figures["decisive_labels_scored"], {})


def matching_quality(xref: pa.Table, truth: Location) -> MatchingQuality | None:
    """Figures against the ground truth beside the lake, or None where there is none."""
    if not truth.exists(TRUTH_FILE):
        return None
    true_products = pd.read_csv(io.BytesIO(truth.read_bytes(TRUTH_FILE)), dtype=str)[["code", "product_id"]].drop_duplicates()
    return pairwise_quality(xref.select(["code", "code_type", "product_id"]).to_pandas(), true_products)
