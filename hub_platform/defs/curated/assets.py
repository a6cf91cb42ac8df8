"""curated/: one harmonized model of the supply chain, built by Spark from the clean zone.

Every table has a stable surrogate key, keeps its source keys (codes in curated/product_xref), and
is MERGE-synced so reruns change nothing; each Delta version is kept, so any table can be read as it
was (``hub history curated/product``, ``hub sql --as-of``). Products and prices keep type-2 history.
"""

from __future__ import annotations

import hashlib

import dagster as dg
import pyarrow as pa
import pyarrow.compute as pc
from pyspark.sql import functions as F

from hub_platform.defs.clean.assets import clean_history, clean_key
from hub_platform.defs.curated import activity, master_data, planning, product_matching, products, sales_orders, shipments
from hub_platform.defs.curated.matching_quality import matching_quality
from hub_platform.defs.curated.sales_orders import CHANNELS
from hub_platform.lib.metadata import markdown_table
from hub_platform.lib.tables import Findings, Inputs, SideTable, TableSpec, Zone, table_assets
from hub_platform.sources.reference import REFERENCE_DIR, SHIPMENT_STATUSES, carrier_status_map

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
SUPPLIER = _spec("supplier", ("supplier_key",), "Suppliers with their contractual lead times.", not_null=("supplier_id",))
VEHICLE = _spec(
    "vehicle", ("vehicle_key",), "Delivery vehicles, their depot, capacity and driver.",
    not_null=("vehicle_id", "depot_id", "capacity_units"),
)
PRODUCT_XREF = _spec(
    "product_xref", ("code_type", "code"),
    "Cross-reference: every code any system uses for a product (ERP SKU, GTIN, web id, store item code, supplier "
    "part number) with the product it names, the matching rule, score and evidence. Precision and recall against "
    "the sample's ground truth are in the metadata.",
    not_null=("product_id", "product_key", "match_rule"),
    allowed=(("match_rule", ("system_of_record", "gtin", "purchase_order", "fuzzy", "unmatched")),
             ("code_type", product_matching.CODE_TYPES)),
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
)
PURCHASE_ORDER = _spec(
    "purchase_order", ("po_id", "line_no"),
    "Purchase order lines with observed lead time, on-time receipt and fill rate.",
    not_null=("product_key", "supplier_key", "qty", "order_date"),
)
CARRIER_STATUS_MAP = _spec(
    "carrier_status_map", ("carrier", "status_code"),
    "Each carrier's status codes mapped to the canonical shipment statuses. Data, not code: edit "
    "hub_platform/sources/reference/carrier_status.csv and rematerialize.",
    not_null=("status",), allowed=(("status", SHIPMENT_STATUSES),),
)
SHIPMENT_EVENT = _spec(
    "shipment_event", ("shipment_key", "status_code", "event_at"),
    "Carrier tracking events in the canonical status vocabulary. Events whose code is not mapped are in "
    "quarantine/unmapped_carrier_status with the reason.",
    not_null=("status", "event_at", "carrier"), allowed=(("status", SHIPMENT_STATUSES),),
)
SHIPMENT = _spec(
    "shipment", ("shipment_key",),
    "One row per carrier shipment: first and last event, current status, delivery time, exceptions, on-time.",
    not_null=("tracking_no", "carrier", "status"), allowed=(("status", SHIPMENT_STATUSES),),
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
)
WEB_EVENT = _spec(
    "web_event", ("session_id", "event_at", "product_key", "event_type"),
    "Web and app events (views, add-to-cart, purchases) keyed to harmonized products.",
    not_null=("product_key",), allowed=(("event_type", ("view", "add_to_cart", "purchase")),),
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


def _clean(*feeds: str) -> list[dg.AssetKey]:
    return [clean_key(feed) for feed in feeds]


def _xref_report(tables: dict[str, pa.Table], read: Inputs) -> Findings:
    xref = tables["product_xref"]
    rules = xref.group_by("match_rule").aggregate([("code", "count")]).to_pylist()
    doubtful = xref.filter(pc.is_in(xref["match_rule"], pa.array(["fuzzy", "unmatched"])))
    metadata = {
        "codes_by_rule": dg.MetadataValue.json({r["match_rule"]: r["code_count"] for r in rules}),
        "fuzzy_and_unmatched": dg.MetadataValue.md(
            markdown_table(doubtful, ["code_type", "code", "product_id", "match_rule", "match_score", "evidence"], limit=25)
        ),
    }
    quality = matching_quality(xref, read.truth())
    if quality is not None:
        metadata.update(quality.metadata())
    return Findings(metadata={"product_xref": metadata})


def _location(read: Inputs):
    return {"location": master_data.locations(read.clean("erp_locations"), read.clean("erp_sales_orders"))}


def _supplier(read: Inputs):
    return {"supplier": master_data.suppliers(read.clean("erp_suppliers"))}


def _vehicle(read: Inputs):
    return {"vehicle": master_data.vehicles(read.clean("erp_fleet"))}


def _product_xref(read: Inputs):
    records = product_matching.code_records(
        read.clean("erp_products"), read.clean("web_catalog"), read.clean("pos_transactions"), read.clean("erp_purchase_orders")
    )
    wordings = product_matching.erp_wordings(read.clean("erp_products_history"))
    return {"product_xref": product_matching.product_xref(product_matching.link_codes(records, wordings, read.clean("erp_prices")))}


def _product(read: Inputs):
    items = read.clean("pos_transactions").groupBy("item_code").agg(
        F.max("item_description").alias("item_description"), F.min("_received_at").alias("first_seen")
    )
    return {"product": products.product_dimension(
        read.clean("erp_products_history"), read.clean("web_catalog"), items, read.curated("product_xref")
    )}


def _price(read: Inputs):
    prices, unknown = products.price_dimension(read.clean("erp_prices"), read.curated("product_xref"))
    return {"price": prices, "unknown_price_sku": unknown}


def _sales(read: Inputs):
    headers, lines, orphans = sales_orders.sales_orders(
        read.clean("erp_sales_orders"), read.clean("erp_sales_order_lines"), read.clean("web_orders"),
        read.clean("pos_transactions"), read.curated("product_xref"), read.curated("location"),
    )
    return {"sales_order": headers, "sales_order_line": lines, "orphan_order_lines": orphans}


def _daily_sales(read: Inputs):
    return {"daily_sales": sales_orders.daily_sales(read.curated("sales_order_line"))}


def _purchase_order(read: Inputs):
    return {"purchase_order": sales_orders.purchase_orders(
        read.clean("erp_purchase_orders"), read.curated("product_xref"), read.curated("supplier")
    )}


def _shipments(read: Inputs):
    sales = read.curated("sales_order")
    events, unmapped = shipments.shipment_events(read.clean("carrier_events"), read.curated("carrier_status_map"), sales)
    return {"shipment_event": events, "shipment": shipments.shipments(events, sales), "unmapped_carrier_status": unmapped}


def _carrier_status_map(read: Inputs):
    return {"carrier_status_map": read.spark.createDataFrame(carrier_status_map())}


def _inventory_position(read: Inputs):
    return {"inventory_position": activity.inventory_positions(
        read.clean("erp_inventory"), read.curated("product_xref"), read.curated("location")
    )}


def _production_output(read: Inputs):
    return {"production_output": activity.production_output(
        read.clean("shop_floor_production"), read.curated("product_xref"), read.curated("location")
    )}


def _web_event(read: Inputs):
    return {"web_event": activity.web_events(read.clean("web_clickstream"), read.curated("product_xref"))}


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
               "reorder_point", "suggested_order_qty"]
    lines = [f"**{plan.num_rows:,} product-locations** on the stock snapshot of "
             f"{pc.max(plan['snapshot_date']).as_py() if plan.num_rows else '—'}; demand from "
             f"{', '.join(sorted(set(plan['demand_source'].to_pylist()))) or '—'}.", "",
             "| risk | product-locations |", "|---|---|"]
    lines += [f"| {risk} | {by_risk.get(risk, 0):,} |" for risk in ("high", "medium", "low", "none")]
    lines += ["", f"Suggested orders: **{pc.sum(plan['suggested_order_qty']).as_py() or 0:,} units** over "
              f"{pc.sum(pc.greater(plan['suggested_order_qty'], 0)).as_py() or 0:,} product-locations.", "",
              "Most urgent (high risk, fewest days of cover):", "", markdown_table(urgent, columns, limit=15)]
    return {"summary": dg.MetadataValue.md("\n".join(lines)), "by_risk": dg.MetadataValue.json(by_risk)}


def _reference_version() -> str:
    """The mapping file's content hash: editing the file is a new code version, so automation
    rematerializes the map and everything downstream of it."""
    return hashlib.sha256((REFERENCE_DIR / "carrier_status.csv").read_bytes()).hexdigest()[:12]


def _quarantine(name: str) -> SideTable:
    """quarantine/<name>: clean rows a curated build could not place, one per clean row (its lineage is the key)."""
    return SideTable("quarantine", name, ("_file_checksum", "_row_number"))


def curated_assets() -> list[dg.AssetsDefinition]:
    xref, location, product = curated_key("product_xref"), curated_key("location"), curated_key("product")
    return [
        _tables([LOCATION], _clean("erp_locations", "erp_sales_orders"), _location),
        _tables([SUPPLIER], _clean("erp_suppliers"), _supplier),
        _tables([VEHICLE], _clean("erp_fleet"), _vehicle),
        _tables([PRODUCT_XREF], _clean("erp_products", "web_catalog", "pos_transactions", "erp_purchase_orders", "erp_prices"),
                _product_xref, report=_xref_report, side_inputs=[clean_history("erp_products")]),
        _tables([PRODUCT], [*_clean("erp_products", "web_catalog", "pos_transactions"), xref], _product,
                side_inputs=[clean_history("erp_products")]),
        _tables([PRICE], [*_clean("erp_prices"), xref], _price, side_tables={"unknown_price_sku": _quarantine("unknown_price_sku")}),
        _tables([SALES_ORDER, SALES_ORDER_LINE],
                [*_clean("erp_sales_orders", "erp_sales_order_lines", "web_orders", "pos_transactions"), xref, location], _sales,
                name="curated__sales_orders", side_tables={"orphan_order_lines": _quarantine("orphan_order_lines")}),
        _tables([DAILY_SALES], [curated_key("sales_order_line")], _daily_sales),
        _tables([PURCHASE_ORDER], [*_clean("erp_purchase_orders"), xref, curated_key("supplier")], _purchase_order),
        _tables([CARRIER_STATUS_MAP], [], _carrier_status_map, code_version=_reference_version(),
                automation_condition=dg.AutomationCondition.eager() | dg.AutomationCondition.code_version_changed()),
        _tables([SHIPMENT_EVENT, SHIPMENT], [*_clean("carrier_events"), curated_key("carrier_status_map"), curated_key("sales_order")],
                _shipments, name="curated__shipments",
                side_tables={"unmapped_carrier_status": _quarantine("unmapped_carrier_status")}),
        _tables([INVENTORY_POSITION], [*_clean("erp_inventory"), xref, location], _inventory_position),
        _tables([PRODUCTION_OUTPUT], [*_clean("shop_floor_production"), xref, location], _production_output),
        _tables([WEB_EVENT], [*_clean("web_clickstream"), xref], _web_event),
        _tables([INVENTORY_PLANNING],
                [curated_key("inventory_position"), curated_key("daily_sales"), product, curated_key("supplier"), curated_key("purchase_order")],
                _inventory_planning, report=_planning_report),
    ]
