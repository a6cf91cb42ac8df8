"""Person records from clean feeds: picked by contract entity, one schema, lineage and derived keys."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pandas as pd

from hub_platform.defs.customer360.identity.records import RECORD_SCHEMA, person_feeds, person_records
from hub_platform.sources.contract import default_registry, load_registry

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
    (tmp_path / "pos_north.yaml").write_text(default_registry().sources["pos_north"].model_dump_json())
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
    assert records.schema == RECORD_SCHEMA
    rows = {r["record_id"]: r for r in records.to_pylist()}
    assert list(rows) == ["contact_center_calls:K1", "mobile_signups:M1", "web_signups:U1"]  # crm had no table: skipped
    bob, call = rows["web_signups:U1"], rows["contact_center_calls:K1"]
    assert (bob["source"], bob["system"], bob["record_key"]) == ("web_signups", "web", "U1")
    assert bob["first_name_canonical"] == "robert" and call["first_name_canonical"] == "robert"
    assert bob["email_digits"] == "12" and rows["mobile_signups:M1"]["email_digits"] is None
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
