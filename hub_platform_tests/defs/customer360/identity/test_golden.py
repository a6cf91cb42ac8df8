"""Survivorship on hand-made records: which value each field keeps, and from which record."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pandas as pd
import pyarrow as pa

from hub_platform.defs.customer360.identity.golden import SURVIVORSHIP, email_status, golden_records
from hub_platform.defs.customer360.identity.records import RECORD_SCHEMA


def at(month: int, day: int = 1) -> datetime:
    return datetime(2026, month, day, tzinfo=UTC)


def record(record_id: str, system: str, observed: datetime, **values) -> dict:
    row = dict.fromkeys(RECORD_SCHEMA.names)
    row.update(record_id=record_id, source=record_id.split(":")[0], system=system, observed_at=observed, **values)
    for column in ("first_name", "last_name", "street"):
        if row[column] is not None:
            row[f"{column}_key"] = row[column].lower()
    if row["email"] is not None:
        row["email_key"] = row["email"]
    return row


ROBERT = [
    record("crm_contacts:C1", "crm", at(3), first_name="Robert", last_name="Smith", email="rob@old.example",
           phone="+4470001", street="1 High Street", postcode="LS1 4DY", city="Leeds", country="GB", consent=True),
    record("web_signups:U1", "web", at(9), first_name="Bob", last_name="Smith", email="rob.smith@new.example",
           phone="+4470002", dob=date(1980, 5, 1), street="9 Mill Lane", postcode="BS1 5TR", city="Bristol",
           country="GB", consent=False),
    record("pos_loyalty_members:L1", "pos", at(1), first_name="Robert", last_name="Smiht", dob=date(1980, 5, 1),
           street="1 High Street", postcode="LS1 4DY", city="Leeds", country="GB", consent=True),
    record("contact_center_calls:K1", "contact_center", at(10), first_name="Robert", last_name="Smith",
           postcode="SW1A 1AA", country="GB"),
]
ANNA = [  # two equally recent statements, one phone each: source priority decides (CRM before web)
    record("web_signups:U2", "web", at(5), first_name="Anna", last_name="Berg", email="anna@x.example",
           phone="+4915100", consent=False),
    record("crm_contacts:C2", "crm", at(5), first_name="Anna", last_name="Berg", phone="+4915199", consent=True),
]
EVENTS = pd.DataFrame([
    {"email": "rob@old.example", "event": "open", "ts": at(4)},  # the old address is proven
    {"email": "rob.smith@new.example", "event": "sent", "ts": at(9, 2)},
    {"email": "anna@x.example", "event": "unsubscribe", "ts": at(4)},  # before Anna's statements: no effect
])


def golden(rows: list[dict], events: pd.DataFrame = EVENTS) -> dict[str, dict]:
    records = pa.Table.from_pylist(rows, schema=RECORD_SCHEMA)
    assignment = pd.DataFrame({"record_id": [r["record_id"] for r in rows],
                               "customer_id": ["CUS-R" if "1" in r["record_id"] else "CUS-A" for r in rows]})
    table = golden_records(records, assignment, events)
    return {row["customer_id"]: row for row in table.to_dict("records")}


def test_names_and_dob_are_the_most_frequent_value_spelled_as_most_recently_seen():
    robert = golden(ROBERT + ANNA)["CUS-R"]
    assert (robert["first_name"], robert["first_name_record_id"]) == ("Robert", "contact_center_calls:K1")
    assert (robert["last_name"], robert["last_name_record_id"]) == ("Smith", "contact_center_calls:K1")
    assert (robert["dob"], robert["dob_record_id"]) == (date(1980, 5, 1), "web_signups:U1")


def test_a_verified_email_beats_a_newer_unverified_one():
    robert = golden(ROBERT + ANNA)["CUS-R"]
    chosen = (robert["email"], robert["email_record_id"], robert["email_verified"])
    assert chosen == ("rob@old.example", "crm_contacts:C1", True)
    unverified = golden(ROBERT, EVENTS.iloc[1:])["CUS-R"]
    assert (unverified["email"], unverified["email_verified"]) == ("rob.smith@new.example", False)


def test_phone_and_address_are_the_most_recent_and_the_address_stays_one_unit():
    robert = golden(ROBERT + ANNA)["CUS-R"]
    assert (robert["phone"], robert["phone_record_id"]) == ("+4470002", "web_signups:U1")
    # the call is newer but has no street: the latest full address wins, street and postcode together
    assert (robert["street"], robert["postcode"], robert["city"], robert["address_record_id"]) == (
        "9 Mill Lane", "BS1 5TR", "Bristol", "web_signups:U1")


def test_ties_in_recency_go_to_source_priority():
    anna = golden(ROBERT + ANNA)["CUS-A"]
    assert (anna["phone"], anna["phone_record_id"]) == ("+4915199", "crm_contacts:C2")
    assert (anna["marketing_consent"], anna["marketing_consent_record_id"]) == (True, "crm_contacts:C2")
    assert pd.isna(anna["marketing_consent_withdrawn_at"])  # the unsubscribe came before the statement


def test_consent_is_the_latest_statement_unless_an_address_opted_out_after_it():
    robert = golden(ROBERT + ANNA)["CUS-R"]
    assert (robert["marketing_consent"], robert["marketing_consent_record_id"]) == (False, "web_signups:U1")
    opted_back_in = [*ROBERT[:1], {**ROBERT[1], "consent": True}]
    bounced = pd.concat([EVENTS, pd.DataFrame([{"email": "rob@old.example", "event": "bounce", "ts": at(11)}])])
    after = golden(opted_back_in, bounced)["CUS-R"]
    assert after["marketing_consent"] is False and after["marketing_consent_withdrawn_at"] == at(11)
    assert (after["email"], after["email_verified"]) == ("rob.smith@new.example", False)  # bounced: no longer verified


def test_counts_sources_and_the_rules_are_documented():
    robert = golden(ROBERT + ANNA)["CUS-R"]
    assert robert["record_count"] == 4 and robert["first_seen"] == at(1) and robert["last_seen"] == at(10)
    assert list(robert["sources"]) == ["contact_center_calls", "crm_contacts", "pos_loyalty_members", "web_signups"]
    assert all(rule.why for rule in SURVIVORSHIP)


def test_email_status_needs_engagement_and_no_bounce():
    events = pd.DataFrame([{"email": "a@x", "event": "click", "ts": at(1)}, {"email": "b@x", "event": "open", "ts": at(1)},
                           {"email": "b@x", "event": "bounce", "ts": at(2)}, {"email": "c@x", "event": "sent", "ts": at(1)}])
    status = email_status(events).set_index("email_key")
    assert status["verified"].to_dict() == {"a@x": True, "b@x": False, "c@x": False}
    assert status.loc["b@x", "opted_out_at"] == at(2) and pd.isna(status.loc["a@x", "opted_out_at"])
