"""Accuracy from stewards' labels, where no ground truth exists: one pure function every domain calls.

Labels are taken on near-threshold pairs (the review queue), so the figures describe the pairs a
model finds hard, not a random sample: precision there is a lower bound on precision overall (easy
pairs far above the threshold are almost all right), and recall is the share of labelled matches the
domain joined. The figures say how many labels they rest on; with none they are undefined (None),
never 1.0.
"""

from __future__ import annotations

import pandas as pd

MIN_LABELS_FOR_THRESHOLD = 20  # decisive labels at or above a candidate threshold before labels choose it


def latest_labels(labels: pd.DataFrame) -> pd.DataFrame:
    """The label in force per (domain, pair_id): the latest one given."""
    ordered = labels.sort_values(["labelled_at"], kind="stable")
    return ordered.drop_duplicates(["domain", "pair_id"], keep="last").reset_index(drop=True)


def accuracy_from_labels(predicted: pd.DataFrame, labels: pd.DataFrame, domain: str) -> dict[str, float | int | None]:
    """Precision, recall estimate and F1 of ``predicted`` (pair_id, predicted_match: bool) against the
    domain's labels in force; unsure labels and pairs the domain no longer scores are left out."""
    latest = latest_labels(labels[labels["domain"] == domain]) if len(labels) else labels
    decisive = latest[latest["label"].isin(["match", "non_match"])] if len(latest) else latest
    scored = decisive.merge(predicted[["pair_id", "predicted_match"]], on="pair_id") if len(decisive) else pd.DataFrame(
        columns=["label", "predicted_match"])
    is_match = scored["label"] == "match"
    joined = scored["predicted_match"].astype(bool)
    true_positive = int((is_match & joined).sum())
    precision = true_positive / int(joined.sum()) if joined.any() else None
    recall = true_positive / int(is_match.sum()) if is_match.any() else None
    f1 = (2 * precision * recall / (precision + recall) if precision is not None and recall is not None and precision + recall
          else None)
    return {"labels": len(latest), "decisive_labels_scored": len(scored), "labelled_matches": int(is_match.sum()),
            "labelled_non_matches": int((~is_match).sum()), "unsure": int((latest["label"] == "unsure").sum()) if len(latest) else 0,
            "precision": precision, "recall": recall, "f1": f1}


def threshold_from_labels(labelled: pd.DataFrame, grid: tuple[float, ...], target: float,
                          minimum: int = MIN_LABELS_FOR_THRESHOLD) -> tuple[float, str] | None:
    """The lowest grid value at which labelled precision (labelled matches among decisive labelled pairs
    scored at or above it) reaches ``target``, resting on at least ``minimum`` labels; None when labels
    cannot decide. A grid value with no labelled pair between it and the next is passed over: labels
    cannot speak for scores nobody looked at. ``labelled``: match_probability, label."""
    decisive = labelled[labelled["label"].isin(["match", "non_match"])]
    bounds = [*grid[1:], float("inf")]
    for threshold, upper in zip(grid, bounds, strict=True):
        above = decisive[decisive["match_probability"] >= threshold]
        if len(above) < minimum:
            return None
        if not (above["match_probability"] < upper).any():
            continue
        precision = float((above["label"] == "match").mean())
        if precision >= target:
            return threshold, (f"lowest of {list(grid)} at which the stewards' labels give precision >= {target}: "
                               f"{precision:.4f} on {len(above)} labelled pairs at or above it")
    return None
