"""Stable customer ids: reruns, incremental arrival, merges, splits and retirements, all in the history."""

from __future__ import annotations

import pandas as pd
import pyarrow as pa

from hub_platform.defs.customer360.identity.clusters import assign_customer_ids, cluster_records, customer_id_for
from hub_platform.defs.customer360.identity.model import linkage_api


def clusters(*groups: list[str]) -> pd.DataFrame:
    """Clusters as Splink gives them; cluster ids are arbitrary labels (here deliberately unrelated)."""
    return pd.DataFrame([{"record_id": r, "cluster_id": f"k{99 - i}"} for i, group in enumerate(groups) for r in group])


def ids(assignment: pd.DataFrame) -> dict[str, str]:
    return dict(zip(assignment["record_id"], assignment["customer_id"], strict=True))


def events(history: pd.DataFrame) -> list[tuple]:
    return [(r.old_customer_id, r.new_customer_id, r.event, r.records_moved, list(r.record_ids)) for r in history.itertuples()]


def test_first_run_ids_come_from_each_clusters_smallest_record_and_are_reproducible():
    assignment, history = assign_customer_ids(clusters(["b", "a"], ["c"]))
    assert ids(assignment) == {"a": customer_id_for("a"), "b": customer_id_for("a"), "c": customer_id_for("c")}
    relabelled, _ = assign_customer_ids(clusters(["c"], ["a", "b"]))  # other cluster labels, same partition
    assert ids(relabelled) == ids(assignment)
    assert sorted(events(history), key=lambda e: e[4]) == [(None, customer_id_for("a"), "created", 2, ["a", "b"]),
                                                           (None, customer_id_for("c"), "created", 1, ["c"])]


def test_rerunning_on_the_same_data_keeps_every_id_and_records_nothing():
    first, _ = assign_customer_ids(clusters(["a", "b"], ["c"]))
    again, history = assign_customer_ids(clusters(["a", "b"], ["c"]), first)
    assert ids(again) == ids(first) and history.empty


def test_new_records_join_existing_customers_or_create_new_ones():
    first, _ = assign_customer_ids(clusters(["m", "n"], ["x"]))
    # "a" sorts before every old record and joins m/n: the customer keeps its id, nobody is renumbered
    later, history = assign_customer_ids(clusters(["a", "m", "n"], ["x"], ["z"]), first)
    assert ids(later)["a"] == ids(first)["m"] and ids(later)["x"] == ids(first)["x"]
    assert events(history) == [(None, customer_id_for("z"), "created", 1, ["z"])]


def test_a_merge_keeps_the_larger_customers_id_and_records_the_other_as_merged():
    first, _ = assign_customer_ids(clusters(["p", "q"], ["a"]))
    big, small = customer_id_for("p"), customer_id_for("a")
    merged, history = assign_customer_ids(clusters(["a", "p", "q"]), first)
    assert set(ids(merged).values()) == {big}
    assert events(history) == [(small, big, "merged", 1, ["a"])]


def test_a_merge_of_equals_keeps_the_smaller_id():
    first, _ = assign_customer_ids(clusters(["a"], ["b"]))
    kept, gone = sorted([customer_id_for("a"), customer_id_for("b")])
    merged, history = assign_customer_ids(clusters(["a", "b"]), first)
    assert set(ids(merged).values()) == {kept}
    assert events(history)[0][:3] == (gone, kept, "merged")


def test_a_split_keeps_the_id_with_the_larger_part_and_gives_the_rest_a_new_one():
    first, _ = assign_customer_ids(clusters(["a", "b", "c"]))
    old = customer_id_for("a")
    split, history = assign_customer_ids(clusters(["a", "c"], ["b"]), first)
    assert ids(split) == {"a": old, "c": old, "b": customer_id_for("b")}
    assert events(history) == [(old, customer_id_for("b"), "split", 1, ["b"])]


def test_records_moving_to_another_existing_customer_are_a_split_and_vanished_ids_retire():
    first, _ = assign_customer_ids(clusters(["a", "b", "c"], ["x", "y"], ["gone"]))
    a, x, gone = customer_id_for("a"), customer_id_for("x"), customer_id_for("gone")
    later, history = assign_customer_ids(clusters(["a", "b"], ["c", "x", "y"]), first)
    assert ids(later) == {"a": a, "b": a, "c": x, "x": x, "y": x}
    assert events(history) == [(gone, None, "retired", 1, ["gone"]), (a, x, "split", 1, ["c"])]


def test_a_new_id_never_reuses_an_id_that_is_live():
    previous = pd.DataFrame({"record_id": ["r9"], "customer_id": [customer_id_for("r1")]})  # taken by another customer
    assignment, _ = assign_customer_ids(clusters(["r1"], ["r9"]), previous)
    assert ids(assignment) == {"r1": customer_id_for("r1", salt=1), "r9": customer_id_for("r1")}


def test_clustering_joins_pairs_at_or_above_the_threshold_and_keeps_every_record():
    evidence = pa.table({"record_id_l": ["a", "b", "e"], "record_id_r": ["b", "c", "f"],
                         "match_probability": [0.995, 0.5, 0.99]})
    frame = cluster_records(pa.array(["a", "b", "c", "d", "e", "f"]), evidence, 0.99, linkage_api("duckdb"))
    groups = sorted(sorted(g) for g in frame.groupby("cluster_id")["record_id"].agg(list))
    assert groups == [["a", "b"], ["c"], ["d"], ["e", "f"]]
