"""Perfect order per order and aggregated, and the driver and route profiles, on hand-made frames."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from hub_platform.defs.orders.perfect_order import (
    driver_profile,
    perfect_order_kpis,
    perfect_orders,
    route_profile,
    speeding_incidents,
)
from hub_platform_tests.defs.orders.test_timeline import CARRIER_EVENTS, ONLINE, ORDERS, POD, STOPS, VISITS, utc

AS_OF = utc("2026-10-28")


def perfect() -> pd.DataFrame:
    return perfect_orders(ORDERS, ONLINE, STOPS, VISITS, POD, CARRIER_EVENTS, as_of=AS_OF).set_index("order_id")


def measures(frame: pd.DataFrame, order_id: str) -> list:
    return [None if pd.isna(v) else bool(v) for v in frame.loc[order_id, ["on_time", "in_full", "damage_free", "documented", "perfect"]]]


def test_each_order_is_judged_on_what_its_sources_can_tell():
    frame = perfect()
    assert measures(frame, "F1") == [True, True, True, True, True]  # at the drop 08:20, window ends 09:00
    assert measures(frame, "F2") == [False, None, None, False, False]  # 30 min late, no proof of delivery
    assert frame.loc["F2", "minutes_late"] == 30.0 and frame.loc["F2", "arrival_source"] == "geofence"
    assert measures(frame, "F4") == [True, False, False, False, False]  # short, damaged, papers missing
    assert frame.loc["F4", "arrival_source"] == "driver_pod"
    assert measures(frame, "F3") == [False, False, None, False, False]  # never delivered, window long over
    assert measures(frame, "W1") == [True, None, None, None, None]  # carriers: only punctuality is known
    assert measures(frame, "W2") == [None, None, None, None, None]  # promised for a day still to come
    assert frame.loc["W1", "carrier"] == "carrier_swiftship" and frame.loc["F1", "carrier"] == "fleet"
    assert frame.loc["F1", ["route_id", "driver_id"]].tolist() == ["VAN-1-20261027", "DRV-1"]


def test_without_as_of_an_undelivered_order_is_pending():
    frame = perfect_orders(ORDERS, ONLINE, STOPS, VISITS, POD, CARRIER_EVENTS).set_index("order_id")
    assert measures(frame, "F3") == [None, None, None, None, None]


def test_kpis_are_shares_of_the_known():
    kpis = perfect_order_kpis(perfect_orders(ORDERS, ONLINE, STOPS, VISITS, POD, CARRIER_EVENTS, as_of=AS_OF))
    fleet = kpis[(kpis.dimension == "carrier") & (kpis.key == "fleet")].iloc[0]
    assert fleet.orders == 4
    assert (fleet.on_time_known, fleet.on_time_rate) == (4, 0.5)
    assert (fleet.in_full_known, fleet.in_full_rate) == (3, pytest.approx(1 / 3, abs=1e-4))
    assert (fleet.damage_free_known, fleet.damage_free_rate) == (2, 0.5)
    assert (fleet.documented_known, fleet.perfect_known, fleet.perfect_rate) == (4, 4, 0.25)
    swift = kpis[(kpis.dimension == "carrier") & (kpis.key == "carrier_swiftship")].iloc[0]
    assert (swift.orders, swift.on_time_known, swift.on_time_rate, swift.perfect_known) == (2, 1, 1.0, 0)
    assert pd.isna(swift.perfect_rate)
    customer = kpis[(kpis.dimension == "customer_ref") & (kpis.key == "ACC-1")].iloc[0]
    assert (customer.orders, customer.perfect_rate) == (2, 0.5)
    assert set(kpis.dimension) == {"delivery_date", "customer_ref", "carrier", "mode", "depot_id", "route_id"}
    assert kpis[kpis.dimension == "route_id"].key.tolist() == ["VAN-1-20261026", "VAN-1-20261027"]



FREIGHT = pd.DataFrame({  # curated/shipment rows of kind freight: days at 00:00 UTC
    "source": ["scms"] * 3, "tracking_no": ["ASN-1", "ASN-2", "ASN-3"], "carrier": ["scms"] * 3, "mode": ["air", "ocean", "air"],
    "promised_end": [utc("2006-06-02")] * 3, "delivered_at": [utc("2006-06-02"), utc("2006-06-05"), pd.NaT], "units": [10, 5, 3],
})


def test_freight_shipments_are_judged_on_punctuality_and_their_mode_is_a_kpi_dimension():
    frame = perfect_orders(ORDERS, ONLINE, STOPS, VISITS, POD, CARRIER_EVENTS, as_of=AS_OF, freight=FREIGHT).set_index("order_id")
    assert measures(frame, "scms:ASN-1") == [True, None, None, None, None]  # delivered on the scheduled day
    assert measures(frame, "scms:ASN-2") == [False, None, None, None, None]  # three days late
    assert frame.loc["scms:ASN-2", "minutes_late"] == 3 * 24 * 60
    assert measures(frame, "scms:ASN-3") == [False, None, None, None, None]  # never delivered, long overdue
    kpis = perfect_order_kpis(frame.reset_index())
    by_mode = kpis[kpis.dimension == "mode"].set_index("key")
    assert by_mode.loc["air", ["orders", "on_time_known", "on_time_rate"]].tolist() == [2, 2, 0.5]
    assert by_mode.loc["ocean", "on_time_rate"] == 0.0
    assert by_mode.loc["road", "orders"] == 4  # the fleet's vans; carriers' parcels have no mode

def pings_north(vehicle: str, speeds: list[float], start: str = "2026-10-27 08:00") -> pd.DataFrame:
    """Pings every 30 s; a moving ping is the distance its speed covers north of the previous one."""
    km = np.cumsum([s * 30 / 3600 for s in speeds])
    return pd.DataFrame({"vehicle_id": vehicle, "ts": pd.date_range(start, periods=len(speeds), freq="30s", tz="UTC"),
                         "lat": 52.0 + km / 111.19508, "lon": -1.5, "speed_kmh": speeds})


def test_speeding_is_a_spell_of_consecutive_pings_above_the_limit():
    pings = pd.concat([pings_north("VAN-1", [50, 95, 96, 50, 97, 50, 100, 101, 102, 95]),
                       pings_north("VAN-2", [95, 60, 60])], ignore_index=True)
    spells = speeding_incidents(pings)
    assert spells[["vehicle_id", "pings", "max_speed_kmh"]].values.tolist() == [["VAN-1", 2, 96.0], ["VAN-1", 4, 102.0]]
    assert spells.started_at.iloc[1] == utc("2026-10-27 08:03:00")


def test_route_and_driver_profiles():
    routes = pd.DataFrame({"route_id": ["VAN-1-20261027", "VAN-1-20261026"], "vehicle_id": "VAN-1", "driver_id": "DRV-1",
                           "depot_id": "DC-01", "plan_date": [pd.Timestamp("2026-10-27").date(), pd.Timestamp("2026-10-26").date()],
                           "route_km": [12.0, 20.0], "planned_departure": [utc("2026-10-27 07:55"), utc("2026-10-26 07:30")],
                           "planned_return": [utc("2026-10-27 10:00"), utc("2026-10-26 11:00")]})
    speeds = [0, 0] + [60] * 10 + [100, 100, 0] + [60] * 5  # 15 moving pings: 10 at 60, 2 at 100 (one spell), 5 at 60
    pings = pings_north("VAN-1", speeds)
    frame = perfect_orders(ORDERS, ONLINE, STOPS, VISITS, POD, CARRIER_EVENTS, as_of=AS_OF)
    profile = route_profile(routes, VISITS, frame, pings).set_index("route_id")
    today = profile.loc["VAN-1-20261027"]
    assert today.driven_km == pytest.approx(15 * 0.5 + 2 * 100 * 30 / 3600, abs=0.01)
    assert today.stops == 2 and today.on_time_rate == 0.5 and today.max_delay_minutes == 30.0
    assert today.speeding_incidents == 1 and today.mean_dwell_minutes == 15.0
    assert today.departure_delay_minutes == 5.0 and today.planned_km == 12.0
    yesterday = profile.loc["VAN-1-20261026"]
    assert pd.isna(yesterday.driven_km) and pd.isna(yesterday.speeding_incidents)  # no telemetry that day
    driver = driver_profile(profile.reset_index(), frame).set_index("driver_id").loc["DRV-1"]
    assert (driver.routes, driver.tracked_routes, driver.stops, driver.planned_km) == (2, 1, 3, 32.0)
    assert driver.on_time_rate == pytest.approx(2 / 3, abs=1e-4)  # F1 and F4 on time, F2 late
    assert driver.mean_minutes_late == 10.0
    assert driver.speeding_per_100km == pytest.approx(100 / today.driven_km, abs=0.01)
