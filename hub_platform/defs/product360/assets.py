"""product360/: one profile per product of the master, and its sales velocity by channel and location."""

from __future__ import annotations

import dagster as dg

from hub_platform.defs.curated.assets import curated_key
from hub_platform.defs.product360 import product_profile
from hub_platform.lib.tables import Inputs, TableSpec, table_assets

OWNER = "team:merchandising"

PROFILE = TableSpec(
    zone="product360", name="profile", keys=("product_key",),
    description="Product-360: master attributes and every code the product is known by; current and historic price; sales "
    "velocity by channel (units per day over the last 28 sales days); web interest (views, add-to-cart, purchases, "
    "conversion); stock on hand and in transit; the supplier's contractual and observed lead time, on-time rate "
    "and fill rate.",
    not_null=("product_id", "product_name"),
    columns={
        "codes": "Every code the product is known by, as <code_type>:<code>.",
        "weakest_fuzzy_match": "The lowest wording score among its fuzzy-matched codes; empty when none was matched by wording.",
        "price_gbp": "Current list price in pounds.",
        "price_eur": "Current list price in euros.",
        "price_versions": "How many list-price versions it has had.",
        "lowest_price_gbp": "Lowest pound list price ever.",
        "highest_price_gbp": "Highest pound list price ever.",
        "units_per_day_store": "Store units per day over the last 28 sales days.",
        "units_per_day_online": "Online units per day over the last 28 sales days.",
        "units_per_day_b2b": "B2B units per day over the last 28 sales days.",
        "units_sold_all_time": "Units sold since the data begins.",
        "locations_selling_recently": "Locations that sold it in the last 28 sales days.",
        "web_views_recent": "Web product views in the last 28 days.",
        "web_add_to_cart_recent": "Add-to-cart events in the last 28 days.",
        "web_purchases_recent": "Web purchases in the last 28 days.",
        "web_conversion_recent": "web_purchases_recent / web_views_recent.",
        "supplier_name": "The supplier's name.",
        "contractual_lead_time_days": "The supplier's contractual lead time in days.",
        "observed_lead_time_days": "Mean lead time of received purchase orders, in days.",
        "supplier_on_time_rate": "Share of the supplier's purchase orders received by the expected date.",
        "supplier_fill_rate": "Units received / units ordered from the supplier.",
    },
)
VELOCITY = TableSpec(
    zone="product360", name="velocity", keys=("product_key", "channel", "location_id"),
    description="Sales velocity of each product by channel and location: units over the last 28 sales days, units per day, "
    "revenue, and units all time.",
    not_null=("units_per_day",),
    columns={
        "units_recent": "Units over the last 28 sales days.",
        "units_per_day": "units_recent / 28.",
        "revenue_recent": "Revenue over the last 28 sales days, in the sales currency.",
        "units_all_time": "Units sold since the data begins.",
    },
)


def _velocity(read: Inputs):
    return {"velocity": product_profile.velocity(read.curated("daily_sales"))}


def _profile(read: Inputs):
    return {"profile": product_profile.profile(
        read.curated("product"), read.curated("product_xref"), read.curated("price"), read("product360", "velocity"),
        read.curated("web_event"), read.curated("inventory_position"), read.curated("supplier"), read.curated("purchase_order"),
    )}


def product360_assets() -> list[dg.AssetsDefinition]:
    common = {"group": "product360", "owners": [OWNER]}
    inputs = ["product", "product_xref", "price", "web_event", "inventory_position", "supplier", "purchase_order"]
    return [
        table_assets([VELOCITY], deps=[curated_key("daily_sales")], build=_velocity, **common),
        table_assets([PROFILE], deps=[*map(curated_key, inputs), VELOCITY.key], build=_profile, **common),
    ]
