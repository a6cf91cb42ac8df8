"""Route planning: feasible (capacities, windows, shift), complete (nothing dropped silently), deterministic."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from hub_platform.defs.orders.geofences import haversine_km
from hub_platform.defs.orders.routing import PlanningParameters, plan_routes

DEPOTS = pd.DataFrame({"location_id": ["DC-02", "ST-001"], "location_type": ["dc", "store"], "latitude": [50.0, 50.5],
                       "longitude": [8.0, 8.5], "timezone": ["Europe/Berlin", "Europe/Berlin"]})


def window(day: str, start: int, end: int) -> tuple[pd.Timestamp, pd.Timestamp]:
    local = pd.Timestamp(day)
    return (local + pd.Timedelta(hours=start)).tz_localize("Europe/Berlin").tz_convert("UTC"), \
        (local + pd.Timedelta(hours=end)).tz_localize("Europe/Berlin").tz_convert("UTC")


def orders(rows: list[tuple]) -> pd.DataFrame:
    """rows: (order_id, lat, lon, day, window start hour, window end hour, units)."""
    frame = []
    for order_id, lat, lon, day, start, end, units in rows:
        opens, closes = window(day, start, end)
        frame.append({"order_id": order_id, "depot_id": "DC-02", "ship_to_lat": lat, "ship_to_lon": lon,
                      "promised_start": opens, "promised_end": closes, "units": units})
    return pd.DataFrame(frame)


VANS = pd.DataFrame({"vehicle_id": ["VAN-1", "VAN-2"], "depot_id": "DC-02", "capacity_units": [100, 60],
                     "driver_id": ["DRV-1", "DRV-2"]})
DAY = orders([("A", 50.05, 8.00, "2026-10-27", 8, 10, 40), ("B", 50.10, 8.05, "2026-10-27", 8, 10, 40),
              ("C", 49.95, 7.95, "2026-10-27", 10, 12, 30), ("D", 50.00, 8.10, "2026-10-27", 14, 16, 30),
              ("E", 49.90, 8.05, "2026-10-27", 14, 16, 20)])


def test_capacities_windows_and_the_shift_are_respected():
    plan = plan_routes(DAY, VANS, DEPOTS)
    stops = plan.stops
    assert sorted(stops.order_id) == ["A", "B", "C", "D", "E"] and (stops.status == "planned").all()
    load = stops.groupby("vehicle_id").units.sum()
    assert (load <= VANS.set_index("vehicle_id").capacity_units.reindex(load.index)).all()
    assert (stops.planned_service_start >= stops.promised_start).all()  # never before the window: vans wait
    assert (stops.planned_arrival <= stops.promised_end).all() and stops.window_met.all()
    shift_start, shift_end = window("2026-10-27", 7, 19)
    assert (plan.routes.planned_departure >= shift_start).all() and (plan.routes.planned_return <= shift_end).all()
    assert plan.routes.windows_met.sum() == 5 and plan.routes.stops.sum() == 5
    assert stops.allocated_at.unique().tolist() == [window("2026-10-26", 18, 19)[0]]


def test_the_schedule_adds_up_leg_by_leg():
    plan = plan_routes(DAY, VANS, DEPOTS)
    depot = (50.0, 8.0)
    for route_id, route in plan.stops.groupby("route_id"):
        route = route.sort_values("stop_seq")
        assert route.stop_seq.tolist() == list(range(1, len(route) + 1))
        lat = np.r_[depot[0], route.ship_to_lat]
        lon = np.r_[depot[1], route.ship_to_lon]
        legs = haversine_km(lat[:-1], lon[:-1], lat[1:], lon[1:]) * 1.3
        assert route.leg_km.to_numpy() == pytest.approx(legs, abs=1e-3)
        drive = pd.to_timedelta(np.rint(legs / 38.0 * 3600), unit="s")
        departed = np.r_[plan.routes.set_index("route_id").planned_departure[route_id], route.planned_departure.iloc[:-1]]
        assert (route.planned_arrival.to_numpy() == (pd.DatetimeIndex(departed) + drive).to_numpy()).all()
        service = route.planned_departure - route.planned_service_start
        assert (service == pd.Timedelta(minutes=10)).all()
        summary = plan.routes.set_index("route_id").loc[route_id]
        assert summary.route_km == pytest.approx(legs.sum() + summary.return_km, abs=2e-3)


def test_the_plan_is_deterministic_and_ignores_input_order():
    first = plan_routes(DAY, VANS, DEPOTS)
    again = plan_routes(DAY.sample(frac=1, random_state=3), VANS.iloc[::-1], DEPOTS)
    pd.testing.assert_frame_equal(first.stops, again.stops)
    pd.testing.assert_frame_equal(first.routes, again.routes)


def test_an_order_larger_than_any_van_is_reported_not_dropped():
    plan = plan_routes(pd.concat([DAY, orders([("BIG", 50.0, 8.01, "2026-10-27", 8, 10, 150)])]), VANS, DEPOTS)
    big = plan.stops.set_index("order_id").loc["BIG"]
    assert big.status == "unassigned" and big.reason == "larger than any vehicle of the depot"
    assert pd.isna(big.vehicle_id) and not big.window_met
    assert (plan.stops.status == "planned").sum() == 5


def test_an_order_of_an_unknown_depot_is_reported():
    stray = orders([("X", 50.0, 8.0, "2026-10-27", 8, 10, 10)]).assign(depot_id="DC-99")
    stop = plan_routes(pd.concat([DAY, stray]), VANS, DEPOTS).stops.set_index("order_id").loc["X"]
    assert (stop.status, stop.reason) == ("unassigned", "depot not in the location master")
    assert pd.isna(stop.allocated_at)


def test_what_does_not_fit_today_is_planned_first_the_next_planning_day():
    one_van = VANS.iloc[:1]
    two_days = orders([("A", 50.05, 8.0, "2026-10-27", 8, 10, 60), ("B", 50.0, 8.05, "2026-10-27", 8, 10, 60),
                       ("C", 49.95, 8.0, "2026-10-28", 14, 16, 30)])
    stops = plan_routes(two_days, one_van, DEPOTS).stops.set_index("order_id")
    first_day = stops.loc[["A", "B"]]
    assert sorted(first_day.plan_date.astype(str)) == ["2026-10-27", "2026-10-28"]
    carried = first_day[first_day.deferred_days == 1]
    assert len(carried) == 1 and carried.plan_date.iloc[0] == pd.Timestamp("2026-10-28").date()
    assert not carried.window_met.iloc[0] and carried.stop_seq.iloc[0] == 1  # overdue: first stop of the day
    assert carried.route_id.iloc[0] == "VAN-1-20261028"
    assert stops.loc["C"].status == "planned" and stops.loc["C"].window_met


def test_an_order_that_never_fits_is_reported_with_its_last_planning_day():
    lonely = orders([("A", 50.05, 8.0, "2026-10-27", 8, 10, 60), ("B", 50.0, 8.05, "2026-10-27", 8, 10, 60)])
    stops = plan_routes(lonely, VANS.iloc[:1], DEPOTS).stops.set_index("order_id")
    assert sorted(stops.status) == ["planned", "unassigned"]
    left = stops[stops.status == "unassigned"].iloc[0]
    assert left.reason.startswith("no van had room or time") and left.deferred_days == 0


def test_a_late_arrival_is_planned_and_flagged_when_no_plan_meets_the_window():
    far = orders([("FAR", 50.9, 8.0, "2026-10-27", 7, 8, 10)])  # 100 km road, 2.6 h: cannot arrive by 08:00
    stop = plan_routes(far, VANS, DEPOTS, PlanningParameters()).stops.iloc[0]
    assert stop.status == "planned" and not stop.window_met
    assert stop.planned_arrival > stop.promised_end
