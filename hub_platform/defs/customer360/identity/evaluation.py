"""How good the resolution is, against ground truth: pairwise and B-cubed precision, recall and F1.

Both are computed from the contingency table of (predicted cluster, true person) counts, so no pair is
ever enumerated (the large sample has millions of true pairs):

- pairwise: every pair of records in one predicted cluster is a predicted match (clusters are the
  transitive closure of the accepted edges, so this scores what customers actually are); a true
  match is a pair of records of one person. precision = TP / predicted pairs, recall = TP / true pairs.
- B-cubed (Bagga & Baldwin 1998): per record, precision is the share of its cluster that is the same
  person, recall the share of its person that is in its cluster; both averaged over records. Unlike
  pairwise scores, large clusters do not dominate, so it shows whether errors are many small ones.

Only records present in both the prediction and the truth are scored (a deleted CRM contact is in
the truth but not in the clean zone); how many were left out is reported.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class Scores:
    """None where a figure is undefined: precision with nothing predicted, recall with nothing to find
    (a matcher that links nothing must not look perfect on precision)."""

    precision: float | None
    recall: float | None
    f1: float | None


@dataclass(frozen=True)
class Evaluation:
    pairwise: Scores
    bcubed: Scores
    records_scored: int
    records_without_truth: int
    true_pairs: int
    predicted_pairs: int
    true_positive_pairs: int

    def as_dict(self) -> dict[str, float | int]:
        """Flat figures for run metadata and reports."""
        flat: dict[str, float | int] = {f"pairwise_{k}": v for k, v in asdict(self.pairwise).items()}
        flat.update({f"bcubed_{k}": v for k, v in asdict(self.bcubed).items()})
        flat.update(records_scored=self.records_scored, records_without_truth=self.records_without_truth,
                    true_pairs=self.true_pairs, predicted_pairs=self.predicted_pairs,
                    true_positive_pairs=self.true_positive_pairs)
        return flat


def truth_by_record(persons: pd.DataFrame) -> pd.DataFrame:
    """The generator's persons.csv (source, record_key, person_id) keyed like person records."""
    return pd.DataFrame({"record_id": persons["source"].astype(str) + ":" + persons["record_key"].astype(str),
                         "person_id": persons["person_id"].astype(str)})


def _f1(precision: float | None, recall: float | None) -> float | None:
    if precision is None or recall is None:
        return None
    return 0.0 if precision + recall == 0 else 2 * precision * recall / (precision + recall)


def _pairs(counts: np.ndarray) -> int:
    counts = counts.astype(np.int64)
    return int((counts * (counts - 1) // 2).sum())


def evaluate(predicted: pd.DataFrame, truth: pd.DataFrame, cluster_column: str = "customer_id") -> Evaluation:
    """Score ``predicted`` (record_id, ``cluster_column``) against ``truth`` (record_id, person_id)."""
    scored = predicted[["record_id", cluster_column]].merge(truth[["record_id", "person_id"]], on="record_id")
    contingency = scored.groupby([cluster_column, "person_id"]).size().rename("n").reset_index()
    cluster_size = contingency.groupby(cluster_column)["n"].transform("sum").to_numpy(dtype=float)
    person_size = contingency.groupby("person_id")["n"].transform("sum").to_numpy(dtype=float)
    n = contingency["n"].to_numpy(dtype=float)

    true_positive = _pairs(contingency["n"].to_numpy())
    predicted_pairs = _pairs(contingency.groupby(cluster_column)["n"].sum().to_numpy())
    true_pairs = _pairs(contingency.groupby("person_id")["n"].sum().to_numpy())
    pair_precision = true_positive / predicted_pairs if predicted_pairs else None
    pair_recall = true_positive / true_pairs if true_pairs else None

    records = len(scored)
    b3_precision = float((n * n / cluster_size).sum() / records) if records else None
    b3_recall = float((n * n / person_size).sum() / records) if records else None
    return Evaluation(
        pairwise=Scores(pair_precision, pair_recall, _f1(pair_precision, pair_recall)),
        bcubed=Scores(b3_precision, b3_recall, _f1(b3_precision, b3_recall)),
        records_scored=records,
        records_without_truth=int((~predicted["record_id"].isin(truth["record_id"])).sum()),
        true_pairs=true_pairs,
        predicted_pairs=predicted_pairs,
        true_positive_pairs=true_positive,
    )
