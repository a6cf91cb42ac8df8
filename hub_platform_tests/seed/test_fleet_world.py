"""The fleet world: vans drive the plan the hub's planner makes from the written files, and every
source's times line up once the clean zone has read them."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest

from hub_platform.defs.clean.conform import Delivery, conform_file
from hub_platform.defs.orders.eta import stop_visits
from hub_platform.defs.orders.geofences import derive_geofences, geofence_events
from hub_platform.defs.orders.routing import plan_routes
from hub_platform.seed.generator import generate
from hub_platform.seed.operations import SLOTS
from hub_platform.sources.contract import default_registry


@pytest.fixture(scope="module")
def sample(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("fleet")
    generate("small", out, seed=7)
    return out


def clean(sample: Path, source: str) -> pd.DataFrame:
    """A source's landed files as the clean zone reads them (contract types and time zones)."""
    contract = default_registry().sources[source]
    now = datetime(2026, 11, 1, tzinfo=UTC)
    tables = []
    for path in sorted((sample / "landing" / source).iterdir()):
        outcome = conform_file(path.read_bytes(), contract, Delivery(source, "test", path.name, now, now))
        assert outcome.failure is None and outcome.quarantine.num_rows == 0, path
        tables.append(outcome.clean)
    return pa.concat_tables(tables).to_pandas()


@pytest.fixture(scope="module")
def hub(sample: Path) -> dict[str, pd.DataFrame]:
    headers = clean(sample, "erp_sales_orders")
    units = clean(sample, "erp_sales_order_lines").groupby("order_id").qty.sum().rename("units")
    orders = headers.rename(columns={"customer_account": "customer_ref"}).join(units, on="order_id")
    locations, vehicles = clean(sample, "erp_locations"), clean(sample, "erp_fleet")
    truth = pd.read_csv(sample / "truth" / "deliveries.csv").query("carrier == 'fleet'")
    for column in ("promised_start", "promised_end", "actual_arrival"):
        truth[column] = pd.to_datetime(truth[column], utc=True)
    return {"orders": orders, "locations": locations, "vehicles": vehicles, "pings": clean(sample, "vehicle_telemetry"),
            "pod": clean(sample, "driver_pod"), "truth": truth, "plan": plan_routes(orders, vehicles, locations)}


def test_the_vans_drove_the_plan_the_hub_makes_from_the_files(hub):
    stops = hub["plan"].stops.merge(hub["truth"], on="order_id", suffixes=("", "_driven"))
    assert len(stops) == len(hub["orders"]) == len(hub["truth"])
    planned = stops[stops.status == "planned"]
    assert (planned.vehicle_id == planned.vehicle_id_driven).all()
    driven_order = planned.sort_values(["route_id", "actual_arrival"]).groupby("route_id").cumcount() + 1
    assert (driven_order.sort_index() == planned.stop_seq.astype(int)).all()
    # the windows the hub reads are the ones the world promised
    assert (planned.promised_start == planned.promised_start_driven).all()
    assert (planned.promised_end == planned.promised_end_driven).all()


def test_windows_are_customer_chosen_local_slots(hub):
    orders = hub["orders"].merge(hub["locations"], left_on="depot_id", right_on="location_id")
    local_hour = pd.Series(0, index=orders.index)
    for zone, part in orders.groupby("timezone"):
        local_hour[part.index] = part.promised_start.dt.tz_convert(zone).dt.hour
    hours = (orders.promised_end - orders.promised_start).dt.total_seconds() / 3600
    assert set(zip(local_hour, hours, strict=True)) <= {(start, end - start) for start, end in SLOTS}
    assert (orders.order_ts < orders.promised_start - pd.Timedelta(hours=24)).all()
    usual = local_hour.groupby(orders.customer_ref).agg(lambda h: h.value_counts(normalize=True).max())
    assert usual.median() >= 0.8  # most of an account's orders come in its usual slot


def test_pings_erp_windows_and_truth_share_one_clock(hub):
    """Arrivals the geofences find in the UTC pings match the truth, and fall where the ERP's
    Europe/London windows say: the three sources agree on time."""
    plan, truth = hub["plan"], hub["truth"].set_index("order_id")
    fences = derive_geofences(hub["locations"], hub["orders"])
    visits = stop_visits(plan.stops, plan.routes, geofence_events(hub["pings"], fences))
    seen = visits.dropna(subset=["arrived_at"]).set_index("order_id")
    assert len(seen) >= 5
    error = (seen.arrived_at - truth.actual_arrival.reindex(seen.index)).dt.total_seconds()
    assert error.abs().max() <= 60
    waited = seen.departed_at.notna()
    assert (seen.departed_at[waited] >= truth.promised_start.reindex(seen.index)[waited] + pd.Timedelta(minutes=6)).all()


def test_proofs_of_delivery_follow_the_handover(hub):
    pod = hub["pod"].set_index("order_id")
    truth = hub["truth"].set_index("order_id")
    delivered = truth.loc[pod.index]
    assert len(pod) >= 0.98 * truth.actual_arrival.notna().sum()
    assert (pod.delivered_at >= delivered.actual_arrival + pd.Timedelta(minutes=6)).all()
    assert (pod.delivered_at >= delivered.promised_start + pd.Timedelta(minutes=6)).all()  # vans wait for the window
    units = hub["orders"].set_index("order_id").units.loc[pod.index]
    assert (delivered.in_full == (pod.delivered_units >= units)).all()
    assert (delivered.damage_free == (pod.damaged_units == 0)).all()
    assert (delivered.documented == (pod.signature_captured & pod.documents_complete)).all()
    assert (pod.vehicle_id == delivered.vehicle_id).all()


def test_the_truth_has_late_deliveries_and_the_new_columns(sample, hub):
    columns = pd.read_csv(sample / "truth" / "deliveries.csv", nrows=0).columns.tolist()
    assert columns == ["order_id", "carrier", "vehicle_id", "promised_start", "promised_end", "actual_arrival",
                       "delay_minutes", "late", "in_full", "damage_free", "documented"]
    truth = hub["truth"]
    assert 0.01 < truth.late.mean() < 0.2
    late = truth[truth.late & truth.actual_arrival.notna()]
    assert ((late.actual_arrival - late.promised_end).dt.total_seconds() / 60).round(1).tolist() == late.delay_minutes.tolist()
