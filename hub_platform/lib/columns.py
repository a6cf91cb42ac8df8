"""What the columns of the hub's tables mean, for the UI's column schema (and `hub sql` users).

Names mean one thing across the zones (a ``product_key`` is the same key everywhere), so the shared
meanings are kept once here; a table whose column means something narrower says so in its
:class:`~hub_platform.lib.tables.TableSpec`'s ``columns``, which wins. Clean tables take theirs from
the contracts (:func:`contract_column_descriptions`). Plain text only: the UI shows these verbatim.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

SHARED: dict[str, str] = {
    # review queue and scored pairs (customers and products alike)
    "domain": "Which matching the pair comes from: customer (identity resolution) or product (product matching).",
    "pair_id": "Id of the pair in the review queue: its domain and both record ids.",
    "left_id": "One record of the pair (a person record id, or a product / product code).",
    "right_id": "The other record of the pair.",
    "match_probability": "The model's probability that the two records are the same.",
    "threshold": "The match probability above which two records are linked.",
    "threshold_reason": "Why the threshold has its value (the expected precision it was chosen for, or stewards' labels).",
    "distance": "How far the pair's score is from the threshold: the queue asks about the nearest first.",
    "left_record": "The left record's compared fields, as JSON.",
    "right_record": "The right record's compared fields, as JSON.",
    "city_key": "The city folded for matching (case, accents and punctuation removed).",
    # forecast definitions and backtests
    "name": "The forecast definition's name (forecast_definitions.toml).",
    "definition": "The forecast definition this row belongs to (forecast_definitions.toml).",
    "grain": "What one series is: product and location, or location only.",
    "freq": "The series' frequency: D (days), W-SUN (weeks ending Sunday) or h (hours).",
    "seasons": "The seasonal periods the series can support (two full cycles in its shortest training window).",
    "closed_positions": "Positions of the main cycle (counted from the series' first period) at which the series is closed: "
                        "left out of its ADI and forecast as 0 (comma-separated; empty if none).",
    "horizon": "Periods forecast ahead, in the series' own frequency.",
    "history": "Periods of history fitted at most.",
    "windows": "Rolling backtest windows.",
    "window": "Which backtest window the row belongs to (0 is the earliest).",
    "step_size": "Periods between backtest windows.",
    "step": "Periods ahead of the forecast origin (1 is the first period forecast).",
    "models": "The strong candidate models the definition affords.",
    "ets_model": "The ETS form tried (error, trend, season).",
    "ets_max_season": "The longest season AutoETS is given.",
    "arima_max_season": "The longest season AutoARIMA searches seasonally.",
    "nonnegative": "Whether forecasts are floored at zero.",
    "quantiles": "The interval quantiles published (p10, p90).",
    "adi_cutoff": "Average inter-demand interval above which demand is intermittent (Syntetos-Boylan).",
    "cv2_cutoff": "Squared coefficient of variation above which demand is erratic (Syntetos-Boylan).",
    "fallback": "True where the chosen model failed on the series and the seasonal naive stood in for it.",
    "periods": "Periods in the series' history.",
    "demand_periods": "Periods with demand.",
    "series_fits": "How many series fits the candidate made over the backtest.",
    "cpu_seconds": "CPU seconds the candidate used over the backtest (this machine's processes).",
    "cpu_seconds_per_series_fit": "cpu_seconds / series_fits.",
    # procurement and freight
    "line_kind": "Where the purchase-order line comes from: a purchase order, or a shipment-line extract.",
    "shipment_id": "The shipment the line travelled in, where the source says so.",
    "mode": "Transport mode (air, truck, ocean, ...) in the canonical vocabulary of shipment_modes.csv.",
    "mode_text": "The transport mode as the source wrote it.",
    "origin": "Whether the supplier is in a supplier master or was created from procurement lines.",
    # keys and codes
    "product_key": "Surrogate key of the product (xxhash64 of its ERP SKU): stable across runs, joins every zone.",
    "product_id": "The product's ERP SKU, e.g. SKU-004711.",
    "location_key": "Surrogate key of the location: stable across runs.",
    "location_id": "The location's code: DC-.., ST-.. (store), PL-.. (plant), DROP-.. (customer drop point) or ONLINE.",
    "supplier_key": "Surrogate key of the supplier.",
    "supplier_id": "The supplier's code in the ERP.",
    "order_key": "Surrogate key of the sales order.",
    "order_id": "The order's id in its source system (SO-.. ERP, WEB-.. web and app, POS basket id).",
    "shipment_key": "Surrogate key of the carrier shipment.",
    "vehicle_key": "Surrogate key of the vehicle.",
    "vehicle_id": "The van's fleet number, e.g. VAN-001.",
    "driver_id": "The driver's id in the fleet system.",
    "depot_id": "The depot (distribution centre) the van starts from and returns to.",
    "route_id": "One van on one day: <vehicle_id>-<YYYYMMDD>.",
    "unique_id": "Forecast series id: <product_id>@<location_id>.",
    "customer_ref": "The customer's reference in the ordering system (ERP account, app user or loyalty card); not a person id.",
    "customer_ref_type": "What customer_ref is: account (ERP), app_user (web and app) or loyalty (store card).",
    "customer_id": "The resolved customer (CUS-..): stable across runs, one per real person.",
    "record_id": "A person record: <source>:<record_key>.",
    "geofence_id": "The geofence: <kind>:<place id>, or the id in geofences.csv.",
    "tracking_no": "The carrier's tracking number.",
    "sku": "The ERP stock-keeping unit code.",
    "gtin": "Global Trade Item Number (barcode), check digit validated.",
    "line_no": "Line number within the order.",
    "po_id": "Purchase order number.",
    "session_id": "Web or app session id.",
    "alert_id": "The alert: <order_id>:<state>:<time raised>; the same alert keeps its id when a run repeats.",
    "change_id": "Id of this change (run id and the cluster it concerns).",
    "model_id": "The training run's id.",
    "run_id": "The Dagster run that made the change.",
    # product attributes
    "product_name": "The product's name (ERP wording, survivorship rules in the curated zone).",
    "brand": "Brand name.",
    "category": "Product category.",
    "size": "Pack size as written in the ERP, e.g. 20 pcs, 250 ml.",
    "lifecycle": "Lifecycle stage: new, active, phase_out or discontinued.",
    "unit_weight_kg": "Weight of one unit in kilograms (converted from the ERP's pounds).",
    "web_title": "The product's title in the web catalogue.",
    "gtin_source": "Where the GTIN comes from: erp, or a code another system scanned where the ERP has none.",
    "master_source": "Which system the product's master attributes come from (erp, or web/pos for products the ERP lacks).",
    "valid_from": "Start of this version's validity (UTC).",
    "valid_to": "End of this version's validity (UTC); empty for the current version.",
    "is_current": "True for the version in force now.",
    # places
    "location_type": "dc, store, plant, customer_drop or online.",
    "location_name": "The location's name.",
    "country": "ISO 3166-1 alpha-2 country code.",
    "timezone": "IANA time zone of the location (local days and times are computed in it).",
    "latitude": "Latitude in degrees (WGS84).",
    "longitude": "Longitude in degrees (WGS84).",
    "lat": "Latitude in degrees (WGS84).",
    "lon": "Longitude in degrees (WGS84).",
    "parent_location_id": "The DC that supplies this location, where the ERP says.",
    "ship_to_lat": "Latitude of the delivery address.",
    "ship_to_lon": "Longitude of the delivery address.",
    "ship_to_location_id": "The customer drop point the order is delivered to.",
    "ship_postcode": "Postcode of the delivery address (online orders).",
    "ship_country": "Country of the delivery address (online orders).",
    # orders and sales
    "channel": "Sales channel: b2b (ERP, own fleet), online (web and app, carriers) or store (POS); fleet or carrier in the orders zone.",
    "currency": "ISO 4217 currency code of the amounts in the row.",
    "ordered_at": "When the order was placed (UTC).",
    "promised_start": "Start of the delivery window promised to the customer (UTC).",
    "promised_end": "End of the delivery window promised to the customer (UTC).",
    "sales_date": "Local calendar day of the sale at the fulfilling location.",
    "units": "Units (pieces).",
    "qty": "Quantity in units.",
    "unit_price": "Price of one unit in the row's currency.",
    "line_amount": "qty x unit_price in the row's currency.",
    "line_count": "Number of order lines.",
    "order_value": "Sum of the order's line amounts in its currency.",
    "revenue": "Revenue in the row's currency.",
    "avg_unit_price": "revenue / units.",
    "product_code_type": "Which code the source used for the product (sku, gtin, web id, till code, supplier part number).",
    "product_code": "The code the source used for the product.",
    "source": "The source system (contract name) the row came from.",
    "sources": "The source systems (contract names) that contributed.",
    "system": "The kind of source system: erp, web, mobile, pos, crm, email, contact_center, carrier, telemetry, shop_floor.",
    # stock and planning
    "snapshot_date": "Day of the ERP stock snapshot.",
    "on_hand": "Units in stock at the location on the snapshot.",
    "in_transit": "Units on the way to the location on the snapshot.",
    "inventory_position": "on_hand + in_transit.",
    "stock_as_of": "Day of the stock snapshot the stock figures come from; empty where the location keeps none.",
    "demand_per_day": "Expected demand in units per day (d in the planning formulas).",
    "demand_std": "Standard deviation of daily demand in units (sigma in the planning formulas).",
    "demand_source": "Where demand_per_day comes from: the published forecast's p50, or recent sales velocity.",
    "lead_time_days": "Lead time in days.",
    "lead_time_source": "observed (mean of at least 3 received purchase orders of the supplier) or contractual.",
    "safety_stock": "Safety stock in units: z x sigma x sqrt(lead time + review period).",
    "reorder_point": "Reorder point in units: demand over the lead time + safety stock.",
    "order_up_to": "Order-up-to level in units: demand over lead time and review period + safety stock.",
    "days_of_cover": "How many days on_hand lasts at demand_per_day; empty without demand.",
    "suggested_order_qty": "Units to order now: order-up-to level minus inventory position, when at or below the reorder point; else 0.",
    "stockout_risk": "high: on hand runs out before an order placed now arrives; medium: below the reorder point; low otherwise; none without demand.",
    "risk_reason": "Why the stock-out risk is what it is, in words, with the figures it was judged on.",
    "stock_age_days": "Days between the stock snapshot and the last day of sales data: how old the stock figures are.",
    # forecast
    "ds": "Forecast or series day.",
    "y": "Units sold that day (all channels of the location).",
    "model": "The statsforecast model used for the series.",
    "p10": "10th percentile of the day's demand in units: 10% of days are expected below it.",
    "p50": "Median forecast of the day's demand in units.",
    "p90": "90th percentile of the day's demand in units: 10% of days are expected above it.",
    "demand_class": "Syntetos-Boylan class: smooth, erratic, intermittent or lumpy.",
    "role": "selection (windows the model was chosen on) or holdout (the last window, which judges the choice).",
    "cutoff": "Last day of history the backtest forecast was made from.",
    "forecast": "The backtest forecast in units.",
    "cumulative_p50": "Sum of p50 demand from the first forecast day to this day.",
    "projected_on_hand": "Stock now (on hand + in transit) minus cumulative p50 demand; empty without a stock snapshot.",
    "stockout_expected": "True once projected_on_hand is below zero.",
    # people
    "first_name": "Given name (display form, accents kept). Personal data.",
    "last_name": "Family name (display form). Personal data.",
    "email": "E-mail address, lower-cased. Personal data.",
    "phone": "Phone number in E.164 form. Personal data.",
    "dob": "Date of birth. Personal data.",
    "street": "Street address. Personal data.",
    "postcode": "Postcode, validated for its country. Personal data.",
    "city": "City.",
    "first_name_key": "Match key: the given name folded (lower case, no accents) for comparison. Personal data.",
    "last_name_key": "Match key: the family name folded for comparison. Personal data.",
    "email_key": "Match key: the e-mail folded for comparison. Personal data.",
    "street_key": "Match key: the street folded for comparison. Personal data.",
    "first_name_canonical": "Match key: the folded given name with nicknames resolved (Bob -> robert). Personal data.",
    "email_mailbox": "Match key: the e-mail's mailbox name (before the @). Personal data.",
    "email_digits": "Match key: the digits of the e-mail's local part. Personal data.",
    "record_count": "Number of source records joined into the customer.",
    "first_seen": "When a source first recorded the customer (UTC).",
    "last_seen": "When a source last recorded the customer (UTC).",
    "email_verified": "True when the e-mail opened or clicked a message and never bounced.",
    "marketing_consent": "The customer's latest explicit marketing consent (false after an unsubscribe or bounce).",
    "marketing_consent_withdrawn_at": "When consent was last withdrawn (UTC), if it was.",
    **{f"{field}_record_id": f"The source record the golden {field.replace('_', ' ')} was taken from."
       for field in ("first_name", "last_name", "dob", "email", "phone", "address", "marketing_consent")},
    # deliveries
    "carrier": "The carrier (contract name), or fleet for the own vans.",
    "status": "Status.",
    "status_code": "The carrier's own status code.",
    "event_at": "When the event happened (UTC).",
    "eta": "Predicted arrival (UTC).",
    "plan_date": "The day the route is planned for.",
    "stops": "Number of planned stops.",
    "stop_seq": "Position of the stop in the van's route (1 = first).",
    "planned_arrival": "Planned arrival at the stop (UTC).",
    "planned_departure": "Planned departure (UTC).",
    "planned_km": "Planned route distance in km.",
    "driven_km": "Distance driven in km, from moving GPS pings; empty without telemetry.",
    "arrived_at": "When the van arrived (UTC), from geofences or proof of delivery.",
    "dwell_minutes": "Minutes spent at the stop.",
    "mean_dwell_minutes": "Mean minutes spent per stop; empty without telemetry.",
    "on_time": "True when delivered by the end of the promised window.",
    "on_time_rate": "Share of deliveries on time.",
    "speeding_incidents": "Spells of at least two consecutive pings above 90 km/h; empty without telemetry.",
    "capacity_units": "How many units the van carries.",
    "kind": "Geofence kind: depot, customer_drop or restricted.",
    "state": "late or cleared (alerts); late or on_time (alert state).",
    "changed_at": "When the state last changed (UTC).",
    "event": "What happened.",
    "orders": "Number of orders.",
}

CLEAN_LINEAGE: dict[str, str] = {
    "_source": "The source system (contract name) that delivered the row.",
    "_file_checksum": "SHA-256 of the raw file the row came from (its object in raw/).",
    "_row_number": "Row number within that file (1 = first data row).",
    "_received_at": "When the file landed (UTC).",
    "_ingested_at": "When the row was written to the clean zone (UTC).",
    "_issues": "Optional values the contract nulled, with the reason (JSON); empty when none.",
    "_extra": "Columns the contract does not know, kept as JSON (schema drift).",
    "_landing_key": "The landing key of the file the row came from.",
}

MANIFEST_COLUMNS: dict[str, str] = {
    "landing_key": "Where the file landed: <source>/<UTC time>_<name>.",
    "source": "The source system (contract name) that delivered it.",
    "feed": "The feed (shape) the source delivers.",
    "system": "The kind of source system.",
    "checksum": "SHA-256 of the file's bytes: its object's name in raw/objects.",
    "size_bytes": "Size of the file in bytes.",
    "received_at": "When the file landed (UTC).",
    "ingested_at": "When raw/ recorded it (UTC).",
    "row_count": "Data rows in the file (as far as it could be read).",
    "status": "ingested, rejected (kept, but unusable as its contract says) or duplicate (same bytes delivered before).",
    "reason": "Why the file was rejected.",
    "notes": "What else was noticed about the file.",
    "run_id": "The Dagster run that recorded it.",
}


def describe(columns: Iterable[str], specific: Mapping[str, str] | None = None) -> dict[str, str]:
    """A description for each column: the table's own where it has one, else the shared meaning."""
    specific = specific or {}
    return {name: text for name in columns
            if (text := specific.get(name) or SHARED.get(name) or CLEAN_LINEAGE.get(name) or _by_suffix(name))}


def _by_suffix(name: str) -> str | None:
    """Columns named after what they derive from: match evidence per compared field, rates and counts per measure."""
    for suffix, text in (("_level", "Which comparison level {} fell into (its label in the matching settings)."),
                         ("_weight", "Match weight in bits that {} contributed to the pair's total.")):
        if name.endswith(suffix) and len(name) > len(suffix):
            return text.format(name.removesuffix(suffix).replace("_", " "))
    return None


def contract_column_descriptions(contract) -> dict[str, str]:
    """Clean-table column descriptions from a contract: its words where it has them, else what it
    declares (type, required, standardization, unit, file column, allowed values), plus lineage and
    the derived match-key and original-value columns."""
    described: dict[str, str] = dict(CLEAN_LINEAGE)
    for column in contract.columns:
        declared = [column.type, "required" if column.required else "optional"]
        if column.standardize:
            declared.append(f"standardized as {column.standardize}")
        if column.unit:
            declared.append(f"converted from {column.unit.source_unit} to {column.unit.target_unit}")
        if column.source and column.source != column.name:
            declared.append(f"file column {column.source}")
        if column.allowed:
            declared.append("one of " + ", ".join(map(str, column.allowed)))
        if column.pii:
            declared.append("personal data")
        facts = "; ".join(declared)
        described[column.name] = f"{column.description.rstrip('.')}. ({facts})" if column.description else f"{column.name.replace('_', ' ').capitalize()} ({facts})."
        described[f"{column.name}_key"] = f"Match key: {column.name} folded (lower case, no accents, no punctuation) for comparison."
        described[f"{column.name}_original"] = f"{column.name} exactly as delivered, before standardization."
    return described
