"""The command line guides: every command explains itself, selections that match nothing are errors,
runs show progress as they go, times are read as people type them, tables print as text, JSON or CSV."""

import argparse
import io
import json
from datetime import UTC, datetime, timedelta

import dagster as dg
import pandas as pd
import pyarrow as pa
import pytest

from hub_platform.lib.lake.store import Lake, Location
from hub_platform.serving import cli
from hub_platform.serving.progress import EmptySelection, RunProgress, resolve_selection
from hub_platform.serving.reporting import age, status_rows, status_text
from hub_platform.serving.terminal import point_in_time, print_rows

NOW = datetime(2026, 12, 2, 9, 30, tzinfo=UTC)


def _subcommands() -> dict[str, argparse.ArgumentParser]:
    parser = cli.build_parser()
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


def test_every_subcommand_has_a_description_examples_and_help_on_every_option():
    commands = _subcommands()
    assert {"sources", "assets", "status", "materialize", "serve"} <= set(commands)
    for name, command in commands.items():
        assert command.description and len(command.description) > 40, name
        assert command.epilog.startswith("examples:") and f"hub {name}" in command.epilog, name
        for option in command._actions:
            if not isinstance(option, argparse._HelpAction):
                assert option.help, f"hub {name} {option.dest} has no help"


def test_every_command_that_prints_a_table_offers_json_and_csv():
    for name in ("sources", "assets", "status", "sql", "history", "cleanroom", "forecast"):
        options = {o for action in _subcommands()[name]._actions for o in action.option_strings}
        assert {"--json", "--csv"} <= options, name


def test_version(capsys):
    with pytest.raises(SystemExit) as exit_:
        cli.main(["--version"])
    assert exit_.value.code == 0
    assert capsys.readouterr().out.startswith("hub_platform ")


@pytest.mark.parametrize(("text", "expected"), [
    ("yesterday", NOW - timedelta(days=1)),
    ("today", datetime(2026, 12, 2, tzinfo=UTC)),
    ("-7d", NOW - timedelta(days=7)),
    ("-12h", NOW - timedelta(hours=12)),
    ("-30m", NOW - timedelta(minutes=30)),
    ("2026-11-23T08:00", datetime(2026, 11, 23, 8, tzinfo=UTC)),
    ("2026-11-23T08:00+01:00", datetime(2026, 11, 23, 7, tzinfo=UTC)),
])
def test_points_in_time_as_people_type_them(text, expected):
    assert point_in_time(text, now=NOW) == expected


def test_an_unreadable_time_says_which_formats_work(capsys):
    with pytest.raises(SystemExit) as exit_:
        cli.main(["sql", "--as-of", "last tuesday", "SELECT 1"])
    assert exit_.value.code == 2
    error = capsys.readouterr().err
    assert "'last tuesday' is not a time" in error and "yesterday" in error and "-7d" in error


def test_rows_print_as_text_with_rounded_floats_json_and_csv():
    frame = pd.DataFrame({"p90": [37.80000000000001], "product_id": ["SKU-1"]})
    text, as_json, as_csv = io.StringIO(), io.StringIO(), io.StringIO()
    print_rows(frame, "text", text)
    print_rows(pa.Table.from_pandas(frame), "json", as_json)
    print_rows(frame, "csv", as_csv)
    assert "37.8 " in text.getvalue() + " " and "37.80000000000001" not in text.getvalue()
    assert json.loads(as_json.getvalue()) == [{"p90": 37.80000000000001, "product_id": "SKU-1"}]
    assert as_csv.getvalue().splitlines()[0] == "p90,product_id"


@dg.asset(key=["raw", "erp_products"], group_name="raw")
def _raw_products():
    return dg.MaterializeResult(metadata={"dagster/row_count": 3})


@dg.asset(key=["clean", "erp_products"], deps=[_raw_products], group_name="clean",
          check_specs=[dg.AssetCheckSpec("great_expectations", asset=["clean", "erp_products"])])
def _clean_products():
    yield dg.MaterializeResult(metadata={"dagster/row_count": 2})
    yield dg.AssetCheckResult(check_name="great_expectations", passed=False, severity=dg.AssetCheckSeverity.WARN)


GRAPH = dg.Definitions(assets=[_raw_products, _clean_products]).resolve_asset_graph()


@pytest.mark.parametrize("selection", ["group:nosuch", "raw/erp_prodcts", "key:\"clean/erp_prodcts\"", "group:("])
def test_a_selection_that_matches_nothing_is_an_error_with_near_matches(selection):
    with pytest.raises(EmptySelection) as error:
        resolve_selection([selection], GRAPH)
    message = str(error.value)
    assert selection in message
    assert "erp_products" in message or "the groups are clean, raw" in message


def test_selections_resolve_to_their_assets():
    assert resolve_selection(["group:raw", "clean/erp_products"], GRAPH) == [
        dg.AssetKey(["clean", "erp_products"]), dg.AssetKey(["raw", "erp_products"])]


def test_a_table_computed_with_others_is_selected_with_them():
    @dg.multi_asset(specs=[dg.AssetSpec(["forecast", "planning_export"]), dg.AssetSpec(["forecast", "inventory_planning"])],
                    can_subset=False)
    def planning():
        yield from ()

    graph = dg.Definitions(assets=[planning]).resolve_asset_graph()
    assert resolve_selection(["forecast/inventory_planning"], graph) == [
        dg.AssetKey(["forecast", "inventory_planning"]), dg.AssetKey(["forecast", "planning_export"])]


def test_materialize_with_an_empty_selection_exits_2_and_runs_nothing(hub_home, capsys):
    assert cli.main(["materialize", "--select", "group:nosuch"]) == 2
    assert "group:nosuch" in capsys.readouterr().err
    assert dg.DagsterInstance.get().get_runs_count() == 0


def test_progress_prints_each_asset_its_rows_and_failed_checks_as_the_run_goes():
    instance, out = dg.DagsterInstance.ephemeral(), io.StringIO()
    job = dg.Definitions(assets=[_raw_products, _clean_products]).resolve_implicit_global_asset_job_def()
    progress = RunProgress(out=out, assets=2, heartbeat=0)
    run_id = "0b5c6d4e-0000-4000-8000-000000000001"
    instance.add_event_listener(run_id, progress)
    assert job.execute_in_process(instance=instance, run_id=run_id).success
    lines = out.getvalue().splitlines()
    assert any("started" in line and "raw__erp_products" in line for line in lines)
    assert any("1/2" in line and "raw/erp_products" in line and "3 rows" in line for line in lines)
    assert any("did not pass: clean/erp_products:great_expectations (warn)" in line.lower() for line in lines)
    assert progress.done == 2 and progress.checks_failed and not progress.failed and not progress.interrupted


def test_an_interrupted_step_is_reported_as_interrupted():
    @dg.asset
    def stopped():
        raise dg.DagsterExecutionInterruptedError("stopped")  # what Dagster raises in a step on Ctrl-C

    instance, out = dg.DagsterInstance.ephemeral(), io.StringIO()
    progress = RunProgress(out=out, assets=1, heartbeat=0)
    run_id = "0b5c6d4e-0000-4000-8000-000000000002"
    instance.add_event_listener(run_id, progress)
    job = dg.Definitions(assets=[stopped]).resolve_implicit_global_asset_job_def()
    job.execute_in_process(instance=instance, run_id=run_id, raise_on_error=False)
    assert progress.interrupted
    assert "interrupted" in out.getvalue()


def test_status_shows_rows_update_freshness_and_checks_per_table(tmp_path):
    lake = Lake(Location(str(tmp_path / "lake")))
    lake.write(pa.table({"sku": ["A", "B"]}), "clean", "erp_products")
    lake.write(pa.table({"landing_key": ["k"]}), "quarantine", "erp_products")
    instance = dg.DagsterInstance.ephemeral()
    job = dg.Definitions(assets=[_raw_products, _clean_products]).resolve_implicit_global_asset_job_def()
    job.execute_in_process(instance=instance)
    job.execute_in_process(instance=instance, asset_selection=[dg.AssetKey(["raw", "erp_products"])])  # raw is newer now
    rows = status_rows(lake, GRAPH, instance).set_index(["zone", "table"])
    clean = rows.loc[("clean", "erp_products")]
    assert clean["rows"] == 2 and clean["version"] == 0 and clean["kind"] == "asset"
    assert clean["freshness"] == "stale: raw/erp_products changed since"
    assert clean["checks"] == "1 of 1 did not pass: great_expectations (warn)"
    assert rows.loc[("raw", "erp_products")]["freshness"] == "up to date"
    assert rows.loc[("quarantine", "erp_products")]["kind"] == "supporting"
    text = status_text(rows.reset_index(), lake.root)
    assert "clean/  1 of 1 assets materialized" in text and "raw/  1 of 1 feeds materialized" in text


def test_ages_read_as_people_say_them():
    assert [age(NOW - timedelta(seconds=s), NOW) for s in (40, 600, 3 * 3600, 86400 * 5)] == ["40s", "10 min", "3 h", "5 days"]


def test_unknown_tables_and_sources_are_answered_with_what_exists(hub_home, capsys):
    lake = Lake(Location(str(hub_home / "lake")))
    lake.write(pa.table({"product_key": [1]}), "curated", "product")
    assert cli.main(["history", "product"]) == 2
    assert "give zone/table, e.g. curated/product" in capsys.readouterr().err
    assert cli.main(["history", "curated/prodcut"]) == 2
    assert "curated/product" in capsys.readouterr().err
    assert cli.main(["land", "--source", "erp_prodcts", "x.csv"]) == 2
    assert "did you mean erp_products" in capsys.readouterr().err
