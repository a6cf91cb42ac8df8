"""Public person sets nobody here generated, as a new user lands them: one contract each (identity roles
declared, a national id and attributes among them; the files byte for byte), the raw and clean zones, person records, then the
hub's generated settings. The hub must reach at least what Splink configured from its own documentation
reaches on the same data (benchmarks/identity_sets.py), measured in the same test.
"""

from __future__ import annotations

import pytest

from benchmarks.identity_sets import DEVDATA, REFERENCE_THRESHOLD, SETS, land, reference_predictions
from hub_platform.defs.customer360.identity.clusters import cluster_records
from hub_platform.defs.customer360.identity.evaluation import evaluate
from hub_platform.defs.customer360.identity.model import linkage_api, predict_pairs, train_model


def _f1(ids, edges, threshold, api, truth) -> float:
    import pyarrow as pa

    clustered = cluster_records(pa.array(ids), edges, threshold, api)
    return evaluate(clustered.rename(columns={"cluster_id": "customer_id"}).astype({"customer_id": str}), truth).pairwise.f1


@pytest.mark.slow
@pytest.mark.parametrize("name", ["febrl1", "febrl2", "febrl4", "fake_1000"])  # febrl4: a link task, two files
def test_the_hub_matches_splinks_documented_configuration_on_public_sets(name, tmp_path):
    if name == "fake_1000" and not (DEVDATA / "fake_1000.csv").exists():
        pytest.skip(f"{DEVDATA} (the shared devdata folder) is absent")
    person_set = SETS[name]()
    records = land(person_set, tmp_path)
    assert records.num_rows == len(person_set.raw)  # every row through raw and clean, none quarantined or lost
    if name != "fake_1000":  # roles no shipped source has reach matching
        assert {"national_id", "attr_state"} <= set(records.column_names)
    api = linkage_api("duckdb")
    description = person_set.description()
    training = train_model(records, api, description)
    assert training.plan.link_type == ("link_only" if name == "febrl4" else "dedupe_only")  # as declared
    truth = person_set.truth(records["record_id"].to_pylist())
    hub = _f1(records["record_id"].to_pylist(), predict_pairs(records, training.model, training.plan, api, description), training.threshold, api, truth)
    edges, ids = reference_predictions(person_set, api)
    reference = _f1(ids, edges, REFERENCE_THRESHOLD, api, truth)
    print(f"{name}: hub F1 {hub:.4f} at {training.threshold}, Splink's documented configuration {reference:.4f}")
    assert hub >= reference
