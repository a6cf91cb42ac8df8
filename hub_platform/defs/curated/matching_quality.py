"""How well product matching did, against the sample generator's ground truth (read from beside the lake).

Pairwise: two codes the hub puts in one product are a predicted pair; two codes of one true product
are a true pair. Precision is the share of predicted pairs that are true, recall the share of true
pairs found. Per code type, the share of codes linked to their true product. Only codes both sides
know are compared; a lake with no ground truth beside it (real data) simply has no figures.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import dagster as dg
import pandas as pd
import pyarrow as pa

from hub_platform.defs.customer360.identity.evaluation import evaluate
from hub_platform.lib.lake.store import Location

TRUTH_FILE = "products.csv"


@dataclass(frozen=True)
class MatchingQuality:
    precision: float
    recall: float
    f1: float
    codes_compared: int
    linked_correctly_by_type: dict[str, float]

    def metadata(self) -> dict[str, dg.MetadataValue]:
        return {
            "matching_precision": dg.MetadataValue.float(round(self.precision, 4)),
            "matching_recall": dg.MetadataValue.float(round(self.recall, 4)),
            "matching_f1": dg.MetadataValue.float(round(self.f1, 4)),
            "codes_compared_with_truth": self.codes_compared,
            "linked_correctly_by_code_type": dg.MetadataValue.json(self.linked_correctly_by_type),
        }


def pairwise_quality(predicted: pd.DataFrame, truth: pd.DataFrame) -> MatchingQuality:
    """``predicted``: code, code_type, product_id. ``truth``: code, product_id (true product)."""
    both = predicted.merge(truth.rename(columns={"product_id": "true_id"}), on="code")
    # the same pairwise scoring as identity resolution: each code is a record, each product a cluster
    records = both.assign(record_id=range(len(both)), person_id=both.true_id)
    pairwise = evaluate(records, records, cluster_column="product_id").pairwise
    # the true product of each code, named by the code the truth gives its ERP record (its SKU)
    majority = both.groupby("true_id").product_id.agg(lambda ids: ids.value_counts().index[0])
    both["correct"] = both.product_id == both.true_id.map(majority)
    by_type = both.groupby("code_type").correct.mean().round(4).to_dict()
    return MatchingQuality(pairwise.precision, pairwise.recall, pairwise.f1, len(both), by_type)


def matching_quality(xref: pa.Table, truth: Location) -> MatchingQuality | None:
    """Figures for the cross-reference, or None where no ground truth lies beside the lake."""
    if not truth.exists(TRUTH_FILE):
        return None
    true_products = pd.read_csv(io.BytesIO(truth.read_bytes(TRUTH_FILE)), dtype=str)[["code", "product_id"]].drop_duplicates()
    return pairwise_quality(xref.select(["code", "code_type", "product_id"]).to_pandas(), true_products)
