"""Thousands of sources: load 1,000 declared contracts and build the asset graph from them.

The shipped contracts are cloned under new source names (as a company with hundreds of stores and
carriers would declare them); the reference is loading the shipped set itself.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from benchmarks.common import Report, timed
from hub_platform.definitions import build_definitions
from hub_platform.sources.contract import CONTRACTS_DIR, load_registry

SOURCES = 1_000


def run() -> Report:
    report = Report("many_sources")
    shipped = sorted(CONTRACTS_DIR.glob("*.yaml"))
    reference = timed()
    with reference.running():
        load_registry(CONTRACTS_DIR)
    with tempfile.TemporaryDirectory(prefix="hub-bench-contracts-") as folder:
        for i in range(SOURCES):
            template = shipped[i % len(shipped)]
            name = f"{template.stem}_{i:04d}"
            text = template.read_text().replace(f"name: {template.stem}\n", f"name: {name}\n", 1)
            (Path(folder) / f"{name}.yaml").write_text(text)
        load = timed()
        with load.running():
            registry = load_registry(folder)
        build = timed()
        with build.running():
            defs = build_definitions(registry)
            assets = len(defs.resolve_asset_graph().get_all_asset_keys())
    report.add(f"load the {len(shipped)} shipped contracts (reference)", f"{reference.seconds * 1e3:8.1f} ms")
    report.add(f"load {SOURCES:,} contracts", f"{load.seconds:8.2f} s")
    report.add(f"build Definitions for {SOURCES:,} sources ({len(registry.feeds)} feeds, {assets} assets)", f"{build.seconds:8.2f} s")
    report.save()
    return report


if __name__ == "__main__":
    run()
