"""Curated zone: time to build the whole curated zone (and product-360) from clean on the large sample,
with Spark's share and the Delta-write share reported separately, as the assets record them.

Reference, measured in the same run: the I/O floor - Spark reading every clean table the curated
zone reads and committing it unchanged to Delta through the same Arrow hand-over, with no
harmonization at all.
"""

from __future__ import annotations

import shutil

from benchmarks.common import Report, clean_hub, hub_home, materialization_metadata, timed
from hub_platform.lib.lake.spark_bridge import read_spark
from hub_platform.lib.lake.store import Lake, Location
from hub_platform.lib.spark import spark_session
from hub_platform.serving.cli import materialize

CLEAN_INPUTS = ["erp_locations", "erp_sales_orders", "erp_suppliers", "erp_fleet", "erp_products", "erp_products_history",
                "web_catalog", "pos_transactions", "erp_purchase_orders", "erp_prices", "erp_sales_order_lines", "web_orders",
                "carrier_events", "erp_inventory", "shop_floor_production", "web_clickstream"]


def run() -> Report:
    report = Report("curated_zone")
    home = clean_hub("large")
    lake = Lake(Location(str(home / "lake")))
    for zone in ("curated", "product360", "floor"):
        shutil.rmtree(home / "lake" / zone, ignore_errors=True)
    spark = spark_session()  # started before either measurement: the JVM start is in neither

    floor = timed()
    rows = 0
    with floor.running():
        for name in CLEAN_INPUTS:
            table = read_spark(spark, lake, "clean", name).toArrow()
            rows += table.num_rows
            lake.write(table, "floor", name, mode="overwrite")

    curated = timed()
    with hub_home(home), curated.running():
        result = materialize(["group:curated", "group:product360"], raise_on_error=True)
    metadata = materialization_metadata(result)
    spark_seconds = sum(m.get("compute_seconds", 0.0) for m in metadata.values())
    delta_seconds = sum(m.get("delta_write_seconds", 0.0) for m in metadata.values())
    written = sum(m.get("dagster/row_count", 0) for m in metadata.values())

    report.add("I/O floor: Spark read + Delta write of the clean inputs", f"{floor.seconds:8.1f} s  ({rows:,} rows)")
    report.add("curated + product360, end to end (one Dagster run)", f"{curated.seconds:8.1f} s  ({len(metadata)} tables, {written:,} rows)")
    report.add("  of which Spark (compute + hand-over to Arrow)", f"{spark_seconds:8.1f} s  ({spark_seconds / curated.seconds:.0%})")
    report.add("  of which Delta writes (MERGE sync)", f"{delta_seconds:8.1f} s  ({delta_seconds / curated.seconds:.0%})")
    report.add("  of which checks (GX) and orchestration", f"{curated.seconds - spark_seconds - delta_seconds:8.1f} s")
    report.add("curated / floor time ratio", f"{curated.seconds / floor.seconds:8.2f} x")
    for key, values in sorted(metadata.items(), key=lambda kv: -kv[1].get("compute_seconds", 0))[:8]:
        if "compute_seconds" in values:
            report.add(f"  {key}", f"spark {values['compute_seconds']:6.1f} s  delta {values['delta_write_seconds']:5.1f} s")
    report.save()
    return report


if __name__ == "__main__":
    run()
