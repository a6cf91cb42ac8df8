"""People made by the sample generator's noise model, conformed by the clean zone: shared by the model tests."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pyarrow as pa

from hub_platform.defs.clean.conform import Delivery, conform_file
from hub_platform.defs.customer360.identity.records import person_records
from hub_platform.seed.generator import encode
from hub_platform.seed.people import noisy_records, true_people
from hub_platform.sources.contract import default_registry

SOURCES = {"pos_loyalty_members": 0.7, "web_signups": 0.6, "contact_center_calls": 0.5}  # source: share of people held
AT = datetime(2026, 3, 1, tzinfo=UTC)


def generated_people(people: int = 250, seed: int = 11) -> tuple[pa.Table, dict[str, str], list[tuple[str, str]]]:
    """Records of ``people`` people made by the sample generator's noise model (typos, nicknames, case,
    phone formats, gaps, households) and conformed by the clean zone's own code, then person records.

    Returns (records, truth: record_id -> person_id, household pairs of person_ids)."""
    rng = np.random.default_rng(seed)
    truth_people = true_people(rng, people)
    registry = default_registry()
    tables, truth = {}, {}
    for source, share in SOURCES.items():
        contract = registry.sources[source]
        noisy = noisy_records(rng, truth_people, source[:3], share, stale=source == "contact_center_calls")
        key = contract.keys[0]
        noisy[key] = [f"{source[:1].upper()}{i:05d}" for i in range(len(noisy))]
        noisy = noisy.assign(signup_ts="2026-01-05 10:00:00", started_at="2026-02-01 09:30:00", marketing_consent=True,
                             reason="billing", duration_s=60, resolution="resolved")
        delivery = Delivery(source, f"test-{source}", f"{source}/x.csv", AT, AT)
        tables[contract.feed] = conform_file(encode(noisy, contract), contract, delivery).clean
        truth.update(zip(source + ":" + noisy[key], noisy["person_id"], strict=True))
    records = person_records(tables, [registry.sources[s] for s in SOURCES])
    shared = truth_people.groupby("phone_digits")["person_id"].agg(list)
    households = [(group[0], other) for group in shared if len(group) > 1 for other in group[1:]]
    return records, truth, households
