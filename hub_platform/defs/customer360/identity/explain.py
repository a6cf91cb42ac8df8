"""Why records are one customer: the records joined and the scored pairs between them, field by field.

Given a customer id (or an e-mail address, resolved to the customers whose records carry it), the
explanation has two tables: the customer's source records, and every scored pair touching them with
its match probability and per-field match weights (from match evidence). Pairs inside the customer
are what joined it (``joined``); pairs to records of other customers are near misses, shown with the
weights that kept them apart (a household member, a namesake).
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
import pyarrow as pa

RECORD_COLUMNS = ["customer_id", "record_id", "source", "first_name", "last_name", "email", "phone", "dob", "street",
                  "postcode", "city", "country", "observed_at"]


@dataclass(frozen=True)
class Explanation:
    customer_ids: list[str]
    records: pd.DataFrame  # RECORD_COLUMNS, one row per source record of the customers
    pairs: pd.DataFrame  # evidence columns + customer_id_l, customer_id_r, joined


def customers_for(query: str, assignment: pd.DataFrame, records: pd.DataFrame) -> list[str]:
    """The customer ids a query names: itself if it is a customer id, else customers with that e-mail."""
    if (assignment["customer_id"] == query).any():
        return [query]
    holders = records.loc[records["email_key"] == query.strip().lower(), "record_id"]
    return sorted(assignment.loc[assignment["record_id"].isin(holders), "customer_id"].unique())


def explain(query: str, assignment: pd.DataFrame, records: pa.Table | pd.DataFrame,
            evidence: pa.Table | pd.DataFrame) -> Explanation:
    """Explain the customer(s) that ``query`` (a customer id or an e-mail address) names.

    ``assignment``: record_id, customer_id; ``records``: person records; ``evidence``: match evidence
    (model.predict_pairs). Raises LookupError when the query names no customer.
    """
    records = records.to_pandas() if isinstance(records, pa.Table) else records
    evidence = evidence.to_pandas() if isinstance(evidence, pa.Table) else evidence
    customer_ids = customers_for(query, assignment, records)
    if not customer_ids:
        raise LookupError(f"no customer has the id or e-mail address {query!r}")
    members = assignment[assignment["customer_id"].isin(customer_ids)]
    joined_records = members.merge(records, on="record_id")[RECORD_COLUMNS]
    joined_records = joined_records.sort_values(["customer_id", "observed_at", "record_id"], ignore_index=True)

    touching = evidence[evidence["record_id_l"].isin(members["record_id"]) | evidence["record_id_r"].isin(members["record_id"])]
    owner = assignment.set_index("record_id")["customer_id"]
    pairs = touching.assign(customer_id_l=touching["record_id_l"].map(owner).to_numpy(),
                            customer_id_r=touching["record_id_r"].map(owner).to_numpy())
    pairs["joined"] = pairs["customer_id_l"] == pairs["customer_id_r"]
    pairs = pairs.sort_values(["joined", "match_weight"], ascending=[False, False], ignore_index=True)
    return Explanation(customer_ids, joined_records, pairs)
