"""The product_xref asset on a tiny lake that holds two catalogues and nothing else: the feeds that
never delivered are empty inputs, the scored pairs are published for review, and with neither truth
nor labels the metadata says it has no quality basis; a steward's label then gives the figures."""

from datetime import datetime

import dagster as dg
import pandas as pd
import pyarrow as pa
import pytest

from hub_platform.defs.curated.assets import curated_assets, curated_key
from hub_platform.defs.review.queue import pair_id
from hub_platform.lib.lake.store import Lake, Location
from hub_platform.lib.resources import NotificationResource, SparkResource, StorageResource
from hub_platform.sources.contract import load_registry

pytestmark = pytest.mark.spark

ERP = pd.DataFrame({
    "sku": ["SKU-1", "SKU-2", "SKU-3"], "gtin": [None, None, "4006381333931"],
    "product_name": ["Harbor Flash Drive 16GB", "Harbor Flash Drive 2GB", "Meadow Honey 350 g"],
    "brand": ["Harbor", "Harbor", "Meadow"], "category": ["storage", "storage", "pantry"], "size": [None, None, "350 g"],
    "_source": "erp", "updated_at": datetime(2026, 1, 1),
})
WEB = pd.DataFrame({
    "web_product_id": ["W-1", "W-2", "W-3"], "title": ["Harbor 16 GB flash drive", "Harbor 2 GB flash drive", "Honey"],
    "brand": ["Harbor", "Harbor", None], "size": [None, None, None], "category": [None, None, None],
    "gtin": [None, None, "4006381333931"], "price": [9.0, 5.0, 3.0], "_source": "web",
})


def _xref_asset():
    return next(a for a in curated_assets(load_registry()) if curated_key("product_xref") in a.keys)


@pytest.fixture
def resources(tmp_path, spark):
    lake = Lake(Location(str(tmp_path / "lake")))
    lake.write(pa.Table.from_pandas(ERP, preserve_index=False), "clean", "erp_products")
    lake.write(pa.Table.from_pandas(WEB, preserve_index=False), "clean", "web_catalog")
    return {"storage": StorageResource(lake_root=str(tmp_path / "lake"), landing_root=str(tmp_path / "landing"),
                                       truth_root=str(tmp_path / "truth")),
            "spark": SparkResource(), "notifications": NotificationResource(outbox_dir=str(tmp_path / "outbox"))}


def _metadata(result, key):
    materializations = [e.event_specific_data.materialization for e in result.get_asset_materialization_events()]
    return next(m.metadata for m in materializations if m.asset_key == key)


def test_two_catalogues_alone_build_the_cross_reference_and_its_review_pairs(resources):
    result = dg.materialize([_xref_asset()], resources=resources)
    assert result.success
    lake = resources["storage"].lake()
    xref = lake.read("curated", "product_xref").to_pandas().set_index("code")
    assert xref.loc["W-1"].product_id == "SKU-1" and xref.loc["W-2"].product_id == "SKU-2"
    assert (xref.loc["W-3"].product_id, xref.loc["W-3"].match_rule) == ("SKU-3", "gtin")
    pairs = lake.read("curated", "product_pairs").to_pandas()
    assert {"left_record", "right_record", "match_probability", "threshold"} <= set(pairs.columns) and len(pairs)
    metadata = _metadata(result, curated_key("product_xref"))
    assert metadata["matching_quality_basis"].value.startswith("none")

    labels = pd.DataFrame({"domain": ["product"], "pair_id": [pair_id("product", "SKU-1", "web_product_id:W-1")],
                           "left_id": ["SKU-1"], "right_id": ["web_product_id:W-1"], "label": ["match"],
                           "labelled_by": ["steward"], "labelled_at": [datetime(2026, 12, 1)], "note": [None]})
    lake.write(pa.Table.from_pandas(labels, preserve_index=False), "review", "labels")
    relabelled = _metadata(dg.materialize([_xref_asset()], resources=resources), curated_key("product_xref"))
    assert relabelled["matching_quality_basis"].value == "steward labels"
    assert (relabelled["matching_precision"].value, relabelled["matching_recall"].value) == (1.0, 1.0)
