"""Every column is described, in plain text: shared meanings, a table's own, and the contracts'."""

import re

import pyarrow as pa

from hub_platform.defs.clean.conform import clean_schema
from hub_platform.lib.columns import CLEAN_LINEAGE, MANIFEST_COLUMNS, SHARED, contract_column_descriptions, describe
from hub_platform.lib.metadata import column_schema, markdown_table
from hub_platform.sources.contract import default_registry

MARKDOWN = re.compile(r"`|\*\*|\]\(|^#", re.M)


def test_every_column_of_every_clean_table_is_described_from_its_contract():
    for feed, contracts in default_registry().feeds.items():
        names = clean_schema(contracts[0]).names
        described = describe(names, contract_column_descriptions(contracts[0]))
        assert set(names) == set(described), f"clean/{feed}: {sorted(set(names) - set(described))}"


def test_a_contract_column_without_words_is_described_by_what_it_declares():
    products = contract_column_descriptions(default_registry().source("erp_products"))
    assert products["unit_weight_kg"] == "Unit weight kg (decimal(10,3); optional; converted from lb to kg; file column unit_weight_lb)."
    assert products["sku_key"].startswith("Match key:")


def test_descriptions_are_plain_text():
    texts = [*SHARED.values(), *CLEAN_LINEAGE.values(), *MANIFEST_COLUMNS.values()]
    texts += [t for contracts in default_registry().feeds.values() for t in contract_column_descriptions(contracts[0]).values()]
    assert not [t for t in texts if MARKDOWN.search(t)]


def test_a_table_s_own_description_wins_and_derived_columns_are_named_by_their_field():
    described = describe(["product_id", "lead_time_days", "dob_level", "email_weight", "mystery"],
                         {"lead_time_days": "Contractual lead time in days."})
    assert described["lead_time_days"] == "Contractual lead time in days."
    assert described["product_id"] == SHARED["product_id"]
    assert "dob" in described["dob_level"] and "email" in described["email_weight"]
    assert "mystery" not in described  # nothing invented for an unknown column


def test_the_ui_schema_carries_descriptions_and_previews_round_floats():
    table = pa.table({"product_id": ["SKU-1"], "p90": [37.80000000000001], "tiny": [0.000126389]})
    schema = column_schema(table.schema)
    assert {c.name: c.description for c in schema.columns}["p90"] == SHARED["p90"]
    preview = markdown_table(table)
    assert "| SKU-1 | 37.8 | 0.000126 |" in preview


def test_undefined_quality_figures_are_null_and_said_so_never_nan():
    from hub_platform.lib.metadata import figures

    shown = figures({"precision": float("nan"), "recall": 0.123456, "orders": 4}, undefined="nothing was alerted").value
    assert shown == {"precision": None, "recall": 0.1235, "orders": 4.0, "null_means": "precision: nothing was alerted"}
