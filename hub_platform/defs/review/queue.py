"""The clerical review queue: near-threshold pairs of every matching domain, for a steward to label.

API for a matching domain (customers, products, any later one):

- Publish a *scored-pairs* table with SCORED_PAIR_COLUMNS: ``left_id``, ``right_id`` (the two records,
  any order), ``match_probability`` (the model's), ``threshold`` (the domain's current match
  threshold), ``left_record`` / ``right_record`` (JSON objects of what a person needs to decide:
  names, dates, addresses, titles, prices...). Publish the pairs worth a look, e.g. within a band of
  match weight around the threshold; the queue picks from them.
- The queue (``review_queue``) takes every domain's scored pairs and the labels so far, drops pairs
  already labelled (match or non_match; ``unsure`` pairs come back), and keeps per domain the
  ``size`` pairs closest to the threshold in log-odds: the ones whose label changes most.
- A steward labels queue rows (``label_rows``: who and when are recorded); ``hub review`` does this in
  the terminal and appends to ``review/labels`` (LABEL_COLUMNS). A label is never edited: the latest
  row per (domain, pair_id) is the label (accuracy.latest_labels).
- accuracy.accuracy_from_labels and accuracy.threshold_from_labels turn labels into figures.

``pair_id`` is the domain and the two ids in sorted order, so the same pair keeps its id (and its label)
across runs and whichever side a domain put it on.
"""

from __future__ import annotations

import math
from datetime import datetime

import numpy as np
import pandas as pd

SCORED_PAIR_COLUMNS = ("left_id", "right_id", "match_probability", "threshold", "left_record", "right_record")
QUEUE_COLUMNS = ("domain", "pair_id", "left_id", "right_id", "match_probability", "threshold", "distance",
                 "left_record", "right_record")
LABEL_COLUMNS = ("domain", "pair_id", "left_id", "right_id", "label", "labelled_by", "labelled_at", "note")
LABELS = ("match", "non_match", "unsure")
DOMAINS = ("customer", "product")
QUEUE_SIZE = 200  # per domain: pairs a steward can label in a sitting


def pair_id(domain: str, left_id: str, right_id: str) -> str:
    """A pair's stable id: the domain and both ids, sorted."""
    first, second = sorted((str(left_id), str(right_id)))
    return f"{domain}:{first}|{second}"


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, 1e-9, 1 - 1e-9)
    return np.log(p / (1 - p))


def review_queue(scored: dict[str, pd.DataFrame], labels: pd.DataFrame | None = None, size: int = QUEUE_SIZE) -> pd.DataFrame:
    """The pairs to label next (QUEUE_COLUMNS), per domain the ``size`` closest to its threshold.

    ``scored``: domain -> scored-pairs table; ``labels``: review/labels so far (or None).
    """
    decided = set()
    if labels is not None and len(labels):
        from hub_platform.defs.review.accuracy import latest_labels

        latest = latest_labels(labels)
        decided = set(latest.loc[latest["label"] != "unsure", "pair_id"])
    parts = []
    for domain, pairs in scored.items():
        if domain not in DOMAINS:
            raise ValueError(f"unknown review domain {domain!r}; use one of {', '.join(DOMAINS)}")
        missing = [c for c in SCORED_PAIR_COLUMNS if c not in pairs.columns]
        if missing:
            raise ValueError(f"{domain} scored pairs lack column(s) {missing}; a scored-pairs table has {SCORED_PAIR_COLUMNS}")
        if not len(pairs):
            continue
        frame = pairs[list(SCORED_PAIR_COLUMNS)].copy()
        frame.insert(0, "domain", domain)
        frame.insert(1, "pair_id", [pair_id(domain, a, b) for a, b in zip(frame.left_id, frame.right_id, strict=True)])
        frame = frame[~frame.pair_id.isin(decided)].drop_duplicates("pair_id")
        frame["distance"] = np.abs(_logit(frame.match_probability.to_numpy(float)) - _logit(frame.threshold.to_numpy(float)))
        parts.append(frame.sort_values(["distance", "pair_id"]).head(size))
    if not parts:
        return pd.DataFrame({c: pd.Series(dtype="float64" if c in ("match_probability", "threshold", "distance") else "string")
                             for c in QUEUE_COLUMNS})
    return pd.concat(parts, ignore_index=True)[list(QUEUE_COLUMNS)]


def label_rows(queue_rows: pd.DataFrame, labels: list[str], labelled_by: str, labelled_at: datetime,
               notes: list[str] | None = None) -> pd.DataFrame:
    """Label rows (LABEL_COLUMNS) for queue rows, one label each; raises on a label not in LABELS."""
    bad = sorted({label for label in labels if label not in LABELS})
    if bad:
        raise ValueError(f"unknown label(s) {bad}; use one of {', '.join(LABELS)}")
    if not labelled_by:
        raise ValueError("a label needs who gave it (labelled_by)")
    if len(labels) != len(queue_rows):
        raise ValueError(f"{len(labels)} labels for {len(queue_rows)} pairs")
    return pd.DataFrame({
        "domain": queue_rows["domain"].to_numpy(), "pair_id": queue_rows["pair_id"].to_numpy(),
        "left_id": queue_rows["left_id"].to_numpy(), "right_id": queue_rows["right_id"].to_numpy(),
        "label": labels, "labelled_by": labelled_by, "labelled_at": pd.Timestamp(labelled_at),
        "note": notes if notes is not None else [""] * len(labels),
    })


def weight_of(probability: float) -> float:
    """Match weight (log2 odds) of a probability: how far apart two scores are for a person."""
    p = min(max(probability, 1e-12), 1 - 1e-12)
    return math.log2(p / (1 - p))
