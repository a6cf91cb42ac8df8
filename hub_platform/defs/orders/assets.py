"""orders/: the perfect-order system on the curated model and the vans' telemetry.

Route plans per depot and day (OR-Tools), geofences as data, enter/exit/dwell events from pings, ETAs
for every remaining stop (every prediction kept), delay alerts sent once per order and change of
state, the timeline of every order, and perfect-order KPIs with driver and route profiles.

Telemetry and proofs of delivery are read from the clean zone directly: the contracts already make
them what the orders zone needs, and the live path (``LIVE_ASSETS``, run by the landing sensor
together with each telemetry micro-batch) should not wait for a curated hop.
"""

import hashlib
import io

import dagster as dg
import pandas as pd
import pyarrow as pa

from hub_platform.defs.clean.assets import clean_key
from hub_platform.defs.curated.assets import curated_key
from hub_platform.defs.orders import delivery_alerts, eta, geofences, perfect_order, routing, timeline
from hub_platform.lib.automation import FOLLOWS_UPSTREAM
from hub_platform.lib.gx import check_rules
from hub_platform.lib.metadata import figures, markdown_table, table_metadata
from hub_platform.lib.resources import NotificationResource
from hub_platform.lib.tables import Findings, Inputs, SideTable, State, Zone, ZoneAsset, gx_check, table_assets

OWNER = "team:logistics"
PANDAS = frozenset({"pandas", "delta"})


ORDERS = Zone("orders")
_spec = ORDERS.spec


GEOFENCES = _spec(
    "geofences", ("geofence_id",),
    "Geofences as data: a circle around every depot and customer drop point (derived from the location master and "
    "the orders) and the hand-kept zones in hub_platform/sources/reference/geofences.csv (restricted areas).",
    not_null=("kind", "shape", "lat", "lon"), allowed=(("kind", geofences.KINDS), ("shape", geofences.SHAPES)),
    columns={
        "name": "The place's name.",
        "shape": "circle or polygon.",
        "radius_m": "Radius of a circle in metres.",
        "ring": "A polygon's corners as JSON [[lon, lat], ...].",
    },
)
ROUTE_STOP = _spec(
    "route_stop", ("order_id",),
    "The planned stop of every fleet order: van, sequence, planned arrival and departure, leg distance, whether the "
    "window is met; orders no van could take are here too, with the reason.",
    not_null=("status", "depot_id"), allowed=(("status", ("planned", "unassigned")),),
    columns={
        "leg_km": "Distance from the previous stop in km.",
        "planned_service_start": "When unloading is planned to start (UTC).",
        "window_met": "True when the planned arrival is inside the window.",
        "deferred_days": "Days the order was carried over.",
        "reason": "Why no van could take it (unassigned orders).",
        "allocated_at": "When the order was allocated to the route (UTC).",
        "status": "planned or unassigned.",
    },
)
ROUTE = _spec(
    "route", ("route_id",),
    "One planned route per van and day: stops, units against capacity, planned departure and return, distance, "
    "windows met. Distances are great-circle x 1.3 (road factor), times at 38 km/h plus 10 minutes per drop.",
    not_null=("vehicle_id", "route_km"),
    columns={
        "planned_return": "Planned return to the depot (UTC).",
        "route_km": "Planned route distance in km.",
        "return_km": "Distance of the last leg back to the depot, in km.",
        "windows_met": "Stops planned inside their window.",
        "units": "Units loaded.",
    },
)
GEOFENCE_EVENTS = _spec(
    "geofence_events", ("vehicle_id", "geofence_id", "event", "event_at"),
    "Enter, dwell and exit events per van and geofence from the pings, robust to GPS jitter (hysteresis of 40 m "
    "and two consecutive pings per change).",
    not_null=("kind", "confirmed_at"), allowed=(("event", ("enter", "dwell", "exit")),),
    columns={
        "confirmed_at": "When the second ping confirmed the event (UTC).",
        "visit_start": "When the visit this event belongs to began (UTC).",
        "minutes_inside": "Minutes inside the geofence (dwell and exit events).",
        "event": "enter, dwell or exit.",
    },
)
STOP_VISITS = _spec(
    "stop_visits", ("route_id", "order_id"),
    "When each planned stop was reached and left, and its dwell time, as the geofence events show it.",
    not_null=("vehicle_id",),
    columns={
        "left_depot_at": "When the van left the depot (UTC).",
        "left_depot_known_at": "When the hub knew it had (UTC).",
        "arrival_known_at": "When the hub knew of the arrival (UTC).",
        "departed_at": "When the van left the stop (UTC).",
        "departure_known_at": "When the hub knew it had left (UTC).",
    },
)
ETA_PREDICTIONS = _spec(
    "eta_predictions", ("route_id", "order_id", "predicted_at"),
    "Every ETA ever predicted for a remaining stop (at most one per van per 5 minutes), with the promised window "
    "and the inputs the method used; accuracy against the arrivals the geofences saw is in the metadata.",
    not_null=("eta", "promised_end"),
    columns={
        "predicted_at": "When the prediction was made (UTC).",
        "stops_before": "Stops still to serve before this one.",
        "distance_km": "Remaining distance to the stop in km.",
        "speed_kmh": "Speed assumed for the remaining legs, in km/h.",
        "dwell_minutes": "Minutes assumed per remaining drop.",
        "moving_pings": "Moving pings on this route so far (the speed's evidence).",
        "observed_drops": "Drops observed on this route so far (the dwell's evidence).",
    },
)
ORDER_TIMELINE = _spec(
    "order_timeline", ("order_id", "step"),
    "One row per lifecycle step each order reached (placed, allocated, shipped, out_for_delivery, delivered, "
    "exception) with its source, the current status and the promised window. No source reports picking.",
    not_null=("at", "source", "current_status"),
    allowed=(("step", ("placed", "allocated", "picked", "shipped", "out_for_delivery", "delivered", "exception")),),
    columns={
        "step": "placed, allocated, picked, shipped, out_for_delivery, delivered or exception.",
        "step_rank": "Order of the step in the lifecycle.",
        "at": "When the step happened (UTC).",
        "detail": "What the source said about it.",
        "current_status": "The order's latest step.",
        "source": "The source that reported the step.",
    },
)
PERFECT_ORDER = _spec(
    "perfect_order", ("order_id",),
    "Per order: on time, in full, damage free, correctly documented and perfect (unknown where no source can tell: "
    "carriers report neither contents nor paperwork).",
    not_null=("channel",),
    columns={
        "delivery_date": "Day of delivery (or of the promise, when not delivered).",
        "arrival_source": "Where the arrival time comes from: driver_pod, geofence or carrier.",
        "minutes_late": "Minutes after the window end; 0 when on time.",
        "ordered_units": "Units ordered.",
        "delivered_units": "Units the driver recorded as delivered.",
        "damaged_units": "Units recorded as damaged.",
        "in_full": "True when every ordered unit was delivered; empty where no source tells.",
        "damage_free": "True when nothing was damaged; empty where no source tells.",
        "documented": "True when the proof of delivery is complete; empty where no source tells.",
        "perfect": "On time, in full, damage free and documented; empty when one of them is unknown.",
    },
)
PERFECT_ORDER_KPIS = _spec(
    "perfect_order_kpis", ("dimension", "key"),
    "Perfect-order rates by delivery day, customer, carrier, transport mode, depot and route, each measure with how many orders it "
    "is known for.",
    not_null=("orders",),
    columns={
        "dimension": "What the row groups by: delivery_date, customer_ref, carrier, depot_id or route_id.",
        "key": "The value of that dimension.",
        # per measure, the orders it is known for and its rate among them
        **{f"{m}_known": f"Orders where {m.replace('_', ' ')} is known." for m in perfect_order.MEASURES},
        **{f"{m}_rate": f"Share of {m.replace('_', ' ')} among the orders where it is known." for m in perfect_order.MEASURES},
    },
)
ROUTE_PROFILE = _spec(
    "route_profile", ("route_id",),
    "Per route: punctuality, worst delay, dwell, planned and driven distance, departure delay, speeding incidents.",
    columns={
        "max_delay_minutes": "The worst delay after a window on the route, in minutes.",
        "departure_delay_minutes": "Minutes the van left the depot after the planned departure; empty without telemetry.",
    },
)
DRIVER_PROFILE = _spec(
    "driver_profile", ("driver_id",),
    "Per driver: routes, punctuality, lateness, dwell, distance and speeding incidents.",
    columns={
        "routes": "Routes driven.",
        "mean_minutes_late": "Mean minutes after the window, over late stops.",
        "tracked_routes": "Routes with telemetry.",
        "speeding_per_100km": "Speeding incidents per 100 km driven.",
    },
)
DELAY_ALERTS = _spec(
    "delay_alerts", ("alert_id",),
    "Every delay alert sent: one per order and change of state (late when the predicted arrival falls after the "
    "promised window, cleared when a later prediction is back inside), addressed to the customer and the driver. "
    "Each new alert goes through the notification channel (local outbox, or SNS when HUB_SNS_TOPIC_ARN is set) before "
    "it is recorded, so a failed run can repeat an alert (same alert_id) but never lose one. The per-order state is in "
    "orders/alert_state.",
    not_null=("order_id", "state", "raised_at"), allowed=(("state", ("late", "cleared")),), may_be_empty=True,
    columns={
        "raised_at": "When the prediction that raised the alert was made (UTC).",
        "minutes_after_window": "Predicted arrival minus window end, in minutes (negative: inside the window).",
    },
)
# what the landing sensor runs with each telemetry micro-batch, so a delay is alerted within minutes
LIVE_ASSETS = [ORDERS.key(n) for n in ("geofence_events", "stop_visits", "eta_predictions", "delay_alerts")]

_B2B = [("channel", "=", "b2b")]


def _fleet_orders(read: Inputs) -> pd.DataFrame:
    orders = read.pandas("curated", "sales_order", filters=_B2B)
    return orders.rename(columns={"location_id": "depot_id"})[
        ["order_id", "customer_ref", "depot_id", "ship_to_lat", "ship_to_lon", "ordered_at", "promised_start", "promised_end", "units"]
    ]


def _online_orders(read: Inputs) -> pd.DataFrame:
    orders = read.pandas("curated", "sales_order", filters=[("channel", "=", "online")])
    return orders[["order_id", "customer_ref", "ordered_at", "promised_start", "promised_end"]]


def _plan(read: Inputs) -> tuple[pd.DataFrame, pd.DataFrame]:
    return read.pandas("orders", "route_stop"), read.pandas("orders", "route")


def _geofences(read: Inputs):
    derived = geofences.derive_geofences(read.pandas("curated", "location"), _fleet_orders(read))
    return {"geofences": pd.concat([derived, geofences.load_reference_geofences()], ignore_index=True)}


def _route_plan(read: Inputs):
    plan = routing.plan_routes(_fleet_orders(read), read.pandas("curated", "vehicle"), read.pandas("curated", "location"))
    return {"route_stop": plan.stops, "route": plan.routes}


def _plan_report(tables: dict[str, pa.Table], _read: Inputs) -> Findings:
    routes, stops = tables["route"].to_pandas(), tables["route_stop"].to_pandas()
    planned = stops[stops.status == "planned"]
    by_depot = routes.groupby("depot_id").agg(routes=("route_id", "size"), stops=("stops", "sum"), km=("route_km", "sum"),
                                              windows_met=("windows_met", "sum")).round(1).reset_index()
    return Findings(metadata={"route": {
        "total_km": dg.MetadataValue.float(round(float(routes.route_km.sum()), 1)),
        "stops_planned": len(planned),
        "windows_met": int(planned.window_met.sum()),
        "windows_missed": int((~planned.window_met.astype(bool)).sum()),
        "orders_unassigned": int((stops.status != "planned").sum()),
        "by_depot": dg.MetadataValue.md(markdown_table(pa.Table.from_pandas(by_depot, preserve_index=False))),
    }})


def _geofence_events(read: Inputs):
    pings = read.pandas("clean", "vehicle_telemetry")
    return {"geofence_events": geofences.geofence_events(pings, read.pandas("orders", "geofences"))}


def _stop_visits(read: Inputs):
    stops, routes = _plan(read)
    return {"stop_visits": eta.stop_visits(stops, routes, read.pandas("orders", "geofence_events"))}


def _eta_predictions(read: Inputs):
    stops, routes = _plan(read)
    pings = read.pandas("clean", "vehicle_telemetry")
    return {"eta_predictions": eta.predict_arrivals(pings, stops, routes, read.pandas("orders", "stop_visits"))}


def _truth(read: Inputs) -> pd.DataFrame | None:
    """The generator's true deliveries, where the lake has ground truth beside it (quality figures only)."""
    truth = read.truth()
    if not truth.exists("deliveries.csv"):
        return None
    frame = pd.read_csv(io.BytesIO(truth.read_bytes("deliveries.csv")), dtype={"vehicle_id": "string"})
    for column in ("promised_start", "promised_end", "actual_arrival"):
        frame[column] = pd.to_datetime(frame[column], utc=True, format="ISO8601")
    return frame


def _eta_report(tables: dict[str, pa.Table], read: Inputs) -> Findings:
    predictions = tables["eta_predictions"].to_pandas()
    arrivals = read.pandas("orders", "stop_visits", columns=["order_id", "arrived_at"]).dropna()
    by_route = eta.eta_accuracy(predictions, arrivals.rename(columns={"arrived_at": "actual_arrival"}))
    overall = eta.eta_accuracy(predictions, arrivals.rename(columns={"arrived_at": "actual_arrival"}), by=())
    metadata = {
        "eta_mae_minutes": dg.MetadataValue.float(round(float(overall.mae_minutes.iloc[0]), 2)) if len(overall) else None,
        "eta_accuracy_by_route": dg.MetadataValue.md(markdown_table(pa.Table.from_pandas(by_route, preserve_index=False), limit=30)),
    }
    truth = _truth(read)
    if truth is not None:
        true_overall = eta.eta_accuracy(predictions, truth[truth.carrier == "fleet"][["order_id", "actual_arrival"]], by=())
        if len(true_overall):
            metadata["eta_mae_minutes_vs_truth"] = dg.MetadataValue.float(round(float(true_overall.mae_minutes.iloc[0]), 2))
    return Findings(metadata={"eta_predictions": {k: v for k, v in metadata.items() if v is not None}})


def _order_timeline(read: Inputs):
    stops, _ = _plan(read)
    return {"order_timeline": timeline.order_timeline(
        _fleet_orders(read), _online_orders(read), stops, read.pandas("orders", "stop_visits"),
        read.pandas("curated", "shipment_event"), read.pandas("clean", "driver_pod"),
    )}


def _perfect_order(read: Inputs):
    stops, _ = _plan(read)
    pod, events = read.pandas("clean", "driver_pod"), read.pandas("curated", "shipment_event")
    pings = read.pandas("clean", "vehicle_telemetry")
    # "now" is the newest thing the hub has heard of, so a rerun on the same data judges the same way
    as_of = pd.Series([pd.to_datetime(series, utc=True).max() for series in (pod.delivered_at, events.event_at, pings.ts)]).max()
    freight = read.pandas("curated", "shipment", filters=[("kind", "=", "freight")])
    judged = perfect_order.perfect_orders(_fleet_orders(read), _online_orders(read), stops,
                                          read.pandas("orders", "stop_visits"), pod, events, as_of=as_of, freight=freight)
    return {"perfect_order": judged, "perfect_order_kpis": perfect_order.perfect_order_kpis(judged)}


def _kpi_report(tables: dict[str, pa.Table], _read: Inputs) -> Findings:
    judged = tables["perfect_order"].to_pandas()
    rates = {measure: round(float(judged[measure].dropna().astype(bool).mean()), 4)
             for measure in perfect_order.MEASURES if judged[measure].notna().any()}
    kpis = tables["perfect_order_kpis"].to_pandas()
    carriers, modes = kpis[kpis.dimension == "carrier"], kpis[kpis.dimension == "mode"]
    return Findings(metadata={"perfect_order": {"rates": dg.MetadataValue.json(rates)}, "perfect_order_kpis": {
        "by_carrier": dg.MetadataValue.md(markdown_table(pa.Table.from_pandas(carriers, preserve_index=False))),
        "by_mode": dg.MetadataValue.md(markdown_table(pa.Table.from_pandas(modes, preserve_index=False)))}})


def _profiles(read: Inputs):
    _, routes = _plan(read)
    routes_profiled = perfect_order.route_profile(
        routes, read.pandas("orders", "stop_visits"), read.pandas("orders", "perfect_order"), read.pandas("clean", "vehicle_telemetry")
    )
    return {"route_profile": routes_profiled,
            "driver_profile": perfect_order.driver_profile(routes_profiled, read.pandas("orders", "perfect_order"))}


def _reference_version() -> str:
    return hashlib.sha256(geofences.REFERENCE_GEOFENCES.read_bytes()).hexdigest()[:12]


ALERT_SCHEMA = pa.schema([
    ("alert_id", pa.string()), ("order_id", pa.string()), ("route_id", pa.string()), ("vehicle_id", pa.string()),
    ("customer_ref", pa.string()), ("driver_id", pa.string()), ("state", pa.string()),
    ("raised_at", pa.timestamp("us", tz="UTC")), ("eta", pa.timestamp("us", tz="UTC")),
    ("promised_start", pa.timestamp("us", tz="UTC")), ("promised_end", pa.timestamp("us", tz="UTC")),
    ("minutes_after_window", pa.float64()),
])
STATE_SCHEMA = pa.schema([
    ("order_id", pa.string()), ("state", pa.string()), ("changed_at", pa.timestamp("us", tz="UTC")),
    ("last_predicted_at", pa.timestamp("us", tz="UTC")), ("last_eta", pa.timestamp("us", tz="UTC")),
])


def _delay_alerts_asset() -> dg.AssetsDefinition:
    spec = DELAY_ALERTS

    asset = ZoneAsset(
        specs=[spec], deps=[ETA_PREDICTIONS.key, ROUTE_STOP.key, curated_key("sales_order"), curated_key("location")],
        owners=[OWNER], kinds=PANDAS, side_tables={"alert_state": SideTable("orders", "alert_state", ("order_id",))},
        checks=[gx_check(spec, "Alert ids present and unique; declared states.")],
    )

    def delay_alerts(_context: dg.AssetExecutionContext, tables: State, notifications: NotificationResource):
        predictions = tables.pandas("orders", "eta_predictions")
        state = tables.pandas("orders", "alert_state") if tables.exists("orders", "alert_state") else delivery_alerts.empty_state()
        orders = tables.pandas("curated", "sales_order", columns=["order_id", "customer_ref", "ship_to_location_id"], filters=_B2B)
        addresses = tables.pandas("orders", "route_stop", columns=["order_id", "driver_id"]).merge(
            orders[["order_id", "customer_ref"]], on="order_id")
        places = tables.pandas("curated", "location", columns=["location_id", "timezone"])
        timezones = orders.merge(places, left_on="ship_to_location_id", right_on="location_id").set_index("order_id").timezone
        alerts, state = delivery_alerts.update_alerts(state, predictions, addresses)
        sent = notifications.send("delay_alert", delivery_alerts.alert_messages(alerts, timezones))
        new_alerts = pa.Table.from_pandas(alerts[ALERT_SCHEMA.names], schema=ALERT_SCHEMA, preserve_index=False)
        tables.upsert(new_alerts, "orders", "delay_alerts", keys=["alert_id"], insert_only=True)
        tables.sync(pa.Table.from_pandas(state[STATE_SCHEMA.names], schema=STATE_SCHEMA, preserve_index=False),
                  "orders", "alert_state", keys=["order_id"])
        every_alert = tables.arrow("orders", "delay_alerts")
        metadata = {
            **table_metadata(every_alert, descriptions=dict(DELAY_ALERTS.columns)),
            "alerts_this_run": len(alerts),
            "messages_sent": sent,
            "channel": "sns" if notifications.sns_topic_arn else f"outbox {notifications.outbox()}",
            "orders_late_now": int((state.state == "late").sum()),
            "new_alerts": dg.MetadataValue.md(markdown_table(new_alerts, ["order_id", "state", "raised_at", "eta", "promised_end"], limit=20)),
        }
        truth = _truth(tables)
        if truth is not None and len(predictions):
            quality = delivery_alerts.evaluate_alerts(every_alert.to_pandas(), predictions, truth)
            metadata["quality_vs_truth"] = figures(quality, undefined="no order was alerted, or none was late, in the telemetry so far")
        yield dg.MaterializeResult(asset_key=spec.key, metadata=metadata)
        yield check_rules(every_alert, spec, asset_key=spec.key)

    return asset.define(delay_alerts)


def orders_assets() -> list[dg.AssetsDefinition]:
    common = {"group": "orders", "owners": [OWNER], "kinds": PANDAS}
    stops_and_routes = [ROUTE_STOP.key, ROUTE.key]
    return [
        table_assets([GEOFENCES], deps=[curated_key("location"), curated_key("sales_order")], build=_geofences,
                     code_version=_reference_version(),
                     automation_condition=FOLLOWS_UPSTREAM | dg.AutomationCondition.code_version_changed(), **common),
        table_assets([ROUTE_STOP, ROUTE], deps=[curated_key("sales_order"), curated_key("vehicle"), curated_key("location")],
                     build=_route_plan, report=_plan_report, name="orders__route_plan", **common),
        table_assets([GEOFENCE_EVENTS], deps=[clean_key("vehicle_telemetry"), GEOFENCES.key], build=_geofence_events, **common),
        table_assets([STOP_VISITS], deps=[*stops_and_routes, GEOFENCE_EVENTS.key], build=_stop_visits, **common),
        table_assets([ETA_PREDICTIONS], deps=[clean_key("vehicle_telemetry"), *stops_and_routes, STOP_VISITS.key],
                     build=_eta_predictions, report=_eta_report, **common),
        _delay_alerts_asset(),
        table_assets([ORDER_TIMELINE], deps=[curated_key("sales_order"), curated_key("shipment_event"), clean_key("driver_pod"),
                                             *stops_and_routes, STOP_VISITS.key], build=_order_timeline, **common),
        table_assets([PERFECT_ORDER, PERFECT_ORDER_KPIS],
                     deps=[curated_key("sales_order"), curated_key("shipment_event"), curated_key("shipment"), clean_key("driver_pod"),
                           clean_key("vehicle_telemetry"), *stops_and_routes, STOP_VISITS.key],
                     build=_perfect_order, report=_kpi_report, name="orders__perfect_order", **common),
        table_assets([ROUTE_PROFILE, DRIVER_PROFILE], deps=[*stops_and_routes, STOP_VISITS.key, PERFECT_ORDER.key,
                                                            clean_key("vehicle_telemetry")],
                     build=_profiles, name="orders__profiles", **common),
    ]
