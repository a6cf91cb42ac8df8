"""Order timeline: each step from the source that reports it, no invented steps, the current status."""

from __future__ import annotations

import pandas as pd

from hub_platform.defs.orders.timeline import order_timeline


def utc(text: str) -> pd.Timestamp:
    return pd.Timestamp(text, tz="UTC")


NaT = pd.NaT
# F1 delivered with a proof of delivery; F2 seen at its drop, proof not (yet) in; F3 never fitted in a van;
# F4 delivered before telemetry covered it (proof only). W1 and W2 go by carrier.
ORDERS = pd.DataFrame({
    "order_id": ["F1", "F2", "F3", "F4"], "customer_ref": ["ACC-1", "ACC-2", "ACC-3", "ACC-1"], "depot_id": "DC-01",
    "ordered_at": [utc("2026-10-25 10:00")] * 4,
    "promised_start": [utc("2026-10-27 08:00"), utc("2026-10-27 07:30"), utc("2026-10-27 10:00"), utc("2026-10-26 08:00")],
    "promised_end": [utc("2026-10-27 09:00"), utc("2026-10-27 08:30"), utc("2026-10-27 12:00"), utc("2026-10-26 10:00")],
    "units": [10, 20, 5, 30]})
ONLINE = pd.DataFrame({"order_id": ["W1", "W1", "W2"], "customer_ref": ["U1", "U1", "U2"],
                       "ordered_at": [utc("2026-10-26 12:00")] * 2 + [utc("2026-10-27 12:00")],
                       "promised_start": [utc("2026-10-29 08:00")] * 2 + [utc("2026-10-30 08:00")],
                       "promised_end": [utc("2026-10-29 20:00")] * 2 + [utc("2026-10-30 20:00")]})
STOPS = pd.DataFrame({
    "route_id": ["VAN-1-20261027", "VAN-1-20261027", None, "VAN-1-20261026"], "vehicle_id": ["VAN-1", "VAN-1", None, "VAN-1"],
    "driver_id": ["DRV-1", "DRV-1", None, "DRV-1"], "stop_seq": pd.array([1, 2, pd.NA, 1], dtype="Int64"),
    "order_id": ["F1", "F2", "F3", "F4"], "status": ["planned", "planned", "unassigned", "planned"],
    "plan_date": [pd.Timestamp("2026-10-27").date()] * 3 + [pd.Timestamp("2026-10-26").date()],
    "reason": [None, None, "larger than any vehicle of the depot", None],
    "allocated_at": [utc("2026-10-26 17:00")] * 3 + [utc("2026-10-25 17:00")]})
VISITS = pd.DataFrame({
    "route_id": ["VAN-1-20261027", "VAN-1-20261027"], "vehicle_id": "VAN-1", "order_id": ["F1", "F2"], "stop_seq": [1, 2],
    "left_depot_at": [utc("2026-10-27 08:00")] * 2, "arrived_at": [utc("2026-10-27 08:20"), utc("2026-10-27 09:00")],
    "departed_at": [utc("2026-10-27 08:35"), NaT], "dwell_minutes": [15.0, float("nan")]})
POD = pd.DataFrame({"order_id": ["F1", "F4"], "vehicle_id": "VAN-1",
                    "delivered_at": [utc("2026-10-27 08:33"), utc("2026-10-26 09:50")],
                    "delivered_units": [10, 25], "damaged_units": [0, 2], "signature_captured": [True, True],
                    "documents_complete": [True, False]})
CARRIER_EVENTS = pd.DataFrame({
    "order_id": ["W1"] * 5 + ["W2"], "carrier": "carrier_swiftship", "tracking_no": ["SW1"] * 5 + ["SW2"],
    "status": ["picked_up", "in_transit", "exception", "out_for_delivery", "delivered", "picked_up"],
    "status_code": ["PU", "IT", "EX", "OFD", "DL", "PU"],
    "event_at": [utc("2026-10-27 08:00"), utc("2026-10-27 18:00"), utc("2026-10-28 06:00"), utc("2026-10-29 07:00"),
                 utc("2026-10-29 15:00"), utc("2026-10-28 08:00")]})


def timeline() -> pd.DataFrame:
    return order_timeline(ORDERS, ONLINE, STOPS, VISITS, CARRIER_EVENTS, POD)


def steps_of(frame: pd.DataFrame, order_id: str) -> list[tuple[str, pd.Timestamp, str]]:
    rows = frame[frame.order_id == order_id]
    return list(zip(rows.step, rows["at"], rows.source, strict=True))


def test_fleet_order_steps_come_from_erp_plan_geofences_and_the_proof_of_delivery():
    frame = timeline()
    assert steps_of(frame, "F1") == [
        ("placed", utc("2026-10-25 10:00"), "erp_sales_orders"), ("allocated", utc("2026-10-26 17:00"), "route_plan"),
        ("shipped", utc("2026-10-27 08:00"), "geofence"), ("out_for_delivery", utc("2026-10-27 08:00"), "geofence"),
        ("delivered", utc("2026-10-27 08:33"), "driver_pod")]
    # the second stop is out for delivery when the van leaves the first; without a proof the stay at the drop says delivered
    assert steps_of(frame, "F2")[3:] == [("out_for_delivery", utc("2026-10-27 08:35"), "geofence"),
                                         ("delivered", utc("2026-10-27 09:00"), "geofence")]
    f1 = frame[frame.order_id == "F1"].iloc[0]
    assert (f1.channel, f1.customer_ref, f1.current_status) == ("fleet", "ACC-1", "delivered")
    assert (f1.promised_start, f1.promised_end) == (utc("2026-10-27 08:00"), utc("2026-10-27 09:00"))
    assert frame[frame.order_id == "F1"].detail.tolist()[1] == "VAN-1 stop 1 on 2026-10-27"


def test_an_order_no_van_could_take_is_an_exception():
    frame = timeline()
    assert [s for s, _, _ in steps_of(frame, "F3")] == ["placed", "exception"]
    assert frame[frame.order_id == "F3"].detail.iloc[-1] == "larger than any vehicle of the depot"
    assert frame[frame.order_id == "F3"].current_status.iloc[0] == "exception"
    unknown_depot = STOPS.assign(allocated_at=STOPS.allocated_at.where(STOPS.order_id != "F3"))  # never allocated
    frame = order_timeline(ORDERS, ONLINE, unknown_depot, VISITS, CARRIER_EVENTS, POD)
    assert steps_of(frame, "F3")[-1] == ("exception", utc("2026-10-25 10:00"), "route_plan")  # as old as the order


def test_carrier_orders_follow_the_carrier_scans_and_a_later_delivery_supersedes_an_exception():
    frame = timeline()
    assert steps_of(frame, "W1") == [
        ("placed", utc("2026-10-26 12:00"), "web_orders"), ("shipped", utc("2026-10-27 08:00"), "carrier_swiftship"),
        ("exception", utc("2026-10-28 06:00"), "carrier_swiftship"),
        ("out_for_delivery", utc("2026-10-29 07:00"), "carrier_swiftship"),
        ("delivered", utc("2026-10-29 15:00"), "carrier_swiftship")]
    w1 = frame[frame.order_id == "W1"]
    assert set(w1.current_status) == {"delivered"} and set(w1.channel) == {"carrier"}
    assert (w1.promised_start.iloc[0], w1.promised_end.iloc[0]) == (utc("2026-10-29 08:00"), utc("2026-10-29 20:00"))
    assert frame[frame.order_id == "W2"].current_status.iloc[0] == "shipped"


def test_no_source_reports_picking_so_there_is_no_picked_step():
    frame = timeline()
    assert "picked" not in set(frame.step)
    assert not frame.duplicated(["order_id", "step"]).any()
    assert frame.groupby("order_id").step_rank.apply(lambda r: r.is_monotonic_increasing).loc[["F1", "F2", "W2"]].all()
