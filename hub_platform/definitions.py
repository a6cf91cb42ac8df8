"""The one place the hub's Dagster definitions are assembled, from the contracts and the zone modules."""

from __future__ import annotations

import dagster as dg

from hub_platform.defs.clean.assets import clean_assets, clean_key
from hub_platform.defs.curated.assets import curated_assets
from hub_platform.defs.customer360.assets import customer360_assets
from hub_platform.defs.forecast.assets import forecast_assets, forecast_nightly
from hub_platform.defs.orders.assets import LIVE_ASSETS, orders_assets
from hub_platform.defs.product360.assets import product360_assets
from hub_platform.defs.raw.assets import raw_assets
from hub_platform.defs.raw.sensors import landing_sensor, raw_reconciliation
from hub_platform.defs.review.assets import review_assets
from hub_platform.lib.automation import zone_automation
from hub_platform.lib.resources import build_resources
from hub_platform.sources.contract import Registry, default_registry


def build_definitions(registry: Registry | None = None) -> dg.Definitions:
    registry = registry or default_registry()
    assets = [*raw_assets(registry), *clean_assets(registry), *curated_assets(registry), *product360_assets(), *customer360_assets(registry),
              *forecast_assets(), *orders_assets()]
    defined = {key for asset in assets for key in (asset.keys if isinstance(asset, dg.AssetsDefinition) else [asset.key])}
    return dg.Definitions(
        assets=[*assets, *review_assets(defined)],
        sensors=[landing_sensor(registry, live=_live_feeds(registry)), zone_automation],
        schedules=[raw_reconciliation, forecast_nightly],
        resources=build_resources(),
        # One process per run: Spark starts at most once per run and is shared by its assets.
        executor=dg.in_process_executor,
    )


def _live_feeds(registry: Registry) -> dict[str, list[dg.AssetKey]]:
    """Telemetry runs straight through to delay alerts with each micro-batch (when the feed exists)."""
    if "vehicle_telemetry" not in registry.feeds:
        return {}
    return {"vehicle_telemetry": [clean_key("vehicle_telemetry"), *LIVE_ASSETS]}


defs = build_definitions()
