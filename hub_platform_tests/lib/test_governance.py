"""Governance on the query path: roles see what they may, partners get only large-enough aggregates."""

import time
from datetime import UTC, datetime

import pyarrow as pa
import pytest

from hub_platform.lib.governance import AccessDenied, apply_role, cleanroom_aggregate, keyed_hash, pii_columns
from hub_platform.lib.lake.store import Lake, Location, TableNotFound
from hub_platform.serving.query import QuerySession

PEOPLE = pa.table({
    "customer_id": ["C1", "C2", "C3", "C4", "C5"],
    "first_name": ["Ann", "Bob", "Cem", "Dai", "Eve"],
    "email": ["ann@example.com", "bob@example.com", None, "dai@example.com", "eve@example.com"],
    "dob": pa.array([datetime(1980, 1, 1).date()] * 5),
    "marketing_consent": [True, False, True, None, True],
    "country": ["GB", "GB", "GB", "DE", "DE"],
    "segment": ["champion", "champion", "champion", "at_risk", "champion"],
    "lifetime_value": [100.0, 50.0, 25.0, 10.0, 5.0],
})


@pytest.fixture
def lake(tmp_path, monkeypatch):
    monkeypatch.setenv("HUB_PII_HASH_KEY", "test-secret-not-for-production")
    lake = Lake(Location(str(tmp_path / "lake")))
    lake.write(PEOPLE, "customer360", "profile")
    lake.write(pa.table({"email": ["ann@example.com"], "_source": ["web_signups"]}), "clean", "app_signups")
    return lake


def test_pii_is_classified_from_the_contracts_with_the_forms_derived_from_it():
    assert pii_columns(["email", "email_key", "first_name_original", "country", "customer_id", "dob",
                        "first_name_canonical", "email_digits", "emails_opened", "email_record_id"]) == {
        "email", "email_key", "first_name_original", "dob", "first_name_canonical", "email_digits"}


def test_an_analyst_cannot_read_a_raw_email_through_the_query_path(lake):
    session = QuerySession(lake, role="analyst")
    emails = session.sql("SELECT email FROM customer360.profile")["email"].to_pylist()
    assert "ann@example.com" not in emails and None in emails
    assert all(len(e) == 32 for e in emails if e)
    # the hash is stable, so joins and counts still work
    assert session.sql("SELECT count(DISTINCT email) n FROM customer360.profile")["n"][0].as_py() == 4
    with pytest.raises(AccessDenied, match="may not read clean/"):
        session.sql("SELECT email FROM clean.app_signups")
    with pytest.raises(Exception, match="Permission"):  # DuckDB itself may not open the lake's files
        session.sql(f"SELECT * FROM read_parquet('{lake.root}/customer360/profile/*.parquet')")


def test_marketing_sees_contact_details_of_consenting_customers_only(lake):
    rows = {r["customer_id"]: r for r in QuerySession(lake, role="marketing").sql("SELECT * FROM customer360.profile").to_pylist()}
    assert (rows["C1"]["email"], rows["C1"]["first_name"]) == ("ann@example.com", "Ann")
    assert rows["C2"]["email"] is None and rows["C4"]["email"] is None  # no consent, unknown consent
    assert rows["C1"]["dob"] != "1980-01-01" and len(rows["C1"]["dob"]) == 32  # not contactable: hashed


def test_a_steward_sees_everything_and_masking_needs_the_secret(lake, monkeypatch):
    steward = QuerySession(lake, role="steward")
    assert steward.sql("SELECT email FROM clean.app_signups")["email"].to_pylist() == ["ann@example.com"]
    monkeypatch.delenv("HUB_PII_HASH_KEY")
    with pytest.raises(AccessDenied, match="HUB_PII_HASH_KEY"):
        apply_role(PEOPLE, "analyst")


def test_the_keyed_hash_depends_on_the_key():
    values = pa.array(["ann@example.com", None])
    one, other = keyed_hash(values, b"key-one"), keyed_hash(values, b"key-two")
    assert one[0] != other[0] and one[1].as_py() is None


def test_the_clean_room_suppresses_groups_smaller_than_k_and_refuses_personal_data():
    result, suppressed = cleanroom_aggregate(PEOPLE, ["country", "segment"], [("lifetime_value", "sum")], k=3)
    assert result.to_pylist() == [{"country": "GB", "segment": "champion", "customers": 3, "lifetime_value_sum": 175.0}]
    assert suppressed == 2  # DE/at_risk and DE/champion have one customer each
    with pytest.raises(AccessDenied, match="email"):
        cleanroom_aggregate(PEOPLE, ["email"], [], k=3)
    with pytest.raises(AccessDenied, match="customer_id"):
        cleanroom_aggregate(PEOPLE, ["country"], [("customer_id", "max")], k=3)


def test_time_travel_reads_a_table_as_it_was(lake):
    before = datetime.now(UTC)
    time.sleep(0.05)
    lake.write(PEOPLE.slice(0, 2), "customer360", "profile", mode="overwrite")
    steward = QuerySession(lake, role="steward", as_of=before)
    assert steward.sql("SELECT count(*) n FROM customer360.profile")["n"][0].as_py() == 5
    assert QuerySession(lake, role="steward").sql("SELECT count(*) n FROM customer360.profile")["n"][0].as_py() == 2
    assert lake.read("customer360", "profile", version=0).num_rows == 5
    with pytest.raises(TableNotFound, match="did not exist yet at 2001-01-01 00:00:00 UTC"):
        lake.read("customer360", "profile", version=datetime(2001, 1, 1))  # naive: UTC
    with pytest.raises(TableNotFound):
        QuerySession(lake, role="steward").sql("SELECT * FROM curated.nothing")


def test_hub_sql_prints_results_and_refuses_plainly(lake, tmp_path, monkeypatch, capsys):
    from hub_platform.serving.cli import main

    monkeypatch.setenv("HUB_HOME", str(tmp_path))  # the lake fixture lives in HUB_HOME/lake
    monkeypatch.delenv("HUB_LAKE_ROOT", raising=False)
    assert main(["sql", "SELECT country, count(*) AS n FROM customer360.profile GROUP BY 1 ORDER BY 1", "--csv"]) == 0
    assert capsys.readouterr().out.splitlines() == ["country,n", "DE,2", "GB,3"]
    assert main(["sql", "SELECT * FROM clean.app_signups"]) == 2
    assert "may not read clean/" in capsys.readouterr().err
    assert main(["cleanroom", "--by", "country", "--measure", "lifetime_value:median", "--k", "2"]) == 2
    assert "unknown aggregate(s) median" in capsys.readouterr().err
    assert main(["history", "curated/nothing"]) == 2
    assert "curated/nothing does not exist yet" in capsys.readouterr().err
    with pytest.raises(SystemExit):  # argparse's own usage error
        main(["cleanroom", "--by", "country", "--measure", "lifetime_value"])
    assert "is not column:function" in capsys.readouterr().err
