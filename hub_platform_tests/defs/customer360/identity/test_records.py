"""Person records from clean feeds: picked by contract entity, one schema, lineage and derived keys."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pandas as pd
import pyarrow as pa
import pytest

from hub_platform.defs.customer360.identity.records import RECORD_SCHEMA, match_columns, person_feeds, person_records
from hub_platform.sources.contract import ContractError, default_registry, load_registry, parse_contract

RECEIVED = datetime(2026, 6, 1, tzinfo=UTC)

CLUB_CONTRACT = """
name: club_members
description: test person source of a new feed
system: pos
feed: club_members
entity: customer
format: {type: csv}
keys: [club, member_no]
columns:
  - {name: club, type: string, required: true}
  - {name: member_no, type: string, required: true}
  - {name: first_name, type: string, standardize: name}
  - {name: joined_at, type: timestamp}
"""


def test_person_feeds_are_the_feeds_of_customer_and_contact_contracts(tmp_path):
    assert set(person_feeds(default_registry())) == {"crm_contacts", "loyalty_members", "app_signups", "contact_center_calls"}
    (tmp_path / "club_members.yaml").write_text(CLUB_CONTRACT)
    (tmp_path / "pos_north.yaml").write_text(default_registry().sources["pos_north"].model_dump_json(exclude_none=True, by_alias=True))
    assert set(person_feeds(load_registry(tmp_path))) == {"club_members"}  # a new person source is picked up


def _signups() -> pd.DataFrame:
    return pd.DataFrame({
        "user_id": ["U1", "M1"], "_source": ["web_signups", "mobile_signups"],
        "first_name": ["Bob", "Jörg"], "first_name_key": ["bob", "jorg"], "last_name": ["Smith", "Braun"],
        "last_name_key": ["smith", "braun"], "email": ["bob.smith12tag@x.example", None],
        "email_key": ["bob.smith12tag@x.example", None], "phone": ["+4470001", None], "dob": [date(1980, 1, 2), None],
        "street": ["1 High St", None], "street_key": ["1 high st", None], "postcode": ["LS1 4DY", None],
        "city": ["Leeds", None], "country": ["GB", "DE"], "marketing_consent": [True, False],
        "signup_ts": pd.to_datetime(["2026-01-05 10:00", "2026-02-01 08:00"], utc=True),
        "_received_at": [RECEIVED, RECEIVED],
    })


def _calls() -> pd.DataFrame:
    return pd.DataFrame({
        "call_id": ["K1"], "_source": ["contact_center_calls"], "first_name": ["Robert"], "first_name_key": ["robert"],
        "last_name": ["Smith"], "last_name_key": ["smith"], "email": [None], "email_key": [None], "phone": ["+4470001"],
        "postcode": ["LS1 4DY"], "country": ["GB"], "started_at": pd.to_datetime(["2026-03-01 12:00"], utc=True),
        "_received_at": [RECEIVED],
    })


def test_records_from_several_sources_share_one_schema_with_missing_columns_null():
    registry = default_registry()
    contracts = [registry.sources[s] for s in ("web_signups", "mobile_signups", "contact_center_calls", "crm_contacts")]
    records = person_records({"app_signups": _signups(), "contact_center_calls": _calls()}, contracts)
    assert records.schema == RECORD_SCHEMA.append(pa.field("city_key", pa.string()))  # city: a declared role
    rows = {r["record_id"]: r for r in records.to_pylist()}
    assert list(rows) == ["contact_center_calls:K1", "mobile_signups:M1", "web_signups:U1"]  # crm had no table: skipped
    bob, call = rows["web_signups:U1"], rows["contact_center_calls:K1"]
    assert (bob["source"], bob["system"], bob["record_key"]) == ("web_signups", "web", "U1")
    assert bob["first_name_canonical"] == "robert" and call["first_name_canonical"] == "robert"
    assert bob["email_digits"] == "12" and rows["mobile_signups:M1"]["email_digits"] is None
    assert bob["email_mailbox"] == "bob.smith12tag" and rows["mobile_signups:M1"]["email_mailbox"] is None
    assert bob["observed_at"] == datetime(2026, 1, 5, 10, tzinfo=UTC) and bob["consent"] is True
    assert call["dob"] is None and call["street"] is None and call["consent"] is None
    assert call["observed_at"] == datetime(2026, 3, 1, 12, tzinfo=UTC)


def test_composite_keys_and_sources_without_timestamps_fall_back_to_lineage(tmp_path):
    (tmp_path / "club_members.yaml").write_text(CLUB_CONTRACT.replace("  - {name: joined_at, type: timestamp}\n", ""))
    contract = load_registry(tmp_path).sources["club_members"]
    clean = pd.DataFrame({"club": ["north"], "member_no": ["7"], "_source": ["club_members"], "first_name": ["Ann"],
                          "_received_at": [RECEIVED]})
    (row,) = person_records({"club_members": clean}, [contract], nicknames={}).to_pylist()
    assert row["record_id"] == "club_members:north|7" and row["observed_at"] == RECEIVED
    assert row["first_name_key"] is None and row["email"] is None


REGISTER_CONTRACT = """
name: register
description: a civil register with identifiers no shipped source has
system: crm
feed: register
entity: customer
format: {type: csv}
keys: [rec_id]
columns:
  - {name: rec_id, type: string, required: true}
  - {name: given_name, type: string, identity: given_name}
  - {name: surname, type: string, standardize: name, identity: surname}
  - {name: born, type: date, identity: dob}
  - {name: soc_sec_id, type: string, identity: national_id}
  - {name: birth_place, type: string, identity: attribute}
  - {name: occupation, type: string, identity: attribute}
"""


def test_a_new_identifying_field_is_a_contract_line_and_reaches_matching_folded():
    contract = parse_contract(REGISTER_CONTRACT)
    clean = pd.DataFrame({"rec_id": ["1"], "_source": ["register"], "given_name": ["Zoë"], "surname": ["O'Neil"],
                          "surname_key": ["oneil"], "born": [date(1955, 11, 2)], "soc_sec_id": ["12 345-6"],
                          "birth_place": ["St. Kilda"], "occupation": [None], "_received_at": [RECEIVED]})
    records = person_records({"register": clean}, [contract], nicknames={})
    (row,) = records.to_pylist()
    assert (row["first_name"], row["first_name_key"], row["last_name_key"]) == ("Zoë", "zoe", "oneil")  # folded here / clean's key
    assert row["dob"] == date(1955, 11, 2) and row["national_id"] == "123456"
    assert row["attr_birth_place"] == "st kilda" and row["attr_occupation"] is None
    assert match_columns(records.schema) == {
        "first_name_key": "given_name", "last_name_key": "surname", "dob": "dob", "email_key": "email", "phone": "phone",
        "street_key": "street", "postcode": "postcode", "country": "country", "national_id": "national_id",
        "attr_birth_place": "attribute", "attr_occupation": "attribute"}


def test_identity_roles_are_validated_in_the_contract():
    with pytest.raises(ContractError, match="unknown identity role 'middle_name'"):
        parse_contract(REGISTER_CONTRACT.replace("identity: given_name", "identity: middle_name"))
    with pytest.raises(ContractError, match="surname declared on more than one column"):
        parse_contract(REGISTER_CONTRACT.replace("identity: given_name", "identity: surname"))
