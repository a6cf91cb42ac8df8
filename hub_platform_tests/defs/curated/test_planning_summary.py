"""The planning summary in the UI says why risks are high, with the figures, not only how many."""

from datetime import date

import pyarrow as pa

from hub_platform.defs.curated.assets import planning_summary


def test_the_summary_explains_high_risk_with_cover_and_lead_time():
    plan = pa.table({
        "product_key": [1, 2, 3], "product_id": ["P1", "P2", "P3"], "location_id": ["ST-1"] * 3,
        "snapshot_date": [date(2026, 10, 30)] * 3, "on_hand": [2, 4, 50], "in_transit": [0, 0, 0],
        "demand_per_day": [1.0, 1.0, 1.0], "days_of_cover": [2.0, 4.0, 50.0], "lead_time_days": [10.0, 12.0, 10.0],
        "lead_time_source": ["observed", "contractual", "observed"], "reorder_point": [12.0, 14.0, 12.0],
        "suggested_order_qty": [15, 13, 0], "stockout_risk": ["high", "high", "low"],
        "demand_source": ["published forecast (p50)"] * 3,
        "risk_reason": ["on hand 2 lasts 2.0 days", "on hand 4 lasts 4.0 days", "covers"],
    })
    summary = planning_summary(plan)["summary"].value
    assert "median cover is 2.0 days against a median lead time of 10.0 days" in summary or \
        "median cover is 4.0 days against a median lead time of 12.0 days" in summary  # approximate median of two
    assert "contractual for 1, observed for 1" in summary
    assert "on hand 2 lasts 2.0 days" in summary  # each urgent row carries its reason
    assert "28 units" in summary and "| high | 2 |" in summary
