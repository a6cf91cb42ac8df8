"""The golden record: one row per customer, each value chosen from its records by a survivorship rule.

Rules per field (SURVIVORSHIP says the same as data, for run metadata), each with the record it came
from in ``<field>_record_id``:

- first_name, last_name, dob: the most frequent value (by folded key), ties to the most recent. Names
  and dates do not change; a typo or nickname is one system's noise, so what most systems agree on is
  most likely right. The display value is the most recent spelling of the winning key.
- email: the most recent verified address, else the most recent. Verified means it opened or clicked a
  campaign and never bounced (clean/email_events): proven deliverable and read by the person.
- phone: the most recent. Numbers change, and a system that heard from the person later knows better.
- address (street, postcode, city, country together, so a street is never paired with another
  record's postcode): from the most recent record with a street, else the most recent with a postcode
  or country. People move; the system that saw them last has the current address.
- consent: the most recent explicit statement (a record with a consent flag), withdrawn if any of the
  customer's addresses unsubscribed or bounced after it (``marketing_consent_withdrawn_at``); the column
  is ``marketing_consent``, the name governance reads to decide what marketing may see.

Ties after recency go to source priority (SYSTEM_PRIORITY), then the smaller record_id, so the choice
is deterministic.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import pandas as pd
import pyarrow as pa

SYSTEM_PRIORITY = ("crm", "pos", "web", "mobile", "contact_center")
"""Tie-break between equally recent values: CRM records are kept by staff with a change history,
loyalty enrolment is checked at the till, web and mobile sign-ups are self-typed, and a caller's
details are typed by an agent during a call. Systems not listed come last."""

ENGAGED_EVENTS = ("open", "click")
OPT_OUT_EVENTS = ("unsubscribe", "bounce")


@dataclass(frozen=True)
class Survivorship:
    field: str
    columns: tuple[str, ...]
    rule: Literal["most_frequent", "most_recent", "most_recent_verified"]
    key: str
    why: str


SURVIVORSHIP = (
    Survivorship("first_name", ("first_name",), "most_frequent", "first_name_key",
                 "names do not change; what most systems agree on beats one system's typo or nickname"),
    Survivorship("last_name", ("last_name",), "most_frequent", "last_name_key",
                 "names do not change; what most systems agree on beats one system's typo"),
    Survivorship("dob", ("dob",), "most_frequent", "dob", "a date of birth never changes; disagreement is a typo"),
    Survivorship("email", ("email",), "most_recent_verified", "email_key",
                 "an address that opened or clicked and never bounced is proven; else the latest one"),
    Survivorship("phone", ("phone",), "most_recent", "phone", "numbers change; the latest system to hear knows best"),
    Survivorship("address", ("street", "postcode", "city", "country"), "most_recent", "street_key",
                 "people move; the latest full address, kept together as one unit"),
)


def email_status(email_events: pd.DataFrame) -> pd.DataFrame:
    """Per address (email_key): verified (opened or clicked, never bounced) and when it last opted out.

    ``email_events``: email (or its folded email_key), event, ts.
    """
    key = email_events["email_key"] if "email_key" in email_events.columns else email_events["email"].str.lower()
    event = email_events["event"]
    flags = pd.DataFrame({"email_key": key, "engaged": event.isin(ENGAGED_EVENTS), "bounced": event == "bounce",
                          "opted_out_at": email_events["ts"].where(event.isin(OPT_OUT_EVENTS))})
    status = flags.groupby("email_key").agg(engaged=("engaged", "any"), bounced=("bounced", "any"),
                                             opted_out_at=("opted_out_at", "max"))
    status["verified"] = status["engaged"] & ~status["bounced"]
    status = status[["verified", "opted_out_at"]]
    return status.reset_index()


def _ranked(records: pd.DataFrame) -> pd.DataFrame:
    """Records with the tie-break columns every rule orders by."""
    priority = {system: i for i, system in enumerate(SYSTEM_PRIORITY)}
    return records.assign(_priority=records["system"].map(priority).fillna(len(SYSTEM_PRIORITY)))


def _first_per_customer(frame: pd.DataFrame, order: list[str], ascending: list[bool]) -> pd.DataFrame:
    ordered = frame.sort_values(["customer_id", *order, "_priority", "record_id"],
                                ascending=[True, *ascending, True, True], kind="stable")
    return ordered.drop_duplicates("customer_id").set_index("customer_id")


def _choose(records: pd.DataFrame, rule: Survivorship) -> pd.DataFrame:
    """The chosen columns and their record_id per customer, by ``rule``."""
    if rule.rule == "most_frequent":
        present = records[records[rule.key].notna()]
        counts = present.groupby(["customer_id", rule.key])["record_id"].transform("size")
        chosen = _first_per_customer(present.assign(_n=counts), ["_n", "observed_at"], [False, False])
    elif rule.rule == "most_recent_verified":
        present = records[records[rule.key].notna()]
        chosen = _first_per_customer(present, ["verified", "observed_at"], [False, False])
    else:  # most_recent: records with the key first, then any with one of the columns
        present = records[records[list(rule.columns)].notna().any(axis=1)]
        chosen = _first_per_customer(present.assign(_has_key=present[rule.key].notna()),
                                     ["_has_key", "observed_at"], [False, False])
    out = chosen[list(rule.columns)].copy()
    out[f"{rule.field}_record_id"] = chosen["record_id"]
    if rule.rule == "most_recent_verified":
        out[f"{rule.field}_verified"] = chosen["verified"].astype(bool)
    return out


def _consent(records: pd.DataFrame, status: pd.DataFrame) -> pd.DataFrame:
    stated = _first_per_customer(records[records["consent"].notna()], ["observed_at"], [False])
    out = pd.DataFrame({"marketing_consent": stated["consent"].astype("boolean"), "marketing_consent_record_id": stated["record_id"],
                        "consent_stated_at": stated["observed_at"]})
    opt_outs = records[["customer_id", "email_key"]].merge(status[["email_key", "opted_out_at"]], on="email_key")
    last_opt_out = opt_outs.groupby("customer_id")["opted_out_at"].max()
    out = out.join(last_opt_out, how="outer")
    after_statement = out["consent_stated_at"].isna() | (out["opted_out_at"] > out["consent_stated_at"])
    withdrawn = out["opted_out_at"].notna() & after_statement
    out["marketing_consent_withdrawn_at"] = out["opted_out_at"].where(withdrawn)
    out.loc[withdrawn, "marketing_consent"] = False
    return out.drop(columns=["opted_out_at", "consent_stated_at"])


def golden_records(records: pa.Table | pd.DataFrame, assignment: pd.DataFrame, email_events: pd.DataFrame) -> pd.DataFrame:
    """One row per customer_id: chosen values, their ``<field>_record_id``, consent, counts and sources.

    ``records``: person records (records.RECORD_SCHEMA); ``assignment``: record_id, customer_id;
    ``email_events``: clean/email_events (email, event, ts).
    """
    frame = records.to_pandas() if isinstance(records, pa.Table) else records
    frame = _ranked(frame.merge(assignment[["record_id", "customer_id"]], on="record_id"))
    status = email_status(email_events)
    frame = frame.merge(status[["email_key", "verified"]], on="email_key", how="left")
    frame["verified"] = frame["verified"].astype("boolean").fillna(False).astype(bool)

    by_customer = frame.groupby("customer_id")
    golden = pd.DataFrame({
        "record_count": by_customer.size(),
        "sources": (frame[["customer_id", "source"]].drop_duplicates().sort_values("source")
                    .groupby("customer_id")["source"].agg(list)),
        "first_seen": by_customer["observed_at"].min(),
        "last_seen": by_customer["observed_at"].max(),
    })
    for rule in SURVIVORSHIP:
        golden = golden.join(_choose(frame, rule))
    golden = golden.join(_consent(frame, status))
    golden["email_verified"] = golden["email_verified"].astype("boolean").fillna(False).astype(bool)
    columns = ["record_count", "sources", "first_seen", "last_seen"]
    for rule in SURVIVORSHIP:
        columns += [*rule.columns, f"{rule.field}_record_id"] + (["email_verified"] if rule.field == "email" else [])
    columns += ["marketing_consent", "marketing_consent_record_id", "marketing_consent_withdrawn_at"]
    return golden[columns].rename_axis("customer_id").reset_index().sort_values("customer_id", ignore_index=True)
