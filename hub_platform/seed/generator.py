"""`hub seed`: realistic, seeded, reproducible sample files for every source system, with ground truth.

Writes ``OUT/landing/<source>/<arrival timestamp>_<name>`` in each source's contract format and
``OUT/truth/*.csv`` beside it (never inside the landing zone); OUT is a folder or an s3:// prefix:

- persons.csv: source, record_key, person_id (which records are the same real person)
- products.csv: source, code, product_id (which codes are the same product)
- deliveries.csv: order_id, carrier, vehicle_id, promised_start, promised_end, actual_arrival, delay_minutes, late,
  in_full, damage_free, documented (times in UTC; for fleet orders the last three are true to the proof of delivery)
- sales_anomalies.csv: sku, location_id, date, kind (spike | drop), factor
- faults.csv: source, landing_key, fault, expected (only with ``faults=True``)

Output is a pure function of (scale, seed, faults): no wall clock, a fixed end date.
"""

from __future__ import annotations

import io
import json
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from hub_platform.lib.lake.store import Location
from hub_platform.seed import catalog, operations
from hub_platform.seed.faults import inject_faults
from hub_platform.seed.people import noisy_records, true_people
from hub_platform.sources.contract import Contract, default_registry

END = pd.Timestamp("2026-10-31")


@dataclass(frozen=True)
class Scale:
    people: int
    products: int
    stores: int
    days: int
    suppliers: int
    accounts: int  # business customers delivered by the fleet
    vans_per_depot: int
    telemetry_days: int
    inventory_days: int
    campaigns: int
    sessions: int


SCALES = {
    "small": Scale(people=300, products=60, stores=6, days=150, suppliers=6, accounts=12, vans_per_depot=2,
                   telemetry_days=2, inventory_days=14, campaigns=3, sessions=1_500),
    "medium": Scale(people=4_000, products=120, stores=8, days=365, suppliers=12, accounts=40, vans_per_depot=3,
                    telemetry_days=5, inventory_days=28, campaigns=12, sessions=25_000),
    "large": Scale(people=110_000, products=400, stores=40, days=365, suppliers=30, accounts=200, vans_per_depot=8,
                   telemetry_days=5, inventory_days=14, campaigns=8, sessions=300_000),
}


@dataclass
class SeedSummary:
    scale: str
    out: str
    files: Counter = field(default_factory=Counter)
    rows: Counter = field(default_factory=Counter)
    bytes: int = 0
    seconds: float = 0.0

    def __str__(self) -> str:
        lines = [f"{self.scale} sample in {self.out}: {sum(self.files.values()):,} files, {self.bytes / 1e6:,.1f} MB, "
                 f"{sum(self.rows.values()):,} rows in {self.seconds:.1f} s"]
        lines += [f"  {source:<28} {self.files[source]:>5} files {self.rows[source]:>10,} rows" for source in sorted(self.files)]
        return "\n".join(lines)


class Landing:
    """Writes files for sources in their contract's format, under arrival-ordered keys."""

    def __init__(self, root: Location, summary: SeedSummary):
        self.root = root
        self.summary = summary
        self.contracts = default_registry().sources
        self.keys: list[str] = []

    def deliver(self, source: str, frame: pd.DataFrame, name: str, arrival: pd.Timestamp) -> str:
        contract = self.contracts[source]
        ext = {"csv": "csv", "parquet": "parquet", "jsonl": "jsonl", "cdc_jsonl": "jsonl"}[contract.format.type]
        key = f"{source}/{arrival:%Y%m%dT%H%M%S}000000Z_{name}.{ext}"
        data = encode(frame[[c.file_column for c in contract.columns if c.file_column in frame]], contract)
        self.write(key, data)
        self.summary.rows[source] += len(frame)
        return key

    def write(self, key: str, data: bytes) -> None:
        self.root.write_bytes(data, key)
        self.summary.files[key.split("/", 1)[0]] += 1
        self.summary.bytes += len(data)
        self.keys.append(key)

    def read(self, key: str) -> bytes:
        return self.root.read_bytes(key)

    def deliver_by(self, source: str, frame: pd.DataFrame, when: pd.Series, freq: str, name: str, lag: pd.Timedelta) -> None:
        """One file per period of ``when`` (D, W, MS, or a sub-daily span such as 15min), arriving
        ``lag`` after the period ends. Tz-aware times are taken in UTC."""
        if when.dt.tz is not None:
            when = when.dt.tz_convert(None)
        if freq in ("D", "W", "MS"):
            periods = when.dt.to_period("M" if freq == "MS" else freq)
            starts, ends = periods.dt.start_time, periods.dt.end_time + pd.Timedelta(1, "ns")
            stamp = "%Y-%m-%d"
        else:  # micro-batches: aligned windows (pandas periods of 15min are not aligned)
            starts = when.dt.floor(freq)
            ends = starts + pd.tseries.frequencies.to_offset(freq)
            stamp = "%Y-%m-%dT%H%M"
        for (start, end), part in frame.groupby([starts.to_numpy(), ends.to_numpy()], sort=True):
            self.deliver(source, part, f"{name}_{pd.Timestamp(start):{stamp}}", pd.Timestamp(end) + lag)


def encode(frame: pd.DataFrame, contract: Contract) -> bytes:
    """Bytes as the source system would send them: local naive timestamps, its own format."""
    frame = frame.copy()
    for column in contract.columns:
        name = column.file_column
        if name in frame and column.type in ("timestamp", "timestamptz"):
            values = pd.to_datetime(frame[name])
            if values.dt.tz is not None:
                values = values.dt.tz_convert(contract.format.timezone).dt.tz_localize(None)
            frame[name] = values.dt.strftime("%Y-%m-%d %H:%M:%S") if contract.format.type != "parquet" else values
    kind = contract.format.type
    if kind == "csv":
        return frame.to_csv(index=False, sep=contract.format.delimiter).encode(contract.format.encoding)
    if kind == "parquet":
        buffer = io.BytesIO()
        pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), buffer)
        return buffer.getvalue()
    records = frame.astype(object).where(frame.notna(), None).to_dict("records")
    return "".join(json.dumps(r, default=str, ensure_ascii=False) + "\n" for r in records).encode("utf-8")


def generate(scale: str, out: Path | Location, *, seed: int = 7, faults: bool = False) -> SeedSummary:
    """Write the sample under ``out`` (a folder, or a Location: a folder or s3:// prefix with its S3 settings)."""
    if scale not in SCALES:
        raise ValueError(f"unknown scale {scale!r}; use one of {', '.join(SCALES)}")
    started = time.perf_counter()
    size = SCALES[scale]
    rng = np.random.default_rng(seed)
    out = out if isinstance(out, Location) else Location(str(out))
    summary = SeedSummary(scale, out.root)
    landing = Landing(Location(out.uri("landing"), out.s3), summary)
    truth = Location(out.uri("truth"), out.s3)
    days = operations.period(END, size.days)
    day_lag = pd.Timedelta(hours=1)

    # master data
    locations = catalog.locations(rng, size.stores)
    suppliers = catalog.suppliers(rng, size.suppliers)
    products = catalog.products(rng, size.products, suppliers.supplier_id.to_numpy())
    landing.deliver("erp_locations", locations, "locations", days[0])
    landing.deliver("erp_suppliers", suppliers, "suppliers", days[0])
    _product_snapshots(rng, landing, products, days)
    web_catalog = products.assign(title=products.web_title, price=products.base_price,
                                  gtin=np.where(rng.random(len(products)) < 0.5, products.gtin, None))
    landing.deliver("web_catalog", web_catalog, "catalog", days[0])
    prices = operations.price_history(rng, products, days)
    for valid_from, part in prices.groupby("valid_from"):
        landing.deliver("erp_prices", part, f"prices_{valid_from:%Y-%m-%d}", valid_from - pd.Timedelta(hours=6))

    # people and the records systems keep of them
    people = true_people(rng, size.people)
    crm = noisy_records(rng, people, "crm", 0.7, stale=True).assign(contact_id=lambda f: [f"C{i + 10001}" for i in range(len(f))])
    loyalty = noisy_records(rng, people, "pos", 0.4).assign(loyalty_id=lambda f: [f"L{i + 50000001}" for i in range(len(f))])
    web = noisy_records(rng, people, "web", 0.35).assign(user_id=lambda f: [f"U{i + 200001}" for i in range(len(f))])
    mobile = noisy_records(rng, people, "app", 0.25).assign(user_id=lambda f: [f"M{i + 300001}" for i in range(len(f))])
    callers = noisy_records(rng, people, "cc", 0.25, stale=True)
    callers = pd.concat([callers, callers.sample(frac=0.3, random_state=seed)], ignore_index=True)
    call_log = operations.calls(rng, callers, days)
    for frame in (loyalty, web, mobile):
        frame["signup_ts"] = days[0] + pd.to_timedelta(rng.uniform(0, size.days, len(frame)), unit="D")
        frame["marketing_consent"] = rng.random(len(frame)) < 0.6
    landing.deliver_by("pos_loyalty_members", loyalty, loyalty.signup_ts, "MS", "members", day_lag)
    landing.deliver_by("web_signups", web, web.signup_ts, "W", "signups", day_lag)
    landing.deliver_by("mobile_signups", mobile, mobile.signup_ts, "W", "signups", day_lag)
    landing.deliver_by("contact_center_calls", call_log, call_log.started_at, "W", "calls", day_lag)
    changes = operations.crm_changes(rng, crm, people, days)
    for batch, part in changes.groupby("batch"):
        landing.deliver("crm_contacts", part, f"changes_week{batch:03d}", days[0] + pd.Timedelta(days=7 * (int(batch) + 1), hours=2))
    addresses = pd.concat([crm.email, web.email, mobile.email]).dropna().str.lower().unique()
    mails = operations.email_events(rng, addresses, days, size.campaigns)
    for campaign, part in mails.groupby("campaign_id"):
        landing.deliver("email_events", part, campaign.lower(), part.ts.max().ceil("D") + day_lag)

    # sales, stock, purchasing, production
    stores = locations[locations.location_type == "store"].reset_index(drop=True)
    lines, stock, anomalies = operations.store_sales(rng, products, stores, days, prices)
    lines = lines.assign(
        sku=products.sku.to_numpy()[lines["product"]],
        gtin=products.gtin.to_numpy()[lines["product"]],
        item_code=products.store_item_code.to_numpy()[lines["product"]],
        item_description=products.till_description.to_numpy()[lines["product"]],
        loyalty_id=np.where(rng.random(len(lines)) < 0.35, rng.choice(loyalty.loyalty_id.to_numpy(), len(lines)), None),
    )
    lines["loyalty_id"] = lines.groupby("transaction_id").loyalty_id.transform("first")
    for source, country in (("pos_north", "GB"), ("pos_south", "DE")):
        part = lines[lines.country == country]
        tz = landing.contracts[source].format.timezone
        part = part.assign(ts=part.ts_local.dt.tz_localize(tz, ambiguous=False, nonexistent="shift_forward"))
        landing.deliver_by(source, part, part.day, "D", "transactions", day_lag)
    recent = stock[stock.day >= days[-size.inventory_days]]
    recent = recent.assign(sku=products.sku.to_numpy()[recent["product"]], snapshot_date=recent.day.dt.date)
    landing.deliver_by("erp_inventory", recent, recent.day, "D", "inventory", pd.Timedelta(hours=3))
    pos_orders = operations.purchase_orders(rng, products, suppliers, days, END)
    landing.deliver_by("erp_purchase_orders", pos_orders, pos_orders.arrival, "MS", "purchase_orders", day_lag)
    made = operations.production(rng, products, days)
    landing.deliver_by("shop_floor_production", made, made.shift_start, "W", "production", day_lag)

    # orders and deliveries: the fleet world draws from its own stream, so changing it leaves the other sources alone;
    # its times are tz-aware UTC and encode() writes them in each contract's zone
    fleet_rng = np.random.default_rng([seed, 1])
    depots = locations[locations.location_type == "dc"].reset_index(drop=True)
    vehicles = operations.fleet(fleet_rng, depots, size.vans_per_depot)
    landing.deliver("erp_fleet", vehicles, "fleet", days[0])
    headers, order_lines = operations.b2b_orders(fleet_rng, depots, products, days, size.accounts)
    plan = operations.dispatch(headers, order_lines, vehicles, locations)
    fleet_truth, pings, pod = operations.fleet_deliveries(fleet_rng, plan, vehicles, locations, days[-size.telemetry_days])
    landing.deliver_by("erp_sales_orders", headers, headers.order_ts, "D", "orders", day_lag)
    landing.deliver_by("erp_sales_order_lines", order_lines, order_lines.order_ts, "D", "order_lines", day_lag)
    if len(pings):
        landing.deliver_by("vehicle_telemetry", pings, pings.ts, "15min", "pings", pd.Timedelta(minutes=1))
    landing.deliver_by("driver_pod", pod, pod.delivered_at, "D", "pod", day_lag)
    users = pd.concat([web, mobile], ignore_index=True)
    online, carrier_events, carrier_truth = operations.web_orders(rng, users, people, products, days)
    landing.deliver_by("web_orders", online, online.order_ts, "W", "orders", day_lag)
    for carrier, part in carrier_events.groupby("carrier"):
        landing.deliver_by(carrier, part, part.event_ts, "W", "tracking", day_lag)
    clicks = operations.clickstream(rng, users, products, days, size.sessions)
    landing.deliver_by("web_clickstream", clicks, clicks.ts, "W", "events", day_lag)

    # ground truth, beside the landing zone
    persons = pd.concat([
        pd.DataFrame({"source": "crm_contacts", "record_key": crm.contact_id, "person_id": crm.person_id}),
        pd.DataFrame({"source": "pos_loyalty_members", "record_key": loyalty.loyalty_id, "person_id": loyalty.person_id}),
        pd.DataFrame({"source": "web_signups", "record_key": web.user_id, "person_id": web.person_id}),
        pd.DataFrame({"source": "mobile_signups", "record_key": mobile.user_id, "person_id": mobile.person_id}),
        pd.DataFrame({"source": "contact_center_calls", "record_key": call_log.call_id, "person_id": call_log.person_id}),
    ])
    _write_csv(truth, "persons.csv", persons)
    codes = [("erp_products", "sku"), ("web_catalog", "web_product_id"), ("pos", "gtin"), ("pos", "store_item_code"),
             ("erp_purchase_orders", "supplier_part_no")]
    _write_csv(truth, "products.csv",
               pd.concat([pd.DataFrame({"source": s, "code": products[c], "product_id": products.product_id}).dropna() for s, c in codes]))
    deliveries = pd.concat([fleet_truth, carrier_truth], ignore_index=True)
    times = ["promised_start", "promised_end", "actual_arrival"]
    _write_csv(truth, "deliveries.csv",  # UTC
               deliveries.assign(**{c: pd.to_datetime(deliveries[c], utc=True).dt.tz_convert(None).dt.round("s") for c in times}))
    _write_csv(truth, "sales_anomalies.csv", anomalies)
    if faults:
        _write_csv(truth, "faults.csv", inject_faults(rng, landing))
    summary.seconds = time.perf_counter() - started
    return summary


def _write_csv(location: Location, name: str, frame: pd.DataFrame) -> None:
    location.write_bytes(frame.to_csv(index=False).encode(), name)


def _product_snapshots(rng: np.random.Generator, landing: Landing, products: pd.DataFrame, days: pd.DatetimeIndex) -> None:
    """The ERP sends its product master as a full extract every month; attributes drift between them."""
    current = products.copy()
    for i, month in enumerate(pd.date_range(days[0], days[-1], freq="MS").union([days[0]])):
        if i:
            changed = rng.random(len(current)) < 0.06
            current.loc[changed, "lifecycle"] = rng.choice(catalog.LIFECYCLES, int(changed.sum()))
            renamed = rng.random(len(current)) < 0.03
            current.loc[renamed, "product_name"] = current.loc[renamed, "product_name"] + " New"
        current["updated_at"] = month + pd.Timedelta(hours=2)
        landing.deliver("erp_products", current, f"products_{month:%Y-%m-%d}", month + pd.Timedelta(hours=3))
