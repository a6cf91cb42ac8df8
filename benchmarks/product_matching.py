"""Product matching on real catalogues (../shared/devdata/product_matching), next to the published figures.

Each benchmark's pair files (train, valid, test: candidate pairs with a 1/0 label) are turned back
into the two catalogues they were drawn from (every left and every right record once; identical
records are one record). The hub links the two whole catalogues with its fuzzy stage
(defs/curated/product_similarity.py) and is judged as the published systems are: each TEST pair is
predicted a match when the hub linked its two records. Catalogue-level figures are also given: all
links against every labelled match (precision counted on labelled pairs only, since an unlabelled
link may well be right).

Two modes: unsupervised (no labels at all), and with the train and valid labels given as a steward's
labels (what the review queue collects). The test labels are never used. Reference: the published
test-split F1 (x100) from ../shared/devdata/README.md.

Cost: products per second of the fuzzy stage at two catalogue sizes (half and all of
Walmart-Amazon), and the product_xref asset itself on the medium and large samples.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pandas as pd

from benchmarks.common import Report, clean_hub, hub_home, materialization_metadata, timed
from hub_platform.defs.curated.matching_quality import pairwise_quality
from hub_platform.defs.curated.product_similarity import link, wordings
from hub_platform.lib.lake.store import Lake, Location
from hub_platform.serving.cli import materialize

# ../shared/devdata beside the checkout; HUB_DEVDATA names another place (a git worktree lives elsewhere)
DEVDATA = Path(os.environ.get("HUB_DEVDATA", Path(__file__).parents[2] / "shared" / "devdata")) / "product_matching"
PUBLISHED = {
    "Walmart-Amazon": {"Magellan": 71.9, "DeepMatcher": 67.6, "Ditto": 86.76},
    "Beer": {"Magellan": 78.8, "DeepMatcher": 72.7, "Ditto": 94.37},
}
# a pair file's attribute onto a wording role, by what its name says (the same for every data set,
# so a data set nobody here has seen is read the same way); the first match wins, others are left out
ROLE_PATTERNS = (
    ("model_no", r"model|mpn|part.?n"),
    ("brand", r"brand|manufacturer|maker|brewery|factory|vendor"),
    ("category", r"categor|style|genre|type|class"),
    ("size", r"size|abv|capacity|volume|weight"),
    ("price", r"price|cost"),
    ("name", r"title|name"),
)
_FIELD = re.compile(r"COL (\S+) VAL ?(.*?)\s*(?=COL \S+ VAL|$)")


def parse_record(text: str) -> dict[str, str]:
    """``COL title VAL ... COL price VAL 9.99`` -> {'title': ..., 'price': '9.99'}."""
    return {name: value.strip() for name, value in _FIELD.findall(text.strip())}


def catalogues(folder: Path) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """(left records, right records, labelled pairs with split) rebuilt from the pair files."""
    left, right, pairs = {}, {}, []
    for split in ("train", "valid", "test"):
        for line in (folder / f"{split}.txt").read_text().splitlines():
            a, b, label = line.split("\t")
            left.setdefault(a.strip(), parse_record(a))
            right.setdefault(b.strip(), parse_record(b))
            pairs.append((split, a.strip(), b.strip(), int(label)))
    left_id = {text: f"L{i}" for i, text in enumerate(left)}
    right_id = {text: f"R{i}" for i, text in enumerate(right)}
    frame = pd.DataFrame([(s, left_id[a], right_id[b], y) for s, a, b, y in pairs], columns=["split", "left_id", "right_id", "label"])
    as_records = lambda records, ids: pd.DataFrame([{"entity_id": ids[t], **r} for t, r in records.items()])  # noqa: E731
    return as_records(left, left_id), as_records(right, right_id), frame


def roles_of(attributes: list[str]) -> dict[str, str]:
    """Each attribute's wording role (ROLE_PATTERNS), each role taken once; without a name-like
    attribute the first one is the name."""
    roles: dict[str, str] = {}
    for attribute in attributes:
        role = next((r for r, pattern in ROLE_PATTERNS if re.search(pattern, attribute, re.IGNORECASE)), None)
        if role is not None and role not in roles.values():
            roles[attribute] = role
    if "name" not in roles.values() and attributes:
        roles = {a: r for a, r in roles.items() if a != attributes[0]} | {attributes[0]: "name"}
    return roles


def data_sets() -> list[Path]:
    """Every folder of pair files under DEVDATA (train, valid and test)."""
    return sorted(p for p in DEVDATA.iterdir() if all((p / f"{s}.txt").exists() for s in ("train", "valid", "test")))


def as_wordings(records: pd.DataFrame, roles: dict[str, str]) -> pd.DataFrame:
    frame = records[["entity_id", *roles]].rename(columns=roles)
    if "price" in frame:
        frame["prices"] = [[float(p)] if p else [] for p in frame.pop("price")]
    return wordings(frame)


def scores(predicted: set, truth: set) -> tuple[float | None, float | None, float]:
    hits = len(predicted & truth)
    precision = hits / len(predicted) if predicted else None
    recall = hits / len(truth) if truth else None
    return precision, recall, (2 * precision * recall / (precision + recall) if hits else 0.0)


def judged(links: pd.DataFrame, pairs: pd.DataFrame) -> dict[str, tuple]:
    linked = set(zip(links.left_id, links.right_id, strict=True))
    test = pairs[pairs.split == "test"]
    predicted = {(a, b) for a, b in zip(test.left_id, test.right_id, strict=True) if (a, b) in linked}
    truth = {(a, b) for a, b, y in zip(test.left_id, test.right_id, test.label, strict=True) if y}
    matches = set(zip(pairs.left_id[pairs.label == 1], pairs.right_id[pairs.label == 1], strict=True))
    labelled = set(zip(pairs.left_id, pairs.right_id, strict=True))
    return {"test": scores(predicted, truth), "catalogue": scores(linked & labelled, matches)}


def _figures(values: tuple) -> str:
    return "/".join("—" if v is None else f"{100 * v:.1f}" for v in values)


def run() -> Report:
    report = Report("product_matching")
    for folder in data_sets():
        name = folder.name
        left_records, right_records, pairs = catalogues(folder)
        roles = roles_of([c for c in left_records.columns if c != "entity_id"])
        left, right = as_wordings(left_records, roles), as_wordings(right_records, roles)
        stewards = pairs[pairs.split != "test"].assign(label=lambda d: d.label.map({1: "match", 0: "non_match"}))
        published = ", ".join(f"{system} {f1}" for system, f1 in PUBLISHED.get(name, {}).items()) or "none known here"
        report.add(f"{name}: catalogues", f"{len(left):,} x {len(right):,} records, {int(pairs.label.sum()):,} labelled matches; "
                                          f"roles {roles}")
        for mode, labels in (("unsupervised", None), ("train+valid labels as a steward's", stewards)):
            watch = timed()
            with watch.running():
                links, _, _, _ = link(left, right, labels)
            figures = judged(links, pairs)
            report.add(f"{name} {mode}: test P/R/F1", f"{_figures(figures['test'])}   (published F1: {published})")
            report.add(f"{name} {mode}: catalogue P/R/F1", f"{_figures(figures['catalogue'])}   ({len(links):,} links, {watch.seconds:.1f} s)")
    left_records, right_records, _ = catalogues(DEVDATA / "Walmart-Amazon")
    roles = roles_of([c for c in left_records.columns if c != "entity_id"])
    for share in (0.5, 1.0):
        left = as_wordings(left_records.sample(frac=share, random_state=1), roles)
        right = as_wordings(right_records.sample(frac=share, random_state=1), roles)
        watch = timed()
        with watch.running():
            link(left, right)
        products = len(left) + len(right)
        report.add(f"fuzzy stage, Walmart-Amazon at {share:.0%}", f"{products / watch.seconds:8.0f} products/s  ({products:,} in {watch.seconds:.1f} s)")
    for scale in ("medium", "large"):
        sample_figures(report, scale)
    report.save()
    return report


def sample_figures(report: Report, scale: str) -> None:
    """The whole cross-reference of a generated sample, built by the product_xref asset itself (one
    Dagster run on the sample's clean zone), against the generator's truth."""
    home = clean_hub(scale)
    shutil.rmtree(home / "lake" / "curated" / "product_xref", ignore_errors=True)
    watch = timed()
    with hub_home(home), watch.running():
        result = materialize(["curated/product_xref", "curated/product_pairs"], raise_on_error=True)
    metadata = materialization_metadata(result)["curated/product_xref"]
    xref = Lake(Location(str(home / "lake"))).read("curated", "product_xref").to_pandas()
    truth = pd.read_csv(home / "truth" / "products.csv", dtype=str)[["code", "product_id"]].drop_duplicates()
    quality = pairwise_quality(xref[["code", "code_type", "product_id"]], truth)
    codes = len(xref)
    report.add(f"{scale} sample: codes linked, P/R/F1 against the truth",
               f"{codes:,} codes, {_figures((quality.precision, quality.recall, quality.f1))}")
    report.add(f"{scale} sample: product_xref asset (run, Spark reads, matching, Delta write)",
               f"{codes / watch.seconds:8.0f} codes/s  ({watch.seconds:.1f} s; of which compute "
               f"{metadata.get('compute_seconds', 0.0):.1f} s)")


if __name__ == "__main__":
    run()
