"""Late-delivery alerts: one message per order and change of state, to the customer and the driver.

An order is *late* when its predicted arrival is after the promised window's end by more than
``late_after``, and back *on time* when a later prediction is at least ``clear_before`` before the
end; predictions in between keep the current state. The gap between the two thresholds is
hysteresis: an ETA hovering at the window end would otherwise alert and clear every five minutes.
A predicted arrival *before* the window opens is not an alert: vans wait for the window (the planner
and the drivers do), so the delivery still happens inside it.

State is carried explicitly: ``update_alerts(state, predictions)`` returns the new alerts and the new
state (per order: state, since when, the last prediction seen). Predictions at or before an order's
last seen prediction are ignored, so a sensor can feed micro-batches as they come, and a rerun on
data it has already seen emits nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

ALERT_COLUMNS = ["alert_id", "order_id", "route_id", "vehicle_id", "customer_ref", "driver_id", "state", "raised_at",
                 "eta", "promised_start", "promised_end", "minutes_after_window"]
STATE_COLUMNS = ["order_id", "state", "changed_at", "last_predicted_at", "last_eta"]


@dataclass(frozen=True)
class AlertRules:
    """Thresholds of the late / cleared hysteresis (see the module docstring)."""

    late_after: pd.Timedelta = pd.Timedelta(0)
    clear_before: pd.Timedelta = pd.Timedelta(minutes=10)


def empty_state() -> pd.DataFrame:
    """The state before any prediction: no order is late."""
    return pd.DataFrame({"order_id": pd.Series(dtype=object), "state": pd.Series(dtype=object),
                         "changed_at": pd.Series(dtype="datetime64[ns, UTC]"),
                         "last_predicted_at": pd.Series(dtype="datetime64[ns, UTC]"),
                         "last_eta": pd.Series(dtype="datetime64[ns, UTC]")})


def update_alerts(state: pd.DataFrame, predictions: pd.DataFrame, addresses: pd.DataFrame,
                  rules: AlertRules = AlertRules()) -> tuple[pd.DataFrame, pd.DataFrame]:
    """New alerts and the new state from the previous ``state`` and new ``predictions``.

    predictions: eta.predict_arrivals() rows (order_id, route_id, vehicle_id, predicted_at, eta,
    promised_start, promised_end). addresses: order_id, customer_ref, driver_id (who is told).
    Alerts: alert_id (order, state and time: stable across reruns), the addressees, ``state``
    (``late`` or ``cleared``), ``raised_at`` (the prediction's time), the ETA and the window, and
    ``minutes_after_window`` (ETA minus window end).
    """
    state = state if len(state) else empty_state()
    last_seen = predictions.order_id.map(state.set_index("order_id").last_predicted_at)
    fresh = predictions[last_seen.isna() | (predictions.predicted_at > last_seen)]
    if fresh.empty:
        return pd.DataFrame(columns=ALERT_COLUMNS), state.reset_index(drop=True)
    fresh = fresh.sort_values(["order_id", "predicted_at"], kind="stable").reset_index(drop=True)
    after_window = fresh.eta - fresh.promised_end
    signal = pd.Series(np.select([after_window > rules.late_after, after_window <= -rules.clear_before], ["late", "on_time"], ""))
    signal = signal.where(signal != "")
    before = fresh.order_id.map(state.set_index("order_id").state).fillna("on_time")
    current = signal.groupby(fresh.order_id).ffill().fillna(before)
    previous = current.groupby(fresh.order_id).shift(1).fillna(before)
    changed = current != previous

    alerts = fresh[changed].assign(state=current[changed].map({"late": "late", "on_time": "cleared"}),
                                   raised_at=fresh.predicted_at[changed],
                                   minutes_after_window=(after_window[changed].dt.total_seconds() / 60).round(1))
    alerts = alerts.merge(addresses[["order_id", "customer_ref", "driver_id"]], on="order_id", how="left")
    alerts["alert_id"] = alerts.order_id + ":" + alerts.state + ":" + alerts.raised_at.dt.strftime("%Y%m%dT%H%M%SZ")

    last = fresh.groupby("order_id").tail(1).assign(state=current)
    change_time = fresh.predicted_at.where(changed).groupby(fresh.order_id).max()
    last = last.assign(changed_at=last.order_id.map(change_time), last_predicted_at=last.predicted_at, last_eta=last.eta)
    last["changed_at"] = last.changed_at.fillna(last.order_id.map(state.set_index("order_id").changed_at))
    merged = pd.concat([state[~state.order_id.isin(last.order_id)], last[STATE_COLUMNS]], ignore_index=True)
    merged = merged.astype({"changed_at": "datetime64[ns, UTC]", "last_predicted_at": "datetime64[ns, UTC]",
                            "last_eta": "datetime64[ns, UTC]"})
    return alerts[ALERT_COLUMNS].reset_index(drop=True), merged.sort_values("order_id").reset_index(drop=True)


def alert_messages(alerts: pd.DataFrame, timezones: pd.Series) -> list[dict]:
    """One message per alert, to the customer and the driver, with times in the delivery address's
    local time (``timezones``: order_id -> IANA zone; UTC where unknown). The ETA is said to the nearest
    minute and the delay is counted from that minute, so the two always agree (10:00:28 is "10:00, less
    than a minute after" a window ending 10:00, never "1 minute after")."""
    messages = []
    for alert in alerts.itertuples():
        zone = timezones.get(alert.order_id)
        local = {name: getattr(alert, name).tz_convert(zone if isinstance(zone, str) else "UTC").round("min")
                 for name in ("eta", "promised_start", "promised_end")}
        window = f"{local['promised_start']:%H:%M}-{local['promised_end']:%H:%M %Z} on {local['promised_end']:%d %b}"
        late = int((local["eta"] - local["promised_end"]).total_seconds() // 60)
        delay = "less than a minute" if late < 1 else f"{late} minute{'s' * (late != 1)}"
        body = (f"Order {alert.order_id} is now expected at {local['eta']:%H:%M %Z}, "
                f"{delay} after its window {window}." if alert.state == "late" else
                f"Order {alert.order_id} is back on time: expected at {local['eta']:%H:%M %Z}, within {window}.")
        messages.append({
            "id": alert.alert_id,
            "recipients": [f"customer:{alert.customer_ref}", f"driver:{alert.driver_id}"],
            "subject": f"Delivery {alert.order_id} {'will be late' if alert.state == 'late' else 'is back on time'}",
            "body": body,
            "data": {k: (v.isoformat() if isinstance(v, pd.Timestamp) else v) for k, v in alert._asdict().items() if k != "Index"},
        })
    return messages


def evaluate_alerts(alerts: pd.DataFrame, predictions: pd.DataFrame, truth: pd.DataFrame) -> dict[str, float]:
    """Precision and recall of late alerts against what really happened, and how early they came.

    Only orders that had predictions count (telemetry covers them). An order is *alerted* when it got
    a ``late`` alert before it actually arrived (cleared afterwards or not: the customer was told).
    truth: order_id, actual_arrival, late (truth/deliveries.csv). ``lead_minutes_*`` is window end
    minus the first late alert, over the truly late orders alerted: positive means the customer knew
    before the window closed.
    """
    truth = truth.assign(actual_arrival=pd.to_datetime(truth.actual_arrival, utc=True))
    covered = truth[truth.order_id.isin(predictions.order_id)].set_index("order_id")
    late_alerts = alerts[(alerts.state == "late") & alerts.order_id.isin(covered.index)]
    arrival = late_alerts.order_id.map(covered.actual_arrival)
    first = late_alerts[~(late_alerts.raised_at >= arrival)].groupby("order_id").raised_at.min()
    alerted = covered.index.isin(first.index)
    late = covered.late.astype(bool).to_numpy()
    hits = alerted & late
    ends = predictions.drop_duplicates("order_id").set_index("order_id").promised_end
    lead = ((ends.reindex(first.index) - first).dt.total_seconds() / 60)[covered.late.reindex(first.index).astype(bool)]
    return {
        "orders": len(covered), "late_orders": int(late.sum()), "alerted_orders": int(alerted.sum()),
        "true_alerts": int(hits.sum()),
        "precision": float(hits.sum() / alerted.sum()) if alerted.any() else float("nan"),
        "recall": float(hits.sum() / late.sum()) if late.any() else float("nan"),
        "lead_minutes_median": float(lead.median()) if len(lead) else float("nan"),
        "alerted_before_window_end": float((lead > 0).mean()) if len(lead) else float("nan"),
    }
