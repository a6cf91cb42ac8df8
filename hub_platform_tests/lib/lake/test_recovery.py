"""A table a crash left half-written is detected and repaired; concurrent writers of one delivery record it once."""

import subprocess
import sys
import textwrap
import time

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from hub_platform.defs.raw.ingest import RawZone
from hub_platform.defs.raw.landing import Landing
from hub_platform.lib.lake.store import Lake, Location, TableNotFound
from hub_platform_tests.conftest import SHOP_FILE


def _half_written(root, zone: str, name: str) -> None:
    """What a crash during a table's first commit leaves: data files and a log with no commit in it."""
    table = root / zone / name
    (table / "_delta_log").mkdir(parents=True)
    (table / "_delta_log" / "_commit_5f1c9e.json.tmp").write_text('{"commitInfo":')
    (table / "part-00000-orphan.parquet").write_bytes(b"PAR1 not referenced by any commit")


def test_a_table_without_a_commit_is_reported_with_the_fix_and_the_next_write_repairs_it(tmp_path):
    lake = Lake(Location(str(tmp_path)))
    _half_written(tmp_path, "clean", "orders")
    assert not lake.has_table("clean", "orders") and lake.half_written("clean", "orders")
    assert lake.tables("clean") == []
    with pytest.raises(TableNotFound, match="without a commit: its first write did not finish.*writes its first version"):
        lake.read("clean", "orders")
    lake.upsert(pa.table({"k": [1, 2]}), "clean", "orders", keys=["k"])
    assert sorted(lake.read("clean", "orders")["k"].to_pylist()) == [1, 2] and not lake.half_written("clean", "orders")


def test_the_raw_zone_ingests_over_a_half_written_manifest(tmp_path, shop_registry):
    raw = RawZone(Lake(Location(str(tmp_path / "lake"))), Landing(Location(str(tmp_path / "landing"))))
    _half_written(tmp_path / "lake", "raw", "manifest")
    landed = raw.landing.land("shop_eu", "a.csv", SHOP_FILE)
    assert raw.ingest([landed], shop_registry.sources).count("ingested") == 1
    assert raw.manifest()["landing_key"].to_pylist() == [landed.key]


INGEST = textwrap.dedent("""
    import sys, time
    from hub_platform.defs.raw.landing import Landing
    from hub_platform.defs.raw.ingest import RawZone
    from hub_platform.lib.lake.store import Lake, Location
    from hub_platform.sources.contract import load_registry
    root, contracts, start = sys.argv[1], sys.argv[2], float(sys.argv[3])
    registry = load_registry(contracts)
    raw = RawZone(Lake(Location(root + "/lake")), Landing(Location(root + "/landing")))
    files = raw.landed(registry.sources.values())
    while time.time() < start:
        time.sleep(0.001)
    raw.ingest(files, registry.sources)
""")


def test_two_writers_ingesting_the_same_deliveries_at_once_record_each_once(tmp_path, shop_registry):
    """Without any pool: the manifest MERGE keyed by delivery, retried on a concurrent commit, is enough."""
    landing = Landing(Location(str(tmp_path / "landing")))
    keys = [landing.land("shop_eu", f"f{i}.csv", SHOP_FILE + f"X{i},1\n".encode()).key for i in range(6)]
    start = time.time() + 3  # both processes have imported and listed by then
    writers = [subprocess.Popen([sys.executable, "-c", INGEST, str(tmp_path), str(tmp_path / "contracts"), str(start)],
                                stderr=subprocess.PIPE) for _ in range(2)]
    for writer in writers:
        assert writer.wait(timeout=120) == 0, writer.stderr.read().decode()[-2000:]
    manifest = RawZone(Lake(Location(str(tmp_path / "lake"))), landing).manifest()
    assert sorted(manifest["landing_key"].to_pylist()) == sorted(keys)
    assert pc.count_distinct(manifest["landing_key"]).as_py() == manifest.num_rows == 6
