"""Faulty deliveries on request: the clean zone's test corpus. Each is an extra file in landing,
recorded in truth/faults.csv with what the hub is expected to make of it."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd

FAULT_TIME = pd.Timestamp("2026-11-01 06:00")


def inject_faults(rng: np.random.Generator, landing) -> pd.DataFrame:
    faults = []

    def first(source: str) -> str:
        return next(k for k in sorted(landing.keys) if k.startswith(f"{source}/"))

    def deliver(source: str, name: str, data: bytes, fault: str, expected: str, minutes: int) -> None:
        ext = first(source).rsplit(".", 1)[1]
        key = f"{source}/{FAULT_TIME + pd.Timedelta(minutes=minutes):%Y%m%dT%H%M%S}000000Z_{name}.{ext}"
        landing.write(key, data)
        faults.append({"source": source, "landing_key": key, "fault": fault, "expected": expected})

    def csv_of(key: str) -> pd.DataFrame:
        return pd.read_csv(io.BytesIO(landing.read(key)), dtype=str, keep_default_na=False)

    pos = csv_of(first("pos_north"))
    pos["transaction_id"] = pos.transaction_id + "-F"
    pos.loc[0, "qty"] = "three"
    pos.loc[1, "ts"] = ""
    pos.loc[2, "qty"] = "-4"
    pos.loc[3, "currency"] = "pounds"
    deliver("pos_north", "transactions_malformed", pos.to_csv(index=False).encode(), "malformed rows",
            "rows 1-4 quarantined (type, required, range, currency); the rest flows", 0)

    signups = csv_of(first("web_signups"))
    signups["user_id"] = signups.user_id + "F"
    signups.loc[1, "first_name"] = "Zoë"
    text = signups.to_csv(index=False).encode("utf-8").splitlines(keepends=True)
    text[2] = text[2].decode("utf-8").encode("latin-1")  # one record in the wrong encoding
    deliver("web_signups", "signups_bad_encoding", b"".join(text), "bad encoding",
            "the latin-1 line is quarantined as not valid utf-8; the other rows flow", 1)

    calls = landing.read(first("contact_center_calls"))
    deliver("contact_center_calls", "calls_truncated", calls[: int(len(calls) * 0.6)], "truncated file",
            "the cut-off last record is quarantined as malformed; complete rows flow", 2)

    pings_key = first("pos_south")
    parquet = landing.read(pings_key)
    deliver("pos_south", "transactions_truncated", parquet[: len(parquet) // 2], "truncated file",
            "unreadable Parquet: the file is rejected in raw and fails in clean with the reason", 3)

    duplicated = first("erp_suppliers")
    deliver("erp_suppliers", "suppliers_resent", landing.read(duplicated), "duplicate delivery",
            f"recorded as a duplicate of {duplicated}; not ingested again", 4)

    mails = csv_of(first("email_events"))
    mails["campaign_id"] = mails.campaign_id + "-F"
    mails["utm_source"] = rng.choice(["newsletter", "promo"], len(mails))
    deliver("email_events", "events_new_column", mails.to_csv(index=False).encode(), "unexpected column",
            "utm_source kept in _extra and reported as schema drift", 5)

    carrier_key = first("carrier_northfreight")
    events = csv_of(carrier_key).drop(columns=["status_code"])
    deliver("carrier_northfreight", "tracking_missing_column", events.to_csv(index=False).encode(), "missing required column",
            "rejected in raw; fails in clean naming status_code; every row quarantined", 6)
    return pd.DataFrame(faults)
