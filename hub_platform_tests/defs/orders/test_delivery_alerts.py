"""Late alerts: one per change of state, hysteresis against flapping, incremental and rerun-safe."""

from __future__ import annotations

import pandas as pd
import pytest

from hub_platform.defs.orders.delivery_alerts import AlertRules, alert_messages, empty_state, evaluate_alerts, update_alerts

T0 = pd.Timestamp("2026-10-27 08:00", tz="UTC")
END = T0 + pd.Timedelta(hours=2)  # every window here is 08:00-10:00
ADDRESSES = pd.DataFrame({"order_id": ["A", "B"], "customer_ref": ["ACC-1", "ACC-2"], "driver_id": ["DRV-1", "DRV-1"]})


def predictions(order_id: str, etas_minutes_after_end: list[float], start_minute: int = 0) -> pd.DataFrame:
    """One prediction every 5 minutes, ETAs given relative to the window end."""
    n = len(etas_minutes_after_end)
    return pd.DataFrame({
        "order_id": order_id, "route_id": "R", "vehicle_id": "VAN-1",
        "predicted_at": [T0 + pd.Timedelta(minutes=start_minute + 5 * i) for i in range(n)],
        "eta": [END + pd.Timedelta(minutes=m) for m in etas_minutes_after_end],
        "promised_start": T0, "promised_end": END})


def test_one_alert_per_change_addressed_to_customer_and_driver():
    alerts, state = update_alerts(empty_state(), predictions("A", [-30, -20, 3, 8, 12, 20]), ADDRESSES)
    assert alerts.state.tolist() == ["late"]
    alert = alerts.iloc[0]
    assert (alert.customer_ref, alert.driver_id, alert.raised_at) == ("ACC-1", "DRV-1", T0 + pd.Timedelta(minutes=10))
    assert alert.minutes_after_window == 3.0 and alert.alert_id == "A:late:20261027T081000Z"
    assert state.set_index("order_id").loc["A", "state"] == "late"
    assert state.set_index("order_id").loc["A", "last_eta"] == END + pd.Timedelta(minutes=20)


def test_messages_tell_the_customer_and_driver_in_local_time():
    alerts, _ = update_alerts(empty_state(), predictions("A", [-30, 12, -20]), ADDRESSES)
    late, cleared = alert_messages(alerts, pd.Series({"A": "Europe/Berlin"}))
    assert late["recipients"] == ["customer:ACC-1", "driver:DRV-1"] and late["id"] == alerts.alert_id.iloc[0]
    assert late["body"] == "Order A is now expected at 11:12 CET, 12 minutes after its window 09:00-11:00 CET on 27 Oct."
    assert cleared["body"] == "Order A is back on time: expected at 10:40 CET, within 09:00-11:00 CET on 27 Oct."
    assert "10:12 UTC" in alert_messages(alerts, pd.Series(dtype=str))[0]["body"]  # zone unknown: said in UTC


@pytest.mark.parametrize(("seconds_late", "said"), [
    (28, "expected at 10:00 UTC, less than a minute after"),  # 0.47 minutes: the ETA rounds to the window's end
    (45, "expected at 10:01 UTC, 1 minute after"),
    (170, "expected at 10:03 UTC, 3 minutes after"),
])
def test_the_alert_text_agrees_with_its_numbers(seconds_late, said):
    alerts, _ = update_alerts(empty_state(), predictions("A", [seconds_late / 60]), ADDRESSES)
    assert said in alert_messages(alerts, pd.Series(dtype=str))[0]["body"]


def test_cleared_only_when_clearly_back_inside_the_window():
    # late, then hovering just inside (hysteresis keeps it late), then 15 minutes early: cleared, then late again
    alerts, state = update_alerts(empty_state(), predictions("A", [5, -3, -8, 2, -15, -12, 6]), ADDRESSES)
    assert alerts.state.tolist() == ["late", "cleared", "late"]
    assert alerts.raised_at.tolist() == [T0, T0 + pd.Timedelta(minutes=20), T0 + pd.Timedelta(minutes=30)]
    assert state.set_index("order_id").loc["A", "changed_at"] == T0 + pd.Timedelta(minutes=30)


def test_without_hysteresis_the_same_etas_would_flap():
    rules = AlertRules(late_after=pd.Timedelta(0), clear_before=pd.Timedelta(0))
    alerts, _ = update_alerts(empty_state(), predictions("A", [5, -3, -8, 2, -15, -12, 6]), ADDRESSES, rules)
    assert alerts.state.tolist() == ["late", "cleared", "late", "cleared", "late"]


def test_early_predictions_are_no_alert():
    alerts, state = update_alerts(empty_state(), predictions("B", [-150, -140, -130]), ADDRESSES)
    assert alerts.empty and state.state.tolist() == ["on_time"]


def test_micro_batches_give_the_batch_result_and_a_rerun_emits_nothing():
    stream = pd.concat([predictions("A", [-30, 4, 9, -20, -25, 3]), predictions("B", [-10, 2, 2, 2, -30, -30])])
    whole, whole_state = update_alerts(empty_state(), stream, ADDRESSES)
    state, parts = empty_state(), []
    for _, batch in stream.groupby(stream.predicted_at.dt.floor("10min")):
        new, state = update_alerts(state, batch, ADDRESSES)
        parts.append(new)
    incremental = pd.concat(parts, ignore_index=True)
    assert sorted(incremental.alert_id) == sorted(whole.alert_id)
    assert len(whole) == 5  # A: late, cleared, late; B: late, cleared
    pd.testing.assert_frame_equal(state, whole_state)
    again, same_state = update_alerts(state, stream, ADDRESSES)
    assert again.empty
    pd.testing.assert_frame_equal(same_state, state)


def test_evaluation_against_what_really_happened():
    stream = pd.concat([
        predictions("A", [-20, 5, 10]),      # alerted, really late: a hit, 10 minutes before the window end
        predictions("B", [-20, 5, -30]),     # alerted then cleared, really on time: a false alarm
        predictions("C", [-30, -20, -10]),   # never alerted, really late: missed
        predictions("D", [-30, -30, -30]),   # never alerted, on time
        predictions("E", [-60, -60, 30], start_minute=100),  # alerted only after it arrived: does not count
    ])
    alerts, _ = update_alerts(empty_state(), stream, ADDRESSES)
    truth = pd.DataFrame({"order_id": list("ABCDEF"), "late": [True, False, True, False, True, True],
                          "actual_arrival": [END + pd.Timedelta(minutes=8), END, END + pd.Timedelta(minutes=5), END,
                                             T0 + pd.Timedelta(minutes=105), END]})
    scores = evaluate_alerts(alerts, stream, truth)
    assert scores["orders"] == 5 and scores["late_orders"] == 3  # F had no predictions
    assert scores["alerted_orders"] == 2 and scores["true_alerts"] == 1
    assert scores["precision"] == pytest.approx(0.5) and scores["recall"] == pytest.approx(1 / 3)
    assert scores["lead_minutes_median"] == pytest.approx(115.0)
    assert scores["alerted_before_window_end"] == 1.0
