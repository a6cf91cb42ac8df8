"""Carrier codes in one vocabulary; an unknown code is quarantined with its reason, never dropped."""

from datetime import datetime

import pytest

from hub_platform.defs.curated.shipments import shipment_events, shipments
from hub_platform.sources.reference import ReferenceError, carrier_status_map

pytestmark = pytest.mark.spark

EVENTS = [  # tracking_no, order_id, status_code, event_ts, _source, _file_checksum, _row_number
    ("T1", "WEB-1", "PU", datetime(2026, 6, 1, 8), "carrier_swiftship", "f1", 1),
    ("T1", "WEB-1", "HLD", datetime(2026, 6, 1, 20), "carrier_swiftship", "f1", 2),
    ("T1", "WEB-1", "DL", datetime(2026, 6, 2, 15), "carrier_swiftship", "f1", 3),
    ("T2", "WEB-2", "90", datetime(2026, 6, 3, 21), "carrier_northfreight", "f2", 1),
]


@pytest.fixture(scope="module")
def shipped(spark):
    events = spark.createDataFrame(
        [(*e[:4], None, None, None, *e[4:]) for e in EVENTS],
        "tracking_no string, order_id string, status_code string, event_ts timestamp, lat double, lon double, "
        "location_text string, _source string, _file_checksum string, _row_number long",
    )
    orders = spark.createDataFrame(
        [("WEB-1", 11, "online", datetime(2026, 6, 2, 18)), ("WEB-2", 12, "online", datetime(2026, 6, 3, 18)),
         ("WEB-1", 99, "b2b", datetime(2026, 6, 9, 18))],  # another channel's order with the same id: not shipped by carriers
        "order_id string, order_key long, channel string, promised_end timestamp",
    )
    known, unmapped = shipment_events(events, spark.createDataFrame(carrier_status_map()), orders)
    return known.collect(), unmapped.collect(), {s.tracking_no: s for s in shipments(known, orders).collect()}


def test_codes_map_to_canonical_statuses_and_an_unknown_one_is_quarantined_with_its_reason(shipped):
    known, unmapped, _ = shipped
    assert sorted((e.tracking_no, e.status) for e in known) == [("T1", "delivered"), ("T1", "picked_up"), ("T2", "delivered")]
    assert [(u.status_code, u.rule, u._row_number) for u in unmapped] == [("HLD", "unmapped_status", 2)]
    assert "carrier_swiftship" in unmapped[0].reason and "carrier_status.csv" in unmapped[0].reason
    assert len(known) + len(unmapped) == len(EVENTS)  # every event is accounted for


def test_a_shipment_has_its_latest_status_and_is_on_time_only_if_delivered_by_the_promise(shipped):
    _, _, by_tracking = shipped
    assert (by_tracking["T1"].status, by_tracking["T1"].on_time, by_tracking["T1"].order_key) == ("delivered", True, 11)
    assert (by_tracking["T2"].status, by_tracking["T2"].on_time) == ("delivered", False)  # 21:00 after an 18:00 promise


def test_a_broken_mapping_file_says_which_row_is_wrong(tmp_path):
    bad = tmp_path / "carrier_status.csv"
    bad.write_text("carrier,status_code,status,meaning\nc1,A,delivered,ok\nc1,B,lost,?\nc1,A,exception,twice\n")
    with pytest.raises(ReferenceError) as error:
        carrier_status_map(bad)
    assert "row 3: status 'lost'" in str(error.value) and "c1/A" in str(error.value)
