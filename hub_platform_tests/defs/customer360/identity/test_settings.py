"""Settings generated from the roles present: blocking within a budget, comparisons per role, the
description's knobs and overrides validated, one plan rendered in each dialect's SQL."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest
import yaml

from hub_platform.defs.customer360.identity.settings import (
    DESCRIPTION_FILE,
    DescriptionError,
    Rule,
    candidate_rules,
    comparison_level,
    default_description,
    deterministic_rules,
    generated_comparisons,
    link_type,
    make_plan,
    parse_description,
    rule_pairs,
    splink_settings,
)

ROLES = {"first_name_key": "given_name", "last_name_key": "surname", "dob": "dob", "national_id": "national_id",
         "postcode": "postcode", "attr_state": "attribute"}


def _people(n: int = 6) -> pd.DataFrame:
    return pd.DataFrame({
        "record_id": [f"s:{i}" for i in range(n)], "source": "s",
        "first_name_key": ["anna", "anna", "smith", "bob", "bob", None][:n],
        "last_name_key": ["smith", "smith", "anna", "jones", "jones", "jones"][:n],
        "dob": [date(1980, 1, 2), date(1980, 1, 2), date(1980, 1, 2), date(1970, 5, 5), date(1971, 5, 5), None][:n],
        "national_id": ["1", "2", "3", "4", "4", None][:n], "postcode": ["A", "A", "A", "B", "B", "B"][:n],
        "attr_state": ["x", "x", "x", "y", "y", "y"][:n],
    })


def _document() -> dict:
    return yaml.safe_load(DESCRIPTION_FILE.read_text(encoding="utf-8"))


def test_every_knob_of_the_description_says_why():
    document = _document()
    for section in ("match_threshold", "evidence_floor", "blocking", "training", "link", "nicknames"):
        assert document[section]["why"], section


def test_candidate_rules_come_only_from_the_roles_present():
    names = {rule.name for rule in candidate_rules({"first_name_key", "last_name_key", "dob"})}
    assert {"given name and surname", "given name and surname swapped", "date of birth and surname",
            "birth year and given name", "date of birth"} <= names
    assert not any("e-mail" in n or "postcode" in n or "national id" in n for n in names)
    assert {rule.name for rule in candidate_rules({"email_key"})} == {"e-mail"}


def test_rule_pairs_are_counted_exactly_from_group_sizes_including_swapped_names_and_years():
    people = _people()
    assert rule_pairs(people, Rule("names", (("first_name_key", "exact"), ("last_name_key", "exact")))) == 2  # anna smith x1, bob jones x1
    assert rule_pairs(people, Rule("swap", (("first_name_key", "exact"), ("last_name_key", "exact")), swapped=True)) == 2
    assert rule_pairs(people, Rule("year", (("dob", "year"), ("last_name_key", "exact")))) == 1
    assert rule_pairs(people, Rule("pc", (("postcode", "exact"),))) == 6


def test_a_rule_over_the_pair_budget_is_dropped_with_its_reason():
    description = parse_description({**_document(), "blocking": {
        "pairs_per_record": 0, "min_rule_pairs": 2, "total_pairs_per_record": 0, "min_total_pairs": 1000, "why": "t"}})
    plan = make_plan(_people(), ROLES, description)
    by_name = {b["name"]: b for b in plan.blocking}
    assert by_name["postcode"]["kept"] is False and "exceed the budget of 2" in by_name["postcode"]["why"]
    assert by_name["national id"]["kept"] is True and by_name["national id"]["pairs"] == 1
    assert "e-mail" not in by_name


def test_the_kept_rules_fit_a_budget_together_the_most_specific_first():
    description = parse_description({**_document(), "blocking": {
        "pairs_per_record": 0, "min_rule_pairs": 100, "total_pairs_per_record": 0, "min_total_pairs": 3, "why": "t"}})
    blocking = make_plan(_people(), ROLES, description).blocking
    kept = [b for b in blocking if b["kept"]]
    assert sum(b["pairs"] for b in kept) <= 3 and {b["pairs"] for b in kept} <= {1, 2}
    postcode = next(b for b in blocking if b["name"] == "postcode")
    assert postcode["kept"] is False and "past 3 together" in postcode["why"]
    assert next(b for b in blocking if b["name"] == "national id")["kept"] is True


def test_comparisons_follow_the_roles_and_household_fields_are_one_comparison():
    names = [c.create_output_column_name() for c in generated_comparisons(
        {"first_name_key", "last_name_key", "dob", "email_key", "phone", "street_key", "postcode", "national_id", "attr_state"})]
    assert names == ["first_name", "last_name", "dob", "email", "national_id", "contact", "attr_state"]
    assert [c.create_output_column_name() for c in generated_comparisons({"last_name_key"})] == ["last_name"]


def test_a_plan_renders_in_each_dialects_sql_with_swapped_names_dob_levels_and_term_frequencies():
    plan = make_plan(_people(), ROLES)
    spark, duckdb = splink_settings(plan, "spark"), splink_settings(plan, "duckdb")
    assert (spark["sql_dialect"], duckdb["sql_dialect"]) == ("spark", "duckdb")
    labels = [lv.get("label_for_charts", "") for c in duckdb["comparisons"] for lv in c["comparison_levels"]]
    assert "first_name written in the other name field" in labels
    assert any("1 year" in label for label in labels) and any("Damerau-Levenshtein distance of national_id <= 2" in label for label in labels)
    adjusted = {lv["tf_adjustment_column"] for c in duckdb["comparisons"] for lv in c["comparison_levels"] if lv.get("tf_adjustment_column")}
    assert {"first_name_key", "last_name_key", "postcode", "attr_state"} <= adjusted
    assert "jaro_winkler(" in str(spark["comparisons"]) and "jaro_winkler_similarity(" in str(duckdb["comparisons"])
    with pytest.raises(ValueError, match="dialect"):
        splink_settings(plan, "sqlite")


def test_agreeing_on_a_postcode_where_one_side_has_no_street_is_its_own_contact_level():
    """Ranked levels: "same postcode" alone means the streets differ, which must not be said of a source
    that records no street (a call centre's postcode against the CRM's full address)."""
    import duckdb

    contact = next(c for c in generated_comparisons({"phone", "street_key", "postcode", "city_key"})
                   if c.create_output_column_name() == "contact").get_comparison("duckdb").as_dict()
    pairs = pd.DataFrame({"phone_l": [None, None, None, None], "phone_r": [None, None, None, None],
                          "street_key_l": [None, "1 high st", "1 high st", None], "street_key_r": ["1 high st", "2 low rd", "1 high st", None],
                          "postcode_l": ["AB1", "AB1", "AB1", None], "postcode_r": ["AB1", "AB1", "AB1", "ZZ9"],
                          "city_key_l": ["york", "york", "york", "york"], "city_key_r": ["york", "york", "york", "york"]})
    database = duckdb.connect()
    database.register("pairs", pairs)
    cases = " ".join(f"when {lv['sql_condition']} then '{lv['label_for_charts']}'"
                     for lv in contact["comparison_levels"] if lv["sql_condition"] != "ELSE")
    labels = database.sql(f"select case {cases} else 'else' end as level from pairs").df()["level"].tolist()
    assert labels == ["same postcode, no street to compare", "same postcode", "same street and postcode",
                      "same city, no street or postcode to compare"]
    assert not any("no street" in lv["label_for_charts"] for c in generated_comparisons({"postcode", "phone"})
                   for lv in c.get_comparison("duckdb").as_dict()["comparison_levels"])  # nothing finer to miss


@pytest.mark.parametrize("dialect", ["spark", "duckdb"])
def test_every_generated_level_compares_columns_in_each_dialect(dialect):
    """A condition that names no column is constant on that backend (Spark SQL reads "a_l" as a string)."""
    import sqlglot
    from sqlglot import exp

    roles = {"first_name_key", "last_name_key", "full_name_key", "dob", "email_key", "phone", "street_key", "postcode",
             "city_key", "national_id", "country", "attr_state"}
    for comparison in generated_comparisons(roles):
        for level in comparison.get_comparison(dialect).as_dict()["comparison_levels"]:
            condition = level["sql_condition"]
            if condition != "ELSE":
                assert list(sqlglot.parse_one(condition, read=dialect).find_all(exp.Column)), (level["label_for_charts"], condition)


def test_deterministic_rules_need_their_roles():
    assert [r.name for r in deterministic_rules({"first_name_key", "last_name_key", "dob"})] == [
        "same names and date of birth", "swapped names, same date of birth"]
    assert deterministic_rules({"postcode"}) == []


def test_link_type_and_within_source_exclusion_follow_the_declaration():
    assert link_type(["a", "b"], ("a", "b")) == "link_only"
    assert link_type(["a", "b"], ("a",)) == "link_and_dedupe"
    assert link_type(["a"], ()) == "dedupe_only"
    two = pd.concat([_people().assign(source="a"), _people().assign(source="b", record_id=lambda f: "b" + f.record_id)])
    description = parse_description({**_document(), "link": {"one_record_per_person": ["a", "b"], "why": "t"}})
    plan = make_plan(two, ROLES, description)
    assert plan.link_type == "link_only"
    assert all("not (l.source = r.source and l.source in ('a', 'b'))" in sql for sql in plan.blocking_sql())


def test_records_without_any_role_value_are_a_clear_error():
    with pytest.raises(ValueError, match="declare roles"):
        make_plan(pd.DataFrame({"record_id": ["1"], "source": ["s"], "dob": [None]}), {"dob": "dob"})


def test_the_override_replaces_generated_blocking_and_a_bad_description_is_named():
    document = _document()
    document["override"] = {"blocking_rules": [{"columns": ["postcode"]}],
                            "comparisons": [{"name": "pc", "why": "t", "levels": [{"kind": "missing", "column": "postcode"},
                                                                                  {"kind": "exact", "column": "postcode"},
                                                                                  {"kind": "else"}]}]}
    description = parse_description(document)
    plan = make_plan(_people(), ROLES, description)
    assert plan.blocking_sql() == ["l.postcode = r.postcode"] and plan.overridden == ["blocking_rules", "comparisons"]
    assert [c["output_column_name"] for c in splink_settings(plan, "duckdb", description)["comparisons"]] == ["pc"]
    assert description.fingerprint() != default_description().fingerprint()
    with pytest.raises(DescriptionError, match="soundex"):
        comparison_level({"kind": "soundex", "column": "last_name_key"})
    with pytest.raises(DescriptionError, match="unknown section"):
        parse_description({**_document(), "override": {"rules": []}})
    with pytest.raises(DescriptionError, match="missing 'blocking'"):
        parse_description({k: v for k, v in _document().items() if k != "blocking"})
