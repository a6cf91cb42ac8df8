"""curated/: one harmonized model of the supply chain, built by Spark from the clean zone.

Every table has a stable surrogate key, keeps its source keys (codes in curated/product_xref), and
is MERGE-synced so reruns change nothing; each Delta version is kept, so any table can be read as it
was (``hub history curated/product``, ``hub sql --as-of``). Products and prices keep type-2 history.
"""

from __future__ import annotations

import hashlib

import dagster as dg
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from pyspark.sql import functions as F

from hub_platform.defs.curated import (
    activity,
    master_data,
    planning,
    product_matching,
    product_similarity,
    products,
    sales_orders,
    shipments,
)
from hub_platform.defs.curated.entities import Entities
from hub_platform.defs.curated.keys import surrogate_key
from hub_platform.defs.curated.matching_quality import label_quality, matching_quality
from hub_platform.defs.curated.procurement import procurement_lines, purchase_orders, suppliers
from hub_platform.defs.curated.sales_orders import CHANNELS
from hub_platform.defs.review.assets import LABELS_KEY, stewards_labels
from hub_platform.lib.automation import FOLLOWS_UPSTREAM
from hub_platform.lib.metadata import markdown_table
from hub_platform.lib.tables import Findings, Inputs, SideTable, TableSpec, Zone, as_arrow, table_assets
from hub_platform.sources.contract import Registry
from hub_platform.sources.reference import REFERENCE_DIR, SHIPMENT_STATUSES, carrier_status_map, shipment_modes

OWNER = "team:supply-chain-data"


CURATED = Zone("curated")
curated_key, _spec = CURATED.key, CURATED.spec


LOCATION = _spec(
    "location", ("location_key",),
    "Every place goods stand at or go to: DCs, stores, plants (ERP), B2B customers' drop points (from order "
    "ship-to coordinates) and the web shop, with coordinates and time zone.",
    not_null=("location_id", "location_type", "timezone"),
    allowed=(("location_type", ("dc", "store", "plant", "customer_drop", "online")),),
)
SUPPLIER = _spec(
    "supplier", ("supplier_key",), "Suppliers with their contractual lead times.", not_null=("supplier_id",),
    columns={
        "supplier_name": "The supplier's name.",
        "contact_email": "The supplier's order desk e-mail.",
        "lead_time_days": "Contractual lead time in days.",
    },
)
VEHICLE = _spec(
    "vehicle", ("vehicle_key",), "Delivery vehicles, their depot, capacity and driver.",
    not_null=("vehicle_id", "depot_id", "capacity_units"),
    columns={
        "depot_location_key": "Surrogate key of the van's depot location.",
        "driver_name": "The regular driver's name.",
    },
)
PRODUCT_XREF = _spec(
    "product_xref", ("code_type", "system", "code"),
    "Cross-reference: every code any system uses for a product (SKUs of every system of record, GTIN, web id, store "
    "item code, supplier part number, an item purchase lines name only in words) with the system that issued it, the "
    "product it names, the matching rule, score and evidence. Precision and recall are in the metadata: against the "
    "sample's ground truth where it exists, else against stewards' labels from the review queue.",
    not_null=("product_id", "product_key", "match_rule", "system"),
    allowed=(("match_rule", product_matching.MATCH_RULES), ("code_type", product_matching.CODE_TYPES)),
    columns={
        "code_type": "Which kind of code: sku, gtin, web id, store item code, supplier part number or source item.",
        "system": "The system that issued the code (a source's namespace; gs1 for barcodes, pos for till item codes).",
        "code": "The code as the system uses it.",
        "match_rule": "How the code was linked: system_of_record, gtin, purchase_order, fuzzy or unmatched.",
        "match_score": "Strength of the link from 0 to 1 (1 for exact rules; the scorer's match probability for fuzzy).",
        "evidence": "Why the code was linked (or not), in words.",
    },
)
PRODUCT_PAIRS = _spec(
    "product_pairs", ("left_id", "right_id"),
    "Product pairs the fuzzy stage scored (a product and a code of another system) with their match probability, "
    "the threshold, whether they were linked, the evidence and both wordings: the review queue asks stewards about "
    "those near the threshold.",
    not_null=("match_probability", "threshold", "left_record", "right_record"), may_be_empty=True,
    columns={
        "linked": "Whether the one-to-one linking linked this pair (at the threshold, best first, each record once).",
        "evidence": "The comparisons behind the probability, in words (wording similarity, model codes, quantities, brand, price).",
    },
)
PRODUCT = _spec(
    "product", ("product_key", "valid_from"),
    "The product master, type-2 history: one row per version of a product's attributes (valid_from, valid_to, "
    "is_current), attributes chosen by the survivorship rules in defs/curated/products.py.",
    not_null=("product_id", "product_name", "master_source", "is_current"),
)
PRICE = _spec(
    "price", ("product_key", "currency", "valid_from"),
    "List prices, effective-dated (type 2): one row per price version with valid_from, valid_to and is_current. "
    "Prices for a SKU the product master does not hold are in quarantine/unknown_price_sku with the reason.",
    not_null=("product_id", "price", "is_current"),
    columns={
        "price": "List price in the row's currency.",
    },
)
SALES_ORDER = _spec(
    "sales_order", ("order_key",),
    "Orders of every channel in one model: B2B (ERP, delivered by the fleet), online (web and app, by carriers) "
    "and store baskets (POS), with customer reference, fulfilling location and promised window.",
    not_null=("order_id", "channel", "ordered_at", "location_key"),
    allowed=(("channel", CHANNELS), ("customer_ref_type", ("account", "app_user", "loyalty"))),
)
SALES_ORDER_LINE = _spec(
    "sales_order_line", ("order_key", "line_no"),
    "Order lines of every channel with harmonized product keys; sales_date is the local day at the fulfilling location. "
    "ERP lines whose order header is missing are in quarantine/orphan_order_lines with the reason.",
    not_null=("product_key", "qty", "unit_price", "currency", "sales_date", "location_key"),
    allowed=(("channel", CHANNELS),),
)
DAILY_SALES = _spec(
    "daily_sales", ("product_key", "location_key", "sales_date", "channel", "currency"),
    "Units and revenue by product, location, local day and channel (days without sales are absent).",
    not_null=("units", "revenue"),
    columns={
        "orders": "Number of orders (baskets) with the product that day.",
    },
)
PURCHASE_ORDER = _spec(
    "purchase_order", ("source", "po_id", "line_no"),
    "Purchase order lines of every source that states them (ERP procurement, shipment-line extracts), with observed "
    "lead time, on-time receipt and fill rate; suppliers and products matched or created (procurement.py). A "
    "shipment extract may not say when a line was ordered: its order_date and lead time are then empty.",
    not_null=("product_key", "supplier_key", "qty"),
    columns={
        "supplier_part_no": "The supplier's own code for the product.",
        "order_date": "Day the purchase order was placed (empty where a shipment extract does not say).",
        "expected_date": "Day the supplier promised delivery.",
        "received_date": "Day the goods were received; empty while open.",
        "received_qty": "Units received.",
        "is_open": "True while nothing has been received.",
        "lead_time_days": "Observed lead time of this line: received_date - order_date, in days.",
        "on_time": "True when received by the expected date.",
        "fill_rate": "received_qty / qty.",
    },
)
CARRIER_STATUS_MAP = _spec(
    "carrier_status_map", ("carrier", "status_code"),
    "Each carrier's status codes mapped to the canonical shipment statuses. Data, not code: edit "
    "hub_platform/sources/reference/carrier_status.csv and rematerialize.",
    not_null=("status",), allowed=(("status", SHIPMENT_STATUSES),),
    columns={
        "meaning": "What the carrier's code means, in the carrier's words.",
        "status": "The canonical shipment status the code maps to.",
    },
)
SHIPMENT_EVENT = _spec(
    "shipment_event", ("shipment_key", "status_code", "event_at"),
    "Carrier tracking events in the canonical status vocabulary. Events whose code is not mapped are in "
    "quarantine/unmapped_carrier_status with the reason.",
    not_null=("status", "event_at", "carrier"), allowed=(("status", SHIPMENT_STATUSES),),
    columns={
        "location_text": "Where the carrier says the event happened, as text.",
        "status": "The canonical shipment status of the event.",
    },
)
SHIPMENT = _spec(
    "shipment", ("shipment_key",),
    "One row per carrier shipment: first and last event, current status, delivery time, exceptions, on-time.",
    not_null=("tracking_no", "carrier", "status"), allowed=(("status", SHIPMENT_STATUSES),),
    columns={
        "first_event_at": "First tracking event (UTC).",
        "last_event_at": "Latest tracking event (UTC).",
        "delivered_at": "When the carrier reported delivery (UTC); empty until then.",
        "exceptions": "Number of exception events (failed attempts, damage, delays).",
        "status": "Current canonical shipment status.",
    },
)
INVENTORY_POSITION = _spec(
    "inventory_position", ("product_key", "location_key", "snapshot_date"),
    "Stock on hand and in transit by product, location and day (ERP warehouse snapshots).",
    not_null=("on_hand", "in_transit"),
)
PRODUCTION_OUTPUT = _spec(
    "production_output", ("plant_id", "line_id", "shift_start"),
    "Good and scrap units per plant, line and shift, with the scrap rate.",
    not_null=("product_key", "good_units"),
    columns={
        "plant_location_key": "Surrogate key of the plant's location.",
        "plant_id": "The plant's code.",
        "line_id": "Production line within the plant.",
        "shift_start": "When the shift started (UTC).",
        "good_units": "Units produced to specification.",
        "scrap_units": "Units scrapped.",
        "scrap_rate": "scrap_units / (good_units + scrap_units).",
    },
)
WEB_EVENT = _spec(
    "web_event", ("session_id", "event_at", "product_key", "event_type"),
    "Web and app events (views, add-to-cart, purchases) keyed to harmonized products.",
    not_null=("product_key",), allowed=(("event_type", ("view", "add_to_cart", "purchase")),),
    columns={
        "event_type": "view, add_to_cart or purchase.",
        "event_at": "When the event happened (UTC).",
    },
)
INVENTORY_PLANNING = _spec(
    "inventory_planning", ("product_key", "location_key"),
    "The planning view: days of cover, stock-out risk and reorder suggestion per product and location on the "
    "latest stock snapshot, from recent sales velocity, supplier lead time and safety stock (formulas in "
    "defs/curated/planning.py and the README). forecast/planning_export shows the same against forecast demand.",
    not_null=("demand_per_day", "stockout_risk"), allowed=(("stockout_risk", ("none", "low", "medium", "high")),),
)


def _tables(specs: list[TableSpec], deps: list[dg.AssetKey], build, **kwargs) -> dg.AssetsDefinition:
    return table_assets(specs, deps=deps, build=build, group="curated", owners=[OWNER], **kwargs)


def _xref_report(tables: dict[str, pa.Table], read: Inputs) -> Findings:
    xref, pairs = tables["product_xref"], tables["product_pairs"]
    rules = xref.group_by("match_rule").aggregate([("code", "count")]).to_pylist()
    doubtful = xref.filter(pc.is_in(xref["match_rule"], pa.array(["fuzzy", "unmatched"])))
    low, high = product_similarity.REVIEW_BAND
    near = pairs.filter(pc.and_(pc.greater_equal(pairs["match_probability"], low), pc.less(pairs["match_probability"], high)))
    metadata = {
        "codes_by_rule": dg.MetadataValue.json({r["match_rule"]: r["code_count"] for r in rules}),
        "fuzzy_and_unmatched": dg.MetadataValue.md(
            markdown_table(doubtful, ["code_type", "system", "code", "product_id", "match_rule", "match_score", "evidence"], limit=25)
        ),
        "pairs_for_review": near.num_rows,
    }
    quality = matching_quality(xref, read.truth())
    if quality is None:
        labels = stewards_labels(read)
        quality = label_quality(product_matching.linked_pairs(xref.to_pandas()), labels) if labels is not None else None
    if quality is not None:
        metadata.update(quality.metadata())
    else:
        metadata["matching_quality_basis"] = dg.MetadataValue.text(
            "none: no ground truth beside the lake and no steward labels yet (label pairs with `hub review`)")
    return Findings(metadata={"product_xref": metadata})


def _builds(entities: Entities) -> dict:
    """Every curated build, reading entities (every feed of each) rather than named feeds."""
    entity = entities.read

    def procurement(read: Inputs):
        return procurement_lines(entity(read, "purchase_order_line"), entity(read, "shipment_line"))

    def location(read: Inputs):
        return {"location": master_data.locations(entity(read, "location"), entity(read, "b2b_order"))}

    def supplier(read: Inputs):
        return {"supplier": suppliers(entity(read, "supplier"), procurement(read))}

    def vehicle(read: Inputs):
        return {"vehicle": master_data.vehicles(entity(read, "vehicle"))}

    def masters(read: Inputs, history: bool):
        primary = entities.primary_namespace("product")
        rows = entity(read, "product", history=history)
        return rows.withColumn("_anchor", F.lit(True) if primary is None else F.col("_namespace") == primary)

    def product_xref(read: Inputs):
        def collected(frame, name: str) -> pd.DataFrame:
            return as_arrow(frame.select(*product_matching.INPUT_COLUMNS[name])).to_pandas()

        feeds = product_matching.ProductFeeds(
            products=collected(masters(read, False), "products"), product_history=collected(masters(read, True), "product_history"),
            catalog_items=collected(entity(read, "catalog_item"), "catalog_items"),
            store_items=collected(product_matching.till_items(entity(read, "store_sale_line")), "store_items"),
            procurement_lines=collected(procurement(read), "procurement_lines"), prices=collected(entity(read, "price"), "prices"),
        )
        labels = product_matching.labelled_pairs(stewards_labels(read))
        linking = product_matching.link_products(feeds, labels)
        schema = "code_type string, system string, code string, product_id string, match_rule string, match_score double, " \
                 "evidence string, sources string"
        xref = read.spark.createDataFrame(linking.xref[product_matching.XREF_COLUMNS], schema).select(
            "code_type", "system", "code", "product_id", surrogate_key("product", F.col("product_id")).alias("product_key"),
            "match_rule", "match_score", "evidence", "sources")
        return {"product_xref": xref, "product_pairs": linking.pairs}

    def product(read: Inputs):
        tills = entity(read, "store_sale_line").groupBy("item_code").agg(
            F.max("item_description").alias("description"), F.min("_received_at").alias("first_seen")
        ).select(F.lit("store_item_code").alias("code_type"), F.col("item_code").alias("code"), "description", "first_seen",
                 F.lit("pos").alias("master_source"))
        named = procurement(read).where(F.col("product_code_type") == "source_item").groupBy("product_code").agg(
            F.max("product_name").alias("description"), F.min("_received_at").alias("first_seen"), F.min("_source").alias("master_source")
        ).select(F.lit("source_item").alias("code_type"), F.col("product_code").alias("code"), "description", "first_seen", "master_source")
        return {"product": products.product_dimension(
            masters(read, True), entity(read, "catalog_item"), tills.unionByName(named), read.curated("product_xref"))}

    def price(read: Inputs):
        prices, unknown = products.price_dimension(entity(read, "price"), read.curated("product_xref"))
        return {"price": prices, "unknown_price_sku": unknown}

    def sales(read: Inputs):
        headers, lines, orphans = sales_orders.sales_orders(
            entity(read, "b2b_order"), entity(read, "b2b_order_line"), entity(read, "online_order_line"),
            entity(read, "store_sale_line"), read.curated("product_xref"), read.curated("location"),
        )
        return {"sales_order": headers, "sales_order_line": lines, "orphan_order_lines": orphans}

    def purchase_order(read: Inputs):
        return {"purchase_order": purchase_orders(procurement(read), read.curated("product_xref"), read.curated("supplier"))}

    def shipment(read: Inputs):
        sales = read.curated("sales_order")
        events, unmapped = shipments.shipment_events(entity(read, "carrier_event"), read.curated("carrier_status_map"), sales)
        modes = read.spark.createDataFrame(shipment_modes()[["text", "mode"]])
        freight = shipments.freight_shipments(shipments.canonical_modes(entity(read, "shipment_line"), modes))
        every = shipments.shipments(events, sales).unionByName(freight)
        return {"shipment_event": events, "shipment": every, "unmapped_carrier_status": unmapped}

    def inventory_position(read: Inputs):
        return {"inventory_position": activity.inventory_positions(
            entity(read, "inventory_snapshot"), read.curated("product_xref"), read.curated("location"))}

    def production_output(read: Inputs):
        return {"production_output": activity.production_output(
            entity(read, "production_count"), read.curated("product_xref"), read.curated("location"))}

    def web_event(read: Inputs):
        return {"web_event": activity.web_events(entity(read, "web_event"), read.curated("product_xref"))}

    return {"location": location, "supplier": supplier, "vehicle": vehicle, "product_xref": product_xref, "product": product,
            "price": price, "sales": sales, "purchase_order": purchase_order, "shipment": shipment,
            "inventory_position": inventory_position, "production_output": production_output, "web_event": web_event}


def _daily_sales(read: Inputs):
    return {"daily_sales": sales_orders.daily_sales(read.curated("sales_order_line"))}


def _carrier_status_map(read: Inputs):
    return {"carrier_status_map": read.spark.createDataFrame(carrier_status_map())}


def _shipment_report(tables: dict[str, pa.Table], _read: Inputs) -> Findings:
    shipped = tables["shipment"]
    freight = shipped.filter(pc.equal(shipped["kind"], "freight"))
    unmapped = freight.filter(pc.and_(pc.is_null(freight["mode"]), pc.is_valid(freight["mode_text"])))
    texts = sorted(set(unmapped["mode_text"].to_pylist()))
    return Findings(metadata={"shipment": {
        "freight_shipments": freight.num_rows,
        "unmapped_modes": dg.MetadataValue.json(
            {"texts": texts, "fix": "add a row per text to hub_platform/sources/reference/shipment_modes.csv"} if texts else {}),
    }})


def _inventory_planning(read: Inputs):
    latest = planning.as_of(read.curated("inventory_position"))
    demand = planning.sales_velocity(read.curated("daily_sales"), latest.select("product_key", "location_key", "snapshot_date"))
    lead = planning.lead_times(read.curated("product"), read.curated("supplier"), read.curated("purchase_order"))
    return {"inventory_planning": planning.inventory_plan(latest, demand, lead)}


def _planning_report(tables: dict[str, pa.Table], _read: Inputs) -> Findings:
    return Findings(metadata={"inventory_planning": planning_summary(tables["inventory_planning"])})


def planning_summary(plan: pa.Table) -> dict[str, dg.MetadataValue]:
    """Counts by stock-out risk and the products most at risk, for the UI (curated and forecast views)."""
    by_risk = {r["stockout_risk"]: r["product_key_count"] for r in plan.group_by("stockout_risk").aggregate([("product_key", "count")]).to_pylist()}
    urgent = plan.filter(pc.equal(plan["stockout_risk"], "high")).sort_by([("days_of_cover", "ascending")])
    columns = ["product_id", "location_id", "on_hand", "in_transit", "demand_per_day", "days_of_cover", "lead_time_days",
               "reorder_point", "suggested_order_qty", "risk_reason"]
    lines = [f"**{plan.num_rows:,} product-locations** on the stock snapshot of "
             f"{pc.max(plan['snapshot_date']).as_py() if plan.num_rows else '—'}; demand from "
             f"{', '.join(sorted(set(plan['demand_source'].to_pylist()))) or '—'}.", "",
             "| risk | product-locations |", "|---|---|"]
    lines += [f"| {risk} | {by_risk.get(risk, 0):,} |" for risk in ("high", "medium", "low", "none")]
    lines += ["", f"Suggested orders: **{pc.sum(plan['suggested_order_qty']).as_py() or 0:,} units** over "
              f"{pc.sum(pc.greater(plan['suggested_order_qty'], 0)).as_py() or 0:,} product-locations.", "",
              *_why_high(urgent), "Most urgent (high risk, fewest days of cover):", "", markdown_table(urgent, columns, limit=15)]
    return {"summary": dg.MetadataValue.md("\n".join(lines)), "by_risk": dg.MetadataValue.json(by_risk)}


def _why_high(high: pa.Table) -> list[str]:
    """What drives the high risks, in figures: their typical cover against their typical lead time."""
    if high.num_rows == 0:
        return []
    cover = pc.approximate_median(high["days_of_cover"]).as_py()
    lead = pc.approximate_median(high["lead_time_days"]).as_py()
    sources = {r["lead_time_source"]: r["lead_time_source_count"] for r in
               high.group_by("lead_time_source").aggregate([("lead_time_source", "count")]).to_pylist()}
    return [f"Why high: on hand runs out before an order placed now arrives; among them the median cover is "
            f"{cover or 0:.1f} days against a median lead time of {lead or 0:.1f} days (lead time "
            + ", ".join(f"{source or 'unknown'} for {n:,}" for source, n in sorted(sources.items(), key=str)) + "). "
            "Lead times are the supplier's: a store restocked from a DC more often than that is shown at more risk "
            "than it is.", ""]


def _reference_version(name: str) -> str:
    """A reference file's content hash: editing the file is a new code version, so automation
    rematerializes what reads it and everything downstream."""
    return hashlib.sha256((REFERENCE_DIR / name).read_bytes()).hexdigest()[:12]


def _quarantine(name: str) -> SideTable:
    """quarantine/<name>: clean rows a curated build could not place, one per clean row (its lineage is the key)."""
    return SideTable("quarantine", name, ("_file_checksum", "_row_number"))


def curated_assets(registry: Registry) -> list[dg.AssetsDefinition]:
    """The curated zone's assets; each reads entities, so its inputs are every clean feed of them."""
    entities = Entities(registry)
    build = _builds(entities)
    feeds = entities.deps
    xref, location, product = curated_key("product_xref"), curated_key("location"), curated_key("product")
    procurement = ("purchase_order_line", "shipment_line")
    return [
        _tables([LOCATION], feeds("location", "b2b_order"), build["location"]),
        _tables([SUPPLIER], feeds("supplier", *procurement), build["supplier"]),
        _tables([VEHICLE], feeds("vehicle"), build["vehicle"]),
        _tables([PRODUCT_XREF, PRODUCT_PAIRS], [*feeds("product", "catalog_item", "store_sale_line", *procurement, "price"), LABELS_KEY],
                build["product_xref"], report=_xref_report, name="curated__product_matching",
                side_inputs=entities.histories("product")),
        _tables([PRODUCT], [*feeds("product", "catalog_item", "store_sale_line", *procurement), xref], build["product"],
                side_inputs=entities.histories("product")),
        _tables([PRICE], [*feeds("price"), xref], build["price"], side_tables={"unknown_price_sku": _quarantine("unknown_price_sku")}),
        _tables([SALES_ORDER, SALES_ORDER_LINE],
                [*feeds("b2b_order", "b2b_order_line", "online_order_line", "store_sale_line"), xref, location], build["sales"],
                name="curated__sales_orders", side_tables={"orphan_order_lines": _quarantine("orphan_order_lines")}),
        _tables([DAILY_SALES], [curated_key("sales_order_line")], _daily_sales),
        _tables([PURCHASE_ORDER], [*feeds(*procurement), xref, curated_key("supplier")], build["purchase_order"]),
        _tables([CARRIER_STATUS_MAP], [], _carrier_status_map, code_version=_reference_version("carrier_status.csv"),
                automation_condition=dg.AutomationCondition.eager() | dg.AutomationCondition.code_version_changed()),
        _tables([SHIPMENT_EVENT, SHIPMENT], [*feeds("carrier_event", "shipment_line"), curated_key("carrier_status_map"),
                                             curated_key("sales_order")],
                build["shipment"], name="curated__shipments", report=_shipment_report,
                code_version=_reference_version("shipment_modes.csv"),
                automation_condition=FOLLOWS_UPSTREAM | dg.AutomationCondition.code_version_changed(),
                side_tables={"unmapped_carrier_status": _quarantine("unmapped_carrier_status")}),
        _tables([INVENTORY_POSITION], [*feeds("inventory_snapshot"), xref, location], build["inventory_position"]),
        _tables([PRODUCTION_OUTPUT], [*feeds("production_count"), xref, location], build["production_output"]),
        _tables([WEB_EVENT], [*feeds("web_event"), xref], build["web_event"]),
        _tables([INVENTORY_PLANNING],
                [curated_key("inventory_position"), curated_key("daily_sales"), product, curated_key("supplier"), curated_key("purchase_order")],
                _inventory_planning, report=_planning_report),
    ]
