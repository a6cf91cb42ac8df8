"""Fleet route planning: one capacitated vehicle-routing problem with time windows per depot and day.

Each depot-day is solved with OR-Tools' routing solver: the depot's vans start and end at the depot,
carry at most their ``capacity_units``, may not start a drop before its window opens (they wait),
spend a fixed service time at each drop and must be back by the end of the shift. Arriving after a
window closes is allowed but costs as much as driving ``late_km_per_minute`` km per minute late, so
the solver only plans a late arrival when no on-time plan exists; such stops are reported with
``window_met`` False. A stop that fits no van at all (capacity, or the shift is over) is dropped by
the solver at a very high penalty and carried to the depot's next planning day in the data, where it
is planned first (its window has passed, so every minute counts as late); a stop larger than any van
is reported ``unassigned`` at once. Nothing is dropped silently: every order comes back in ``stops``.

Distances are great-circle distances times a road (circuity) factor of 1.3: road networks in Europe
and North America measure 1.2 to 1.4 times the straight line for regional trips of 5 to 50 km, and
there is no road graph among the sources. Travel times use a planning speed of 38 km/h, a door-to-door
average for a van on mixed urban and regional roads (UK local A-road averages are 35 to 45 km/h).

The plan must be reproducible, because the sample's vans drive the plan that the hub recomputes from
the clean zone: the search is a first solution (path cheapest arc) improved by greedy descent to a
local optimum, with no time limit and no time-limited operator, on integer metres and seconds, with
orders and vans sorted by id. The same inputs therefore give the same plan on any machine, however
fast or loaded.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from ortools.constraint_solver import pywrapcp, routing_enums_pb2
from ortools.util import optional_boolean_pb2

from hub_platform.defs.orders.geofences import haversine_km

STOP_COLUMNS = ["route_id", "depot_id", "plan_date", "vehicle_id", "driver_id", "stop_seq", "order_id", "ship_to_lat",
                "ship_to_lon", "units", "promised_start", "promised_end", "leg_km", "planned_arrival",
                "planned_service_start", "planned_departure", "window_met", "status", "deferred_days", "reason",
                "allocated_at"]
ROUTE_COLUMNS = ["route_id", "depot_id", "plan_date", "vehicle_id", "driver_id", "stops", "units", "capacity_units",
                 "planned_departure", "planned_return", "route_km", "return_km", "windows_met"]
_OPERATORS_OFF = ("use_global_cheapest_insertion_path_lns", "use_local_cheapest_insertion_path_lns",
                  "use_relocate_path_global_cheapest_insertion_insert_unperformed",
                  "use_global_cheapest_insertion_visit_types_lns", "use_local_cheapest_insertion_visit_types_lns",
                  "use_relocate_expensive_chain", "use_lin_kernighan")
_DROP_PENALTY = 10**9  # far above any distance plus lateness cost: a stop is dropped only when it cannot be served


@dataclass(frozen=True)
class PlanningParameters:
    """What the planner assumes about roads, vans and the working day (see the module docstring)."""

    road_factor: float = 1.3
    speed_kmh: float = 38.0
    service_minutes: float = 10.0
    shift_start_hour: int = 7  # local time at the depot
    shift_end_hour: int = 19  # vans must be back by then
    dispatch_hour: int = 18  # routes are fixed at this local hour the evening before (``allocated_at``)
    late_km_per_minute: float = 3.0


@dataclass(frozen=True)
class RoutePlan:
    """``stops``: one row per order (planned, or unassigned with a reason); ``routes``: one row per van
    and day that has stops."""

    stops: pd.DataFrame
    routes: pd.DataFrame


def plan_routes(orders: pd.DataFrame, vehicles: pd.DataFrame, depots: pd.DataFrame,
                parameters: PlanningParameters = PlanningParameters()) -> RoutePlan:
    """Plan every depot-day of ``orders``.

    orders: order_id, depot_id, ship_to_lat, ship_to_lon, promised_start, promised_end (UTC), units.
    vehicles: vehicle_id, depot_id, capacity_units, optional driver_id.
    depots: location_id, latitude, longitude, timezone (the location master; other rows are ignored).
    The planning day of an order is the local date (depot time zone) of its promised_start.
    """
    depot_at = depots.set_index("location_id")
    orders = orders.sort_values("order_id", kind="stable").reset_index(drop=True)
    vehicles = vehicles.sort_values("vehicle_id", kind="stable").reset_index(drop=True)
    opens_ns, closes_ns = _nanoseconds(orders.promised_start), _nanoseconds(orders.promised_end)
    lat, lon, units = orders.ship_to_lat.to_numpy(float), orders.ship_to_lon.to_numpy(float), orders.units.to_numpy(np.int64)
    plan_date = np.empty(len(orders), dtype=object)
    planned = _Stops()
    unassigned: list[tuple[np.ndarray, np.ndarray, str]] = []  # positions, deferred days, reason
    for depot_id, positions in orders.groupby("depot_id", sort=True).indices.items():
        if depot_id not in depot_at.index:
            plan_date[positions] = pd.DatetimeIndex(pd.to_datetime(opens_ns[positions], utc=True)).date
            unassigned.append((positions, np.zeros(len(positions), dtype=np.int64), "depot not in the location master"))
            continue
        depot = depot_at.loc[depot_id]
        vans = vehicles.index[vehicles.depot_id.to_numpy() == depot_id].to_numpy()
        capacity = vehicles.capacity_units.to_numpy(np.int64)[vans]
        local = pd.DatetimeIndex(pd.to_datetime(opens_ns[positions], utc=True)).tz_convert(depot.timezone)
        plan_date[positions] = local.date
        too_big = units[positions] > (capacity.max() if len(vans) else 0)
        if too_big.any():
            reason = "larger than any vehicle of the depot" if len(vans) else "no vehicles at the depot"
            unassigned.append((positions[too_big], np.zeros(too_big.sum(), dtype=np.int64), reason))
        carried, carried_days = np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
        fitting = positions[~too_big]
        for day in sorted(set(plan_date[fitting])):
            todays = fitting[plan_date[fitting] == day]
            problem = np.r_[carried, todays]
            deferred = np.r_[carried_days + 1, np.zeros(len(todays), dtype=np.int64)]
            plan_date[problem] = day
            served = _plan_day(planned, problem, deferred, day, depot_id, depot, vans, capacity,
                               lat, lon, opens_ns, closes_ns, units, parameters)
            carried, carried_days = problem[~served], deferred[~served]
        if len(carried):
            unassigned.append((carried, carried_days, "no van had room or time for it on its last planning day"))
    return _assemble(orders, vehicles, depot_at, plan_date, planned, unassigned, parameters)


@dataclass
class _Stops:
    """Planned stops as flat lists, gathered route by route and turned into frames once at the end."""

    order: list = field(default_factory=list)
    vehicle: list = field(default_factory=list)
    seq: list = field(default_factory=list)
    leg_m: list = field(default_factory=list)
    origin: list = field(default_factory=list)  # UTC ns of the shift start; times below are seconds after it
    arrival: list = field(default_factory=list)
    start: list = field(default_factory=list)
    leave: list = field(default_factory=list)
    deferred: list = field(default_factory=list)
    routes: list = field(default_factory=list)  # (van, plan date, depot, origin ns, departure s, return s, return m)


def _local(day, hour: int, timezone: str) -> pd.Timestamp:
    return pd.Timestamp(day).replace(hour=hour).tz_localize(timezone).tz_convert("UTC")


def _nanoseconds(values) -> np.ndarray:
    """UTC nanoseconds, by integer arithmetic so every reader of the same timestamps gets the same plan."""
    return pd.to_datetime(pd.Series(values), utc=True).dt.as_unit("ns").astype("int64").to_numpy()


def _plan_day(planned: _Stops, problem: np.ndarray, deferred: np.ndarray, day, depot_id: str, depot: pd.Series,
              vans: np.ndarray, capacity: np.ndarray, lat: np.ndarray, lon: np.ndarray, opens_ns: np.ndarray,
              closes_ns: np.ndarray, units: np.ndarray, p: PlanningParameters) -> np.ndarray:
    """Solve one depot-day into ``planned``; returns which of ``problem`` were served."""
    origin = _local(day, p.shift_start_hour, depot.timezone).value
    horizon = (p.shift_end_hour - p.shift_start_hour) * 3600
    node_lat, node_lon = np.r_[depot.latitude, lat[problem]], np.r_[depot.longitude, lon[problem]]
    road_km = haversine_km(node_lat[:, None], node_lon[:, None], node_lat[None, :], node_lon[None, :]) * p.road_factor
    metres = np.rint(road_km * 1000).astype(np.int64)
    travel = np.rint(road_km / p.speed_kmh * 3600).astype(np.int64)
    service = np.r_[0, np.full(len(problem), round(p.service_minutes * 60))].astype(np.int64)
    opens = np.r_[0, (opens_ns[problem] - origin) // 10**9]
    closes = np.r_[horizon, (closes_ns[problem] - origin) // 10**9]

    manager = pywrapcp.RoutingIndexManager(len(node_lat), len(vans), 0)
    model = pywrapcp.RoutingModel(manager)
    model.SetArcCostEvaluatorOfAllVehicles(model.RegisterTransitMatrix(metres.tolist()))
    model.AddDimension(model.RegisterTransitMatrix((travel + service[:, None]).tolist()), horizon, horizon, False, "time")
    clock = model.GetDimensionOrDie("time")
    late_cost = round(p.late_km_per_minute * 1000 / 60)
    for node in range(1, len(node_lat)):
        index = manager.NodeToIndex(node)
        clock.CumulVar(index).SetRange(int(np.clip(opens[node], 0, horizon)), horizon)
        clock.SetCumulVarSoftUpperBound(index, int(np.clip(closes[node], 0, horizon)), late_cost)
        model.AddDisjunction([index], _DROP_PENALTY * (1 + int(deferred[node - 1])))
    demand = model.RegisterUnaryTransitVector([0, *units[problem].tolist()])
    model.AddDimensionWithVehicleCapacity(demand, 0, capacity.tolist(), True, "units")
    solution = model.SolveWithParameters(_search_parameters())

    served = np.zeros(len(problem), dtype=bool)
    for v, van in enumerate(vans):
        nodes, index = [], model.Start(v)
        while solution is not None and not model.IsEnd(index := solution.Value(model.NextVar(index))):
            nodes.append(manager.IndexToNode(index))
        if not nodes:
            continue
        nodes = np.array(nodes)
        served[nodes - 1] = True
        legs = travel[np.r_[0, nodes[:-1]], nodes]
        # leave so as to reach the first drop when its window opens, never before the shift starts
        at = departure = max(0, int(opens[nodes[0]] - legs[0]))
        for node, leg in zip(nodes, legs, strict=True):
            arrival = at + int(leg)
            start = max(arrival, int(opens[node]))
            at = start + int(service[node])
            planned.arrival.append(arrival)
            planned.start.append(start)
            planned.leave.append(at)
        planned.order.extend(problem[nodes - 1])
        planned.vehicle.extend([van] * len(nodes))
        planned.seq.extend(range(1, len(nodes) + 1))
        planned.leg_m.extend(metres[np.r_[0, nodes[:-1]], nodes])
        planned.origin.extend([origin] * len(nodes))
        planned.deferred.extend(deferred[nodes - 1])
        planned.routes.append((van, day, depot_id, origin, departure, at + int(travel[nodes[-1], 0]), int(metres[nodes[-1], 0])))
    return served


def _search_parameters():
    """Path cheapest arc, then greedy descent to a local optimum, without a time limit. The
    large-neighbourhood operators are off (their sub-searches run under ``lns_time_limit``, a
    wall-clock limit that would make the plan depend on the machine), and so are the expensive-chain
    and Lin-Kernighan moves: half the solve time for about 1.5% more distance on the sample."""
    search = pywrapcp.DefaultRoutingSearchParameters()
    search.first_solution_strategy = routing_enums_pb2.FirstSolutionStrategy.PATH_CHEAPEST_ARC
    search.local_search_metaheuristic = routing_enums_pb2.LocalSearchMetaheuristic.GREEDY_DESCENT
    for operator in _OPERATORS_OFF:
        setattr(search.local_search_operators, operator, optional_boolean_pb2.BOOL_FALSE)
    return search


def _assemble(orders: pd.DataFrame, vehicles: pd.DataFrame, depot_at: pd.DataFrame, plan_date: np.ndarray,
              planned: _Stops, unassigned: list[tuple[np.ndarray, np.ndarray, str]], p: PlanningParameters) -> RoutePlan:
    """The stop and route frames from the flat lists of every depot-day."""
    vehicle_id = vehicles.vehicle_id.to_numpy(object)
    driver = vehicles.driver_id.to_numpy(object) if "driver_id" in vehicles else np.full(len(vehicles), None, dtype=object)
    order_pos = np.asarray(planned.order, dtype=np.int64)
    van = np.asarray(planned.vehicle, dtype=np.int64)
    origin = np.asarray(planned.origin, dtype=np.int64)

    def stamp(seconds: list[int]) -> pd.DatetimeIndex:
        return pd.to_datetime(origin + np.asarray(seconds, dtype=np.int64) * 10**9, utc=True)

    arrival = stamp(planned.arrival)
    promised_end = pd.to_datetime(orders.promised_end, utc=True).to_numpy()
    stops = pd.DataFrame({
        "route_id": _route_ids(vehicle_id[van], plan_date[order_pos]), "vehicle_id": vehicle_id[van],
        "driver_id": driver[van], "stop_seq": pd.array(planned.seq, dtype="Int64"), "order_pos": order_pos,
        "leg_km": np.asarray(planned.leg_m, dtype=float) / 1000, "planned_arrival": arrival,
        "planned_service_start": stamp(planned.start), "planned_departure": stamp(planned.leave),
        "window_met": arrival.to_numpy() <= promised_end[order_pos], "status": "planned",
        "deferred_days": np.asarray(planned.deferred, dtype=np.int64), "reason": None,
    })
    left = [pd.DataFrame({"order_pos": positions, "deferred_days": days, "reason": reason, "status": "unassigned",
                          "window_met": False, "stop_seq": pd.array([pd.NA] * len(positions), dtype="Int64")})
            for positions, days, reason in unassigned]
    stops = pd.concat([stops, *left], ignore_index=True)
    position = stops.order_pos.to_numpy()
    context = orders.iloc[position]
    stops = stops.assign(
        depot_id=context.depot_id.to_numpy(), plan_date=plan_date[position], order_id=context.order_id.to_numpy(),
        ship_to_lat=context.ship_to_lat.to_numpy(), ship_to_lon=context.ship_to_lon.to_numpy(),
        units=context.units.to_numpy(), promised_start=pd.to_datetime(context.promised_start, utc=True).to_numpy(),
        promised_end=promised_end[position],
        allocated_at=_dispatch_times(plan_date[position], depot_at.timezone.reindex(context.depot_id).to_numpy(), p))
    for column in ("promised_start", "promised_end", "allocated_at"):
        stops[column] = pd.to_datetime(stops[column], utc=True)
    stops = stops.sort_values(["depot_id", "plan_date", "vehicle_id", "stop_seq", "order_id"], kind="stable",
                              na_position="last")[STOP_COLUMNS].reset_index(drop=True)

    routes = pd.DataFrame(planned.routes, columns=["van", "plan_date", "depot_id", "origin", "departure", "back", "return_m"])
    routes["vehicle_id"] = vehicle_id[routes.van.to_numpy(np.int64)]
    routes["driver_id"] = driver[routes.van.to_numpy(np.int64)]
    routes["capacity_units"] = vehicles.capacity_units.to_numpy(np.int64)[routes.van.to_numpy(np.int64)]
    routes["route_id"] = _route_ids(routes.vehicle_id.to_numpy(), routes.plan_date.to_numpy())
    routes["planned_departure"] = pd.to_datetime(routes.origin + routes.departure * 10**9, utc=True)
    routes["planned_return"] = pd.to_datetime(routes.origin + routes.back * 10**9, utc=True)
    routes["return_km"] = routes.return_m / 1000
    per_route = stops[stops.status == "planned"].groupby("route_id").agg(
        stops=("order_id", "size"), units=("units", "sum"), legs_km=("leg_km", "sum"), windows_met=("window_met", "sum"))
    routes = routes.join(per_route, on="route_id")
    routes["route_km"] = (routes.legs_km + routes.return_km).round(3)
    routes = routes.astype({"stops": "int64", "units": "int64", "windows_met": "int64"}) if len(routes) else routes
    return RoutePlan(stops, routes.sort_values(["depot_id", "plan_date", "vehicle_id"], kind="stable")[ROUTE_COLUMNS]
                     .reset_index(drop=True))


def _route_ids(vehicle_ids: np.ndarray, plan_dates: np.ndarray) -> np.ndarray:
    """A route is one van's trip on one day: VAN-001-20261026."""
    return np.array([f"{v}-{d:%Y%m%d}" for v, d in zip(vehicle_ids, plan_dates, strict=True)], dtype=object)


def _dispatch_times(plan_dates: np.ndarray, timezones: np.ndarray, p: PlanningParameters) -> list[pd.Timestamp]:
    """When each stop was allocated: ``dispatch_hour`` local time the evening before its planning day
    (empty for orders of an unknown depot)."""
    cache: dict = {}
    for day, zone in zip(plan_dates, timezones, strict=True):
        if (day, zone) not in cache:
            known = isinstance(zone, str)
            cache[day, zone] = _local(pd.Timestamp(day) - pd.Timedelta(days=1), p.dispatch_hour, zone) if known else pd.NaT
    return [cache[day, zone] for day, zone in zip(plan_dates, timezones, strict=True)]
