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
        (lambda t: t.replace("{type: csv}", "{type: csv, compression: rar}"), "format.compression: Input should be 'auto'"),
        (lambda t: t.replace("{type: csv}", "{type: csv, encoding: klingon}"), "unknown encoding 'klingon'"),
        (lambda t: t.replace("{type: csv}", "{type: csv, timezone: Mars/Olympus}"), "unknown time zone 'Mars/Olympus'"),
        (lambda t: t.replace("{type: csv}", "{type: csv, delimiter: ';;'}"), "must be one character"),
        (lambda t: t.replace("min: 0}", "min: 0, format: '%d/%m/%Y'}"), "format applies to date, timestamp, timestamptz columns"),
        (lambda t: t.replace("min: 0}", "min: 0, default: cheap}"), "amount: default 'cheap' is not a valid decimal(12,2)"),
        (lambda t: t.replace("required: true}", "required: true, on_invalid: null}"), "on_invalid: null would empty a required column"),
        (lambda t: t.replace("required: true}", "required: true, on_invalid: drop}"), "on_invalid: Input should be 'null' or 'quarantine'"),
        (lambda t: t.replace("min: 0}", "min: 0, decimal_separator: ',', thousands_separator: ','}"), "must differ"),
        (lambda t: t.replace("standardize: email}", "standardize: email, decimal_separator: ','}"), "apply to int, float and decimal"),
        (lambda t: t.replace("standardize: email}", "standardize: email, source: mail, derive: {concat: [a, b]}}"), "not both"),
        (lambda t: t.replace("standardize: email}", "standardize: email, derive: {concat: [a]}}"), "at least two file columns"),
        (lambda t: t.replace("standardize: email}", "standardize: email, derive: {concat: [a, b], coalesce: [a, b]}}"), "exactly one of"),
        (lambda t: t.replace("- {name: email, type: string, pii: true, standardize: email}",
                             "- {name: at, type: date, format: 'day %q'}"), "has no date directive"),
    ],
)
def test_malformed_contracts_are_rejected_with_a_clear_reason(edit, message):
    with pytest.raises(ContractError, match="shop_orders.yaml") as caught:
        parse_contract(edit(GOOD), origin="contracts/shop_orders.yaml")
    assert message in str(caught.value)


def test_real_file_options_parse():
    contract = parse_contract(GOOD.replace("{type: csv}", "{type: csv, compression: gzip, null_values: ['N/A']}") + """
  - {name: shipped, type: date, format: ["%d-%b-%y", "%m/%d/%Y"], on_invalid: quarantine}
  - {name: weight, type: float, on_invalid: null, null_values: [], thousands_separator: ","}
  - {name: currency, type: string, default: USD}
  - {name: street, type: string, derive: {concat: [house_no, street_name], separator: " "}}
""")
    assert contract.format.compression == "gzip" and contract.format.null_values == ["N/A"]
    shipped, weight, currency, street = (contract.column(n) for n in ("shipped", "weight", "currency", "street"))
    assert shipped.format == ["%d-%b-%y", "%m/%d/%Y"] and shipped.quarantines_invalid
    assert weight.on_invalid == "null" and not weight.quarantines_invalid and weight.null_values == []
    assert contract.column("order_id").quarantines_invalid and not contract.column("email").quarantines_invalid
    assert currency.default_text == "USD" and street.file_columns == ["house_no", "street_name"]
    assert contract.missing_required(["amount"]) == ["order_id"]


def test_a_fingerprint_follows_meaning_not_layout():
    reflowed = GOOD.replace("keys: [order_id]", "keys:\n  - order_id  # the business key")
    assert parse_contract(reflowed).fingerprint() == parse_contract(GOOD).fingerprint()
    assert parse_contract(GOOD.replace("min: 0}", "min: 1}")).fingerprint() != parse_contract(GOOD).fingerprint()


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
