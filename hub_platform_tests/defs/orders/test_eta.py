"""ETA: a van driving due north at a known speed, with hand-computed arrivals at its two stops."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from hub_platform.defs.orders.eta import EtaParameters, eta_accuracy, predict_arrivals, stop_visits
from hub_platform.defs.orders.geofences import derive_geofences, geofence_events
from hub_platform.defs.orders.routing import PlanningParameters

KM_PER_DEGREE_LAT = 111.19508
DEPOT = (50.0, 8.0)
T0 = pd.Timestamp("2026-10-27 08:00", tz="UTC")
STRAIGHT = EtaParameters(planning=PlanningParameters(road_factor=1.0, speed_kmh=36.0, service_minutes=10), every=None)


def at(minutes: float) -> pd.Timestamp:
    return T0 + pd.Timedelta(minutes=minutes)


def north(km: float) -> float:
    return DEPOT[0] + km / KM_PER_DEGREE_LAT


STOPS = pd.DataFrame({
    "route_id": "R", "vehicle_id": "V", "order_id": ["O1", "O2"], "stop_seq": [1, 2], "status": "planned",
    "ship_to_lat": [north(6), north(12)], "ship_to_lon": DEPOT[1], "leg_km": [6.0, 6.0],
    "promised_start": [at(0), at(60)], "promised_end": [at(60), at(120)], "planned_arrival": [at(10), at(30)],
})
ROUTES = pd.DataFrame({"route_id": ["R"], "vehicle_id": ["V"], "depot_id": ["DC"], "planned_departure": [at(0)],
                       "planned_return": [at(60)]})
LOCATIONS = pd.DataFrame({"location_id": ["DC"], "location_type": ["dc"], "latitude": [DEPOT[0]], "longitude": [DEPOT[1]]})


def drive(kmh: float = 36.0) -> pd.DataFrame:
    """Parked at the depot 07:55-08:00, north at ``kmh`` to stop 1 (6 km), parked 14 minutes, on to stop 2."""
    leg = 6 / kmh * 60  # minutes per leg
    minutes = np.arange(-5, 2 * leg + 14 + 5, 0.5)
    km = np.interp(minutes, [-5, 0, leg, leg + 14, 2 * leg + 14, 2 * leg + 19], [0, 0, 6, 6, 12, 12])
    moving = np.r_[False, np.diff(km) > 0]
    return pd.DataFrame({"vehicle_id": "V", "ts": [at(m) for m in minutes], "lat": north(km), "lon": DEPOT[1],
                         "speed_kmh": np.where(moving, kmh, 0.0)})


def visits_of(pings: pd.DataFrame) -> pd.DataFrame:
    orders = pd.DataFrame({"customer_ref": ["C1", "C2"], "ship_to_lat": STOPS.ship_to_lat, "ship_to_lon": STOPS.ship_to_lon})
    events = geofence_events(pings, derive_geofences(LOCATIONS, orders))
    return stop_visits(STOPS, ROUTES, events, STRAIGHT)


def test_visits_say_when_the_van_left_the_depot_reached_and_left_each_drop():
    visits = visits_of(drive()).set_index("order_id")
    assert visits.left_depot_at.unique().tolist() == [at(0.5)]  # first ping beyond the depot zone's band
    assert visits.arrived_at.tolist() == [at(10), at(34)]
    assert visits.loc["O1", "arrival_known_at"] == at(13)  # confirmed as a stay after 3 minutes
    assert visits.loc["O1", "departed_at"] == at(24.5)
    assert visits.loc["O1", "dwell_minutes"] == pytest.approx(14.5)


def test_eta_on_a_straight_road_at_a_known_speed():
    pings = drive()
    predictions = predict_arrivals(pings, STOPS, ROUTES, visits_of(pings), STRAIGHT).set_index(["predicted_at", "order_id"])
    # 08:05, 3 km out: 3 km at 36 km/h = 5 min; then 10 min planned service and 6 km = 10 min
    assert predictions.loc[(at(5), "O1"), "eta"] == at(10)
    assert predictions.loc[(at(5), "O2"), "eta"] == at(30)
    assert predictions.loc[(at(5), "O2"), "stops_before"] == 1
    assert predictions.loc[(at(5), "O1"), "speed_kmh"] == 36.0
    # 08:15 at stop 1 since 08:10: leaves after the planned 10 minutes of service, 08:20, arrives 08:30
    assert (at(15), "O1") not in predictions.index
    assert predictions.loc[(at(15), "O2"), "eta"] == at(30)
    # 08:25 on the way, 6.6 km out: 5.4 km to go = 9 minutes; the 14.5 min dwell seen is now known
    row = predictions.loc[(at(25), "O2")]
    assert row.eta == at(34) and row.distance_km == pytest.approx(5.4, abs=1e-3)
    assert row.observed_drops == 1 and row.dwell_minutes == pytest.approx((14.5 + 10) / 2)
    assert predictions.index.get_level_values("predicted_at").max() == at(36.5)  # until the stay is confirmed


def test_observed_speed_moves_the_estimate_from_the_planning_speed():
    pings = drive(kmh=18.0)  # half the planning speed: 20 minutes per leg
    predictions = predict_arrivals(pings, STOPS, ROUTES, visits_of(pings), STRAIGHT).set_index(["predicted_at", "order_id"])
    row = predictions.loc[(at(10), "O1")]  # 20 moving pings seen, worth as much as the prior's 20
    assert row.moving_pings == 20 and row.speed_kmh == pytest.approx(27.0)
    assert row.eta == at(10) + pd.Timedelta(hours=3 / 27.0)


def test_predictions_are_thinned_to_one_per_van_and_slot():
    pings = drive()
    cadence = EtaParameters(planning=STRAIGHT.planning, every=pd.Timedelta(minutes=5))
    predictions = predict_arrivals(pings, STOPS, ROUTES, visits_of(pings), cadence)
    times = sorted(predictions.predicted_at.unique())
    assert times[:3] == [at(-0.5), at(4.5), at(9.5)]  # the last ping of each 5-minute slot


def test_pings_outside_any_route_window_predict_nothing():
    late = drive().assign(ts=lambda f: f.ts + pd.Timedelta(hours=12))
    assert predict_arrivals(late, STOPS, ROUTES, visits_of(drive()), STRAIGHT).empty


def test_accuracy_by_route_and_overall():
    predictions = pd.DataFrame({
        "route_id": ["R1", "R1", "R1", "R2"], "order_id": ["A", "A", "B", "C"],
        "predicted_at": [at(0), at(10), at(50), at(0)], "eta": [at(36), at(28), at(40), at(70)]})
    actuals = pd.DataFrame({"order_id": ["A", "B", "C"], "actual_arrival": [at(30), at(45), at(60)]})
    by_route = eta_accuracy(predictions, actuals).set_index("route_id")
    assert by_route.loc["R1"].tolist() == [2, 1, 4.0, 2.0]  # B's prediction came after it arrived
    assert by_route.loc["R2"].tolist() == [1, 1, 10.0, 10.0]
    overall = eta_accuracy(predictions, actuals, by=())
    assert overall.mae_minutes.iloc[0] == pytest.approx(6.0) and overall.predictions.iloc[0] == 3
