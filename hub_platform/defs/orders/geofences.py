"""Geofences: where a vehicle is, and when it entered, stayed in and left a place.

A geofence is a row of data, not code: ``geofence_id``, ``kind`` (``depot``, ``drop_zone``,
``restricted``), ``name``, ``shape`` (``circle`` or ``polygon``), ``lat``/``lon`` (a circle's centre,
a polygon's centroid), ``radius_m`` (a circle's radius, a polygon's bounding radius around the
centroid) and ``ring`` (a polygon's corners as ``[(lon, lat), ...]``; None for circles). Depot and
drop-zone circles are derived from the location master and the orders; restricted zones are reference
data a person edits (``hub_platform/sources/reference/geofences.csv``).

Membership is vectorized: a KD-tree over the pings' unit vectors finds the pings near each fence
(chord radius), then the exact test runs only on those pairs (haversine for circles, ray casting in
a local metric projection for polygons). That keeps the cost near O(pings log pings) instead of
pings x fences.

GPS jitter (about 10 m per axis at the 30 s cadence) makes a vehicle parked near a boundary bounce
across it. ``VisitRules`` turns bouncing pings into one visit with two defences:

- hysteresis: a vehicle enters when it is strictly inside the fence, and leaves only when it is more
  than ``buffer_m`` (40 m, four standard deviations of the jitter) outside it; pings in the band
  between keep the current state;
- persistence: entering needs ``min_pings`` consecutive pings inside, leaving ``min_pings``
  consecutive pings beyond the band (2 pings: one minute at the 30 s cadence), so a single stray
  ping never makes an event and a van driving through a 100 m drop zone at speed does not enter it.

A visit that lasts ``dwell_after`` (3 minutes) also gets a ``dwell`` event: that is what tells a
stop at a customer from passing by it in a jam.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

from hub_platform.sources.reference import REFERENCE_DIR

EARTH_RADIUS_KM = 6371.0088
KINDS = ("depot", "drop_zone", "restricted")
SHAPES = ("circle", "polygon")
GEOFENCE_COLUMNS = ["geofence_id", "kind", "name", "shape", "lat", "lon", "radius_m", "ring"]
EVENT_COLUMNS = ["vehicle_id", "geofence_id", "kind", "event", "event_at", "confirmed_at", "visit_start", "minutes_inside"]
REFERENCE_GEOFENCES = REFERENCE_DIR / "geofences.csv"


class GeofenceError(ValueError):
    """Reference geofences are malformed; the message names every bad row and what is wrong with it."""


@dataclass(frozen=True)
class VisitRules:
    """How jittery pings become enter, dwell and exit events (see the module docstring)."""

    buffer_m: float = 40.0
    min_pings: int = 2
    dwell_after: pd.Timedelta = pd.Timedelta(minutes=3)


def haversine_km(lat1, lon1, lat2, lon2) -> np.ndarray:
    """Great-circle distance in km, element-wise over arrays (broadcasting like numpy)."""
    lat1, lon1, lat2, lon2 = (np.radians(np.asarray(v, dtype=float)) for v in (lat1, lon1, lat2, lon2))
    a = np.sin((lat2 - lat1) / 2) ** 2 + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2
    return 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))


def drop_zone_id(lat, lon) -> np.ndarray:
    """The drop zone of a delivery address: named by its coordinates (5 decimals, as the ERP writes
    them), so orders, plans and geofence events join on it without a lookup table."""
    lat, lon = np.asarray(lat, dtype=float), np.asarray(lon, dtype=float)
    return np.array([f"drop:{a:.5f},{o:.5f}" for a, o in zip(lat, lon, strict=True)], dtype=object)


def depot_zone_id(location_id) -> np.ndarray:
    return np.array([f"depot:{x}" for x in np.asarray(location_id, dtype=object)], dtype=object)


def derive_geofences(locations: pd.DataFrame, orders: pd.DataFrame, *, depot_radius_m: float = 250.0,
                     drop_radius_m: float = 100.0) -> pd.DataFrame:
    """Depot circles from the distribution centres (``locations``: location_id, location_type,
    location_name, latitude, longitude) and one drop-zone circle per distinct delivery point
    (``orders``: customer_ref, ship_to_lat, ship_to_lon). A depot yard is larger than a customer's
    forecourt, hence the two radii."""
    dcs = locations[locations.location_type == "dc"]
    depots = pd.DataFrame({"geofence_id": depot_zone_id(dcs.location_id), "kind": "depot",
                           "name": dcs.get("location_name", dcs.location_id).to_numpy(), "shape": "circle",
                           "lat": dcs.latitude.to_numpy(float), "lon": dcs.longitude.to_numpy(float),
                           "radius_m": depot_radius_m, "ring": None})
    points = (orders.groupby(["ship_to_lat", "ship_to_lon"], sort=True).customer_ref
              .agg(lambda refs: ", ".join(sorted(set(refs)))).reset_index())
    drops = pd.DataFrame({"geofence_id": drop_zone_id(points.ship_to_lat, points.ship_to_lon), "kind": "drop_zone",
                          "name": points.customer_ref.to_numpy(), "shape": "circle",
                          "lat": points.ship_to_lat.to_numpy(float), "lon": points.ship_to_lon.to_numpy(float),
                          "radius_m": drop_radius_m, "ring": None})
    return pd.concat([depots, drops], ignore_index=True)[GEOFENCE_COLUMNS]


def parse_geofences(frame: pd.DataFrame, origin: str = "geofences") -> pd.DataFrame:
    """Validate person-edited geofence rows (all values as text) into the geofence frame.

    Expected columns: geofence_id, kind, name, lat, lon, radius_m, ring. A circle gives lat, lon and
    radius_m; a polygon gives ring, a JSON list of ``[lon, lat]`` corners (at least three; closing
    the ring is optional). Every problem is collected, then raised at once with its line number
    (line 1 is the header), so one edit fixes them all.
    """
    expected = ["geofence_id", "kind", "name", "lat", "lon", "radius_m", "ring"]
    missing = [c for c in expected if c not in frame.columns]
    if missing:
        raise GeofenceError(f"{origin}: missing column(s) {', '.join(missing)}; expected {', '.join(expected)}")
    problems: list[str] = []
    rows = []
    seen: dict[str, int] = {}
    for offset, record in enumerate(frame.fillna("").astype(str).to_dict("records")):
        line = offset + 2
        record = {k: v.strip() for k, v in record.items()}
        errors: list[str] = []
        gid = record["geofence_id"]
        if not gid:
            errors.append("geofence_id is empty")
        elif gid in seen:
            errors.append(f"geofence_id {gid!r} already used on line {seen[gid]}")
        else:
            seen[gid] = line
        if record["kind"] not in KINDS:
            errors.append(f"kind {record['kind']!r} is not one of {', '.join(KINDS)}")
        has_ring = bool(record["ring"])
        has_circle = any(record[c] for c in ("lat", "lon", "radius_m"))
        row = {"geofence_id": gid, "kind": record["kind"], "name": record["name"] or gid}
        if has_ring == has_circle:
            errors.append("give either lat, lon and radius_m (a circle) or ring (a polygon), not both or neither")
        elif has_ring:
            ring, ring_errors = _parse_ring(record["ring"])
            errors += ring_errors
            if not ring_errors:
                lat, lon, radius = _bounding_circle(ring)
                row.update(shape="polygon", lat=lat, lon=lon, radius_m=radius, ring=ring)
        else:
            lat, lon, radius = (_number(record[c], c, errors) for c in ("lat", "lon", "radius_m"))
            if lat is not None and not -90 <= lat <= 90:
                errors.append(f"lat {lat} is outside -90..90")
            if lon is not None and not -180 <= lon <= 180:
                errors.append(f"lon {lon} is outside -180..180")
            if radius is not None and radius <= 0:
                errors.append(f"radius_m must be positive, got {radius}")
            row.update(shape="circle", lat=lat, lon=lon, radius_m=radius, ring=None)
        problems += [f"line {line}: {e}" for e in errors]
        rows.append(row)
    if problems:
        raise GeofenceError(f"{origin}: " + "; ".join(problems))
    return pd.DataFrame(rows, columns=GEOFENCE_COLUMNS)


def load_reference_geofences(path: Path = REFERENCE_GEOFENCES) -> pd.DataFrame:
    """The restricted zones (and any other hand-kept fences) from the reference CSV, validated."""
    return parse_geofences(pd.read_csv(path, dtype=str, keep_default_na=False), origin=str(path))


def _number(text: str, column: str, errors: list[str]) -> float | None:
    try:
        value = float(text)
    except ValueError:
        errors.append(f"{column} {text!r} is not a number")
        return None
    if not np.isfinite(value):
        errors.append(f"{column} {text!r} is not a finite number")
        return None
    return value


def _parse_ring(text: str) -> tuple[list[tuple[float, float]], list[str]]:
    try:
        points = json.loads(text)
    except json.JSONDecodeError as error:
        return [], [f"ring is not valid JSON ({error.msg} at character {error.pos})"]
    if not isinstance(points, list) or not all(isinstance(p, list) and len(p) == 2 for p in points):
        return [], ["ring must be a JSON list of [lon, lat] pairs"]
    try:
        ring = [(float(lon), float(lat)) for lon, lat in points]
    except (TypeError, ValueError):
        return [], ["ring corners must be numbers"]
    if len(ring) > 1 and ring[0] == ring[-1]:
        ring = ring[:-1]
    errors = []
    if len(ring) < 3:
        errors.append(f"ring needs at least 3 distinct corners, got {len(ring)}")
    if any(not (-180 <= lon <= 180 and -90 <= lat <= 90) for lon, lat in ring):
        errors.append("ring corners must be [lon, lat] with lon in -180..180 and lat in -90..90 (is a pair swapped?)")
    return ring, errors


def _bounding_circle(ring: list[tuple[float, float]]) -> tuple[float, float, float]:
    lons, lats = np.array(ring).T
    lat, lon = float(lats.mean()), float(lons.mean())
    return lat, lon, float(haversine_km(lat, lon, lats, lons).max() * 1000)


def _unit_vectors(lat, lon) -> np.ndarray:
    lat, lon = np.radians(np.asarray(lat, dtype=float)), np.radians(np.asarray(lon, dtype=float))
    return np.column_stack([np.cos(lat) * np.cos(lon), np.cos(lat) * np.sin(lon), np.sin(lat)])


def pings_in_geofences(pings: pd.DataFrame, geofences: pd.DataFrame, buffer_m: float = 0.0) -> pd.DataFrame:
    """Every (ping, geofence) pair where the ping (lat, lon) lies within the fence grown by ``buffer_m``.

    Returns ``ping`` (position in ``pings``), ``geofence_id``, ``inside`` (strictly inside the fence
    itself; False means in the buffer band) and ``distance_m`` (to a circle's centre; for polygons 0
    inside, else the distance to the boundary).
    """
    empty = pd.DataFrame({"ping": pd.Series(dtype="int64"), "geofence_id": pd.Series(dtype=object),
                          "inside": pd.Series(dtype=bool), "distance_m": pd.Series(dtype=float)})
    if pings.empty or geofences.empty:
        return empty
    lat, lon = pings.lat.to_numpy(float), pings.lon.to_numpy(float)
    tree = cKDTree(_unit_vectors(lat, lon))
    reach_km = (geofences.radius_m.to_numpy(float) + buffer_m) / 1000
    chords = 2 * np.sin(reach_km / (2 * EARTH_RADIUS_KM)) * 1.000001
    near = tree.query_ball_point(_unit_vectors(geofences.lat, geofences.lon), r=chords)
    counts = np.fromiter((len(n) for n in near), dtype=np.int64, count=len(near))
    if counts.sum() == 0:
        return empty
    fence = np.repeat(np.arange(len(geofences)), counts)
    ping = np.concatenate([np.asarray(n, dtype=np.int64) for n in near if n])
    distance = np.empty(len(ping))
    inside = np.empty(len(ping), dtype=bool)
    shapes = geofences["shape"].to_numpy()[fence]
    circle = shapes == "circle"
    centre_lat, centre_lon = geofences.lat.to_numpy(float)[fence], geofences.lon.to_numpy(float)[fence]
    distance[circle] = haversine_km(lat[ping[circle]], lon[ping[circle]], centre_lat[circle], centre_lon[circle]) * 1000
    inside[circle] = distance[circle] <= geofences.radius_m.to_numpy(float)[fence[circle]]
    rings = geofences.ring.to_numpy()
    for f in np.unique(fence[~circle]):
        rows = np.flatnonzero(fence == f)
        inside[rows], distance[rows] = _polygon_membership(lat[ping[rows]], lon[ping[rows]], rings[f])
    within = np.where(circle, distance <= geofences.radius_m.to_numpy(float)[fence] + buffer_m, distance <= buffer_m)
    result = pd.DataFrame({"ping": ping, "geofence_id": geofences.geofence_id.to_numpy()[fence],
                           "inside": inside, "distance_m": distance})
    return result[within].sort_values(["ping", "geofence_id"], kind="stable").reset_index(drop=True)


def _polygon_membership(lat: np.ndarray, lon: np.ndarray, ring) -> tuple[np.ndarray, np.ndarray]:
    """Inside (ray casting) and distance to the boundary in metres (0 inside), in an equirectangular
    projection around the polygon: exact enough for fences a few km across."""
    corners = np.array([tuple(point) for point in ring], dtype=float)  # tuples, lists or arrays read back from Delta
    lat0 = np.radians(corners[:, 1].mean())
    scale = np.array([np.cos(lat0), 1.0]) * np.radians(1) * EARTH_RADIUS_KM * 1000
    vertices = corners * scale
    points = np.column_stack([lon, lat]) * scale
    a, b = vertices, np.roll(vertices, -1, axis=0)
    px, py = points[:, :1], points[:, 1:]
    crosses = ((a[:, 1] > py) != (b[:, 1] > py)) & (
        px < (b[:, 0] - a[:, 0]) * (py - a[:, 1]) / np.where(b[:, 1] == a[:, 1], 1e-12, b[:, 1] - a[:, 1]) + a[:, 0])
    inside = crosses.sum(axis=1) % 2 == 1
    edge = b - a
    t = np.clip(((px - a[:, 0]) * edge[:, 0] + (py - a[:, 1]) * edge[:, 1]) / np.maximum((edge ** 2).sum(axis=1), 1e-12), 0, 1)
    gap = np.hypot(px - (a[:, 0] + t * edge[:, 0]), py - (a[:, 1] + t * edge[:, 1])).min(axis=1)
    return inside, np.where(inside, 0.0, gap)


def geofence_events(pings: pd.DataFrame, geofences: pd.DataFrame, rules: VisitRules = VisitRules()) -> pd.DataFrame:
    """Enter, dwell and exit events per vehicle and geofence from pings (vehicle_id, ts, lat, lon).

    Each event has ``event_at`` (when it happened: the first ping of the run that proves it) and
    ``confirmed_at`` (the ping that proved it, the earliest moment a streaming consumer can know it),
    ``visit_start`` (the enter time, identifying the visit) and ``minutes_inside`` (for dwell and
    exit). A visit still open at the last ping has no exit yet. The result is a pure function of
    the pings given: rerunning on the same pings gives the same events, so a consumer can upsert on
    (vehicle_id, geofence_id, visit_start, event).
    """
    if pings.empty:
        return pd.DataFrame(columns=EVENT_COLUMNS)
    pings = pings.sort_values(["vehicle_id", "ts"], kind="stable").reset_index(drop=True)
    vehicle_code, _vehicles = pd.factorize(pings.vehicle_id, sort=True)
    ts = pd.DatetimeIndex(pings.ts)
    seconds = (pings.ts - pings.ts.min()).dt.total_seconds().to_numpy()
    clock = vehicle_code.astype(np.int64) * 10**11 + np.floor(seconds).astype(np.int64)  # monotonic over (vehicle, ts)
    last_of_vehicle = np.r_[np.flatnonzero(np.diff(vehicle_code)), len(pings) - 1][vehicle_code]

    pairs = pings_in_geofences(pings, geofences, rules.buffer_m)
    if pairs.empty:
        return pd.DataFrame(columns=EVENT_COLUMNS)
    fence_code, fences = pd.factorize(pairs.geofence_id, sort=True)
    key = vehicle_code[pairs.ping.to_numpy()].astype(np.int64) * len(fences) + fence_code
    order = np.lexsort((pairs.ping.to_numpy(), key))
    key, idx, inside = key[order], pairs.ping.to_numpy()[order], pairs.inside.to_numpy()[order]
    new_key = np.r_[True, key[1:] != key[:-1]]
    gap = np.r_[0, idx[1:] - idx[:-1] - 1]
    # a segment is a stretch near the fence not interrupted by min_pings pings beyond the band
    segment = np.cumsum(new_key | (gap >= rules.min_pings))
    # runs of consecutive pings strictly inside; a run of min_pings or more makes the entry
    run_break = new_key | (gap > 0) | np.r_[True, inside[1:] != inside[:-1]]
    run = np.cumsum(run_break)
    run_length = np.bincount(run)[run]
    qualifies = inside & (run_length >= rules.min_pings)
    run_start = pd.Series(idx).groupby(run).transform("first").to_numpy()

    rows = pd.DataFrame({"segment": segment, "key": key, "idx": idx, "qualifies": qualifies, "run_start": run_start})
    ends = rows.groupby("segment").idx.max()
    entered = rows[rows.qualifies].groupby("segment").first()
    if entered.empty:
        return pd.DataFrame(columns=EVENT_COLUMNS)
    enter_idx = entered.run_start.to_numpy()
    end_idx = ends.loc[entered.index].to_numpy()
    fence = fences[(entered.key.to_numpy() % len(fences)).astype(int)]
    kind = geofences.set_index("geofence_id").kind.loc[fence].to_numpy()
    vehicle = pings.vehicle_id.to_numpy()[enter_idx]
    enter_at = ts[enter_idx]
    base = {"vehicle_id": vehicle, "geofence_id": fence, "kind": kind, "visit_start": enter_at}
    enters = pd.DataFrame({**base, "event": "enter", "event_at": enter_at,
                           "confirmed_at": ts[enter_idx + rules.min_pings - 1], "minutes_inside": np.nan})

    dwell_clock = clock[enter_idx] + int(np.ceil(rules.dwell_after.total_seconds()))
    dwell_idx = np.searchsorted(clock, dwell_clock)
    dwelled = dwell_idx <= end_idx
    dwells = pd.DataFrame({k: v[dwelled] for k, v in base.items()}).assign(
        event="dwell", event_at=ts[dwell_idx[dwelled]], confirmed_at=ts[dwell_idx[dwelled]])

    closed = end_idx + rules.min_pings <= last_of_vehicle[end_idx]
    exit_idx = end_idx[closed] + 1
    exits = pd.DataFrame({k: v[closed] for k, v in base.items()}).assign(
        event="exit", event_at=ts[exit_idx], confirmed_at=ts[end_idx[closed] + rules.min_pings])
    for frame, at in ((dwells, "event_at"), (exits, "event_at")):
        frame["minutes_inside"] = (frame[at] - frame.visit_start).dt.total_seconds() / 60
    events = pd.concat([enters, dwells, exits], ignore_index=True)
    events["event"] = pd.Categorical(events.event, ["enter", "dwell", "exit"], ordered=True)
    events = events.sort_values(["vehicle_id", "event_at", "geofence_id", "event"], kind="stable")
    return events.assign(event=events.event.astype(str))[EVENT_COLUMNS].reset_index(drop=True)
