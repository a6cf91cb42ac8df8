"""What happens in the business over the sample's period: sales, stock, prices, orders, deliveries,
vehicles on the road, production, marketing e-mail, web visits, calls, and CRM changes.

Everything is drawn from one random generator, so a (scale, seed) pair always gives the same data.
Ground truth (true delays, injected anomalies) is returned beside the data, never inside it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from hub_platform.defs.orders.geofences import haversine_km
from hub_platform.defs.orders.routing import PlanningParameters, RoutePlan, plan_routes
from hub_platform.sources.reference import COUNTRY_TIMEZONES

WEEKDAY = np.array([0.85, 0.9, 0.95, 1.0, 1.2, 1.35, 0.75])  # Monday … Sunday
CARRIERS = {
    "carrier_swiftship": {"picked_up": "PU", "in_transit": "IT", "out_for_delivery": "OFD", "delivered": "DL", "exception": "EX"},
    "carrier_parcelpro": {"picked_up": "picked_up", "in_transit": "in_transit", "out_for_delivery": "out_for_delivery",
                          "delivered": "delivered", "exception": "delayed"},
    "carrier_northfreight": {"picked_up": "10", "in_transit": "40", "out_for_delivery": "60", "delivered": "90", "exception": "99"},
}
UNMAPPED_CODES = {"carrier_swiftship": "HLD", "carrier_parcelpro": "held_at_customs", "carrier_northfreight": "55"}
SLOTS = ((8, 10), (10, 12), (12, 14), (14, 16), (16, 18))  # delivery windows B2B customers choose from, local time at the depot
PLANNING = PlanningParameters()  # what the world's dispatcher plans with: the hub's defaults
TRUTH_COLUMNS = ["order_id", "carrier", "vehicle_id", "promised_start", "promised_end", "actual_arrival", "delay_minutes",
                 "late", "in_full", "damage_free", "documented"]
CALL_REASONS = ["delivery_late", "damaged", "return", "billing", "product_question", "account"]


def period(end: pd.Timestamp, days: int) -> pd.DatetimeIndex:
    return pd.date_range(end - pd.Timedelta(days=days), periods=days, freq="D")


def price_history(rng: np.random.Generator, products: pd.DataFrame, days: pd.DatetimeIndex) -> pd.DataFrame:
    """List prices per product and currency, effective-dated: a start price and occasional changes."""
    rows = []
    for currency, factor in (("GBP", 1.0), ("EUR", 1.16)):
        base = np.round(products.base_price.to_numpy() * factor, 2)
        rows.append(pd.DataFrame({"sku": products.sku, "currency": currency, "price": base, "valid_from": days[0]}))
        for step in range(1, max(2, len(days) // 60)):
            changed = rng.random(len(products)) < 0.25
            base = np.where(changed, np.round(base * rng.uniform(0.92, 1.12, len(products)), 2), base)
            when = days[min(step * 60, len(days) - 1)]
            rows.append(pd.DataFrame({"sku": products.sku[changed], "currency": currency, "price": base[changed], "valid_from": when}))
    return pd.concat(rows, ignore_index=True)


def store_sales(rng: np.random.Generator, products: pd.DataFrame, stores: pd.DataFrame, days: pd.DatetimeIndex,
                prices: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Units sold per product, store and day, as POS lines, plus daily stock and the injected anomalies.

    Demand has weekly seasonality, a trend, promotions (price down, demand up) and a share of
    intermittent products; stock runs out when replenishment is late, which caps sales at zero.
    """
    n_p, n_s, n_d = len(products), len(stores), len(days)
    store_factor = rng.uniform(0.6, 1.6, n_s)
    trend = 1 + np.linspace(0, rng.uniform(-0.1, 0.25), n_d)
    promo = rng.random((n_p, 1, n_d)) < 0.03
    promo = promo | np.roll(promo, 1, axis=2) | np.roll(promo, 2, axis=2)  # promotions last three days
    rate = (products.demand_rate.to_numpy()[:, None, None] * store_factor[None, :, None]
            * (WEEKDAY[days.dayofweek.to_numpy()] * trend)[None, None, :] * np.where(promo, 1.8, 1.0))
    demand = rng.poisson(rate)

    anomalies = []
    series = n_p * n_s
    for _ in range(max(3, series // 150)):
        p, s, d = rng.integers(n_p), rng.integers(n_s), rng.integers(7, n_d)
        if rate[p, s, d] < 0.8:
            continue
        kind, factor = ("spike", float(rng.uniform(4, 7))) if rng.random() < 0.7 else ("drop", 0.0)
        demand[p, s, d] = round(max(rate[p, s, d], 1) * factor)
        anomalies.append({"sku": products.sku[p], "location_id": stores.location_id.iloc[s], "date": days[d].date(),
                          "kind": kind, "factor": round(factor, 2)})

    # stock: weekly replenishment up to a target; a late truck (10%) means a week without one
    on_hand = np.ceil(rate.mean(axis=2) * 10).astype(np.int64)
    target = np.ceil(rate.mean(axis=2) * rng.uniform(8, 14, (n_p, n_s))).astype(np.int64) + 1
    sold = np.zeros_like(demand)
    stock = np.zeros_like(demand)
    in_transit = np.zeros_like(demand)
    for d in range(n_d):
        if days[d].dayofweek == 0:
            arrives = rng.random((n_p, n_s)) > 0.1
            on_hand = np.where(arrives, np.maximum(on_hand, target), on_hand)
        sold[:, :, d] = np.minimum(demand[:, :, d], on_hand)
        on_hand = on_hand - sold[:, :, d]
        stock[:, :, d] = on_hand
        in_transit[:, :, d] = np.where(days[d].dayofweek >= 4, np.maximum(target - on_hand, 0), 0)

    p_idx, s_idx, d_idx = np.nonzero(sold)
    qty = sold[p_idx, s_idx, d_idx]
    store_ids = stores.location_id.to_numpy()[s_idx]
    country = stores.country.to_numpy()[s_idx]
    currency = np.where(country == "GB", "GBP", "EUR")
    list_price = _price_on(prices, products.sku.to_numpy()[p_idx], currency, days[d_idx])
    unit_price = np.round(np.where(promo[p_idx, 0, d_idx], list_price * 0.8, list_price), 2)
    lines = pd.DataFrame({"product": p_idx, "store_id": store_ids, "day": days[d_idx], "qty": qty,
                          "unit_price": unit_price, "currency": currency, "country": country})
    # baskets: a store-day's lines fall into transactions of about 2.5 lines
    lines["basket"] = rng.integers(0, np.maximum(1, lines.groupby(["store_id", "day"]).qty.transform("size") // 2.5).astype(int))
    lines["transaction_id"] = lines.store_id + "-" + lines.day.dt.strftime("%Y%m%d") + "-" + lines.basket.astype(str).str.zfill(5)
    lines = lines.sort_values(["transaction_id", "product"], kind="stable").reset_index(drop=True)
    lines["line_no"] = lines.groupby("transaction_id").cumcount() + 1
    seconds = (pd.util.hash_array(lines.transaction_id.to_numpy()) % (12 * 3600)).astype("int64")
    lines["ts_local"] = lines.day + pd.Timedelta(hours=8) + pd.to_timedelta(seconds, unit="s")

    snapshot = pd.DataFrame({
        "product": np.repeat(np.arange(n_p), n_s * n_d),
        "location_id": np.tile(np.repeat(stores.location_id.to_numpy(), n_d), n_p),
        "day": np.tile(days, n_p * n_s),
        "on_hand": stock.reshape(-1),
        "in_transit": in_transit.reshape(-1),
    })
    return lines, snapshot, pd.DataFrame(anomalies)


def _price_on(prices: pd.DataFrame, skus: np.ndarray, currency: np.ndarray, when: pd.DatetimeIndex) -> np.ndarray:
    """The list price in force on each date (as-of join on valid_from)."""
    lookup = pd.DataFrame({"sku": skus, "currency": currency, "when": when.to_numpy(), "row": np.arange(len(skus))})
    ordered = prices.sort_values("valid_from")
    joined = pd.merge_asof(lookup.sort_values("when"), ordered, left_on="when", right_on="valid_from", by=["sku", "currency"])
    return joined.sort_values("row").price.to_numpy()


def purchase_orders(rng: np.random.Generator, products: pd.DataFrame, suppliers: pd.DataFrame, days: pd.DatetimeIndex,
                    end: pd.Timestamp) -> pd.DataFrame:
    rows = []
    lead = dict(zip(suppliers.supplier_id, suppliers.lead_time_days, strict=True))
    for month_start in pd.date_range(days[0], days[-1], freq="MS"):
        for supplier_id, items in products.groupby("supplier_id"):
            po_id = f"PO-{month_start:%Y%m}-{supplier_id[-3:]}"
            expected = month_start + pd.Timedelta(days=int(lead[supplier_id]))
            received = expected + pd.Timedelta(days=int(rng.integers(-1, 6)))
            for line, (_, item) in enumerate(items.iterrows(), start=1):
                qty = int(max(12, round(item.demand_rate * 30 * 6 / 12) * 12))
                open_po = received >= end or rng.random() < 0.03
                short = rng.random() < 0.05
                rows.append({"po_id": po_id, "line_no": line, "supplier_id": supplier_id, "sku": item.sku,
                             "supplier_part_no": item.supplier_part_no, "qty": qty, "order_date": month_start.date(),
                             "expected_date": expected.date(), "received_date": None if open_po else received.date(),
                             "received_qty": None if open_po else (int(qty * 0.8) if short else qty), "arrival": month_start})
    return pd.DataFrame(rows).astype({"received_qty": "Int64"})


def fleet(rng: np.random.Generator, depots: pd.DataFrame, vehicles_per_depot: int) -> pd.DataFrame:
    rows = []
    for _, depot in depots.iterrows():
        for _v in range(vehicles_per_depot):
            number = len(rows) + 1
            rows.append({"vehicle_id": f"VAN-{number:03d}", "depot_id": depot.location_id, "capacity_units": int(rng.choice([400, 600, 800])),
                         "driver_id": f"DRV-{number:03d}", "driver_name": f"Driver {number}"})
    return pd.DataFrame(rows)


def b2b_orders(rng: np.random.Generator, depots: pd.DataFrame, products: pd.DataFrame, days: pd.DatetimeIndex,
               accounts: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Business customers' orders for delivery by the fleet from a depot, in a window the customer chose.

    Each account has two delivery weekdays (plus occasional extra orders) and a usual slot (``SLOTS``,
    local time at the depot); one order in ten asks for another slot. Orders are placed two days
    ahead during office hours. Times are tz-aware UTC: encode() writes them in the ERP's time zone.
    """
    depot_of = rng.integers(0, len(depots), accounts)
    usual_slot = rng.integers(0, len(SLOTS), accounts)
    drop_lat = depots.latitude.to_numpy()[depot_of] + rng.normal(0, 0.12, accounts)
    drop_lon = depots.longitude.to_numpy()[depot_of] + rng.normal(0, 0.18, accounts)
    weekdays = days[days.dayofweek < 5]
    weekday = weekdays.dayofweek.to_numpy()[None, :]
    number = np.arange(accounts)[:, None]
    regular = (weekday == number % 5) | (weekday == (number + 2) % 5)
    account, day_index = np.nonzero(regular | (rng.random(regular.shape) < 0.06))
    n = len(account)
    slot = np.where(rng.random(n) >= 0.1, usual_slot[account], rng.integers(0, len(SLOTS), n))
    day = weekdays[day_index]
    hours = np.array(SLOTS)
    local = {"order_ts": day - pd.Timedelta(days=2) + pd.to_timedelta(rng.integers(8 * 3600, 17 * 3600, n), unit="s"),
             "promised_start": day + pd.to_timedelta(hours[slot, 0], unit="h"),
             "promised_end": day + pd.to_timedelta(hours[slot, 1], unit="h")}
    depot = depots.iloc[depot_of[account]]
    headers = pd.DataFrame({
        "order_id": [f"SO-{i + 100001}" for i in range(n)], "customer_account": [f"ACC-{a + 1:04d}" for a in account],
        "ship_to_name": [f"Customer {a + 1:04d} Ltd" for a in account], "ship_to_lat": np.round(drop_lat, 5)[account],
        "ship_to_lon": np.round(drop_lon, 5)[account], "depot_id": depot.location_id.to_numpy(),
    })
    for column, values in local.items():
        headers[column] = pd.Series(pd.NaT, index=headers.index, dtype="datetime64[ns, UTC]")
        for zone in depots.timezone.unique():
            here = depot.timezone.to_numpy() == zone
            headers.loc[here, column] = values[here].tz_localize(zone).tz_convert("UTC")
    count = rng.integers(1, 5, n)
    picks = np.argsort(rng.random((n, len(products)), dtype=np.float32), axis=1)[:, :4]
    order_of = np.repeat(np.arange(n), count)
    product = picks[order_of, np.concatenate([np.arange(c) for c in count])]
    lines = pd.DataFrame({"order_id": headers.order_id.to_numpy()[order_of],
                          "line_no": np.concatenate([np.arange(1, c + 1) for c in count]),
                          "sku": products.sku.to_numpy()[product], "qty": rng.integers(6, 60, len(order_of)),
                          "unit_price": np.round(products.base_price.to_numpy(float)[product] * 0.7, 2),
                          "currency": np.where(depot.country.to_numpy()[order_of] == "GB", "GBP", "EUR"),
                          "order_ts": headers.order_ts.to_numpy()[order_of]})
    lines["order_ts"] = pd.to_datetime(lines.order_ts, utc=True)
    return headers, lines


def dispatch(headers: pd.DataFrame, lines: pd.DataFrame, vehicles: pd.DataFrame, locations: pd.DataFrame) -> RoutePlan:
    """The world's dispatcher plans every depot-day with the hub's planner, from exactly the values the
    hub reads back from the clean zone: coordinates as rounded in the files, windows in whole seconds,
    units as the sum of the order lines, capacities from the fleet list, depots from the location master."""
    units = lines.groupby("order_id").qty.sum().rename("units")
    orders = headers[["order_id", "depot_id", "ship_to_lat", "ship_to_lon", "promised_start", "promised_end"]].join(units, on="order_id")
    return plan_routes(orders, vehicles, locations)


def fleet_deliveries(rng: np.random.Generator, plan: RoutePlan, vehicles: pd.DataFrame, locations: pd.DataFrame,
                     telemetry_from: pd.Timestamp) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Drive the plan: returns the true arrivals (ground truth), GPS pings for the routes of planning
    days from ``telemetry_from`` on, and the drivers' proofs of delivery.

    Vans follow the planned sequence and leave the depot up to 6 minutes after the planned departure;
    each leg takes the planned time times a per-leg factor (log-normal, median 1.05) times the
    driver's pace; on 35% of routes a jam holds the van for 45 to 210 minutes on one leg and slows
    the legs after it by a third: that is what makes deliveries late (about 6% of them). An early van
    waits at the drop for the window to open, then hands over in 6 to 15 minutes. Some drivers speed
    (2 to 4 minutes at 95 to 120 km/h) on some legs. Orders the planner carried to a later day are
    driven on that day (late); orders it never fitted are not delivered (no arrival, late). Tracks
    detour through a via-point so their length is the road distance the planner assumed and ping
    speeds are road speeds. Times are int64 UTC nanoseconds inside, tz-aware UTC outside.
    """
    depots = locations.set_index("location_id")
    pace = dict(zip(vehicles.vehicle_id, rng.lognormal(0, 0.06, len(vehicles)), strict=True))
    speeding = dict(zip(vehicles.vehicle_id, rng.choice([0.0, 0.03, 0.08, 0.2], len(vehicles)), strict=True))
    stops = plan.stops[plan.stops.status == "planned"].sort_values(["route_id", "stop_seq"], kind="stable")
    routes = plan.routes.set_index("route_id").loc[stops.route_id.unique()]
    bounds = np.r_[0, np.cumsum(stops.groupby("route_id", sort=False).size().to_numpy())]
    lat, lon, leg_km = stops.ship_to_lat.to_numpy(float), stops.ship_to_lon.to_numpy(float), stops.leg_km.to_numpy(float)
    opens = _ns(stops.promised_start)
    arrival, handover = np.zeros(len(stops), dtype=np.int64), np.zeros(len(stops), dtype=np.int64)
    tracked = pd.to_datetime(routes.plan_date.astype(str)).to_numpy() >= np.datetime64(telemetry_from)
    pings = []
    for r, route in enumerate(routes.itertuples()):
        first, last = bounds[r], bounds[r + 1]
        van, depot = route.vehicle_id, (depots.latitude[route.depot_id], depots.longitude[route.depot_id])
        legs_km = np.r_[leg_km[first:last], route.return_km]
        seconds = legs_km / PLANNING.speed_kmh * 3600 * rng.lognormal(np.log(1.05), 0.1, len(legs_km)) * pace[van]
        jam_leg = int(rng.integers(0, last - first)) if rng.random() < 0.35 else -1
        jam_seconds = float(rng.uniform(45, 210)) * 60
        if jam_leg >= 0:
            seconds[jam_leg + 1:] *= 4 / 3
        places = [*zip(lat[first:last], lon[first:last], strict=True), depot]
        at = _ns([route.planned_departure])[0] + int(rng.integers(0, 360)) * 10**9
        track = [(at - 600 * 10**9, *depot), (at, *depot)]
        for leg, there in enumerate(places):
            held = jam_seconds if leg == jam_leg else 0.0
            if tracked[r]:
                track += _leg(rng, track[-1][1:], there, at, round(seconds[leg]), legs_km[leg], held,
                              rng.random() < speeding[van])
                at = track[-1][0]
            else:
                at += round(seconds[leg] + held) * 10**9
            if leg == last - first:
                break
            arrival[first + leg] = at
            at = max(at, opens[first + leg]) + int(rng.integers(360, 900)) * 10**9
            handover[first + leg] = at
            track.append((at, *there))
        track.append((at + 300 * 10**9, *depot))
        if tracked[r]:
            pings.append(_pings(rng, van, track))
    delivered = pd.DataFrame({"order_id": stops.order_id.to_numpy(), "vehicle_id": stops.vehicle_id.to_numpy(),
                              "promised_start": stops.promised_start.to_numpy(), "promised_end": stops.promised_end.to_numpy(),
                              "actual_arrival": pd.to_datetime(arrival, utc=True), "delivered_at": pd.to_datetime(handover, utc=True),
                              "units": stops.units.to_numpy()})
    pod, quality = _proof_of_delivery(rng, delivered)
    never = plan.stops[plan.stops.status == "unassigned"]
    truth = pd.concat([delivered.join(quality), pd.DataFrame({
        "order_id": never.order_id, "vehicle_id": None, "promised_start": never.promised_start, "promised_end": never.promised_end,
        "actual_arrival": pd.NaT, "in_full": False, "damage_free": False, "documented": False})], ignore_index=True)
    for column in ("promised_start", "promised_end", "actual_arrival"):
        truth[column] = pd.to_datetime(truth[column], utc=True)
    delay = (truth.actual_arrival - truth.promised_end).dt.total_seconds() / 60
    truth = truth.assign(carrier="fleet", delay_minutes=delay.clip(lower=0).round(1), late=~(delay <= 0))
    telemetry = pd.concat(pings, ignore_index=True) if pings else pd.DataFrame()
    return truth[TRUTH_COLUMNS], telemetry, pod


def _ns(values) -> np.ndarray:
    return pd.DatetimeIndex(pd.to_datetime(pd.Series(values), utc=True)).as_unit("ns").asi8


def _leg(rng: np.random.Generator, start: tuple[float, float], end: tuple[float, float], departure: int,
         seconds: int, road_km: float, jam_seconds: float, speeds: bool) -> list[tuple]:
    """Track points (UTC ns, lat, lon) of one leg after its start: through a via-point off the midpoint
    that makes the path as long as the road distance, optionally with a spell of speeding and a jam
    (the van creeps 2% of the leg while held up)."""
    (lat0, lon0), (lat1, lon1) = start, end
    fractions, times = [0.0, 1.0], [0.0, float(seconds)]
    fast_kmh, fast_seconds = rng.uniform(95, 120), rng.uniform(120, 240)
    share = fast_kmh * fast_seconds / 3600 / max(road_km, 1e-9)
    if speeds and share < 0.5 and fast_seconds < seconds / 2:
        begin = rng.uniform(0.1, 0.9 - share)
        per_fraction = (seconds - fast_seconds) / (1 - share)
        fractions, times = [0.0, begin, begin + share, 1.0], [0.0, begin * per_fraction, begin * per_fraction + fast_seconds, float(seconds)]
    if jam_seconds:
        held = rng.uniform(0.2, 0.75)
        grid = np.union1d(fractions, [held, held + 0.02])
        times = np.interp(grid, fractions, times) + np.where(grid >= held + 0.02, jam_seconds, 0.0)
        fractions = grid
    straight = float(haversine_km(lat0, lon0, lat1, lon1))
    km_lat, km_lon = 111.195, 111.195 * np.cos(np.radians((lat0 + lat1) / 2))
    north, east = (lat1 - lat0) * km_lat, (lon1 - lon0) * km_lon
    offset = straight / 2 * np.sqrt(max((road_km / straight) ** 2 - 1, 0.0)) if straight > 1e-6 else 0.0
    side = rng.choice([-1.0, 1.0]) / max(straight, 1e-9)
    via = ((lat0 + lat1) / 2 + side * offset * east / km_lat, (lon0 + lon1) / 2 - side * offset * north / km_lon)
    grid = np.union1d(fractions, [0.5])[1:]
    at = departure + np.rint(np.interp(grid, fractions, times)).astype(np.int64) * 10**9
    lat = np.interp(grid, [0, 0.5, 1], [lat0, via[0], lat1])
    lon = np.interp(grid, [0, 0.5, 1], [lon0, via[1], lon1])
    return list(zip(at.tolist(), lat.tolist(), lon.tolist(), strict=True))


def _proof_of_delivery(rng: np.random.Generator, delivered: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """What the driver records in the handheld app at each handover, and the truth about it: 4% of
    drops are short, 3% have damaged units, 4% lack a signature, 5% lack complete documents, and
    0.5% of proofs never reach the hub (the app lost them)."""
    n = len(delivered)
    units = delivered.units.to_numpy(np.int64)
    short = rng.random(n) < 0.04
    delivered_units = units - np.where(short, np.maximum(1, np.rint(units * rng.uniform(0.05, 0.3, n))), 0).astype(np.int64)
    damaged_units = np.where(rng.random(n) < 0.03, np.minimum(delivered_units, rng.integers(1, 6, n)), 0)
    signature, documents, synced = rng.random(n) >= 0.04, rng.random(n) >= 0.05, rng.random(n) >= 0.005
    pod = pd.DataFrame({"order_id": delivered.order_id, "vehicle_id": delivered.vehicle_id, "delivered_at": delivered.delivered_at,
                        "delivered_units": delivered_units, "damaged_units": damaged_units, "signature_captured": signature,
                        "documents_complete": documents})[synced].reset_index(drop=True)
    quality = pd.DataFrame({"in_full": delivered_units >= units, "damage_free": damaged_units == 0,
                            "documented": signature & documents & synced}, index=delivered.index)
    return pod, quality


def _pings(rng: np.random.Generator, vehicle: str, track: list[tuple]) -> pd.DataFrame:
    """A ping every 30 s along the track (UTC ns, lat, lon; linear between points), with GPS jitter of about 10 m."""
    times, lats, lons = (np.array(column) for column in zip(*track, strict=True))
    stamps = np.arange(times[0], times[-1], 30 * 10**9, dtype=np.int64)
    lat = np.interp(stamps, times, lats) + rng.normal(0, 0.00009, len(stamps))
    lon = np.interp(stamps, times, lons) + rng.normal(0, 0.00013, len(stamps))
    step_km = haversine_km(lat[:-1], lon[:-1], lat[1:], lon[1:])
    speed = np.concatenate([[0.0], step_km / (30 / 3600)])
    speed = np.where(speed < 4, 0.0, speed)  # jitter while parked is not movement
    heading = np.concatenate([[0.0], np.degrees(np.arctan2(np.diff(lon), np.diff(lat))) % 360])
    return pd.DataFrame({"vehicle_id": vehicle, "ts": pd.to_datetime(stamps, utc=True), "lat": np.round(lat, 6),
                         "lon": np.round(lon, 6), "speed_kmh": np.round(speed, 1), "heading": np.round(heading, 0)})


def web_orders(rng: np.random.Generator, users: pd.DataFrame, people: pd.DataFrame, products: pd.DataFrame,
               days: pd.DatetimeIndex) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Online orders by signed-up users, shipped by carriers: order lines, carrier events, true delays.

    Orders are placed at UTC instants; the promise is a delivery day at the customer's address, and
    carriers deliver between 08:00 and 20:00 local time there. Every time is tz-aware UTC, so each
    carrier's files carry it in that carrier's own zone (encode() converts) and nothing drifts.
    """
    counts = rng.poisson(1.6, len(users))
    buyer = np.repeat(np.arange(len(users)), counts)
    placed = (days[0] + pd.to_timedelta(rng.uniform(0, len(days) - 5, len(buyer)), unit="D")).tz_localize("UTC")
    person = people.set_index("person_id")
    lines, events, truth = [], [], []
    carriers = list(CARRIERS)
    for number, (b, when) in enumerate(zip(buyer, placed, strict=True)):
        user = users.iloc[b]
        home = person.loc[user.person_id]
        timezone = COUNTRY_TIMEZONES[home.country]
        order_id = f"WEB-{number + 500001}"
        promised = (when.tz_convert(timezone) + pd.Timedelta(days=int(rng.integers(2, 5)))).normalize().tz_localize(None)

        def local(naive: pd.Timestamp, timezone: str = timezone) -> pd.Timestamp:  # a wall-clock time at the customer's, as an instant
            return naive.tz_localize(timezone, nonexistent="shift_forward", ambiguous=False).tz_convert("UTC")

        for line_no, p in enumerate(rng.choice(len(products), int(rng.integers(1, 4)), replace=False), start=1):
            lines.append({"order_id": order_id, "line_no": line_no, "user_id": user.user_id, "web_product_id": products.web_product_id.iloc[p],
                          "qty": int(rng.integers(1, 4)), "unit_price": float(products.base_price.iloc[p]), "currency": "GBP" if home.country == "GB" else "EUR",
                          "order_ts": when, "ship_street": home.street, "ship_postcode": home.postcode, "ship_country": home.country,
                          "promised_date": promised.date()})
        carrier = carriers[number % 3]
        late = rng.random() < 0.08
        arrival_day = promised + (pd.Timedelta(days=int(rng.integers(1, 3))) if late else pd.Timedelta(0))
        arrival = local(arrival_day + pd.Timedelta(hours=float(rng.uniform(9, 19))))
        window_start, window_end = local(promised + pd.Timedelta(hours=8)), local(promised + pd.Timedelta(hours=20))
        tracking = f"{carrier[8:10].upper()}{number + 7000000}"
        steps = [("picked_up", when + pd.Timedelta(hours=20)), ("in_transit", when + pd.Timedelta(hours=30)),
                 ("out_for_delivery", local(arrival_day + pd.Timedelta(hours=7))), ("delivered", arrival)]
        if late:
            steps.insert(2, ("exception", local(promised + pd.Timedelta(hours=6))))
        vocabulary = CARRIERS[carrier]
        for status, at in steps:
            code = UNMAPPED_CODES[carrier] if status == "in_transit" and rng.random() < 0.004 else vocabulary[status]
            events.append({"carrier": carrier, "tracking_no": tracking, "order_id": order_id, "status_code": code, "event_ts": at,
                           "lat": None, "lon": None, "location_text": f"{home.city} hub" if status != "delivered" else home.city})
        truth.append({"order_id": order_id, "carrier": carrier, "vehicle_id": None, "promised_start": window_start,
                      "promised_end": window_end, "actual_arrival": arrival,
                      "delay_minutes": round(max((arrival - window_end).total_seconds() / 60, 0), 1),
                      "late": arrival > window_end})
    return pd.DataFrame(lines), pd.DataFrame(events), pd.DataFrame(truth)


def clickstream(rng: np.random.Generator, users: pd.DataFrame, products: pd.DataFrame, days: pd.DatetimeIndex, sessions: int) -> pd.DataFrame:
    user_of = np.where(rng.random(sessions) < 0.35, -1, rng.integers(0, len(users), sessions))
    start = days[0] + pd.to_timedelta(rng.uniform(0, len(days), sessions), unit="D")
    length = rng.integers(1, 7, sessions)
    session = np.repeat(np.arange(sessions), length)
    step = np.concatenate([np.arange(n) for n in length])
    product = rng.integers(0, len(products), len(session))
    kind = np.where(rng.random(len(session)) < 0.18, "add_to_cart", "view")
    kind = np.where((kind == "add_to_cart") & (rng.random(len(session)) < 0.3), "purchase", kind)
    users_ids = users.user_id.to_numpy()
    return pd.DataFrame({
        "session_id": [f"S{s:08d}" for s in session],
        "user_id": [None if user_of[s] < 0 else users_ids[user_of[s]] for s in session],
        "event_type": kind,
        "web_product_id": products.web_product_id.to_numpy()[product],
        "ts": start[session] + pd.to_timedelta(step * 40, unit="s"),
    })


def email_events(rng: np.random.Generator, addresses: np.ndarray, days: pd.DatetimeIndex, campaigns: int) -> pd.DataFrame:
    frames = []
    for c, sent in enumerate(pd.date_range(days[0], days[-1], periods=campaigns)):
        to = addresses[rng.random(len(addresses)) < 0.6]
        n = len(to)
        opened = rng.random(n) < 0.35
        clicked = opened & (rng.random(n) < 0.22)
        frames.append(pd.DataFrame({"email": to, "campaign_id": f"CMP-{c + 1:03d}", "event": "sent", "ts": sent}))
        for event, mask, hours in (("open", opened, 5), ("click", clicked, 6), ("unsubscribe", rng.random(n) < 0.005, 7),
                                   ("bounce", rng.random(n) < 0.01, 0.1)):
            frames.append(pd.DataFrame({"email": to[mask], "campaign_id": f"CMP-{c + 1:03d}", "event": event,
                                        "ts": sent + pd.to_timedelta(rng.uniform(0.05, hours, int(mask.sum())), unit="h")}))
    return pd.concat(frames, ignore_index=True)


def production(rng: np.random.Generator, products: pd.DataFrame, days: pd.DatetimeIndex) -> pd.DataFrame:
    made = products.sku.to_numpy()[: max(4, len(products) // 10)]
    rows = []
    for day in days:
        for line in ("L1", "L2"):
            for _shift, hour in (("early", 6), ("late", 14)):
                good = int(rng.normal(1800, 250))
                rows.append({"plant_id": "PL-01", "line_id": line, "sku": made[(day.dayofyear + (line == "L2")) % len(made)],
                             "shift_start": day + pd.Timedelta(hours=hour), "good_units": max(good, 0),
                             "scrap_units": int(rng.poisson(good * 0.02))})
    return pd.DataFrame(rows)


def calls(rng: np.random.Generator, callers: pd.DataFrame, days: pd.DatetimeIndex) -> pd.DataFrame:
    started = days[0] + pd.to_timedelta(rng.uniform(0, len(days), len(callers)), unit="D")
    return callers.assign(
        call_id=[f"CALL-{i + 900001}" for i in range(len(callers))],
        reason=rng.choice(CALL_REASONS, len(callers), p=[0.3, 0.12, 0.2, 0.15, 0.15, 0.08]),
        started_at=started,
        duration_s=rng.integers(45, 1500, len(callers)),
        resolution=rng.choice(["resolved", "escalated", "callback"], len(callers), p=[0.75, 0.1, 0.15]),
    )


def crm_changes(rng: np.random.Generator, contacts: pd.DataFrame, people: pd.DataFrame, days: pd.DatetimeIndex) -> pd.DataFrame:
    """The CRM's change feed: inserts, address moves and new e-mails as updates, a few deletes.

    Log sequence numbers follow the true order of changes; the files deliver them by week with
    some events a week late (out of order) and some replayed.
    """
    person = people.set_index("person_id")
    events = []
    created = days[0] + pd.to_timedelta(rng.uniform(0, len(days) * 0.6, len(contacts)), unit="D")
    for row, at in zip(contacts.itertuples(), created, strict=True):
        record = {k: getattr(row, k) for k in ("contact_id", "first_name", "last_name", "email", "phone", "street", "postcode", "city", "country")}
        record["email_consent"] = bool(rng.random() < 0.6)
        events.append({**record, "op": "I", "changed_at": at})
        true = person.loc[row.person_id]
        if true.old_street is not None and record["street"] == true.old_street:
            events.append({**record, "street": true.street, "op": "U", "changed_at": at + pd.Timedelta(days=float(rng.uniform(5, 90)))})
        if rng.random() < 0.05:
            events.append({**record, "email": true.email.replace("@", ".new@"), "op": "U", "changed_at": at + pd.Timedelta(days=float(rng.uniform(5, 90)))})
        if rng.random() < 0.02:
            events.append({**record, "op": "D", "changed_at": at + pd.Timedelta(days=float(rng.uniform(30, 120)))})
    frame = pd.DataFrame(events).sort_values("changed_at", kind="stable").reset_index(drop=True)
    frame = frame[frame.changed_at < days[-1] + pd.Timedelta(days=1)].reset_index(drop=True)
    frame["lsn"] = np.arange(1, len(frame) + 1) * 10
    week = (frame.changed_at - days[0]).dt.days // 7
    late = rng.random(len(frame)) < 0.03
    frame["batch"] = week + late.astype(int)  # delivered a week late: out of order
    replay = frame[rng.random(len(frame)) < 0.02].assign(batch=lambda f: f.batch + 1)
    return pd.concat([frame, replay], ignore_index=True).sort_values(["batch", "lsn"], kind="stable").reset_index(drop=True)
