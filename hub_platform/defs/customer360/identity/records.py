"""Person records: every clean feed about people, in one shape that matching and survivorship read.

Which feeds hold people is read from the contracts: a source whose ``entity`` is in PERSON_ENTITIES
contributes its rows, so a new person source is picked up by adding its contract. Each row becomes one
record with ``record_id = "<_source>:<key>"``; columns a source does not have are null (the contact
centre has no dob or street), so every source fits one schema (RECORD_SCHEMA).

Matching columns are the clean zone's folded keys (``first_name_key``, ``last_name_key``,
``email_key``, ``street_key``), E.164 ``phone``, normalized ``postcode`` and ``dob``, plus two derived
ones: ``first_name_canonical``, the folded first name with nicknames resolved from the settings' table,
and ``email_digits``, the digits of the mailbox name ('' when it has none), which tell namesakes'
addresses apart (anna.smith12 and anna.smith71 are two people).
Display columns (first_name, last_name, email, street, city, country) are kept for the golden record.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import pandas as pd
import pyarrow as pa

from hub_platform.defs.customer360.identity.settings import default_description
from hub_platform.sources.contract import Contract, Registry

PERSON_ENTITIES = frozenset({"customer", "contact"})
"""Contract entities whose rows describe a person (a customer, or a contact such as a caller)."""

CONSENT_COLUMNS = ("email_consent", "marketing_consent")
"""Columns in which a source states marketing e-mail consent (the first present is used)."""

KEY_SEPARATOR = "|"  # joins the parts of a composite contract key in record_key

RECORD_SCHEMA = pa.schema([
    ("record_id", pa.string()),
    ("source", pa.string()),
    ("system", pa.string()),
    ("record_key", pa.string()),
    ("first_name", pa.string()),
    ("last_name", pa.string()),
    ("first_name_key", pa.string()),
    ("first_name_canonical", pa.string()),
    ("last_name_key", pa.string()),
    ("email", pa.string()),
    ("email_key", pa.string()),
    ("email_digits", pa.string()),
    ("phone", pa.string()),
    ("dob", pa.date32()),
    ("street", pa.string()),
    ("street_key", pa.string()),
    ("postcode", pa.string()),
    ("city", pa.string()),
    ("country", pa.string()),
    ("observed_at", pa.timestamp("us", tz="UTC")),
    ("consent", pa.bool_()),
])
_SOURCE_COLUMNS = ("first_name", "last_name", "first_name_key", "last_name_key", "email", "email_key", "phone", "dob",
                   "street", "street_key", "postcode", "city", "country")


def person_feeds(registry: Registry) -> dict[str, list[Contract]]:
    """The feeds whose sources describe people, with their contracts: the clean tables to read."""
    return {feed: contracts for feed, contracts in registry.feeds.items() if contracts[0].entity in PERSON_ENTITIES}


def person_records(feeds: Mapping[str, pa.Table | pd.DataFrame], contracts: Iterable[Contract],
                   nicknames: Mapping[str, str] | None = None) -> pa.Table:
    """One table (RECORD_SCHEMA) of person records from the clean tables of person feeds.

    ``feeds``: clean table per feed name; ``contracts``: the contracts of those feeds' sources (rows are
    split by ``_source``). ``observed_at`` is when the source last said it: the latest of the contract's
    timestamp columns (CRM ``changed_at``, ``signup_ts``, a call's ``started_at``), else ``_received_at``.
    ``nicknames``: folded nickname -> folded given name (default: the settings' table).
    """
    nicknames = default_description().nicknames if nicknames is None else nicknames
    frames: dict[str, pd.DataFrame] = {}  # each feed converted once, though several sources share it
    parts = []
    for contract in contracts:
        if contract.entity not in PERSON_ENTITIES or contract.feed not in feeds:
            continue
        if contract.feed not in frames:
            table = feeds[contract.feed]
            frames[contract.feed] = table.to_pandas() if isinstance(table, pa.Table) else table
        frame = frames[contract.feed]
        rows = frame[frame["_source"] == contract.name]
        if len(rows):
            parts.append(_records_of_source(rows, contract, nicknames))
    if not parts:
        return RECORD_SCHEMA.empty_table()
    records = pa.concat_tables(parts)
    return records.sort_by("record_id")


def _records_of_source(rows: pd.DataFrame, contract: Contract, nicknames: Mapping[str, str]) -> pa.Table:
    key = rows[contract.keys[0]].astype("string")
    for extra in contract.keys[1:]:
        key = key + KEY_SEPARATOR + rows[extra].astype("string")
    out = pd.DataFrame({
        "record_id": contract.name + ":" + key,
        "source": contract.name,
        "system": contract.system,
        "record_key": key,
    })
    for column in _SOURCE_COLUMNS:
        out[column] = rows[column] if column in rows.columns else None
    first = out["first_name_key"]
    out["first_name_canonical"] = first.map(lambda name: nicknames.get(name, name) if isinstance(name, str) else None)
    out["email_digits"] = out["email_key"].astype("string").str.split("@").str[0].str.replace(r"\D", "", regex=True)
    out["observed_at"] = _observed_at(rows, contract)
    consent = next((c for c in CONSENT_COLUMNS if c in rows.columns), None)
    out["consent"] = rows[consent] if consent else None
    return pa.Table.from_pandas(out[RECORD_SCHEMA.names], schema=RECORD_SCHEMA, preserve_index=False)


def _observed_at(rows: pd.DataFrame, contract: Contract) -> pd.Series:
    stamps = [c.name for c in contract.columns if c.type in ("timestamp", "timestamptz") and c.name in rows.columns]
    if not stamps:
        return pd.to_datetime(rows["_received_at"], utc=True)
    latest = pd.concat([pd.to_datetime(rows[c], utc=True) for c in stamps], axis=1).max(axis=1)
    return latest.fillna(pd.to_datetime(rows["_received_at"], utc=True))
