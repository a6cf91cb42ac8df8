"""`hub …`: the hub's command line (seed sample data, land files, materialize, inspect the zones)."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

def _storage():
    from hub_platform.resources import build_resources

    return build_resources()["storage"]


def cmd_seed(args: argparse.Namespace) -> int:
    from hub_platform.seed.generator import generate

    print(generate(args.scale, Path(args.out), seed=args.seed, faults=args.faults))
    return 0


def cmd_land(args: argparse.Namespace) -> int:
    from hub_platform.sources.contract import default_registry

    default_registry().source(args.source)  # fail early on an unknown source
    landing = _storage().landing()
    for path in map(Path, args.files):
        landed = landing.land(args.source, path.name, path.read_bytes())
        print(f"landed {path} as {landed.key} ({landed.size:,} bytes)")
    return 0


def materialize(selection: list[str] | None = None, *, raise_on_error: bool = False):
    """Materialize the whole graph (or a selection) in one process, recorded in the Dagster instance."""
    import dagster as dg

    from hub_platform.definitions import defs

    graph = defs.resolve_asset_graph()
    keys = None
    if selection:
        chosen = dg.AssetSelection.keys()
        for text in selection:
            chosen = chosen | dg.AssetSelection.from_string(text)
        keys = sorted(chosen.resolve(graph))
    job = defs.resolve_implicit_global_asset_job_def()
    instance = dg.DagsterInstance.get()
    return job.execute_in_process(
        run_config={"loggers": {"console": {"config": {"log_level": "INFO"}}}},
        instance=instance,
        asset_selection=keys,
        raise_on_error=raise_on_error,
        tags={"hub/trigger": "cli"},
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


def cmd_status(args: argparse.Namespace) -> int:
    from hub_platform.reporting import zone_report

    print(zone_report(_storage().lake()))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="hub", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    seed = commands.add_parser("seed", help="generate the sample sources into a landing area, ground truth beside it")
    seed.add_argument("--scale", choices=("small", "medium", "large"), default="medium")
    seed.add_argument("--out", default=".hub", help="writes OUT/landing and OUT/truth")
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

    status = commands.add_parser("status", help="print what each zone of the lake holds")
    status.set_defaults(func=cmd_status)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
