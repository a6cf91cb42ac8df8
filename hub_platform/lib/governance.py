"""Governance: which columns hold personal data, and what each role may see of them.

Classification comes from the source contracts (``pii: true``) and follows a column by its name
through the zones: the forms derived from a PII column (DERIVED_SUFFIXES: the clean zone's
``<column>_key`` and ``<column>_original``, person records' ``first_name_canonical`` and
``email_digits``) are the same data, and downstream tables keep the names (a golden record's
``email`` is the contracts' ``email``). The
same classification tags columns in the UI and drives masking on the query path.

Roles (the reference architecture's fine-grained access, enforced where data is read):

| role | zones | personal data |
|---|---|---|
| analyst | curated, customer360, product360, forecast, orders | every PII column replaced by a keyed hash (HMAC-SHA256): joins and counts still work, values cannot be read back |
| marketing | the same | contactable fields (name, e-mail, phone, address) in clear for customers who consented (``marketing_consent``), null for the rest; other PII hashed |
| steward | every zone, raw and clean included | everything in clear |

The hash key is a secret: it comes only from ``HUB_PII_HASH_KEY`` and is never written anywhere. The
role itself is whatever the caller says (``--role``): this hub has no login of its own, so in a
deployment the role must come from the identity provider in front of the query path.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import os

import pyarrow as pa
import pyarrow.compute as pc

from hub_platform.sources.contract import default_registry

ROLES = ("analyst", "marketing", "steward")
ANALYTIC_ZONES = ("curated", "customer360", "product360", "forecast", "orders")
ALL_ZONES = ("raw", "clean", "quarantine", *ANALYTIC_ZONES)
CONTACTABLE = ("first_name", "last_name", "email", "phone", "street", "postcode")
CONSENT_COLUMN = "marketing_consent"
HASH_KEY_VARIABLE = "HUB_PII_HASH_KEY"
# <pii column><suffix> is personal data too: clean-zone match keys and originals, identity resolution's
# nickname-resolved names and e-mail digits (defs/customer360/identity/records.py)
DERIVED_SUFFIXES = ("_key", "_original", "_canonical", "_digits")


class AccessDenied(PermissionError):
    """The role may not read what was asked for."""


class MalformedQuestion(ValueError):
    """A clean-room question the hub cannot answer as asked (unknown column or aggregate, k too small)."""


def zones_for(role: str) -> tuple[str, ...]:
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}; use one of {', '.join(ROLES)}")
    return ALL_ZONES if role == "steward" else ANALYTIC_ZONES


@functools.cache
def pii_names() -> frozenset[str]:
    """Every column name the contracts classify as PII, with the forms derived from them."""
    declared = {name for contract in default_registry().sources.values() for name in contract.pii_columns}
    return frozenset(declared | {f"{n}{suffix}" for n in declared for suffix in DERIVED_SUFFIXES})


def pii_columns(columns: list[str]) -> set[str]:
    return set(columns) & pii_names()


def hash_key() -> bytes:
    key = os.environ.get(HASH_KEY_VARIABLE)
    if not key:
        raise AccessDenied(
            f"masking personal data needs the secret {HASH_KEY_VARIABLE} in the environment "
            "(any long random string; keep it out of code and logs)"
        )
    return key.encode()


def keyed_hash(values: pa.Array | pa.ChunkedArray, key: bytes) -> pa.Array:
    """HMAC-SHA256 (first 32 hex digits) of each value's text; nulls stay null. Once per distinct value."""
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    encoded = pc.dictionary_encode(pc.cast(values, pa.string()))
    digests = pa.array(
        [hmac.new(key, v.encode(), hashlib.sha256).hexdigest()[:32] for v in encoded.dictionary.to_pylist()], pa.string()
    )
    return pc.take(digests, encoded.indices)


def apply_role(table: pa.Table, role: str) -> pa.Table:
    """``table`` as ``role`` may see it (see the module docstring)."""
    zones_for(role)
    personal = pii_columns(table.column_names)
    if role == "steward" or not personal:
        return table
    key = hash_key()
    consented = None
    if role == "marketing" and CONSENT_COLUMN in table.column_names:
        consented = pc.fill_null(table[CONSENT_COLUMN], False)
    for name in sorted(personal):
        index = table.column_names.index(name)
        if consented is not None and name in CONTACTABLE:
            shown = pc.if_else(consented, pc.cast(table[name], pa.string()), pa.scalar(None, pa.string()))
        else:
            shown = keyed_hash(table[name], key)
        table = table.set_column(index, name, shown)
    return table


def cleanroom_aggregate(
    profile: pa.Table, by: list[str], measures: list[tuple[str, str]], *, k: int, entity: str = "customer_id"
) -> tuple[pa.Table, int]:
    """Aggregates for a partner over groups of at least ``k`` distinct ``entity`` values.

    ``measures``: (column, function) with function in sum, mean, min, max. Grouping by or measuring a
    PII column is refused; groups smaller than ``k`` are suppressed entirely (returned is how many).
    Only these shapes of question can be asked: free SQL could not be checked for small groups.
    """
    if k < 2:
        raise MalformedQuestion("k must be at least 2")
    asked = set(by) | {column for column, _ in measures}
    personal = pii_columns(sorted(asked)) | ({entity} & asked)
    if personal:
        raise AccessDenied(f"the clean room does not group by or aggregate personal data: {', '.join(sorted(personal))}")
    missing = sorted(asked - set(profile.column_names))
    if missing:
        raise MalformedQuestion(f"no such columns: {', '.join(missing)}")
    unknown = sorted({fn for _, fn in measures} - {"sum", "mean", "min", "max"})
    if unknown:
        raise MalformedQuestion(f"unknown aggregate(s) {', '.join(unknown)}; use sum, mean, min or max")
    grouped = profile.group_by(by).aggregate([(entity, "count_distinct"), *[(c, fn) for c, fn in measures]])
    grouped = grouped.rename_columns(["customers" if n == f"{entity}_count_distinct" else n for n in grouped.column_names])
    large_enough = pc.greater_equal(grouped["customers"], k)
    kept = grouped.filter(large_enough)
    return kept.select([*by, "customers", *[f"{c}_{fn}" for c, fn in measures]]), grouped.num_rows - kept.num_rows
