"""review/queue materialized by Dagster from a domain's scored pairs and the labels so far."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import dagster as dg
import pandas as pd
import pyarrow as pa

from hub_platform.defs.review.assets import review_assets
from hub_platform.defs.review.queue import pair_id
from hub_platform.lib.resources import build_resources


def test_the_queue_asset_leaves_out_labelled_pairs_and_reads_domains_that_exist(hub_home):
    lake = build_resources()["storage"].lake()
    scored = pd.DataFrame({"left_id": ["a", "c"], "right_id": ["b", "d"], "match_probability": [0.95, 0.4], "threshold": 0.9,
                           "left_record": json.dumps({"name": "Ann"}), "right_record": json.dumps({"name": "Anne"})})
    lake.write(pa.Table.from_pandas(scored), "customer360", "review_pairs", mode="overwrite")
    labels = pd.DataFrame({"domain": ["customer"], "pair_id": [pair_id("customer", "a", "b")], "left_id": ["a"], "right_id": ["b"],
                           "label": ["match"], "labelled_by": ["ann"], "labelled_at": [datetime(2026, 11, 1, tzinfo=UTC)], "note": [""]})
    lake.write(pa.Table.from_pandas(labels), "review", "labels", mode="overwrite")

    result = dg.materialize(review_assets(), resources=build_resources(), selection=[dg.AssetKey(["review", "queue"])])
    assert result.success
    queue = lake.read("review", "queue").to_pandas()
    assert queue[["domain", "left_id", "right_id"]].values.tolist() == [["customer", "c", "d"]]  # product pairs absent: no crash
    metadata = result.asset_materializations_for_node("review__queue")[0].metadata
    assert metadata["pairs_per_domain"].value == {"customer": 1}


def test_hub_review_labels_the_queue_in_the_terminal_and_appends_to_the_labels_table(hub_home, monkeypatch, capsys):
    from hub_platform.defs.review.queue import review_queue
    from hub_platform.serving.cli import main

    lake = build_resources()["storage"].lake()
    assert main(["review"]) == 2 and "no review queue yet" in capsys.readouterr().err
    scored = pd.DataFrame({"left_id": ["a", "c"], "right_id": ["b", "d"], "match_probability": [0.95, 0.4], "threshold": 0.9,
                           "left_record": json.dumps({"name": "Ann"}), "right_record": json.dumps({"name": "Bob"})})
    lake.write(pa.Table.from_pandas(review_queue({"customer": scored})), "review", "queue", mode="overwrite")
    answers = iter(["n", "", "q"])
    monkeypatch.setattr("builtins.input", lambda _prompt: next(answers))
    assert main(["review", "--by", "ann"]) == 0
    labels = lake.read("review", "labels").to_pandas()
    assert labels[["pair_id", "label", "labelled_by"]].values.tolist() == [[pair_id("customer", "a", "b"), "non_match", "ann"]]
    assert "1 label(s) saved" in capsys.readouterr().out
