"""Products, locations and suppliers: the supply chain's master data, and the codes each system uses.

One true product is known by an ERP SKU, a web catalogue id, a GTIN (most products) or a store item
code on the tills, and a supplier part number; names differ between the ERP and the web shop.
"""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd

CATEGORIES = {
    "beverages": (["Sparkling Water", "Orange Juice", "Cola", "Iced Tea", "Lemonade"], ["500 ml", "1 l", "1.5 l", "6 x 330 ml"]),
    "snacks": (["Salted Crisps", "Chocolate Bar", "Oat Cookies", "Trail Mix", "Pretzels"], ["40 g", "100 g", "200 g"]),
    "dairy": (["Whole Milk", "Greek Yoghurt", "Butter", "Cheddar", "Skyr"], ["250 g", "500 g", "1 l"]),
    "household": (["Dish Soap", "Laundry Pods", "Paper Towels", "Sponges", "Bin Bags"], ["1 pc", "3 pcs", "20 pcs", "750 ml"]),
    "personal_care": (["Shampoo", "Toothpaste", "Hand Soap", "Shower Gel", "Deodorant"], ["75 ml", "250 ml", "400 ml"]),
}
BRANDS = ["Northwind", "Alpine", "Brightday", "Coastline", "Evergreen", "Fjord", "Harbor", "Meadow", "Summit", "Willow"]
LIFECYCLES = ["new", "active", "active", "active", "phase_out", "discontinued"]


def gtin13(body: np.ndarray) -> list[str]:
    """Valid GTIN-13s from 12-digit bodies (GS1 check digit)."""
    codes = []
    for value in body:
        digits = f"{value:012d}"
        total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(digits))
        codes.append(digits + str((10 - total % 10) % 10))
    return codes


def _abbreviate(word: str) -> str:
    """How a till squeezes a word: upper case, long words lose their inner vowels (Sparkling -> SPRKL)."""
    word = word.upper()
    if len(word) <= 5:
        return word
    return (word[0] + "".join(c for c in word[1:] if c not in "AEIOU"))[:5]


def till_description(brand: str, kind: str, size: str) -> str:
    """The short text a POS prints for an item: NORTH SPRKL WATER 500ML (no GTIN needed to read it)."""
    return " ".join([brand.upper()[:5], *(_abbreviate(w) for w in kind.split()), size.upper().replace(" ", "")])


def locations(rng: np.random.Generator, stores: int) -> pd.DataFrame:
    """Two DCs (also the fleet depots), the stores, and a plant, in the UK and Germany."""
    rows = [("DC-01", "Midlands DC", "dc", "GB", 52.48, -1.89), ("DC-02", "Rhein DC", "dc", "DE", 50.94, 6.96),
            ("PL-01", "Leeds Plant", "plant", "GB", 53.80, -1.55)]
    for i in range(stores):
        country = "GB" if i % 2 == 0 else "DE"
        base = (51.5, -0.12) if country == "GB" else (50.11, 8.68)
        lat, lon = base[0] + rng.normal(0, 0.6), base[1] + rng.normal(0, 0.9)
        rows.append((f"ST-{i + 1:03d}", f"Store {i + 1:03d}", "store", country, round(lat, 5), round(lon, 5)))
    frame = pd.DataFrame(rows, columns=["location_id", "location_name", "location_type", "country", "latitude", "longitude"])
    frame["timezone"] = np.where(frame.country == "GB", "Europe/London", "Europe/Berlin")
    return frame


def suppliers(rng: np.random.Generator, count: int) -> pd.DataFrame:
    return pd.DataFrame({
        "supplier_id": [f"SUP-{i + 1:03d}" for i in range(count)],
        "supplier_name": [f"{BRANDS[i % len(BRANDS)]} Trading {'Ltd' if i % 2 else 'GmbH'}" for i in range(count)],
        "country": rng.choice(["GB", "DE", "NL", "FR"], count),
        "lead_time_days": rng.integers(3, 21, count),
        "contact_email": [f"orders@supplier{i + 1}.example.com" for i in range(count)],
    })


def products(rng: np.random.Generator, count: int, supplier_ids: np.ndarray) -> pd.DataFrame:
    categories = rng.choice(list(CATEGORIES), count)
    kinds, sizes = [], []
    for category in categories:
        names, pack_sizes = CATEGORIES[category]
        kinds.append(rng.choice(names))
        sizes.append(rng.choice(pack_sizes))
    brands = rng.choice(BRANDS, count)
    has_gtin = rng.random(count) < 0.8
    gtins = gtin13(rng.integers(400_000_000_000, 499_999_999_999, count))
    frame = pd.DataFrame({
        "product_id": [f"PRD-{i:05d}" for i in range(count)],
        "sku": [f"SKU-{4711 + i * 7:06d}" for i in range(count)],
        "gtin": np.where(has_gtin, gtins, None),
        "store_item_code": [f"IC{1000 + i}" for i in range(count)],
        "web_product_id": ["W-" + hashlib.sha1(f"web{i}".encode()).hexdigest()[:8] for i in range(count)],
        "brand": brands,
        "kind": kinds,
        "size": sizes,
        "category": categories,
        "lifecycle": rng.choice(LIFECYCLES, count),
        "supplier_id": rng.choice(supplier_ids, count),
        "unit_weight_lb": np.round(rng.uniform(0.05, 6.0, count), 3),
        "base_price": np.round(rng.uniform(0.79, 14.99, count), 2),
        # demand: units per store-day; a fifth of products sell rarely (intermittent demand)
        "demand_rate": np.where(rng.random(count) < 0.2, rng.uniform(0.05, 0.3, count), rng.uniform(0.6, 4.0, count)),
    })
    frame["product_name"] = frame.brand + " " + frame.kind + " " + frame["size"]
    frame["till_description"] = [till_description(b, k, s) for b, k, s in zip(frame.brand, frame.kind, frame["size"], strict=True)]
    frame["supplier_part_no"] = [f"{s.replace('SUP-', 'SP')}-{i:05d}" for s, i in zip(frame.supplier_id, range(count), strict=True)]
    # the web shop words its titles its own way: size first, brand last, sometimes abbreviated
    frame["web_title"] = [
        f"{k} {s} – {b}" if i % 3 else f"{b.upper()} {k.replace('Sparkling', 'Sprkl').replace('Chocolate', 'Choc')} ({s})"
        for i, (b, k, s) in enumerate(zip(frame.brand, frame.kind, frame["size"], strict=True))
    ]
    return frame
