"""`hub …`: the hub's command line (seed sample data, land files, materialize, inspect the zones)."""

from __future__ import annotations

import argparse
import os
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from hub_platform.lib.governance import ROLES


def _storage():
    from hub_platform.lib.resources import configured

    return configured()["storage"]


def cmd_seed(args: argparse.Namespace) -> int:
    from hub_platform.lib.resources import hub_home
    from hub_platform.seed.generator import generate

    out = _storage().location(args.out or str(hub_home()))  # a folder or s3://, with the configured S3 settings
    print(generate(args.scale, out, seed=args.seed, faults=args.faults))
    return 0


def cmd_land(args: argparse.Namespace) -> int:
    from hub_platform.sources.contract import default_registry

    default_registry().source(args.source)  # fail early on an unknown source
    landing = _storage().landing()
    for path in map(Path, args.files):
        try:
            landed = landing.land(args.source, path.name, path.read_bytes())
        except ValueError as error:  # a name the landing area would not ingest: refused, nothing written
            print(f"hub land: {error}", file=sys.stderr)
            return 2
        print(f"landed {path} as {landed.key} ({landed.size:,} bytes)")
    return 0


def materialize(selection: list[str] | None = None, *, raise_on_error: bool = False):
    """Materialize the whole graph (or a selection) in one process, recorded in the Dagster instance."""
    import dagster as dg

    from hub_platform.definitions import build_definitions
    from hub_platform.lib.run_slots import process_tags, release_dead_runs

    defs = build_definitions()  # bound to the environment as it is now, as a fresh code location would be
    graph = defs.resolve_asset_graph()
    keys = None
    if selection:
        chosen = dg.AssetSelection.keys()
        for text in selection:
            chosen = chosen | dg.AssetSelection.from_string(text)
        keys = sorted(chosen.resolve(graph))
    job = defs.resolve_implicit_global_asset_job_def()
    instance = dg.DagsterInstance.get()
    for run_id in release_dead_runs(instance):
        print(f"run {run_id} had died holding pool slots: marked failed, slots freed", file=sys.stderr)
    return job.execute_in_process(
        run_config={"loggers": {"console": {"config": {"log_level": "INFO"}}}},
        instance=instance,
        asset_selection=keys,
        raise_on_error=raise_on_error,
        tags={"hub/trigger": "cli", **process_tags()},
    )


def cmd_materialize(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    result = materialize(args.select or None)
    failed = [e for e in result.all_events if e.is_step_failure]
    for event in failed:
        print(f"FAILED {event.step_key}: {event.event_specific_data.error.message.strip()}", file=sys.stderr)
    materialized = result.get_asset_materialization_events()
    for event in materialized:
        materialization = event.event_specific_data.materialization
        rows = materialization.metadata.get("dagster/row_count")
        print(f"  {materialization.asset_key.to_user_string():<45} {'' if rows is None else f'{rows.value:>12,} rows'}")
    for check in result.get_asset_check_evaluations():
        if not check.passed:
            print(f"  check {check.asset_key.to_user_string()}:{check.check_name} did not pass ({check.severity.value})")
    print(f"materialized {len(materialized)} asset(s) in {time.perf_counter() - started:.1f}s; run {result.run_id}")
    return 0 if result.success else 1


def cmd_replay(args: argparse.Namespace) -> int:
    """Conform a feed's raw files again under its current contracts: a recorded run of clean/<feed>
    with replay on, so the zones below follow it as they follow any new data. Raw is only read."""
    import dagster as dg

    from hub_platform.definitions import defs

    key = dg.AssetKey(["clean", args.feed])
    if key not in defs.resolve_all_asset_keys():
        feeds = sorted(k.path[1] for k in defs.resolve_all_asset_keys() if k.path[0] == "clean" and len(k.path) == 2)
        print(f"hub replay: no feed {args.feed!r}; feeds: {', '.join(feeds)}", file=sys.stderr)
        return 2
    result = defs.resolve_implicit_global_asset_job_def().execute_in_process(
        run_config={"ops": {f"clean__{args.feed}": {"config": {"replay": True}}}},
        instance=dg.DagsterInstance.get(),
        asset_selection=[key],
        raise_on_error=False,
        tags={"hub/trigger": "cli", "hub/replay": args.feed},
    )
    for event in result.get_asset_materialization_events():
        metadata = {k: v.value for k, v in event.event_specific_data.materialization.metadata.items()}
        print(f"replayed {', '.join(metadata['sources_replayed']) or 'nothing (no raw files yet)'}: {metadata['files_processed']} file(s), "
              f"{metadata['rows_clean_this_run']:,} rows clean, {metadata['rows_quarantined_this_run']:,} quarantined")
    for check in result.get_asset_check_evaluations():
        if not check.passed:
            print(f"  check {check.check_name} did not pass ({check.severity.value})")
    print(f"run {result.run_id}")
    return 0 if result.success else 1


def cmd_status(_args: argparse.Namespace) -> int:
    from hub_platform.serving.reporting import zone_report

    print(zone_report(_storage().lake()))
    return 0


def cmd_sql(args: argparse.Namespace) -> int:
    from hub_platform.serving.query import QuerySession

    if os.environ.get(QUERY_URL_VARIABLE):  # the service decides the role from the token; nothing is read here
        if args.tables:
            print("\n".join(remote_answer("/tables", {})[0]["table"].to_pylist()))
            return 0
        if not args.query:
            print("hub sql: give a query, or --tables to list what you may query", file=sys.stderr)
            return 2
        _print_table(remote_answer("/sql", {"query": args.query, "as_of": args.as_of.isoformat() if args.as_of else None})[0], args.csv)
        return 0
    session = QuerySession(_storage().lake(), role=args.role, as_of=args.as_of)
    if args.tables:
        print("\n".join(session.tables()))
        return 0
    if not args.query:
        print("hub sql: give a query, or --tables to list what you may query", file=sys.stderr)
        return 2
    _print_table(session.sql(args.query), args.csv)
    return 0


def cmd_history(args: argparse.Namespace) -> int:
    zone, _, name = args.table.partition("/")
    lake = _storage().lake()
    for entry in lake.history(zone, name, args.limit):
        changes = {k: v for k, v in (entry.get("operationMetrics") or {}).items() if k.startswith("num_") and str(v) != "0"}
        when = datetime.fromtimestamp(entry["timestamp"] / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S")
        print(f"version {entry['version']:>4}  {when} UTC  {entry.get('operation', ''):<8} {changes}")
    print(f"\nread a version: hub sql --as-of '<time>' \"SELECT * FROM {zone}.{name}\"  or  lake.read('{zone}', '{name}', version=N)")
    return 0


def cmd_cleanroom(args: argparse.Namespace) -> int:
    from hub_platform.lib.governance import cleanroom_aggregate, cleanroom_policy

    policy = cleanroom_policy()
    if os.environ.get(QUERY_URL_VARIABLE):
        result, answer = remote_answer("/cleanroom", {"by": args.by, "measures": args.measure})
        suppressed = answer["suppressed_groups"]
    else:
        result, suppressed = cleanroom_aggregate(_storage().lake().read("customer360", "profile"), args.by, args.measure, policy)
    _print_table(result, args.csv)
    print(f"\n{suppressed} group(s) suppressed: fewer than {policy.k} customers, or so that no two answers "
          "differ by fewer than that", file=sys.stderr)
    return 0


QUERY_URL_VARIABLE, TOKEN_VARIABLE = "HUB_QUERY_URL", "HUB_API_TOKEN"


def remote_answer(path: str, question: dict):
    """Ask the query service (HUB_QUERY_URL) with the caller's token (HUB_API_TOKEN): (rows as Arrow, the answer)."""
    import json
    import urllib.error
    import urllib.request

    import pyarrow as pa

    from hub_platform.lib.governance import AccessDenied, MalformedQuestion

    request = urllib.request.Request(
        os.environ[QUERY_URL_VARIABLE].rstrip("/") + path, data=json.dumps(question).encode(), method="POST",
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {os.environ.get(TOKEN_VARIABLE, '')}"})
    try:
        with urllib.request.urlopen(request, timeout=600) as response:
            answer = json.load(response)
    except urllib.error.HTTPError as error:
        detail = json.loads(error.read() or b"{}").get("detail", error.reason)
        raise (AccessDenied if error.code in (401, 403) else MalformedQuestion)(f"the query service says: {detail}") from None
    table = pa.table({column: [row[i] for row in answer["rows"]] for i, column in enumerate(answer["columns"])})
    if answer.get("truncated"):
        print("(the service cut the answer at its row limit)", file=sys.stderr)
    return table, answer


def _measure(text: str) -> tuple[str, str]:
    column, colon, function = text.partition(":")
    if not (column and colon and function):
        raise argparse.ArgumentTypeError(f"{text!r} is not column:function (e.g. lifetime_value_gbp:sum)")
    return column, function


def cmd_customer(args: argparse.Namespace) -> int:
    from hub_platform.defs.customer360.identity.explain import explain
    from hub_platform.serving.query import QuerySession

    if args.role != "steward" and not args.query.startswith("CUS-"):
        print("hub customer: only a steward looks customers up by e-mail (it tells whether a person is a customer); "
              "give a customer id", file=sys.stderr)
        return 2
    session = QuerySession(_storage().lake(), role=args.role)
    read = lambda name: session.read("customer360", name).to_pandas()  # noqa: E731
    try:
        found = explain(args.query, read("identity"), read("person_records"), read("match_evidence"))
    except LookupError as error:
        print(f"hub customer: {error}", file=sys.stderr)
        return 2
    records = found.records
    weights = [c for c in found.pairs.columns if c.endswith("_weight") and c != "match_weight"]
    with pd.option_context("display.max_columns", 40, "display.width", 220, "display.max_colwidth", 40):
        for customer_id in found.customer_ids:
            mine = records[records.customer_id == customer_id]
            print(f"\ncustomer {customer_id}: {len(mine)} source record(s)\n")
            print(mine.drop(columns=["customer_id"]).to_string(index=False))
        pairs = found.pairs[["record_id_l", "record_id_r", "joined", "match_probability", "match_weight", *weights]]
        print("\nwhy: scored pairs (joined = same customer), match weight per field in bits\n")
        print(pairs.round(3).to_string(index=False))
    return 0


def cmd_forecast(args: argparse.Namespace) -> int:
    from hub_platform.serving.query import published_forecast

    rows = published_forecast(_storage().lake(), args.product, args.location).to_pandas()
    for (location, model), part in rows.groupby(["location_id", "model"], sort=True):
        print(f"\n{args.product} at {location}: model {model}")
        shown = part[["ds", "p10", "p50", "p90"]].head(args.days).assign(ds=lambda f: f.ds.dt.date).round(2)
        print(shown.to_string(index=False))
    return 0


def cmd_token(args: argparse.Namespace) -> int:
    from hub_platform.serving.governed_api import new_token

    token, line = new_token(args.role, args.name)
    print(f"token for {args.name} (give it to them; it is not stored): {token}")
    print(f"add this line to the file $HUB_API_TOKENS names:\n{line}")
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from hub_platform.serving.api import create_app

    uvicorn.run(create_app(_storage().lake()), host=args.host, port=args.port)
    return 0


def _print_table(table, as_csv: bool) -> None:
    frame = table.to_pandas()
    if as_csv:
        frame.to_csv(sys.stdout, index=False)
    else:
        with pd.option_context("display.max_rows", 200, "display.max_columns", 50, "display.width", 200):
            print(frame.to_string(index=False) if len(frame) else "(no rows)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="hub", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    seed = commands.add_parser("seed", help="generate the sample sources into a landing area, ground truth beside it")
    seed.add_argument("--scale", choices=("small", "medium", "large"), default="medium")
    seed.add_argument("--out", help="a folder or s3://bucket/prefix; writes OUT/landing and OUT/truth (default: $HUB_HOME)")
    seed.add_argument("--seed", type=int, default=7)
    seed.add_argument("--faults", action="store_true", help="also deliver faulty files (malformed rows, bad encoding, ...)")
    seed.set_defaults(func=cmd_seed)

    land = commands.add_parser("land", help="drop files for a source into the landing area")
    land.add_argument("--source", required=True)
    land.add_argument("files", nargs="+")
    land.set_defaults(func=cmd_land)

    mat = commands.add_parser("materialize", help="materialize the asset graph headless (default: everything)")
    mat.add_argument("--select", action="append", help="asset key or selection string, e.g. 'group:raw' or 'raw/erp_products'")
    mat.set_defaults(func=cmd_materialize)

    replay = commands.add_parser("replay", help="conform a feed's raw files again under its current contracts (clean rows and quarantine rebuilt)")
    replay.add_argument("feed", help="the feed, e.g. erp_products (see `hub status`)")
    replay.set_defaults(func=cmd_replay)

    status = commands.add_parser("status", help="print what each zone of the lake holds")
    status.set_defaults(func=cmd_status)

    sql = commands.add_parser("sql", help="query the lake's tables with DuckDB as a role, e.g. \"SELECT * FROM curated.product\"")
    sql.add_argument("query", nargs="?")
    sql.add_argument("--role", choices=ROLES, default=os.environ.get("HUB_ROLE", "analyst"),
                     help="what you may see (default: $HUB_ROLE or analyst); see the README's Governance section")
    sql.add_argument("--as-of", type=datetime.fromisoformat, help="read every table as it was at this time (ISO 8601, UTC)")
    sql.add_argument("--tables", action="store_true", help="list the tables the role may query")
    sql.add_argument("--csv", action="store_true", help="print CSV instead of a table")
    sql.set_defaults(func=cmd_sql)

    history = commands.add_parser("history", help="the versions of a table (time travel), e.g. curated/product")
    history.add_argument("table")
    history.add_argument("--limit", type=int, default=20)
    history.set_defaults(func=cmd_history)

    room = commands.add_parser("cleanroom", help="aggregates over customer360/profile for partners: declared groupings only "
                               "(hub_platform/cleanroom.yaml), small groups suppressed")
    room.add_argument("--by", action="append", required=True, help="non-personal column to group by (repeatable)")
    room.add_argument("--measure", action="append", default=[], type=_measure, help="column:function, function sum or mean")
    room.add_argument("--csv", action="store_true")
    room.set_defaults(func=cmd_cleanroom)

    customer = commands.add_parser("customer", help="a customer's source records and why they were joined (by id or e-mail)")
    customer.add_argument("query", help="a customer id (CUS-...) or an e-mail address")
    customer.add_argument("--role", choices=ROLES, default=os.environ.get("HUB_ROLE", "analyst"))
    customer.set_defaults(func=cmd_customer)

    forecast = commands.add_parser("forecast", help="the published forecast of a product, with intervals and the model chosen")
    forecast.add_argument("product", help="product id (its ERP SKU), e.g. SKU-004711")
    forecast.add_argument("--location", help="one location, e.g. ST-001 (default: every location it is sold at)")
    forecast.add_argument("--days", type=int, default=28)
    forecast.set_defaults(func=cmd_forecast)

    token = commands.add_parser("token", help="make a bearer token for the query service (hub serve): prints the token "
                                "for its holder and the line to add to the $HUB_API_TOKENS file")
    token.add_argument("--role", choices=ROLES, required=True)
    token.add_argument("--name", required=True, help="who holds it (shown in nothing but the tokens file)")
    token.set_defaults(func=cmd_token)

    serve = commands.add_parser("serve", help="the read API (published forecast as JSON) on http://HOST:PORT")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.set_defaults(func=cmd_serve)
    return parser


def main(argv: list[str] | None = None) -> int:
    import duckdb

    from hub_platform.lib.governance import AccessDenied, MalformedQuestion
    from hub_platform.lib.lake.store import TableNotFound

    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (AccessDenied, MalformedQuestion, TableNotFound, duckdb.Error) as error:  # the user's question, not a hub fault
        print(f"hub {args.command}: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
