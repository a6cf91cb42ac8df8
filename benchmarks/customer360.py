"""Customer-360: customer records per second through the whole customer-360 build on the large sample
(person records, Splink training, match evidence, identity, golden record, 360 profile: the zone's
assets materialized by Dagster), and Splink's time on the Spark backend next to its DuckDB backend on
the same records with the same settings in the same run, with the pairwise and B-cubed F1 of each.

The raw and clean zones come from the shared large hub (benchmarks.common.clean_hub); the curated zone
the profile reads is built there if missing (the curated_zone benchmark builds it too).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pyarrow as pa

from benchmarks.common import Report, clean_hub, hub_home, materialization_metadata, timed
from hub_platform.defs.customer360.identity.clusters import assign_customer_ids, cluster_records
from hub_platform.defs.customer360.identity.evaluation import Evaluation, evaluate, truth_by_record
from hub_platform.defs.customer360.identity.model import Backend, linkage_api, predict_pairs, train_model
from hub_platform.lib.lake.store import Lake, Location
from hub_platform.serving.cli import materialize

SPLINK_STEPS = ("train", "predict", "cluster")


def _resolve(records: pa.Table, backend: Backend, seconds: dict[str, float]) -> tuple[pd.DataFrame, pa.Table]:
    """Train, predict and cluster on ``backend``; fills ``seconds`` per step (training's own steps as
    ``train: <step>``); clusters and evidence."""
    api = linkage_api(backend)
    steps = {name: timed() for name in SPLINK_STEPS}
    with steps["train"].running():
        training = train_model(records, api)
    with steps["predict"].running():
        evidence = predict_pairs(records, training.model, training.plan, api)
    with steps["cluster"].running():
        clusters = cluster_records(records["record_id"], evidence, training.threshold, api)
    seconds.update({name: watch.seconds for name, watch in steps.items()})
    seconds.update({f"train: {step}": value for step, value in training.seconds.items()})
    return clusters, evidence


def _scores(evaluation: Evaluation) -> str:
    return (f"pairwise P {evaluation.pairwise.precision:.4f} R {evaluation.pairwise.recall:.4f} "
            f"F1 {evaluation.pairwise.f1:.4f} | B-cubed F1 {evaluation.bcubed.f1:.4f}")


def run(scale: str = "large") -> Report:
    report = Report("customer360" if scale == "large" else f"customer360_{scale}")
    home = clean_hub(scale)
    lake = Lake(Location(str(home / "lake")))
    truth = truth_by_record(pd.read_csv(home / "truth" / "persons.csv"))
    with hub_home(home):
        if not lake.has_table("curated", "sales_order"):
            materialize(["group:curated"], raise_on_error=True)
        shutil.rmtree(home / "lake" / "customer360", ignore_errors=True)  # the whole build, training included
        build = timed()
        with build.running():
            result = materialize(["group:customer360"], raise_on_error=True)
    records = lake.read("customer360", "person_records")
    customers = lake.read("customer360", "golden_record").num_rows
    report.add("whole customer-360 build (one Dagster run), Splink on Spark",
               f"{records.num_rows / build.seconds:10,.0f} records/s  ({build.seconds:.1f} s, {records.num_rows:,} records, "
               f"{customers:,} customers)")
    for event in result.all_events:
        if event.is_step_success:
            report.add(f"  {event.step_key}", f"{event.event_specific_data.duration_ms / 1000:8.1f} s")
    # what the generated settings and the derived prior cost, inside match_model's training
    for step, seconds in materialization_metadata(result)["customer360/match_model"]["training_seconds"].items():
        report.add(f"    match_model: {step}", f"{seconds:8.1f} s")
    assignment = lake.read("customer360", "identity").to_pandas()
    report.add("accuracy of the build", _scores(evaluate(assignment, truth)))

    for label, figure in _compare_backends(home).items():
        report.add(label, figure)
    report.save()
    return report


def _compare_backends(home: Path) -> dict[str, str]:
    """Splink on Spark next to DuckDB, measured in a fresh process (a fresh JVM: the Dagster run before
    it leaves Spark warmed up and its memory used, which would flatter or sink the comparison)."""
    result = subprocess.run([sys.executable, "-m", "benchmarks.customer360", "--compare", str(home)],
                            check=True, capture_output=True, text=True)
    return json.loads(result.stdout.strip().splitlines()[-1])


def compare(home: Path) -> dict[str, str]:
    lake = Lake(Location(str(home / "lake")))
    records = lake.read("customer360", "person_records")
    truth = truth_by_record(pd.read_csv(home / "truth" / "persons.csv"))
    spark_seconds: dict[str, float] = {}
    duckdb_seconds: dict[str, float] = {}
    spark_clusters, spark_evidence = _resolve(records, "spark", spark_seconds)
    duckdb_clusters, duckdb_evidence = _resolve(records, "duckdb", duckdb_seconds)
    spark_splink, duckdb_splink = (sum(seconds[s] for s in SPLINK_STEPS) for seconds in (spark_seconds, duckdb_seconds))
    figures = {
        "Splink train + predict + cluster on Spark": f"{spark_splink:8.1f} s  " + " / ".join(f"{spark_seconds[s]:.1f}" for s in SPLINK_STEPS),
        "Splink train + predict + cluster on DuckDB (reference)": f"{duckdb_splink:8.1f} s  "
        + " / ".join(f"{duckdb_seconds[s]:.1f}" for s in SPLINK_STEPS),
        "Spark / DuckDB time ratio": f"{spark_splink / duckdb_splink:8.1f} x",
        "pairs scored above the evidence floor (Spark / DuckDB)": f"{spark_evidence.num_rows:,} / {duckdb_evidence.num_rows:,}",
    }
    for backend, seconds in (("Spark", spark_seconds), ("DuckDB", duckdb_seconds)):
        figures[f"training steps on {backend} (s)"] = "; ".join(f"{k[7:]} {v:.1f}" for k, v in seconds.items() if k.startswith("train: "))
    for backend, clusters in (("Spark", spark_clusters), ("DuckDB", duckdb_clusters)):
        figures[f"accuracy on {backend}"] = _scores(evaluate(assign_customer_ids(clusters)[0], truth))
    return figures


if __name__ == "__main__":
    if sys.argv[1:2] == ["--compare"]:
        print(json.dumps(compare(Path(sys.argv[2]))))
    else:
        run(*sys.argv[1:2])
