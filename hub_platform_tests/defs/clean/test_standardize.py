"""Standardization on nasty inputs: blanks, unicode, leading zeros, numbers that are not phones."""

import pandas as pd
import pytest

from hub_platform.defs.clean.standardize import match_key, standardize

MISSING = [None, float("nan"), pd.NA, "", "   ", "\u200b", "\u00a0"]


@pytest.mark.parametrize("kind", ["name", "email", "phone", "address", "postcode", "country", "gtin", "currency", "product_code", "upper", "lower", "trim"])
def test_missing_input_is_missing_output_without_error(kind):
    result = standardize(kind, pd.Series(MISSING, dtype=object), region="GB")
    assert result.value.isna().all() and result.error.isna().all()
    assert list(result.value.index) == list(range(len(MISSING)))


def test_index_is_preserved():
    values = pd.Series([" a@B.com", "x"], index=[10, 3])
    result = standardize("email", values)
    assert list(result.value.index) == [10, 3] and result.value[10] == "a@b.com" and pd.isna(result.value[3])


def test_unknown_kind_names_the_known_ones():
    with pytest.raises(ValueError, match="unknown standardizer 'colour'; known: .*email"):
        standardize("colour", pd.Series(["x"]))


@pytest.mark.parametrize(
    ("raw", "display", "key"),
    [
        ("JOSÉ  O'BRIEN", "José O'Brien", "jose obrien"),
        ("anne-marie mcdonald", "Anne-Marie McDonald", "annemarie mcdonald"),
        ("ludwig van beethoven", "Ludwig van Beethoven", "ludwig van beethoven"),
        ("Zoë  Müller-Lüdenscheidt", "Zoë Müller-Lüdenscheidt", "zoe mullerludenscheidt"),
        ("DE LA CRUZ", "De la Cruz", "de la cruz"),
        ("Straßmann", "Straßmann", "strassmann"),
        ("李小龙", "李小龙", "李小龙"),
    ],
)
def test_names_keep_accents_for_display_and_fold_them_in_the_key(raw, display, key):
    assert standardize("name", pd.Series([raw])).value[0] == display
    assert match_key("name", pd.Series([raw]))[0] == key


@pytest.mark.parametrize(
    ("raw", "value", "error"),
    [
        ("  Ann.Lee+news@Example.CO.UK ", "ann.lee+news@example.co.uk", None),
        ("ann@", None, "'ann@' is not a valid e-mail address"),
        ("ann lee@example.com", None, "'ann lee@example.com' is not a valid e-mail address"),
        ("ann..lee@example.com", None, "'ann..lee@example.com' is not a valid e-mail address"),
        ("ann@example", None, "'ann@example' is not a valid e-mail address"),
        ("a@b@c.com", None, "'a@b@c.com' is not a valid e-mail address"),
    ],
)
def test_emails(raw, value, error):
    result = standardize("email", pd.Series([raw]))
    assert (result.value[0] if pd.notna(result.value[0]) else None, result.error[0] if pd.notna(result.error[0]) else None) == (value, error)


@pytest.mark.parametrize(
    ("raw", "region", "e164"),
    [
        ("020 7946 0958", "GB", "+442079460958"),
        ("+44 (0)20 7946 0958", "DE", "+442079460958"),
        ("0044 20 7946 0958", None, "+442079460958"),
        ("030 123456", "Deutschland", "+4930123456"),
        ("(617) 253-1000", "USA", "+16172531000"),
        ("06 12 34 56 78", "FR", "+33612345678"),
        ("020-555 1234", "NL", "+31205551234"),
    ],
)
def test_phones_become_e164(raw, region, e164):
    assert standardize("phone", pd.Series([raw]), region=region).value[0] == e164


@pytest.mark.parametrize("raw", ["12345", "not a number", "+44 20", "000000000000000"])
def test_invalid_phones_are_errors_naming_value_and_region(raw):
    result = standardize("phone", pd.Series([raw]), region="GB")
    assert pd.isna(result.value[0])
    assert result.error[0] == f"'{raw}' is not a valid phone number for region GB"


def test_phone_region_per_row():
    result = standardize("phone", pd.Series(["020 7946 0958", "030 123456"]), region=pd.Series(["uk", "DE"]))
    assert result.value.tolist() == ["+442079460958", "+4930123456"]


@pytest.mark.parametrize(
    ("raw", "region", "value", "error"),
    [
        ("sw1a1aa", "GB", "SW1A 1AA", None),
        ("01067", "DE", "01067", None),
        ("1067", "DE", None, "'1067' is not a valid postcode for DE"),
        ("02139", "US", "02139", None),
        ("021391234", "US", "02139-1234", None),
        ("1012ab", "NL", "1012 AB", None),
        ("75001", "FR", "75001", None),
        ("  k1a 0b1 ", "CA", "K1A 0B1", None),
    ],
)
def test_postcodes_keep_leading_zeros_and_are_checked_where_the_format_is_known(raw, region, value, error):
    result = standardize("postcode", pd.Series([raw]), region=region)
    got = (None if pd.isna(result.value[0]) else result.value[0], None if pd.isna(result.error[0]) else result.error[0])
    assert got == (value, error)


@pytest.mark.parametrize(("raw", "iso"), [("uk", "GB"), ("Deutschland", "DE"), (" united states of america ", "US"), ("FRA", "FR"), ("nl", "NL"), ("Holland", "NL"), ("Germany", "DE")])
def test_countries_become_iso_alpha2(raw, iso):
    assert standardize("country", pd.Series([raw])).value[0] == iso


def test_unknown_country_is_an_error():
    assert standardize("country", pd.Series(["Narnia"])).error[0] == "'Narnia' is not a known country"


@pytest.mark.parametrize(
    ("raw", "value", "error"),
    [
        ("4006381333931", "4006381333931", None),
        ("400-638 1333931", "4006381333931", None),
        ("036000291452", "0036000291452", None),  # UPC-12 padded to 13
        ("96385074", "0000096385074", None),  # GTIN-8 padded to 13
        ("10036000291459", "10036000291459", None),  # GTIN-14 kept
        ("4006381333932", None, "GTIN '4006381333932' check digit is 2, expected 1"),
        ("40063813339", None, "GTIN '40063813339' has 11 digits; GTINs have 8, 12, 13 or 14"),
        ("40063813339X1", None, "GTIN '40063813339X1' has characters other than digits"),
    ],
)
def test_gtins_are_check_digit_validated(raw, value, error):
    result = standardize("gtin", pd.Series([raw]))
    assert (None if pd.isna(result.value[0]) else result.value[0], None if pd.isna(result.error[0]) else result.error[0]) == (value, error)


def test_currencies_and_product_codes():
    assert standardize("currency", pd.Series(["€", "usd", "£", "GBP"])).value.tolist() == ["EUR", "USD", "GBP", "GBP"]
    assert standardize("currency", pd.Series(["EURO"])).error[0] == "'EURO' is not an ISO 4217 currency"
    assert standardize("product_code", pd.Series([" sku 004711 "])).value[0] == "SKU004711"


def test_addresses_expand_abbreviations_and_fold_for_matching():
    values = pd.Series(["12 high st.", "5  BAKER RD", "Hauptstr. 5"])
    assert standardize("address", values).value.tolist() == ["12 High Street", "5 Baker Road", "Hauptstraße 5"]
    assert match_key("address", pd.Series(["12, High Street"]))[0] == "12 high street"
