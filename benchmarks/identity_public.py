"""Identity resolution on public person data it has never seen, next to Splink configured from its own
documentation, in the same run, on Spark and on DuckDB.

Each set (fake_1000, FEBRL 1-3, the FEBRL 4 link task; benchmarks/identity_sets.py) is landed through one
contract per file and the hub's defaults (generated settings, derived prior, the hub's own threshold; FEBRL 4
declares its two files as holding each person once, as matching.yaml's link section does); the reference is
Splink's documented configuration for that set at probability 0.9. Both are scored by the hub's
evaluation: pairwise precision, recall and F1 of the clusters (every pair inside a predicted cluster is
a predicted match) and B-cubed F1 (the cluster F1: per record, how much of its cluster is its person).

    HUB_DEVDATA=../shared/devdata python -m benchmarks.identity_public [duckdb|spark|both] [set ...]
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import pandas as pd

from benchmarks.common import Report, timed
from benchmarks.identity_sets import REFERENCE_THRESHOLD, SETS, land, reference_predictions
from hub_platform.defs.customer360.identity.clusters import cluster_records
from hub_platform.defs.customer360.identity.evaluation import Evaluation, evaluate
from hub_platform.defs.customer360.identity.model import linkage_api, predict_pairs, train_model


def _scores(result: Evaluation) -> str:
    return (f"P {result.pairwise.precision:.4f} R {result.pairwise.recall:.4f} F1 {result.pairwise.f1:.4f} "
            f"| cluster (B-cubed) F1 {result.bcubed.f1:.4f}")


def _evaluate(ids, edges, threshold, api, truth: pd.DataFrame) -> Evaluation:
    import pyarrow as pa

    clustered = cluster_records(pa.array(ids), edges, threshold, api)
    return evaluate(clustered.rename(columns={"cluster_id": "customer_id"}).astype({"customer_id": str}), truth)


def run(backends: tuple[str, ...] = ("duckdb", "spark"), names: list[str] | None = None) -> Report:
    report = Report("identity_public")
    for name in names or SETS:
        person_set = SETS[name]()
        with tempfile.TemporaryDirectory() as home:
            records = land(person_set, Path(home))
        truth = person_set.truth(records["record_id"].to_pylist())
        description = person_set.description()
        report.add(f"{name}: records through contract → raw → clean", f"{records.num_rows:,} of {len(person_set.raw):,}")
        for backend in backends:
            api = linkage_api(backend)
            hub_clock, reference_clock = timed(), timed()
            with hub_clock.running():
                training = train_model(records, api, description)
                evidence = predict_pairs(records, training.model, training.plan, api, description)
                hub = _evaluate(records["record_id"].to_pylist(), evidence, training.threshold, api, truth)
            with reference_clock.running():
                edges, ids = reference_predictions(person_set, api)
                reference = _evaluate(ids, edges, REFERENCE_THRESHOLD, api, truth)
            report.add(f"{name} {backend} hub @ {training.threshold}", f"{_scores(hub)}  ({hub_clock.seconds:.0f} s)")
            report.add(f"{name} {backend} Splink docs @ {REFERENCE_THRESHOLD}", f"{_scores(reference)}  ({reference_clock.seconds:.0f} s)")
            # the threshold's promise (expected precision >= the target, no truth used) beside the precision measured
            report.add(f"{name} {backend} hub threshold reason (match_model metadata)", training.threshold_reason)
            report.add(f"{name} {backend} hub expected vs measured pairwise precision",
                       f"{training.expected_precision:.4f} vs {hub.pairwise.precision:.4f}")
            true_pairs = sum(n * (n - 1) // 2 for n in truth["person_id"].value_counts())
            report.add(f"{name} {backend} hub prior (derived recall {training.derived_recall:.3f})",
                       f"{training.prior:.3g} (true {true_pairs / training.comparable_pairs:.3g})")
            kept = [b["name"] for b in training.plan.blocking if b["kept"]]
            report.add(f"{name} {backend} hub blocking / EM / untrained",
                       f"{len(kept)} rules; EM on {training.em_rules}; untrained levels {sum(map(len, training.untrained.values()))}")
    report.save()
    return report


if __name__ == "__main__":
    choice = sys.argv[1] if len(sys.argv) > 1 else "both"
    run(("duckdb", "spark") if choice == "both" else (choice,), sys.argv[2:] or None)
