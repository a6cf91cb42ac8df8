"""Estimated arrival at every remaining stop of a van's planned route, from what its pings show so far.

Progress comes from geofence events, counted only once they are confirmed (``confirmed_at``), so a
prediction uses exactly what a live system would have known at that moment: a stop is reached when
the van's visit to its drop zone is confirmed as a stay (the ``dwell`` event; passing through does
not count), left when the exit is confirmed, and the route has started when the van has left its
depot zone. The stops not yet reached are predicted in planned order:

- the first from where the van is (its ping, or the drop it is still at) by great-circle distance
  times the planner's road factor; the next ones by the planned leg distances;
- at the van's *moving* speed observed on this route so far (mean ``speed_kmh`` of pings at 5 km/h or
  more, so time stuck in a jam or parked does not drag it down), with the planning speed as a prior
  worth ``prior_moving_pings`` pings (10 minutes of driving), so the first minutes do not swing it;
- plus, at each drop, waiting for the window to open and the dwell observed at this route's drops so
  far (time from the later of arrival and window start to leaving), the planned service time as a
  prior worth one drop.

Time lost in a jam shows up because the clock runs while the remaining distance does not shrink.
Predictions are made at most once per van per ``every`` (the last ping of each slot): a van covers
about 3 km in 5 minutes, finer predictions are not actionable and would multiply the stored rows.
All of it is vectorized over prediction times: the only loop is over stop positions in a route.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from hub_platform.defs.orders.geofences import depot_zone_id, drop_zone_id, haversine_km
from hub_platform.defs.orders.routing import PlanningParameters

PREDICTION_COLUMNS = ["route_id", "vehicle_id", "order_id", "stop_seq", "predicted_at", "eta", "promised_start",
                      "promised_end", "planned_arrival", "stops_before", "distance_km", "speed_kmh", "dwell_minutes",
                      "moving_pings", "observed_drops"]
VISIT_COLUMNS = ["route_id", "vehicle_id", "order_id", "stop_seq", "left_depot_at", "left_depot_known_at", "arrived_at",
                 "arrival_known_at", "departed_at", "departure_known_at", "dwell_minutes"]
MOVING_KMH = 5.0
NEVER = np.iinfo(np.int64).max


@dataclass(frozen=True)
class EtaParameters:
    """Priors and cadence of the predictor (see the module docstring)."""

    planning: PlanningParameters = PlanningParameters()
    prior_moving_pings: int = 20
    every: pd.Timedelta | None = pd.Timedelta(minutes=5)
    route_early: pd.Timedelta = pd.Timedelta(hours=1)  # pings this long before a planned departure belong to the route
    route_late: pd.Timedelta = pd.Timedelta(hours=8)  # and this long after the planned return (jams)


def stop_visits(stops: pd.DataFrame, routes: pd.DataFrame, events: pd.DataFrame,
                parameters: EtaParameters = EtaParameters()) -> pd.DataFrame:
    """When each planned stop was reached and left, and when its route left the depot, from geofence
    events (geo.geofence_events). One row per planned stop; times are empty where no event shows it.

    stops: route plan stops (route_id, vehicle_id, order_id, stop_seq, ship_to_lat, ship_to_lon,
    promised_start); routes: route_id, vehicle_id, depot_id, planned_departure, planned_return.
    ``dwell_minutes`` is the time from the later of arrival and window start to leaving: the handover,
    without waiting for the window to open.
    """
    stops = stops[stops.status == "planned"] if "status" in stops else stops
    window = routes[["route_id", "planned_departure", "planned_return"]].assign(
        opens=lambda f: f.planned_departure - parameters.route_early, closes=lambda f: f.planned_return + parameters.route_late)
    base = stops[["route_id", "vehicle_id", "order_id", "stop_seq", "promised_start"]].assign(
        geofence_id=drop_zone_id(stops.ship_to_lat, stops.ship_to_lon)).merge(window, on="route_id")
    events = events.astype({"event": str})
    dwell_events = events[(events.kind == "drop_zone") & (events.event == "dwell")]
    exits = events[events.event == "exit"][["vehicle_id", "geofence_id", "visit_start", "event_at", "confirmed_at"]]
    visits = base.merge(dwell_events[["vehicle_id", "geofence_id", "visit_start", "confirmed_at"]], on=["vehicle_id", "geofence_id"])
    visits = visits[(visits.visit_start >= visits.opens) & (visits.visit_start <= visits.closes)]
    visits = visits.sort_values("visit_start", kind="stable").drop_duplicates(["route_id", "order_id"])
    visits = visits.merge(exits, on=["vehicle_id", "geofence_id", "visit_start"], how="left")
    visits = visits.rename(columns={"visit_start": "arrived_at", "confirmed_at_x": "arrival_known_at",
                                    "event_at": "departed_at", "confirmed_at_y": "departure_known_at"})
    depot_exits = _depot_exits(routes, events, window)
    out = base.merge(visits[["route_id", "order_id", "arrived_at", "arrival_known_at", "departed_at", "departure_known_at"]],
                     on=["route_id", "order_id"], how="left").merge(depot_exits, on="route_id", how="left")
    handover = out.arrived_at.where(out.arrived_at > out.promised_start, out.promised_start)
    out["dwell_minutes"] = (out.departed_at - handover).dt.total_seconds() / 60
    for column in ("arrived_at", "arrival_known_at", "departed_at", "departure_known_at", "left_depot_at", "left_depot_known_at"):
        out[column] = pd.to_datetime(out[column], utc=True)
    return out.sort_values(["route_id", "stop_seq"], kind="stable")[VISIT_COLUMNS].reset_index(drop=True)


def _depot_exits(routes: pd.DataFrame, events: pd.DataFrame, window: pd.DataFrame) -> pd.DataFrame:
    """The first confirmed exit from its depot zone within each route's time window."""
    exits = events[(events.kind == "depot") & (events.event == "exit")]
    candidates = routes[["route_id", "vehicle_id"]].assign(geofence_id=depot_zone_id(routes.depot_id)).merge(
        window[["route_id", "opens", "closes"]], on="route_id").merge(
        exits[["vehicle_id", "geofence_id", "event_at", "confirmed_at"]], on=["vehicle_id", "geofence_id"])
    candidates = candidates[(candidates.event_at >= candidates.opens) & (candidates.event_at <= candidates.closes)]
    first = candidates.sort_values("event_at", kind="stable").drop_duplicates("route_id")
    return first[["route_id", "event_at", "confirmed_at"]].rename(
        columns={"event_at": "left_depot_at", "confirmed_at": "left_depot_known_at"})


def predict_arrivals(pings: pd.DataFrame, stops: pd.DataFrame, routes: pd.DataFrame, visits: pd.DataFrame,
                     parameters: EtaParameters = EtaParameters()) -> pd.DataFrame:
    """ETAs for the remaining stops of each van's route, at each prediction time.

    pings: vehicle_id, ts, lat, lon, speed_kmh. stops/routes: the route plan. visits: stop_visits().
    One row per prediction time and remaining stop: the ETA, the promised window and the inputs the
    method used (distance, speed, dwell, how many moving pings and completed drops it rests on), so
    accuracy can be measured afterwards and a surprising ETA explained.
    """
    stops = stops[stops.status == "planned"] if "status" in stops else stops
    if pings.empty or stops.empty:
        return pd.DataFrame(columns=PREDICTION_COLUMNS)
    plan = _RouteArrays(stops, routes, visits)
    located = assign_routes(pings, routes, parameters)
    located = located[plan.index_of(located.route_id) >= 0].reset_index(drop=True)  # routes without planned stops
    if located.empty:
        return pd.DataFrame(columns=PREDICTION_COLUMNS)
    r = plan.index_of(located.route_id)
    moving = located.speed_kmh.fillna(0).to_numpy(float) >= MOVING_KMH
    speed_sum = pd.Series(np.where(moving, located.speed_kmh.fillna(0).to_numpy(float), 0.0)).groupby(r).cumsum().to_numpy()
    moving_count = pd.Series(moving.astype(np.int64)).groupby(r).cumsum().to_numpy()
    ticks = _ticks(located, parameters.every)
    r, ts = r[ticks], _nanoseconds(located.ts)[ticks]
    lat, lon = located.lat.to_numpy(float)[ticks], located.lon.to_numpy(float)[ticks]
    prior = parameters.prior_moving_pings
    speed = (speed_sum[ticks] + prior * parameters.planning.speed_kmh) / (moving_count[ticks] + prior)

    positions = np.arange(plan.width)
    rows = np.arange(len(r))
    reached = plan.arrival_known[r] <= ts[:, None]  # ticks x stop positions
    done = np.where(reached, positions + 1, 0).max(axis=1)  # stops up to here are behind the van
    left = plan.departure_known[r] <= ts[:, None]
    observed = left & ~np.isnan(plan.dwell[r])
    observed_drops = observed.sum(axis=1)
    dwell_ns = (np.where(observed, plan.dwell[r], 0.0).sum(axis=1) + parameters.planning.service_minutes) / (observed_drops + 1) * 60e9
    last = np.maximum(done - 1, 0)
    at_drop = (done > 0) & ~left[rows, last]
    handover = np.maximum(plan.arrival[r, last], plan.opens[r, last]).astype(float)
    start = np.where(at_drop, np.maximum(ts, handover + dwell_ns), ts)
    not_started = (done == 0) & (plan.left_depot_known[r] > ts)
    start = np.where(not_started, np.maximum(ts, plan.departure[r]), start)
    origin_lat = np.where(at_drop, plan.lat[r, last], lat)
    origin_lon = np.where(at_drop, plan.lon[r, last], lon)

    clock = start.astype(float)
    eta = np.full((len(r), plan.width), np.nan)
    distance = np.full((len(r), plan.width), np.nan)
    for s in range(plan.width):
        active = (s >= done) & (s < plan.count[r])
        first_km = haversine_km(origin_lat, origin_lon, plan.lat[r, s], plan.lon[r, s]) * parameters.planning.road_factor
        km = np.where(s == done, first_km, plan.leg_km[r, s])
        arrival = clock + km / speed * 3600e9
        eta[:, s] = np.where(active, arrival, np.nan)
        distance[:, s] = np.where(active, km, np.nan)
        clock = np.where(active, np.maximum(arrival, plan.opens[r, s].astype(float)) + dwell_ns, clock)
    tick, slot = np.nonzero(~np.isnan(eta))
    if len(tick) == 0:
        return pd.DataFrame(columns=PREDICTION_COLUMNS)
    stop = plan.stop_row[r[tick], slot]
    ordered = plan.stops
    return pd.DataFrame({
        "route_id": ordered.route_id.to_numpy()[stop], "vehicle_id": ordered.vehicle_id.to_numpy()[stop],
        "order_id": ordered.order_id.to_numpy()[stop], "stop_seq": ordered.stop_seq.to_numpy(np.int64)[stop],
        "predicted_at": pd.to_datetime(ts[tick], utc=True),
        "eta": pd.to_datetime(np.rint(eta[tick, slot]).astype(np.int64), utc=True).round("s"),
        "promised_start": pd.DatetimeIndex(pd.to_datetime(ordered.promised_start, utc=True))[stop],
        "promised_end": pd.DatetimeIndex(pd.to_datetime(ordered.promised_end, utc=True))[stop],
        "planned_arrival": pd.DatetimeIndex(pd.to_datetime(ordered.planned_arrival, utc=True))[stop],
        "stops_before": slot - done[tick], "distance_km": np.round(distance[tick, slot], 3),
        "speed_kmh": np.round(speed[tick], 2), "dwell_minutes": np.round(dwell_ns[tick] / 60e9, 2),
        "moving_pings": moving_count[ticks][tick], "observed_drops": observed_drops[tick],
    })[PREDICTION_COLUMNS]


class _RouteArrays:
    """The plan as route x stop-position matrices (padded), so predictions index them by route."""

    def __init__(self, stops: pd.DataFrame, routes: pd.DataFrame, visits: pd.DataFrame):
        stops = stops.sort_values(["route_id", "stop_seq"], kind="stable").reset_index(drop=True)
        self.route_ids, route_code = np.unique(stops.route_id.to_numpy(str), return_inverse=True)
        position = stops.groupby("route_id").cumcount().to_numpy()
        self.count = np.bincount(route_code, minlength=len(self.route_ids))
        self.width = int(self.count.max())
        self.stops = stops

        def matrix(values: np.ndarray, fill) -> np.ndarray:
            out = np.full((len(self.route_ids), self.width), fill, dtype=values.dtype)
            out[route_code, position] = values
            return out

        seen = stops[["route_id", "order_id"]].merge(visits, on=["route_id", "order_id"], how="left")
        self.stop_row = matrix(np.arange(len(stops)), -1)
        self.lat = matrix(stops.ship_to_lat.to_numpy(float), np.nan)
        self.lon = matrix(stops.ship_to_lon.to_numpy(float), np.nan)
        self.leg_km = matrix(stops.leg_km.to_numpy(float), np.nan)
        self.opens = matrix(_nanoseconds(stops.promised_start), NEVER)
        self.arrival = matrix(_nanoseconds(seen.arrived_at), NEVER)
        self.arrival_known = matrix(_nanoseconds(seen.arrival_known_at), NEVER)
        self.departure_known = matrix(_nanoseconds(seen.departure_known_at), NEVER)
        self.dwell = matrix(seen.dwell_minutes.to_numpy(float), np.nan)
        self.departure = _nanoseconds(routes.set_index("route_id").planned_departure.reindex(self.route_ids))
        depot = visits.drop_duplicates("route_id").set_index("route_id").left_depot_known_at.reindex(self.route_ids)
        self.left_depot_known = _nanoseconds(depot)

    def index_of(self, route_ids: pd.Series) -> np.ndarray:
        return pd.Index(self.route_ids).get_indexer(route_ids)


def _nanoseconds(values) -> np.ndarray:
    """UTC nanoseconds as int64; a missing time is NEVER (later than any time), so comparisons stay simple."""
    stamps = pd.DatetimeIndex(pd.to_datetime(values, utc=True)).as_unit("ns")
    return np.where(stamps.isna(), NEVER, stamps.asi8)


def assign_routes(pings: pd.DataFrame, routes: pd.DataFrame, parameters: EtaParameters = EtaParameters()) -> pd.DataFrame:
    """Each ping with the route its van was on: the latest route of the van whose window (planned
    departure minus ``route_early``) opened before the ping, while that window (planned return plus
    ``route_late``) is still open. Sorted by route and time."""
    windows = routes[["route_id", "vehicle_id", "planned_departure", "planned_return"]].assign(
        opens=lambda f: pd.to_datetime(f.planned_departure, utc=True).dt.as_unit("ns") - parameters.route_early,
        closes=lambda f: pd.to_datetime(f.planned_return, utc=True).dt.as_unit("ns") + parameters.route_late)
    pings = pings.assign(ts=pd.to_datetime(pings.ts, utc=True).dt.as_unit("ns")).sort_values("ts", kind="stable")
    located = pd.merge_asof(pings, windows.sort_values("opens")[["vehicle_id", "route_id", "opens", "closes"]],
                            left_on="ts", right_on="opens", by="vehicle_id", direction="backward")
    located = located[located.route_id.notna() & (located.ts <= located.closes)]
    route_code = pd.factorize(located.route_id, sort=True)[0]
    return located.iloc[np.lexsort((_nanoseconds(located.ts), route_code))].reset_index(drop=True)


def _ticks(located: pd.DataFrame, every: pd.Timedelta | None) -> np.ndarray:
    """Positions of the pings predictions are made at: the last ping of each route per ``every``."""
    if every is None:
        return np.arange(len(located))
    slot = located.ts.dt.floor(every)
    last = ~(located.route_id.eq(located.route_id.shift(-1)) & slot.eq(slot.shift(-1)))
    return np.flatnonzero(last.to_numpy())


def eta_accuracy(predictions: pd.DataFrame, actuals: pd.DataFrame, by: tuple[str, ...] = ("route_id",)) -> pd.DataFrame:
    """Mean absolute and mean signed error (ETA minus actual, minutes) of predictions made before the
    actual arrival, grouped ``by`` (empty for one overall row). actuals: order_id, actual_arrival
    (measured arrivals: geofence arrivals in the hub, the ground truth in tests and benchmarks)."""
    joined = predictions.merge(actuals[["order_id", "actual_arrival"]], on="order_id")
    actual = pd.to_datetime(joined.actual_arrival, utc=True)
    joined = joined[pd.to_datetime(joined.predicted_at, utc=True) < actual]
    error = (pd.to_datetime(joined.eta, utc=True) - actual[joined.index]).dt.total_seconds() / 60
    joined = joined.assign(error=error, absolute_error=error.abs())
    keys = list(by) or (lambda _: "all")
    result = joined.groupby(keys).agg(predictions=("error", "size"), orders=("order_id", "nunique"),
                                      mae_minutes=("absolute_error", "mean"), bias_minutes=("error", "mean"))
    return result.round(2).reset_index(drop=not by)
