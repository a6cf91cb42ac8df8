"""Perfect order: on time, in full, damage free and correctly documented, per order and aggregated;
and afterwards, profiles of drivers and routes.

Fleet orders (own vans) are judged on everything the hub knows about them:

- ``on_time``: the van reached the drop by the window end. Arrival is the van's confirmed stay at the
  drop zone (geofence) where telemetry covers the trip, else the proof of delivery's ``delivered_at``
  (the end of the handover: a delivery that began just inside the window and ended after it counts
  late there, the strict reading);
- ``in_full``: the proof of delivery's ``delivered_units`` cover the ordered units;
- ``damage_free``: no ``damaged_units``;
- ``documented``: signature captured and documents complete. No proof of delivery means not
  documented: nothing proves the handover.

Freight shipments (from shipment-line extracts: a programme's deliveries by air, road or ocean)
are judged, like carrier orders, on punctuality only: the delivered day against the scheduled day;
``mode`` carries their transport mode (the fleet's vans are ``road``), a KPI dimension of its own.

Carrier orders (online orders) are judged only on what carrier events can tell: the delivered scan
against the end of the promised window gives ``on_time``. Carrier events say nothing about contents,
condition or paperwork, so ``in_full``, ``damage_free`` and ``documented`` are unknown (NA), never
assumed, and so is ``perfect``: it would only ever be known when false (late), which would make a
carrier's perfect-order rate 0 by construction. Carriers are compared on ``on_time``. For fleet
orders ``perfect`` is the Kleene AND of the four (a late order is not perfect even before its proof
of delivery arrives).

An order with no delivery is pending (all NA) until ``as_of`` passes its window end; then it is not
on time, not in full, not documented and not perfect.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from hub_platform.defs.orders.eta import MOVING_KMH, assign_routes
from hub_platform.defs.orders.geofences import haversine_km

MEASURES = ["on_time", "in_full", "damage_free", "documented", "perfect"]
ORDER_COLUMNS = ["order_id", "channel", "carrier", "mode", "customer_ref", "depot_id", "route_id", "vehicle_id", "driver_id",
                 "delivery_date", "promised_start", "promised_end", "arrived_at", "arrival_source", "minutes_late",
                 "ordered_units", "delivered_units", "damaged_units", *MEASURES]
DIMENSIONS = ("delivery_date", "customer_ref", "carrier", "mode", "depot_id", "route_id")
FLEET_MODE = "road"  # the own fleet's vans
SPEEDING_KMH = 90.0


def perfect_orders(orders: pd.DataFrame, online_orders: pd.DataFrame, stops: pd.DataFrame, visits: pd.DataFrame,
                   pod: pd.DataFrame, carrier_events: pd.DataFrame, as_of: pd.Timestamp | None = None,
                   freight: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per order with the four perfect-order measures (nullable booleans: NA is unknown).

    orders: order_id, customer_ref, depot_id, promised_start, promised_end, units (fleet).
    online_orders: order_id, customer_ref, promised_start, promised_end. stops: the route plan's stops.
    visits: eta.stop_visits(). pod: order_id, delivered_at, delivered_units, damaged_units,
    signature_captured, documents_complete. carrier_events: order_id, carrier, status, event_at.
    """
    fleet = orders.merge(stops[["order_id", "route_id", "vehicle_id", "driver_id"]], on="order_id", how="left")
    fleet = fleet.merge(visits[["order_id", "arrived_at"]].dropna(), on="order_id", how="left")
    fleet = fleet.merge(pod[["order_id", "delivered_at", "delivered_units", "damaged_units", "signature_captured",
                             "documents_complete"]], on="order_id", how="left")
    geofenced = fleet.arrived_at.notna()
    fleet["arrival_source"] = np.where(geofenced, "geofence", np.where(fleet.delivered_at.notna(), "driver_pod", None))
    fleet["arrived_at"] = pd.to_datetime(fleet.arrived_at, utc=True).where(geofenced, pd.to_datetime(fleet.delivered_at, utc=True))
    has_pod = fleet.delivered_at.notna()
    fleet = fleet.assign(
        channel="fleet", carrier="fleet", mode=FLEET_MODE, ordered_units=fleet.units,
        in_full=_known(fleet.delivered_units >= fleet.units, has_pod),
        damage_free=_known(fleet.damaged_units == 0, has_pod),
        documented=pd.array(has_pod & fleet.signature_captured.eq(True) & fleet.documents_complete.eq(True), dtype="boolean"))

    online = online_orders.drop_duplicates("order_id")
    events = carrier_events.sort_values("event_at", kind="stable")
    delivered = events[events.status == "delivered"].drop_duplicates("order_id")
    carried = online.merge(events.drop_duplicates("order_id")[["order_id", "carrier"]], on="order_id", how="left")
    carried = carried.merge(delivered[["order_id", "event_at"]], on="order_id", how="left")
    unknown = pd.array([pd.NA] * len(carried), dtype="boolean")
    carried = carried.assign(channel="carrier", arrived_at=pd.to_datetime(carried.event_at, utc=True),
                             arrival_source=np.where(carried.event_at.notna(), "carrier", None),
                             in_full=unknown, damage_free=unknown, documented=unknown)

    parts = [fleet, carried] + ([_freight(freight)] if freight is not None and len(freight) else [])
    frame = pd.concat(parts, ignore_index=True)
    frame["promised_start"] = pd.to_datetime(frame.promised_start, utc=True)
    frame["promised_end"] = pd.to_datetime(frame.promised_end, utc=True)
    arrived = frame.arrived_at.notna()
    frame["on_time"] = _known(frame.arrived_at <= frame.promised_end, arrived)
    frame["minutes_late"] = ((frame.arrived_at - frame.promised_end).dt.total_seconds() / 60).clip(lower=0).round(1)
    for measure in ("in_full", "damage_free", "documented"):
        frame[measure] = frame[measure].astype("boolean")
    overdue = ~arrived & (frame.promised_end < as_of) if as_of is not None else pd.Series(False, index=frame.index)
    frame.loc[overdue, "on_time"] = False
    frame.loc[overdue & frame.channel.eq("fleet"), ["in_full", "documented"]] = False
    pending = ~arrived & ~overdue
    frame.loc[pending & frame.channel.eq("fleet"), "documented"] = pd.NA
    frame["perfect"] = frame.on_time & frame.in_full & frame.damage_free & frame.documented
    frame.loc[frame.channel.isin(["carrier", "freight"]), "perfect"] = pd.NA
    frame["delivery_date"] = frame.promised_start.dt.date
    return frame.sort_values("order_id", kind="stable")[ORDER_COLUMNS].reset_index(drop=True)


def _freight(shipments: pd.DataFrame) -> pd.DataFrame:
    """Freight shipments (curated/shipment rows of kind ``freight``) as orders, judged on punctuality
    only: the delivered day against the promised day. Shipment-line extracts say nothing reliable
    about contents, condition or paperwork, so in_full, damage_free and documented are NA."""
    unknown = pd.array([pd.NA] * len(shipments), dtype="boolean")
    promised = pd.to_datetime(shipments.promised_end, utc=True)
    arrived = pd.to_datetime(shipments.delivered_at, utc=True)
    return pd.DataFrame({
        "order_id": shipments.source + ":" + shipments.tracking_no, "channel": "freight", "carrier": shipments.carrier,
        "mode": shipments["mode"], "promised_start": promised, "promised_end": promised, "arrived_at": arrived,
        "arrival_source": np.where(arrived.notna(), "shipment_line", None), "ordered_units": shipments.units,
        "in_full": unknown, "damage_free": unknown, "documented": unknown,
    })


def _known(values: pd.Series, known: pd.Series) -> pd.arrays.BooleanArray:
    """``values`` where ``known``, NA elsewhere."""
    return pd.array(values.where(known).astype(object).where(known, None), dtype="boolean")


def perfect_order_kpis(perfect: pd.DataFrame, dimensions: tuple[str, ...] = DIMENSIONS) -> pd.DataFrame:
    """Rates of each measure per value of each dimension, in one long frame: dimension, key, orders,
    ``<measure>_known`` (orders where the measure is known) and ``<measure>_rate`` (share true among
    the known; empty when none is known)."""
    frames = []
    for dimension in dimensions:
        rows = perfect[perfect[dimension].notna()]
        key = rows[dimension].astype(str).rename("key")
        table = rows.groupby(key).order_id.size().rename("orders").to_frame()
        for measure in MEASURES:
            values = rows[measure].astype("boolean")
            table[f"{measure}_known"] = values.notna().groupby(key).sum()
            table[f"{measure}_rate"] = values.astype("Float64").groupby(key).mean().round(4)
        frames.append(table.reset_index().assign(dimension=dimension))
    columns = ["dimension", "key", "orders", *[f"{m}_{k}" for m in MEASURES for k in ("known", "rate")]]
    return pd.concat(frames, ignore_index=True)[columns]


def speeding_incidents(pings: pd.DataFrame, threshold_kmh: float = SPEEDING_KMH, min_pings: int = 2) -> pd.DataFrame:
    """Spells of ``min_pings`` or more consecutive pings of a van above ``threshold_kmh`` (90 km/h: above
    the speed limit for vans on single carriageways in the UK and on German rural roads, sustained for a
    minute so a single GPS glitch is no incident). Carries ``route_id`` when the pings have it."""
    pings = pings.sort_values(["vehicle_id", "ts"], kind="stable").reset_index(drop=True)
    fast = pings.speed_kmh.fillna(0).to_numpy(float) > threshold_kmh
    same_van = pings.vehicle_id.eq(pings.vehicle_id.shift()).to_numpy()
    spell = np.cumsum(~(fast & np.r_[False, fast[:-1]] & same_van))
    keys = ["route_id"] if "route_id" in pings else []
    grouped = pings[fast].groupby(spell[fast])
    spells = grouped.agg(vehicle_id=("vehicle_id", "first"), **{k: (k, "first") for k in keys},
                         started_at=("ts", "min"), ended_at=("ts", "max"), pings=("ts", "size"),
                         max_speed_kmh=("speed_kmh", "max"))
    return spells[spells.pings >= min_pings].reset_index(drop=True)


def route_profile(routes: pd.DataFrame, visits: pd.DataFrame, perfect: pd.DataFrame, pings: pd.DataFrame) -> pd.DataFrame:
    """Per planned route (one van, one day): stops, planned and driven distance, punctuality, dwell,
    the worst delay, how late it left the depot and speeding incidents. Driven distance sums the
    steps between consecutive moving pings (parked jitter is not distance); telemetry-derived
    columns are empty for routes without pings."""
    fleet = perfect[perfect.channel == "fleet"]
    per_route = fleet.groupby("route_id").agg(stops=("order_id", "size"), on_time_rate=("on_time", _rate),
                                              max_delay_minutes=("minutes_late", "max"))
    dwell = visits.groupby("route_id").agg(mean_dwell_minutes=("dwell_minutes", "mean"), left_depot_at=("left_depot_at", "first"))
    located = assign_routes(pings, routes) if len(pings) else pings.assign(route_id=pd.Series(dtype=object))
    step = haversine_km(located.lat.shift(), located.lon.shift(), located.lat, located.lon)
    moving = (located.speed_kmh.fillna(0) >= MOVING_KMH) & located.route_id.eq(located.route_id.shift())
    driven = pd.Series(np.where(moving, step, 0.0), index=located.index).groupby(located.route_id).sum().rename("driven_km")
    incidents = speeding_incidents(located).groupby("route_id").size().rename("speeding_incidents") if len(located) else None
    profile = routes.set_index("route_id")[["vehicle_id", "driver_id", "depot_id", "plan_date", "route_km", "planned_departure"]]
    profile = profile.rename(columns={"route_km": "planned_km"}).join(per_route).join(dwell).join(driven)
    counted = incidents.reindex(profile.index).fillna(0) if incidents is not None else pd.Series(0, index=profile.index)
    profile["speeding_incidents"] = pd.array(counted.where(profile.driven_km.notna()).astype(object).where(
        profile.driven_km.notna(), None), dtype="Int64")
    profile["departure_delay_minutes"] = ((pd.to_datetime(profile.left_depot_at, utc=True) - profile.planned_departure)
                                          .dt.total_seconds() / 60).round(1)
    profile = profile.drop(columns=["left_depot_at", "planned_departure"])
    return profile.round({"driven_km": 2, "mean_dwell_minutes": 1, "on_time_rate": 4}).reset_index()


def driver_profile(route_profiles: pd.DataFrame, perfect: pd.DataFrame) -> pd.DataFrame:
    """Per driver: routes, stops, punctuality and average lateness over all their delivered orders,
    dwell, distance and speeding incidents (per 100 km) over the routes with telemetry."""
    fleet = perfect[(perfect.channel == "fleet") & perfect.driver_id.notna()]
    punctuality = fleet.groupby("driver_id").agg(stops=("order_id", "size"), on_time_rate=("on_time", _rate),
                                                 mean_minutes_late=("minutes_late", "mean"))
    tracked = route_profiles[route_profiles.driven_km.notna()]
    telemetry = tracked.groupby("driver_id").agg(tracked_routes=("route_id", "size"), driven_km=("driven_km", "sum"),
                                                 mean_dwell_minutes=("mean_dwell_minutes", "mean"),
                                                 speeding_incidents=("speeding_incidents", "sum"))
    profile = route_profiles.groupby("driver_id").agg(routes=("route_id", "size"), planned_km=("planned_km", "sum"))
    profile = profile.join(punctuality).join(telemetry)
    profile["speeding_per_100km"] = (profile.speeding_incidents / profile.driven_km * 100).round(2)
    return profile.round({"on_time_rate": 4, "mean_minutes_late": 1, "driven_km": 1, "planned_km": 1,
                          "mean_dwell_minutes": 1}).reset_index()


def _rate(values: pd.Series) -> float:
    """Share of true among the known values."""
    known = values.astype("boolean").dropna()
    return float(known.mean()) if len(known) else np.nan
