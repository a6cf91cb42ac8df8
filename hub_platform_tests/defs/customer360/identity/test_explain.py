"""Explaining a customer: its records and the scored pairs that joined it, or kept others apart."""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd
import pytest

from hub_platform.defs.customer360.identity.explain import explain

RECORDS = pd.DataFrame({
    "record_id": ["crm_contacts:C1", "web_signups:U1", "web_signups:U2"],
    "source": ["crm_contacts", "web_signups", "web_signups"],
    "first_name": ["Robert", "Bob", "Martha"], "last_name": ["Smith"] * 3,
    "email": ["rob@x.example", None, "martha@x.example"], "email_key": ["rob@x.example", None, "martha@x.example"],
    "phone": ["+4470001"] * 3, "dob": [None] * 3, "street": ["1 High St"] * 3, "postcode": ["LS1 4DY"] * 3,
    "city": ["Leeds"] * 3, "country": ["GB"] * 3,
    "observed_at": [datetime(2026, m, 1, tzinfo=UTC) for m in (1, 2, 3)],
})
ASSIGNMENT = pd.DataFrame({"record_id": RECORDS["record_id"], "customer_id": ["CUS-R", "CUS-R", "CUS-M"]})
EVIDENCE = pd.DataFrame({
    "record_id_l": ["crm_contacts:C1", "crm_contacts:C1"], "record_id_r": ["web_signups:U1", "web_signups:U2"],
    "match_weight": [14.2, -2.5], "match_probability": [0.9999, 0.15],
    "first_name_level": ["Exact match on first_name_canonical", "All other comparisons"],
    "first_name_weight": [5.6, -9.8], "contact_weight": [12.2, 12.2],
})


def test_a_customer_id_shows_its_records_and_the_pairs_that_joined_it_before_near_misses():
    result = explain("CUS-R", ASSIGNMENT, RECORDS, EVIDENCE)
    assert result.customer_ids == ["CUS-R"]
    assert result.records["record_id"].tolist() == ["crm_contacts:C1", "web_signups:U1"]
    pairs = result.pairs[["record_id_r", "joined", "customer_id_r", "first_name_weight"]].to_dict("records")
    assert pairs == [{"record_id_r": "web_signups:U1", "joined": True, "customer_id_r": "CUS-R", "first_name_weight": 5.6},
                     {"record_id_r": "web_signups:U2", "joined": False, "customer_id_r": "CUS-M", "first_name_weight": -9.8}]


def test_an_email_finds_the_customer_whatever_its_case():
    result = explain(" Martha@X.example", ASSIGNMENT, RECORDS, EVIDENCE)
    assert result.customer_ids == ["CUS-M"] and result.records["first_name"].tolist() == ["Martha"]
    assert result.pairs["joined"].tolist() == [False]


def test_an_unknown_query_says_so():
    with pytest.raises(LookupError, match="nobody@x.example"):
        explain("nobody@x.example", ASSIGNMENT, RECORDS, EVIDENCE)
