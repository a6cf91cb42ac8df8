"""Metadata carries no personal data and stays small: previews, reasons and check examples as the UI shows them."""

import pyarrow as pa

from hub_platform.lib.governance import REDACTED, redact_text
from hub_platform.lib.metadata import MAX_CELL_CHARS, MAX_PREVIEW_CHARS, markdown_table


def test_a_preview_masks_personal_and_unclassified_columns_and_keeps_nulls():
    table = pa.table({"customer_id": ["C1", "C2"], "email": ["ann@example.com", None], "phone_key": ["447700900123", "x"],
                      "_extra": ['{"mobile": "07700 900123"}', None], "country": ["GB", "DE"]})
    preview = markdown_table(table)
    assert "ann@example.com" not in preview and "447700900123" not in preview and "07700" not in preview
    assert preview.splitlines()[2] == f"| C1 | {REDACTED} | {REDACTED} | {REDACTED} | GB |"
    assert preview.splitlines()[3] == f"| C2 |  | {REDACTED} |  | DE |"


def test_reasons_and_free_text_lose_the_values_they_quote():
    assert redact_text("email: 'ann@@example' is not a valid e-mail address") == f"email: '{REDACTED}' is not a valid e-mail address"
    assert redact_text("phone: '+44 7700 900123' is not a valid phone number for GB") == \
        f"phone: '{REDACTED}' is not a valid phone number for GB"
    assert redact_text('{"first_name": "Ann", "amount": "3"}') == f'{{"first_name": "{REDACTED}", "amount": "3"}}'
    assert redact_text("contact bob.smith+x@mail.example.org today") == f"contact {REDACTED} today"
    assert redact_text("amount: 'abc' is not a number") == "amount: 'abc' is not a number"  # not personal: kept


def test_a_huge_field_is_cut_per_value_and_per_preview():
    huge = "x" * 50_000_000
    preview = markdown_table(pa.table({"note": [huge] * 3, "n": [1, 2, 3]}))
    assert len(preview) < 3 * (MAX_CELL_CHARS + 20) + 100
    wide = markdown_table(pa.table({f"c{i}": ["y" * 500] * 200 for i in range(10)}), limit=200)
    assert "preview cut" in wide and len(wide) <= MAX_PREVIEW_CHARS + 100


def test_check_examples_of_a_personal_column_are_masked():
    from hub_platform.lib.gx import TableRules, as_frame, table_suite, validate

    table = pa.table({"email": ["ann@example.com", "ann@example.com", "bob@example.com"], "campaign_id": ["c", "c", "c"]})
    report = validate(as_frame(table), table_suite(TableRules(name="t", keys=("email",))))
    failed = next(f for f in report.failed if f.column == "email")
    assert failed.examples and set(failed.examples) == {REDACTED}
