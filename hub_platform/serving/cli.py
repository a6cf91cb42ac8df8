"""`hub …`: the hub's command line (seed sample data, land files, materialize, inspect the zones)."""

from __future__ import annotations

import argparse
import os
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from hub_platform.lib.governance import ROLES
from hub_platform.serving.terminal import add_output_options, near, print_rows, time_argument

if TYPE_CHECKING:
    from hub_platform.serving.progress import RunProgress


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

    registry = default_registry()
    if args.source not in registry.sources:  # fail before anything lands
        close = near(args.source, registry.sources)
        print(f"hub land: no contract for source {args.source!r}"
              + (f"; did you mean {', '.join(close)}?" if close else "") + " `hub sources` lists every source.", file=sys.stderr)
        return 2
    landing = _storage().landing()
    for path in map(Path, args.files):
        try:
            landed = landing.land(args.source, path.name, path.read_bytes())
        except ValueError as error:  # a name the landing area would not ingest: refused, nothing written
            print(f"hub land: {error}", file=sys.stderr)
            return 2
        print(f"landed {path} as {landed.key} ({landed.size:,} bytes)")
    return 0


def cmd_sources(args: argparse.Namespace) -> int:
    from hub_platform.sources.contract import default_registry

    rows = [{"source": c.name, "system": c.system, "feed": c.feed, "entity": c.entity, "format": c.format.type,
             "owner": c.owner, "landing_folder": f"landing/{c.name}/",
             "description": c.description if args.output != "text" or len(c.description) <= 70 else c.description[:69] + "…"}
            for c in sorted(default_registry().sources.values(), key=lambda c: c.name)]
    print_rows(pd.DataFrame(rows), args.output)
    return 0


def cmd_assets(args: argparse.Namespace) -> int:
    from hub_platform.definitions import defs

    graph = defs.resolve_asset_graph()
    rows = []
    for key in sorted(graph.get_all_asset_keys()):
        node = graph.get(key)
        if args.group and node.group_name != args.group:
            continue
        description = " ".join((node.description or "").split())
        rows.append({"asset": key.to_user_string(), "group": node.group_name, "kinds": ", ".join(sorted(node.kinds)),
                     "checks": len(node.check_keys), "owners": ", ".join(node.owners),
                     "description": description if args.output != "text" else description[:90] + "…" * (len(description) > 90)})
    if not rows:
        groups = sorted({graph.get(k).group_name for k in graph.get_all_asset_keys()})
        print(f"hub assets: no group {args.group!r}; the groups are {', '.join(groups)}", file=sys.stderr)
        return 2
    print_rows(pd.DataFrame(rows), args.output)
    return 0


def materialize(selection: list[str] | None = None, *, raise_on_error: bool = False, progress: RunProgress | None = None):
    """Materialize the whole graph (or a selection) in one process, recorded in the Dagster instance.

    An empty selection is refused (EmptySelection), never run as everything. ``progress`` hears every
    event of the run as it is stored (it prints a line per asset started and finished)."""
    import dagster as dg
    from dagster._core.utils import make_new_run_id

    from hub_platform.definitions import build_definitions
    from hub_platform.lib.run_slots import process_tags, release_dead_runs
    from hub_platform.serving.progress import RunProgress, resolve_selection

    defs = build_definitions()  # bound to the environment as it is now, as a fresh code location would be
    graph = defs.resolve_asset_graph()
    keys = resolve_selection(selection, graph) if selection else None
    job = defs.resolve_implicit_global_asset_job_def()
    instance = dg.DagsterInstance.get()
    for run_id in release_dead_runs(instance):
        print(f"run {run_id} had died holding pool slots: marked failed, slots freed", file=sys.stderr)
    run_id = make_new_run_id()
    progress = progress or RunProgress()
    progress.assets = len(keys) if keys else len(graph.get_all_asset_keys())
    # Dagster has no public per-event callback for an in-process run; the instance's listener is what
    # its own step launchers use, and it sees each event as it is stored.
    instance.add_event_listener(run_id, progress)
    with progress:
        return job.execute_in_process(
            run_config={"loggers": {"console": {"config": {"log_level": "WARNING" if progress.out else "INFO"}}}},
            instance=instance, asset_selection=keys, raise_on_error=raise_on_error, run_id=run_id,
            tags={"hub/trigger": "cli", **process_tags()},
        )


def cmd_materialize(args: argparse.Namespace) -> int:
    from hub_platform.serving.progress import EmptySelection, RunProgress

    started = time.perf_counter()
    watcher = RunProgress(out=sys.stdout)
    try:
        result = materialize(args.select or None, progress=watcher)
    except EmptySelection as error:
        print(f"hub materialize: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("\nhub materialize: interrupted; what finished is committed, the rest runs next time", file=sys.stderr)
        return 130
    seconds = time.perf_counter() - started
    if watcher.interrupted:
        print(f"\ninterrupted after {seconds:.0f}s: {watcher.done} asset(s) materialized before it; tables keep their "
              f"last committed version. Run `hub materialize` again to finish. Run {result.run_id}", file=sys.stderr)
        return 130
    print(f"\n{watcher.done} of {watcher.assets} asset(s) materialized in {seconds:.0f}s; run {result.run_id}")
    if watcher.checks_failed:
        print(f"checks that did not pass ({len(watcher.checks_failed)}): {', '.join(watcher.checks_failed)}")
    if watcher.failed:
        print(f"failed steps ({len(watcher.failed)}): {', '.join(watcher.failed)}; the Dagster UI shows their logs "
              f"(`make dev`, run {result.run_id})", file=sys.stderr)
    return 0 if result.success else 1


def cmd_replay(args: argparse.Namespace) -> int:
    """Conform a feed's raw files again under its current contracts: a recorded run of clean/<feed>
    with replay on, so the zones below follow it as they follow any new data. Raw is only read."""
    import dagster as dg

    from hub_platform.definitions import build_definitions

    defs = build_definitions()  # bound to the environment as it is now, as `hub materialize` is
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


def cmd_status(args: argparse.Namespace) -> int:
    import dagster as dg

    from hub_platform.definitions import defs
    from hub_platform.serving.reporting import status_rows, status_text

    rows = status_rows(_storage().lake(), defs.resolve_asset_graph(), dg.DagsterInstance.get())
    if args.output == "text":
        print(status_text(rows, _storage().lake().root))
    else:
        print_rows(rows, args.output)
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
        print_rows(remote_answer("/sql", {"query": args.query, "as_of": args.as_of.isoformat() if args.as_of else None})[0], args.output)
        return 0
    session = QuerySession(_storage().lake(), role=args.role, as_of=args.as_of)
    if args.tables:
        print("\n".join(session.tables()))
        return 0
    if not args.query:
        print("hub sql: give a query, or --tables to list what you may query", file=sys.stderr)
        return 2
    print_rows(session.sql(args.query), args.output)
    return 0


def cmd_history(args: argparse.Namespace) -> int:
    from hub_platform.lib.governance import ALL_ZONES

    zone, slash, name = args.table.partition("/")
    lake = _storage().lake()
    if not slash or zone not in ALL_ZONES or not lake.has_table(zone, name):
        every = [f"{z}/{t}" for z in ALL_ZONES for t in lake.tables(z)]
        named = [t for t in every if t.rsplit("/", 1)[-1] == args.table.rsplit("/", 1)[-1]] or near(args.table, every)
        why = "give zone/table" if not slash else f"{args.table} does not exist yet (not materialized, or misspelt)"
        print(f"hub history: {why}" + (f", e.g. {', '.join(named)}" if named else "; `hub status` lists the tables"),
              file=sys.stderr)
        return 2
    rows = []
    for entry in lake.history(zone, name, args.limit):
        changes = {k: v for k, v in (entry.get("operationMetrics") or {}).items() if k.startswith("num_") and str(v) != "0"}
        rows.append({"version": entry["version"], "committed_utc": datetime.fromtimestamp(entry["timestamp"] / 1000, UTC)
                     .strftime("%Y-%m-%d %H:%M:%S"), "operation": entry.get("operation", ""),
                     "changes": ", ".join(f"{k.removeprefix('num_')}={v}" for k, v in changes.items())})
    print_rows(pd.DataFrame(rows), args.output)
    if args.output == "text":
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
    print_rows(result, args.output)
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


def cmd_review(args: argparse.Namespace) -> int:
    """Label near-threshold pairs of the review queue; labels are appended to review/labels (Delta)."""
    import getpass

    from hub_platform.defs.review.session import review_session
    from hub_platform.lib.tables import as_arrow

    lake = _storage().lake()
    if not lake.has_table("review", "queue"):
        print("hub review: no review queue yet: materialize review/queue first (hub materialize --select review/queue)", file=sys.stderr)
        return 2
    queue = lake.read("review", "queue").to_pandas()
    if args.domain:
        queue = queue[queue["domain"] == args.domain]
    if not len(queue):
        print("the review queue is empty: every near-threshold pair is labelled")
        return 0
    labels = review_session(queue, args.by or getpass.getuser(), lambda: datetime.now(UTC), limit=args.limit)
    if len(labels):
        lake.write(as_arrow(labels), "review", "labels", mode="append")
    print(f"\n{len(labels)} label(s) saved to review/labels; the next run of customer360/identity (and product matching) uses them")
    return 0


def cmd_forecast(args: argparse.Namespace) -> int:
    from hub_platform.serving.query import HorizonTooLong, published_forecast

    lake = _storage().lake()
    try:
        rows = published_forecast(lake, args.product, args.location, args.horizon).to_pandas()
    except HorizonTooLong as error:
        print(f"hub forecast: {error}", file=sys.stderr)
        return 2
    freq, definition = rows["freq"].iat[0], rows["definition"].iat[0]
    shown = rows.assign(ds=lambda f: f.ds.dt.date) if freq == "D" else rows
    if args.output != "text":
        print_rows(shown[["product_id", "location_id", "model", "definition", "freq", "ds", "step", "p10", "p50", "p90"]], args.output)
        return 0
    history = lake.read("forecast", "target_series", columns=["ds"], filters=[("product_id", "=", args.product)]) \
        if lake.has_table("forecast", "target_series") else None
    last_day = max(history["ds"].to_pylist()).date() if history is not None and history.num_rows else None
    print(f"{args.product}: sales data runs to {last_day or 'an unknown day'}"
          + (f" ({(datetime.now(UTC).date() - last_day).days} days before today)" if last_day else "")
          + f"; the forecast ({definition}, periods of {freq}) covers {rows.ds.min()} to {rows.ds.max()} "
          f"({rows.ds.nunique()} periods)."
          + "\np10/p90: 10% of periods are expected below p10 and 10% above p90; units per period.")
    for (location, model), part in shown.groupby(["location_id", "model"], sort=True):
        print(f"\n{args.product} at {location}: model {model}")
        print_rows(part[["ds", "step", "p10", "p50", "p90"]].round(2))
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

    print(f"planners' dashboard on http://{args.host}:{args.port}/ (as role {args.role}); API docs at /docs")
    uvicorn.run(create_app(_storage().lake(), role=args.role), host=args.host, port=args.port)
    return 0


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        hub = version("hub_platform")
    except PackageNotFoundError:  # run from a source tree without installing
        hub = "(not installed)"
    return f"hub_platform {hub} (dagster {version('dagster')}, pyspark {version('pyspark')}, deltalake {version('deltalake')})"


def _command(commands, name: str, summary: str, description: str, examples: str, func) -> argparse.ArgumentParser:
    """A sub-command with a one-line summary (in `hub --help`), what it does, and examples (in `hub NAME --help`)."""
    command = commands.add_parser(name, help=summary, description=f"{summary[0].upper()}{summary[1:]}.\n\n{description}",
                                  epilog="examples:\n" + examples, formatter_class=argparse.RawDescriptionHelpFormatter)
    command.set_defaults(func=func)
    return command


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hub", description=__doc__ + "\n\nStart with `make run` (or `hub seed`, then `hub materialize`), then `hub status`.",
        epilog="Everything local lives under $HUB_HOME (default .hub/). `hub COMMAND --help` explains a command, with examples.",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=_version())
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    seed = _command(commands, "seed", "generate the sample sources into a landing area, ground truth beside it",
                    "Writes OUT/landing/<source>/... for every source contract and OUT/truth/ (which records are the same "
                    "person, which codes the same product, true arrivals), byte-identical for the same scale and seed.",
                    "  hub seed --scale small --out /tmp/sample\n  hub seed --scale medium --faults     # with malformed rows, a "
                    "truncated file, a duplicate delivery, ...", cmd_seed)
    seed.add_argument("--scale", choices=("small", "medium", "large"), default="medium",
                      help="small: 61k rows in seconds; medium: 466k rows (make run); large: 7.1M rows (benchmarks)")
    seed.add_argument("--out", help="a folder or s3://bucket/prefix; writes OUT/landing and OUT/truth (default: $HUB_HOME)")
    seed.add_argument("--seed", type=int, default=7, help="random seed (default 7)")
    seed.add_argument("--faults", action="store_true", help="also deliver faulty files (malformed rows, bad encoding, ...)")

    land = _command(commands, "land", "drop files for a source into the landing area",
                    "Lands each file as <source>/<UTC time>_<name>, as a source system would deliver it; the landing sensor "
                    "(make dev) or the next `hub materialize` ingests it.",
                    "  hub land --source erp_products products.csv\n  hub sources          # which sources there are", cmd_land)
    land.add_argument("--source", required=True, help="the source whose contract reads the files (`hub sources` lists them)")
    land.add_argument("files", nargs="+", help="files to land")

    sources = _command(commands, "sources", "list the source systems the hub reads, from their contracts",
                       "One row per contract in hub_platform/sources/contracts/: its system, the feed (shape) it delivers, "
                       "the entity it feeds, file format, owner and landing folder.",
                       "  hub sources\n  hub sources --json", cmd_sources)
    add_output_options(sources)

    replay = _command(commands, "replay", "conform a feed's raw files again under its current contracts",
                      "Clean rows and quarantine of the feed are rebuilt from raw (raw is only read); the zones below follow "
                      "as they follow any new data. Use it after fixing a contract.", "  hub replay erp_products", cmd_replay)
    replay.add_argument("feed", help="the feed, e.g. erp_products (see `hub sources`)")

    assets = _command(commands, "assets", "list the assets of the graph, their group, kinds and checks",
                      "Every asset `hub materialize --select` can name, with its group (zone), kinds, number of checks and "
                      "owners.", "  hub assets\n  hub assets --group forecast\n  hub materialize --select 'group:forecast'",
                      cmd_assets)
    assets.add_argument("--group", help="only this group, e.g. curated")
    add_output_options(assets)

    mat = _command(commands, "materialize", "materialize the asset graph headless (default: everything)",
                   "Runs in this process and records the run in the Dagster instance ($DAGSTER_HOME), printing each asset as "
                   "it starts and finishes, with rows and seconds, and every check that does not pass. A selection that "
                   "matches nothing is an error (exit 2), never the whole graph. Ctrl-C stops it; finished assets stay committed.",
                   "  hub materialize                                   # everything (make run does this)\n"
                   "  hub materialize --select 'group:curated'\n"
                   "  hub materialize --select raw/erp_products --select clean/erp_products\n"
                   "  hub materialize --select 'key:\"forecast/published\"+'   # it and everything downstream", cmd_materialize)
    mat.add_argument("--select", action="append", metavar="SELECTION",
                     help="an asset key (raw/erp_products) or Dagster selection syntax (group:raw, key:\"a/b\"+); repeatable")

    status = _command(commands, "status", "what each zone holds: rows, last update, freshness and checks per table",
                      "Per table: rows, Delta version, when it was last written and how long ago, whether an upstream asset "
                      "changed since (stale), and the state of its checks in the Dagster instance. Raw feeds show files, "
                      "bytes and rows delivered; supporting tables (quarantine, ledgers, state) are listed as such.",
                      "  hub status\n  hub status --json", cmd_status)
    add_output_options(status)

    sql = _command(commands, "sql", "query the lake's tables with DuckDB as a role",
                   "Tables are <zone>.<table>; personal data is masked as the role may see it (README: Governance).",
                   "  hub sql \"SELECT channel, sum(units) FROM curated.daily_sales GROUP BY 1\"\n"
                   "  hub sql --tables\n  hub sql --as-of yesterday \"SELECT count(*) FROM curated.product\"\n"
                   "  hub sql --as-of -7d --csv \"SELECT * FROM forecast.published\" > forecast.csv", cmd_sql)
    sql.add_argument("query", nargs="?", help="the SQL (DuckDB dialect)")
    sql.add_argument("--role", choices=ROLES, default=os.environ.get("HUB_ROLE", "analyst"),
                     help="what you may see (default: $HUB_ROLE or analyst); see the README's Governance section")
    sql.add_argument("--as-of", type=time_argument, metavar="TIME",
                     help="read every table as it was then: 2026-11-23T08:00 (UTC), yesterday, today, -12h, -7d")
    sql.add_argument("--tables", action="store_true", help="list the tables the role may query")
    add_output_options(sql)

    history = _command(commands, "history", "the versions of a table (time travel)",
                       "Every Delta commit of ZONE/TABLE: version, time (UTC), operation and what it changed.",
                       "  hub history curated/product\n  hub history forecast/published --limit 5 --json", cmd_history)
    history.add_argument("table", help="zone/table, e.g. curated/product")
    history.add_argument("--limit", type=int, default=20, help="newest N versions (default 20)")
    add_output_options(history)

    room = _command(commands, "cleanroom", "aggregates over customer360/profile for partners, small groups suppressed",
                    "Declared groupings only (hub_platform/lib/cleanroom.yaml); groups of fewer than k customers, and groups "
                    "whose difference with another answer would isolate fewer, are left out and counted.",
                    "  hub cleanroom --by country --by rfm_segment --measure lifetime_value_gbp:sum", cmd_cleanroom)
    room.add_argument("--by", action="append", required=True, help="non-personal column to group by (repeatable)")
    room.add_argument("--measure", action="append", default=[], type=_measure, help="column:function, function sum or mean")
    add_output_options(room)

    customer = _command(commands, "customer", "a customer's source records and why they were joined (by id or e-mail)",
                        "Shows the records resolved into the customer, as your role may see them, and every scored pair "
                        "with its match weight per field.",
                        "  hub customer CUS-02003D67B20F --role steward\n  hub customer jane.doe@example.com --role steward",
                        cmd_customer)
    customer.add_argument("query", help="a customer id (CUS-...) or an e-mail address")
    customer.add_argument("--role", choices=ROLES, default=os.environ.get("HUB_ROLE", "analyst"), help="what you may see")

    review = _command(commands, "review", "label near-threshold pairs of the review queue (customers, products)",
                      "Shows each pair of the shared review queue side by side and stores your label (match, non-match, unsure) "
                      "with who and when in review/labels; accuracy and the threshold are then computed from the labels.",
                      "  hub review\n  hub review --domain customer --limit 20", cmd_review)
    review.add_argument("--domain", choices=["customer", "product"], help="only this domain's pairs")
    review.add_argument("--by", help="who is labelling (default: the login name)")
    review.add_argument("--limit", type=int, help="stop after this many pairs")

    forecast = _command(commands, "forecast", "the published forecast of a product, with intervals and the model chosen",
                        "Says what day the sales data runs to and which days the forecast covers, then p10, p50 and p90 per "
                        "day and location.",
                        "  hub forecast SKU-004711\n  hub forecast SKU-004711 --location ST-001 --days 7 --csv", cmd_forecast)
    forecast.add_argument("product", help="product id (its ERP SKU), e.g. SKU-004711")
    forecast.add_argument("--location", help="one location, e.g. ST-001 (default: every location it is sold at)")
    forecast.add_argument("--horizon", "--days", dest="horizon", type=int, default=None,
                          help="periods ahead in the forecast's own frequency (days, weeks, hours); default: all published")
    add_output_options(forecast)

    token = _command(commands, "token", "make a bearer token for the query service (hub serve)",
                     "Prints the token for its holder and the line to add to the $HUB_API_TOKENS file.",
                     "  hub token --role analyst --name jane", cmd_token)
    token.add_argument("--role", choices=ROLES, required=True, help="the role the token carries")
    token.add_argument("--name", required=True, help="who holds it (shown in nothing but the tokens file)")

    serve = _command(commands, "serve", "the planners' dashboard and the read API on http://HOST:PORT",
                     "GET / is the planners' dashboard (forecast with intervals, stock-out risk and reorder suggestions, "
                     "perfect-order KPIs); GET /forecast/<product> the published forecast as JSON; /docs the API.",
                     "  hub serve                      # then open http://127.0.0.1:8000/\n  hub serve --port 9000 --role analyst",
                     cmd_serve)
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    serve.add_argument("--role", choices=ROLES, default=os.environ.get("HUB_ROLE", "analyst"),
                       help="the role the dashboard reads as (default: $HUB_ROLE or analyst)")
    return parser


def main(argv: list[str] | None = None) -> int:
    import duckdb

    from hub_platform.lib.governance import AccessDenied, MalformedQuestion
    from hub_platform.lib.lake.store import TableNotFound

    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except BrokenPipeError:  # `hub ... | head`: the reader has all it wanted
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except (AccessDenied, MalformedQuestion, TableNotFound, duckdb.Error) as error:  # the user's question, not a hub fault
        print(f"hub {args.command}: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
