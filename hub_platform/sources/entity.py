"""Canonical entities: the shape the curated zone reads for one kind of record, one YAML file each.

An entity (``sources/entities/shipment_line.yaml``) names a kind of record — a shipment line, a
purchase order line, a product of a system of record — and documents its columns: type, whether
every source must fill it, its meaning, its canonical unit and standardizer. A contract says which
entity its source feeds; its column names are the entity columns it fills, and whatever it leaves
unsaid about a column (type, standardizer, allowed values, range, PII) is the entity's. Each source
keeps its own parsing rules (file column names, formats, units, null tokens, defaults), so sources
of very different shapes feed one entity, and the clean table of a feed has the entity's schema
whichever sources it has. The curated zone reads every feed of an entity.

People are the exception: customer-360 reads every feed whose entity is ``customer`` or ``contact``
whatever its columns and resolves identities by matching, so person sources are not catalogued here.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError, field_validator, model_validator

from hub_platform.sources.contract import STANDARDIZERS, Registry, decimal_of, known_type

ENTITIES_DIR = Path(__file__).parent / "entities"
# what a contract column takes from its entity column when it does not say
INHERITED = ("type", "required", "pii", "description", "standardize", "allowed", "min", "max")
# standardizers that add columns to the clean table (<column>_key, the clean zone's MATCH_KEY_KINDS);
# PII adds <column>_original
_DERIVING = frozenset({"name", "address", "email"})
_IDENTIFIER = re.compile(r"^[a-z][a-z0-9_]*$")


class EntityError(ValueError):
    """An entity file is malformed; the message names the file and what is wrong."""


class EntityColumn(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    type: str
    required: bool = False  # every row of every source has a value (the feed's GX suite checks it)
    pii: bool = False
    description: str = ""
    standardize: str | None = None
    allowed: list[Any] | None = None
    min: float | None = None
    max: float | None = None
    unit: str | None = None  # the canonical unit values are in (sources convert with their contract's ``unit``)
    refers_to: str | None = None  # an id in this entity's master (product, supplier, location): see curated/entities.py

    @field_validator("name")
    @classmethod
    def _identifier(cls, value: str) -> str:
        if not _IDENTIFIER.match(value):
            raise ValueError(f"column name {value!r} must be snake_case (a-z, 0-9, _)")
        return value

    @property
    def decimal(self) -> tuple[int, int] | None:
        return decimal_of(self.type)


class Entity(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    description: str
    keys: list[str]  # the business key inside one source; a clean table is keyed by (_source, *keys)
    columns: list[EntityColumn]

    @model_validator(mode="after")
    def _consistent(self) -> Entity:
        names = [c.name for c in self.columns]
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise ValueError(f"duplicate columns: {', '.join(repeated)}")
        if not self.keys or any(k not in names for k in self.keys):
            raise ValueError(f"keys {self.keys} must name declared columns")
        return self

    @property
    def required_columns(self) -> list[EntityColumn]:
        return [c for c in self.columns if c.required]

    def column(self, name: str) -> EntityColumn | None:
        return next((c for c in self.columns if c.name == name), None)


def parse_entity(text: str, origin: str = "<string>") -> Entity:
    try:
        document = yaml.safe_load(text)
        entity = Entity.model_validate(document)
    except yaml.YAMLError as error:
        raise EntityError(f"{origin}: not valid YAML: {error}") from None
    except ValidationError as error:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'entity'}: {e['msg']}" for e in error.errors())
        raise EntityError(f"{origin}: {problems}") from None
    problems = [f"{c.name}: unknown type {c.type!r}" for c in entity.columns if not known_type(c.type)]
    problems += [f"{c.name}: unknown standardizer {c.standardize!r}" for c in entity.columns
                 if c.standardize and c.standardize not in STANDARDIZERS]
    if problems:
        raise EntityError(f"{origin}: " + "; ".join(problems))
    return entity


def load_entities(directory: Path | str = ENTITIES_DIR) -> dict[str, Entity]:
    """Every ``*.yaml`` entity in ``directory``, by name (which must be the file's name)."""
    entities = {}
    for path in sorted(Path(directory).glob("*.yaml")):
        entity = parse_entity(path.read_text(encoding="utf-8"), origin=str(path))
        if entity.name != path.stem:
            raise EntityError(f"{path}: name {entity.name!r} must match the file name {path.stem!r}")
        entities[entity.name] = entity
    for entity in entities.values():
        for column in entity.columns:
            if column.refers_to and column.refers_to not in entities:
                raise EntityError(f"{directory}/{entity.name}.yaml: {column.name} refers to unknown entity {column.refers_to!r}")
    return entities


@functools.cache
def default_entities() -> dict[str, Entity]:
    return load_entities(ENTITIES_DIR)


def inherit(document: dict, entity: Entity) -> dict:
    """The contract document with what it leaves unsaid taken from its entity: each column's type,
    standardizer, allowed values, range, PII flag and description, and the keys."""
    columns = []
    for column in document.get("columns") or []:
        known = entity.column(column.get("name")) if isinstance(column, dict) else None
        if known is not None:
            canonical = known.model_dump(include=set(INHERITED), exclude_defaults=True)
            column = {**canonical, **column}
        columns.append(column)
    return {"keys": list(entity.keys), **document, "columns": columns}


def misfits(contract, entity: Entity) -> list[str]:
    """How a contract fails to fit its entity (empty when it fits)."""
    declared = {c.name: c for c in contract.columns}
    problems = []
    for column in entity.columns:
        mine = declared.get(column.name)
        if mine is None:
            if column.required:
                problems.append(f"entity column {column.name!r} is required but the contract does not fill it")
            continue
        if mine.type != column.type:
            problems.append(f"{column.name} is {column.type} in entity {entity.name!r}, the contract says {mine.type}")
        if column.required and not (mine.required or getattr(mine, "default", None) is not None):
            problems.append(f"{column.name} is required by entity {entity.name!r}: make it required or give it a default")
        if (mine.standardize in _DERIVING or column.standardize in _DERIVING) and mine.standardize != column.standardize:
            problems.append(f"{column.name}: standardizer {mine.standardize!r} differs from the entity's {column.standardize!r}, "
                            "which decides the feed's derived columns")
        if mine.pii != column.pii:
            problems.append(f"{column.name}: pii differs from the entity's ({column.pii})")
    if list(contract.keys) != list(entity.keys):
        problems.append(f"keys {contract.keys} differ from the entity's {entity.keys}")
    return problems


def drift(contract, entity: Entity) -> list[str]:
    """The contract's columns its entity does not know: kept in clean's ``_extra`` and reported."""
    return [c.name for c in contract.columns if entity.column(c.name) is None]


# the registry holds the catalogue; its Entity annotation resolves once this module is loaded
Registry.model_rebuild(_types_namespace={"Entity": Entity})
