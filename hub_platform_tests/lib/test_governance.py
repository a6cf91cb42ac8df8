"""Governance on the query path: roles see what they may, partners get only large-enough aggregates."""

import time
from datetime import UTC, datetime

import numpy as np
import pyarrow as pa
import pytest

from hub_platform.lib.governance import (
    AccessDenied,
    CleanRoomPolicy,
    MalformedQuestion,
    apply_role,
    cleanroom_aggregate,
    cleanroom_policy,
    keyed_hash,
    pii_columns,
    publish_masked,
)
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
    assert publish_masked(lake, "customer360", "profile", PEOPLE, ["customer_id"], changed=True).startswith("published")
    lake.write(pa.table({"email": ["ann@example.com"], "_source": ["web_signups"]}), "clean", "app_signups")
    return lake


def test_pii_is_classified_from_the_contracts_with_the_forms_derived_from_it():
    assert pii_columns(["email", "email_key", "first_name_original", "country", "customer_id", "dob",
                        "first_name_canonical", "email_mailbox", "email_digits", "emails_opened", "email_record_id"]) == {
        "email", "email_key", "first_name_original", "dob", "first_name_canonical", "email_mailbox", "email_digits"}


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


ROOM = CleanRoomPolicy(k=2, grouping_sets=(("country",), ("country", "segment")), measures=("lifetime_value",))


def test_the_clean_room_suppresses_groups_smaller_than_k_and_refuses_personal_data():
    result, suppressed = cleanroom_aggregate(PEOPLE, ["country", "segment"], [("lifetime_value", "sum")], ROOM)
    assert result.to_pylist() == [{"country": "GB", "segment": "champion", "customers": 3, "lifetime_value_sum": 175.0}]
    assert suppressed == 2  # DE/at_risk and DE/champion have one customer each
    with pytest.raises(AccessDenied, match="email"):
        cleanroom_aggregate(PEOPLE, ["email"], [], ROOM)
    with pytest.raises(AccessDenied, match="customer_id"):
        cleanroom_aggregate(PEOPLE, ["country"], [("customer_id", "sum")], ROOM)


def test_the_clean_room_answers_declared_questions_only():
    with pytest.raises(MalformedQuestion, match="declared groupings"):
        cleanroom_aggregate(PEOPLE, ["segment"], [], ROOM)
    with pytest.raises(MalformedQuestion, match="min and max would give one person's value"):
        cleanroom_aggregate(PEOPLE, ["country"], [("lifetime_value", "max")], ROOM)
    with pytest.raises(MalformedQuestion, match="not a declared measure: orders"):
        cleanroom_aggregate(PEOPLE.append_column("orders", pa.array([1] * 5)), ["country"], [("orders", "sum")], ROOM)


def test_k_comes_from_configuration_with_a_floor(monkeypatch):
    assert cleanroom_policy().k == 10
    monkeypatch.setenv("HUB_CLEANROOM_K", "25")
    assert cleanroom_policy().k == 25
    monkeypatch.setenv("HUB_CLEANROOM_K", "2")
    with pytest.raises(ValueError, match="may not be set below 5"):
        cleanroom_policy()


def _profile_with_one_lonely_customer(n: int = 400):
    """Segments of about 100 customers; score 1 of 'champion' holds exactly one, with a telling value."""
    rng = np.random.default_rng(3)
    segment = rng.choice(["champion", "loyal", "at_risk", "new"], n)
    score = rng.integers(2, 6, n)
    score[rng.random(n) < 0.2] = 1
    score[segment == "champion"] = np.maximum(score[segment == "champion"], 2)
    segment[0], score[0] = "champion", 1
    value = rng.gamma(2.0, 100.0, n).round(2)
    value[0] = 12_345.67
    return pa.table({"customer_id": [f"C{i}" for i in range(n)], "rfm_segment": segment, "m_score": score,
                     "lifetime_value_gbp": value})


def test_differencing_two_answers_never_isolates_a_customer():
    """The attack: total by segment minus the released cells by segment and score = one person's value."""
    profile = _profile_with_one_lonely_customer()
    policy = CleanRoomPolicy(k=10, grouping_sets=(("rfm_segment",), ("rfm_segment", "m_score")), measures=("lifetime_value_gbp",))
    coarse, _ = cleanroom_aggregate(profile, ["rfm_segment"], [("lifetime_value_gbp", "sum")], policy)
    fine, _ = cleanroom_aggregate(profile, ["rfm_segment", "m_score"], [("lifetime_value_gbp", "sum")], policy)
    released = fine.to_pandas().groupby("rfm_segment")[["customers", "lifetime_value_gbp_sum"]].sum()
    difference = coarse.to_pandas().set_index("rfm_segment") - released.reindex(coarse["rfm_segment"].to_pylist()).fillna(0)
    assert ((difference["customers"] == 0) | (difference["customers"] >= policy.k)).all(), difference
    assert difference.loc["champion", "customers"] >= policy.k  # the lonely champion hides among at least k
    assert not np.isclose(difference["lifetime_value_gbp_sum"], 12_345.67).any()
    # the same holds against the grand total, which every answer implies
    assert fine["customers"].to_numpy().sum() in (profile.num_rows, *range(0, profile.num_rows - policy.k + 1))


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
    assert main(["cleanroom", "--by", "country", "--measure", "lifetime_value_gbp:median"]) == 2
    assert "aggregate(s) median not allowed" in capsys.readouterr().err
    with pytest.raises(SystemExit):  # k is configuration, not the caller's to choose
        main(["cleanroom", "--by", "country", "--k", "2"])
    capsys.readouterr()
    assert main(["history", "curated/nothing"]) == 2
    assert "curated/nothing does not exist yet" in capsys.readouterr().err
    with pytest.raises(SystemExit):  # argparse's own usage error
        main(["cleanroom", "--by", "country", "--measure", "lifetime_value"])
    assert "is not column:function" in capsys.readouterr().err
