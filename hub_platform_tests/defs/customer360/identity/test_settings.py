"""The matching description: documented, rendered per dialect from one source, and complete."""

from __future__ import annotations

import pytest
import yaml

from hub_platform.defs.customer360.identity.records import RECORD_SCHEMA
from hub_platform.defs.customer360.identity.settings import (
    DESCRIPTION_FILE,
    comparison_level,
    default_description,
    matching_columns,
    parse_description,
    splink_settings,
)


def test_every_rule_comparison_and_level_says_why_it_is_there():
    document = yaml.safe_load(DESCRIPTION_FILE.read_text(encoding="utf-8"))
    assert document["match_threshold"]["why"] and document["evidence_floor"]["why"] and document["nicknames"]["why"]
    assert all(rule["why"] for rule in document["blocking_rules"] + document["training"]["em_blocking_rules"])
    for comparison in document["comparisons"]:
        assert comparison["why"], comparison["name"]
        non_trivial = [lv for lv in comparison["levels"] if lv["kind"] not in ("missing", "else") and not lv.get("missing")]
        assert all(level.get("why") for level in non_trivial), comparison["name"]


def test_one_description_renders_in_each_dialects_own_sql():
    spark, duckdb = splink_settings("spark"), splink_settings("duckdb")
    assert (spark["sql_dialect"], duckdb["sql_dialect"]) == ("spark", "duckdb")

    def condition(settings, comparison, label_part):
        levels = next(c for c in settings["comparisons"] if c["output_column_name"] == comparison)["comparison_levels"]
        return next(lv["sql_condition"] for lv in levels if label_part in lv.get("label_for_charts", ""))

    assert "CAST(`dob_l` AS STRING)" in condition(spark, "dob", "Damerau")
    assert 'CAST("dob_l" AS TEXT)' in condition(duckdb, "dob", "Damerau")
    assert "jaro_winkler(" in condition(spark, "email", "name and number")
    assert "jaro_winkler_similarity(" in condition(duckdb, "email", "name and number")
    assert len(spark["comparisons"]) == len(duckdb["comparisons"]) == len(default_description().comparisons)
    with pytest.raises(ValueError, match="dialect"):
        splink_settings("sqlite")


def test_term_frequency_adjustments_sit_on_the_exact_name_and_email_levels():
    settings = splink_settings("duckdb")
    adjusted = {lv["tf_adjustment_column"] for c in settings["comparisons"] for lv in c["comparison_levels"]
                if lv.get("tf_adjustment_column")}
    assert {"first_name_key", "last_name_key", "email_key", "phone"} <= adjusted


def test_person_records_provide_every_column_the_settings_read():
    assert set(matching_columns()) <= set(RECORD_SCHEMA.names)
    assert default_description().nicknames["bob"] == "robert"
    assert 0.5 < default_description().match_threshold < 1


def test_a_changed_description_changes_the_settings_and_a_bad_level_is_named():
    document = yaml.safe_load(DESCRIPTION_FILE.read_text(encoding="utf-8"))
    document["blocking_rules"] = document["blocking_rules"][:1]
    assert len(splink_settings("spark", parse_description(document))["blocking_rules_to_generate_predictions"]) == 1
    with pytest.raises(ValueError, match="soundex"):
        comparison_level({"kind": "soundex", "column": "last_name_key"})
