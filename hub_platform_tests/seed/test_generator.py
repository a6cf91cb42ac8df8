"""The sample generator: every source, matching its contract, reproducible, with consistent ground truth."""

import filecmp
import json
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

from hub_platform.seed.generator import generate
from hub_platform.sources.contract import default_registry


def file_columns(path: Path, kind: str) -> set[str]:
    if kind == "parquet":
        return set(pq.read_schema(path).names)
    if kind == "csv":
        return set(path.read_text().splitlines()[0].split(","))
    return set().union(*(json.loads(line) for line in path.read_text().splitlines()[:50]))


@pytest.fixture(scope="module")
def clean_sample(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("seed")
    generate("small", out, seed=11)
    return out


def test_every_source_delivers_files_with_its_contract_columns(clean_sample):
    for name, contract in default_registry().sources.items():
        files = sorted((clean_sample / "landing" / name).iterdir())
        assert files, name
        required = {c.file_column for c in contract.required_columns}
        for path in files[:3]:
            columns = file_columns(path, contract.format.type)
            assert required <= columns, (path, required - columns)
            assert columns <= {c.file_column for c in contract.columns}, path


def test_same_seed_same_bytes_other_seed_other_bytes(clean_sample, tmp_path):
    again = tmp_path / "again"
    generate("small", again, seed=11)
    compared = filecmp.dircmp(clean_sample / "landing", again / "landing")
    assert not compared.left_only and not compared.right_only
    for name in default_registry().sources:
        left, right = clean_sample / "landing" / name, again / "landing" / name
        _match, mismatch, errors = filecmp.cmpfiles(left, right, sorted(p.name for p in left.iterdir()), shallow=False)
        assert not mismatch and not errors, name
    other = tmp_path / "other"
    generate("small", other, seed=12)
    pos = sorted((clean_sample / "landing" / "pos_north").iterdir())[0]
    assert pos.read_bytes() != (other / "landing" / "pos_north" / pos.name).read_bytes()


def test_keys_sort_in_arrival_order_and_truth_is_beside_landing(clean_sample):
    for folder in (clean_sample / "landing").iterdir():
        names = sorted(p.name for p in folder.iterdir())
        stamps = [n.split("_", 1)[0] for n in names]
        assert stamps == sorted(stamps) and all(len(s) == 22 and s.endswith("Z") for s in stamps)
    assert not list((clean_sample / "landing").rglob("*truth*"))
    assert {p.name for p in (clean_sample / "truth").iterdir()} == {"persons.csv", "products.csv", "deliveries.csv", "sales_anomalies.csv"}


def test_truth_is_consistent_with_the_landed_records(clean_sample):
    persons = pd.read_csv(clean_sample / "truth" / "persons.csv")
    loyalty = pd.concat(pd.read_csv(p, dtype=str) for p in (clean_sample / "landing" / "pos_loyalty_members").iterdir())
    assert set(persons[persons.source == "pos_loyalty_members"].record_key) == set(loyalty.loyalty_id)
    sources_per_person = persons.groupby("person_id").source.nunique()
    assert (sources_per_person >= 3).sum() > 10
    products = pd.read_csv(clean_sample / "truth" / "products.csv")
    assert products.groupby("product_id").source.nunique().min() >= 3
    deliveries = pd.read_csv(clean_sample / "truth" / "deliveries.csv")
    assert deliveries.late.any() and not deliveries.late.all()
    assert len(pd.read_csv(clean_sample / "truth" / "sales_anomalies.csv")) > 0


def test_households_share_an_address_but_are_different_people(clean_sample):
    crm = pd.concat(pd.read_json(p, lines=True, dtype=False) for p in (clean_sample / "landing" / "crm_contacts").iterdir())
    truth = pd.read_csv(clean_sample / "truth" / "persons.csv").query("source == 'crm_contacts'")
    joined = crm.drop_duplicates("contact_id").merge(truth, left_on="contact_id", right_on="record_key")
    shared = joined.groupby(["street", "postcode"]).person_id.nunique()
    assert (shared > 1).any()


def test_faults_only_when_asked(clean_sample, small_sample):
    faults = pd.read_csv(small_sample / "truth" / "faults.csv")
    assert set(faults.fault) == {"malformed rows", "bad encoding", "truncated file", "duplicate delivery",
                                 "unexpected column", "missing required column"}
    for key in faults.landing_key:
        assert (small_sample / "landing" / key).exists()
    assert not (clean_sample / "truth" / "faults.csv").exists()


def test_unknown_scale_is_refused(tmp_path):
    with pytest.raises(ValueError, match="unknown scale 'huge'"):
        generate("huge", tmp_path)
