"""Source contracts: one YAML file per source system feed, loaded into validated models.

A *source* is one delivery stream from one system instance (``pos_north``, ``carrier_swiftship``).
A *feed* is the shape of what it delivers (``pos_transactions``, ``carrier_events``): every source of
one feed lands in the same raw and clean tables, so the asset graph grows with the number of feeds,
not with the number of sources. Adding a source is adding one contract file.
"""

from __future__ import annotations

import functools
import hashlib
import re
from collections import defaultdict
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

if TYPE_CHECKING:
    from hub_platform.sources.entity import Entity

CONTRACTS_DIR = Path(__file__).parent / "contracts"

SYSTEMS = (
    "erp",
    "web",
    "mobile",
    "pos",
    "crm",
    "email",
    "contact_center",
    "carrier",
    "telemetry",
    "shop_floor",
)
STANDARDIZERS = (
    "name",
    "email",
    "phone",
    "address",
    "postcode",
    "country",
    "gtin",
    "currency",
    "product_code",
    "upper",
    "lower",
    "trim",
)
IDENTITY_ROLES = (
    "given_name", "surname", "full_name", "dob", "email", "phone", "street", "postcode", "city", "country",
    "national_id", "attribute",
)
"""What a column of a person source says about who the person is (customer-360 matches on these):
``attribute`` is any other identifying value compared as a category (birth place, occupation, gender)."""
_SCALAR_TYPES = ("string", "int", "float", "bool", "date", "timestamp", "timestamptz")
_DECIMAL = re.compile(r"^decimal\((\d{1,2}),\s*(\d{1,2})\)$")
_IDENTIFIER = re.compile(r"^[a-z][a-z0-9_]*$")


def known_type(value: str) -> bool:
    return value in _SCALAR_TYPES or bool(_DECIMAL.match(value))


def decimal_of(value: str) -> tuple[int, int] | None:
    """(precision, scale) of a ``decimal(p,s)`` type, else None."""
    match = _DECIMAL.match(value)
    return (int(match[1]), int(match[2])) if match else None


class ContractError(ValueError):
    """A contract file is malformed; the message names the file and what is wrong."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class UnitConversion(_Strict):
    """Multiply by ``factor`` to turn the source unit into the canonical one (e.g. lb -> kg)."""

    source_unit: str = Field(alias="from")
    target_unit: str = Field(alias="to")
    factor: float


COMPRESSIONS = ("auto", "none", "gzip", "bz2", "xz", "zstd", "zip")
TIME_TYPES = ("date", "timestamp", "timestamptz")
_DATE_DIRECTIVES = re.compile(r"%[YyjmbBdUWGVuaAx]")
_PROBE_TIME = datetime(2006, 6, 2, 13, 4, 5)


class Derive(_Strict):
    """A column built from file columns (as text) before it is typed: ``concat`` joins the present parts
    with ``separator`` (all missing: missing); ``coalesce`` takes the first present one."""

    concat: list[str] | None = None
    coalesce: list[str] | None = None
    separator: str = " "

    @model_validator(mode="after")
    def _one_kind(self) -> Derive:
        parts = [p for p in (self.concat, self.coalesce) if p is not None]
        if len(parts) != 1:
            raise ValueError("derive takes exactly one of concat: [...] or coalesce: [...]")
        if len(parts[0]) < 2:
            raise ValueError("derive needs at least two file columns")
        if self.coalesce is not None and "separator" in self.model_fields_set:
            raise ValueError("separator applies to concat only")
        return self

    @property
    def parts(self) -> list[str]:
        return self.concat if self.concat is not None else self.coalesce


class Column(_Strict):
    name: str
    type: str
    required: bool = False
    pii: bool = False
    description: str = ""
    source: str | None = None  # column name in the delivered file, when it differs from ``name``
    derive: Derive | None = None  # built from several file columns instead of read from one
    default: str | int | float | bool | None = None  # the value where the file has none
    null_values: list[str] | None = None  # tokens meaning "no value"; replaces the file's list for this column
    on_invalid: Literal["null", "quarantine"] | None = None  # default: quarantine if required, else null
    format: list[str] | None = None  # strftime patterns for dates and timestamps, tried in order
    decimal_separator: str = "."
    thousands_separator: str | None = None
    standardize: str | None = None
    default_region: str | None = None  # phone numbers without a country prefix
    region_column: str | None = None  # per-row region for phone numbers
    allowed: list[Any] | None = None
    min: float | None = None
    max: float | None = None
    unique: bool = False
    unit: UnitConversion | None = None
    identity: str | None = None  # the column's identity role (IDENTITY_ROLES) in a person source

    @field_validator("name")
    @classmethod
    def _identifier(cls, value: str) -> str:
        if not _IDENTIFIER.match(value):
            raise ValueError(f"column name {value!r} must be snake_case (a-z, 0-9, _)")
        return value

    @field_validator("type")
    @classmethod
    def _known_type(cls, value: str) -> str:
        if value in _SCALAR_TYPES or _DECIMAL.match(value):
            return value
        raise ValueError(f"unknown type {value!r}; use one of {', '.join(_SCALAR_TYPES)} or decimal(p,s)")

    @field_validator("standardize")
    @classmethod
    def _known_standardizer(cls, value: str | None) -> str | None:
        if value is not None and value not in STANDARDIZERS:
            raise ValueError(f"unknown standardizer {value!r}; use one of {', '.join(STANDARDIZERS)}")
        return value

    @field_validator("identity")
    @classmethod
    def _known_role(cls, value: str | None) -> str | None:
        if value is not None and value not in IDENTITY_ROLES:
            raise ValueError(f"unknown identity role {value!r}; use one of {', '.join(IDENTITY_ROLES)}")
        return value

    @field_validator("on_invalid", mode="before")
    @classmethod
    def _yaml_null(cls, value):
        return "null" if value is None else value  # YAML reads `on_invalid: null` as None

    @field_validator("format", mode="before")
    @classmethod
    def _one_or_many(cls, value):
        return [value] if isinstance(value, str) else value

    @field_validator("format")
    @classmethod
    def _patterns(cls, value: list[str] | None) -> list[str] | None:
        if value is None:
            return None
        if not value:
            raise ValueError("format lists at least one strftime pattern")
        for pattern in value:
            if not _DATE_DIRECTIVES.search(pattern):
                raise ValueError(f"format {pattern!r} has no date directive (%Y, %y, %m, %b, %d, ...)")
            try:
                datetime.strptime(_PROBE_TIME.strftime(pattern), pattern)
            except ValueError as error:
                raise ValueError(f"format {pattern!r} is not a usable strftime pattern ({error})") from None
        return value

    @model_validator(mode="after")
    def _coherent(self) -> Column:
        if self.format is not None and self.type not in TIME_TYPES:
            raise ValueError(f"format applies to {', '.join(TIME_TYPES)} columns, not {self.type}")
        numeric = self.type in ("int", "float") or bool(self.decimal)
        if (self.thousands_separator is not None or self.decimal_separator != ".") and not numeric:
            raise ValueError("decimal_separator and thousands_separator apply to int, float and decimal columns")
        if self.thousands_separator is not None and self.thousands_separator == self.decimal_separator:
            raise ValueError("thousands_separator and decimal_separator must differ")
        if self.derive and self.source:
            raise ValueError("a column is read from one file column (source) or derived from several (derive), not both")
        if self.required and self.on_invalid == "null":
            raise ValueError("on_invalid: null would empty a required column; use on_invalid: quarantine or drop required")
        return self

    @property
    def file_column(self) -> str:
        return self.source or self.name

    @property
    def file_columns(self) -> list[str]:
        """The file columns this column is read from."""
        return self.derive.parts if self.derive else [self.file_column]

    @property
    def quarantines_invalid(self) -> bool:
        """The one rule for a present value the column cannot hold (type, standardize, allowed, range)."""
        return (self.on_invalid or ("quarantine" if self.required else "null")) == "quarantine"

    @property
    def default_text(self) -> str | None:
        """The default as the text a file would carry (booleans as true/false)."""
        if self.default is None:
            return None
        return str(self.default).lower() if isinstance(self.default, bool) else str(self.default)

    @property
    def decimal(self) -> tuple[int, int] | None:
        match = _DECIMAL.match(self.type)
        return (int(match[1]), int(match[2])) if match else None


class FileFormat(_Strict):
    type: Literal["csv", "jsonl", "parquet", "cdc_jsonl"]
    delimiter: str = ","
    encoding: str = "utf-8"
    timezone: str = "UTC"  # zone of naive timestamps in the file; stored as UTC
    compression: Literal["auto", "none", "gzip", "bz2", "xz", "zstd", "zip"] = "auto"  # auto: by the bytes
    null_values: list[str] = Field(default_factory=list)  # tokens meaning "no value"; blank always does

    @field_validator("delimiter")
    @classmethod
    def _one_character(cls, value: str) -> str:
        if value == "\\t":
            return "\t"
        if len(value) != 1 or value in "\"\r\n":
            raise ValueError(f"delimiter {value!r} must be one character other than a quote or a line break")
        return value

    @field_validator("encoding")
    @classmethod
    def _known_encoding(cls, value: str) -> str:
        import codecs

        try:
            codecs.lookup(value)
        except LookupError:
            raise ValueError(f"unknown encoding {value!r} (use a Python codec name such as utf-8, latin-1, cp1252, utf-16)") from None
        return value

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r} (use an IANA name such as Europe/London or UTC)") from None
        return value


class Cdc(_Strict):
    """Where a change feed keeps its ordering and operation columns."""

    sequence: str  # log sequence number: changes apply in this order, not arrival order
    operation: str
    operations: dict[str, Literal["insert", "update", "delete"]] = Field(
        default_factory=lambda: {"I": "insert", "U": "update", "D": "delete"}
    )


class Contract(_Strict):
    name: str
    description: str
    system: str
    feed: str
    entity: str
    owner: str = "team:data-platform"
    format: FileFormat
    keys: list[str]
    columns: list[Column]
    cdc: Cdc | None = None
    # keep every delivered version of a row in clean/<feed>_history, for type-2 history downstream
    history: bool = False
    tags: dict[str, str] = Field(default_factory=dict)
    # the id space of the source's business ids (default: its own name); sources of one system share one
    namespace: str | None = None
    # among the sources of one master entity (product, supplier, location), the lower comes first
    precedence: int = 100

    @field_validator("name", "feed", "entity", "namespace")
    @classmethod
    def _identifier(cls, value: str | None) -> str | None:
        if value is not None and not _IDENTIFIER.match(value):
            raise ValueError(f"{value!r} must be snake_case (a-z, 0-9, _)")
        return value

    @field_validator("system")
    @classmethod
    def _known_system(cls, value: str) -> str:
        if value not in SYSTEMS:
            raise ValueError(f"unknown system {value!r}; use one of {', '.join(SYSTEMS)}")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> Contract:
        names = [c.name for c in self.columns]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"duplicate columns: {', '.join(duplicates)}")
        if not self.keys:
            raise ValueError("keys must name at least one column")
        missing = [k for k in self.keys if k not in names]
        if missing:
            raise ValueError(f"keys {missing} are not declared columns")
        is_cdc_format = self.format.type == "cdc_jsonl"
        if is_cdc_format != (self.cdc is not None):
            raise ValueError("format cdc_jsonl and a cdc: section go together")
        if self.history and self.cdc:
            raise ValueError("history: a change feed keeps every event in clean/<feed>_changes already")
        if self.cdc:
            for role, column in (("sequence", self.cdc.sequence), ("operation", self.cdc.operation)):
                if column not in names:
                    raise ValueError(f"cdc {role} column {column!r} is not a declared column")
        roles = [c.identity for c in self.columns if c.identity and c.identity != "attribute"]
        repeated = sorted({r for r in roles if roles.count(r) > 1})
        if repeated:
            raise ValueError(f"identity role(s) {', '.join(repeated)} declared on more than one column (only 'attribute' may repeat)")
        for column in self.columns:
            if column.region_column and column.region_column not in names:
                raise ValueError(f"{column.name}: region_column {column.region_column!r} is not declared")
            if column.format and self.format.type == "parquet":
                raise ValueError(f"{column.name}: format applies to text files; Parquet carries typed dates")
            if column.default is not None:
                _check_default(column, self.format.timezone)
        return self

    def fingerprint(self) -> str:
        """What the clean zone's result of a file depends on: the validated contract (not its YAML
        layout or comments) and the reference data its standardizers read. A change replays the source."""
        from hub_platform.sources.reference import standardizer_reference_digest

        kinds = sorted({c.standardize for c in self.columns if c.standardize})
        text = self.model_dump_json(by_alias=True) + standardizer_reference_digest(kinds)
        return hashlib.sha256(text.encode()).hexdigest()

    @property
    def pii_columns(self) -> list[str]:
        return [c.name for c in self.columns if c.pii]

    @property
    def identity_columns(self) -> dict[str, str]:
        """Column name -> identity role, for the columns that declare one."""
        return {c.name: c.identity for c in self.columns if c.identity}

    @property
    def required_columns(self) -> list[Column]:
        return [c for c in self.columns if c.required]

    def missing_required(self, found: list[str]) -> list[str]:
        """The file columns of required columns that a file with columns ``found`` lacks. A column with
        a default is never missing; a derived one is present when any of its parts is."""
        present = set(found)
        return [" + ".join(c.file_columns) for c in self.required_columns
                if c.default is None and not present.intersection(c.file_columns)]

    def column(self, name: str) -> Column:
        for column in self.columns:
            if column.name == name:
                return column
        raise KeyError(name)

    def feed_signature(self) -> tuple[tuple[str, str], ...]:
        """What every source of one feed must agree on: column names and types."""
        return tuple((c.name, c.type) for c in self.columns)


def _check_default(column: Column, timezone: str) -> None:
    """A default must be a value the column can hold: parsed now, so a typo fails at load, not per row."""
    import pyarrow as pa

    from hub_platform.defs.clean.conform import parse_column

    _, invalid = parse_column(pa.array([column.default_text.strip() or None], pa.string()), column, timezone)
    if invalid[0]:
        raise ValueError(f"{column.name}: default {column.default!r} is not a valid {column.type}")


class Registry(BaseModel):
    """All contracts, indexed by source, by feed and by the entity they feed."""

    model_config = ConfigDict(frozen=True)

    sources: dict[str, Contract]
    entities: dict[str, Entity] = Field(default_factory=dict)

    @functools.cached_property
    def feeds(self) -> dict[str, list[Contract]]:
        by_feed: dict[str, list[Contract]] = defaultdict(list)
        for contract in self.sources.values():
            by_feed[contract.feed].append(contract)
        return dict(sorted(by_feed.items()))

    def feed_contract(self, feed: str) -> Contract:
        """The contract that defines a feed's schema where no catalogued entity does (then all of the feed's contracts agree)."""
        return self.feeds[feed][0]

    def feed_entity(self, feed: str) -> Entity | None:
        """The catalogued entity whose schema the feed's clean table has (None: the feed's own contract's)."""
        return self.entities.get(self.feeds[feed][0].entity)

    def feeds_of(self, entity: str) -> list[str]:
        """The feeds whose sources feed ``entity``: what a curated build of it reads."""
        return [feed for feed, contracts in self.feeds.items() if contracts[0].entity == entity]

    def namespace(self, source: str) -> str:
        """The id space of a source's business ids: equal ids of two namespaces are different things."""
        contract = self.source(source)
        return contract.namespace or contract.name

    def masters(self, entity: str) -> list[Contract]:
        """The sources of a master entity in precedence order (lower ``precedence`` first, then by name)."""
        return sorted((c for c in self.sources.values() if c.entity == entity), key=lambda c: (c.precedence, c.name))

    def source(self, name: str) -> Contract:
        try:
            return self.sources[name]
        except KeyError:
            raise KeyError(f"no contract for source {name!r}; known: {', '.join(sorted(self.sources))}") from None


def parse_contract(text: str, origin: str = "<string>", entities: dict[str, Entity] | None = None) -> Contract:
    """Parse one contract document, turning every problem into a ContractError naming ``origin``.

    When its ``entity`` is catalogued (``entities``, default: sources/entities/), what its columns
    leave unsaid is the entity's, and a contract that does not fit its entity is refused."""
    entities = default_entities() if entities is None else entities
    try:
        document = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.YAMLError as error:
        raise ContractError(f"{origin}: not valid YAML: {error}") from None
    if not isinstance(document, dict):
        raise ContractError(f"{origin}: a contract is a YAML mapping, got {type(document).__name__}")
    entity = entities.get(document.get("entity"))
    if entity is not None:
        document = inherit(document, entity)
    try:
        contract = Contract.model_validate(document)
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'contract'}: {e['msg']}" for e in error.errors()
        )
        raise ContractError(f"{origin}: {problems}") from None
    if entity is not None and (problems := misfits(contract, entity)):
        raise ContractError(f"{origin}: does not fit entity {entity.name!r}: " + "; ".join(problems))
    return contract


def load_registry(directory: Path | str = CONTRACTS_DIR, entities: dict[str, Entity] | None = None) -> Registry:
    """Load every ``*.yaml`` contract in ``directory`` and check they fit together (and their entities)."""
    entities = default_entities() if entities is None else entities
    directory = Path(directory)
    paths = sorted(directory.glob("*.yaml"))
    if not paths:
        raise ContractError(f"{directory}: no contract files (*.yaml)")
    sources: dict[str, Contract] = {}
    for path in paths:
        contract = parse_contract(path.read_text(encoding="utf-8"), origin=str(path), entities=entities)
        if contract.name != path.stem:
            raise ContractError(f"{path}: name {contract.name!r} must match the file name {path.stem!r}")
        sources[contract.name] = contract
    registry = Registry(sources=sources, entities=entities)
    for feed, contracts in registry.feeds.items():
        reference = contracts[0]
        for other in contracts[1:]:
            # a catalogued entity gives the feed its schema, so its sources may each bring their own shape
            if reference.entity not in entities and other.feed_signature() != reference.feed_signature():
                raise ContractError(
                    f"feed {feed!r}: source {other.name!r} declares columns {other.feed_signature()} "
                    f"but {reference.name!r} declares {reference.feed_signature()}; "
                    "sources of one feed must agree on column names and types"
                )
            if (other.entity, bool(other.cdc), other.history) != (reference.entity, bool(reference.cdc), reference.history):
                raise ContractError(f"feed {feed!r}: {other.name!r} and {reference.name!r} disagree on entity, cdc or history")
    return registry


def default_entities() -> dict[str, Entity]:
    from hub_platform.sources.entity import default_entities as catalogue  # the entity module builds on this one

    return catalogue()


def inherit(document: dict, entity: Entity) -> dict:
    from hub_platform.sources.entity import inherit as from_entity

    return from_entity(document, entity)


def misfits(contract: Contract, entity: Entity) -> list[str]:
    from hub_platform.sources.entity import misfits as problems

    return problems(contract, entity)


@functools.cache
def default_registry() -> Registry:
    return load_registry(CONTRACTS_DIR)
