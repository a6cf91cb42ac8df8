"""What happens in the business over the sample's period: sales, stock, prices, orders, deliveries,
vehicles on the road, production, marketing e-mail, web visits, calls, and CRM changes.

Everything is drawn from one random generator, so a (scale, seed) pair always gives the same data.
Ground truth (true delays, injected anomalies) is returned beside the data, never inside it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

WEEKDAY = np.array([0.85, 0.9, 0.95, 1.0, 1.2, 1.35, 0.75])  # Monday … Sunday
CARRIERS = {
    "carrier_swiftship": {"picked_up": "PU", "in_transit": "IT", "out_for_delivery": "OFD", "delivered": "DL", "exception": "EX"},
    "carrier_parcelpro": {"picked_up": "picked_up", "in_transit": "in_transit", "out_for_delivery": "out_for_delivery",
                          "delivered": "delivered", "exception": "delayed"},
    "carrier_northfreight": {"picked_up": "10", "in_transit": "40", "out_for_delivery": "60", "delivered": "90", "exception": "99"},
}
UNMAPPED_CODES = {"carrier_swiftship": "HLD", "carrier_parcelpro": "held_at_customs", "carrier_northfreight": "55"}
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
        demand[p, s, d] = int(round(max(rate[p, s, d], 1) * factor))
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
        for v in range(vehicles_per_depot):
            number = len(rows) + 1
            rows.append({"vehicle_id": f"VAN-{number:03d}", "depot_id": depot.location_id, "capacity_units": int(rng.choice([400, 600, 800])),
                         "driver_id": f"DRV-{number:03d}", "driver_name": f"Driver {number}"})
    return pd.DataFrame(rows)


def b2b_orders(rng: np.random.Generator, depots: pd.DataFrame, products: pd.DataFrame, days: pd.DatetimeIndex,
               accounts: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Business customers' orders, each for delivery by the fleet from a depot in a promised window."""
    depot_of = rng.integers(0, len(depots), accounts)
    drop_lat = depots.latitude.to_numpy()[depot_of] + rng.normal(0, 0.12, accounts)
    drop_lon = depots.longitude.to_numpy()[depot_of] + rng.normal(0, 0.18, accounts)
    headers, lines = [], []
    weekdays = days[days.dayofweek < 5]
    for account in range(accounts):
        regular = weekdays.dayofweek == account % 5  # each account has a delivery weekday, plus extra orders
        for day in weekdays[regular | (rng.random(len(weekdays)) < 0.06)]:
            order_id = f"SO-{len(headers) + 100001}"
            headers.append({"order_id": order_id, "customer_account": f"ACC-{account + 1:04d}",
                            "ship_to_name": f"Customer {account + 1:04d} Ltd", "ship_to_lat": round(drop_lat[account], 5),
                            "ship_to_lon": round(drop_lon[account], 5), "depot_id": depots.location_id.iloc[depot_of[account]],
                            "order_ts": day - pd.Timedelta(days=2) + pd.Timedelta(seconds=int(rng.integers(8 * 3600, 17 * 3600))),
                            "delivery_day": day})
            for line_no, p in enumerate(rng.choice(len(products), int(rng.integers(1, 5)), replace=False), start=1):
                lines.append({"order_id": order_id, "line_no": line_no, "sku": products.sku.iloc[p],
                              "qty": int(rng.integers(6, 60)), "unit_price": round(float(products.base_price.iloc[p]) * 0.7, 2),
                              "currency": "GBP" if depots.country.iloc[depot_of[account]] == "GB" else "EUR", "arrival": day})
    return pd.DataFrame(headers), pd.DataFrame(lines)


def haversine_km(lat1, lon1, lat2, lon2):
    lat1, lon1, lat2, lon2 = map(np.radians, (lat1, lon1, lat2, lon2))
    a = np.sin((lat2 - lat1) / 2) ** 2 + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2
    return 6371.0 * 2 * np.arcsin(np.sqrt(a))


def fleet_deliveries(rng: np.random.Generator, orders: pd.DataFrame, vehicles: pd.DataFrame, depots: pd.DataFrame,
                     telemetry_from: pd.Timestamp) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Drive each depot's vehicles through the day's drops; returns promised windows on the orders,
    true arrivals (the ground truth of delays) and GPS pings (for the last days only)."""
    depot_at = depots.set_index("location_id")
    windows, truth, pings = [], [], []
    for (depot_id, day), todays in orders.groupby(["depot_id", "delivery_day"]):
        vans = vehicles[vehicles.depot_id == depot_id].vehicle_id.to_numpy()
        base = depot_at.loc[depot_id]
        angle = np.arctan2(todays.ship_to_lat - base.latitude, todays.ship_to_lon - base.longitude)
        todays = todays.assign(van=vans[np.argsort(np.argsort(angle.to_numpy())) % len(vans)]).sort_values(["van"])
        for van, stops in todays.groupby("van"):
            stops = stops.iloc[np.argsort(np.arctan2(stops.ship_to_lat - base.latitude, stops.ship_to_lon - base.longitude).to_numpy())]
            lat, lon = base.latitude, base.longitude
            planned = actual = day + pd.Timedelta(hours=7)  # every duration below is rounded to the second
            track = [(actual, lat, lon, 0.0)]
            incident = rng.random() < 0.15  # a jam on part of this route
            for i, stop in enumerate(stops.itertuples()):
                km = float(haversine_km(lat, lon, stop.ship_to_lat, stop.ship_to_lon)) * 1.3  # road factor
                nominal = round(km / 38.0 * 3600) / 3600
                slow = 2.6 if incident and i >= len(stops) // 2 else float(rng.uniform(0.9, 1.25))
                planned = planned + pd.Timedelta(seconds=round(nominal * 3600))
                actual = actual + pd.Timedelta(seconds=round(nominal * slow * 3600))
                track.append((actual, stop.ship_to_lat, stop.ship_to_lon, km / max(nominal * slow, 1e-6)))
                windows.append({"order_id": stop.order_id, "promised_start": planned - pd.Timedelta(minutes=45),
                                "promised_end": planned + pd.Timedelta(minutes=75)})
                delay = (actual - (planned + pd.Timedelta(minutes=75))).total_seconds() / 60
                truth.append({"order_id": stop.order_id, "carrier": "fleet", "vehicle_id": van,
                              "promised_start": planned - pd.Timedelta(minutes=45), "promised_end": planned + pd.Timedelta(minutes=75),
                              "actual_arrival": actual, "delay_minutes": round(max(delay, 0.0), 1), "late": delay > 0})
                dwell = pd.Timedelta(seconds=int(rng.integers(360, 900)))
                planned, actual = planned + pd.Timedelta(minutes=10), actual + dwell
                track.append((actual, stop.ship_to_lat, stop.ship_to_lon, 0.0))
                lat, lon = stop.ship_to_lat, stop.ship_to_lon
            km = float(haversine_km(lat, lon, base.latitude, base.longitude)) * 1.3
            track.append((actual + pd.Timedelta(seconds=round(km / 38.0 * 3600)), base.latitude, base.longitude, 38.0))
            if day >= telemetry_from:
                pings.append(_pings(rng, van, track))
    telemetry = pd.concat(pings, ignore_index=True) if pings else pd.DataFrame()
    return pd.DataFrame(windows), pd.DataFrame(truth), telemetry


def _pings(rng: np.random.Generator, vehicle: str, track: list[tuple]) -> pd.DataFrame:
    """A ping every 30 s along the track (linear between points), with GPS jitter of about 10 m."""
    times = np.array([t.value for t, *_ in track], dtype=np.int64)
    stamps = np.arange(times[0], times[-1], 30 * 10**9, dtype=np.int64)
    lat = np.interp(stamps, times, [p[1] for p in track]) + rng.normal(0, 0.00009, len(stamps))
    lon = np.interp(stamps, times, [p[2] for p in track]) + rng.normal(0, 0.00013, len(stamps))
    step_km = haversine_km(lat[:-1], lon[:-1], lat[1:], lon[1:])
    speed = np.concatenate([[0.0], step_km / (30 / 3600)])
    speed = np.where(speed < 4, 0.0, speed)  # jitter while parked is not movement
    heading = np.concatenate([[0.0], np.degrees(np.arctan2(np.diff(lon), np.diff(lat))) % 360])
    return pd.DataFrame({"vehicle_id": vehicle, "ts": pd.to_datetime(stamps, utc=True), "lat": np.round(lat, 6),
                         "lon": np.round(lon, 6), "speed_kmh": np.round(speed, 1), "heading": np.round(heading, 0)})


def web_orders(rng: np.random.Generator, users: pd.DataFrame, people: pd.DataFrame, products: pd.DataFrame,
               days: pd.DatetimeIndex) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Online orders by signed-up users, shipped by carriers: order lines, carrier events, true delays."""
    counts = rng.poisson(1.6, len(users))
    buyer = np.repeat(np.arange(len(users)), counts)
    placed = days[0] + pd.to_timedelta(rng.uniform(0, len(days) - 5, len(buyer)), unit="D")
    person = people.set_index("person_id")
    lines, events, truth = [], [], []
    carriers = list(CARRIERS)
    for number, (b, when) in enumerate(zip(buyer, placed, strict=True)):
        user = users.iloc[b]
        home = person.loc[user.person_id]
        order_id = f"WEB-{number + 500001}"
        promised = (when + pd.Timedelta(days=int(rng.integers(2, 5)))).normalize()
        for line_no, p in enumerate(rng.choice(len(products), int(rng.integers(1, 4)), replace=False), start=1):
            lines.append({"order_id": order_id, "line_no": line_no, "user_id": user.user_id, "web_product_id": products.web_product_id.iloc[p],
                          "qty": int(rng.integers(1, 4)), "unit_price": float(products.base_price.iloc[p]), "currency": "GBP" if home.country == "GB" else "EUR",
                          "order_ts": when, "ship_street": home.street, "ship_postcode": home.postcode, "ship_country": home.country,
                          "promised_date": promised.date()})
        carrier = carriers[number % 3]
        late = rng.random() < 0.08
        arrival = promised + pd.Timedelta(hours=float(rng.uniform(9, 19))) + (pd.Timedelta(days=int(rng.integers(1, 3))) if late else pd.Timedelta(0))
        tracking = f"{carrier[8:10].upper()}{number + 7000000}"
        steps = [("picked_up", when + pd.Timedelta(hours=20)), ("in_transit", when + pd.Timedelta(hours=30)),
                 ("out_for_delivery", arrival.normalize() + pd.Timedelta(hours=7)), ("delivered", arrival)]
        if late:
            steps.insert(2, ("exception", promised + pd.Timedelta(hours=6)))
        vocabulary = CARRIERS[carrier]
        for status, at in steps:
            code = UNMAPPED_CODES[carrier] if status == "in_transit" and rng.random() < 0.004 else vocabulary[status]
            events.append({"carrier": carrier, "tracking_no": tracking, "order_id": order_id, "status_code": code, "event_ts": at,
                           "lat": None, "lon": None, "location_text": f"{home.city} hub" if status != "delivered" else home.city})
        truth.append({"order_id": order_id, "carrier": carrier, "vehicle_id": None, "promised_start": promised + pd.Timedelta(hours=8),
                      "promised_end": promised + pd.Timedelta(hours=20), "actual_arrival": arrival,
                      "delay_minutes": round(max((arrival - (promised + pd.Timedelta(hours=20))).total_seconds() / 60, 0), 1),
                      "late": arrival > promised + pd.Timedelta(hours=20)})
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
            for shift, hour in (("early", 6), ("late", 14)):
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
