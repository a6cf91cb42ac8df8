"""Raw zone: landing-sensor tick time over 10,000 landed files, and raw-ingest throughput.

Reference: a plain pyarrow copy of the same files (read every byte, write it elsewhere), the floor
for any ingest that must keep the original bytes.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pyarrow.fs as pafs

from benchmarks.common import Report, directory_bytes, sample, timed
from hub_platform.defs.raw.ingest import RawZone
from hub_platform.defs.raw.landing import Landing
from hub_platform.defs.raw.sensors import plan_ingestion
from hub_platform.lib.lake.store import Lake, Location
from hub_platform.sources.contract import default_registry

SENSOR_FILES = 10_000


def run() -> Report:
    report = Report("raw_ingest")
    registry = default_registry()
    landing_root = sample() / "landing"
    files = sorted(p for p in landing_root.rglob("*") if p.is_file())
    size = directory_bytes(files)
    print(f"raw ingest: {len(files):,} files, {size / 1e6:,.1f} MB in the large sample")

    with tempfile.TemporaryDirectory(prefix="hub-bench-raw-") as scratch:
        scratch = Path(scratch)
        copy = timed()
        local = pafs.LocalFileSystem()
        with copy.running():
            for path in files:
                target = scratch / "copy" / path.relative_to(landing_root)
                local.create_dir(str(target.parent), recursive=True)
                with local.open_input_stream(str(path)) as source, local.open_output_stream(str(target)) as sink:
                    sink.write(source.read())
        raw = RawZone(Lake(Location(str(scratch / "lake"))), Landing(Location(str(landing_root))))
        ingest = timed()
        with ingest.running():
            result = raw.ingest(raw.landed(registry.sources.values()), registry.sources)
        assert result.count("ingested") + result.count("rejected") + result.count("duplicate") == len(files)
        report.add("pyarrow copy (reference)", f"{size / 1e6 / copy.seconds:8.1f} MB/s  ({copy.seconds:.2f} s)")
        report.add("raw ingest: hash + store + probe + manifest", f"{size / 1e6 / ingest.seconds:8.1f} MB/s  ({ingest.seconds:.2f} s)")
        report.add("raw ingest / copy time ratio", f"{ingest.seconds / copy.seconds:8.2f} x")

        sensor_landing = _many_files(scratch / "many", files, SENSOR_FILES, registry)
        landing = Landing(Location(str(sensor_landing)))
        first = timed()
        with first.running():
            plan = plan_ingestion(landing, registry, {}, set(), max_files=SENSOR_FILES)
        assert sum(len(b.files) for b in plan.batches) + len(plan.repeated) == SENSOR_FILES
        idle = timed()
        with idle.running():
            again = plan_ingestion(landing, registry, plan.cursor, set(), max_files=SENSOR_FILES)
        assert not again.batches
        report.add(f"sensor tick, {SENSOR_FILES:,} new files (list + hash)", f"{first.seconds:8.2f} s  ({first.seconds / SENSOR_FILES * 1e3:.2f} ms/file)")
        report.add(f"sensor tick, nothing new among {SENSOR_FILES:,} files", f"{idle.seconds * 1e3:8.1f} ms")
        shutil.rmtree(sensor_landing)
    report.save()
    return report


def _many_files(root: Path, files: list[Path], count: int, registry) -> Path:
    """A landing area of ``count`` small files: the sample's files cut into line-aligned pieces."""
    csv_files = [f for f in files if registry.sources[f.parent.name].format.type == "csv"]
    per_file = -(-count // len(csv_files))
    made = 0
    for path in csv_files:
        header, *lines = path.read_bytes().splitlines(keepends=True)
        step = max(1, len(lines) // per_file)
        for i in range(per_file):
            if made == count:
                return root
            chunk = lines[i * step : (i + 1) * step] or lines[-1:]
            target = root / path.parent.name / f"{path.stem}_part{i:05d}.csv"
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(header + b"".join(chunk))
            made += 1
    return root


if __name__ == "__main__":
    run()
