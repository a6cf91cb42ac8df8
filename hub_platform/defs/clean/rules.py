"""Expectations the contracts cannot say: relations between columns, written by hand per feed.

Each rule is data (feed → expectation builders) so adding one is a line here; the GX bridge runs
them with the contract-derived suite and reports them with their note.
"""

from __future__ import annotations

from collections.abc import Callable


def _pair(a: str, b: str, note: str, *, or_equal: bool = True) -> Callable:
    def build(gx):
        expectation = gx.expectations.ExpectColumnPairValuesAToBeGreaterThanB(
            column_A=a, column_B=b, or_equal=or_equal, ignore_row_if="either_value_is_missing"
        )
        expectation.notes = note
        return expectation

    return build


RULES: dict[str, list[Callable]] = {
    "erp_purchase_orders": [
        _pair("expected_date", "order_date", "a supplier cannot be expected to deliver before the order"),
        _pair("qty", "received_qty", "receipts never exceed what was ordered"),
    ],
    "erp_sales_orders": [
        _pair("promised_end", "promised_start", "a promised delivery window ends after it starts", or_equal=False),
        _pair("promised_start", "order_ts", "delivery is promised after the order is placed"),
    ],
    "shop_floor_production": [_pair("good_units", "scrap_units", "a shift makes more good units than scrap")],
}


def hand_written(feed: str) -> list:
    """The feed's hand-written expectations, built against the GX module on first use."""
    if feed not in RULES:
        return []
    import great_expectations as gx

    return [build(gx) for build in RULES[feed]]
