"""Geofences: distances, membership, jitter-proof visits, and the reference file's validation."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from hub_platform.defs.orders.geofences import (
    GeofenceError,
    VisitRules,
    derive_geofences,
    drop_zone_id,
    geofence_events,
    haversine_km,
    load_reference_geofences,
    parse_geofences,
    pings_in_geofences,
)

CENTRE = (50.0, 8.0)
METRES_PER_DEGREE_LAT = 111_195.08  # 2 pi R / 360 with R = 6371.0088 km


def north_of_centre(metres: float) -> tuple[float, float]:
    return CENTRE[0] + metres / METRES_PER_DEGREE_LAT, CENTRE[1]


def track(distances: list[float], vehicle: str = "VAN-1", start: str = "2026-10-26 08:00") -> pd.DataFrame:
    """Pings every 30 s at the given distances (m) north of the centre."""
    points = [north_of_centre(d) for d in distances]
    return pd.DataFrame({"vehicle_id": vehicle, "ts": pd.date_range(start, periods=len(points), freq="30s", tz="UTC"),
                         "lat": [p[0] for p in points], "lon": [p[1] for p in points]})


def circle(radius_m: float = 100.0, kind: str = "drop_zone") -> pd.DataFrame:
    return pd.DataFrame([{"geofence_id": "zone", "kind": kind, "name": "zone", "shape": "circle", "lat": CENTRE[0],
                          "lon": CENTRE[1], "radius_m": radius_m, "ring": None}])


def test_haversine_matches_known_distances():
    assert haversine_km(0, 0, 1, 0) == pytest.approx(111.195, abs=1e-3)
    assert haversine_km([51.5074, 0], [-0.1278, 0], [48.8566, 0], [2.3522, 90]) == pytest.approx([343.56, 10007.56], abs=0.5)


def test_circle_membership_with_buffer():
    pings = track([50, 99, 120, 150, 400])
    near = pings_in_geofences(pings, circle(), buffer_m=40)
    assert near.ping.tolist() == [0, 1, 2]  # 150 m and 400 m are beyond 100 + 40
    assert near.inside.tolist() == [True, True, False]
    assert near.distance_m.round(0).tolist() == [50, 99, 120]


def test_polygon_membership_and_distance_to_the_boundary():
    square = parse_geofences(pd.DataFrame([{"geofence_id": "sq", "kind": "restricted", "name": "", "lat": "", "lon": "",
                                            "radius_m": "", "ring": "[[7.99, 49.99], [8.01, 49.99], [8.01, 50.01], [7.99, 50.01]]"}]))
    pings = pd.DataFrame({"vehicle_id": "V", "ts": pd.date_range("2026-01-01", periods=3, freq="30s", tz="UTC"),
                          "lat": [50.0, 50.0103, 50.02], "lon": [8.0, 8.0, 8.0]})
    near = pings_in_geofences(pings, square, buffer_m=50)
    assert near.ping.tolist() == [0, 1]  # 50.0103 is ~33 m north of the edge, 50.02 is 1.1 km away
    assert near.inside.tolist() == [True, False]
    assert near.distance_m.iloc[1] == pytest.approx(0.0003 * METRES_PER_DEGREE_LAT, rel=0.01)
    # the same fence read back from a Delta table: its ring is an array of arrays, not a list of tuples
    stored = square.assign(ring=[np.array([np.array(corner) for corner in square.ring.iloc[0]], dtype=object)])
    assert pings_in_geofences(pings, stored, buffer_m=50).equals(near)


def test_a_van_bouncing_across_the_boundary_makes_one_visit():
    # approach, bounce around the 100 m edge for five minutes (jitter), then leave
    distances = [500, 300, 150, 95, 98, 104, 97, 106, 99, 103, 96, 108, 95, 102, 97, 200, 400, 600]
    pings = track(distances)
    events = geofence_events(pings, circle(), VisitRules(buffer_m=40, min_pings=2, dwell_after=pd.Timedelta(minutes=3)))
    assert events.event.tolist() == ["enter", "dwell", "exit"]
    enter, dwell, leave = events.itertuples()
    assert enter.event_at == pings.ts[3] and enter.confirmed_at == pings.ts[4]
    assert dwell.event_at == pings.ts[9]  # first ping 3 minutes after entering
    assert leave.event_at == pings.ts[15] and leave.confirmed_at == pings.ts[16]
    assert leave.minutes_inside == pytest.approx(6.0)
    assert set(events.visit_start) == {pings.ts[3]}


def test_a_stray_ping_or_a_drive_through_is_no_visit():
    stray = track([300, 90, 300, 300, 80, 400, 400])
    assert geofence_events(stray, circle()).empty


def test_without_persistence_every_bounce_would_count():
    pings = track([500, 95, 150, 95, 150, 95, 150, 500])
    strict = geofence_events(pings, circle(), VisitRules(buffer_m=0, min_pings=1))
    assert (strict.event == "enter").sum() == 3
    assert (geofence_events(pings, circle(), VisitRules(buffer_m=60, min_pings=1)).event == "enter").sum() == 1


def test_a_visit_still_open_at_the_last_ping_has_no_exit_and_vans_are_separate():
    pings = pd.concat([track([50] * 10, "VAN-1"), track([500, 50, 50, 500, 500], "VAN-2")], ignore_index=True)
    events = geofence_events(pings, circle())
    assert events[events.vehicle_id == "VAN-1"].event.tolist() == ["enter", "dwell"]
    assert events[events.vehicle_id == "VAN-2"].event.tolist() == ["enter", "exit"]


def test_derived_geofences_one_per_depot_and_delivery_point():
    locations = pd.DataFrame({"location_id": ["DC-01", "ST-001"], "location_name": ["Midlands DC", "Store"],
                              "location_type": ["dc", "store"], "latitude": [52.48, 51.5], "longitude": [-1.89, -0.1]})
    orders = pd.DataFrame({"customer_ref": ["A", "A", "B"], "ship_to_lat": [52.1, 52.1, 52.2], "ship_to_lon": [-1.5, -1.5, -1.6]})
    fences = derive_geofences(locations, orders)
    assert fences.geofence_id.tolist() == ["depot:DC-01", "drop:52.10000,-1.50000", "drop:52.20000,-1.60000"]
    assert fences.kind.tolist() == ["depot", "drop_zone", "drop_zone"]
    assert fences.radius_m.tolist() == [250.0, 100.0, 100.0]
    assert drop_zone_id([52.1], [-1.5])[0] == "drop:52.10000,-1.50000"


def test_the_reference_file_loads():
    fences = load_reference_geofences()
    assert set(fences.kind) == {"restricted"}
    assert set(fences["shape"]) == {"circle", "polygon"}
    assert fences.geofence_id.is_unique
    assert (fences.radius_m > 0).all()


def test_bad_reference_rows_are_all_reported_with_their_line():
    rows = pd.DataFrame([
        {"geofence_id": "a", "kind": "restricted", "name": "", "lat": "50", "lon": "8", "radius_m": "-5", "ring": ""},
        {"geofence_id": "a", "kind": "no_go", "name": "", "lat": "95", "lon": "x", "radius_m": "10", "ring": ""},
        {"geofence_id": "b", "kind": "restricted", "name": "", "lat": "", "lon": "", "radius_m": "", "ring": "[[8, 50], [8.1, 50]"},
        {"geofence_id": "c", "kind": "restricted", "name": "", "lat": "", "lon": "", "radius_m": "", "ring": "[[50, 8], [50.1, 8], [50, 95]]"},
        {"geofence_id": "d", "kind": "restricted", "name": "", "lat": "50", "lon": "8", "radius_m": "5", "ring": "[[8, 50], [8.1, 50], [8, 50.1]]"},
    ])
    with pytest.raises(GeofenceError) as error:
        parse_geofences(rows, origin="geofences.csv")
    message = str(error.value)
    assert message.startswith("geofences.csv: line 2: radius_m must be positive, got -5.0")
    for expected in ("line 3: geofence_id 'a' already used on line 2", "line 3: kind 'no_go' is not one of",
                     "line 3: lat 95.0 is outside -90..90", "line 3: lon 'x' is not a number",
                     "line 4: ring is not valid JSON", "line 5: ring corners must be [lon, lat]",
                     "line 6: give either lat, lon and radius_m (a circle) or ring (a polygon)"):
        assert expected in message


def test_a_missing_column_is_named():
    with pytest.raises(GeofenceError, match="missing column\\(s\\) radius_m"):
        parse_geofences(pd.DataFrame(columns=["geofence_id", "kind", "name", "lat", "lon", "ring"]))
