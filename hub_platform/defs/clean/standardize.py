"""Standardize the fields that matching and harmonization depend on, as pure functions of pandas Series.

Every standardizer returns the standardized value and, beside it, a reason in plain words where a
present value is invalid. Missing input (None, NaN, blank) is missing output with no error: whether
a value is required is the contract's business. Per-value work (phone parsing, country lookup,
proper-casing) runs once per *distinct* value and is mapped back, which is what makes it fast on
real data, where a column of a million values holds a few thousand distinct ones.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

import numpy as np
import pandas as pd
import phonenumbers
import pycountry

from hub_platform.sources.reference import alias_key, country_aliases, currency_aliases

Result = tuple[str | None, str | None]  # (value, error)


@dataclass(frozen=True)
class Standardized:
    value: pd.Series  # dtype "string"; NA where missing or invalid
    error: pd.Series  # dtype "string"; NA where fine or missing, else why the value is invalid


def _blank_to_na(values: pd.Series) -> pd.Series:
    text = values.astype("string[pyarrow]").str.replace("\u200b", "", regex=False).str.replace("\u00a0", " ", regex=False)
    text = text.str.strip()
    return text.mask(text == "")


def _per_distinct(values: pd.Series, function: Callable[[str], Result]) -> Standardized:
    """Apply ``function`` once per distinct non-missing value and map the results back."""
    codes, distinct = pd.factorize(_blank_to_na(values), use_na_sentinel=True)
    results = [function(v) for v in distinct]
    # one extra slot at the end for missing input (code -1)
    value = np.array([r[0] for r in results] + [None], dtype=object)[codes]
    error = np.array([r[1] for r in results] + [None], dtype=object)[codes]
    return Standardized(pd.Series(value, index=values.index, dtype="string"), pd.Series(error, index=values.index, dtype="string"))


def _per_distinct_in_region(
    values: pd.Series, region: pd.Series | str | None, function: Callable[[str, str | None], Result]
) -> Standardized:
    """Like ``_per_distinct`` for (value, country) pairs; ``region`` is fixed or one country per row."""
    if not isinstance(region, pd.Series):
        fixed = _country_one(region)[0] if region else None
        return _per_distinct(values, lambda v: function(v, fixed))
    text = _blank_to_na(values)
    regions = country_codes(region).value.reindex(text.index).fillna("")
    keys = (text + "\x1f" + regions.astype("string[pyarrow]")).where(text.notna())
    return _per_distinct(keys, lambda key: function(*_split_region(key)))


def _split_region(key: str) -> tuple[str, str | None]:
    value, _, region = key.partition("\x1f")
    return value, region or None


def _vectorized(values: pd.Series, transform: Callable[[pd.Series], pd.Series]) -> Standardized:
    text = _blank_to_na(values)
    return Standardized(transform(text).astype("string"), pd.Series(pd.NA, index=values.index, dtype="string"))


def _collapse(text: pd.Series) -> pd.Series:
    return text.str.replace(r"\s+", " ", regex=True)


# -- names ------------------------------------------------------------------------------------------
_PARTICLES = {"van", "von", "de", "der", "den", "da", "di", "du", "la", "le", "del", "della", "ten", "ter"}


def _proper_case_word(word: str) -> str:
    if word in _PARTICLES:
        return word
    parts = re.split(r"([-'’])", word)
    cased = "".join(p[:1].upper() + p[1:] if p not in "-'’" else p for p in parts)
    if cased.startswith("Mc") and len(cased) > 2:
        cased = "Mc" + cased[2].upper() + cased[3:]
    return cased


def _name(value: str) -> Result:
    value = re.sub(r"\s+", " ", value)
    if value.isupper() or value.islower():
        words = value.lower().split(" ")
        value = " ".join(_proper_case_word(w) if i == 0 or w not in _PARTICLES else w for i, w in enumerate(words))
        value = value[:1].upper() + value[1:]
    return value, None


def fold(text: pd.Series) -> pd.Series:
    """Casefold, strip accents (NFKD), drop punctuation, collapse whitespace: the matching form."""
    def one(value: str) -> str:
        decomposed = unicodedata.normalize("NFKD", value.casefold())
        letters = "".join(c for c in decomposed if not unicodedata.combining(c))
        letters = letters.replace("ß", "ss")
        return re.sub(r"\s+", " ", re.sub(r"[^\w\s]|_", "", letters)).strip()

    codes, distinct = pd.factorize(text, use_na_sentinel=True)
    folded = np.array([one(v) for v in distinct] + [None], dtype=object)[codes]
    return pd.Series(folded, index=text.index, dtype="string")


# -- e-mail -----------------------------------------------------------------------------------------
_EMAIL = r"^[a-z0-9!#$%&'*+/=?^_`{|}~.-]+@[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)+$"


def _email(values: pd.Series) -> Standardized:
    text = _blank_to_na(values).str.lower()
    valid = text.str.match(_EMAIL) & ~text.str.contains("..", regex=False) & ~text.str.startswith(".")
    valid = valid.fillna(False).astype(bool)
    present = text.notna()
    error = ("'" + text + "' is not a valid e-mail address").where(present & ~valid)
    return Standardized(text.where(valid).astype("string"), error.astype("string"))


# -- phone numbers ----------------------------------------------------------------------------------
def _phone_one(value: str, region: str | None) -> Result:
    international = "+" + value[2:] if value.startswith("00") else value  # 0044 … is +44 …
    try:
        number = phonenumbers.parse(international, region)
    except phonenumbers.NumberParseException:
        number = None
    if number is None or not phonenumbers.is_valid_number(number):
        where = f" for region {region}" if region else ""
        return None, f"'{value}' is not a valid phone number{where}"
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164), None


# -- addresses and postcodes ------------------------------------------------------------------------
_ABBREVIATIONS = {
    r"(?<=\w)str\.": "straße",
    r"\bstr\.": "Straße",
    r"\bst\b\.?": "Street",
    r"\brd\b\.?": "Road",
    r"\bave?\b\.?": "Avenue",
    r"\bln\b\.?": "Lane",
    r"\bdr\b\.?": "Drive",
    r"\bsq\b\.?": "Square",
    r"\bpl\b\.?": "Place",
}


def _address(text: pd.Series) -> pd.Series:
    """Whitespace collapsed, all-caps or all-lower lines title-cased, common abbreviations expanded."""
    text = _collapse(text).astype("string")
    uniform = (text.str.isupper() | text.str.islower()).fillna(False).astype(bool)
    text = text.where(~uniform, text.str.title())
    for pattern, replacement in _ABBREVIATIONS.items():
        text = text.str.replace(pattern, replacement, regex=True, case=False)
    return text


_POSTCODES = {
    "GB": (r"^([A-Z]{1,2}\d[A-Z\d]?) ?(\d[A-Z]{2})$", r"\1 \2"),
    "US": (r"^(\d{5})(?:-?(\d{4}))?$", None),
    "DE": (r"^(\d{5})$", None),
    "FR": (r"^(\d{5})$", None),
    "NL": (r"^(\d{4}) ?([A-Z]{2})$", r"\1 \2"),
}


def _postcode_one(value: str, region: str | None) -> Result:
    value = re.sub(r"\s+", " ", value.upper())
    rule = _POSTCODES.get(region or "")
    if rule is None:
        return value, None
    pattern, layout = rule
    match = re.match(pattern, value)
    if not match:
        return None, f"'{value}' is not a valid postcode for {region}"
    if region == "US" and match.group(2):
        return f"{match.group(1)}-{match.group(2)}", None
    return (match.expand(layout) if layout else match.group(0)), None


# -- countries and currencies (aliases pycountry does not know: sources/reference/*_aliases.csv) ------
@cache
def _country_one(value: str) -> Result:
    key = alias_key(value)
    aliases = country_aliases()
    if key in aliases:
        return aliases[key], None
    try:
        found = pycountry.countries.lookup(key)
    except LookupError:
        return None, f"'{value}' is not a known country"
    return found.alpha_2, None


def country_codes(values: pd.Series) -> Standardized:
    return _per_distinct(values, _country_one)


@cache
def _currency_one(value: str) -> Result:
    code = currency_aliases().get(alias_key(value), value.upper())
    if pycountry.currencies.get(alpha_3=code) is None:
        return None, f"'{value}' is not an ISO 4217 currency"
    return code, None


# -- product codes ----------------------------------------------------------------------------------
def _gtin_one(value: str) -> Result:
    digits = re.sub(r"[\s-]", "", value)
    if not digits.isdigit():
        return None, f"GTIN '{value}' has characters other than digits"
    if len(digits) not in (8, 12, 13, 14):
        return None, f"GTIN '{value}' has {len(digits)} digits; GTINs have 8, 12, 13 or 14"
    body, check = digits[:-1], int(digits[-1])
    weights = [3 if i % 2 == 0 else 1 for i in range(len(body))]
    expected = (10 - sum(int(d) * w for d, w in zip(reversed(body), weights, strict=True)) % 10) % 10
    if check != expected:
        return None, f"GTIN '{value}' check digit is {check}, expected {expected}"
    return digits.zfill(13) if len(digits) <= 13 else digits, None


def _product_code(text: pd.Series) -> pd.Series:
    return text.str.upper().str.replace(r"\s+", "", regex=True)


# -- dispatch ---------------------------------------------------------------------------------------
def standardize(kind: str, values: pd.Series, *, region: pd.Series | str | None = None) -> Standardized:
    """Standardize ``values`` as the contract's ``standardize: kind`` says.

    ``region`` (phone, postcode): a fixed ISO country or a per-row Series of countries as they come.
    GTINs are normalized to 13 digits (UPC-12 and GTIN-8 zero-padded); GTIN-14 stays 14.
    """
    simple: dict[str, Callable[[pd.Series], Standardized]] = {
        "name": lambda v: _per_distinct(v, _name),
        "email": _email,
        "address": lambda v: _vectorized(v, _address),
        "country": country_codes,
        "gtin": lambda v: _per_distinct(v, _gtin_one),
        "currency": lambda v: _per_distinct(v, _currency_one),
        "product_code": lambda v: _vectorized(v, _product_code),
        "upper": lambda v: _vectorized(v, lambda t: _collapse(t).str.upper()),
        "lower": lambda v: _vectorized(v, lambda t: _collapse(t).str.lower()),
        "trim": lambda v: _vectorized(v, _collapse),
    }
    if kind == "phone":
        return _per_distinct_in_region(values, region, _phone_one)
    if kind == "postcode":
        return _per_distinct_in_region(values, region, _postcode_one)
    if kind not in simple:
        raise ValueError(f"unknown standardizer {kind!r}; known: {', '.join(sorted([*simple, 'phone', 'postcode']))}")
    return simple[kind](values)


def match_key(kind: str, values: pd.Series) -> pd.Series:
    """The folded form record matching compares: names and addresses folded; e-mails as standardized."""
    text = _blank_to_na(values)
    if kind == "email":
        return text.str.lower().astype("string")
    if kind in ("name", "address"):
        return fold(text)
    raise ValueError(f"no match key for {kind!r}; match keys exist for name, address, email")
