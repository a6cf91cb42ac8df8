"""Carrier codes in one vocabulary; an unknown code is quarantined with its reason, never dropped."""

from datetime import date, datetime

import pytest

from hub_platform.defs.curated.shipments import canonical_modes, freight_shipments, shipment_events, shipments
from hub_platform.sources.reference import ReferenceError, carrier_status_map, shipment_modes

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


def test_freight_shipments_take_canonical_modes_and_are_on_time_by_the_scheduled_day(spark):
    lines = spark.createDataFrame(
        [("scms", "scms", "ASN-1", "PO-1", "Air Charter", None, date(2006, 5, 1), date(2006, 6, 2), date(2006, 6, 2), 10),
         ("scms", "scms", "ASN-1", "PO-1", "Air Charter", None, date(2006, 5, 1), date(2006, 6, 2), date(2006, 6, 3), 5),
         ("scms", "scms", "ASN-2", "PO-2", " TRUCK ", "Acme Haulage", None, date(2006, 6, 2), None, 5),
         ("scms", "scms", "ASN-3", "PO-3", "Hovercraft", None, None, date(2006, 6, 2), date(2006, 6, 1), 5)],
        "_namespace string, _source string, shipment_id string, po_id string, mode string, carrier string, ordered_date date, "
        "scheduled_date date, delivered_date date, qty long")
    modes = spark.createDataFrame(shipment_modes()[["text", "mode"]])
    rows = {r.tracking_no: r for r in freight_shipments(canonical_modes(lines, modes)).collect()}
    assert (rows["ASN-1"].mode, rows["ASN-1"].status, rows["ASN-1"].on_time, rows["ASN-1"].units) == ("air", "delivered", False, 15)
    assert (rows["ASN-2"].mode, rows["ASN-2"].status, rows["ASN-2"].on_time, rows["ASN-2"].carrier) == ("road", "in_transit", None, "Acme Haulage")
    assert (rows["ASN-3"].mode, rows["ASN-3"].mode_text, rows["ASN-3"].on_time) == (None, "Hovercraft", True)  # unmapped: kept, no mode
    assert rows["ASN-1"].promised_end == datetime(2006, 6, 2) and rows["ASN-1"].delivered_at == datetime(2006, 6, 3)


def test_the_transport_mode_file_is_validated_on_load(tmp_path):
    bad = tmp_path / "shipment_modes.csv"
    bad.write_text("text,mode,meaning\nAir,air,x\nair,air,twice\nboat,sea,not canonical\n")
    with pytest.raises(ReferenceError, match="rows 2, 3, 4"):
        shipment_modes(bad)
