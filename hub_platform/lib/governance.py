"""Governance: which columns hold personal data, what each role may see of them, and what partners may ask.

Classification comes from the source contracts (``pii: true``) and follows a column by its name
through the zones: the forms derived from a PII column (DERIVED_SUFFIXES: the clean zone's
``<column>_key`` and ``<column>_original``, person records' ``first_name_canonical``,
``email_mailbox`` and ``email_digits``) are the same data, and downstream tables keep the names (a golden record's
``email`` is the contracts' ``email``). The same classification tags columns in the UI, drives
masking on the query path and keeps personal data out of metadata (:func:`redact_columns`).

Roles (the reference architecture's fine-grained access, enforced where data is read):

| role | zones | personal data |
|---|---|---|
| analyst | curated, customer360, product360, forecast, orders | every PII column replaced by a keyed hash (HMAC-SHA256): joins and counts still work, values cannot be read back |
| marketing | the same | contactable fields (name, e-mail, phone, address) in clear for customers who consented (``marketing_consent``), null for the rest; other PII hashed |
| steward | every zone, raw and clean included | everything in clear |
| partner | none | the clean room's aggregates only |

The hash key is a secret held by the service side only (runs and the query service): it comes only
from ``HUB_PII_HASH_KEY`` and is never written anywhere. Runs publish each analytic table with
personal data masked for analysts (:func:`publish_masked`), so an analyst's process reads hashes
without the key and cannot hash guesses; the query service takes the role from a bearer token
(serving/governed_api.py). The README's "The trust boundary" says what enforces it.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pyarrow as pa
import pyarrow.compute as pc
import yaml

from hub_platform.sources.contract import default_registry

if TYPE_CHECKING:
    from hub_platform.lib.lake.store import Lake

ROLES = ("analyst", "marketing", "steward", "partner")
ANALYTIC_ZONES = ("curated", "customer360", "product360", "forecast", "orders")
ALL_ZONES = ("raw", "clean", "quarantine", *ANALYTIC_ZONES)
CONTACTABLE = ("first_name", "last_name", "email", "phone", "street", "postcode")
CONSENT_COLUMN = "marketing_consent"
HASH_KEY_VARIABLE = "HUB_PII_HASH_KEY"
MASKED_ZONE = "masked"
# <pii column><suffix> is personal data too: clean-zone match keys and originals, identity resolution's
# nickname-resolved names, e-mail mailbox names and digits (defs/customer360/identity/records.py)
DERIVED_SUFFIXES = ("_key", "_original", "_canonical", "_mailbox", "_digits")


class AccessDenied(PermissionError):
    """The role may not read what was asked for."""


class MalformedQuestion(ValueError):
    """A clean-room question the hub cannot answer as asked (unknown column or aggregate, k too small)."""


def zones_for(role: str) -> tuple[str, ...]:
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}; use one of {', '.join(ROLES)}")
    return ALL_ZONES if role == "steward" else () if role == "partner" else ANALYTIC_ZONES


IDENTITY_PII = frozenset({"full_name", "national_id", "left_record", "right_record"})
"""Person-record and review columns that hold personal data under a name of their own: the full-name and
national-id roles, and the records a review pair shows a steward (JSON of names, dates, addresses)."""


@functools.cache
def pii_names() -> frozenset[str]:
    """Every column name the contracts classify as PII, with the forms derived from them (an identity
    attribute keeps its column's classification as ``attr_<column>``)."""
    declared = {name for contract in default_registry().sources.values() for name in contract.pii_columns}
    declared |= {f"attr_{name}" for name in declared} | IDENTITY_PII
    return frozenset(declared | {f"{n}{suffix}" for n in declared for suffix in DERIVED_SUFFIXES})


def pii_columns(columns: list[str]) -> set[str]:
    return set(columns) & pii_names()


def hash_key() -> bytes:
    """The masking key, which only the service side has (runs and ``hub serve``)."""
    key = os.environ.get(HASH_KEY_VARIABLE)
    if not key:
        raise AccessDenied(
            f"masking personal data needs the secret {HASH_KEY_VARIABLE}, which only runs and the query service hold "
            "(any long random string; keep it out of code and logs). Without it, read through the query service "
            "(HUB_QUERY_URL and HUB_API_TOKEN)"
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


def masked_zone(zone: str) -> str:
    """Where the masked copies of a zone's tables with personal data live (what analysts read)."""
    return f"{MASKED_ZONE}/{zone}"


def apply_role(table: pa.Table, role: str, key: bytes | None = None) -> pa.Table:
    """``table`` as ``role`` may see it (see the module docstring); ``key`` defaults to HUB_PII_HASH_KEY."""
    zones_for(role)
    personal = pii_columns(table.column_names)
    if role == "steward" or not personal:
        return table
    key = key or hash_key()
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


def publish_masked(lake: Lake, zone: str, name: str, table: pa.Table, keys: list[str], *, changed: bool) -> str:
    """Keep ``masked/<zone>/<name>`` equal to ``table`` as the analyst sees it; says what it did.

    Only analytic tables with personal data have a masked copy (the others are read as they are). It is
    written by the run that wrote the table, which holds the key; without the key the copy is not
    written (and analysts are refused that table) rather than the run failing.
    """
    if zone not in ANALYTIC_ZONES or not pii_columns(table.column_names):
        return "no personal data: analysts read the table itself"
    if not changed and lake.has_table(masked_zone(zone), name):
        return "unchanged"
    if not os.environ.get(HASH_KEY_VARIABLE):
        return f"not published: {HASH_KEY_VARIABLE} is not set in this run, so analysts cannot read this table"
    lake.sync(apply_role(table, "analyst", hash_key()), masked_zone(zone), name, keys=keys)
    return f"published to {masked_zone(zone)}/{name}"


# -- personal data outside the query path: metadata, logs ----------------------------------------

REDACTED = "‹pii›"
# Columns whose contents nobody has classified (a file's unexpected columns, kept as JSON): what is in
# them is unknown, so metadata treats them as personal data.
UNCLASSIFIED = frozenset({"_extra"})
_EMAIL = re.compile(r"[^\s'\"<>()\[\]{},;:|=]+@[^\s'\"<>()\[\]{},;:|=]+\.[A-Za-z]{2,}")


@functools.cache
def _quoted_pii_value() -> re.Pattern:
    """``<pii column>: '<value>'`` (a reason) or ``"<pii column>": "<value>"`` (JSON): the value is personal."""
    names = "|".join(sorted(map(re.escape, pii_names() | UNCLASSIFIED), key=len, reverse=True))
    return re.compile(rf"\b(?P<column>{names})\b['\"]?\s*[:=]\s*(?P<quote>['\"])(?P<value>.*?)(?<!\\)(?P=quote)")


def redact_text(text: str) -> str:
    """Free text (a quarantine reason, an error, an example) without the personal values it may quote:
    anything shaped like an e-mail address, and the quoted value after a PII column's name."""
    text = _quoted_pii_value().sub(lambda m: m.group(0).replace(m.group("value"), REDACTED, 1) if m.group("value") else m.group(0), text)
    return _EMAIL.sub(REDACTED, text)


def redact_columns(table: pa.Table) -> pa.Table:
    """``table`` with every PII (or unclassified) column's values replaced by a mark, nulls kept: for
    metadata and logs, which anyone with the UI or the instance reads. Stricter than the analyst's view on
    purpose: a keyed hash there would let whoever holds the key confirm guesses."""
    for name in sorted(pii_columns(table.column_names) | (UNCLASSIFIED & set(table.column_names))):
        index = table.column_names.index(name)
        valid = pc.is_valid(table[name])
        table = table.set_column(index, name, pc.if_else(valid, pa.scalar(REDACTED), pa.scalar(None, pa.string())))
    return table


# -- the clean room ------------------------------------------------------------------------------

CLEANROOM_FILE = Path(__file__).with_name("cleanroom.yaml")
CLEANROOM_K_VARIABLE = "HUB_CLEANROOM_K"
MIN_K = 5  # the smallest k configuration may set: below it, a group is close to a person
CLEANROOM_FUNCTIONS = ("sum", "mean")  # min and max would return one person's value


@dataclass(frozen=True)
class CleanRoomPolicy:
    """What partners may ask (``cleanroom.yaml``): the only grouping sets and measures, and k."""

    k: int
    grouping_sets: tuple[tuple[str, ...], ...]
    measures: tuple[str, ...]

    def declared(self, by: list[str]) -> tuple[str, ...]:
        for grouping in self.grouping_sets:
            if set(grouping) == set(by) and len(grouping) == len(by):
                return grouping
        sets = "; ".join(", ".join(g) for g in self.grouping_sets)
        raise MalformedQuestion(f"the clean room answers only its declared groupings ({sets}), not {', '.join(by) or 'none'}")

    def coarser(self, grouping: tuple[str, ...]) -> list[tuple[str, ...]]:
        """Declared groupings (and the grand total) that ``grouping`` refines: the ones it could be differenced with."""
        return [()] + [g for g in self.grouping_sets if set(g) < set(grouping)]


def cleanroom_policy(path: Path = CLEANROOM_FILE) -> CleanRoomPolicy:
    """The declared policy; ``HUB_CLEANROOM_K`` may raise k (or lower it to no less than MIN_K)."""
    declared = yaml.safe_load(path.read_text())
    k = int(os.environ.get(CLEANROOM_K_VARIABLE) or declared["k"])
    if k < MIN_K:
        raise ValueError(f"clean-room k is {k}; it may not be set below {MIN_K} ({CLEANROOM_K_VARIABLE} or {path.name})")
    personal = sorted(pii_columns([c for g in declared["grouping_sets"] for c in g] + declared["measures"]))
    if personal:
        raise ValueError(f"{path.name} declares personal data: {', '.join(personal)}")
    return CleanRoomPolicy(k, tuple(tuple(g) for g in declared["grouping_sets"]), tuple(declared["measures"]))


def cleanroom_aggregate(
    profile: pa.Table, by: list[str], measures: list[tuple[str, str]], policy: CleanRoomPolicy, *, entity: str = "customer_id"
) -> tuple[pa.Table, int]:
    """Aggregates for a partner over one declared grouping, every released group of at least k customers.

    ``measures``: (column, function) with a declared column and function sum or mean; the count of
    customers is always given. Groups smaller than k are suppressed, and so many more (smallest first)
    that, inside every group of a coarser declared grouping (and of the grand total), the suppressed
    groups hold no customer or at least k: subtracting the released groups of this answer from a
    coarser answer never gives fewer than k people.
    """
    asked = set(by) | {column for column, _ in measures}
    personal = pii_columns(sorted(asked)) | ({entity} & asked)
    if personal:
        raise AccessDenied(f"the clean room does not group by or aggregate personal data: {', '.join(sorted(personal))}")
    grouping = policy.declared(by)
    unknown = sorted({fn for _, fn in measures} - set(CLEANROOM_FUNCTIONS))
    if unknown:
        raise MalformedQuestion(f"aggregate(s) {', '.join(unknown)} not allowed; use {' or '.join(CLEANROOM_FUNCTIONS)} "
                                "(min and max would give one person's value)")
    undeclared = sorted({column for column, _ in measures} - set(policy.measures))
    if undeclared:
        raise MalformedQuestion(f"not a declared measure: {', '.join(undeclared)}; declared: {', '.join(policy.measures)}")
    missing = sorted((set(grouping) | {c for c, _ in measures}) - set(profile.column_names))
    if missing:
        raise MalformedQuestion(f"no such columns: {', '.join(missing)}")
    grouped = profile.group_by(list(grouping)).aggregate([(entity, "count_distinct"), *[(c, fn) for c, fn in measures]])
    grouped = grouped.rename_columns(["customers" if n == f"{entity}_count_distinct" else n for n in grouped.column_names])
    released = _complementary_suppression(grouped.select([*grouping, "customers"]).to_pandas(), grouping, policy)
    kept = grouped.filter(pa.array(released))
    answer = kept.select([*grouping, "customers", *[f"{c}_{fn}" for c, fn in measures]]).sort_by([(c, "ascending") for c in grouping])
    return answer, grouped.num_rows - kept.num_rows


def _complementary_suppression(cells, grouping: tuple[str, ...], policy: CleanRoomPolicy):
    """Which cells may be released: at least k customers each, and within every cell of each coarser
    grouping the suppressed ones hold 0 or at least k customers (else the next smallest is suppressed too)."""
    released = (cells["customers"] >= policy.k).to_numpy()
    changed = True
    while changed:  # suppressing for one coarser grouping can open a gap in another: repeat until none
        changed = False
        for coarse in policy.coarser(grouping):
            parts = cells.groupby(list(coarse), dropna=False, sort=False).indices.values() if coarse else [range(len(cells))]
            for part in parts:
                part = list(part)
                hidden = sum(int(cells["customers"].iat[i]) for i in part if not released[i])
                while 0 < hidden < policy.k:
                    shown = [i for i in part if released[i]]
                    if not shown:
                        break
                    smallest = min(shown, key=lambda i: cells["customers"].iat[i])
                    released[smallest] = False
                    hidden += int(cells["customers"].iat[smallest])
                    changed = True
    return released
