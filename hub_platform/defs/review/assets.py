"""review/: the clerical review queue every matching domain shares, and the labels stewards give.

``review/labels`` is written by people (``hub review``), not by a run: it is declared as an external
asset so matching assets can list it in their deps (and automation reruns them when labels arrive).
``review/queue`` is rebuilt from each domain's scored pairs whenever they or the labels change.
"""

from __future__ import annotations

import dagster as dg
import pandas as pd

from hub_platform.defs.review.queue import QUEUE_COLUMNS, review_queue
from hub_platform.lib.metadata import markdown_table
from hub_platform.lib.tables import Findings, Inputs, Zone, table_assets

OWNER = "team:data-stewards"
REVIEW = Zone("review")
LABELS_KEY = REVIEW.key("labels")
SCORED_PAIRS = {"customer": ("customer360", "review_pairs"), "product": ("curated", "product_pairs")}

QUEUE = REVIEW.spec(
    "queue", ("pair_id",),
    "Pairs for a steward to label next (hub review): per matching domain (customer, product) the scored pairs closest "
    "to the domain's threshold that nobody has labelled match or non-match yet, with both records as JSON.",
    not_null=("domain", "left_id", "right_id", "match_probability", "threshold"),
    allowed=(("domain", ("customer", "product")),), may_be_empty=True,
)

LABELS = dg.AssetSpec(
    LABELS_KEY, group_name="review", owners=[OWNER], kinds={"delta"}, tags={"zone": "review"},
    description="Stewards' labels of review pairs (written by `hub review`): domain, pair_id, left_id, right_id, label "
    "(match, non_match, unsure), labelled_by, labelled_at, note. Never edited: the latest label per pair is in force.",
)


def stewards_labels(read: Inputs) -> pd.DataFrame | None:
    """review/labels as `hub review` wrote them (None before the first label is stored)."""
    return read.pandas(*LABELS_KEY.path) if read.exists(*LABELS_KEY.path) else None


def _queue_build(domains: list[str]):
    def build(read: Inputs) -> dict[str, pd.DataFrame]:
        scored = {d: read.pandas(*SCORED_PAIRS[d]) for d in domains if read.exists(*SCORED_PAIRS[d])}
        return {"queue": review_queue(scored, stewards_labels(read))}

    return build


def _queue_report(tables, _read: Inputs) -> Findings:
    queue = tables["queue"].to_pandas()
    per_domain = queue.groupby("domain").size().to_dict() if len(queue) else {}
    return Findings(metadata={"queue": {
        "pairs_per_domain": dg.MetadataValue.json(per_domain),
        "next_pairs": dg.MetadataValue.md(markdown_table(tables["queue"].select([c for c in QUEUE_COLUMNS if not c.endswith("_record")]),
                                                         limit=10)),
    }})


def review_assets(defined: set[dg.AssetKey] | None = None) -> list:
    """The labels (external) and the queue over the scored-pairs tables of the domains the graph defines
    (``defined``: every asset key of the code location; None: every domain)."""
    domains = [d for d, table in SCORED_PAIRS.items() if defined is None or dg.AssetKey(list(table)) in defined]
    return [
        LABELS,
        table_assets([QUEUE], deps=[*(dg.AssetKey(list(SCORED_PAIRS[d])) for d in domains), LABELS_KEY],
                     build=_queue_build(domains), report=_queue_report, owners=[OWNER], group="review",
                     kinds=frozenset({"pandas", "delta"})),
    ]
