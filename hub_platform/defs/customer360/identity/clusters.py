"""Clusters of matched records, and customer ids that stay stable from run to run.

Clustering is Splink's connected components over the pairs at or above the match threshold, on the
same backend as the model. Cluster ids from one run mean nothing in the next, so customers get their
own ids, assigned as a pure function of (current clusters, previous assignment):

- First run: a cluster's id is derived from its smallest record_id (its anchor), so rerunning on the
  same data gives the same ids.
- Later runs: each previous customer id is inherited by the cluster holding most of its records (its
  heir; ties go to the cluster with the smaller anchor). A cluster that is heir of several ids keeps
  the one with most records (ties: the smaller id) and the others are recorded as merged into it; a
  cluster that inherits nothing gets a new id from its anchor. New records therefore join existing
  customers, and a change renumbers only the customers it touches.
- History: every move is one row (old id, new id, event, records moved): ``merged`` (an id's records
  went into a cluster that kept another id), ``split`` (some of an id's records went to another
  cluster), ``created`` (a cluster of only new records) and ``retired`` (every record of an id is gone).

A new id is never one that is live in the previous assignment. An id retired by a merge can come back
if its anchor record later splits off alone again, which is the customer it named.
"""

from __future__ import annotations

import hashlib

import pandas as pd
import pyarrow as pa
from splink.clustering import cluster_pairwise_predictions_at_threshold
from splink.internals.database_api import DatabaseAPI

ID_PREFIX = "CUS-"
HISTORY_COLUMNS = ["old_customer_id", "new_customer_id", "event", "records_moved", "record_ids"]


def cluster_records(record_ids: pa.Array | pa.ChunkedArray, evidence: pa.Table, threshold: float,
                    api: DatabaseAPI) -> pd.DataFrame:
    """Connected components of the pairs with match_probability >= ``threshold``: (record_id, cluster_id).

    Every record is in the output (unmatched ones are clusters of one).
    """
    nodes = pa.table({"record_id": record_ids})
    edges = evidence.select(["record_id_l", "record_id_r", "match_probability"])
    clustered = cluster_pairwise_predictions_at_threshold(
        nodes, edges, api, node_id_column_name="record_id", threshold_match_probability=threshold)
    frame = clustered.as_pyarrow_table().select(["record_id", "cluster_id"]).to_pandas()
    return frame.sort_values("record_id", ignore_index=True)


def customer_id_for(anchor: str, salt: int = 0) -> str:
    """The id a new customer gets from its anchor (smallest record_id); ``salt`` resolves a clash."""
    text = anchor if salt == 0 else f"{anchor}#{salt}"
    return ID_PREFIX + hashlib.sha256(text.encode("utf-8")).hexdigest()[:12].upper()


def assign_customer_ids(clusters: pd.DataFrame, previous: pd.DataFrame | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Stable customer ids for ``clusters`` (record_id, cluster_id) given the ``previous`` assignment.

    Returns the assignment (record_id, customer_id, sorted by record_id) and the history (HISTORY_COLUMNS)
    of what changed since ``previous`` (record_id, customer_id); no previous assignment is a first run.
    """
    current = clusters[["record_id", "cluster_id"]].astype({"record_id": str})
    previous = (previous if previous is not None else pd.DataFrame(columns=["record_id", "customer_id"]))
    previous = previous[["record_id", "customer_id"]].astype(str)
    anchors = current.groupby("cluster_id")["record_id"].min().rename("anchor")

    flows = current.merge(previous, on="record_id")  # records seen before: from which id to which cluster
    moved = (flows.groupby(["customer_id", "cluster_id"], as_index=False)
             .agg(n=("record_id", "size"), record_ids=("record_id", sorted))
             .join(anchors, on="cluster_id"))
    heirs = (moved.sort_values(["customer_id", "n", "anchor"], ascending=[True, False, True])
             .drop_duplicates("customer_id"))
    kept = (heirs.sort_values(["cluster_id", "n", "customer_id"], ascending=[True, False, True])
            .drop_duplicates("cluster_id").set_index("cluster_id")["customer_id"])

    taken = set(previous["customer_id"]) | set(kept)
    final_id: dict[object, str] = kept.to_dict()
    for cluster_id, anchor in anchors.sort_values().items():
        if cluster_id in final_id:
            continue
        salt = 0
        while (candidate := customer_id_for(anchor, salt)) in taken:
            salt += 1
        final_id[cluster_id] = candidate
        taken.add(candidate)

    assignment = pd.DataFrame({"record_id": current["record_id"], "customer_id": current["cluster_id"].map(final_id)})
    assignment = assignment.sort_values("record_id", ignore_index=True)
    return assignment, _history(current, previous, moved, heirs, final_id)


def _history(current: pd.DataFrame, previous: pd.DataFrame, moved: pd.DataFrame, heirs: pd.DataFrame,
             final_id: dict[object, str]) -> pd.DataFrame:
    rows = []
    heir_of = dict(zip(heirs["customer_id"], heirs["cluster_id"], strict=True))
    for flow in moved.itertuples(index=False):
        new_id = final_id[flow.cluster_id]
        if new_id != flow.customer_id:
            event = "merged" if heir_of[flow.customer_id] == flow.cluster_id else "split"
            rows.append((flow.customer_id, new_id, event, flow.n, flow.record_ids))
    gone = previous[~previous["customer_id"].isin(moved["customer_id"])]
    for old_id, ids in gone.groupby("customer_id")["record_id"]:
        rows.append((old_id, None, "retired", len(ids), sorted(ids)))
    known = set(moved["cluster_id"])
    for cluster_id, ids in current.groupby("cluster_id")["record_id"]:
        if cluster_id not in known:
            rows.append((None, final_id[cluster_id], "created", len(ids), sorted(ids)))
    history = pd.DataFrame(rows, columns=HISTORY_COLUMNS)
    history["records_moved"] = history["records_moved"].astype("int64")
    return history.sort_values(["event", "old_customer_id", "new_customer_id"], na_position="first", ignore_index=True)
