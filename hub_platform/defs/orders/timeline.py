"""Order timeline: one row per lifecycle step an order has reached, from whichever source reports it.

Steps, in lifecycle order, and where each comes from:

- ``placed``: the ERP order (``ordered_at``) or the web order;
- ``allocated``: the route plan (fleet orders): when the plan was fixed, with van and stop;
- ``picked``: never present. No warehouse system is among the sources, so nothing reports picking;
  the step is left out rather than guessed;
- ``shipped``: fleet, the van leaving its depot zone (geofence exit); carrier, the first pick-up or
  in-transit scan;
- ``out_for_delivery``: fleet, the van leaving the previous drop (or the depot, for the first stop):
  from then on this order is the van's next delivery; carrier, its out-for-delivery scan;
- ``delivered``: fleet, the driver's proof of delivery, else the van's confirmed stay at the drop
  (geofence); carrier, its delivered scan;
- ``exception``: carrier exception scans, and fleet orders the planner could not fit in any van.

Each order's ``current_status`` is its latest step in time (ties: the later step in the lifecycle),
so an exception followed by a delivery reads ``delivered``. Fleet windows are the ERP's; an online
order's is the curated model's (its promised day, 08:00-20:00 local time at the ship-to address).
"""

from __future__ import annotations

import pandas as pd

STEPS = ["placed", "allocated", "picked", "shipped", "out_for_delivery", "delivered", "exception"]
TIMELINE_COLUMNS = ["order_id", "channel", "customer_ref", "step", "step_rank", "at", "source", "detail",
                    "current_status", "promised_start", "promised_end"]


def order_timeline(orders: pd.DataFrame, online_orders: pd.DataFrame, stops: pd.DataFrame, visits: pd.DataFrame,
                   carrier_events: pd.DataFrame, pod: pd.DataFrame) -> pd.DataFrame:
    """The timeline of every order (see the module docstring for what each step means).

    orders: order_id, customer_ref, ordered_at, promised_start, promised_end (fleet, from the ERP).
    online_orders: order_id, customer_ref, ordered_at, promised_start, promised_end (the curated model's
    window: 08:00-20:00 local at the ship-to address). stops: the route plan's stops.
    visits: eta.stop_visits(). carrier_events: order_id, carrier, tracking_no, status, event_at.
    pod: order_id, vehicle_id, delivered_at.
    """
    online = online_orders.drop_duplicates("order_id")
    planned = stops[stops.status == "planned"]
    unplanned = stops[stops.status != "planned"]
    previous_stop = visits[["route_id", "stop_seq", "departed_at"]].assign(stop_seq=lambda f: f.stop_seq + 1)
    legs = visits.merge(previous_stop, on=["route_id", "stop_seq"], how="left", suffixes=("", "_previous"))
    out_at = legs.departed_at_previous.where(legs.stop_seq > 1, legs.left_depot_at)
    delivered_by_pod = set(pod.order_id)
    seen_at_drop = visits[visits.arrived_at.notna() & ~visits.order_id.isin(delivered_by_pod)]
    events = carrier_events[carrier_events.order_id.isin(online.order_id)]

    parts = [
        _steps(orders, "placed", "ordered_at", "erp_sales_orders", None),
        _steps(online, "placed", "ordered_at", "web_orders", None),
        _steps(planned, "allocated", "allocated_at", "route_plan",
               planned.vehicle_id + " stop " + planned.stop_seq.astype(str) + " on " + planned.plan_date.astype(str)),
        _steps(visits, "shipped", "left_depot_at", "geofence", "left the depot in " + visits.vehicle_id),
        _steps(legs.assign(out_at=out_at), "out_for_delivery", "out_at", "geofence", "next drop of " + legs.vehicle_id),
        _steps(pod, "delivered", "delivered_at", "driver_pod", "proof of delivery from " + pod.vehicle_id),
        _steps(seen_at_drop, "delivered", "arrived_at", "geofence", "van stayed at the drop (no proof of delivery yet)"),
        # an order of an unknown depot was never allocated: its exception is as old as the order
        _steps(unplanned.assign(exception_at=unplanned.allocated_at.fillna(
            unplanned.order_id.map(orders.drop_duplicates("order_id").set_index("order_id").ordered_at))),
            "exception", "exception_at", "route_plan", unplanned.reason),
    ]
    for step, statuses in (("shipped", ["picked_up", "in_transit"]), ("out_for_delivery", ["out_for_delivery"]),
                           ("delivered", ["delivered"]), ("exception", ["exception"])):
        scans = events[events.status.isin(statuses)]
        parts.append(_steps(scans, step, "event_at", scans.carrier, scans.status_code.astype(str) + " " + scans.tracking_no))
    steps = pd.concat([p for p in parts if len(p)], ignore_index=True)
    steps = steps[steps["at"].notna()]
    steps["step_rank"] = steps.step.map({s: i for i, s in enumerate(STEPS)})
    # one row per order and step: the first time a source reported it
    steps = steps.sort_values(["order_id", "at", "step_rank"], kind="stable").drop_duplicates(["order_id", "step"])
    steps["current_status"] = steps.order_id.map(steps.groupby("order_id").step.last())

    windows = pd.concat([orders[["order_id", "customer_ref", "promised_start", "promised_end"]].assign(channel="fleet"),
                         online[["order_id", "customer_ref", "promised_start", "promised_end"]].assign(channel="carrier")],
                        ignore_index=True)
    steps = steps.merge(windows, on="order_id", how="inner")
    for column in ("at", "promised_start", "promised_end"):
        steps[column] = pd.to_datetime(steps[column], utc=True)
    return steps.sort_values(["order_id", "at", "step_rank"], kind="stable")[TIMELINE_COLUMNS].reset_index(drop=True)


def _steps(frame: pd.DataFrame, step: str, at: str, source, detail) -> pd.DataFrame:
    return pd.DataFrame({"order_id": frame.order_id.to_numpy(), "step": step,
                         "at": pd.to_datetime(frame[at], utc=True).to_numpy(),
                         "source": source.to_numpy() if isinstance(source, pd.Series) else source,
                         "detail": detail.to_numpy() if isinstance(detail, pd.Series) else detail})
