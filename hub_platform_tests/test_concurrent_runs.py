"""Two `hub materialize` runs on one hub home at once: both succeed, and no table holds anything twice."""

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.compute as pc
import pytest

from hub_platform.lib.lake.store import Lake, Location

FEED = "erp_products"  # a history feed: its history table was where duplicate keys showed


def _duplicates(table, keys: list[str]) -> int:
    return table.num_rows - table.group_by(keys).aggregate([]).num_rows


def _overlaps(step: str) -> int:
    """How many pairs of runs executed ``step`` at the same time (from the instance's event log)."""
    import dagster as dg

    instance = dg.DagsterInstance.get()
    spans = []
    for run in instance.get_runs():
        times = {e.dagster_event.event_type_value: e.timestamp for e in instance.all_logs(run.run_id)
                 if e.dagster_event and e.dagster_event.step_key == step
                 and e.dagster_event.event_type_value in ("STEP_START", "STEP_SUCCESS")}
        spans.append((times["STEP_START"], times["STEP_SUCCESS"]))
    assert len(spans) == 2
    (_, first_end), (second_start, _) = sorted(spans)
    return int(second_start < first_end)


@pytest.mark.slow
def test_two_materializations_at_once_leave_no_duplicates(small_sample: Path, hub_home: Path):
    shutil.copytree(small_sample / "landing" / FEED, hub_home / "landing" / FEED)
    env = {**os.environ, "HUB_HOME": str(hub_home), "DAGSTER_HOME": str(hub_home / "dagster")}
    import dagster as dg

    instance = dg.DagsterInstance.get()  # create the instance's databases once: two first runs would race to
    instance.get_runs(limit=1)  # create the same tables (a fresh SQLite home's limit, not the hub's)
    instance.event_log_storage.get_concurrency_keys()
    command = [sys.executable, "-m", "hub_platform.serving.cli", "materialize", "--select", f"raw/{FEED}", "--select", f"clean/{FEED}"]
    runs = []
    for _ in range(2):
        runs.append(subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True))
        time.sleep(0.5)
    outputs = [run.communicate(timeout=600)[0].decode() for run in runs]
    for run, output in zip(runs, outputs, strict=True):
        assert run.returncode == 0, output[-3000:]
    assert _overlaps(f"raw__{FEED}") == _overlaps(f"clean__{FEED}") == 0  # the pools let one writer in at a time

    lake = Lake(Location(str(hub_home / "lake")))
    manifest, ledger = lake.read("raw", "manifest"), lake.read("clean", "file_accounting")
    landed = len(list((hub_home / "landing" / FEED).iterdir()))
    assert manifest.num_rows == landed and _duplicates(manifest, ["landing_key"]) == 0
    held = manifest.filter(pc.not_equal(manifest["status"], "duplicate"))
    assert ledger.num_rows == held.num_rows and _duplicates(ledger, ["checksum"]) == 0
    history = lake.read("clean", f"{FEED}_history")
    assert history.num_rows and _duplicates(history, ["_source", "sku", "_file_checksum"]) == 0
    assert _duplicates(lake.read("clean", FEED), ["_source", "sku"]) == 0
