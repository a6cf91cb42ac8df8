"""Person records: every clean feed about people, in one shape that matching and survivorship read.

Which feeds hold people is read from the contracts: a source whose ``entity`` is in PERSON_ENTITIES
contributes its rows, so a new person source is picked up by adding its contract. Which of a source's
columns say who the person is, is read from the contracts too: a column declares its identity role
(``identity: given_name``, ``surname``, ``dob``, ``national_id``, ``attribute``...; see
``sources.contract.IDENTITY_ROLES``), so a new identifying field is a contract line, not Python.

Each row becomes one record with ``record_id = "<_source>:<key>"``. The records always carry the core
columns (RECORD_SCHEMA: lineage, display values, the columns survivorship and the 360 profile read),
null where a source lacks the role, plus one column for every other role any person source declares
(``full_name``/``full_name_key``, ``national_id``, ``city_key``, ``attr_<column>`` per attribute).

Matching reads one column per role (MATCH_COLUMN): the clean zone's folded key where it made one
(``first_name_key``...), else the value folded the same way here; ``national_id`` is upper-cased with
separators dropped. Three more are derived: ``first_name_canonical``, the folded given name with
nicknames resolved from the settings' table; ``email_mailbox``, the e-mail's mailbox name (before the
@), derived once here rather than by a regular expression in every compared pair; and
``email_digits``, the digits of the mailbox name ('' when it has none), which tell namesakes'
addresses apart (anna.smith12 and anna.smith71).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import pandas as pd
import pyarrow as pa

from hub_platform.defs.clean.standardize import fold
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
    ("email_mailbox", pa.string()),
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
"""The columns every person record has, whatever the sources declare."""

DISPLAY_COLUMN = {"given_name": "first_name", "surname": "last_name", "full_name": "full_name", "dob": "dob",
                  "email": "email", "phone": "phone", "street": "street", "postcode": "postcode", "city": "city",
                  "country": "country", "national_id": "national_id"}
"""Role -> the record column holding the value as the source wrote it (after clean-zone standardization)."""

MATCH_COLUMN = {"given_name": "first_name_key", "surname": "last_name_key", "full_name": "full_name_key", "dob": "dob",
                "email": "email_key", "phone": "phone", "street": "street_key", "postcode": "postcode",
                "city": "city_key", "country": "country", "national_id": "national_id"}
"""Role -> the record column matching compares (attributes: ``attr_<column>``)."""

_FOLDED_ROLES = frozenset({"given_name", "surname", "full_name", "street", "city", "attribute"})
_EXTRA_FIELDS = {"full_name": [("full_name", pa.string()), ("full_name_key", pa.string())],
                 "national_id": [("national_id", pa.string())], "city": [("city_key", pa.string())]}


def person_feeds(registry: Registry) -> dict[str, list[Contract]]:
    """The feeds whose sources describe people, with their contracts: the clean tables to read."""
    return {feed: contracts for feed, contracts in registry.feeds.items() if contracts[0].entity in PERSON_ENTITIES}


def attribute_column(name: str) -> str:
    """The record column of an ``attribute`` role declared on contract column ``name``."""
    return f"attr_{name}"


def record_schema(contracts: Iterable[Contract]) -> pa.Schema:
    """RECORD_SCHEMA plus a column for every further role the person contracts declare."""
    fields = list(RECORD_SCHEMA)
    names = set(RECORD_SCHEMA.names)
    for contract in contracts:
        if contract.entity not in PERSON_ENTITIES:
            continue
        for column, role in contract.identity_columns.items():
            extra = [(attribute_column(column), pa.string())] if role == "attribute" else _EXTRA_FIELDS.get(role, [])
            for name, kind in extra:
                if name not in names:
                    fields.append(pa.field(name, kind))
                    names.add(name)
    return pa.schema(fields)


def match_columns(schema: pa.Schema) -> dict[str, str]:
    """Matching column -> role, for the roles a record schema carries."""
    columns = {MATCH_COLUMN[role]: role for role in MATCH_COLUMN if MATCH_COLUMN[role] in schema.names}
    columns.update({name: "attribute" for name in schema.names if name.startswith("attr_")})
    return columns


def person_records(feeds: Mapping[str, pa.Table | pd.DataFrame], contracts: Iterable[Contract],
                   nicknames: Mapping[str, str] | None = None) -> pa.Table:
    """One table (record_schema of the contracts) of person records from the clean tables of person feeds.

    ``feeds``: clean table per feed name; ``contracts``: the contracts of those feeds' sources (rows are
    split by ``_source``). ``observed_at`` is when the source last said it: the latest of the contract's
    timestamp columns (CRM ``changed_at``, ``signup_ts``, a call's ``started_at``), else ``_received_at``.
    ``nicknames``: folded nickname -> folded given name (default: the settings' table).
    """
    contracts = [c for c in contracts if c.entity in PERSON_ENTITIES]
    nicknames = default_description().nicknames if nicknames is None else nicknames
    schema = record_schema(contracts)
    frames: dict[str, pd.DataFrame] = {}  # each feed converted once, though several sources share it
    parts = []
    for contract in contracts:
        if contract.feed not in feeds:
            continue
        if contract.feed not in frames:
            table = feeds[contract.feed]
            frames[contract.feed] = table.to_pandas() if isinstance(table, pa.Table) else table
        frame = frames[contract.feed]
        rows = frame[frame["_source"] == contract.name]
        if len(rows):
            parts.append(_records_of_source(rows, contract, nicknames, schema))
    if not parts:
        return schema.empty_table()
    return pa.concat_tables(parts).sort_by("record_id")


def _match_value(rows: pd.DataFrame, column: str, role: str) -> pd.Series:
    """The matching form of a role's column: the clean zone's key if it made one, else folded here."""
    if f"{column}_key" in rows.columns:
        return rows[f"{column}_key"].astype("string")
    text = rows[column].astype("string")
    if role in _FOLDED_ROLES:
        return fold(text).replace("", pd.NA)
    if role == "email":
        return text.str.strip().str.lower()
    if role == "national_id":
        return text.str.upper().str.replace(r"[^0-9A-Z]", "", regex=True).replace("", pd.NA)
    return text


def _records_of_source(rows: pd.DataFrame, contract: Contract, nicknames: Mapping[str, str], schema: pa.Schema) -> pa.Table:
    key = rows[contract.keys[0]].astype("string")
    for extra in contract.keys[1:]:
        key = key + KEY_SEPARATOR + rows[extra].astype("string")
    out = pd.DataFrame({"record_id": contract.name + ":" + key, "source": contract.name, "system": contract.system,
                        "record_key": key}, index=rows.index)
    for name in schema.names:
        if name not in out.columns:
            out[name] = None
    for column, role in contract.identity_columns.items():
        if column not in rows.columns:
            continue
        if role == "attribute":
            out[attribute_column(column)] = _match_value(rows, column, role)
            continue
        if role == "dob":
            out["dob"] = pd.to_datetime(rows[column], errors="coerce").dt.date
            continue
        out[DISPLAY_COLUMN[role]] = rows[column]
        match = MATCH_COLUMN[role]
        if match != DISPLAY_COLUMN[role] or role == "national_id":
            out[match] = _match_value(rows, column, role)
    first = out["first_name_key"]
    out["first_name_canonical"] = first.map(lambda name: nicknames.get(name, name) if isinstance(name, str) else None)
    mailbox = out["email_key"].astype("string").str.split("@").str[0]
    out["email_mailbox"] = mailbox.replace("", pd.NA)
    out["email_digits"] = mailbox.str.replace(r"\D", "", regex=True)
    out["observed_at"] = _observed_at(rows, contract)
    consent = next((c for c in CONSENT_COLUMNS if c in rows.columns), None)
    out["consent"] = rows[consent] if consent else None
    return pa.Table.from_pandas(out[schema.names], schema=schema, preserve_index=False)


def _observed_at(rows: pd.DataFrame, contract: Contract) -> pd.Series:
    stamps = [c.name for c in contract.columns if c.type in ("timestamp", "timestamptz") and c.name in rows.columns]
    if not stamps:
        return pd.to_datetime(rows["_received_at"], utc=True)
    latest = pd.concat([pd.to_datetime(rows[c], utc=True) for c in stamps], axis=1).max(axis=1)
    return latest.fillna(pd.to_datetime(rows["_received_at"], utc=True))
