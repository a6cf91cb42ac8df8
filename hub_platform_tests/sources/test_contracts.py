from pathlib import Path

import pytest

from hub_platform.sources.contract import ContractError, default_registry, load_registry, parse_contract

GOOD = """
name: shop_orders
description: Orders from a web shop.
system: web
feed: shop_orders
entity: sales_order_line
format: {type: csv}
keys: [order_id]
columns:
  - {name: order_id, type: string, required: true}
  - {name: amount, type: "decimal(12,2)", min: 0}
  - {name: email, type: string, pii: true, standardize: email}
"""


def write(folder: Path, name: str, text: str) -> None:
    (folder / f"{name}.yaml").write_text(text)


def test_shipped_contracts_load_and_cover_every_system():
    registry = default_registry()
    systems = {c.system for c in registry.sources.values()}
    assert systems == {"erp", "web", "mobile", "pos", "crm", "email", "contact_center", "carrier", "telemetry", "shop_floor"}
    assert all(registry.feed_contract(feed).feed == feed for feed in registry.feeds)
    assert any(c.cdc for c in registry.sources.values()), "the CRM change feed is declared"


def test_a_good_contract_parses():
    contract = parse_contract(GOOD)
    assert contract.pii_columns == ["email"]
    assert contract.column("amount").decimal == (12, 2)
    assert [c.name for c in contract.required_columns] == ["order_id"]


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda t: t.replace("type: string, required", "type: text, required"), "unknown type 'text'"),
        (lambda t: t.replace("keys: [order_id]", "keys: [order_no]"), "keys ['order_no'] are not declared columns"),
        (lambda t: t.replace("system: web", "system: mainframe"), "unknown system 'mainframe'"),
        (lambda t: t.replace("standardize: email", "standardize: shout"), "unknown standardizer 'shout'"),
        (lambda t: t.replace("format: {type: csv}", "format: {type: xml}"), "format.type"),
        (lambda t: t + "colour: blue\n", "colour: Extra inputs are not permitted"),
        (lambda t: t.replace("name: order_id,", "name: Order-ID,"), "must be snake_case"),
        (lambda t: t.replace("{type: csv}", "{type: cdc_jsonl}"), "cdc_jsonl and a cdc: section go together"),
        (lambda t: t.replace("keys: [order_id]", "keys: [order_id\n"), "not valid YAML"),
        (lambda _t: "- just a list", "a contract is a YAML mapping"),
    ],
)
def test_malformed_contracts_are_rejected_with_a_clear_reason(edit, message):
    with pytest.raises(ContractError, match="shop_orders.yaml") as caught:
        parse_contract(edit(GOOD), origin="contracts/shop_orders.yaml")
    assert message in str(caught.value)


def test_file_name_must_match_the_source_name(tmp_path):
    write(tmp_path, "other_name", GOOD)
    with pytest.raises(ContractError, match="must match the file name 'other_name'"):
        load_registry(tmp_path)


def test_sources_of_one_feed_must_agree_on_columns(tmp_path):
    write(tmp_path, "shop_orders", GOOD)
    write(tmp_path, "shop_orders_eu", GOOD.replace("name: shop_orders", "name: shop_orders_eu").replace("decimal(12,2)", "float"))
    with pytest.raises(ContractError, match="sources of one feed must agree"):
        load_registry(tmp_path)


def test_empty_folder_is_an_error(tmp_path):
    with pytest.raises(ContractError, match="no contract files"):
        load_registry(tmp_path)


def test_many_sources_of_one_feed_make_one_feed(tmp_path):
    for i in range(300):
        write(tmp_path, f"shop_{i:03d}", GOOD.replace("name: shop_orders", f"name: shop_{i:03d}"))
    registry = load_registry(tmp_path)
    assert len(registry.sources) == 300
    assert list(registry.feeds) == ["shop_orders"]
