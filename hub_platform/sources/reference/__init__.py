"""Reference data a person edits without touching code: CSV files in this folder, each validated on load.

- carrier_status.csv: each carrier's own status codes mapped to the hub's canonical shipment statuses.
  A code missing here is not dropped: its events are quarantined with the reason until a row is added.
- geofences.csv: restricted zones and other hand-drawn geofences (see defs/orders/geofences.py).
- holidays.csv: public holidays per country (see defs/forecast/demand_series.py).
- fx_rates.csv: fixed planning rates into pounds, to compare customers' value across currencies.
- shipment_modes.csv: how sources write a transport mode (Air Charter, Truck, Sea, ...) and the
  canonical mode it is; a text missing here keeps its shipment with no mode until a row is added.


- country_aliases.csv / currency_aliases.csv: names and symbols real files use that ISO 3166 / 4217
  (pycountry) do not know, read by the country, phone, postcode and currency standardizers. Editing
  either changes the fingerprint of every contract that standardizes those columns, so their feeds replay.
"""

from __future__ import annotations

import functools
import hashlib
from pathlib import Path

import pandas as pd

REFERENCE_DIR = Path(__file__).parent
SHIPMENT_STATUSES = ("picked_up", "in_transit", "out_for_delivery", "delivered", "exception")
TRANSPORT_MODES = ("air", "road", "ocean", "rail")
# the clock of each country customers live in (the hub and the sample world read local times alike)
COUNTRY_TIMEZONES = {"GB": "Europe/London", "DE": "Europe/Berlin", "FR": "Europe/Paris", "NL": "Europe/Amsterdam",
                     "US": "America/New_York"}


class ReferenceError(ValueError):
    """A reference file is malformed; the message names the file, the row and what is wrong."""


def carrier_status_map(path: Path = REFERENCE_DIR / "carrier_status.csv") -> pd.DataFrame:
    """carrier, status_code, status, meaning; every status canonical, every (carrier, code) once."""
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    expected = ["carrier", "status_code", "status", "meaning"]
    if list(frame.columns) != expected:
        raise ReferenceError(f"{path}: columns must be {', '.join(expected)}; found {', '.join(frame.columns)}")
    problems = []
    for row, record in enumerate(frame.to_dict("records"), start=2):  # row 1 is the header
        if not record["carrier"] or not record["status_code"]:
            problems.append(f"row {row}: carrier and status_code are required")
        if record["status"] not in SHIPMENT_STATUSES:
            problems.append(f"row {row}: status {record['status']!r} is not one of {', '.join(SHIPMENT_STATUSES)}")
    repeated = frame[frame.duplicated(["carrier", "status_code"], keep=False)]
    if len(repeated):
        pairs = sorted({f"{c}/{s}" for c, s in zip(repeated.carrier, repeated.status_code, strict=True)})
        problems.append(f"codes mapped more than once: {', '.join(pairs)}")
    if problems:
        raise ReferenceError(f"{path}: " + "; ".join(problems))
    return frame


def fx_rates(path: Path = REFERENCE_DIR / "fx_rates.csv") -> pd.DataFrame:
    """currency, gbp_per_unit: one positive rate per ISO currency."""
    frame = pd.read_csv(path, dtype={"currency": str}, keep_default_na=False)
    bad = frame[(frame.gbp_per_unit <= 0) | ~frame.currency.str.fullmatch(r"[A-Z]{3}") | frame.currency.duplicated()]
    if len(bad):
        raise ReferenceError(f"{path}: rows {', '.join(str(i + 2) for i in bad.index)} need a unique ISO currency and a positive rate")
    return frame[["currency", "gbp_per_unit"]]


def holidays(path: Path = REFERENCE_DIR / "holidays.csv") -> pd.DataFrame:
    """country, date, name: public holidays, one row per country and date.

    The file holds the nationwide public holidays of GB (the England and Wales bank holidays,
    including substitute days) and DE (the nine federal holidays; state-only days such as Corpus
    Christi are left out because a store's state is not known) for 2025 and 2026, written from the
    published government calendars (gov.uk/bank-holidays, the German federal and state holiday
    laws). Extending the sample period or the countries means adding rows to that file.
    """
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    dates = pd.to_datetime(frame.get("date"), format="%Y-%m-%d", errors="coerce")
    bad = frame[~frame.country.str.fullmatch(r"[A-Z]{2}") | dates.isna() | (frame.name == "")
                | frame.duplicated(["country", "date"])]
    if len(bad):
        raise ReferenceError(f"{path}: rows {', '.join(str(i + 2) for i in bad.index)} need an ISO country, a YYYY-MM-DD "
                             "date and a name, once per country and date")
    return frame.assign(date=dates)[["country", "date", "name"]]


def shipment_modes(path: Path = REFERENCE_DIR / "shipment_modes.csv") -> pd.DataFrame:
    """text (folded to lower case), mode, meaning: every mode canonical, every text once."""
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    expected = ["text", "mode", "meaning"]
    if list(frame.columns) != expected:
        raise ReferenceError(f"{path}: columns must be {', '.join(expected)}; found {', '.join(frame.columns)}")
    frame["text"] = frame.text.str.strip().str.lower()
    bad = frame[(frame.text == "") | ~frame["mode"].isin(TRANSPORT_MODES) | frame.text.duplicated(keep=False)]
    if len(bad):
        raise ReferenceError(f"{path}: rows {', '.join(str(i + 2) for i in bad.index)} need a text (once) and a mode, "
                             f"one of {', '.join(TRANSPORT_MODES)}")
    return frame


def _aliases(path: Path, target: str, is_code) -> dict[str, str]:
    """alias -> code, aliases compared case- and space-insensitively; each alias once, each code valid."""
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    expected = ["alias", target, "note"]
    if list(frame.columns) != expected:
        raise ReferenceError(f"{path}: columns must be {', '.join(expected)}; found {', '.join(frame.columns)}")
    problems, mapping = [], {}
    for row, record in enumerate(frame.to_dict("records"), start=2):
        alias, code = alias_key(record["alias"]), record[target].strip()
        if not alias:
            problems.append(f"row {row}: alias is empty")
        elif alias in mapping:
            problems.append(f"row {row}: alias {record['alias']!r} is listed twice")
        if not is_code(code):
            problems.append(f"row {row}: {code!r} is not an ISO {target} code")
        mapping[alias] = code
    if problems:
        raise ReferenceError(f"{path}: " + "; ".join(problems))
    return mapping


def alias_key(text: str) -> str:
    """How aliases are compared: trimmed, inner whitespace collapsed, upper case."""
    return " ".join(text.split()).upper()


@functools.cache
def country_aliases(path: Path = REFERENCE_DIR / "country_aliases.csv") -> dict[str, str]:
    """Names and abbreviations real files use for countries that ISO 3166 (pycountry) does not know."""
    import pycountry

    return _aliases(path, "country", lambda code: pycountry.countries.get(alpha_2=code) is not None)


@functools.cache
def currency_aliases(path: Path = REFERENCE_DIR / "currency_aliases.csv") -> dict[str, str]:
    """Currency symbols and names real files use instead of the ISO 4217 code."""
    import pycountry

    return _aliases(path, "currency", lambda code: pycountry.currencies.get(alpha_3=code) is not None)


STANDARDIZER_REFERENCE = {"country": ("country_aliases.csv",), "phone": ("country_aliases.csv",),
                          "postcode": ("country_aliases.csv",), "currency": ("currency_aliases.csv",)}


def standardizer_reference_digest(kinds: list[str]) -> str:
    """The content hash of the reference files these standardizers read (part of a contract's fingerprint)."""
    names = sorted({name for kind in kinds for name in STANDARDIZER_REFERENCE.get(kind, ())})
    digest = hashlib.sha256()
    for name in names:
        digest.update((REFERENCE_DIR / name).read_bytes())
    return digest.hexdigest() if names else ""
