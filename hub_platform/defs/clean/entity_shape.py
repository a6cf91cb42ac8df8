"""One feed, many shapes: each source's conformed rows in the schema of the feed's entity.

Every source is read and conformed by its own contract (its file columns, formats, units, null
tokens); the result then takes the entity's schema, so a feed's clean table — and what the curated
zone reads — is the same whichever sources it has and in whatever shape they deliver.
"""

from __future__ import annotations

import json

import pyarrow as pa


def to_entity(clean: pa.Table, schema: pa.Schema) -> pa.Table:
    """``clean`` (one source's conformed rows) in ``schema`` (its feed's, from the entity). Columns the
    source does not fill are null; columns the entity does not know move into ``_extra`` beside the
    file columns already there, so nothing is lost."""
    drift = tuple(name for name in clean.column_names if name not in schema.names)
    n = clean.num_rows
    columns = [clean[f.name].cast(f.type) if f.name in clean.column_names else pa.nulls(n, f.type) for f in schema]
    shaped = pa.Table.from_arrays(columns, schema=schema)
    if drift:
        shaped = shaped.set_column(schema.get_field_index("_extra"), "_extra", _merged_extra(clean, drift))
    return shaped


def _merged_extra(clean: pa.Table, drift: tuple[str, ...]) -> pa.Array:
    previous = clean["_extra"].to_pylist() if "_extra" in clean.column_names else [None] * clean.num_rows
    texts = []
    for before, row in zip(previous, clean.select(list(drift)).to_pylist(), strict=True):
        merged = {**(json.loads(before) if before else {}), **{k: v for k, v in row.items() if v is not None}}
        texts.append(json.dumps(merged, default=str, sort_keys=True) if merged else None)
    return pa.array(texts, pa.string())
